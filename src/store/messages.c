/*
 * Chat and message-version rows, sealed per record.
 */
#include "config.h"

#include "store/messages.h"
#include "store/catalog.h"
#include "store/store.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static char *chat_ad(const char *tenant_guid, const char *chat_id, size_t *len)
{
	return store_record_ad("chats.meta", tenant_guid, chat_id, NULL, NULL, len);
}

int chat_put(sqlite3 *db, const struct vault *v, const struct chat_put *c, int64_t *rowid,
	     struct cv_err *e)
{
	struct buf sealed = BUF_INIT;
	sqlite3_stmt *st;
	size_t adlen;
	char *ad = chat_ad(c->tenant_guid, c->chat_id, &adlen);
	int rc;

	vault_seal(v, ad, adlen, c->meta_json, strlen(c->meta_json), &sealed);
	free(ad);
	rc = catalog_prepare(db,
			     "INSERT INTO chats (tenant, chat_id, chat_type, created, last_updated, member_count,"
			     " meta_enc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant, chat_id) DO UPDATE"
			     " SET chat_type = ?3, created = ?4, last_updated = ?5, member_count = ?6, meta_enc = ?7"
			     " RETURNING id",
			     &st, e);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, c->tenant);
		sqlite3_bind_text(st, 2, c->chat_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->chat_type ? c->chat_type : "unknownFutureValue", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, c->created);
		sqlite3_bind_int64(st, 5, c->last_updated);
		sqlite3_bind_int(st, 6, c->member_count);
		sqlite3_bind_blob(st, 7, sealed.data, (int)sealed.len, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*rowid = sqlite3_column_int64(st, 0);
			rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("saving a chat"), e);
		} else {
			rc = catalog_error(db, _("saving a chat"), e);
		}
		sqlite3_finalize(st);
	}
	buf_free(&sealed);
	return rc;
}

int chat_link_account(sqlite3 *db, int64_t account, int64_t chat, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "INSERT OR IGNORE INTO account_chats (account, chat) VALUES (?, ?)", &st,
				  e)))
		return rc;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 2, chat);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("linking a chat to an account"), e);
	sqlite3_finalize(st);
	return rc;
}

int message_held(sqlite3 *db, int64_t chat, const char *message_id, const char *version,
		 enum message_held *held, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* An aggregate, not ORDER BY ... LIMIT 1: no sorter for each message.
	 * NULL when no version of the message is held. */
	if ((rc = catalog_stmt(db, "SELECT max(version = ?3) FROM messages WHERE chat = ?1 AND message_id = ?2",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, chat);
	sqlite3_bind_text(st, 2, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, version, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			*held = MESSAGE_UNKNOWN;
		else
			*held = sqlite3_column_int(st, 0) ? MESSAGE_HELD : MESSAGE_OTHER_VERSION;
		rc = 0;
	} else {
		rc = catalog_error(db, _("reading a message"), e);
	}
	catalog_release(st);
	return rc;
}

struct chat_count {
	int64_t chat, snapshot;
	int64_t added;    /* first versions: new messages */
	int64_t versions; /* every version added */
	int64_t newest;   /* the newest createdDateTime of the new messages */
	int64_t modified; /* the newest lastModifiedDateTime of the versions */
};

/* Write one entry: its chat's figures, then its snapshot's (one row, so one
 * cached page, for every entry of a transaction). */
static int flush_count(sqlite3 *db, const struct chat_count *c, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db,
			       "UPDATE chats SET messages = messages + ?2,"
			       " last_activity = CASE WHEN ?2 > 0 THEN max(coalesce(last_activity, 0), ?3)"
			       " ELSE last_activity END,"
			       " newest_modified = max(coalesce(newest_modified, 0), ?4) WHERE id = ?1",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, c->chat);
	sqlite3_bind_int64(st, 2, c->added);
	sqlite3_bind_int64(st, 3, c->newest);
	sqlite3_bind_int64(st, 4, c->modified);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("counting messages"), e);
	catalog_release(st);
	if (rc || (rc = catalog_stmt(db, "UPDATE snapshots SET messages_added = messages_added + ?2 WHERE id = ?1",
				     &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, c->snapshot);
	sqlite3_bind_int64(st, 2, c->versions);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("counting messages"), e);
	catalog_release(st);
	return rc;
}

/* A transaction touches a few dozen chats at most: a linear search. */
static void tally_add(struct chat_tally *t, const struct message_put *m)
{
	struct chat_count *c;
	size_t i;

	for (i = 0; i < t->n && (t->v[i].chat != m->chat || t->v[i].snapshot != m->snapshot); i++)
		;
	if (i == t->n) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->v = xrealloc(t->v, t->cap * sizeof *t->v);
		}
		t->v[t->n++] = (struct chat_count){.chat = m->chat, .snapshot = m->snapshot};
	}
	c = &t->v[i];
	c->versions++;
	if (m->modified > c->modified)
		c->modified = m->modified;
	if (m->first_version) {
		c->added++;
		if (m->created > c->newest)
			c->newest = m->created;
	}
}

int message_put(sqlite3 *db, const struct vault *v, const struct message_put *m, int *added, struct cv_err *e)
{
	struct buf sealed = BUF_INIT;
	sqlite3_stmt *st;
	size_t adlen;
	char *ad;
	int rc;

	*added = 0;
	ad = store_record_ad("messages.raw", m->tenant_guid, m->chat_id, m->message_id, m->version, &adlen);
	vault_seal(v, ad, adlen, m->raw, m->raw_len, &sealed);
	free(ad);
	rc = catalog_stmt(db,
			  "INSERT INTO messages (chat, message_id, version, created, modified, deleted, snapshot,"
			  " raw_enc) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			  &st, e);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, m->chat);
		sqlite3_bind_text(st, 2, m->message_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, m->version, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, m->created);
		sqlite3_bind_int64(st, 5, m->modified);
		sqlite3_bind_int(st, 6, m->deleted);
		sqlite3_bind_int64(st, 7, m->snapshot);
		sqlite3_bind_blob(st, 8, sealed.data, (int)sealed.len, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("saving a message"), e);
		*added = rc == 0 && sqlite3_changes(db) > 0;
		catalog_release(st);
	}
	buf_free(&sealed);
	if (*added) {
		if (m->tally != NULL) {
			tally_add(m->tally, m);
		} else {
			struct chat_tally one = CHAT_TALLY_INIT;

			tally_add(&one, m);
			rc = chat_tally_flush(db, &one, e);
			chat_tally_free(&one);
		}
	}
	return rc;
}

int chat_tally_flush(sqlite3 *db, struct chat_tally *t, struct cv_err *e)
{
	int rc = 0;

	for (size_t i = 0; i < t->n && rc == 0; i++)
		rc = flush_count(db, &t->v[i], e);
	t->n = 0;
	return rc;
}

void chat_tally_free(struct chat_tally *t)
{
	free(t->v);
	*t = (struct chat_tally)CHAT_TALLY_INIT;
}

int chat_meta_open(sqlite3 *db, const struct vault *v, int64_t chat, const char *tenant_guid,
		   struct buf *out, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "SELECT chat_id, meta_enc FROM chats WHERE id = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, chat);
	if (sqlite3_step(st) == SQLITE_ROW) {
		size_t adlen;
		char *ad = chat_ad(tenant_guid, catalog_text(st, 0), &adlen);

		rc = vault_unseal(v, ad, adlen, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
				  out, e);
		free(ad);
	} else {
		rc = err_set(e, CV_ENOTFOUND, _("chat not found in the store"));
	}
	sqlite3_finalize(st);
	return rc;
}
