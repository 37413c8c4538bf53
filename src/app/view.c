/*
 * Read-side use cases for the console (see view.h). Every list is a query
 * over the visible window: the filter and the sort become a WHERE and an
 * ORDER BY that the accounts indexes serve, so the console never holds more
 * than a screenful of rows.
 */
#include "config.h"

#include "app/view.h"

#include "app/app.h"
#include "backup/backup.h"
#include "engine/engine.h"
#include "engine/queue.h"
#include "export/export.h"
#include "export/htmltext.h"
#include "store/catalog.h"
#include "store/messages.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- filters ------------------------------------------------------------ */

static const struct {
	const char *field;
	const char *column;
} filter_fields[] = {
	{"upn", "a.upn"},
	{"name", "a.display_name"},
	{"dept", "a.department"},
	{"department", "a.department"},
	{"status", "a.status"},
	{"privchat", "a.privchat"},
	{"tenant", "(SELECT name FROM tenants t WHERE t.id = a.tenant)"},
};

/* The sort columns, in enum app_acol order. Text sorts ignore case. */
static const char *const sort_sql[APP_ACOL_COUNT] = {
	"a.upn COLLATE NOCASE",
	"a.display_name COLLATE NOCASE",
	"IFNULL(a.department, '') COLLATE NOCASE",
	"a.privchat",
	"a.status COLLATE NOCASE",
	"IFNULL(a.last_backup, 0)",
	"a.chats",
	"a.messages",
};

/* Append value as a LIKE pattern: '*' any run, '?' one character, and
 * LIKE's own wildcards escaped with '\'. */
static void like_pattern(struct buf *b, const char *v, size_t n, int contains)
{
	size_t i;

	if (contains)
		buf_append_char(b, '%');
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (c == '*')
			buf_append_char(b, '%');
		else if (c == '?')
			buf_append_char(b, '_');
		else {
			if (c == '%' || c == '_' || c == '\\')
				buf_append_char(b, '\\');
			buf_append_char(b, c);
		}
	}
	if (contains)
		buf_append_char(b, '%');
}

/* Split "field=value"; returns the field's column or NULL for plain text.
 * *unknown is set when the text has '=' but names no field. */
static const char *filter_field(const char *text, const char **value, int *unknown)
{
	const char *eq = strchr(text, '=');
	size_t i, flen;

	*unknown = 0;
	if (!eq)
		return NULL;
	flen = (size_t)(eq - text);
	while (flen > 0 && text[flen - 1] == ' ')
		flen--;
	for (i = 0; i < sizeof filter_fields / sizeof filter_fields[0]; i++) {
		if (strlen(filter_fields[i].field) == flen && strncasecmp(text, filter_fields[i].field, flen) == 0) {
			*value = eq + 1;
			while (**value == ' ')
				(*value)++;
			return filter_fields[i].column;
		}
	}
	*unknown = 1;
	return NULL;
}

int app_filter_check(const char *text, struct cv_err *e)
{
	const char *value;
	int unknown;

	if (!text || !*text)
		return 0;
	filter_field(text, &value, &unknown);
	if (unknown)
		return err_set(e, CV_EINVAL,
				  _("unknown filter field; use upn=, name=, dept=, status=, privchat= or tenant="));
	return 0;
}

/* The WHERE clause for f and the values of its parameters ?1 (tenant) and
 * ?2 (the pattern or the privchat flag). */
struct where {
	struct buf sql;
	int64_t tenant;
	char *pattern;
	int privchat;    /* -1: not a privchat filter */
};

