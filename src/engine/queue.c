/*
 * Job and task rows, and their leases. Every lease change is one UPDATE ...
 * RETURNING inside a write transaction, so two workers (or two processes)
 * can never take the same row.
 */
#include "config.h"

#include "engine/queue.h"
#include "store/catalog.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char owner_prefix[300];
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void owner_init(void)
{
	char host[256] = "localhost";

	gethostname(host, sizeof host - 1);
	snprintf(owner_prefix, sizeof owner_prefix, "%s:%ld", host, (long)getpid());
}

const char *queue_owner_prefix(void)
{
	pthread_once(&owner_once, owner_init);
	return owner_prefix;
}

/* SQL function owner_dead(owner): 1 when the lease belongs to a process on
 * this host that has exited, so its work can be taken over at once instead
 * of after the lease expires. */
static void sql_owner_dead(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *owner = (const char *)sqlite3_value_text(argv[0]);
	const char *me = queue_owner_prefix();
	const char *colon = strchr(me, ':');
	size_t hostlen = colon ? (size_t)(colon - me) : strlen(me);
	long pid;
	char *end;

	(void)argc;
	if (owner == NULL || strncmp(owner, me, hostlen) != 0 || owner[hostlen] != ':') {
		sqlite3_result_int(ctx, 0);
		return;
	}
	pid = strtol(owner + hostlen + 1, &end, 10);
	if (pid <= 0 || pid == (long)getpid()) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	sqlite3_result_int(ctx, kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* A lease statement, kept prepared. owner_dead is registered on the
 * connection the first time one does not prepare without it: registering a
 * function again expires every statement the connection keeps prepared, and
 * each would be compiled anew on its next use. */
static int lease_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cv_err *e)
{
	if (catalog_stmt(db, sql, st, NULL) == 0)
		return 0;
	sqlite3_create_function(db, "owner_dead", 1, SQLITE_UTF8, NULL, sql_owner_dead, NULL, NULL);
	return catalog_stmt(db, sql, st, e);
}

void job_row_free(struct job_row *j)
{
	free(j->params);
	free(j->reason);
	free(j->result_path);
	memset(j, 0, sizeof *j);
}

void task_row_free(struct task_row *t)
{
	free(t->key);
	free(t->resume);
	memset(t, 0, sizeof *t);
}

static char *dup_or_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NULL : xstrdup(catalog_text(st, col));
}

/* Milliseconds since the epoch, computed by sqlite. */
#define SQL_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

#define JOB_COLS \
	"id, kind, tenant, params, status, reason, progress_done, progress_total, created, started, " \
	"finished, snapshot, planned, cancel, result_path, result_size, problems"

static void job_from_row(sqlite3_stmt *st, struct job_row *j)
{
	memset(j, 0, sizeof *j);
	j->id = sqlite3_column_int64(st, 0);
	snprintf(j->kind, sizeof j->kind, "%s", catalog_text(st, 1));
	j->tenant = sqlite3_column_int64(st, 2);
	j->params = xstrdup(catalog_text(st, 3));
	snprintf(j->status, sizeof j->status, "%s", catalog_text(st, 4));
	j->reason = dup_or_null(st, 5);
	j->progress_done = sqlite3_column_int64(st, 6);
	j->progress_total = sqlite3_column_int64(st, 7);
	j->created = sqlite3_column_int64(st, 8);
	j->started = sqlite3_column_int64(st, 9);
	j->finished = sqlite3_column_int64(st, 10);
	j->snapshot = sqlite3_column_int64(st, 11);
	j->planned = sqlite3_column_int(st, 12);
	j->cancel = sqlite3_column_int(st, 13);
	j->result_path = dup_or_null(st, 14);
	j->result_size = sqlite3_column_int64(st, 15);
	j->problems = sqlite3_column_int64(st, 16);
}

int job_enqueue(sqlite3 *db, const char *kind, int64_t tenant, const char *params, int64_t *id,
		struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "INSERT INTO jobs (kind, tenant, params, status, created) VALUES (?,?,?,?,?)",
				  &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (tenant > 0)
		sqlite3_bind_int64(st, 2, tenant);
	sqlite3_bind_text(st, 3, params ? params : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ST_ON_QUEUE, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, time_now_ms());
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("queueing a job"), e);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	return rc;
}

