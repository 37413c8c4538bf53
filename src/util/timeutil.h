/*
 * Time in chatvault is int64 milliseconds since the Unix epoch, UTC. Graph
 * sends ISO 8601 ("2021-03-28T20:48:29.832Z"); the parser is strict, because a
 * documented Graph example carries the malformed "2021-03-1706:47:05.123Z" and
 * we must reject it cleanly rather than guess.
 */
#ifndef CV_UTIL_TIMEUTIL_H
#define CV_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define ISO8601_LEN 32

/* Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". 0 or -1. */
int time_parse_iso8601(const char *s, int64_t *ms);
/* Parse a CLI date "YYYY-MM-DD" as 00:00:00 UTC that day. 0 or -1. */
int time_parse_date(const char *s, int64_t *ms);
/* Format as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least ISO8601_LEN). */
void time_format_iso8601(int64_t ms, char *out, size_t outlen);
/* Local-time "YYYY-MM-DD HH:MM" for people. */
void time_format_local(int64_t ms, char *out, size_t outlen);
int64_t time_now_ms(void);
/* Monotonic clock in milliseconds, for timeouts and rate limits. */
int64_t time_mono_ms(void);
/* Monotonic clock in seconds with sub-second precision. */
double time_mono_s(void);

#endif
