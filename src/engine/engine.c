/*
 * Worker threads, the registry of job kinds, and the per-tenant Graph state
 * they share. Locks: `lock` guards the kind registry snapshot, the tenant
 * cache and the idle condition; nothing else here is shared between threads.
 */
#include "config.h"

#include "engine/engine.h"
#include "graph/graph.h"
#include "store/catalog.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_KINDS 8
#define IDLE_POLL_MS 500

static const struct engine_kind *kinds[MAX_KINDS];
static int n_kinds;

struct tenant_cache {
	int64_t id;
	struct graph_tenant *graph;
	struct tenant_cache *next;
};

struct engine {
	const struct store *store;
	int n;
	int64_t only_job; /* lease this job's work alone (0: every job's) */
	pthread_t *threads;
	struct engine_worker *workers;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int stopping;
	unsigned kicks;
	struct tenant_cache *tenants;
	int wake[2];
	/* The store could not be written (a full disk): see engine_halt(). */
	struct cv_err halt;
	int64_t halt_until;
};

/* How long the pool rests after the store refused a write. */
#define HALT_RETRY_MS 60000

void engine_register(const struct engine_kind *kind)
{
	int i;

	for (i = 0; i < n_kinds; i++)
		if (strcmp(kinds[i]->name, kind->name) == 0)
			return;
	if (n_kinds == MAX_KINDS)
		xfatal("too many job kinds");
	kinds[n_kinds++] = kind;
}

