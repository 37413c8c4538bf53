/*
 * The Graph client's public face (graph.h): tenants, per-thread connections
 * and graph_get(), which strings together throttle (throttle.c), sign-in
 * (auth.c), one HTTP exchange (http.c), the retry policy (retry.c) and the
 * error sentences (errors.c). Graph facts relied on are cited where used.
 */
#include "config.h"

#include "graph/graph.h"
#include "graph/auth.h"
#include "graph/errors.h"
#include "graph/http.h"
#include "graph/retry.h"
#include "graph/throttle.h"
#include "graph/wait.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <gcrypt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct graph_tenant {
	struct auth *auth;
	struct throttle *throttle;
	char *graph_url; /* without a trailing slash */
	char *tenant_id, *client_id;
	_Atomic double retry_scale;
	atomic_uint_fast64_t requests, throttled, retries, failures, bytes;
	atomic_uint_fast64_t uncharged, uncharged_throttled; /* not yet in the usage table */
};

struct graph_conn {
	struct http_conn *http;
	graph_retry_fn observer;
	void *observer_ctx;
	const atomic_int *cancel;
};

static const struct {
	const char *name, *login, *graph;
} clouds[] = {
	/* national cloud endpoints (Microsoft Graph "national cloud deployments") */
	{"global", "https://login.microsoftonline.com", "https://graph.microsoft.com"},
	{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"},
	{"usgovdod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"},
	{"china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"},
};

int graph_cloud_urls(const char *cloud, const char **login_url, const char **graph_url)
{
	size_t i;

	for (i = 0; cloud != NULL && i < sizeof clouds / sizeof clouds[0]; i++)
		if (strcmp(cloud, clouds[i].name) == 0) {
			*login_url = clouds[i].login;
			*graph_url = clouds[i].graph;
			return 0;
		}
	return -1;
}

int graph_global_init(void)
{
	/* libgcrypt is shared with the store; whoever comes first sets it up.
	 * Secure memory holds client secrets, private keys and tokens. */
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		if (gcry_check_version(GCRYPT_VERSION) == NULL)
			return CV_EFAIL;
		gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
		gcry_control(GCRYCTL_INIT_SECMEM, 256 * 1024, 0);
		gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	return http_global_init();
}

void graph_global_cleanup(void)
{
	http_global_cleanup();
}

static char *strip_slash(const char *s)
{
	char *r = xstrdup(s ? s : "");
	size_t n = strlen(r);

	while (n > 0 && r[n - 1] == '/')
		r[--n] = '\0';
	return r;
}

struct graph_tenant *graph_tenant_new(const struct graph_config *cfg)
{
	struct graph_tenant *t = xcalloc(1, sizeof *t);

	t->auth = auth_new(cfg);
	t->throttle = throttle_new();
	t->graph_url = strip_slash(cfg->graph_url);
	t->tenant_id = xstrdup(cfg->tenant_id ? cfg->tenant_id : "");
	t->client_id = xstrdup(cfg->client_id ? cfg->client_id : "");
	atomic_init(&t->retry_scale, 1.0);
	return t;
}

void graph_tenant_free(struct graph_tenant **tp)
{
	struct graph_tenant *t = *tp;

	if (t == NULL)
		return;
	auth_free(&t->auth);
	throttle_free(&t->throttle);
	free(t->graph_url);
	free(t->tenant_id);
	free(t->client_id);
	free(t);
	*tp = NULL;
}

void graph_tenant_set_rate_scale(struct graph_tenant *t, double scale)
{
	throttle_set_scale(t->throttle, scale);
}

void graph_tenant_set_retry_scale(struct graph_tenant *t, double scale)
{
	atomic_store(&t->retry_scale, scale >= 0 ? scale : 1.0);
}

double graph_tenant_resource_wait(struct graph_tenant *t, const char *resource)
{
	return throttle_resource_wait(t->throttle, resource, time_mono_s());
}

void graph_tenant_stats(struct graph_tenant *t, struct graph_stats *out)
{
	out->requests = atomic_load(&t->requests);
	out->throttled = atomic_load(&t->throttled);
	out->retries = atomic_load(&t->retries);
	out->failures = atomic_load(&t->failures);
	out->bytes = atomic_load(&t->bytes);
}

void graph_tenant_take_usage(struct graph_tenant *t, uint64_t *requests, uint64_t *throttled)
{
	*requests = atomic_exchange(&t->uncharged, 0);
	*throttled = atomic_exchange(&t->uncharged_throttled, 0);
}

void graph_tenant_return_usage(struct graph_tenant *t, uint64_t requests, uint64_t throttled)
{
	atomic_fetch_add(&t->uncharged, requests);
	atomic_fetch_add(&t->uncharged_throttled, throttled);
}

struct graph_conn *graph_conn_new(void)
{
	struct graph_conn *c = xcalloc(1, sizeof *c);

	c->http = http_conn_new();
	return c;
}

void graph_conn_free(struct graph_conn **cp)
{
	struct graph_conn *c = *cp;

	if (c == NULL)
		return;
	http_conn_free(&c->http);
	free(c);
	*cp = NULL;
}

void graph_conn_set_retry_observer(struct graph_conn *c, graph_retry_fn fn, void *ctx)
{
	c->observer = fn;
	c->observer_ctx = ctx;
}

void graph_conn_set_cancel_flag(struct graph_conn *c, const atomic_int *flag)
{
	c->cancel = flag;
	http_conn_set_cancel_flag(c->http, flag);
}

void graph_response_free(struct graph_response *r)
{
	buf_free(&r->body);
	r->status = 0;
	r->content_type[0] = '\0';
}

static void auth_io_of(struct graph_conn *c, struct graph_tenant *t, struct auth_io *io)
{
	io->http = c->http;
	io->cancel = c->cancel;
	io->observer = c->observer;
	io->observer_ctx = c->observer_ctx;
	io->retry_scale = atomic_load(&t->retry_scale);
}

int graph_token(struct graph_conn *c, struct graph_tenant *t, struct cv_err *e)
{
	struct auth_io io;
	char *header = NULL;
	unsigned gen;
	int rc;

	auth_io_of(c, t, &io);
	rc = auth_header(t->auth, &io, &header, &gen, e);
	auth_header_free(&header);
	return rc;
}

/* Percent-encode what may not appear raw in a URL (spaces in a hand-built
 * "$filter=lastModifiedDateTime gt ...", quotes, controls); '%' stays, so
 * nextLinks that Graph already encoded pass unchanged. */
static char *url_fixup(const char *url)
{
	struct buf b = BUF_INIT;
	const unsigned char *p;

	for (p = (const unsigned char *)url; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}", *p) != NULL)
			buf_printf(&b, "%%%02X", *p);
		else
			buf_append_char(&b, (char)*p);
	}
	return buf_steal(&b);
}