static void where_build(const struct app_account_filter *f, struct where *w)
{
	const char *text = f->text ? f->text : "";
	const char *value = NULL, *col;
	int unknown;

	buf_init(&w->sql);
	w->tenant = f->tenant;
	w->pattern = NULL;
	w->privchat = -1;
	buf_append_str(&w->sql, " WHERE (?1 = 0 OR a.tenant = ?1)");
	while (*text == ' ')
		text++;
	if (!*text)
		return;
	col = filter_field(text, &value, &unknown);
	if (col && strcmp(col, "a.privchat") == 0) {
		w->privchat = strncasecmp(value, "act", 3) == 0 || strcmp(value, "1") == 0 ||
			      strncasecmp(value, "on", 2) == 0;
		buf_append_str(&w->sql, " AND a.privchat = ?2");
		return;
	}
	{
		struct buf p;

		buf_init(&p);
		if (col) {
			like_pattern(&p, value, strlen(value), 0);
			buf_printf(&w->sql, " AND IFNULL(%s, '') LIKE ?2 ESCAPE '\\'", col);
		} else {
			like_pattern(&p, text, strlen(text), 1);
			buf_append_str(&w->sql, " AND (a.upn LIKE ?2 ESCAPE '\\' OR a.display_name LIKE ?2 ESCAPE '\\'"
						" OR IFNULL(a.department, '') LIKE ?2 ESCAPE '\\')");
		}
		w->pattern = buf_steal(&p);
	}
}

static void where_bind(const struct where *w, sqlite3_stmt *st)
{
	sqlite3_bind_int64(st, 1, w->tenant);
	if (w->privchat >= 0)
		sqlite3_bind_int(st, 2, w->privchat);
	else if (w->pattern)
		sqlite3_bind_text(st, 2, w->pattern, -1, SQLITE_TRANSIENT);
}

static void where_free(struct where *w)
{
	buf_free(&w->sql);
	free(w->pattern);
	w->pattern = NULL;
}

static void order_sql(const struct app_account_filter *f, struct buf *b)
{
	enum app_acol c = f->sort < APP_ACOL_COUNT ? f->sort : APP_ACOL_UPN;

	buf_printf(b, " ORDER BY %s %s, a.id %s", sort_sql[c], f->desc ? "DESC" : "ASC", f->desc ? "DESC" : "ASC");
}

/* Prepare an SQL template over "accounts a" with {where} replaced by the
 * filter's WHERE clause (its parameters ?1 and ?2 are bound here) and
 * {order} by the sort's ORDER BY clause. The caller binds ?3 and up. */
static int prepare_filtered(struct app *a, const struct app_account_filter *f, const char *tmpl,
			    sqlite3_stmt **st, struct cv_err *e)
{
	struct where w;
	struct buf order, sql;
	const char *p;
	int rc;

	where_build(f, &w);
	buf_init(&order);
	buf_init(&sql);
	order_sql(f, &order);
	for (p = tmpl; *p;) {
		if (strncmp(p, "{where}", 7) == 0) {
			buf_append_str(&sql, buf_str(&w.sql));
			p += 7;
		} else if (strncmp(p, "{order}", 7) == 0) {
			buf_append_str(&sql, buf_str(&order));
			p += 7;
		} else
			buf_append_char(&sql, *p++);
	}
	rc = catalog_prepare(a->store->db, buf_str(&sql), st, e);
	if (rc == 0)
		where_bind(&w, *st);
	buf_free(&sql);
	buf_free(&order);
	where_free(&w);
	return rc;
}

/* ---- the account window ------------------------------------------------- */

int app_view_open(struct app *a, struct cv_err *e)
{
	return catalog_exec(a->store->db, "CREATE TEMP TABLE IF NOT EXISTS tagged (id INTEGER PRIMARY KEY)", e);
}

int app_accounts_count(struct app *a, const struct app_account_filter *f, int64_t *n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = prepare_filtered(a, f, "SELECT count(*) FROM accounts a{where}", &st, e);

	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		rc = catalog_error(a->store->db, _("counting accounts"), e);
	sqlite3_finalize(st);
	return rc;
}