static const struct engine_kind *kind_find(const char *name)
{
	int i;

	for (i = 0; i < n_kinds; i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

double engine_rate_scale(void)
{
	const char *s = getenv("CHATVAULT_RATE_SCALE");
	double v;

	if (s == NULL || *s == '\0')
		return 1.0;
	v = strtod(s, NULL);
	return v >= 0 ? v : 1.0;
}

const char *engine_status_for_error(int code, const char *fallback)
{
	switch (code) {
	case CV_EAUTH:
	case CV_EFORBIDDEN:
		return ST_AUTH_ERROR;
	case CV_ENET:
	case CV_ETLS:
	case CV_ETHROTTLED:
	case CV_ESERVER:
		return ST_CONN_ERROR;
	case CV_ECAP:
		return ST_SUSPENDED;
	default:
		return fallback;
	}
}

int engine_direct_slots(const struct engine *en)
{
	return en->n >= 4 ? en->n / 4 : 0;
}

int engine_export_slots(const struct engine *en)
{
	return en->n - engine_direct_slots(en);
}

void engine_notify(struct engine *en)
{
	char c = 1;

	if (en && write(en->wake[1], &c, 1) < 0) {
		/* Pipe full means a wake-up is pending already. */
	}
}

int engine_wake_fd(const struct engine *en)
{
	return en->wake[0];
}

void engine_drain_wake(struct engine *en)
{
	char tmp[64];

	while (read(en->wake[0], tmp, sizeof tmp) > 0)
		;
}

void engine_kick(struct engine *en)
{
	pthread_mutex_lock(&en->lock);
	en->kicks++;
	pthread_cond_broadcast(&en->idle);
	pthread_mutex_unlock(&en->lock);
}

static void on_retry(void *ctx, int attempt, double delay_s, const char *reason)
{
	struct engine_worker *w = ctx;
	int64_t now = time_mono_ms();

	log_info("worker %d: retry %d in %.1f s: %s", w->index, attempt, delay_s, reason);
	/* Show Retrying, but do not turn every retry into a catalog write. */
	if (w->current_job > 0 && now - w->retry_note_ms > 2000) {
		w->retry_note_ms = now;
		job_swap_status(w->db, w->current_job, ST_IN_PROGRESS, ST_RETRYING, reason, NULL);
		engine_notify(w->engine);
	}
}

void engine_graph_config(const struct tenant_rec *t, struct graph_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->tenant_id = t->tenant_id;
	cfg->client_id = t->client_id;
	cfg->login_url = t->login_url;
	cfg->graph_url = t->graph_url;
	if (strcmp(t->cred_kind, "certificate") == 0) {
		cfg->kind = GRAPH_CRED_CERT;
		cfg->cert_pem = t->cert_pem;
		cfg->key_pem = buf_str(&t->secret);
		cfg->alg = t->jwt_alg && strcmp(t->jwt_alg, "RS256") == 0 ? GRAPH_JWT_RS256 : GRAPH_JWT_PS256;
	} else {
		cfg->kind = GRAPH_CRED_SECRET;
		cfg->secret = buf_str(&t->secret);
	}
}

int engine_charge_usage(sqlite3 *db, int64_t tenant, struct graph_tenant *gt, int64_t messages, struct cv_err *e)
{
	uint64_t requests, throttled;
	int rc;

	graph_tenant_take_usage(gt, &requests, &throttled);
	if (requests == 0 && throttled == 0 && messages == 0)
		return 0;
	rc = usage_add(db, tenant, (int64_t)requests, (int64_t)throttled, messages, e);
	if (rc)
		graph_tenant_return_usage(gt, requests, throttled);
	return rc;
}

/* The tenant's Graph client if a task of this engine made one. */
static struct graph_tenant *graph_tenant_cached(struct engine *en, int64_t tenant)
{
	struct graph_tenant *gt = NULL;
	struct tenant_cache *c;

	pthread_mutex_lock(&en->lock);
	for (c = en->tenants; c && gt == NULL; c = c->next)
		if (c->id == tenant)
			gt = c->graph;
	pthread_mutex_unlock(&en->lock);
	return gt;
}

int engine_graph_tenant(struct engine_worker *w, int64_t tenant, struct graph_tenant **out, struct cv_err *e)
{
	struct engine *en = w->engine;
	struct tenant_cache *c;
	struct tenant_rec rec;
	struct graph_config cfg;
	int rc;

	if ((*out = graph_tenant_cached(en, tenant)) != NULL)
		return 0;
	if ((rc = tenant_load_id(w->db, w->store->vault, tenant, 1, &rec, e)))
		return rc;
	engine_graph_config(&rec, &cfg);
	c = xcalloc(1, sizeof *c);
	c->id = tenant;
	c->graph = graph_tenant_new(&cfg);
	graph_tenant_set_rate_scale(c->graph, engine_rate_scale());
	tenant_rec_free(&rec);

	pthread_mutex_lock(&en->lock);
	{
		struct tenant_cache *other;

		for (other = en->tenants; other; other = other->next)
			if (other->id == tenant)
				break;
		if (other) { /* another worker won the race */
			graph_tenant_free(&c->graph);
			free(c);
			c = other;
		} else {
			c->next = en->tenants;
			en->tenants = c;
		}
	}
	*out = c->graph;
	pthread_mutex_unlock(&en->lock);
	return 0;
}

/*
 * Every worker would fail the same way on a full disk, and marking tasks
 * failed would need the very writes that fail. So the work in hand is given
 * back (as far as the store allows), the pool rests, and whoever waits is
 * told why; the job resumes once there is room.
 */
static void engine_halt(struct engine *en, const struct cv_err *e)
{
	pthread_mutex_lock(&en->lock);
	if (en->halt.code == 0)
		log_warn("%s", e->msg);
	en->halt = *e;
	en->halt_until = time_mono_ms() + HALT_RETRY_MS;
	pthread_mutex_unlock(&en->lock);
	engine_notify(en);
}

/*
 * The store refused a write while job was in hand. Until work goes on, the
 * job (and through its kind, the items it works on) would say In Progress
 * with no reason, and the console would never learn why nothing moves. So
 * they say Retrying, with the reason, first: the few bytes of a status
 * often still fit where a page of messages did not, and if not, nothing is
 * lost but the word.
 */
static void engine_halt_job(struct engine_worker *w, const struct engine_kind *k, const struct job_row *job,
			    const struct cv_err *e)
{
	job_swap_status(w->db, job->id, ST_IN_PROGRESS, ST_RETRYING, e->msg, NULL);
	/* already Retrying (a Graph retry): the full disk is the reason now */
	job_swap_status(w->db, job->id, ST_RETRYING, ST_RETRYING, e->msg, NULL);
	if (k != NULL && k->halted != NULL)
		k->halted(w, job, e);
	engine_halt(w->engine, e);
}

static int engine_resting(struct engine *en)
{
	int resting;

	pthread_mutex_lock(&en->lock);
	resting = en->halt.code != 0 && time_mono_ms() < en->halt_until;
	pthread_mutex_unlock(&en->lock);
	return resting;
}

/* A lease was written: the store takes writes again. */
static void engine_unhalt(struct engine *en)
{
	pthread_mutex_lock(&en->lock);
	en->halt.code = 0;
	pthread_mutex_unlock(&en->lock);
}

int engine_halted(struct engine *en, struct cv_err *e)
{
	int code;

	pthread_mutex_lock(&en->lock);
	code = en->halt.code;
	if (code)
		*e = en->halt;
	pthread_mutex_unlock(&en->lock);
	return code;
}

/*
 * Errors that do not fail the work in hand: the engine is stopping, the
 * store is full, or another process held the store's write lock past the
 * wait (or past the stop). The task or job is given back and resumes from
 * its last committed page. If even the give-back cannot be written, the
 * lease lapses, at once for the next process once this one has exited.
 */
static int gives_back(int rc)
{
	return rc == CV_ECANCELLED || rc == CV_ENOSPC || rc == CV_ELOCKED;
}

static void run_one_task(struct engine_worker *w, struct task_row *t)
{
	const struct engine_kind *k;
	struct graph_tenant *gt;
	struct job_row job;
	struct cv_err e = {0};
	int rc;

	if (job_load(w->db, t->job, &job, &e) != 0) {
		task_release(w->db, t->id, NULL);
		return;
	}
	k = kind_find(job.kind);
	w->current_job = job.id;
	if (k == NULL || k->run_task == NULL) {
		rc = err_set(&e, CV_EINVAL, _("this chatvault cannot run '%s' jobs"), job.kind);
	} else {
		rc = k->run_task(w, &job, t, &e);
	}
	/* what the task asked of Graph outside message pages (chat lists,
	 * members, files, restores): best effort, a failure keeps it for the
	 * next charge */
	if (job.tenant > 0 && (gt = graph_tenant_cached(w->engine, job.tenant)) != NULL)
		engine_charge_usage(w->db, job.tenant, gt, 0, NULL);
	if (rc == CV_EDEFER) {
		/* queued again, not runnable before its time */
		if (task_defer(w->db, t->id, w->defer_until, NULL) != 0)
			task_release(w->db, t->id, NULL);
	} else if (gives_back(rc))
		task_release(w->db, t->id, NULL); /* it resumes later, not failed */
	else if (task_finish(w->db, t->id, rc, rc ? e.msg : NULL, NULL) == 0 && k != NULL && k->task_ended != NULL &&
		 !job.cancel)
		k->task_ended(w, &job, t);
	if (rc == CV_ENOSPC)
		engine_halt_job(w, k, &job, &e);
	w->current_job = 0;
	job_row_free(&job);
	engine_notify(w->engine);
}

static void run_one_job(struct engine_worker *w, struct job_row *job, char what)
{
	const struct engine_kind *k = kind_find(job->kind);
	struct cv_err e = {0};
	int rc;

	w->current_job = job->id;
	if (k == NULL) {
		job_finish(w->db, job->id, ST_FAILED, _("unknown job kind"), NULL);
	} else if (what == 'p') {
		rc = k->plan ? k->plan(w, job, &e) : 0;
		if (rc == 0)
			rc = job_mark_planned(w->db, job->id, &e);
		if (gives_back(rc)) {
			job_release(w->db, job->id, NULL);
			if (rc == CV_ENOSPC)
				engine_halt_job(w, k, job, &e);
		} else if (rc) {
			log_warn("job %lld: %s", (long long)job->id, e.msg);
			job_finish(w->db, job->id, engine_status_for_error(rc, ST_FAILED), e.msg, NULL);
		}
	} else {
		int more = 0;

		rc = k->advance && !job->cancel ? k->advance(w, job, &more, &e) : 0;
		if (rc == 0 && more)
			job_release(w->db, job->id, NULL); /* its new tasks come first */
		else if (rc == 0)
			rc = k->finish ? k->finish(w, job, &e) : job_finish(w->db, job->id, ST_COMPLETED, NULL, &e);
		if (gives_back(rc)) {
			job_release(w->db, job->id, NULL);
			if (rc == CV_ENOSPC)
				engine_halt_job(w, k, job, &e);
		} else if (rc) {
			log_warn("job %lld: %s", (long long)job->id, e.msg);
			job_finish(w->db, job->id, ST_FAILED, e.msg, NULL);
		}
	}
	w->current_job = 0;
	engine_notify(w->engine);
}

static void *worker_main(void *arg)
{
	struct engine_worker *w = arg;
	struct engine *en = w->engine;
	unsigned seen_kicks = 0;
	struct task_slots slots = {engine_direct_slots(en), engine_export_slots(en), engine_direct_slots(en)};

	while (!w->stop) {
		struct task_row t;
		struct job_row job;
		char what;
		struct timespec ts;
		int64_t now, due, wait_ms = IDLE_POLL_MS;

		struct cv_err e = {0};
		int rc = engine_resting(en) ? CV_ENOSPC : task_lease(w->db, w->owner, &slots, en->only_job, &t, &e);

		if (rc == 0) {
			engine_unhalt(en);
			run_one_task(w, &t);
			task_row_free(&t);
			continue;
		}
		if (w->stop)
			break;
		if (rc != CV_ENOSPC && (rc = job_lease(w->db, w->owner, en->only_job, &job, &what, &e)) == 0) {
			engine_unhalt(en);
			run_one_job(w, &job, what);
			job_row_free(&job);
			continue;
		}
		if (e.code == CV_ENOSPC)
			engine_halt(en, &e);
		/* Nothing runnable: sleep until a deferred task is due, a kick,
		 * or the poll (another process may have queued work). */
		now = time_now_ms();
		if (rc == CV_ENOTFOUND && task_next_due(w->db, now, &due, NULL) == 0 && due > now &&
		    due - now < wait_ms)
			wait_ms = due - now;
		pthread_mutex_lock(&en->lock);
		if (!en->stopping && en->kicks == seen_kicks) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)wait_ms * 1000000L;
			while (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&en->idle, &en->lock, &ts);
		}
		seen_kicks = en->kicks;
		pthread_mutex_unlock(&en->lock);
	}
	return NULL;
}

