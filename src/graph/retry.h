/*
 * The retry policy of the Graph client as pure functions: given what went
 * wrong, how often it already went wrong and what the server suggested, say
 * whether to try again and after how long. No clock, no I/O, no randomness
 * of its own (the caller passes the jitter), so every case is unit-tested.
 */
#ifndef CV_GRAPH_RETRY_H
#define CV_GRAPH_RETRY_H

#include <time.h>

/* Graph's throttling guidance: keep using Retry-After on each new 429, so
 * 429s get a larger budget than other failures. Attempts, not retries. */
#define RETRY_MAX_THROTTLED_ATTEMPTS 8
#define RETRY_MAX_ERROR_ATTEMPTS 5
#define RETRY_BACKOFF_BASE_S 1.0    /* first backoff without Retry-After */
#define RETRY_BACKOFF_CAP_S 60.0    /* no single backoff longer than this */
#define RETRY_AFTER_MAX_S 300.0     /* clamp for absurd Retry-After values */

enum retry_cause {
	RETRY_THROTTLED,   /* 429 */
	RETRY_UNAVAILABLE, /* 503, 504 */
	RETRY_SERVER,      /* 500, 502 */
	RETRY_NETWORK,     /* resolve, connect, reset, timeout, partial body */
	RETRY_BAD_BODY,    /* a 2xx answer whose JSON did not parse */
};

/* Per-request counters; start zeroed. */
struct retry_state {
	int attempts;  /* attempts that failed so far, of any kind */
	int throttled; /* of which answered 429 */
	int errors;    /* of which failed otherwise */
};

/* Record one failed attempt and decide. retry_after is the server's
 * suggestion in seconds (< 0 when absent); jitter01 is a number in [0, 1).
 * Returns 1 and sets *delay_s to retry, 0 when the budget is spent. */
int retry_decide(struct retry_state *st, enum retry_cause cause, double retry_after,
		 double jitter01, double *delay_s);

/* Parse a Retry-After value: delta-seconds, possibly fractional ("2.128"),
 * or an HTTP-date (a date in the past gives 0). now is the wall clock.
 * Returns 0 and sets *seconds, or -1 when the value is unusable. */
int retry_parse_after(const char *value, time_t now, double *seconds);

/* A jitter value in [0, 1) from libgcrypt's weak random pool. */
double retry_jitter(void);

/* Map an HTTP status to a retry cause; -1 when the status is not retried. */
int retry_cause_of_status(long status);

#endif
