/*
 * One HTTPS connection for one thread: a libcurl easy handle with the safety
 * settings a Graph client needs (https only, no redirects, timeouts, a cap on
 * the body counted as it arrives, verification always on), sharing DNS and
 * TLS sessions process-wide. It sends one request and reports what came back
 * or which kind of failure stopped it; it never retries.
 */
#ifndef CV_GRAPH_HTTP_H
#define CV_GRAPH_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#include "util/buf.h"

struct cv_err;

#define HTTP_CONNECT_TIMEOUT_S 10
#define HTTP_LOW_SPEED_TIME_S 30   /* abort below 1 byte/s for this long */
#define HTTP_DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define HTTP_ERROR_BODY_MAX ((size_t)1 << 20) /* error answers when streaming */

struct http_conn;

struct http_request {
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const char *post;           /* x-www-form-urlencoded body; NULL for GET */
	size_t post_len;
	size_t max_bytes;           /* 0: HTTP_DEFAULT_MAX_BYTES */
	/* Receives the body of a 2xx answer instead of `body`; non-zero aborts. */
	int (*sink)(void *ctx, const void *p, size_t n);
	void *sink_ctx;
	int secret_headers;         /* headers hold a secret: wipe curl's copies */
	size_t body_reserve;        /* grow the body buffer once up front (a secret answer
	                               then leaves no stale copies behind) */
};

struct http_response {
	long status;
	struct buf body;
	char content_type[128];
	double retry_after; /* seconds; < 0 when the header was absent or unusable */
	size_t received;    /* body bytes received (decoded), sink or not */
	size_t sunk;        /* of which handed to the sink */
};

/* Process-wide: curl_global_init and the share handle. Before threads. */
int http_global_init(void);
void http_global_cleanup(void);

/* The caller owns the result. */
struct http_conn *http_conn_new(void);
void http_conn_free(struct http_conn **c);
/* Tighter limits for tests; 0 keeps the default. */
void http_conn_set_timeouts(struct http_conn *c, long connect_s, long low_speed_s);
void http_conn_set_cancel_flag(struct http_conn *c, const atomic_int *flag);

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/* Send rq and fill rs (which is reset first). 0 when an HTTP answer of any
 * status came back; otherwise CV_ENET (transient: resolve, connect, reset,
 * timeout, truncated), CV_ETLS, CV_ETOOBIG, CV_ECANCELLED, CV_EINVAL (bad or
 * non-https URL), CV_EPROTO (undecodable answer), CV_EIO (the sink refused). */
int http_perform(struct http_conn *c, const struct http_request *rq, struct http_response *rs,
		 struct cv_err *e);

/* The host part of a URL for messages ("graph.microsoft.com"), sanitised
 * and at most 255 bytes of it; the caller owns the result. */
char *http_url_host(const char *url);

/* Do two absolute URLs have the same scheme, host and port? (A bearer
 * token is only ever sent to the configured Graph origin.) */
int http_same_origin(const char *a, const char *b);

#endif