/* Append a zeroed element to a growing array and return it. */
static void *array_push(void **arr, int *n, int *cap, size_t size)
{
	char *p;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*arr = xreallocarray(*arr, (size_t)*cap, size);
	}
	p = (char *)*arr + (size_t)(*n)++ * size;
	memset(p, 0, size);
	return p;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t len)
{
	snprintf(out, len, "%s", catalog_text(st, col));
}

/* An account's chats and messages columns are refreshed as a backup
 * finishes with it (account_refresh_counts), so during a run they stand
 * still while the chats fill. While a backup is unfinished, count the
 * visible rows from the chats stored so far instead: two primary-key
 * lookups per chat of a shown account (about 0.4 ms for 30 rows of a
 * 300-user tenant), whatever the tenant's size. Best effort: on a failure
 * the stored figures stay. */
static void live_counts(struct app *a, struct app_account_row *rows, int n)
{
	sqlite3_stmt *st;
	int running, i;

	if (n == 0 || catalog_prepare(a->store->db,
				      "SELECT EXISTS (SELECT 1 FROM jobs WHERE finished IS NULL AND kind = 'backup')",
				      &st, NULL))
		return;
	running = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!running || catalog_prepare(a->store->db,
				  "SELECT count(*), coalesce(sum(c.messages), 0) FROM account_chats ac"
				  " JOIN chats c ON c.id = ac.chat WHERE ac.account = ?1",
				  &st, NULL))
		return;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, rows[i].id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			rows[i].chats = sqlite3_column_int64(st, 0);
			rows[i].messages = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

int app_accounts_window(struct app *a, const struct app_account_filter *f, int64_t offset, int max,
			struct app_account_row *rows, int *n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	rc = prepare_filtered(a, f,
			      "SELECT a.id, a.tenant, a.upn, a.display_name, a.department, a.privchat, a.status,"
			      " a.reason, a.last_backup, a.chats, a.messages, a.id IN (SELECT id FROM temp.tagged)"
			      " FROM accounts a{where}{order} LIMIT ?3 OFFSET ?4",
			      &st, e);
	if (rc)
		return rc;
	sqlite3_bind_int(st, 3, max);
	sqlite3_bind_int64(st, 4, offset);
	while (*n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct app_account_row *r = &rows[(*n)++];

		r->id = sqlite3_column_int64(st, 0);
		r->tenant = sqlite3_column_int64(st, 1);
		copy_col(st, 2, r->upn, sizeof r->upn);
		copy_col(st, 3, r->name, sizeof r->name);
		copy_col(st, 4, r->dept, sizeof r->dept);
		r->privchat = sqlite3_column_int(st, 5);
		copy_col(st, 6, r->status, sizeof r->status);
		copy_col(st, 7, r->reason, sizeof r->reason);
		r->last_backup = sqlite3_column_int64(st, 8);
		r->chats = sqlite3_column_int64(st, 9);
		r->messages = sqlite3_column_int64(st, 10);
		r->tagged = sqlite3_column_int(st, 11);
	}
	sqlite3_finalize(st);
	live_counts(a, rows, *n);
	return 0;
}

/* The single rank column of a query, or -1 when it returns no row. */
static int64_t step_rank(sqlite3_stmt *st)
{
	int64_t pos = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;

	sqlite3_finalize(st);
	return pos;
}

int64_t app_accounts_position(struct app *a, const struct app_account_filter *f, int64_t id)
{
	sqlite3_stmt *st;

	/* The row's rank among the filtered rows in sort order: a window
	 * function over the filtered set, which sqlite walks through the index. */
	if (prepare_filtered(a, f,
			     "SELECT rn FROM (SELECT a.id, row_number() OVER ({order}) - 1 AS rn"
			     " FROM accounts a{where}) WHERE id = ?3",
			     &st, NULL))
		return -1;
	sqlite3_bind_int64(st, 3, id);
	return step_rank(st);
}

