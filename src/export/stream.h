/*
 * The message stream every export writer consumes: for one account (or one
 * chat), within a date range and as of a snapshot, it yields the chats and,
 * per chat, the messages in createdDateTime order, decrypted on the fly.
 * Memory stays bounded by one message. A message deleted after it was backed
 * up comes with its deletedDateTime and the last body content captured before
 * the deletion. A record that fails its integrity check is skipped and
 * counted, and the rest stay readable.
 */
#ifndef CV_EXPORT_STREAM_H
#define CV_EXPORT_STREAM_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

struct cv_err;
struct vault;

struct export_query {
	int64_t tenant;
	const char *tenant_guid;
	int64_t account;       /* accounts.id whose chats are exported */
	const char *chat_id;   /* only this chat, or NULL */
	int64_t from_ms;       /* createdDateTime >= from_ms (0: open) */
	int64_t to_ms;         /* createdDateTime <= to_ms (0: open) */
	int64_t as_of;         /* snapshot id; 0 = everything stored */
	/* Called every EXPORT_TICK messages with the count so far; a nonzero
	 * return stops the stream with CV_ECANCELLED. May be NULL. */
	int (*tick)(void *ctx, int64_t messages);
	void *tick_ctx;
};

#define EXPORT_TICK 256

struct export_chat {
	int64_t rowid;
	const char *chat_id;
	const char *chat_type;
	cJSON *meta;           /* the Graph chat resource with members (owned by the stream) */
};

struct export_message {
	cJSON *msg;            /* the Graph chatMessage (owned by the stream) */
	int64_t created;
	int deleted;
	int edited;
	int versions;          /* how many versions are stored up to as_of */
};

struct export_stream;

int export_stream_open(sqlite3 *db, const struct vault *v, const struct export_query *q,
		       struct export_stream **out, struct cv_err *e);
/* 1 with *chat set, 0 at the end, or a negative error. The chat stays valid
 * until the next call. */
int export_stream_next_chat(struct export_stream *s, struct export_chat **chat, struct cv_err *e);
/* 1 with *m set (valid until the next call), 0 at the end of the chat. */
int export_stream_next_message(struct export_stream *s, struct export_message **m, struct cv_err *e);
/* Records skipped because they failed their integrity check. */
int64_t export_stream_integrity_errors(const struct export_stream *s);
void export_stream_free(struct export_stream **s);

#endif