int job_load(sqlite3 *db, int64_t id, struct job_row *out, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		job_from_row(st, out);
		rc = 0;
	} else {
		rc = err_set(e, CV_ENOTFOUND, _("no job %lld"), (long long)id);
	}
	catalog_release(st);
	return rc;
}

/* sql is a literal: the statement stays prepared (catalog_stmt). */
static int exec_bound(sqlite3 *db, const char *sql, struct cv_err *e, const char *what, int64_t a,
		      const char *s1, const char *s2, const char *s3)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db, sql, &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, a);
	if (s1)
		sqlite3_bind_text(st, 2, s1, -1, SQLITE_STATIC);
	if (s2)
		sqlite3_bind_text(st, 3, s2, -1, SQLITE_STATIC);
	if (s3)
		sqlite3_bind_text(st, 4, s3, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, what, e);
	catalog_release(st);
	return rc;
}

int job_set_status(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e)
{
	return exec_bound(db,
			  "UPDATE jobs SET status = ?2, reason = ?3, started = coalesce(started, "
			  "" SQL_NOW_MS ") WHERE id = ?1 AND finished IS NULL",
			  e, _("updating a job"), id, status, reason, NULL);
}

int job_swap_status(sqlite3 *db, int64_t id, const char *from, const char *to, const char *reason,
		    struct cv_err *e)
{
	return exec_bound(db, "UPDATE jobs SET status = ?3, reason = ?4 WHERE id = ?1 AND status = ?2 AND "
			      "finished IS NULL",
			  e, _("updating a job"), id, from, to, reason);
}

int job_request_cancel(sqlite3 *db, int64_t id, struct cv_err *e)
{
	return exec_bound(db, "UPDATE jobs SET cancel = 1 WHERE id = ?1 AND finished IS NULL", e,
			  _("cancelling a job"), id, NULL, NULL, NULL);
}

int job_finish(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e)
{
	return exec_bound(db,
			  "UPDATE jobs SET status = ?2, reason = ?3, lease_owner = NULL, lease_expires = NULL, "
			  "finished = " SQL_NOW_MS " WHERE id = ?1",
			  e, _("finishing a job"), id, status, reason, NULL);
}

int job_bump_progress(sqlite3 *db, int64_t id, int64_t done_delta, int64_t total_delta, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db,
			       "UPDATE jobs SET progress_done = progress_done + ?2, "
			       "progress_total = progress_total + ?3 WHERE id = ?1",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, done_delta);
	sqlite3_bind_int64(st, 3, total_delta);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating job progress"), e);
	catalog_release(st);
	return rc;
}

int job_set_progress(sqlite3 *db, int64_t id, int64_t done, int64_t total, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "UPDATE jobs SET progress_done = ?2, progress_total = ?3 WHERE id = ?1", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, done);
	sqlite3_bind_int64(st, 3, total);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating job progress"), e);
	sqlite3_finalize(st);
	return rc;
}

/* Lease one row: run sql (a literal UPDATE ... RETURNING at most one row, binding
 * ?1 owner, ?2 now, ?3 the lease length, and args[i] as ?4, ?5, ...) in its
 * own transaction and hand the row to read(). CV_ENOTFOUND when nothing was
 * leasable; on a failure after the row was read, drop() frees it again. */
static int lease_one(sqlite3 *db, const char *sql, const char *owner, const int64_t *args, int nargs,
		     const char *what, void (*read)(sqlite3_stmt *st, void *out), void (*drop)(void *out),
		     void *out, struct cv_err *e)
{
	sqlite3_stmt *st;
	int i, rc, got = 0;

	if ((rc = catalog_begin(db, e)))
		return rc;
	if ((rc = lease_stmt(db, sql, &st, e))) {
		catalog_rollback(db);
		return rc;
	}
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time_now_ms());
	sqlite3_bind_int64(st, 3, QUEUE_LEASE_MS);
	for (i = 0; i < nargs; i++)
		sqlite3_bind_int64(st, 4 + i, args[i]);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read(st, out);
		got = 1;
		rc = sqlite3_step(st);
	}
	catalog_release(st);
	if (rc != SQLITE_DONE) {
		rc = catalog_error(db, what, e);
		if (got)
			drop(out);
		catalog_rollback(db);
		return rc;
	}
	if (!got) {
		catalog_rollback(db);
		return CV_ENOTFOUND;
	}
	return catalog_commit(db, e);
}