int64_t app_accounts_find(struct app *a, const struct app_account_filter *f, const char *text, int64_t from,
			  int forward)
{
	sqlite3_stmt *st;
	struct buf pat;

	if (prepare_filtered(a, f,
			     "SELECT rn FROM (SELECT a.upn, a.display_name, IFNULL(a.department, '') AS dept,"
			     " row_number() OVER ({order}) - 1 AS rn FROM accounts a{where})"
			     " WHERE (upn LIKE ?3 ESCAPE '\\' OR display_name LIKE ?3 ESCAPE '\\'"
			     " OR dept LIKE ?3 ESCAPE '\\')"
			     " AND (CASE WHEN ?5 THEN rn > ?4 ELSE rn < ?4 END)"
			     " ORDER BY CASE WHEN ?5 THEN rn ELSE -rn END LIMIT 1",
			     &st, NULL))
		return -1;
	buf_init(&pat);
	like_pattern(&pat, text, strlen(text), 1);
	sqlite3_bind_text(st, 3, buf_str(&pat), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, from);
	sqlite3_bind_int(st, 5, forward);
	buf_free(&pat);
	return step_rank(st);
}

/* ---- tags --------------------------------------------------------------- */

static int exec_id(sqlite3 *db, const char *sql, int64_t id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = catalog_prepare(db, sql, &st, e);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = catalog_error(db, _("updating the tag set"), e);
	sqlite3_finalize(st);
	return rc;
}

int app_tag_toggle(struct app *a, int64_t account, struct cv_err *e)
{
	sqlite3 *db = a->store->db;
	int rc = exec_id(db, "DELETE FROM temp.tagged WHERE id = ?1", account, e);

	if (rc == 0 && sqlite3_changes(db) == 0)
		rc = exec_id(db, "INSERT INTO temp.tagged (id) VALUES (?1)", account, e);
	return rc;
}

/* Run an INSERT into the tag set; *added how many ids were new. */
static int tag_insert(struct app *a, sqlite3_stmt *st, int64_t *added, struct cv_err *e)
{
	int rc = 0;

	if (sqlite3_step(st) != SQLITE_DONE)
		rc = catalog_error(a->store->db, _("updating the tag set"), e);
	else if (added)
		*added = sqlite3_changes(a->store->db);
	sqlite3_finalize(st);
	return rc;
}

int app_tag_filtered(struct app *a, const struct app_account_filter *f, int64_t *added, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = prepare_filtered(a, f, "INSERT OR IGNORE INTO temp.tagged (id) SELECT a.id FROM accounts a{where}",
				  &st, e);

	return rc ? rc : tag_insert(a, st, added, e);
}

int app_tag_pattern(struct app *a, const struct app_account_filter *f, const char *glob, int64_t *added,
		    struct cv_err *e)
{
	struct app_account_filter all = {f->tenant, NULL, APP_ACOL_UPN, 0};
	sqlite3_stmt *st;
	struct buf p;
	int rc;

	rc = prepare_filtered(a, &all,
			      "INSERT OR IGNORE INTO temp.tagged (id) SELECT a.id FROM accounts a{where}"
			      " AND (a.upn LIKE ?3 ESCAPE '\\' OR a.display_name LIKE ?3 ESCAPE '\\')",
			      &st, e);
	if (rc)
		return rc;
	buf_init(&p);
	like_pattern(&p, glob, strlen(glob), 0);
	sqlite3_bind_text(st, 3, buf_str(&p), -1, SQLITE_TRANSIENT);
	buf_free(&p);
	return tag_insert(a, st, added, e);
}

int app_untag_all(struct app *a, struct cv_err *e)
{
	return catalog_exec(a->store->db, "DELETE FROM temp.tagged", e);
}

int app_tag_counts(struct app *a, const struct app_account_filter *f, int64_t *tagged, int64_t *hidden,
		   struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = prepare_filtered(a, f,
				  "SELECT (SELECT count(*) FROM temp.tagged),"
				  " (SELECT count(*) FROM temp.tagged WHERE id NOT IN (SELECT a.id FROM accounts a{where}))",
				  &st, e);

	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*tagged = sqlite3_column_int64(st, 0);
		*hidden = sqlite3_column_int64(st, 1);
	} else
		rc = catalog_error(a->store->db, _("counting tagged accounts"), e);
	sqlite3_finalize(st);
	return rc;
}

