/* Unit tests for src/graph/throttle.c: token buckets, the tenant pause and
 * AIMD concurrency, all on a fake clock so every delay is exact. */
#include "config.h"

#include "tap.h"
#include "graph/throttle.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>

#define near(a, b) (fabs((a) - (b)) < 1e-9)
/* the client paces a little under each per-chat and per-user rate */
#define W(x) ((x) / THROTTLE_HEADROOM)

static double take(struct throttle *t, enum graph_class cls, const char *res, const char *user,
		   double now)
{
	struct throttle_ticket tk;
	double d = throttle_acquire(t, cls, res, user, now, &tk);

	if (d == 0)
		throttle_release(t, &tk, THROTTLE_OK, now);
	return d;
}

static void test_per_chat(void)
{
	struct throttle *t = throttle_new();
	double d;

	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "chatA", NULL, 100.0) == 0, "first request to a chat goes");
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "chatA", NULL, 100.0);
	ok(near(d, W(1.0)), "second to the same chat waits 1 s (1 rps per chat): %.6f", d);
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "chatA", NULL, 100.25);
	ok(near(d, W(1.0) - 0.25), "a quarter second later: 0.75 s left (%.6f)", d);
	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "chatB", NULL, 100.25) == 0, "another chat is not held up");
	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "chatA", NULL, 100.0 + W(1.0)) == 0, "after 1 s the chat may go again");
	/* the per-chat limit holds across request classes */
	d = take(t, GRAPH_CLASS_OTHER, "chatA", NULL, 100.0 + W(1.0));
	ok(near(d, W(1.0)), "a member listing of the same chat shares its bucket (%.6f)", d);
	d = throttle_resource_wait(t, "chatA", 100.0 + W(1.0) + 0.5);
	ok(near(d, W(1.0) - 0.5), "the chat's own wait, asked without taking: %.6f", d);
	ok(throttle_resource_wait(t, "chatA", 100.0 + W(1.0) + 0.5) == d, "asking takes no token");
	ok(throttle_resource_wait(t, "chatC", 100.0) == 0, "a chat never asked has no wait");
	throttle_set_scale(t, 0);
	ok(throttle_resource_wait(t, "chatA", 100.0 + W(1.0)) == 0, "nor any chat with the limits off");
	throttle_free(&t);
	ok(t == NULL, "throttle_free NULLs");
}

static void test_class_rates(void)
{
	struct throttle *t = throttle_new();
	double d;

	/* 20 rps per tenant for chat messages, evenly paced (no burst) */
	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "chat1", NULL, 5.0) == 0, "chat messages: first goes");
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "chat2", NULL, 5.0);
	ok(near(d, 0.05), "another chat waits 1/20 s for the tenant bucket (%.6f)", d);
	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "chat2", NULL, 5.0 + 0.05) == 0, "granted 50 ms later");
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "chat3", NULL, 5.0 + 0.075);
	ok(near(d, 0.025), "25 ms into the next interval: 25 ms left (%.6f)", d);

	/* export: 200 rps */
	ok(take(t, GRAPH_CLASS_EXPORT, NULL, NULL, 5.0) == 0, "getAllMessages: first goes");
	d = take(t, GRAPH_CLASS_EXPORT, NULL, NULL, 5.0);
	ok(near(d, 0.005), "then one every 5 ms (%.6f)", d);
	ok(take(t, GRAPH_CLASS_OTHER, NULL, NULL, 5.0) == 0, "classes have separate buckets");
	d = take(t, GRAPH_CLASS_OTHER, NULL, NULL, 5.0);
	ok(near(d, 1.0 / 30), "other: 30 rps (%.6f)", d);

	/* list chats: 30 rps per tenant and 5 rps per user */
	ok(take(t, GRAPH_CLASS_LIST_CHATS, NULL, "u1", 7.0) == 0, "list chats u1");
	d = take(t, GRAPH_CLASS_LIST_CHATS, NULL, "u1", 7.0);
	ok(near(d, W(0.2)), "same user again: 1/5 s (%.6f)", d);
	d = take(t, GRAPH_CLASS_LIST_CHATS, NULL, "u2", 7.0);
	ok(near(d, 1.0 / 30), "another user only waits for the tenant bucket (%.6f)", d);
	ok(take(t, GRAPH_CLASS_LIST_CHATS, NULL, "u2", 7.0 + 1.0 / 30) == 0, "and then goes");
	ok(take(t, GRAPH_CLASS_EXPORT, NULL, "u1", 8.0) == 0 && take(t, GRAPH_CLASS_EXPORT, NULL, "u1", 8.0 + 0.005) == 0,
	   "the per-user bucket applies to list chats only");
	throttle_free(&t);
}

