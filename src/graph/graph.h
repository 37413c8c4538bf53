/*
 * The Microsoft identity platform + Graph client.
 *
 * Two objects: a graph_tenant holds what is shared by every thread working on
 * one tenant (configuration, the cached token, the throttle buckets, request
 * counters) and is thread-safe; a graph_conn is one thread's connection (a
 * libcurl easy handle sharing DNS, TLS sessions and connections through a
 * process-wide share handle) and must not be used by two threads at once.
 *
 * graph_get() does everything a caller should not repeat: wait for a throttle
 * token, attach a fresh bearer token, send, and retry 429/503/504, resets and
 * truncated answers with backoff that honours Retry-After, then map what is
 * left to a CV_E* code and a message a helpdesk person can act on.
 */
#ifndef CV_GRAPH_GRAPH_H
#define CV_GRAPH_GRAPH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct cJSON;
struct cv_err;

enum graph_cred_kind { GRAPH_CRED_SECRET, GRAPH_CRED_CERT };
enum graph_jwt_alg { GRAPH_JWT_PS256, GRAPH_JWT_RS256 };

/* Everything needed to talk to one tenant. Strings are borrowed by
 * graph_tenant_new(), which copies them (secrets into secure memory). */
struct graph_config {
	const char *tenant_id;  /* GUID or domain */
	const char *client_id;
	enum graph_cred_kind kind;
	const char *secret;     /* GRAPH_CRED_SECRET */
	const char *cert_pem;   /* GRAPH_CRED_CERT: the X.509 certificate, PEM */
	const char *key_pem;    /* GRAPH_CRED_CERT: its RSA private key, PEM (PKCS#1 or PKCS#8) */
	enum graph_jwt_alg alg; /* PS256 with x5t#S256 (default), or RS256 with x5t */
	const char *login_url;  /* authority base, e.g. https://login.microsoftonline.com */
	const char *graph_url;  /* e.g. https://graph.microsoft.com */
};

/* Sovereign cloud name (global, usgov, usgovdod, china) to its base URLs.
 * Returns 0, or -1 for an unknown name. */
int graph_cloud_urls(const char *cloud, const char **login_url, const char **graph_url);

/* Call once before threads start (curl_global_init + the share handle). */
int graph_global_init(void);
void graph_global_cleanup(void);

/* Request classes, each with its own token bucket at Graph's documented
 * per-app-per-tenant Teams limits (graph-facts.md §5.2). */
enum graph_class {
	GRAPH_CLASS_CHAT_MESSAGES, /* GET /chats/{id}/messages, hosted contents: 20 rps, 1 rps per chat */
	GRAPH_CLASS_EXPORT,        /* getAllMessages and its delta: 200 rps */
	GRAPH_CLASS_LIST_CHATS,    /* GET /users/{id}/chats, get chat: 5 rps per user */
	GRAPH_CLASS_OTHER,         /* users, members, shares: 30 rps */
	GRAPH_CLASS_COUNT
};

struct graph_tenant;
struct graph_conn;

/* The caller owns the result. */
struct graph_tenant *graph_tenant_new(const struct graph_config *cfg);
void graph_tenant_free(struct graph_tenant **t);
/* Scale the token-bucket rates (1.0 = documented limits; tests and benchmarks
 * may lower or raise it). 0 disables client-side throttling. */
void graph_tenant_set_rate_scale(struct graph_tenant *t, double scale);
/* Multiply every retry wait (backoff and Retry-After) by scale (1.0 by
 * default). Only tests and benchmarks against the simulator lower it. */
void graph_tenant_set_retry_scale(struct graph_tenant *t, double scale);

struct graph_stats {
	uint64_t requests;   /* every HTTP request sent to Graph (not token requests) */
	uint64_t throttled;  /* answers 429 */
	uint64_t retries;    /* requests repeated for any reason */
	uint64_t failures;   /* requests that ended in an error after retries */
	uint64_t bytes;      /* response bytes received */
};
void graph_tenant_stats(struct graph_tenant *t, struct graph_stats *out);
/* Requests and 429s made since the last take, for the monthly usage table:
 * each is handed out once, whichever thread takes it. A caller that could
 * not record them returns them. */
