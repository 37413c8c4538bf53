/*
 * The hosted contents and reference files of messages. A row is noted in the
 * same transaction as the message page that names it (status 0, pending) and
 * settled later by the fetch: 200 with the blob that holds its bytes, 403 or
 * 404 when Graph refused it for good, -1 after an error worth another try.
 * What identifies the file to Graph (hosted content id, contentUrl) and its
 * name are sealed in meta_enc; the plain ref column is a
 * keyed hash of the reference, so equal references can be found without
 * revealing them.
 */
#ifndef CV_STORE_FILES_H
#define CV_STORE_FILES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct cv_err;
struct vault;

#define FILE_PENDING 0
#define FILE_RETRY (-1)
/* A file refused for good (403, 404) is asked for again this long after
 * its last try: a sharing link may be restored, an app granted access. */
#define FILE_RETRY_REFUSED_MS (7 * 24 * 3600 * 1000LL)

struct file_note {
	int64_t chat;            /* chats.id */
	const char *tenant_guid;
	const char *chat_id;
	const char *message_id;
	const char *kind;        /* "hosted" or "file" */
	const char *reference;   /* hosted content id, or the file's contentUrl */
	const char *name;        /* attachment name, or NULL */
};

/* The hosted content id in an <img src> that points at
 * .../hostedContents/{id}/$value (any host, any case), appended to out.
 * Returns 1 when found, 0 otherwise. */
int file_hosted_id(const char *src, struct buf *out);

/* Call fn for every hosted content (<img> in an HTML body) and reference
 * file (attachment with contentType "reference" and an https contentUrl)
 * the Graph chatMessage names; a non-zero return stops the walk with it.
 * name is the attachment's name, or NULL for hosted contents. */
struct cJSON;
typedef int (*file_ref_fn)(void *ctx, const char *kind, const char *reference, const char *name);
int file_refs_each(const struct cJSON *msg, file_ref_fn fn, void *ctx);

/* The keyed ref of (kind, reference) as stored in files.ref
 * (VAULT_BLOB_NAME_LEN + 1 bytes). */
void file_ref(const struct vault *v, const char *kind, const char *reference, char *out);

/* Note a file of a message unless it is noted already. */
int file_note(sqlite3 *db, const struct vault *v, const struct file_note *f, struct cv_err *e);

/* Unseal a file row's meta JSON ({"kind","reference","name"}). */
int file_meta_open(const struct vault *v, const char *tenant_guid, const char *chat_id,
		   const char *message_id, const char *ref, const void *sealed, size_t len, struct buf *out,
		   struct cv_err *e);

/* Settle a row: status 200 with blob and size, or an error status with a
 * reason. job is the job that tried. Registers the blob when given. A
 * refusal (403, 404, 413) the row already had keeps the job that first met
 * it in refused_since; any other outcome starts anew with this job. */
int file_settle(sqlite3 *db, int64_t file, int status, const char *reason, int64_t job, const char *blob,
		int64_t size, struct cv_err *e);

/* Delete the blobs no file row names any more (after a tenant is removed):
 * their rows, then their files under blobs_dir. Best effort: what is left
 * is only disk space. */
void blob_sweep_unused(sqlite3 *db, const char *blobs_dir);

#endif