char *graph_resolve_url(const char *graph_url, const char *url, struct cv_err *e)
{
	char *host, *fixed;

	if (url == NULL || url[0] == '\0') {
		err_set(e, CV_EINVAL, _("no URL given for a Microsoft Graph request"));
		return NULL;
	}
	if (url[0] == '/') {
		fixed = url_fixup(url);
		host = xasprintf("%s%s", graph_url, fixed);
		free(fixed);
		return host;
	}
	if (http_same_origin(url, graph_url))
		return url_fixup(url);
	host = http_url_host(url);
	err_set(e, CV_EPROTO, _("refusing to send the access token to %s, which is not the Microsoft Graph "
				"address configured for this tenant"),
		host);
	free(host);
	return NULL;
}

/* Wait for the throttle to let one request through. */
static int throttle_wait(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
			 struct throttle_ticket *tk, struct cv_err *e)
{
	double d;

	while ((d = throttle_acquire(t->throttle, req->cls, req->resource, req->user, time_mono_s(), tk)) > 0)
		if (wait_cancellable(d, c->cancel) != 0)
			return err_set(e, CV_ECANCELLED, _("request cancelled"));
	return 0;
}

/* Everything graph_get and graph_get_json share; *json is set when want_json. */
static int do_get(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
		  struct graph_response *resp, cJSON **json, struct cv_err *e)
{
	struct retry_state rs = {0, 0, 0};
	struct errors_ctx ectx = {t->client_id, t->tenant_id, auth_thumbprint(t->auth), NULL};
	struct http_response hr;
	struct auth_io io;
	char *url, *host = NULL, *auth_hdr = NULL;
	int auth_retried = 0, rc;
	struct cv_err local;