void graph_tenant_take_usage(struct graph_tenant *t, uint64_t *requests, uint64_t *throttled);
void graph_tenant_return_usage(struct graph_tenant *t, uint64_t requests, uint64_t throttled);

/* Seconds until chat `resource` may be asked again at its per-chat limit
 * (0 if now): a caller with other work does that first instead of waiting. */
double graph_tenant_resource_wait(struct graph_tenant *t, const char *resource);

/* The caller owns the result; one per thread. */
struct graph_conn *graph_conn_new(void);
void graph_conn_free(struct graph_conn **c);

/* Observer told about each retry, so a job can show Retrying with a reason. */
typedef void (*graph_retry_fn)(void *ctx, int attempt, double delay_s, const char *reason);
void graph_conn_set_retry_observer(struct graph_conn *c, graph_retry_fn fn, void *ctx);
/* A flag the caller may set from another thread to abandon waits and
 * retries promptly (CV_ECANCELLED). */
void graph_conn_set_cancel_flag(struct graph_conn *c, const atomic_int *flag);

struct graph_request {
	const char *url;        /* absolute (a nextLink), or a path "/v1.0/..." under graph_url */
	enum graph_class cls;
	const char *resource;   /* per-chat bucket key, or NULL */
	const char *user;       /* per-user bucket key (list chats), or NULL */
	int prefer_unknown_enums; /* send Prefer: include-unknown-enum-members */
	size_t max_bytes;       /* cap on the answer; 0 means the default 64 MiB */
	int collection;         /* a page of a list: one without its value array is broken (set by graph_get_page) */
	/* Stream the body instead of buffering it (large files): called for each
	 * chunk of a 2xx answer; returning non-zero aborts. */
	int (*sink)(void *ctx, const void *p, size_t n);
	void *sink_ctx;
};

struct graph_response {
	long status;
	struct buf body;           /* empty when a sink was used */
	char content_type[128];
};

void graph_response_free(struct graph_response *r);

/* Obtain (or reuse) an access token. Used directly by Test & Save. */
int graph_token(struct graph_conn *c, struct graph_tenant *t, struct cv_err *e);

/* GET with throttling, auth, retries and error mapping. 0 means a 2xx answer
 * is in resp. Errors: CV_EAUTH, CV_EFORBIDDEN (message names the missing
 * permission), CV_EGONE (404), CV_EPAYMENT (402), CV_ENET, CV_ETLS,
 * CV_ETHROTTLED, CV_ESERVER, CV_EPROTO, CV_ETOOBIG, CV_ECANCELLED. */
int graph_get(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
	      struct graph_response *resp, struct cv_err *e);

/* graph_get + JSON parse. A body that is not valid JSON is retried like a
 * truncated answer, then CV_EPROTO. The caller owns *out (cJSON_Delete). */
int graph_get_json(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
		   struct cJSON **out, struct cv_err *e);

/* The URL a request goes to: a path "/v1.0/..." under graph_url, or an
 * absolute URL (a nextLink or deltaLink from an answer) only when it is on
 * graph_url's origin, or the bearer token would follow it elsewhere; NULL
 * with CV_EINVAL or CV_EPROTO otherwise. Characters a URL may not carry raw
 * are percent-encoded. The caller owns the result. */
char *graph_resolve_url(const char *graph_url, const char *url, struct cv_err *e);

/* Paging helpers on a parsed page: the "value" array (borrowed), and the
 * next/delta links (borrowed strings, or NULL). */
/* graph_get_json for one page of a list: an answer whose value is not an
 * array is fetched again like a cut one, then fails (CV_EPROTO), so a
 * broken page is never taken for an empty one. */
int graph_get_page(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
		   struct cJSON **out, struct cv_err *e);
struct cJSON *graph_page_value(struct cJSON *page);
const char *graph_page_next(struct cJSON *page);
const char *graph_page_delta(struct cJSON *page);

#endif
