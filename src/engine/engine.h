/*
 * The worker pool. Each worker thread owns a catalog connection and a Graph
 * connection, and loops: lease a task and run it; else lease a job to plan
 * or to finish; else sleep until woken or a short timeout (jobs queued by
 * other processes are found by that poll). What a job kind does lives in its
 * own module (backup, download, ...), registered as a struct engine_kind.
 */
#ifndef CV_ENGINE_ENGINE_H
#define CV_ENGINE_ENGINE_H

#include <stdatomic.h>
#include <sqlite3.h>
#include <stdint.h>

#include "engine/queue.h"
#include "util/json.h"

struct cv_err;
struct engine;
struct graph_conn;
struct graph_tenant;
struct store;

/* What a worker thread hands to a job kind's functions. */
struct engine_worker {
	struct engine *engine;
	const struct store *store; /* shared, read-only: the vault and paths */
	sqlite3 *db;               /* this thread's connection */
	struct graph_conn *conn;   /* this thread's Graph connection */
	struct json_arena arena;   /* for one page's parse tree at a time */
	char owner[340];           /* lease owner id "host:pid:n" */
	int index;
	atomic_int stop;           /* set when the engine stops: finish the page in flight */
	int64_t current_job;
	int64_t retry_note_ms;     /* when Retrying was last written */
	int64_t defer_until;       /* with CV_EDEFER: when the task is to go on (ms since the epoch) */
};

struct engine_kind {
	const char *name;
	/* Split a job into tasks; called once per job (again if a planner died). */
	int (*plan)(struct engine_worker *w, struct job_row *job, struct cv_err *e);
	/* Run one task. Return 0 when done, CV_ECANCELLED to give it back,
	 * CV_EDEFER (with w->defer_until set, its resume point committed) to
	 * go on later and free the worker meanwhile, CV_ENOSPC only when the
	 * store itself could not be written (the task is given back and the
	 * pool rests: see engine_halted), or another CV_E* code with e->msg
	 * as the reason it failed. A full disk elsewhere, such as a
	 * download's output, is such a failure, not CV_ENOSPC. */
	int (*run_task)(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			struct cv_err *e);
	/* Every task has ended and the job was not cancelled: add the next
	 * phase's tasks, if any, and set *more (optional). Called again when
	 * those have ended, until it sets *more to 0. A phase must be recorded
	 * in the same transaction as its tasks, so a crash never runs it twice. */
	int (*advance)(struct engine_worker *w, const struct job_row *job, int *more, struct cv_err *e);
	/* Optional: task t has ended (done or failed, not deferred or given
	 * back). The kind may add tasks now rather than wait for every task to
	 * end; best effort, a failure is only logged. */
	void (*task_ended)(struct engine_worker *w, const struct job_row *job, const struct task_row *t);
	/* Every task has ended (or the job was cancelled): set final statuses. */
	int (*finish)(struct engine_worker *w, const struct job_row *job, struct cv_err *e);
	/* Optional: the store refused a write (CV_ENOSPC, reason e->msg)
	 * while this job was in hand; its work was given back and the pool
	 * rests until there is room. The job already shows Retrying with the
	 * reason; show it on the kind's own rows too. Best effort: the write
	 * may be refused as well. */
	void (*halted)(struct engine_worker *w, const struct job_row *job, const struct cv_err *e);
};

/* Register a job kind; call before engine_start. */
void engine_register(const struct engine_kind *kind);

/* Start n worker threads on the store. They lease the work of every job,
 * or with only_job > 0 of that job alone: a process that queued one job
 * and waits for it (a download) must not carry on another's, such as a
 * killed backup, which would sign in to Graph with the stored secret. The
 * caller owns the engine and must keep the store open until engine_free(). */
int engine_start(const struct store *s, int n, int64_t only_job, struct engine **out, struct cv_err *e);
/* Wake idle workers (after enqueuing a job in this process). */
void engine_kick(struct engine *en);
/* A file descriptor that becomes readable when job state changed; the
 * console polls it. Drain with engine_drain_wake(). */
int engine_wake_fd(const struct engine *en);
/* Non-zero (and *e says why) while the pool rests because the store could
 * not be written, such as on a full disk. Its jobs resume once it can. */
int engine_halted(struct engine *en, struct cv_err *e);
void engine_drain_wake(struct engine *en);
/* Tell listeners (the wake fd) that something changed. */
void engine_notify(struct engine *en);
/* Ask workers to stop after the page in flight, join them, give back leases,
 * and free. */
void engine_free(struct engine **en);

/* The shared Graph state for a tenant, created on first use from the
 * tenant's stored credential; owned by the engine. */
int engine_graph_tenant(struct engine_worker *w, int64_t tenant, struct graph_tenant **out,
			struct cv_err *e);
/* Fill a graph_config from a tenant row loaded with its secret; the
 * config borrows the row's strings. */
struct tenant_rec;
struct graph_config;
void engine_graph_config(const struct tenant_rec *t, struct graph_config *cfg);
/* Add to this month's usage of the tenant the requests and 429s its Graph
 * client made since the last charge, and messages retrieved (0 for none);
 * inside the caller's transaction when there is one. Counts that could not
 * be written are kept for the next charge. Console and command actions
 * charge through here too. */
int engine_charge_usage(sqlite3 *db, int64_t tenant, struct graph_tenant *gt, int64_t messages,
			struct cv_err *e);

/* How many workers serve chats read one by one first. Such a chat allows
 * one request a second, and its task gives its worker back between pages
 * (CV_EDEFER), so a few workers read many chats at once, up to the per-chat
 * class's 20 requests a second; the rest of the pool serves the exports
 * (engine_export_slots). A quarter of the pool, or 0 for a pool under four
 * workers: there, the plan reads no chat one by one beside the exports. */
int engine_direct_slots(const struct engine *en);
/* How many workers may run export tasks (windows, deltas) at once while
 * chats read one by one wait (with none waiting, every worker may). */
int engine_export_slots(const struct engine *en);

/* Rate scale applied to new graph tenants (CHATVAULT_RATE_SCALE or 1.0). */
double engine_rate_scale(void);

/* Statuses for an error code, used by job kinds: Authentication Error for
 * credential problems, Connection Error for network ones, else fallback. */
const char *engine_status_for_error(int code, const char *fallback);

#endif