static void test_scale(void)
{
	struct throttle *t = throttle_new();
	int i, granted = 0;
	double d;

	throttle_set_scale(t, 0.5);
	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "c", NULL, 0.0) == 0, "scale 0.5: first goes");
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "c", NULL, 0.0);
	ok(near(d, W(2.0)), "scale 0.5: per-chat interval is 2 s (%.6f)", d);

	throttle_set_scale(t, 0);
	for (i = 0; i < 1000; i++)
		if (take(t, GRAPH_CLASS_CHAT_MESSAGES, "c", NULL, 0.0) == 0)
			granted++;
	is_int(granted, 1000, "scale 0: no client-side limit");
	throttle_pause(t, 3.0);
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "c", NULL, 1.0);
	ok(near(d, 2.0), "scale 0 still honours a pause after 429 (%.6f)", d);
	throttle_free(&t);
}

static void test_pause(void)
{
	struct throttle *t = throttle_new();
	double d;

	throttle_pause(t, 12.5);
	d = take(t, GRAPH_CLASS_EXPORT, NULL, NULL, 10.0);
	ok(near(d, 2.5), "tenant paused until Retry-After: 2.5 s (%.6f)", d);
	d = take(t, GRAPH_CLASS_OTHER, "x", NULL, 11.0);
	ok(near(d, 1.5), "every class waits (%.6f)", d);
	throttle_pause(t, 11.0);
	d = take(t, GRAPH_CLASS_OTHER, "x", NULL, 11.0);
	ok(near(d, 1.5), "an earlier pause does not shorten a later one (%.6f)", d);
	ok(take(t, GRAPH_CLASS_EXPORT, NULL, NULL, 12.5) == 0, "at the pause end requests go");
	throttle_free(&t);
}

static double clk; /* each use a millisecond later */
#define NOW (clk += 0.001)

static void test_aimd(void)
{
	struct throttle *t = throttle_new();
	struct throttle_ticket tk[THROTTLE_CONC_MAX + 1], late, x;
	double d, sent_before;
	int i;

	throttle_set_scale(t, 100); /* buckets out of the way */
	is_int(throttle_limit(t), THROTTLE_CONC_START, "starts at %d in flight", THROTTLE_CONC_START);
	for (i = 0; i < THROTTLE_CONC_START; i++)
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &tk[i]);
	is_int(throttle_inflight(t), THROTTLE_CONC_START, "all slots taken");
	d = throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &x);
	ok(near(d, THROTTLE_POLL_S) && !x.held, "one more must wait a poll interval (%.6f)", d);

	throttle_release(t, &tk[0], THROTTLE_OVERLOAD, NOW);
	is_int(throttle_limit(t), THROTTLE_CONC_START / 2, "a 429 halves the limit");
	throttle_release(t, &tk[1], THROTTLE_OVERLOAD, NOW);
	is_int(throttle_limit(t), THROTTLE_CONC_START / 2, "answers sent before the decrease do not halve again");
	for (i = 2; i < THROTTLE_CONC_START; i++)
		throttle_release(t, &tk[i], THROTTLE_OK, NOW);
	is_int(throttle_inflight(t), 0, "all released");

	ok(throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &late) == 0, "new request");
	throttle_release(t, &late, THROTTLE_OVERLOAD, NOW);
	is_int(throttle_limit(t), THROTTLE_CONC_START / 4, "a 429 on a request sent after the decrease halves again");
	for (i = 0; i < 10; i++) {
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &late);
		throttle_release(t, &late, THROTTLE_OVERLOAD, NOW);
	}
	is_int(throttle_limit(t), THROTTLE_CONC_MIN, "never below %d", THROTTLE_CONC_MIN);
	sent_before = NOW;
	ok(throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, sent_before, &tk[0]) == 0, "one slot");
	ok(throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &tk[1]) > 0, "but not two");
	throttle_release(t, &tk[0], THROTTLE_OK, NOW);
	for (i = 0; i < THROTTLE_GROW_AFTER - 1; i++) {
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &late);
		throttle_release(t, &late, THROTTLE_OK, NOW);
	}
	is_int(throttle_limit(t), THROTTLE_CONC_MIN + 1, "grows by one after %d successes", THROTTLE_GROW_AFTER);
	for (i = 0; i < THROTTLE_GROW_AFTER * 100; i++) {
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, NOW, &late);
		throttle_release(t, &late, THROTTLE_OK, NOW);
	}
	is_int(throttle_limit(t), THROTTLE_CONC_MAX, "capped at %d", THROTTLE_CONC_MAX);
	throttle_release(t, &x, THROTTLE_OK, NOW); /* never granted: ignored */
	is_int(throttle_inflight(t), 0, "releasing an ungranted ticket changes nothing");
	throttle_free(&t);
}

