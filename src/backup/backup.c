/*
 * Backup planning, the account and chat tasks, and the final statuses.
 *
 * Graph facts this relies on (graph-facts.md §3):
 * - GET /users/{id}/chats?$expand=members returns at most 25 members per
 *   chat, so a chat listed with 25 or more is re-read from /chats/{id}/members.
 * - /chats/{id}/messages pages newest first, at most 50 per page, and the
 *   nextLink must be followed exactly as given.
 * - Message ids are unique within a chat only: a message is keyed by
 *   (chat, id). A version is keyed by etag and lastModifiedDateTime together:
 *   an edit or a deletion changes the etag, a reaction changes only
 *   lastModifiedDateTime, and both must be kept.
 * - $filter on lastModifiedDateTime is honoured only together with
 *   $orderby=lastModifiedDateTime desc (§3.3), which is how later runs read
 *   just what changed since the chat's watermark.
 */
#include "config.h"

#include "backup/backup.h"
#include "backup/bulk.h"
#include "backup/files.h"
#include "backup/internal.h"
#include "graph/graph.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/messages.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MEMBERS_EXPAND_LIMIT 25

/* The tenant's directory id, used in record identities. */
static int tenant_guid(struct engine_worker *w, int64_t tenant, char *out, size_t n, struct cv_err *e)
{
	int rc = catalog_text_by_id(w->db, "SELECT tenant_id FROM tenants WHERE id = ?1", tenant, out, n, e);

	return rc == CV_ENOTFOUND ? err_set(e, rc, _("the tenant of this job was removed")) : rc;
}

/* ---- planning ---------------------------------------------------------- */

static int backup_plan(struct engine_worker *w, struct job_row *job, struct cv_err *e)
{
	cJSON *params = json_parse(job->params, strlen(job->params));
	cJSON *ids = cJSON_GetObjectItemCaseSensitive(params, "accounts");
	sqlite3_stmt *st = NULL;
	int64_t snap;
	int rc, n = 0;

	if ((rc = catalog_begin(w->db, e)))
		goto out;
	if ((rc = job_set_status(w->db, job->id, ST_PREPARING, NULL, e)))
		goto fail;
	if (job->snapshot <= 0) {
		if ((rc = snapshot_begin(w->db, job->tenant, job->id, &snap, e)))
			goto fail;
		if ((rc = catalog_prepare(w->db, "UPDATE jobs SET snapshot = ? WHERE id = ?", &st, e)))
			goto fail;
		sqlite3_bind_int64(st, 1, snap);
		sqlite3_bind_int64(st, 2, job->id);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(w->db, _("recording a snapshot"), e);
		sqlite3_finalize(st);
		st = NULL;
		if (rc)
			goto fail;
		job->snapshot = snap;
	}
	/* Only accounts still ACTIVE when the run starts are backed up. */
	if ((rc = catalog_prepare(w->db,
				  "SELECT id FROM accounts WHERE tenant = ? AND privchat = 1 AND gone = 0 ORDER BY id",
				  &st, e)))
		goto fail;
	sqlite3_bind_int64(st, 1, job->tenant);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		char key[40];

		if (cJSON_IsArray(ids)) {
			const cJSON *it;
			int wanted = 0;

			cJSON_ArrayForEach(it, ids) if (cJSON_IsNumber(it) && (int64_t)it->valuedouble == id) wanted = 1;
			if (!wanted)
				continue;
		}
		snprintf(key, sizeof key, "account:%lld", (long long)id);
		if ((rc = task_add(w->db, job->id, key, "account", id, 0, NULL, e)))
			goto fail;
		account_set_status(w->db, id, ST_PREPARING, NULL, NULL);
		n++;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = job_set_status(w->db, job->id, ST_IN_PROGRESS, NULL, e)))
		goto fail;
	rc = catalog_commit(w->db, e);
	log_info("backup job %lld: %d accounts", (long long)job->id, n);
	goto out;
fail:
	sqlite3_finalize(st);
	catalog_rollback(w->db);
out:
	cJSON_Delete(params);
	return rc;
}