int engine_start(const struct store *s, int n, int64_t only_job, struct engine **out, struct cv_err *e)
{
	struct engine *en = xcalloc(1, sizeof *en);
	int i;

	*out = NULL;
	en->store = s;
	en->n = n > 0 ? n : 8;
	en->only_job = only_job > 0 ? only_job : 0;
	pthread_mutex_init(&en->lock, NULL);
	pthread_cond_init(&en->idle, NULL);
	if (pipe2(en->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(en);
		return err_set(e, CV_EIO, _("cannot create a pipe: %s"), strerror(errno));
	}
	en->threads = xcalloc((size_t)en->n, sizeof *en->threads);
	en->workers = xcalloc((size_t)en->n, sizeof *en->workers);
	for (i = 0; i < en->n; i++) {
		struct engine_worker *w = &en->workers[i];

		w->engine = en;
		w->store = s;
		w->index = i;
		snprintf(w->owner, sizeof w->owner, "%s:%d", queue_owner_prefix(), i);
		if (store_connect(s, &w->db, e) != 0)
			goto fail;
		catalog_busy_until_stop(w->db, &w->stop);
		w->conn = graph_conn_new();
		graph_conn_set_retry_observer(w->conn, on_retry, w);
		graph_conn_set_cancel_flag(w->conn, &w->stop);
	}
	for (i = 0; i < en->n; i++) {
		if (pthread_create(&en->threads[i], NULL, worker_main, &en->workers[i]) != 0)
			xfatal("cannot start a worker thread");
	}
	*out = en;
	return 0;
fail:
	for (i = 0; i < en->n; i++) {
		if (en->workers[i].db)
			catalog_close(en->workers[i].db);
		graph_conn_free(&en->workers[i].conn);
	}
	close(en->wake[0]);
	close(en->wake[1]);
	free(en->threads);
	free(en->workers);
	free(en);
	return e ? e->code : CV_EIO;
}

void engine_free(struct engine **enp)
{
	struct engine *en = *enp;
	struct tenant_cache *c;
	int i;

	if (en == NULL)
		return;
	pthread_mutex_lock(&en->lock);
	en->stopping = 1;
	for (i = 0; i < en->n; i++)
		en->workers[i].stop = 1;
	pthread_cond_broadcast(&en->idle);
	pthread_mutex_unlock(&en->lock);
	for (i = 0; i < en->n; i++)
		pthread_join(en->threads[i], NULL);
	if (en->n > 0)
		queue_release_all(en->workers[0].db, NULL);
	for (i = 0; i < en->n; i++) {
		catalog_close(en->workers[i].db);
		graph_conn_free(&en->workers[i].conn);
		json_arena_free(&en->workers[i].arena);
	}
	while ((c = en->tenants) != NULL) {
		en->tenants = c->next;
		graph_tenant_free(&c->graph);
		free(c);
	}
	close(en->wake[0]);
	close(en->wake[1]);
	pthread_mutex_destroy(&en->lock);
	pthread_cond_destroy(&en->idle);
	free(en->threads);
	free(en->workers);
	free(en);
	*enp = NULL;
}