static void test_pace(void)
{
	struct throttle *t = throttle_new();
	struct throttle_ticket a, b;
	double d, now = 10.0;
	int i;

	ok(throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, now, &a) == 0, "an export request");
	ok(throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, now + 0.005, &b) == 0, "and one 5 ms later");
	throttle_release(t, &a, THROTTLE_OVERLOAD, now + 0.01);
	ok(near(throttle_pace(t, GRAPH_CLASS_EXPORT), THROTTLE_PACE_CUT), "a 429 slows the class to %.2f of its rate",
	   throttle_pace(t, GRAPH_CLASS_EXPORT));
	throttle_release(t, &b, THROTTLE_OVERLOAD, now + 0.01);
	ok(near(throttle_pace(t, GRAPH_CLASS_EXPORT), THROTTLE_PACE_CUT),
	   "a 429 to a request sent before the cut does not cut again");
	ok(near(throttle_pace(t, GRAPH_CLASS_OTHER), 1.0), "other classes keep their pace");
	ok(take(t, GRAPH_CLASS_EXPORT, NULL, NULL, 20.0) == 0, "after a pause the class goes");
	/* (that success won back one step) */
	d = take(t, GRAPH_CLASS_EXPORT, NULL, NULL, 20.0);
	ok(near(d, 0.005 / (THROTTLE_PACE_CUT + THROTTLE_PACE_STEP)), "its requests are spaced about 1/%.2f wider (%.6f)",
	   THROTTLE_PACE_CUT, d);
	now = 30.0;
	for (i = 0; i < 100; i++, now += 1.0) { /* 0.98^100 < 0.5 */
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, now, &a);
		throttle_release(t, &a, THROTTLE_OVERLOAD, now);
	}
	ok(near(throttle_pace(t, GRAPH_CLASS_EXPORT), THROTTLE_PACE_MIN), "never under %.1f of the rate",
	   THROTTLE_PACE_MIN);
	for (i = 0; i < 100; i++, now += 1.0) {
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, now, &a);
		throttle_release(t, &a, THROTTLE_OK, now);
	}
	ok(near(throttle_pace(t, GRAPH_CLASS_EXPORT), THROTTLE_PACE_MIN + 100 * THROTTLE_PACE_STEP),
	   "each success wins back %.5f", THROTTLE_PACE_STEP);
	for (i = 0; i < (int)(1.0 / THROTTLE_PACE_STEP); i++, now += 1.0) {
		throttle_acquire(t, GRAPH_CLASS_EXPORT, NULL, NULL, now, &a);
		throttle_release(t, &a, THROTTLE_OK, now);
	}
	ok(near(throttle_pace(t, GRAPH_CLASS_EXPORT), 1.0), "up to the full rate, no further");
	throttle_free(&t);
}

static void test_eviction(void)
{
	struct throttle *t = throttle_new();
	char name[32];
	size_t peak = 0;
	int i, all_ok = 1;
	double d;

	/* 5000 chats, one request each, 0.1 s apart: idle buckets (full again
	 * after 1 s) are dropped, so the table stays small */
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "19:chat%d@thread.v2", i);
		if (take(t, GRAPH_CLASS_CHAT_MESSAGES, name, NULL, i * 0.1) != 0)
			all_ok = 0;
		if (throttle_entries(t) > peak)
			peak = throttle_entries(t);
	}
	ok(all_ok, "every new chat went at once");
	ok(peak <= 1024, "table bounded (peak %zu entries)", peak);
	d = take(t, GRAPH_CLASS_CHAT_MESSAGES, "19:chat4999@thread.v2", NULL, 4999 * 0.1);
	ok(near(d, W(1.0)), "a recent chat kept its state (%.6f)", d);
	ok(take(t, GRAPH_CLASS_CHAT_MESSAGES, "19:chat0@thread.v2", NULL, 4999 * 0.1 + 0.05) == 0,
	   "an evicted chat starts full, as it would have been");
	throttle_free(&t);
}

struct hammer {
	struct throttle *t;
	int n;
};

static void *hammer_run(void *p)
{
	struct hammer *h = p;
	struct throttle_ticket tk;
	char name[16];
	int i;

	for (i = 0; i < h->n; i++) {
		snprintf(name, sizeof name, "c%d", i % 50);
		if (throttle_acquire(h->t, (enum graph_class)(i % GRAPH_CLASS_COUNT), name, "u", (double)i, &tk) == 0)
			throttle_release(h->t, &tk, i % 97 == 0 ? THROTTLE_OVERLOAD : THROTTLE_OK, (double)i);
	}
	return NULL;
}

static void test_threads(void)
{
	struct hammer h = {throttle_new(), 20000};
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer_run, &h);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	is_int(throttle_inflight(h.t), 0, "4 threads x 20000 acquire/release: nothing left in flight");
	ok(throttle_limit(h.t) >= THROTTLE_CONC_MIN && throttle_limit(h.t) <= THROTTLE_CONC_MAX, "limit in range");
	throttle_free(&h.t);
}

int main(void)
{
	test_per_chat();
	test_class_rates();
	test_scale();
	test_pause();
	test_aimd();
	test_pace();
	test_eviction();
	test_threads();
	return tap_done();
}