/* Give the accounts this job backs up, while it has not finished them,
 * status `to` and reason: those with status `from`, or (from NULL) all.
 * Best effort. */
static void job_accounts_swap(struct engine_worker *w, const struct job_row *job, const char *from, const char *to,
			      const char *reason)
{
	sqlite3_stmt *st;

	if (catalog_prepare(w->db,
			    "UPDATE accounts SET status = ?3, reason = ?4"
			    " WHERE id IN (SELECT account FROM tasks WHERE job = ?1 AND kind = 'account')"
			    " AND status IN ('" ST_PREPARING "', '" ST_IN_PROGRESS "', '" ST_RETRYING "')"
			    " AND (?2 IS NULL OR status = ?2)",
			    &st, NULL) != 0)
		return;
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

int backup_check_next(const struct buf *url, const char *next, struct cv_err *e)
{
	if (next && url->len && strcmp(next, buf_str(url)) == 0)
		return err_set(e, CV_EPROTO, _("Microsoft Graph gave a page itself as the next one"));
	return 0;
}

void backup_page_stored(struct engine_worker *w, const struct job_row *job, struct buf *url, const char *next)
{
	struct cv_err halt;

	buf_reset(url);
	if (next)
		buf_append_str(url, next);
	/* A page that a task in flight stored while the pool rests on a full
	 * disk does not mean the backup goes on: keep saying why it waits. */
	if (!engine_halted(w->engine, &halt) &&
	    job_swap_status(w->db, job->id, ST_RETRYING, ST_IN_PROGRESS, NULL, NULL) == 0 && sqlite3_changes(w->db) > 0)
		job_accounts_swap(w, job, ST_RETRYING, ST_IN_PROGRESS, NULL);
	engine_notify(w->engine);
}

/* The store is full (engine_kind.halted): the accounts this job was
 * backing up say Retrying and why, rather than In Progress while nothing
 * runs. backup_page_stored turns them back once pages are stored again. */
static void backup_halted(struct engine_worker *w, const struct job_row *job, const struct cv_err *e)
{
	job_accounts_swap(w, job, NULL, ST_RETRYING, e->msg);
	engine_notify(w->engine);
}

/* ---- account task: discover chats -------------------------------------- */

/* Replace a chat's truncated member list with every member. */
static int fetch_all_members(struct engine_worker *w, struct graph_tenant *gt, cJSON *chat, struct cv_err *e)
{
	const char *chat_id = json_str(chat, "id");
	struct buf url = BUF_INIT;
	cJSON *all = cJSON_CreateArray();
	int rc = 0;

	buf_append_str(&url, "/v1.0/chats/");
	url_escape(&url, chat_id ? chat_id : "");
	buf_append_str(&url, "/members");
	while (url.len) {
		struct graph_request req = {.url = url.data, .cls = GRAPH_CLASS_OTHER, .resource = chat_id};
		cJSON *page = NULL, *it;
		const char *next;

		if ((rc = graph_get_page(w->conn, gt, &req, &page, e)))
			break;
		cJSON_ArrayForEach(it, graph_page_value(page)) cJSON_AddItemToArray(all, cJSON_Duplicate(it, 1));
		next = graph_page_next(page);
		buf_reset(&url);
		if (next)
			buf_append_str(&url, next);
		cJSON_Delete(page);
	}
	if (rc == 0)
		cJSON_ReplaceItemInObjectCaseSensitive(chat, "members", all);
	else
		cJSON_Delete(all);
	buf_free(&url);
	return rc;
}

/* A chat another account of this job has already listed (its members
 * fetched and its metadata stored): *rowid is its chats.id. A shared chat
 * is then neither re-read nor rewritten for every member. */
static int listed_in_job(struct engine_worker *w, const struct job_row *job, const char *chat_id, int64_t *rowid)
{
	sqlite3_stmt *st;
	int found = 0;

	if (catalog_prepare(w->db,
			    "SELECT t.chat FROM tasks t JOIN chats c ON c.id = t.chat WHERE t.job = ?1"
			    " AND t.kind = 'listed' AND c.tenant = ?2 AND c.chat_id = ?3 LIMIT 1",
			    &st, NULL) != 0)
		return 0;
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_int64(st, 2, job->tenant);
	sqlite3_bind_text(st, 3, chat_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*rowid = sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int store_chat_page(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			   const char *guid, cJSON *chats, const char *next, struct cv_err *e)
{
	struct buf meta = BUF_INIT;
	cJSON *chat;
	int rc;

	if ((rc = catalog_begin_relaxed(w->db, e)))
		return rc;
	cJSON_ArrayForEach(chat, chats)
	{
		const char *chat_id = json_str(chat, "id");
		struct chat_put cp;
		int64_t rowid;
		char key[600];

		if (chat_id == NULL || strlen(chat_id) > 512)
			continue;
		if (!listed_in_job(w, job, chat_id, &rowid)) {
			buf_reset(&meta);
			json_append(&meta, chat);
			memset(&cp, 0, sizeof cp);
			cp.tenant = job->tenant;
			cp.tenant_guid = guid;
			cp.chat_id = chat_id;
			cp.chat_type = json_str(chat, "chatType");
			cp.created = json_time(chat, "createdDateTime", 0);
			cp.last_updated = json_time(chat, "lastUpdatedDateTime", 0);
			cp.member_count = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(chat, "members"));
			cp.meta_json = meta.data;
			if ((rc = chat_put(w->db, w->store->vault, &cp, &rowid, e)))
				break;
		}
		if ((rc = chat_link_account(w->db, t->account, rowid, e)))
			break;
		/* The plan, once every account is listed, decides how it is read. */
		snprintf(key, sizeof key, "listed:%lld:%s", (long long)t->account, chat_id);
		if ((rc = task_note(w->db, t->job, key, "listed", t->account, rowid, e)))
			break;
	}
	buf_free(&meta);
	if (rc == 0)
		rc = task_checkpoint(w->db, t->id, next, cJSON_GetArraySize(chats), e);
	if (rc) {
		catalog_rollback(w->db);
		return rc;
	}
	return catalog_commit(w->db, e);
}

int backup_user_id(struct engine_worker *w, int64_t account, char *out, size_t n, struct cv_err *e)
{
	int rc = catalog_text_by_id(w->db, "SELECT user_id FROM accounts WHERE id = ?1", account, out, n, e);

	return rc == CV_ENOTFOUND ? err_set(e, rc, _("the account was removed from the store")) : rc;
}

static int run_account(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		       struct graph_tenant *gt, const char *guid, struct cv_err *e)
{
	struct buf url = BUF_INIT;
	char user_id[256];
	int rc;

	if ((rc = backup_user_id(w, t->account, user_id, sizeof user_id, e)))
		return rc;
	account_set_status(w->db, t->account, ST_IN_PROGRESS, NULL, NULL);
	engine_notify(w->engine);

	if (t->resume && *t->resume) {
		buf_append_str(&url, t->resume);
	} else {
		buf_append_str(&url, "/v1.0/users/");
		url_escape(&url, user_id);
		buf_append_str(&url, "/chats?$expand=members&$top=50");
	}
	while (url.len && !w->stop) {
		struct graph_request req = {.url = url.data, .cls = GRAPH_CLASS_LIST_CHATS, .user = user_id};
		cJSON *page = NULL, *chats, *chat;
		const char *next;

		if ((rc = graph_get_page(w->conn, gt, &req, &page, e))) {
			if (rc == CV_EGONE)
				err_set(e, rc, _("the user no longer exists in the tenant; earlier backups are kept"));
			break;
		}
		chats = graph_page_value(page);
		cJSON_ArrayForEach(chat, chats)
		{
			int64_t seen;

			if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(chat, "members")) >= MEMBERS_EXPAND_LIMIT &&
			    !listed_in_job(w, job, json_str_or(chat, "id", ""), &seen) &&
			    (rc = fetch_all_members(w, gt, chat, e)) != 0)
				break;
		}
		next = graph_page_next(page);
		if (rc == 0)
			rc = backup_check_next(&url, next, e);
		if (rc == 0)
			rc = store_chat_page(w, job, t, guid, chats, next, e);
		if (rc == 0)
			backup_page_stored(w, job, &url, next);
		cJSON_Delete(page);
		if (rc)
			break;
	}
	buf_free(&url);
	if (rc == 0 && w->stop)
		rc = CV_ECANCELLED;
	return rc;
}

