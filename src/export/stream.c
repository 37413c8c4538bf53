/*
 * The message stream. Versions of one message share its createdDateTime, so
 * ordering by (created, message_id, id) keeps a message's versions together
 * and in the order they were captured.
 */
#include "config.h"

#include "export/stream.h"
#include "store/catalog.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct export_stream {
	sqlite3 *db;
	const struct vault *v;
	struct export_query q;
	sqlite3_stmt *chats;
	sqlite3_stmt *msgs;
	struct export_chat chat;
	char *chat_id;
	char *chat_type;
	struct export_message cur;
	int have_row;          /* msgs holds an unconsumed row */
	int exhausted;         /* msgs returned SQLITE_DONE (stepping again would restart it) */
	int64_t integrity_errors;
	int64_t yielded;       /* messages handed out, for the tick */
};

int export_stream_open(sqlite3 *db, const struct vault *v, const struct export_query *q,
		       struct export_stream **out, struct cv_err *e)
{
	struct export_stream *s = xcalloc(1, sizeof *s);
	int rc;

	s->db = db;
	s->v = v;
	s->q = *q;
	rc = catalog_prepare(db,
			     "SELECT c.id, c.chat_id, c.chat_type FROM chats c JOIN account_chats ac ON ac.chat = c.id"
			     " WHERE ac.account = ?1 AND (?2 IS NULL OR c.chat_id = ?2) ORDER BY c.created, c.id",
			     &s->chats, e);
	if (rc == 0)
		rc = catalog_prepare(db,
				     "SELECT message_id, version, created, deleted, raw_enc FROM messages"
				     " WHERE chat = ?1 AND (?2 = 0 OR snapshot <= ?2) AND (?3 = 0 OR created >= ?3)"
				     " AND (?4 = 0 OR created <= ?4) ORDER BY created, message_id, id",
				     &s->msgs, e);
	if (rc) {
		export_stream_free(&s);
		return rc;
	}
	sqlite3_bind_int64(s->chats, 1, q->account);
	if (q->chat_id)
		sqlite3_bind_text(s->chats, 2, q->chat_id, -1, SQLITE_TRANSIENT);
	*out = s;
	return 0;
}

int export_stream_next_chat(struct export_stream *s, struct export_chat **chat, struct cv_err *e)
{
	struct buf meta = BUF_INIT;
	int rc;

	cJSON_Delete(s->chat.meta);
	s->chat.meta = NULL;
	free(s->chat_id);
	free(s->chat_type);
	s->chat_id = s->chat_type = NULL;
	for (;;) {
		rc = sqlite3_step(s->chats);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return catalog_error(s->db, _("reading chats"), e);
		s->chat.rowid = sqlite3_column_int64(s->chats, 0);
		s->chat_id = xstrdup(catalog_text(s->chats, 1));
		s->chat_type = xstrdup(catalog_text(s->chats, 2));
		buf_reset(&meta);
		rc = chat_meta_open(s->db, s->v, s->chat.rowid, s->q.tenant_guid, &meta, e);
		if (rc == CV_EINTEGRITY) {
			/* Without its members and topic the chat is still worth
			 * exporting: fall back to the id and type. */
			s->integrity_errors++;
			s->chat.meta = cJSON_CreateObject();
			cJSON_AddStringToObject(s->chat.meta, "id", s->chat_id);
			cJSON_AddStringToObject(s->chat.meta, "chatType", s->chat_type);
		} else if (rc) {
			buf_free(&meta);
			return rc;
		} else {
			s->chat.meta = json_parse(meta.data, meta.len);
			if (s->chat.meta == NULL)
				s->chat.meta = cJSON_CreateObject();
		}
		break;
	}
	buf_free(&meta);
	s->chat.chat_id = s->chat_id;
	s->chat.chat_type = s->chat_type;
	sqlite3_reset(s->msgs);
	sqlite3_bind_int64(s->msgs, 1, s->chat.rowid);
	sqlite3_bind_int64(s->msgs, 2, s->q.as_of);
	sqlite3_bind_int64(s->msgs, 3, s->q.from_ms);
	sqlite3_bind_int64(s->msgs, 4, s->q.to_ms);
	s->have_row = 0;
	s->exhausted = 0;
	*chat = &s->chat;
	return 1;
}

