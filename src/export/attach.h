/*
 * Attachments in an export ("with attachments"): the hosted images and
 * shared files one message names, as the backup stored them.
 *
 * export_attach_message() looks up each file the message JSON names (so an
 * --as-of export gets the files of that version), copies the stored bytes
 * into the chat's own folder beside its page (streamed, byte for byte), and
 * for a file the backup could not get writes "<name>.unavailable.txt" saying
 * why, counting it in result->missing_attachments; so too for a stored copy
 * that is damaged (result->integrity_errors) or missing from blobs/
 * (result->missing_blobs). Writers then ask for a
 * file's relative path (links) or its bytes (inline images, MIME parts).
 */
#ifndef CV_EXPORT_ATTACH_H
#define CV_EXPORT_ATTACH_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cJSON;
struct cv_err;
struct export_chat;
struct export_ctx;

struct export_attachment {
	char *kind;      /* "hosted" or "file" */
	char *reference; /* hosted content id, or the contentUrl */
	char *name;      /* the attachment's name (hosted: made up) */
	char *href;      /* path relative to the export's top directory */
	char *blob;      /* NULL when the backup could not get it */
	char *reason;    /* why not, when blob is NULL */
	const char *mime; /* an image's type, sniffed from its bytes as they were copied; else NULL */
	int damaged;     /* the stored copy failed its check (blob is then NULL) */
	int missing;     /* the stored copy's file is not in blobs/ (blob is then NULL) */
	int64_t size;
};

struct export_attachments {
	struct export_attachment *items;
	size_t n, cap;
	char *folder;    /* the chat's folder, made on first use */
	struct name_set *names;
};

/* Start a chat whose files go into folder (a safe, unique name). */
void export_attach_chat(struct export_attachments *a, const char *folder);
/* Load and write the files of one message (a no-op without --attachments). */
int export_attach_message(struct export_ctx *x, struct export_attachments *a, const struct export_chat *c,
			  const struct cJSON *msg, struct cv_err *e);
/* A loaded file by kind and reference, or NULL. */
const struct export_attachment *export_attach_find(const struct export_attachments *a, const char *kind,
						   const char *reference);
/* Read a stored file into out if it is at most max bytes: 1 read, 0 too big
 * or not stored, negative on an error. */
int export_attach_bytes(struct export_ctx *x, const struct export_attachment *att, size_t max, struct buf *out,
			struct cv_err *e);
/* The text that stands in for a file the backup could not get: that it was
 * not available, and the (sanitised) reason. Appended to out. */
void export_attach_note(const struct export_attachment *att, struct buf *out);
void export_attach_free(struct export_attachments *a);

#endif