/* ---- chat task: every message, every page ------------------------------- */

int backup_store_message(struct engine_worker *w, const struct job_row *job, const char *guid, int64_t chat,
			 const char *chat_id, const cJSON *m, struct chat_tally *tally, int *added,
			 struct cv_err *e)
{
	struct buf raw = BUF_INIT;
	struct message_put mp;
	enum message_held held;
	const char *id = json_str(m, "id");
	char version[160];
	int64_t modified;
	int rc;

	*added = 0;
	/* Graph gives every message an id. Skipping one without would let
	 * the resume point (or delta link) move past it for good; failing
	 * the page keeps it to be read again. */
	if (id == NULL || strlen(id) > 256)
		return err_set(e, CV_EPROTO, _("Microsoft Graph sent a message without a usable id"));
	/* The version key: etag (an integer in practice) and the ISO time,
	 * both bounded in any answer we take; a longer one is cut, which can
	 * only make two versions look alike, never lose the first. */
	snprintf(version, sizeof version, "%.100s/%.48s", json_str_or(m, "etag", ""),
		 json_str_or(m, "lastModifiedDateTime", "0"));
	if ((rc = message_held(w->db, chat, id, version, &held, e)) || held == MESSAGE_HELD)
		return rc;
	buf_grow(&raw, 2048); /* most messages fit: one allocation, not six doublings */
	json_append(&raw, m);
	memset(&mp, 0, sizeof mp);
	mp.chat = chat;
	mp.tenant_guid = guid;
	mp.chat_id = chat_id;
	mp.message_id = id;
	/* A timestamp Graph got wrong (its own docs show one) must not lose
	 * the message: keep it, ordered by what we can parse. */
	modified = json_time(m, "lastModifiedDateTime", 0);
	mp.created = json_time(m, "createdDateTime", modified);
	mp.modified = modified ? modified : mp.created;
	mp.version = version;
	mp.deleted = json_str(m, "deletedDateTime") != NULL;
	mp.snapshot = job->snapshot;
	mp.raw = raw.data;
	mp.raw_len = raw.len;
	mp.first_version = held == MESSAGE_UNKNOWN;
	mp.tally = tally;
	rc = message_put(w->db, w->store->vault, &mp, added, e);
	if (rc == 0 && *added)
		rc = backup_note_files(w->db, w->store->vault, chat, guid, chat_id, id, m, e);
	buf_free(&raw);
	return rc;
}

