/*
 * Chats and message versions. A chat row is shared by every account that is
 * a member (a shared chat is stored once). A message is stored as versions
 * keyed by (chat, message id, version): an edit or a deletion adds a version
 * and never overwrites what was captured before. The full Graph JSON of each
 * version is sealed with (tenant, chat, message, version) as associated data.
 */
#ifndef CV_STORE_MESSAGES_H
#define CV_STORE_MESSAGES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct cv_err;
struct vault;

struct chat_put {
	int64_t tenant;          /* tenants.id */
	const char *tenant_guid; /* for the associated data */
	const char *chat_id;
	const char *chat_type;
	int64_t created;         /* ms, 0 if unknown */
	int64_t last_updated;
	int member_count;
	const char *meta_json;   /* the chat resource with its members; sealed */
};

/* Insert or refresh a chat; *rowid receives its chats.id. */
int chat_put(sqlite3 *db, const struct vault *v, const struct chat_put *c, int64_t *rowid,
	     struct cv_err *e);
int chat_link_account(sqlite3 *db, int64_t account, int64_t chat, struct cv_err *e);

struct message_put {
	int64_t chat;            /* chats.id */
	const char *tenant_guid;
	const char *chat_id;
	const char *message_id;
	const char *version;     /* etag, else lastModifiedDateTime */
	int64_t created;
	int64_t modified;
	int deleted;
	int64_t snapshot;
	const char *raw;         /* the Graph chatMessage JSON */
	size_t raw_len;
	int first_version;       /* no version of this message is stored: count it in its chat */
	struct chat_tally *tally; /* where it is counted; NULL: in the catalog at once */
};

/* What one transaction added, per chat and snapshot: message_put adds to it,
 * chat_tally_flush writes it before the commit, two UPDATEs per chat (its
 * figures and its snapshot's) instead of two per message. It keeps the
 * running figures current, so nothing has to count or scan messages later: a
 * chat's message count, last activity and newest lastModifiedDateTime held
 * (a per-chat run's watermark), and how many versions each snapshot added. */
struct chat_count;
struct chat_tally {
	struct chat_count *v;
	size_t n, cap;
};
#define CHAT_TALLY_INIT {NULL, 0, 0}
/* Write the tally to the chats and snapshots tables and empty it. */
int chat_tally_flush(sqlite3 *db, struct chat_tally *t, struct cv_err *e);
void chat_tally_free(struct chat_tally *t);

/* What the store holds of a message: ask before building a version to put,
 * since most pages repeat versions already stored (overlapping windows,
 * every member's export of a shared chat). */
enum message_held {
	MESSAGE_UNKNOWN,       /* no version of the message */
	MESSAGE_OTHER_VERSION, /* earlier versions, not this one */
	MESSAGE_HELD,          /* this very version */
};
int message_held(sqlite3 *db, int64_t chat, const char *message_id, const char *version,
		 enum message_held *held, struct cv_err *e);

/* Store a version; one already there is left alone (*added 0), so a
 * version is stored once whoever races to put it. */
int message_put(sqlite3 *db, const struct vault *v, const struct message_put *m, int *added, struct cv_err *e);

/* Unseal a chat's metadata JSON (appended to out). */
int chat_meta_open(sqlite3 *db, const struct vault *v, int64_t chat, const char *tenant_guid,
		   struct buf *out, struct cv_err *e);

#endif