	if (e == NULL) /* the retry reasons are built from the message */
		e = &local;
	resp->status = 0;
	buf_init(&resp->body);
	resp->content_type[0] = '\0';
	if (json != NULL)
		*json = NULL;
	url = graph_resolve_url(t->graph_url, req->url, e);
	if (url == NULL) {
		atomic_fetch_add(&t->failures, 1);
		return e->code;
	}
	host = http_url_host(url);
	ectx.host = host;
	http_response_init(&hr);
	auth_io_of(c, t, &io);

	for (;;) {
		const char *headers[4];
		struct http_request rq = {0};
		struct throttle_ticket tk;
		unsigned gen = 0;
		double delay, ra = -1;
		int cause, nh = 0;
		char reason[sizeof e->msg + 64];

		rc = throttle_wait(c, t, req, &tk, e);
		if (rc != 0)
			break;
		rc = auth_header(t->auth, &io, &auth_hdr, &gen, e);
		if (rc != 0) {
			throttle_release(t->throttle, &tk, THROTTLE_OK, time_mono_s());
			break;
		}
		headers[nh++] = auth_hdr;
		headers[nh++] = "Accept: application/json";
		/* makes messageType come back as systemEventMessage instead of
		 * unknownFutureValue (graph-facts.md §3.3) */
		if (req->prefer_unknown_enums)
			headers[nh++] = "Prefer: include-unknown-enum-members";
		headers[nh] = NULL;
		rq.url = url;
		rq.headers = headers;
		rq.secret_headers = 1;
		rq.max_bytes = req->max_bytes;
		rq.sink = req->sink;
		rq.sink_ctx = req->sink_ctx;

		rc = http_perform(c->http, &rq, &hr, e);
		auth_header_free(&auth_hdr);
		atomic_fetch_add(&t->requests, 1);
		atomic_fetch_add(&t->uncharged, 1);
		atomic_fetch_add(&t->bytes, hr.received);
		throttle_release(t->throttle, &tk,
				 rc == 0 && (hr.status == 429 || hr.status == 503 || hr.status == 504)
					 ? THROTTLE_OVERLOAD
					 : THROTTLE_OK,
				 time_mono_s());

		if (rc == CV_ENET && hr.sunk == 0) {
			cause = RETRY_NETWORK;
		} else if (rc != 0) {
			break; /* TLS, too big, cancelled, a sink that already has data */
		} else if (hr.status >= 200 && hr.status < 300) {
			if (json == NULL || req->sink != NULL)
				break;
			*json = cJSON_ParseWithLength(buf_str(&hr.body), hr.body.len);
			if (*json != NULL && (!req->collection || graph_page_value(*json) != NULL))
				break;
			/* a cut or garbled page: fetch it again */
			if (*json != NULL) {
				cJSON_Delete(*json);
				*json = NULL;
				rc = err_set(e, CV_EPROTO, _("the answer from %s is a page without its list of items"),
					     host);
			} else {
				rc = err_set(e, CV_EPROTO, _("the answer from %s is not valid JSON (cut short?)"), host);
			}
			cause = RETRY_BAD_BODY;
		} else if (hr.status == 401 && !auth_retried) {
			/* the token was revoked or expired early: one new token,
			 * one more try; a second 401 is a real refusal */
			auth_invalidate(t->auth, gen);
			auth_retried = 1;
			atomic_fetch_add(&t->retries, 1);
			if (c->observer != NULL)
				c->observer(c->observer_ctx, rs.attempts + 1, 0.0,
					    _("access token refused (401), signing in again"));
			continue;
		} else if ((cause = retry_cause_of_status(hr.status)) < 0) {
			rc = errors_graph(hr.status, buf_str(&hr.body), &ectx, e);
			break;
		} else {
			ra = hr.retry_after;
			rc = errors_graph(hr.status, buf_str(&hr.body), &ectx, e);
			if (hr.status == 429) {
				atomic_fetch_add(&t->throttled, 1);
				atomic_fetch_add(&t->uncharged_throttled, 1);
			}
		}

		if (!retry_decide(&rs, (enum retry_cause)cause, ra, retry_jitter(), &delay)) {
			if (rc == CV_ENET || rc == CV_EPROTO)
				err_prefix(e, P_("after %d attempt", "after %d attempts", rs.attempts),
					   rs.attempts);
			break;
		}
		delay *= atomic_load(&t->retry_scale);
		if (cause == RETRY_THROTTLED) {
			/* Graph keeps counting while a client is throttled: hold
			 * the whole tenant, not just this request (§5.1) */
			throttle_pause(t->throttle, time_mono_s() + delay);
			snprintf(reason, sizeof reason, _("throttled by Microsoft Graph (429), waiting %.1f s"), delay);
		} else if (cause == RETRY_UNAVAILABLE || cause == RETRY_SERVER) {
			snprintf(reason, sizeof reason, _("server error %ld, waiting %.1f s"), hr.status, delay);
		} else {
			snprintf(reason, sizeof reason, _("%s, waiting %.1f s"), e->msg, delay);
		}
		atomic_fetch_add(&t->retries, 1);
		if (c->observer != NULL)
			c->observer(c->observer_ctx, rs.attempts, delay, reason);
		if (wait_cancellable(delay, c->cancel) != 0) {
			rc = err_set(e, CV_ECANCELLED, _("request cancelled"));
			break;
		}
	}
	auth_header_free(&auth_hdr);
	if (rc == 0) {
		resp->status = hr.status;
		memcpy(resp->content_type, hr.content_type, sizeof resp->content_type);
		resp->body = hr.body; /* hand the buffer over */
		buf_init(&hr.body);
	} else {
		atomic_fetch_add(&t->failures, 1);
		if (json != NULL) {
			cJSON_Delete(*json);
			*json = NULL;
		}
	}
	http_response_free(&hr);
	free(host);
	free(url);
	return rc;
}

int graph_get(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
	      struct graph_response *resp, struct cv_err *e)
{
	return do_get(c, t, req, resp, NULL, e);
}

int graph_get_json(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
		   struct cJSON **out, struct cv_err *e)
{
	struct graph_response resp;
	int rc = do_get(c, t, req, &resp, out, e);

	graph_response_free(&resp);
	return rc;
}

int graph_get_page(struct graph_conn *c, struct graph_tenant *t, const struct graph_request *req,
		   struct cJSON **out, struct cv_err *e)
{
	struct graph_request r = *req;

	r.collection = 1;
	return graph_get_json(c, t, &r, out, e);
}

struct cJSON *graph_page_value(struct cJSON *page)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(page, "value");

	return cJSON_IsArray(v) ? v : NULL;
}

static const char *page_link(struct cJSON *page, const char *name)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(page, name);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const char *graph_page_next(struct cJSON *page)
{
	/* "Follow @odata.nextLink ... until absent" (Learn graph/paging) */
	return page_link(page, "@odata.nextLink");
}

const char *graph_page_delta(struct cJSON *page)
{
	/* "a @odata.deltaLink signifies that the current round of change
	 * tracking is complete" (graph-facts.md §4.3) */
	return page_link(page, "@odata.deltaLink");
}
