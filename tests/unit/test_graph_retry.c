/* Unit tests for src/graph/retry.c: Retry-After parsing and the retry
 * decision (Retry-After honoured and clamped, exponential backoff with full
 * jitter, bounded attempts). */
#include "config.h"

#include "tap.h"
#include "graph/graph.h"
#include "graph/retry.h"

#include <curl/curl.h>
#include <math.h>

#define near(a, b) (fabs((a) - (b)) < 1e-9)

static void test_parse(void)
{
	time_t now = curl_getdate("Sun, 06 Nov 1994 08:49:37 GMT", NULL);
	double s = -1;

	ok(retry_parse_after("7", now, &s) == 0 && near(s, 7), "whole seconds: 7");
	ok(retry_parse_after("2.128", now, &s) == 0 && near(s, 2.128), "fractional: 2.128 (Graph zh-CN sample)");
	ok(retry_parse_after(" 0.2\r\n", now, &s) == 0 && near(s, 0.2), "spaces and CRLF around 0.2");
	ok(retry_parse_after("0", now, &s) == 0 && s == 0, "zero");
	ok(retry_parse_after("Sun, 06 Nov 1994 08:49:47 GMT", now, &s) == 0 && near(s, 10), "HTTP-date 10 s ahead");
	ok(retry_parse_after("Sun, 06 Nov 1994 08:00:00 GMT", now, &s) == 0 && s == 0, "HTTP-date in the past: 0");
	ok(retry_parse_after("soon", now, &s) == -1, "garbage refused");
	ok(retry_parse_after("-3", now, &s) == -1, "negative refused");
	ok(retry_parse_after("5 s", now, &s) == -1, "trailing junk refused");
	ok(retry_parse_after("", now, &s) == -1, "empty refused");
	ok(retry_parse_after(NULL, now, &s) == -1, "NULL refused");
	ok(retry_parse_after("99999999999", now, &s) == 0 && s > RETRY_AFTER_MAX_S, "huge parsed (clamped later)");
}

static void test_status(void)
{
	is_int(retry_cause_of_status(429), RETRY_THROTTLED, "429 throttled");
	is_int(retry_cause_of_status(503), RETRY_UNAVAILABLE, "503 unavailable");
	is_int(retry_cause_of_status(504), RETRY_UNAVAILABLE, "504 unavailable");
	is_int(retry_cause_of_status(500), RETRY_SERVER, "500 server");
	is_int(retry_cause_of_status(502), RETRY_SERVER, "502 server");
	is_int(retry_cause_of_status(501), -1, "501 not retried (e.g. $select of aboutMe)");
	is_int(retry_cause_of_status(404), -1, "404 not retried");
	is_int(retry_cause_of_status(401), -1, "401 not retried here (auth refresh is separate)");
	is_int(retry_cause_of_status(200), -1, "200 not retried");
}

static void test_retry_after(void)
{
	struct retry_state st = {0, 0, 0};
	double d = -1;
	int i, n;

	ok(retry_decide(&st, RETRY_THROTTLED, 7, 0.5, &d) == 1 && near(d, 7), "Retry-After 7 honoured exactly");
	ok(retry_decide(&st, RETRY_THROTTLED, 2.128, 0.5, &d) == 1 && near(d, 2.128), "fractional honoured");
	ok(retry_decide(&st, RETRY_THROTTLED, 0, 0.5, &d) == 1 && d == 0, "a past date (0) retries at once");
	ok(retry_decide(&st, RETRY_THROTTLED, 1e9, 0.5, &d) == 1 && near(d, RETRY_AFTER_MAX_S),
	   "absurd Retry-After clamped to %.0f s", RETRY_AFTER_MAX_S);
	ok(retry_decide(&st, RETRY_THROTTLED, NAN, 0.25, &d) == 1 && d >= 0 && d <= RETRY_BACKOFF_CAP_S,
	   "NaN treated as absent (%.3f)", d);

	st = (struct retry_state){0, 0, 0};
	for (n = 0, i = 0; i < 100; i++) {
		if (!retry_decide(&st, RETRY_THROTTLED, 0.2, 0.5, &d))
			break;
		n++;
	}
	is_int(n, RETRY_MAX_THROTTLED_ATTEMPTS - 1, "429: %d retries, so %d attempts", RETRY_MAX_THROTTLED_ATTEMPTS - 1,
	       RETRY_MAX_THROTTLED_ATTEMPTS);
	is_int(st.attempts, RETRY_MAX_THROTTLED_ATTEMPTS, "attempt count");
}

static void test_backoff(void)
{
	struct retry_state st = {0, 0, 0};
	const double jit = 0.999;
	double d = -1, want = RETRY_BACKOFF_BASE_S;
	int i, ok_all = 1, n;

	/* absent Retry-After: full jitter in [0, base * 2^(n-1)) */
	for (i = 1; i < RETRY_MAX_ERROR_ATTEMPTS; i++) {
		if (!retry_decide(&st, RETRY_UNAVAILABLE, -1, jit, &d) || !near(d, jit * want))
			ok_all = 0;
		want *= 2;
	}
	ok(ok_all, "503 without Retry-After: 1, 2, 4, 8 s (times the jitter)");
	ok(retry_decide(&st, RETRY_UNAVAILABLE, -1, jit, &d) == 0, "503: gives up after %d attempts",
	   RETRY_MAX_ERROR_ATTEMPTS);

	st = (struct retry_state){0, 0, 0};
	ok(retry_decide(&st, RETRY_NETWORK, -1, 0.0, &d) == 1 && d == 0, "jitter 0 gives 0");
	st = (struct retry_state){0, 0, 0};
	ok(retry_decide(&st, RETRY_NETWORK, -1, 7.0, &d) == 1 && d >= 0 && d <= RETRY_BACKOFF_BASE_S,
	   "jitter out of range is tamed (%.3f)", d);

	/* 429s without Retry-After run into the 60 s cap */
	st = (struct retry_state){0, 0, 0};
	for (n = 0; retry_decide(&st, RETRY_THROTTLED, -1, jit, &d); n++)
		ok(d <= RETRY_BACKOFF_CAP_S, "429 retry %d without Retry-After: %.3f s", n + 1, d);
	ok(near(d, jit * RETRY_BACKOFF_CAP_S), "the last one is at the cap");

	/* errors and 429s have separate budgets in one request */
	st = (struct retry_state){0, 0, 0};
	for (i = 0; i < RETRY_MAX_ERROR_ATTEMPTS - 1; i++)
		retry_decide(&st, RETRY_NETWORK, -1, 0.1, &d);
	ok(retry_decide(&st, RETRY_THROTTLED, 1, 0.1, &d) == 1, "a 429 after 4 resets still retries");
	ok(retry_decide(&st, RETRY_BAD_BODY, -1, 0.1, &d) == 0, "but the 5th error ends it");
}

static void test_jitter(void)
{
	double sum = 0, lo = 1, hi = 0;
	int i;

	for (i = 0; i < 2000; i++) {
		double j = retry_jitter();

		sum += j;
		lo = j < lo ? j : lo;
		hi = j > hi ? j : hi;
	}
	ok(lo >= 0 && hi < 1, "jitter in [0, 1): %.4f..%.4f", lo, hi);
	ok(fabs(sum / 2000 - 0.5) < 0.05, "jitter mean near 0.5 (%.4f)", sum / 2000);
}

int main(void)
{
	graph_global_init();
	test_parse();
	test_status();
	test_retry_after();
	test_backoff();
	test_jitter();
	graph_global_cleanup();
	return tap_done();
}