static int store_message_page(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			      struct graph_tenant *gt, const char *guid, const char *chat_id, cJSON *msgs, const char *next,
			      int64_t *stored, struct cv_err *e)
{
	struct chat_tally tally = CHAT_TALLY_INIT;
	cJSON *m;
	int rc, n = 0;

	if ((rc = catalog_begin_relaxed(w->db, e)))
		return rc;
	cJSON_ArrayForEach(m, msgs)
	{
		int added;

		if ((rc = backup_store_message(w, job, guid, t->chat, chat_id, m, &tally, &added, e)))
			break;
		n += added;
	}
	if (rc == 0)
		rc = chat_tally_flush(w->db, &tally, e);
	chat_tally_free(&tally);
	if (rc == 0)
		rc = task_checkpoint(w->db, t->id, next ? next : BACKUP_RESUME_FILES, n, e);
	if (rc == 0)
		rc = engine_charge_usage(w->db, job->tenant, gt, cJSON_GetArraySize(msgs), e);
	if (rc) {
		catalog_rollback(w->db);
		return rc;
	}
	rc = catalog_commit(w->db, e);
	if (rc == 0)
		*stored += n;
	return rc;
}

void backup_append_time(struct buf *url, int64_t ms)
{
	char when[40];

	time_format_iso8601(ms, when, sizeof when);
	url_escape(url, when);
}