/* Decrypt the current row of msgs; NULL when it fails its integrity check. */
static cJSON *open_row(struct export_stream *s, struct cv_err *e)
{
	struct buf ad_plain = BUF_INIT;
	const char *mid = catalog_text(s->msgs, 0);
	const char *ver = catalog_text(s->msgs, 1);
	size_t adlen;
	char *ad = store_record_ad("messages.raw", s->q.tenant_guid, s->chat_id, mid, ver, &adlen);
	cJSON *j = NULL;

	if (vault_unseal(s->v, ad, adlen, sqlite3_column_blob(s->msgs, 4),
			 (size_t)sqlite3_column_bytes(s->msgs, 4), &ad_plain, e) == 0)
		j = json_parse(ad_plain.data, ad_plain.len);
	else
		s->integrity_errors++;
	free(ad);
	buf_free_secret(&ad_plain);
	return j;
}

static int body_is_empty(const cJSON *msg)
{
	const char *content = json_str(msg, "body/content");

	return content == NULL || *content == '\0';
}

int export_stream_next_message(struct export_stream *s, struct export_message **m, struct cv_err *e)
{
	char *mid = NULL;
	cJSON *latest = NULL, *last_content = NULL;
	int rc, versions = 0;

	cJSON_Delete(s->cur.msg);
	memset(&s->cur, 0, sizeof s->cur);
	if (s->q.tick && ++s->yielded % EXPORT_TICK == 0 && s->q.tick(s->q.tick_ctx, s->yielded))
		return err_set(e, CV_ECANCELLED, _("the download was cancelled"));
	for (;;) {
		if (!s->have_row) {
			if (s->exhausted)
				break;
			rc = sqlite3_step(s->msgs);
			if (rc == SQLITE_DONE) {
				s->exhausted = 1;
				break;
			}
			if (rc != SQLITE_ROW) {
				free(mid);
				cJSON_Delete(latest);
				cJSON_Delete(last_content);
				return catalog_error(s->db, _("reading messages"), e);
			}
			s->have_row = 1;
		}
		if (mid && strcmp(mid, catalog_text(s->msgs, 0)) != 0)
			break; /* the next message starts: leave its row for the next call */
		s->have_row = 0;
		if (mid == NULL)
			mid = xstrdup(catalog_text(s->msgs, 0));
		s->cur.created = sqlite3_column_int64(s->msgs, 2);
		{
			cJSON *j = open_row(s, NULL);

			if (j == NULL)
				continue;
			versions++;
			if (!body_is_empty(j)) {
				cJSON_Delete(last_content);
				last_content = cJSON_Duplicate(j, 1);
			}
			cJSON_Delete(latest);
			latest = j;
		}
	}
	free(mid);
	if (latest == NULL) {
		cJSON_Delete(last_content);
		if (versions == 0 && s->have_row)
			return export_stream_next_message(s, m, e); /* every version failed; move on */
		return 0;
	}
	s->cur.deleted = json_str(latest, "deletedDateTime") != NULL;
	s->cur.edited = json_str(latest, "lastEditedDateTime") != NULL;
	s->cur.versions = versions;
	/* Graph empties the body of a deleted message; keep what we captured. */
	if (s->cur.deleted && body_is_empty(latest) && last_content) {
		cJSON *body = cJSON_DetachItemFromObjectCaseSensitive(last_content, "body");

		if (body)
			cJSON_ReplaceItemInObjectCaseSensitive(latest, "body", body);
	}
	cJSON_Delete(last_content);
	s->cur.msg = latest;
	*m = &s->cur;
	return 1;
}

int64_t export_stream_integrity_errors(const struct export_stream *s)
{
	return s->integrity_errors;
}

void export_stream_free(struct export_stream **sp)
{
	struct export_stream *s = *sp;

	if (s == NULL)
		return;
	sqlite3_finalize(s->chats);
	sqlite3_finalize(s->msgs);
	cJSON_Delete(s->chat.meta);
	cJSON_Delete(s->cur.msg);
	free(s->chat_id);
	free(s->chat_type);
	free(s);
	*sp = NULL;
}
