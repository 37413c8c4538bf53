/*
 * Retry policy for Graph requests. Microsoft's throttling guidance: "Wait the
 * number of seconds specified in the Retry-After header", and "If no
 * Retry-After header is provided ... implementing an exponential backoff retry
 * policy" (graph-facts.md §5.1). We back off exponentially with full jitter.
 */
#include "config.h"

#include "graph/retry.h"

#include <curl/curl.h>
#include <gcrypt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int retry_cause_of_status(long status)
{
	switch (status) {
	case 429:
		return RETRY_THROTTLED;
	case 503:
	case 504:
		return RETRY_UNAVAILABLE;
	case 500:
	case 502:
		/* Not retried by the Graph SDKs, but GETs are idempotent and
		 * Graph's 500/502 on chats are usually transient. */
		return RETRY_SERVER;
	default:
		return -1;
	}
}

int retry_decide(struct retry_state *st, enum retry_cause cause, double retry_after,
		 double jitter01, double *delay_s)
{
	double backoff;
	int n;

	st->attempts++;
	if (cause == RETRY_THROTTLED) {
		if (++st->throttled >= RETRY_MAX_THROTTLED_ATTEMPTS)
			return 0;
	} else if (++st->errors >= RETRY_MAX_ERROR_ATTEMPTS) {
		return 0;
	}

	if (retry_after >= 0 && isfinite(retry_after)) {
		*delay_s = retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : retry_after;
		return 1;
	}
	/* Exponential backoff over every failed attempt of this request,
	 * "full jitter": uniform in [0, backoff). */
	backoff = RETRY_BACKOFF_BASE_S;
	for (n = 1; n < st->attempts && backoff < RETRY_BACKOFF_CAP_S; n++)
		backoff *= 2;
	if (backoff > RETRY_BACKOFF_CAP_S)
		backoff = RETRY_BACKOFF_CAP_S;
	if (!(jitter01 >= 0) || jitter01 >= 1)
		jitter01 = 0.5;
	*delay_s = jitter01 * backoff;
	return 1;
}

int retry_parse_after(const char *value, time_t now, double *seconds)
{
	const char *p = value;
	char *end;
	double v;
	time_t when;

	if (value == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		/* delta-seconds; Graph has been seen sending "2.128". */
		v = strtod(p, &end);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end != '\0' || !isfinite(v) || v < 0)
			return -1;
		*seconds = v;
		return 0;
	}
	/* HTTP-date (RFC 9110 §10.2.3); a date in the past means now. */
	when = curl_getdate(p, NULL);
	if (when == (time_t)-1)
		return -1;
	*seconds = when > now ? (double)(when - now) : 0.0;
	return 0;
}

double retry_jitter(void)
{
	uint64_t r;

	gcry_randomize(&r, sizeof r, GCRY_WEAK_RANDOM);
	return (double)(r >> 11) / 9007199254740992.0; /* 53 bits -> [0, 1) */
}
