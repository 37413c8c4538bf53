/*
 * Running an export: one stream, one writer per format. A writer sees the
 * chats one by one and pulls their messages from the stream, so memory stays
 * bounded whatever the size of the chat.
 */
#ifndef CV_EXPORT_EXPORT_H
#define CV_EXPORT_EXPORT_H

#include <sqlite3.h>
#include <stdint.h>

#include "export/attach.h"
#include "export/names.h"
#include "export/output.h"
#include "export/stream.h"

struct cv_err;
struct vault;

struct export_request {
	int64_t tenant;
	const char *tenant_guid;
	int64_t account;
	const char *account_user_id;  /* to name 1:1 chats after the other person */
	const char *format;           /* json, html, csv, eml, pdf */
	int attachments;
	int64_t from_ms, to_ms;       /* inclusive, 0 = open */
	int64_t as_of;                /* snapshot id, 0 = latest */
	const char *chat_id;          /* one chat only, or NULL */
	const char *out_dir;          /* write files here (created), or NULL */
	const char *zip_path;         /* write one zip here, or NULL */
	const char *staging_dir;      /* for --zip without --out: a private temporary directory */
	const char *blobs_dir;        /* the store's blobs/, for --attachments */
	int (*tick)(void *ctx, int64_t messages); /* progress and cancel (see export_query) */
	void *tick_ctx;
};

struct export_result {
	int64_t chats;
	int64_t messages;
	int64_t files;
	int64_t integrity_errors;
	int64_t missing_attachments; /* not available at backup time */
	int64_t missing_blobs;       /* stored, but the file is not in blobs/ */
};

struct export_ctx {
	const struct export_request *req;
	sqlite3 *db;
	const struct vault *vault;
	struct export_stream *stream;
	struct export_out *out;
	struct name_set *names;
	struct export_result *result;
	struct export_attachments attach; /* the current message's files (--attachments) */
	const struct export_chat *chat;   /* the chat being written */
	void *state;                  /* the writer's own */
};

struct export_writer {
	const char *format;
	int (*begin)(struct export_ctx *x, struct cv_err *e);           /* may be NULL */
	int (*chat)(struct export_ctx *x, struct export_chat *c, struct cv_err *e);
	int (*end)(struct export_ctx *x, struct cv_err *e);             /* may be NULL */
};

/* The next message of the chat being written, with its files copied beside
 * it when attachments are asked for (x->attach): 1, 0 at the end, or < 0. */
int export_next_message(struct export_ctx *x, struct export_message **m, struct cv_err *e);

/* The writer for a format name, or NULL. */
const struct export_writer *export_writer_find(const char *format);
/* Comma-separated list of the formats this build can write. */
const char *export_formats(void);

int export_run(sqlite3 *db, const struct vault *v, const struct export_request *req,
	       struct export_result *res, struct cv_err *e);

/* A chat's title for people and file names: its topic, else "Chat with"
 * the other members' names. The caller owns the result (unsanitised). */
char *export_chat_title(const cJSON *chat, const char *self_user_id);

extern const struct export_writer export_json_writer;
extern const struct export_writer export_html_writer;
extern const struct export_writer export_csv_writer;
extern const struct export_writer export_eml_writer;
extern const struct export_writer export_pdf_writer;

#endif