static void job_read(sqlite3_stmt *st, void *out)
{
	job_from_row(st, out);
}

static void job_drop(void *out)
{
	job_row_free(out);
}

int job_lease(sqlite3 *db, const char *owner, int64_t only_job, struct job_row *out, char *what,
	      struct cv_err *e)
{
	/* A job needs a worker when it is unplanned, or when every task has
	 * ended (or it was cancelled) and it has not been finished (also after
	 * a crash). ?4 = 0 takes any job; jobs are few, so one statement
	 * serves both. */
	int rc = lease_one(db,
			   "UPDATE jobs SET lease_owner = ?1, lease_expires = ?2 + ?3 WHERE id = ("
			   " SELECT j.id FROM jobs j WHERE j.finished IS NULL AND (?4 = 0 OR j.id = ?4)"
			   " AND (j.lease_owner IS NULL OR j.lease_expires < ?2 OR owner_dead(j.lease_owner))"
			   " AND (j.planned = 0 OR j.cancel = 1 OR NOT EXISTS (SELECT 1 FROM tasks t"
			   "      WHERE t.job = j.id AND t.state IN ('queued', 'running')))"
			   " ORDER BY j.id LIMIT 1) RETURNING " JOB_COLS,
			   owner, &only_job, 1, _("leasing a job"), job_read, job_drop, out, e);

	if (rc == 0)
		*what = out->planned || out->cancel ? 'f' : 'p';
	return rc;
}

int job_mark_planned(sqlite3 *db, int64_t id, struct cv_err *e)
{
	return exec_bound(db, "UPDATE jobs SET planned = 1, lease_owner = NULL, lease_expires = NULL WHERE id = ?1",
			  e, _("updating a job"), id, NULL, NULL, NULL);
}

int job_release(sqlite3 *db, int64_t id, struct cv_err *e)
{
	return exec_bound(db, "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL WHERE id = ?1", e,
			  _("releasing a job"), id, NULL, NULL, NULL);
}

/* Insert a task row in the given state; *added is 1 unless the key existed. */
static int insert_task(sqlite3 *db, int64_t job, const char *key, const char *kind, int64_t account, int64_t chat,
		       const char *state, int *added, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db,
				  "INSERT OR IGNORE INTO tasks (job, key, kind, account, chat, state) VALUES (?,?,?,?,?,?)",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (account > 0)
		sqlite3_bind_int64(st, 4, account);
	if (chat > 0)
		sqlite3_bind_int64(st, 5, chat);
	sqlite3_bind_text(st, 6, state, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("adding a task"), e);
	*added = rc == 0 ? sqlite3_changes(db) : 0;
	sqlite3_finalize(st);
	return rc;
}

int task_add(sqlite3 *db, int64_t job, const char *key, const char *kind, int64_t account, int64_t chat,
	     int *added, struct cv_err *e)
{
	int n, rc = insert_task(db, job, key, kind, account, chat, "queued", &n, e);

	if (added)
		*added = n;
	if (rc == 0 && n)
		rc = job_bump_progress(db, job, 0, 1, e);
	return rc;
}

int task_note(sqlite3 *db, int64_t job, const char *key, const char *kind, int64_t account, int64_t chat,
	      struct cv_err *e)
{
	int n;

	return insert_task(db, job, key, kind, account, chat, "done", &n, e);
}

int job_set_note(sqlite3 *db, int64_t id, const char *note, struct cv_err *e)
{
	return exec_bound(db, "UPDATE jobs SET note = ?2 WHERE id = ?1", e, _("updating a job"), id, note, NULL,
			  NULL);
}

int job_append_note(sqlite3 *db, int64_t id, const char *more, struct cv_err *e)
{
	return exec_bound(db, "UPDATE jobs SET note = coalesce(note || '; ', '') || ?2 WHERE id = ?1", e,
			  _("updating a job"), id, more, NULL, NULL);
}