/* The selection: the tagged accounts, or the one account when none is. */
#define SELECTION_SQL \
	"(SELECT id FROM temp.tagged UNION ALL SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM temp.tagged))"

int app_selection_names(struct app *a, int64_t account, char *out, size_t len, int max)
{
	sqlite3_stmt *st;
	struct buf b;
	int listed = 0;

	out[0] = '\0';
	if (catalog_prepare(a->store->db,
			    "SELECT CASE display_name WHEN '' THEN upn ELSE display_name END FROM accounts"
			    " WHERE id IN " SELECTION_SQL " ORDER BY display_name COLLATE NOCASE LIMIT ?2",
			    &st, NULL))
		return 0;
	buf_init(&b);
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int(st, 2, max);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (listed++)
			buf_append_str(&b, ", ");
		buf_append_str(&b, catalog_text(st, 0));
	}
	sqlite3_finalize(st);
	snprintf(out, len, "%s", buf_str(&b));
	buf_free(&b);
	return listed;
}

int64_t app_selection_active(struct app *a, int64_t account)
{
	sqlite3_stmt *st;
	int64_t n = 0;

	if (catalog_prepare(a->store->db,
			    "SELECT count(*) FROM accounts WHERE privchat = 1 AND gone = 0 AND id IN " SELECTION_SQL, &st,
			    NULL))
		return -1;
	sqlite3_bind_int64(st, 1, account);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		n = -1;
	sqlite3_finalize(st);
	return n;
}

int app_privchat_set_selection(struct app *a, int64_t account, int active, int *changed, struct cv_err *e)
{
	sqlite3 *db = a->store->db;
	sqlite3_stmt *st;
	int rc;

	/* The change and its audit record in one transaction: a store kept
	 * busy by another process fails the action whole, never half. */
	if ((rc = catalog_begin(db, e)))
		return rc;
	rc = catalog_prepare(db,
			     "UPDATE accounts SET privchat = ?2, status = CASE WHEN ?2 = 0 THEN 'Deactivated'"
			     " WHEN status = 'Deactivated' THEN '' ELSE status END"
			     " WHERE gone = 0 AND privchat <> ?2 AND id IN " SELECTION_SQL,
			     &st, e);
	if (rc) {
		catalog_rollback(db);
		return rc;
	}
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int(st, 2, active);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = catalog_error(db, _("updating accounts"), e);
	else {
		char detail[64];

		*changed = sqlite3_changes(db);
		snprintf(detail, sizeof detail, "%d changed", *changed);
		app_audit(a, active ? "privchat activate" : "privchat deactivate", "console selection", detail);
	}
	sqlite3_finalize(st);
	if (rc == 0)
		rc = catalog_commit(db, e);
	else
		catalog_rollback(db);
	return rc;
}

int app_backup_selection(struct app *a, int64_t account, int *jobs, struct cv_err *e)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL, *tenants = NULL;
	size_t n = 0, cap = 0, i, start;
	int rc;

	*jobs = 0;
	rc = catalog_prepare(a->store->db,
			     "SELECT id, tenant FROM accounts WHERE privchat = 1 AND gone = 0 AND id IN " SELECTION_SQL
			     " ORDER BY tenant, id",
			     &st, e);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, account);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = xreallocarray(ids, cap, sizeof *ids);
			tenants = xreallocarray(tenants, cap, sizeof *tenants);
		}
		ids[n] = sqlite3_column_int64(st, 0);
		tenants[n++] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (n == 0)
		rc = err_set(e, CV_ENOTFOUND, _("none of the selected accounts is ACTIVE; activate them first"));
	/* Every tenant's job or none (a store kept busy fails the whole). */
	else if ((rc = catalog_begin(a->store->db, e)) == 0) {
		for (start = 0, i = 1; rc == 0 && start < n; i++) {
			if (i == n || tenants[i] != tenants[start]) {
				int64_t job;

				rc = app_backup_start(a, tenants[start], ids + start, (int)(i - start), 0, &job, e);
				if (rc == 0)
					(*jobs)++;
				start = i;
			}
		}
		if (rc == 0)
			rc = catalog_commit(a->store->db, e);
		else
			catalog_rollback(a->store->db);
		if (rc)
			*jobs = 0;
	}
	free(ids);
	free(tenants);
	return rc;
}

