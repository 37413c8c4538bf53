/*
 * Token buckets, pause and AIMD concurrency for one tenant. Rates come from
 * Graph's Teams service limits (graph-facts.md §5.2): per app per tenant,
 * GET chat messages 20 rps, getAllMessages 200 rps, other Teams GETs 30 rps;
 * "A maximum of one request per second per app per tenant can be issued on a
 * given channel or chat"; "five requests per second per user ... List chats
 * or Get chat". One mutex guards all of it; every critical section is short.
 */
#include "config.h"

#include "graph/throttle.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double class_rps[GRAPH_CLASS_COUNT] = {
	[GRAPH_CLASS_CHAT_MESSAGES] = 20.0,
	[GRAPH_CLASS_EXPORT] = 200.0,
	[GRAPH_CLASS_LIST_CHATS] = 30.0, /* "Other GET API calls for Microsoft Teams" */
	[GRAPH_CLASS_OTHER] = 30.0,
};

struct bucket {
	double tokens;
	double last;
	int fresh; /* not yet used: starts full */
};

struct entry {
	struct entry *next;
	struct bucket b;
	double rate;
	char key[];
};

#define NSLOTS 256
#define EVICT_FLOOR 1024

struct throttle {
	pthread_mutex_t mu;
	double scale;
	struct bucket cls[GRAPH_CLASS_COUNT];
	struct entry *slots[NSLOTS];
	size_t nentries, evict_at;
	double pause_until;
	double pace[GRAPH_CLASS_COUNT];          /* AIMD: share of each class's rate used */
	double pace_decrease[GRAPH_CLASS_COUNT]; /* when it was last cut */
	int limit; /* AIMD: requests in flight allowed */
	int inflight;
	int successes;
	double last_decrease;
};

struct throttle *throttle_new(void)
{
	struct throttle *t = xcalloc(1, sizeof *t);
	int i;

	pthread_mutex_init(&t->mu, NULL);
	t->scale = 1.0;
	for (i = 0; i < GRAPH_CLASS_COUNT; i++) {
		t->cls[i].fresh = 1;
		t->pace[i] = 1.0;
		t->pace_decrease[i] = -1e300;
	}
	t->evict_at = EVICT_FLOOR;
	t->limit = THROTTLE_CONC_START;
	t->last_decrease = -1e300;
	return t;
}

void throttle_free(struct throttle **tp)
{
	struct throttle *t = *tp;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < NSLOTS; i++) {
		struct entry *e = t->slots[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
	*tp = NULL;
}

void throttle_set_scale(struct throttle *t, double scale)
{
	pthread_mutex_lock(&t->mu);
	t->scale = scale > 0 ? scale : 0;
	pthread_mutex_unlock(&t->mu);
}

static double depth(double rate)
{
	double d = rate * THROTTLE_BURST_S;

	return d < 1.0 ? 1.0 : d;
}

/* Refill and return how long until one token is there (0 if it is now). */
static double bucket_wait(struct bucket *b, double rate, double now)
{
	double cap = depth(rate);

	if (b->fresh) {
		b->fresh = 0;
		b->tokens = cap;
		b->last = now;
	}
	if (now > b->last) {
		b->tokens += (now - b->last) * rate;
		if (b->tokens > cap)
			b->tokens = cap;
		b->last = now;
	}
	/* a hair of tolerance: 5.05 - 5.0 is not quite 0.05 in binary */
	return b->tokens >= 1.0 - 1e-9 ? 0.0 : (1.0 - b->tokens) / rate;
}

static void take_token(struct bucket *b)
{
	b->tokens -= 1;
	if (b->tokens < 0)
		b->tokens = 0;
}

static size_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NSLOTS;
}

/* A bucket idle long enough to be full again carries no state: dropping it
 * changes nothing, so eviction is exact. */
static void evict_idle(struct throttle *t, double now)
{
	size_t i;

	for (i = 0; i < NSLOTS; i++) {
		struct entry **pp = &t->slots[i];

		while (*pp != NULL) {
			struct entry *e = *pp;

			if (now - e->b.last >= depth(e->rate) / e->rate) {
				*pp = e->next;
				free(e);
				t->nentries--;
			} else {
				pp = &e->next;
			}
		}
	}
	t->evict_at = t->nentries * 2 > EVICT_FLOOR ? t->nentries * 2 : EVICT_FLOOR;
}

/* "r:<chat>" or "u:<user>"; the caller frees it. */
static char *entry_key(char kind, const char *name, size_t *len)
{
	size_t n = strlen(name);
	char *key = xmalloc(n + 3);

	key[0] = kind;
	key[1] = ':';
	memcpy(key + 2, name, n + 1);
	*len = n + 3;
	return key;
}

static struct entry *entry_find(struct throttle *t, const char *key)
{
	struct entry *e;