static void task_read(sqlite3_stmt *st, void *p)
{
	struct task_row *out = p;

	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(st, 0);
	out->job = sqlite3_column_int64(st, 1);
	snprintf(out->kind, sizeof out->kind, "%s", catalog_text(st, 2));
	out->key = xstrdup(catalog_text(st, 3));
	out->account = sqlite3_column_int64(st, 4);
	out->chat = sqlite3_column_int64(st, 5);
	out->resume = dup_or_null(st, 6);
}

static void task_drop(void *out)
{
	task_row_free(out);
}

/* Tasks are leased by lane (TASK_LANE in store/catalog.h, indexed with
 * state and when it is due): the first due task of each lane is a range of
 * the index, and the order below picks among those few and any lease to
 * reclaim, instead of sorting every queued task of the job on each lease. */
#define LANE_HEAD(tasks, lane, extra)                                                       \
	" SELECT * FROM (SELECT t.id, t.kind, t.not_before FROM " tasks " JOIN jobs j ON j.id = t.job" \
	"  WHERE t.state = 'queued' AND " TASK_LANE("t.kind") " = " lane                           \
	"  AND coalesce(t.not_before, 0) <= ?2 AND " JOB_RUNNABLE extra                           \
	"  ORDER BY coalesce(t.not_before, 0), t.id LIMIT 1)"
#define JOB_RUNNABLE "j.finished IS NULL AND j.planned = 1 AND j.cancel = 0"
/* An export may start while fewer than ?5 run, or once no chat is left. */
#define EXPORT_ROOM                                                                      \
	"(?5 > (SELECT count(*) FROM tasks x WHERE x.state = 'running' AND x.kind IN ('window', 'delta'))" \
	" OR NOT EXISTS (SELECT 1 FROM tasks c WHERE c.state IN ('queued', 'running')"           \
	"  AND " TASK_LANE("c.kind") " = 1))"

/* The lease of task_lease, from tasks (a FROM clause naming them t), of
 * every job or of one job (only: " AND t.job = ?7"): the listing first
 * while fewer than ?6 run (after the rest past that), a chat while fewer
 * than ?4 run, then the task due longest ago, the oldest first. Two
 * statements rather than one with "?7 = 0 OR", as a statement has one
 * plan. Over every job, each lane's head is a range of tasks_lane; over
 * one job, that index would walk every other job's queued tasks to find
 * this one's (20,000 chats of a killed backup under a download), so the
 * job's are read through tasks_runnable (state, job) and sorted: one
 * job's are few. */
#define TASK_LEASE_SQL(tasks, only)                                                                       \
	"UPDATE tasks SET state = 'running', lease_owner = ?1, lease_expires = ?2 + ?3"                  \
	" WHERE id = (SELECT id FROM ("                                                                  \
	LANE_HEAD(tasks, "0", only) " UNION ALL"                                                         \
	LANE_HEAD(tasks, "1", only) " UNION ALL"                                                         \
	LANE_HEAD(tasks, "2", only " AND " EXPORT_ROOM) " UNION ALL"                                     \
	LANE_HEAD(tasks, "3", only) " UNION ALL"                                                         \
	" SELECT t.id, t.kind, t.not_before FROM tasks t JOIN jobs j ON j.id = t.job"                    \
	"  WHERE t.state = 'running' AND (t.lease_expires < ?2 OR owner_dead(t.lease_owner))"            \
	"  AND " JOB_RUNNABLE only " AND (t.kind NOT IN ('window', 'delta') OR " EXPORT_ROOM "))"       \
	" ORDER BY CASE WHEN kind <> 'account' THEN 1"                                                   \
	"  WHEN ?6 = 0 OR ?6 > (SELECT count(*) FROM tasks a WHERE a.state = 'running'"                  \
	"                        AND a.kind = 'account') THEN 0 ELSE 2 END,"                             \
	"  kind <> 'chat' OR ?4 <= (SELECT count(*) FROM tasks r WHERE r.state = 'running'"              \
	"                           AND r.kind = 'chat'),"                                               \
	"  coalesce(not_before, 0), id LIMIT 1)"                                                         \
	" RETURNING id, job, kind, key, account, chat, resume"

int task_lease(sqlite3 *db, const char *owner, const struct task_slots *slots, int64_t only_job,
	       struct task_row *out, struct cv_err *e)
{
	const int64_t args[4] = {slots->chats, slots->exports, slots->listing, only_job};