/* ---- tenants ------------------------------------------------------------ */

int app_tenants_summary(struct app *a, struct app_tenant_summary **out, int *n, struct cv_err *e)
{
	sqlite3_stmt *st;
	char month[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc, cap = 0;

	*out = NULL;
	*n = 0;
	gmtime_r(&now, &tm);
	snprintf(month, sizeof month, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	rc = catalog_prepare(a->store->db,
			     "SELECT t.id, t.name, t.status, t.reason, IFNULL(t.monthly_limit, -1),"
			     " (SELECT count(*) FROM accounts WHERE tenant = t.id AND gone = 0),"
			     " (SELECT count(*) FROM accounts WHERE tenant = t.id AND gone = 0 AND privchat = 1),"
			     " (SELECT count(*) FROM accounts WHERE tenant = t.id AND gone = 0 AND last_backup IS NOT NULL),"
			     " (SELECT max(finished) FROM jobs WHERE tenant = t.id AND kind = 'backup'),"
			     " (SELECT IFNULL(sum(messages), 0) FROM chats WHERE tenant = t.id),"
			     " IFNULL(u.messages, 0), IFNULL(u.requests, 0), IFNULL(u.throttled, 0)"
			     " FROM tenants t LEFT JOIN usage u ON u.tenant = t.id AND u.month = ?1"
			     " ORDER BY t.name COLLATE NOCASE",
			     &st, e);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, month, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct app_tenant_summary *t;

		t = array_push((void **)out, n, &cap, sizeof **out);
		t->id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, t->name, sizeof t->name);
		copy_col(st, 2, t->status, sizeof t->status);
		copy_col(st, 3, t->reason, sizeof t->reason);
		t->monthly_limit = sqlite3_column_int64(st, 4);
		t->accounts = sqlite3_column_int64(st, 5);
		t->active = sqlite3_column_int64(st, 6);
		t->backed_up = sqlite3_column_int64(st, 7);
		t->last_run = sqlite3_column_int64(st, 8);
		t->messages = sqlite3_column_int64(st, 9);
		t->month_messages = sqlite3_column_int64(st, 10);
		t->month_requests = sqlite3_column_int64(st, 11);
		t->month_throttled = sqlite3_column_int64(st, 12);
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- jobs --------------------------------------------------------------- */

int app_jobs_list(struct app *a, const char *kind, int max, struct app_job_row **out, int *n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*out = xcalloc((size_t)(max > 0 ? max : 1), sizeof **out);
	*n = 0;
	/* An unfinished backup's total grows until it has planned its run
	 * (backup/backup.h). */
	rc = catalog_prepare(a->store->db,
			     "SELECT j.id, j.kind, IFNULL(t.name, ''), j.status, j.reason, j.progress_done,"
			     " j.progress_total, j.created, j.started, j.finished, j.result_path,"
			     " IFNULL(j.result_size, 0),"
			     " CASE WHEN j.finished IS NULL AND j.kind = 'backup' THEN " BACKUP_SQL_TOTAL_FINAL("j")
			     " ELSE 1 END,"
			     " CASE WHEN j.finished IS NULL AND j.kind = 'backup' THEN " BACKUP_SQL_TOTAL_PENDING("j")
			     " ELSE 0 END"
			     " FROM jobs j LEFT JOIN tenants t ON t.id = j.tenant"
			     " WHERE (?1 IS NULL OR j.kind = ?1)"
			     " ORDER BY j.finished IS NOT NULL, j.id DESC LIMIT ?2",
			     &st, e);
	if (rc)
		return rc;
	if (kind)
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, max);
	while (*n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct app_job_row *j = &(*out)[(*n)++];

		j->id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, j->kind, sizeof j->kind);
		copy_col(st, 2, j->tenant, sizeof j->tenant);
		copy_col(st, 3, j->status, sizeof j->status);
		copy_col(st, 4, j->reason, sizeof j->reason);
		j->done = sqlite3_column_int64(st, 5);
		j->total = sqlite3_column_int64(st, 6);
		j->created = sqlite3_column_int64(st, 7);
		j->started = sqlite3_column_int64(st, 8);
		j->finished = sqlite3_column_int64(st, 9);
		copy_col(st, 10, j->result, sizeof j->result);
		j->result_size = sqlite3_column_int64(st, 11);
		j->total_final = sqlite3_column_int(st, 12);
		if (j->total_final)
			j->total += sqlite3_column_int64(st, 13);
		j->running = sqlite3_column_type(st, 9) == SQLITE_NULL;
	}
	sqlite3_finalize(st);
	return 0;
}