	for (e = t->slots[hash(key)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	return e;
}

static struct entry *entry_get(struct throttle *t, char kind, const char *name, double rate,
			       double now)
{
	size_t len;
	char *key = entry_key(kind, name, &len);
	struct entry *e = entry_find(t, key);

	if (e == NULL) {
		size_t h = hash(key);

		if (t->nentries >= t->evict_at)
			evict_idle(t, now);
		e = xcalloc(1, sizeof *e + len);
		memcpy(e->key, key, len);
		e->b.fresh = 1;
		e->next = t->slots[h];
		t->slots[h] = e;
		t->nentries++;
	}
	e->rate = rate;
	free(key);
	return e;
}

static double max2(double a, double b)
{
	return a > b ? a : b;
}

double throttle_acquire(struct throttle *t, enum graph_class cls, const char *resource,
			const char *user, double now, struct throttle_ticket *tk)
{
	struct entry *res = NULL, *usr = NULL;
	double wait = 0, rate;

	tk->held = 0;
	if ((unsigned)cls >= GRAPH_CLASS_COUNT)
		cls = GRAPH_CLASS_OTHER;
	pthread_mutex_lock(&t->mu);
	if (now < t->pause_until) {
		wait = t->pause_until - now;
		goto out;
	}
	if (t->scale > 0) {
		if (t->inflight >= t->limit) {
			wait = THROTTLE_POLL_S;
			goto out;
		}
		rate = class_rps[cls] * t->scale * t->pace[cls];
		wait = bucket_wait(&t->cls[cls], rate, now);
		if (resource != NULL) {
			res = entry_get(t, 'r', resource, THROTTLE_CHAT_RPS * t->scale * THROTTLE_HEADROOM, now);
			wait = max2(wait, bucket_wait(&res->b, res->rate, now));
		}
		if (user != NULL && cls == GRAPH_CLASS_LIST_CHATS) {
			usr = entry_get(t, 'u', user, THROTTLE_USER_RPS * t->scale * THROTTLE_HEADROOM, now);
			wait = max2(wait, bucket_wait(&usr->b, usr->rate, now));
		}
		if (wait > 0)
			goto out;
		take_token(&t->cls[cls]);
		if (res != NULL)
			take_token(&res->b);
		if (usr != NULL)
			take_token(&usr->b);
	}
	t->inflight++;
	tk->cls = cls;
	tk->held = 1;
	tk->started = now;
out:
	pthread_mutex_unlock(&t->mu);
	/* never 0 unless granted, or the caller would spin */
	return tk->held ? 0.0 : max2(wait, 1e-6);
}

void throttle_release(struct throttle *t, struct throttle_ticket *tk, enum throttle_outcome out,
		      double now)
{
	if (!tk->held)
		return;
	tk->held = 0;
	pthread_mutex_lock(&t->mu);
	t->inflight--;
	if (out == THROTTLE_OVERLOAD) {
		/* Halve once per round: answers to requests sent before the last
		 * decrease carry no news. */
		if (tk->started >= t->last_decrease) {
			t->limit = t->limit / 2 < THROTTLE_CONC_MIN ? THROTTLE_CONC_MIN : t->limit / 2;
			t->last_decrease = now;
		}
		t->successes = 0;
		if (tk->started >= t->pace_decrease[tk->cls]) {
			t->pace[tk->cls] *= THROTTLE_PACE_CUT;
			if (t->pace[tk->cls] < THROTTLE_PACE_MIN)
				t->pace[tk->cls] = THROTTLE_PACE_MIN;
			t->pace_decrease[tk->cls] = now;
		}
	} else {
		if (++t->successes >= THROTTLE_GROW_AFTER) {
			t->successes = 0;
			if (t->limit < THROTTLE_CONC_MAX)
				t->limit += 1;
		}
		t->pace[tk->cls] += THROTTLE_PACE_STEP;
		if (t->pace[tk->cls] > 1.0)
			t->pace[tk->cls] = 1.0;
	}
	pthread_mutex_unlock(&t->mu);
}

double throttle_resource_wait(struct throttle *t, const char *resource, double now)
{
	size_t len;
	char *key = entry_key('r', resource, &len);
	struct entry *e;
	double wait = 0;

	pthread_mutex_lock(&t->mu);
	if (t->scale > 0 && (e = entry_find(t, key)) != NULL)
		wait = bucket_wait(&e->b, e->rate, now);
	pthread_mutex_unlock(&t->mu);
	free(key);
	return wait;
}

void throttle_pause(struct throttle *t, double until)
{
	pthread_mutex_lock(&t->mu);
	if (until > t->pause_until)
		t->pause_until = until;
	pthread_mutex_unlock(&t->mu);
}

double throttle_pace(struct throttle *t, enum graph_class cls)
{
	double v;

	pthread_mutex_lock(&t->mu);
	v = t->pace[cls];
	pthread_mutex_unlock(&t->mu);
	return v;
}

int throttle_limit(struct throttle *t)
{
	int v;

	pthread_mutex_lock(&t->mu);
	v = t->limit;
	pthread_mutex_unlock(&t->mu);
	return v;
}

int throttle_inflight(struct throttle *t)
{
	int v;

	pthread_mutex_lock(&t->mu);
	v = t->inflight;
	pthread_mutex_unlock(&t->mu);
	return v;
}

size_t throttle_entries(struct throttle *t)
{
	size_t v;

	pthread_mutex_lock(&t->mu);
	v = t->nentries;
	pthread_mutex_unlock(&t->mu);
	return v;
}