	if (only_job > 0)
		return lease_one(db, TASK_LEASE_SQL("tasks t INDEXED BY tasks_runnable", " AND t.job = ?7"), owner,
				 args, 4, _("leasing a task"), task_read, task_drop, out, e);
	return lease_one(db, TASK_LEASE_SQL("tasks t", ""), owner, args, 3, _("leasing a task"), task_read,
			 task_drop, out, e);
}

int task_defer(sqlite3 *db, int64_t task, int64_t not_before, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db,
			       "UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires = NULL,"
			       " not_before = ?2 WHERE id = ?1 AND state = 'running'",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, task);
	sqlite3_bind_int64(st, 2, not_before);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("deferring a task"), e);
	catalog_release(st);
	return rc;
}

int task_next_due(sqlite3 *db, int64_t now, int64_t *due, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*due = 0;
	if ((rc = catalog_stmt(db,
			       "SELECT min(t.not_before) FROM tasks t JOIN jobs j ON j.id = t.job"
			       " WHERE t.state = 'queued' AND t.not_before > ?1"
			       " AND j.finished IS NULL AND j.planned = 1 AND j.cancel = 0",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*due = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = catalog_error(db, _("reading the task queue"), e);
	}
	catalog_release(st);
	return rc;
}

int task_checkpoint(sqlite3 *db, int64_t task, const char *resume, int64_t items_delta, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db, "UPDATE tasks SET resume = ?2, items = items + ?3, lease_expires = ?4 WHERE id = ?1",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, task);
	sqlite3_bind_text(st, 2, resume, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, items_delta);
	sqlite3_bind_int64(st, 4, time_now_ms() + QUEUE_LEASE_MS);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("saving a resume point"), e);
	catalog_release(st);
	return rc;
}

int task_finish(sqlite3 *db, int64_t task, int code, const char *reason, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db,
			       "UPDATE tasks SET state = ?2, error_code = ?3, reason = ?4, lease_owner = NULL,"
			       " lease_expires = NULL WHERE id = ?1 AND state NOT IN ('done', 'failed') RETURNING job",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, task);
	sqlite3_bind_text(st, 2, code == 0 ? "done" : "failed", -1, SQLITE_STATIC);
	if (code)
		sqlite3_bind_int(st, 3, code);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t job = sqlite3_column_int64(st, 0);

		catalog_release(st);
		return job_bump_progress(db, job, 1, 0, e);
	}
	catalog_release(st);
	return rc == SQLITE_DONE ? 0 : catalog_error(db, _("finishing a task"), e);
}

int task_release(sqlite3 *db, int64_t task, struct cv_err *e)
{
	return exec_bound(db,
			  "UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires = NULL "
			  "WHERE id = ?1 AND state = 'running'",
			  e, _("releasing a task"), task, NULL, NULL, NULL);
}

int queue_release_all(sqlite3 *db, struct cv_err *e)
{
	sqlite3_stmt *st;
	char pattern[320];
	int rc;

	snprintf(pattern, sizeof pattern, "%s:%%", queue_owner_prefix());
	if ((rc = catalog_prepare(db,
				  "UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires = NULL"
				  " WHERE state = 'running' AND lease_owner LIKE ?1;"
				  ,
				  &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("releasing leases"), e);
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if ((rc = catalog_prepare(db,
				  "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner LIKE ?1",
				  &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("releasing leases"), e);
	sqlite3_finalize(st);
	return rc;
}

int queue_tenant_busy(sqlite3 *db, int64_t tenant, int64_t *job, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*job = 0;
	if ((rc = lease_stmt(db,
			     "SELECT j.id FROM jobs j WHERE j.tenant = ?1 AND j.finished IS NULL AND ("
			     " (j.lease_expires > ?2 AND NOT owner_dead(j.lease_owner)) OR EXISTS (SELECT 1 FROM tasks t"
			     " WHERE t.job = j.id AND t.state = 'running' AND t.lease_expires > ?2"
			     " AND NOT owner_dead(t.lease_owner))) LIMIT 1",
			     &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_int64(st, 2, time_now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*job = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : catalog_error(db, _("reading the jobs"), e);
	catalog_release(st);
	return rc;
}