int64_t app_jobs_running(struct app *a)
{
	sqlite3_stmt *st;
	int64_t n = 0;

	if (catalog_prepare(a->store->db, "SELECT count(*) FROM jobs WHERE finished IS NULL", &st, NULL))
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int app_job_retry(struct app *a, int64_t job, int64_t *newjob, struct cv_err *e)
{
	struct job_row j;
	char target[64];
	int rc;

	if ((rc = job_load(a->store->db, job, &j, e)))
		return rc;
	if (!j.finished) {
		job_row_free(&j);
		return err_set(e, CV_EINVAL, _("job %lld is still running; cancel it first"), (long long)job);
	}
	rc = job_enqueue(a->store->db, j.kind, j.tenant, j.params, newjob, e);
	if (rc == 0) {
		snprintf(target, sizeof target, "job %lld", (long long)job);
		app_audit(a, "retry", target, j.kind);
		if (a->engine)
			engine_kick(a->engine);
	}
	job_row_free(&j);
	return rc;
}

/* ---- chats -------------------------------------------------------------- */

int app_account_ids(struct app *a, int64_t account, int64_t *tenant, char *user_id, size_t len,
		    struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = catalog_prepare(a->store->db, "SELECT tenant, user_id FROM accounts WHERE id = ?1", &st, e);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, account);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*tenant = sqlite3_column_int64(st, 0);
		copy_col(st, 1, user_id, len);
	} else
		rc = err_set(e, CV_ENOTFOUND, _("no such account"));
	sqlite3_finalize(st);
	return rc;
}

