/*
 * The persisted job queue. A job (backup, download, ...) is a row; a worker
 * plans it into tasks (per account, per chat, ...) that any worker of any
 * process may lease. A lease is an owner and an expiry in the row, renewed
 * while the task runs; an expired lease, or one held by a process on this
 * host that no longer exists, is taken over, so a killed process never
 * strands a job.
 */
#ifndef CV_ENGINE_QUEUE_H
#define CV_ENGINE_QUEUE_H

#include <sqlite3.h>
#include <stdint.h>

struct cv_err;

/* Status words, exactly as the portal users know them (DESIGN.md). */
#define ST_ON_QUEUE "On Queue"
#define ST_PREPARING "Preparing Backup"
#define ST_IN_PROGRESS "In Progress"
#define ST_RETRYING "Retrying"
#define ST_COMPLETED "Completed"
#define ST_PARTIAL "Partially Completed"
#define ST_CONN_ERROR "Connection Error"
#define ST_AUTH_ERROR "Authentication Error"
#define ST_FAILED "Failed"
#define ST_CANCELLED "Cancelled"
#define ST_DEACTIVATED "Deactivated"
#define ST_SUSPENDED "Suspended"
#define ST_EXPIRED "Expired"

#define QUEUE_LEASE_MS 60000

struct job_row {
	int64_t id;
	char kind[16];
	int64_t tenant;
	char *params;      /* JSON */
	char status[32];
	char *reason;
	int64_t progress_done;
	int64_t progress_total;
	int64_t created, started, finished;
	int64_t snapshot;
	int planned;
	int cancel;
	char *result_path;
	int64_t result_size;
	int64_t problems;  /* items left out (e.g. records that failed their integrity check) */
};

struct task_row {
	int64_t id;
	int64_t job;
	char kind[16];
	char *key;
	int64_t account;
	int64_t chat;
	char *resume;
};

void job_row_free(struct job_row *j);
void task_row_free(struct task_row *t);

/* This process's lease owner prefix "host:pid". */
const char *queue_owner_prefix(void);

int job_enqueue(sqlite3 *db, const char *kind, int64_t tenant, const char *params, int64_t *id,
		struct cv_err *e);
int job_load(sqlite3 *db, int64_t id, struct job_row *out, struct cv_err *e);
int job_set_status(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e);
/* Only when the job is currently `from` (e.g. Retrying -> In Progress). */
int job_swap_status(sqlite3 *db, int64_t id, const char *from, const char *to, const char *reason,
		    struct cv_err *e);
int job_request_cancel(sqlite3 *db, int64_t id, struct cv_err *e);
int job_finish(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e);
int job_bump_progress(sqlite3 *db, int64_t id, int64_t done_delta, int64_t total_delta, struct cv_err *e);
/* Set both figures (work that starts over: a download taken over after a crash). */
int job_set_progress(sqlite3 *db, int64_t id, int64_t done, int64_t total, struct cv_err *e);

/* Lease a job that needs planning or finishing: any job, or with only_job
 * > 0 that one alone. *what is 'p' or 'f'. CV_ENOTFOUND when there is none. */
int job_lease(sqlite3 *db, const char *owner, int64_t only_job, struct job_row *out, char *what,
	      struct cv_err *e);
int job_mark_planned(sqlite3 *db, int64_t id, struct cv_err *e);
int job_release(sqlite3 *db, int64_t id, struct cv_err *e);

/* Add a task unless the job already has one with this key. */
int task_add(sqlite3 *db, int64_t job, const char *key, const char *kind, int64_t account, int64_t chat,
	     int *added, struct cv_err *e);
/* Record a row that is never run (state done, no progress): a phase's
 * bookkeeping, which a later phase may turn into a task. Ignored if the key
 * exists. */
int task_note(sqlite3 *db, int64_t job, const char *key, const char *kind, int64_t account, int64_t chat,
	      struct cv_err *e);
/* A note on how the job went about its work (shown beside its status). */
int job_set_note(sqlite3 *db, int64_t id, const char *note, struct cv_err *e);
/* Add to the note after "; ", keeping what it said. */
int job_append_note(sqlite3 *db, int64_t id, const char *more, struct cv_err *e);
/* How the lease shares the workers between the kinds of backup task. */
struct task_slots {
	int chats;   /* "chat" tasks come first while fewer than this many run */
	int exports; /* "window" and "delta" tasks run on at most this many while chats wait */
	int listing; /* "account" tasks come first while fewer than this many run (0: always) */
};
/* Lease the next runnable task of any unfinished, uncancelled, planned job
 * (with only_job > 0, of that job alone):
 * account listings first (while fewer than slots->listing run; past that,
 * after every other kind, so exports picked early can start beside the
 * listing), then "chat" tasks while fewer than slots->chats
 * of them run in the store (so chats read one by one overlap the exports
 * rather than trail them), then the one due longest ago (tasks never
 * deferred first), then the oldest. A deferred task is not runnable before
 * its time. */
int task_lease(sqlite3 *db, const char *owner, const struct task_slots *slots, int64_t only_job,
	       struct task_row *out, struct cv_err *e);
/* Give a running task back to the queue until not_before (ms since the
 * epoch); its resume point is already committed. */
int task_defer(sqlite3 *db, int64_t task, int64_t not_before, struct cv_err *e);
/* The earliest time after now at which a deferred task becomes runnable;
 * *due is 0 when none is waiting. */
int task_next_due(sqlite3 *db, int64_t now, int64_t *due, struct cv_err *e);
/* Inside the caller's transaction: store the resume point and renew the lease. */
int task_checkpoint(sqlite3 *db, int64_t task, const char *resume, int64_t items_delta, struct cv_err *e);
/* End a task: code 0 = done, otherwise failed with that code and reason. */
int task_finish(sqlite3 *db, int64_t task, int code, const char *reason, struct cv_err *e);
/* Give a task back (cancelled or stopping): queued again, lease cleared. */
int task_release(sqlite3 *db, int64_t task, struct cv_err *e);
/* Give back every lease this process holds (graceful stop). */
int queue_release_all(sqlite3 *db, struct cv_err *e);
/* *job: an unfinished job of the tenant that a live process is working on
 * now (its own lease or a running task's, unexpired, owner alive), or 0. */
int queue_tenant_busy(sqlite3 *db, int64_t tenant, int64_t *job, struct cv_err *e);

#endif