/* The first page of a chat: everything, or what changed since the watermark. */
static void first_page_url(struct buf *url, const char *chat_id, int64_t watermark)
{
	buf_append_str(url, "/v1.0/chats/");
	url_escape(url, chat_id);
	buf_append_str(url, "/messages?$top=50&$orderby=lastModifiedDateTime%20desc");
	if (watermark > 0) {
		buf_append_str(url, "&$filter=lastModifiedDateTime%20gt%20");
		backup_append_time(url, watermark - BACKUP_OVERLAP_MS);
	}
}

/* After every page and file is stored: the next run starts from the newest
 * change, and every change made before this run began is in the store. */
static int advance_watermark(struct engine_worker *w, const struct job_row *job, int64_t chat, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(w->db,
				  "UPDATE chats SET watermark = newest_modified,"
				  " synced = max(coalesce(synced, 0), ?2) WHERE id = ?1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, chat);
	sqlite3_bind_int64(st, 2, job->started - BACKUP_OVERLAP_MS);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(w->db, _("saving a chat's watermark"), e);
	sqlite3_finalize(st);
	return rc;
}

int backup_defer_chat(struct engine_worker *w, struct graph_tenant *gt, const char *chat_id)
{
	double wait = graph_tenant_resource_wait(gt, chat_id);

	if (wait <= BACKUP_DEFER_S)
		return 0;
	w->defer_until = time_now_ms() + (int64_t)(wait * 1000.0);
	return 1;
}

static int run_chat(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		    struct graph_tenant *gt, const char *guid, struct cv_err *e)
{
	struct buf url = BUF_INIT;
	char chat_id[600];
	int64_t stored = 0, watermark = 0, active;
	int pages, rc = 0;
	sqlite3_stmt *st;

	if ((rc = catalog_prepare(w->db, "SELECT chat_id, coalesce(watermark, 0) FROM chats WHERE id = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, t->chat);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return err_set(e, CV_ENOTFOUND, _("the chat was removed from the store"));
	}
	snprintf(chat_id, sizeof chat_id, "%s", catalog_text(st, 0));
	watermark = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	/* Every member account was deactivated since the run began: the chat
	 * is not read for them (an export already under way may still bring
	 * some of its messages, which are kept). */
	if ((rc = catalog_int_by_id(w->db,
				    "SELECT count(*) FROM account_chats ac JOIN accounts a ON a.id = ac.account"
				    " WHERE ac.chat = ?1 AND a.privchat = 1",
				    t->chat, &active, e)))
		return rc;
	if (!active)
		return 0;

	/* Resumed at "files", every page is stored: the loop is skipped. */
	if (!t->resume || !*t->resume)
		first_page_url(&url, chat_id, watermark);
	else if (strcmp(t->resume, BACKUP_RESUME_FILES) != 0)
		buf_append_str(&url, t->resume);
	for (pages = 0; url.len && !w->stop; pages++) {
		struct graph_request req = {
			.url = url.data, .cls = GRAPH_CLASS_CHAT_MESSAGES, .resource = chat_id,
			.prefer_unknown_enums = 1,
		};
		cJSON *page = NULL;
		const char *next;

		/* The page before is committed with its resume point. */
		if (pages > 0 && backup_defer_chat(w, gt, chat_id)) {
			rc = CV_EDEFER;
			break;
		}

		/* The cap is checked before each page: a run stops within one
		 * page of it, and the resume point waits for next month. */
		if ((rc = usage_check_cap(w->db, job->tenant, 0, e)))
			break;
		json_arena_enter(&w->arena);
		if ((rc = graph_get_page(w->conn, gt, &req, &page, e)) == 0 &&
		    (rc = backup_check_next(&url, next = graph_page_next(page), e)) == 0) {
			rc = store_message_page(w, job, t, gt, guid, chat_id, graph_page_value(page), next, &stored,
						e);
			if (rc == 0)
				backup_page_stored(w, job, &url, next);
		}
		json_arena_drop(page);
		json_arena_leave(&w->arena);
		if (rc)
			break;
	}
	buf_free(&url);
	if (rc == 0 && !w->stop)
		rc = backup_fetch_files(w, job, t, gt, guid, chat_id, pages > 0, e);
	if (rc == CV_EDEFER)
		return rc;
	if (rc == 0 && !w->stop)
		rc = advance_watermark(w, job, t->chat, e);
	if (rc == CV_ECAP)
		return rc; /* the reason is the tenant's, not this chat's */
	if (rc) {
		if (rc == CV_EGONE)
			err_set(e, rc, _("the chat no longer exists (404)"));
		return err_prefix(e, _("chat %s"), chat_id);
	}
	return w->stop ? CV_ECANCELLED : 0;
}

static int backup_run_task(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			   struct cv_err *e)
{
	struct graph_tenant *gt;
	char guid[256];
	int rc;

	if ((rc = tenant_guid(w, job->tenant, guid, sizeof guid, e)) ||
	    (rc = engine_graph_tenant(w, job->tenant, &gt, e)))
		return rc;
	if (strcmp(t->kind, "account") == 0)
		return run_account(w, job, t, gt, guid, e);
	if (strcmp(t->kind, "chat") == 0)
		return run_chat(w, job, t, gt, guid, e);
	if (strcmp(t->kind, "window") == 0 || strcmp(t->kind, "delta") == 0)
		return bulk_run_task(w, job, t, gt, guid, e);
	return err_set(e, CV_EINVAL, _("unknown backup task '%s'"), t->kind);
}

/* ---- final statuses ----------------------------------------------------- */

struct tally {
	int accounts, completed, partial, auth, conn, suspended;
	char first_reason[600];
};

static void note_reason(struct tally *ty, const char *reason)
{
	if (!ty->first_reason[0] && reason)
		snprintf(ty->first_reason, sizeof ty->first_reason, "%s", reason);
}

/* Files of the account's chats that this job tried and could not keep,
 * leaving out refusals an earlier run met and reported already. */
static int count_file_problems(struct engine_worker *w, const struct job_row *job, int64_t account, int *count,
			       char *why, size_t n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(w->db,
				  "SELECT count(*), (SELECT f2.reason FROM files f2 JOIN account_chats a2 ON a2.chat = f2.chat"
				  " WHERE a2.account = ?1 AND f2.job = ?2 AND f2.status NOT IN (0, 200)"
				  " AND coalesce(f2.refused_since, ?2) = ?2 ORDER BY f2.id LIMIT 1)"
				  " FROM files f JOIN account_chats ac ON ac.chat = f.chat"
				  " WHERE ac.account = ?1 AND f.job = ?2 AND f.status NOT IN (0, 200)"
				  " AND coalesce(f.refused_since, ?2) = ?2",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 2, job->id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*count = sqlite3_column_int(st, 0);
		snprintf(why, n, "%s", catalog_text(st, 1));
	}
	sqlite3_finalize(st);
	return 0;
}

/* One account's outcome: its own task, then the chats it is a member of. */
static int finish_account(struct engine_worker *w, const struct job_row *job, int64_t account, int code,
			  const char *reason, struct tally *ty, struct cv_err *e)
{
	sqlite3_stmt *st;
	int chats = 0, failed = 0, capped = 0, files = 0, rc, worst = 0;
	char why[300] = "", file_why[300] = "", summary[600];
	const char *status;
	int64_t active = 1;

	/* Deactivated while the run went on: it keeps the status that says
	 * so, and what was stored before stays counted. */
	if ((rc = catalog_int_by_id(w->db, "SELECT privchat FROM accounts WHERE id = ?1", account, &active, e)) &&
	    rc != CV_ENOTFOUND)
		return rc;
	if (!active)
		return account_refresh_counts(w->db, account, e);
	if ((rc = catalog_prepare(w->db,
				  /* the account's chats first: a lookup each, not a
				   * scan of the job's tasks for every account */
				  "SELECT t.state, t.error_code, t.reason FROM account_chats ac CROSS JOIN tasks t"
				  " ON t.job = ?1 AND t.chat = ac.chat WHERE ac.account = ?2 AND t.kind = 'chat'",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_int64(st, 2, account);
	while (sqlite3_step(st) == SQLITE_ROW) {
		chats++;
		if (strcmp(catalog_text(st, 0), "done") != 0) {
			failed++;
			capped += sqlite3_column_int(st, 1) == CV_ECAP;
			if (!worst)
				worst = sqlite3_column_int(st, 1);
			if (!why[0])
				snprintf(why, sizeof why, "%s", catalog_text(st, 2));
		}
	}
	sqlite3_finalize(st);
	if ((rc = count_file_problems(w, job, account, &files, file_why, sizeof file_why, e)))
		return rc;

	ty->accounts++;
	if (job->cancel) {
		status = ST_PARTIAL;
		reason = _("cancelled before it finished");
		ty->partial++;
	} else if (code != 0) {
		status = engine_status_for_error(code, ST_PARTIAL);
		ty->auth += !strcmp(status, ST_AUTH_ERROR);
		ty->conn += !strcmp(status, ST_CONN_ERROR);
		ty->partial += !strcmp(status, ST_PARTIAL);
	} else if (failed == 0 && files == 0) {
		status = ST_COMPLETED;
		reason = NULL;
		ty->completed++;
	} else if (failed == 0) {
		status = ST_PARTIAL;
		snprintf(summary, sizeof summary, P_("%d file could not be downloaded: %s",
					     "%d files could not be downloaded: %s", files),
			 files, file_why);
		reason = summary;
		ty->partial++;
	} else {
		/* Every chat left out was stopped by the monthly cap: the
		 * account's backups are suspended until next month. */
		status = capped == failed		? ST_SUSPENDED
			 : failed == chats ? engine_status_for_error(worst, ST_PARTIAL)
					   : ST_PARTIAL;
		if (strcmp(status, ST_SUSPENDED) == 0)
			snprintf(summary, sizeof summary, "%s", why); /* the cap, as it was reached */
		else
			snprintf(summary, sizeof summary, P_("%d of %d chat could not be backed up: %s",
						     "%d of %d chats could not be backed up: %s", chats),
				 failed, chats, why);
		reason = summary;
		ty->suspended += !strcmp(status, ST_SUSPENDED);
		ty->partial += !strcmp(status, ST_PARTIAL);
		ty->auth += !strcmp(status, ST_AUTH_ERROR);
		ty->conn += !strcmp(status, ST_CONN_ERROR);
	}
	note_reason(ty, reason);
	if ((rc = catalog_prepare(w->db,
				  "UPDATE accounts SET status = ?2, reason = ?3, last_backup = CASE WHEN ?4"
				  " THEN ?5 ELSE last_backup END WHERE id = ?1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
	/* Every message is stored (a refused file does not undo that): this
	 * is the account's latest backup. */
	sqlite3_bind_int(st, 4, !job->cancel && code == 0 && failed == 0);
	sqlite3_bind_int64(st, 5, time_now_ms());
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(w->db, _("updating an account"), e);
	sqlite3_finalize(st);
	if (rc == 0)
		rc = account_refresh_counts(w->db, account, e);
	return rc;
}

static int backup_finish(struct engine_worker *w, const struct job_row *job, struct cv_err *e)
{
	struct tally ty;
	sqlite3_stmt *st;
	const char *status;
	char reason[600] = "";
	int rc;

	memset(&ty, 0, sizeof ty);
	if ((rc = catalog_begin(w->db, e)))
		return rc;
	if ((rc = catalog_prepare(w->db,
				  "SELECT account, coalesce(error_code, 0), reason, state FROM tasks"
				  " WHERE job = ? AND kind = 'account' ORDER BY id",
				  &st, e)))
		goto fail;
	sqlite3_bind_int64(st, 1, job->id);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int code = sqlite3_column_int(st, 1);
		const char *state = catalog_text(st, 3);
		char *why = xstrdup(catalog_text(st, 2));

		if (code == 0 && strcmp(state, "done") != 0)
			code = CV_ECANCELLED;
		rc = finish_account(w, job, sqlite3_column_int64(st, 0), code, why, &ty, e);
		free(why);
	}
	sqlite3_finalize(st);
	if (rc)
		goto fail;

	if (job->cancel) {
		status = ST_CANCELLED;
		snprintf(reason, sizeof reason, "%s", _("cancelled by the user"));
	} else if (ty.accounts == 0) {
		status = ST_COMPLETED;
		snprintf(reason, sizeof reason, "%s", _("no account has private chat backup ACTIVE"));
	} else if (ty.completed == ty.accounts) {
		status = ST_COMPLETED;
	} else if (ty.auth == ty.accounts) {
		status = ST_AUTH_ERROR;
		snprintf(reason, sizeof reason, "%s", ty.first_reason);
	} else if (ty.conn == ty.accounts) {
		status = ST_CONN_ERROR;
		snprintf(reason, sizeof reason, "%s", ty.first_reason);
	} else if (ty.suspended == ty.accounts) {
		status = ST_SUSPENDED;
		snprintf(reason, sizeof reason, "%s", ty.first_reason);
	} else {
		status = ST_PARTIAL;
		snprintf(reason, sizeof reason,
			 P_("%d of %d account did not complete; first reason: %s",
			    "%d of %d accounts did not complete; first reason: %s", ty.accounts),
			 ty.accounts - ty.completed, ty.accounts, ty.first_reason);
	}
	if (job->snapshot > 0 && (rc = snapshot_end(w->db, job->snapshot, status, e)))
		goto fail;
	/* The tenant's status is its credential's (the Dashboard's first
	 * word): a run refused for every account says so there until a run
	 * or Test & Save gets through again. */
	if (!job->cancel && ty.accounts > 0 && ty.auth == ty.accounts)
		rc = tenant_set_status(w->db, job->tenant, ST_AUTH_ERROR, reason, e);
	else if (!job->cancel && ty.completed + ty.partial > 0)
		rc = tenant_set_active(w->db, job->tenant, e);
	if (rc || (rc = job_finish(w->db, job->id, status, reason[0] ? reason : NULL, e)))
		goto fail;
	return catalog_commit(w->db, e);
fail:
	catalog_rollback(w->db);
	return rc;
}

int backup_catch_up(sqlite3 *db, int64_t job, int *n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int64_t open;
	int rc;

	*n = 0;
	if ((rc = catalog_begin(db, e)))
		return rc;
	if ((rc = catalog_int_by_id(db, "SELECT count(*) FROM jobs WHERE id = ?1 AND finished IS NULL", job, &open,
				    e)))
		goto fail;
	if (!open) {
		catalog_rollback(db);
		return CV_ENOTFOUND;
	}
	if ((rc = catalog_prepare(db,
				  "UPDATE tasks SET state = 'queued', resume = NULL, error_code = NULL, reason = NULL,"
				  " lease_owner = NULL, lease_expires = NULL, not_before = 0"
				  " WHERE job = ? AND state = 'done' AND kind IN ('delta', 'chat')",
				  &st, e)))
		goto fail;
	sqlite3_bind_int64(st, 1, job);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("queueing a backup's reads again"), e);
	sqlite3_finalize(st);
	if (rc == 0)
		*n = sqlite3_changes(db);
	if (rc || (*n && (rc = job_bump_progress(db, job, 0, *n, e))))
		goto fail;
	return catalog_commit(db, e);
fail:
	catalog_rollback(db);
	*n = 0;
	return rc;
}

const struct engine_kind backup_kind = {
	.name = "backup",
	.plan = backup_plan,
	.run_task = backup_run_task,
	.advance = bulk_advance,
	.task_ended = bulk_task_ended,
	.finish = backup_finish,
	.halted = backup_halted,
};

void backup_register(void)
{
	engine_register(&backup_kind);
}