int app_account_chats(struct app *a, int64_t account, struct app_chat_row **out, int *n, struct cv_err *e)
{
	struct tenant_rec trec;
	sqlite3_stmt *st;
	char user_id[256];
	int64_t tenant;
	int rc, cap = 0;

	*out = NULL;
	*n = 0;
	if ((rc = app_account_ids(a, account, &tenant, user_id, sizeof user_id, e)))
		return rc;
	if ((rc = tenant_load_id(a->store->db, a->store->vault, tenant, 0, &trec, e)))
		return rc;
	rc = catalog_prepare(a->store->db,
			     "SELECT c.id, c.chat_id, c.chat_type, c.messages, IFNULL(c.last_activity, 0)"
			     " FROM chats c JOIN account_chats ac ON ac.chat = c.id WHERE ac.account = ?1"
			     " ORDER BY c.last_activity DESC, c.id",
			     &st, e);
	if (rc) {
		tenant_rec_free(&trec);
		return rc;
	}
	sqlite3_bind_int64(st, 1, account);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct app_chat_row *c;
		struct buf meta;
		struct cv_err me;
		cJSON *j;

		c = array_push((void **)out, n, &cap, sizeof **out);
		c->id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, c->chat_id, sizeof c->chat_id);
		copy_col(st, 2, c->type, sizeof c->type);
		c->messages = sqlite3_column_int64(st, 3);
		c->last_activity = sqlite3_column_int64(st, 4);
		buf_init(&meta);
		if (chat_meta_open(a->store->db, a->store->vault, c->id, trec.tenant_id, &meta, &me) == 0 &&
		    (j = cJSON_ParseWithLength(meta.data, meta.len)) != NULL) {
			char *title = export_chat_title(j, user_id);

			snprintf(c->title, sizeof c->title, "%s", title);
			free(title);
			cJSON_Delete(j);
		} else
			snprintf(c->title, sizeof c->title, "%s", _("(chat details failed their integrity check)"));
		buf_free(&meta);
	}
	sqlite3_finalize(st);
	tenant_rec_free(&trec);
	return 0;
}

int app_chat_read(struct app *a, int64_t account, const char *chat_id, app_message_fn fn, void *ctx,
		  int64_t *integrity, struct cv_err *e)
{
	struct export_query q;
	struct export_stream *s = NULL;
	struct export_chat *chat;
	struct export_message *m;
	struct tenant_rec trec;
	struct buf text, files, reacts;
	char user_id[256];
	int rc, stop = 0;

	memset(&q, 0, sizeof q);
	q.account = account;
	q.chat_id = chat_id;
	if ((rc = app_account_ids(a, account, &q.tenant, user_id, sizeof user_id, e)))
		return rc;
	if ((rc = tenant_load_id(a->store->db, a->store->vault, q.tenant, 0, &trec, e)))
		return rc;
	q.tenant_guid = trec.tenant_id;
	rc = export_stream_open(a->store->db, a->store->vault, &q, &s, e);
	buf_init(&text);
	buf_init(&files);
	buf_init(&reacts);
	while (rc == 0 && (rc = export_stream_next_chat(s, &chat, e)) == 1) {
		while ((rc = export_stream_next_message(s, &m, e)) == 1) {
			const cJSON *body = cJSON_GetObjectItemCaseSensitive(m->msg, "body");
			const char *content = json_str(body, "content");
			const char *type = json_str(body, "contentType");
			struct app_message am;

			buf_reset(&text);
			buf_reset(&files);
			buf_reset(&reacts);
			memset(&am, 0, sizeof am);
			am.event = htmltext_is_event(m->msg);
			if (am.event)
				htmltext_event(&text, m->msg, chat->meta);
			else if (content)
				htmltext_body_text(&text, content, strlen(content), type && strcmp(type, "html") == 0, 0);
			htmltext_attachment_names(&files, m->msg, ", ");
			htmltext_reactions_text(&reacts, m->msg, "; ");
			am.sender = htmltext_sender(m->msg, chat->meta);
			am.created = m->created;
			am.edited = m->edited;
			am.deleted = m->deleted;
			am.text = buf_str(&text);
			am.attachments = buf_str(&files);
			am.reactions = buf_str(&reacts);
			if (fn(ctx, &am) != 0) {
				stop = 1;
				break;
			}
		}
		if (rc < 0 || stop)
			break;
	}
	if (stop)
		rc = 0;
	if (rc == 0 && integrity)
		*integrity = export_stream_integrity_errors(s);
	buf_free(&text);
	buf_free(&files);
	buf_free(&reacts);
	export_stream_free(&s);
	tenant_rec_free(&trec);
	return rc < 0 ? rc : 0;
}

int app_store_changed(struct app *a)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	int changed;

	if (catalog_prepare(a->store->db, "PRAGMA data_version", &st, NULL))
		return 1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	changed = v != a->data_version;
	a->data_version = v;
	return changed;
}
