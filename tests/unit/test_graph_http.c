/* Unit tests for src/graph/http.c and graph_get() against a scripted local
 * server (tests/unit/fake_http.py): 429 with a fractional Retry-After, 503,
 * cut and invalid bodies, a redirect to file://, an endless body, a stalled
 * body, 401 with a token refresh, identity platform refusals, cancelling,
 * client-side throttling, threads, and requests per second on one
 * keep-alive connection. */
#include "config.h"

#include "tap.h"
#include "graph/graph.h"
#include "graph/http.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SECRET "s3cr&t=+ %"

static pid_t server_pid;
static int server_stdin = -1;
static char base[64];

static char *script_path(void)
{
	const char *src = getenv("CV_SRCDIR");
	const char *file = __FILE__, *slash;

	if (src != NULL && *src)
		return xasprintf("%s/tests/unit/fake_http.py", src);
	slash = strrchr(file, '/');
	if (slash == NULL)
		return xstrdup("tests/unit/fake_http.py");
	return xasprintf("%.*s/fake_http.py", (int)(slash - file), file);
}

static int start_server(void)
{
	int in[2], out[2];
	char port[16] = "";
	char *script = script_path();
	const char *py = getenv("PYTHON3") ? getenv("PYTHON3") : "python3";
	ssize_t n;
	size_t got = 0;

	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	server_pid = fork();
	if (server_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execlp(py, py, script, (char *)NULL);
		_exit(127);
	}
	free(script);
	close(in[0]);
	close(out[1]);
	server_stdin = in[1];
	while (got < sizeof port - 1 && (n = read(out[0], port + got, 1)) == 1 && port[got] != '\n')
		got++;
	port[got] = '\0';
	close(out[0]);
	if (atoi(port) <= 0)
		return -1;
	snprintf(base, sizeof base, "http://127.0.0.1:%d", atoi(port));
	return 0;
}

static void stop_server(void)
{
	int st;

	close(server_stdin);
	waitpid(server_pid, &st, 0);
}

static char *url(const char *path)
{
	return xasprintf("%s%s", base, path);
}

/* The server's own counters: how often a path (or a tenant's token
 * endpoint, "token:TENANT") was hit; "tokens" for all tokens issued. */
static int server_count(const char *key)
{
	struct http_conn *h = http_conn_new();
	struct http_response r;
	struct http_request rq = {0};
	char *u = url("/__stats");
	cJSON *j, *v;
	int n = -1;

	http_response_init(&r);
	rq.url = u;
	if (http_perform(h, &rq, &r, NULL) == 0 && (j = cJSON_Parse(buf_str(&r.body))) != NULL) {
		v = strcmp(key, "tokens") == 0 ? cJSON_GetObjectItem(j, "tokens")
					       : cJSON_GetObjectItem(cJSON_GetObjectItem(j, "hits"), key);
		n = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
		cJSON_Delete(j);
	}
	http_response_free(&r);
	http_conn_free(&h);
	free(u);
	return n;
}

/* ---- the HTTP layer ---------------------------------------------------- */

static int collect(void *ctx, const void *p, size_t n)
{
	buf_append(ctx, p, n);
	return 0;
}

static int refuse(void *ctx, const void *p, size_t n)
{
	return 1;
}

static void test_http_layer(void)
{
	struct http_conn *h = http_conn_new();
	struct http_response r;
	struct http_request rq = {0};
	static const char *const auth[] = {"Authorization: Bearer tok0", NULL};
	struct cv_err e = {0, ""};
	struct buf sunk = BUF_INIT;
	atomic_int cancel = 1;
	double t0;
	char *u;
	int rc;

	http_response_init(&r);
	rq.headers = auth;

	u = url("/__stats");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.status == 200, "plain GET over loopback http");
	is_str(r.content_type, "application/json", "Content-Type captured");
	ok(r.retry_after < 0, "no Retry-After");
	free(u);

	u = url("/v1.0/r429/http");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.status == 429 && r.retry_after > 0.1999 && r.retry_after < 0.2001,
	   "429 with Retry-After: 0.2 read as 0.2 s (%.3f)", r.retry_after);
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.status == 200 && r.retry_after < 0, "the next answer forgets it");
	free(u);

	u = url("/v1.0/redirect/http");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.status == 302 && r.body.len == 0, "redirect to file:///etc/passwd not followed (%ld)", r.status);
	free(u);

	u = url("/v1.0/endless/http");
	rq.url = u;
	rq.max_bytes = 1 << 20;
	t0 = time_mono_s();
	rc = http_perform(h, &rq, &r, &e);
	is_int(rc, CV_ETOOBIG, "endless body stopped at the cap: %s", e.msg);
	ok(r.received <= (size_t)1 << 20 && time_mono_s() - t0 < 5, "  no more than 1 MiB kept (%zu)", r.received);
	rq.max_bytes = 0;
	free(u);

	u = url("/v1.0/trunc/always");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	is_int(rc, CV_ENET, "Content-Length larger than the body: transient network error: %s", e.msg);
	free(u);

	u = url("/v1.0/stall/http");
	rq.url = u;
	http_conn_set_timeouts(h, 0, 1);
	t0 = time_mono_s();
	rc = http_perform(h, &rq, &r, &e);
	is_int(rc, CV_ENET, "a stalled body is aborted by the low-speed limit: %s", e.msg);
	ok(time_mono_s() - t0 < 4, "  within the limit (%.1f s)", time_mono_s() - t0);
	http_conn_set_timeouts(h, 0, HTTP_LOW_SPEED_TIME_S);
	free(u);

	u = url("/v1.0/gzip/http");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.status == 200 && strstr(buf_str(&r.body), "\"id\": \"z\"") != NULL,
	   "gzip answers are decoded (%zu bytes)", r.received);
	free(u);

	u = url("/v1.0/ok/sink");
	rq.url = u;
	rq.sink = collect;
	rq.sink_ctx = &sunk;
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.body.len == 0 && sunk.len > 0 && r.sunk == sunk.len, "a sink receives the 2xx body");
	rq.sink = refuse;
	free(u);
	u = url("/v1.0/ok/sink2");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	is_int(rc, CV_EIO, "a sink that refuses stops the transfer: %s", e.msg);
	rq.sink = collect;
	buf_reset(&sunk);
	free(u);
	u = url("/v1.0/forbidden/sink");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	ok(rc == 0 && r.status == 403 && sunk.len == 0 && strstr(buf_str(&r.body), "Chat.Read.All") != NULL,
	   "an error body goes to the response, not the sink");
	rq.sink = NULL;
	free(u);

	http_conn_set_cancel_flag(h, &cancel);
	u = url("/v1.0/ok/cancel");
	rq.url = u;
	rc = http_perform(h, &rq, &r, &e);
	is_int(rc, CV_ECANCELLED, "a raised cancel flag stops the transfer");
	http_conn_set_cancel_flag(h, NULL);
	free(u);

	rq.url = "http://example.com/v1.0/users";
	is_int(http_perform(h, &rq, &r, &e), CV_EINVAL, "plain http to a remote host refused: %s", e.msg);
	rq.url = "file:///etc/passwd";
	is_int(http_perform(h, &rq, &r, &e), CV_EINVAL, "file:// refused");
	rq.url = "ftp://127.0.0.1/x";
	is_int(http_perform(h, &rq, &r, &e), CV_EINVAL, "ftp:// refused");
	rq.url = "http://127.0.0.1:1/v1.0/users";
	is_int(http_perform(h, &rq, &r, &e), CV_ENET, "connection refused is a network error: %s", e.msg);

	ok(http_same_origin("https://graph.microsoft.com/v1.0/x", "HTTPS://Graph.Microsoft.com:443"),
	   "same origin: case and default port");
	ok(!http_same_origin("https://graph.microsoft.com.evil.com/v1.0", "https://graph.microsoft.com"),
	   "a look-alike host is another origin");
	ok(!http_same_origin("http://graph.microsoft.com/", "https://graph.microsoft.com"), "scheme matters");
	ok(!http_same_origin("garbage", "https://graph.microsoft.com"), "garbage is no origin");

	buf_free(&sunk);
	http_response_free(&r);
	http_conn_free(&h);
}

/* ---- graph_get ----------------------------------------------------------- */

struct seen {
	int calls;
	double last_delay;
	char reason[700];
};

static void observe(void *ctx, int attempt, double delay_s, const char *reason)
{
	struct seen *s = ctx;

	s->calls++;
	s->last_delay = delay_s;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
}

static struct graph_tenant *tenant(const char *id, const char *secret)
{
	struct graph_config cfg = {0};
	struct graph_tenant *t;

	cfg.tenant_id = id;
	cfg.client_id = "535fb089-9ff3-47b6-9bfb-4f1264799865";
	cfg.kind = GRAPH_CRED_SECRET;
	cfg.secret = secret;
	cfg.login_url = base;
	cfg.graph_url = base;
	t = graph_tenant_new(&cfg);
	graph_tenant_set_rate_scale(t, 0);
	return t;
}

static int get(struct graph_conn *c, struct graph_tenant *t, const char *path, cJSON **out, struct cv_err *e)
{
	struct graph_request rq = {0};

	rq.url = path;
	rq.cls = GRAPH_CLASS_OTHER;
	return graph_get_json(c, t, &rq, out, e);
}

static void test_graph_get(void)
{
	struct graph_tenant *t = tenant("good", SECRET), *fast = tenant("good", SECRET);
	struct graph_conn *c = graph_conn_new();
	struct graph_request rq = {0};
	struct graph_response resp;
	struct cv_err e = {0, ""};
	struct seen s = {0, 0, ""};
	struct graph_stats st;
	cJSON *j = NULL;
	double t0;
	int rc, tokens;
	char *abs;

	graph_tenant_set_retry_scale(fast, 0.01);
	graph_conn_set_retry_observer(c, observe, &s);
	is_int(graph_token(c, t, &e), 0, "token with a client secret (URL-encoded on the wire) %s", e.msg);
	tokens = server_count("tokens");
	rc = get(c, t, "/v1.0/ok/a", &j, &e);
	ok(rc == 0 && graph_page_value(j) != NULL, "GET /v1.0/... under graph_url");
	cJSON_Delete(j);
	get(c, t, "/v1.0/ok/b", &j, &e);
	cJSON_Delete(j);
	is_int(server_count("tokens"), tokens, "the token is reused");

	rq.url = "/v1.0/echo/1?$top=50";
	rq.prefer_unknown_enums = 1;
	rc = graph_get_json(c, t, &rq, &j, &e);
	{
		cJSON *h = cJSON_GetObjectItem(j, "headers");

		ok(rc == 0 && strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(h, "authorization")), "Bearer tok", 10) == 0,
		   "bearer token sent");
		is_str(cJSON_GetStringValue(cJSON_GetObjectItem(h, "user-agent")), "chatvault/" PACKAGE_VERSION,
		       "User-Agent");
		is_str(cJSON_GetStringValue(cJSON_GetObjectItem(h, "prefer")), "include-unknown-enum-members",
		       "Prefer: include-unknown-enum-members when asked");
		ok(cJSON_GetStringValue(cJSON_GetObjectItem(h, "accept-encoding")) != NULL, "compression offered");
	}
	cJSON_Delete(j);
	rq.url = "/v1.0/echo/2?$filter=lastModifiedDateTime gt 2024-01-01T00:00:00Z&$orderby=lastModifiedDateTime desc";
	rc = graph_get_json(c, t, &rq, &j, &e);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "query")),
	       "$filter=lastModifiedDateTime%20gt%202024-01-01T00:00:00Z&$orderby=lastModifiedDateTime%20desc",
	       "spaces in a hand-built $filter are encoded, the rest is kept");
	cJSON_Delete(j);

	/* 429 with Retry-After: 0.2, real time */
	t0 = time_mono_s();
	s.calls = 0;
	rc = get(c, t, "/v1.0/r429/g", &j, &e);
	ok(rc == 0 && cJSON_GetNumberValue(cJSON_GetObjectItem(j, "attempt")) == 2, "429 then 200: succeeded on try 2");
	ok(time_mono_s() - t0 >= 0.2, "  waited the 0.2 s Retry-After (%.3f s)", time_mono_s() - t0);
	ok(s.calls == 1 && s.last_delay > 0.199 && s.last_delay < 0.201 && strstr(s.reason, "429") != NULL,
	   "  observer told: %s", s.reason);
	cJSON_Delete(j);

	s.calls = 0;
	rc = get(c, fast, "/v1.0/r503/g", &j, &e);
	ok(rc == 0 && s.calls == 1 && strstr(s.reason, "503") != NULL, "503 without Retry-After retried: %s", s.reason);
	cJSON_Delete(j);
	s.calls = 0;
	rc = get(c, fast, "/v1.0/trunc/g", &j, &e);
	ok(rc == 0 && s.calls == 1, "a cut body is fetched again: %s", s.reason);
	cJSON_Delete(j);
	s.calls = 0;
	rc = get(c, fast, "/v1.0/badjson/g", &j, &e);
	ok(rc == 0 && s.calls == 1 && strstr(s.reason, "JSON") != NULL, "invalid JSON fetched again: %s", s.reason);
	cJSON_Delete(j);

	s.calls = 0;
	rc = get(c, fast, "/v1.0/alwaysbad/g", &j, &e);
	ok(rc == CV_EPROTO && j == NULL, "never valid JSON: CV_EPROTO: %s", e.msg);
	is_int(server_count("/v1.0/alwaysbad/g"), 5, "  after 5 attempts");
	s.calls = 0;
	rc = get(c, fast, "/v1.0/always429/g", &j, &e);
	ok(rc == CV_ETHROTTLED, "throttled every time: CV_ETHROTTLED: %s", e.msg);
	is_int(server_count("/v1.0/always429/g"), 8, "  after 8 attempts");
	is_int(s.calls, 7, "  7 retries reported");
	rc = get(c, fast, "/v1.0/always503/g", &j, &e);
	ok(rc == CV_ESERVER, "503 every time: CV_ESERVER: %s", e.msg);
	is_int(server_count("/v1.0/always503/g"), 5, "  after 5 attempts");

	tokens = server_count("tokens");
	rc = get(c, t, "/v1.0/r401/g", &j, &e);
	ok(rc == 0, "401 InvalidAuthenticationToken once: a new token and one more try");
	is_int(server_count("tokens"), tokens + 1, "  exactly one new token");
	{
		char want[32];

		snprintf(want, sizeof want, "tok%d", tokens + 1);
		is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "token")), want, "  and the retry used it");
	}
	cJSON_Delete(j);
	tokens = server_count("tokens");
	rc = get(c, t, "/v1.0/always401/g", &j, &e);
	ok(rc == CV_EAUTH, "401 with a fresh token: CV_EAUTH: %s", e.msg);
	is_int(server_count("tokens"), tokens + 1, "  only one new token asked for");

	is_int(get(c, t, "/v1.0/forbidden/g", &j, &e), CV_EFORBIDDEN, "403: %s", e.msg);
	ok(strstr(e.msg, "Chat.Read.All") != NULL, "  names the missing permission");
	is_int(get(c, t, "/v1.0/payment/g", &j, &e), CV_EPAYMENT, "402: CV_EPAYMENT");
	is_int(get(c, t, "/v1.0/gone/g", &j, &e), CV_EGONE, "404: CV_EGONE: %s", e.msg);
	ok(strchr(e.msg, '\x1b') == NULL, "  server text sanitised");
	is_int(get(c, t, "/v1.0/redirect/g", &j, &e), CV_EPROTO, "redirect: CV_EPROTO: %s", e.msg);

	rc = get(c, t, "/v1.0/page/g", &j, &e);
	abs = rc == 0 && graph_page_next(j) ? xstrdup(graph_page_next(j)) : NULL;
	cJSON_Delete(j);
	ok(abs != NULL && strncmp(abs, base, strlen(base)) == 0, "an absolute nextLink");
	rc = get(c, t, abs ? abs : "x", &j, &e);
	ok(rc == 0, "is followed on the same origin");
	cJSON_Delete(j);
	free(abs);
	rc = get(c, t, "/v1.0/page/evil", &j, &e);
	abs = rc == 0 && graph_page_next(j) ? xstrdup(graph_page_next(j)) : NULL;
	cJSON_Delete(j);
	is_int(get(c, t, abs ? abs : "x", &j, &e), CV_EPROTO, "a nextLink to another host gets no token: %s", e.msg);
	free(abs);

	rq.url = "/v1.0/endless/g";
	rq.prefer_unknown_enums = 0;
	rq.max_bytes = 256 * 1024;
	is_int(graph_get(c, t, &rq, &resp, &e), CV_ETOOBIG, "answer cap: %s", e.msg);
	rq.max_bytes = 0;
	rq.url = "/v1.0/ok/raw";
	rc = graph_get(c, t, &rq, &resp, &e);
	ok(rc == 0 && resp.status == 200 && resp.body.len > 0 && strcmp(resp.content_type, "application/json") == 0,
	   "graph_get hands over status, body and Content-Type");
	graph_response_free(&resp);

	graph_tenant_stats(fast, &st);
	ok(st.requests == 24 && st.throttled == 8 && st.retries == 18 && st.failures == 3,
	   "stats: %llu requests, %llu throttled, %llu retries, %llu failures, %llu bytes",
	   (unsigned long long)st.requests, (unsigned long long)st.throttled, (unsigned long long)st.retries,
	   (unsigned long long)st.failures, (unsigned long long)st.bytes);

	graph_conn_free(&c);
	graph_tenant_free(&t);
	graph_tenant_free(&fast);
}

static void test_sign_in(void)
{
	struct graph_tenant *bad = tenant("badsecret", "wrong-secret-value"), *flaky = tenant("flaky", SECRET);
	struct graph_tenant *unk = tenant("unknown-tenant", SECRET), *shrt = tenant("shortlived", SECRET);
	struct graph_conn *c = graph_conn_new();
	struct seen s = {0, 0, ""};
	struct cv_err e = {0, ""};
	cJSON *j = NULL;
	int n;

	graph_tenant_set_retry_scale(flaky, 0.01);
	graph_conn_set_retry_observer(c, observe, &s);
	is_int(graph_token(c, bad, &e), CV_EAUTH, "wrong secret: %s", e.msg);
	ok(strstr(e.msg, "Secret ID") != NULL && strstr(e.msg, "wrong-secret-value") == NULL,
	   "  explains, and never shows the secret");
	is_int(get(c, bad, "/v1.0/ok/bad", &j, &e), CV_EAUTH, "a GET reports the sign-in refusal");
	is_int(server_count("token:badsecret"), 1, "  without asking the sign-in service again so soon");
	is_int(server_count("/v1.0/ok/bad"), -1 + 1, "  and without calling Graph");

	s.calls = 0;
	is_int(graph_token(c, flaky, &e), 0, "sign-in service 503 then 200: retried");
	ok(s.calls == 1 && strstr(s.reason, "503") != NULL, "  observer told: %s", s.reason);
	is_int(graph_token(c, unk, &e), CV_EAUTH, "unknown tenant: %s", e.msg);

	is_int(graph_token(c, shrt, &e), 0, "a token valid 2 s");
	n = server_count("token:shortlived");
	graph_token(c, shrt, &e);
	is_int(server_count("token:shortlived"), n, "  reused at once");
	usleep(1100 * 1000);
	graph_token(c, shrt, &e);
	is_int(server_count("token:shortlived"), n + 1, "  renewed when less than its margin remains");

	graph_conn_free(&c);
	graph_tenant_free(&bad);
	graph_tenant_free(&flaky);
	graph_tenant_free(&unk);
	graph_tenant_free(&shrt);
}

struct canceller {
	atomic_int *flag;
};

static void *cancel_soon(void *p)
{
	struct canceller *k = p;

	usleep(200 * 1000);
	atomic_store(k->flag, 1);
	return NULL;
}

static void test_cancel_and_throttle(void)
{
	struct graph_tenant *t = tenant("good", SECRET);
	struct graph_conn *c = graph_conn_new();
	struct graph_request rq = {0};
	atomic_int flag = 0;
	struct canceller k = {&flag};
	struct cv_err e = {0, ""};
	pthread_t th;
	cJSON *j = NULL;
	double t0;
	int rc;

	graph_conn_set_cancel_flag(c, &flag);
	pthread_create(&th, NULL, cancel_soon, &k);
	t0 = time_mono_s();
	rc = get(c, t, "/v1.0/always429/5", &j, &e); /* Retry-After: 5 */
	pthread_join(th, NULL);
	is_int(rc, CV_ECANCELLED, "cancel during a 5 s Retry-After wait");
	ok(time_mono_s() - t0 < 1.0, "  returns promptly (%.2f s)", time_mono_s() - t0);
	graph_conn_free(&c);
	graph_tenant_free(&t);

	/* client-side: 1 request per second per chat */
	t = tenant("good", SECRET);
	c = graph_conn_new();
	graph_tenant_set_rate_scale(t, 1.0);
	rq.cls = GRAPH_CLASS_CHAT_MESSAGES;
	rq.resource = "19:abc@thread.v2";
	rq.url = "/v1.0/ok/chat1";
	graph_get_json(c, t, &rq, &j, &e);
	cJSON_Delete(j);
	t0 = time_mono_s();
	rq.url = "/v1.0/ok/chat2";
	rc = graph_get_json(c, t, &rq, &j, &e);
	cJSON_Delete(j);
	ok(rc == 0 && time_mono_s() - t0 > 0.9, "second request to one chat waits its bucket (%.2f s)",
	   time_mono_s() - t0);
	graph_conn_free(&c);
	graph_tenant_free(&t);
}

struct worker {
	struct graph_tenant *t;
	int id, ok;
};

static void *work(void *p)
{
	struct worker *w = p;
	struct graph_conn *c = graph_conn_new();
	struct cv_err e;
	char path[64];
	int i;

	for (i = 0; i < 200; i++) {
		cJSON *j = NULL;

		snprintf(path, sizeof path, "/v1.0/ok/w%d", w->id);
		if (get(c, w->t, path, &j, &e) == 0)
			w->ok++;
		cJSON_Delete(j);
	}
	graph_conn_free(&c);
	return NULL;
}

static void test_threads_and_speed(void)
{
	struct graph_tenant *t = tenant("good", SECRET);
	struct graph_conn *c = graph_conn_new();
	struct worker w[4];
	pthread_t th[4];
	struct graph_stats st;
	struct cv_err e;
	int i, total = 0, n = 2000, good = 0;
	double t0, dt;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){t, i, 0};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += w[i].ok;
	}
	is_int(total, 800, "4 threads x 200 GETs on one tenant, one connection each");
	graph_tenant_stats(t, &st);
	is_int(st.requests, 800, "  800 requests counted");

	get(c, t, "/v1.0/ok/warm", NULL, &e);
	t0 = time_mono_s();
	for (i = 0; i < n; i++) {
		struct graph_request rq = {0};
		struct graph_response r;

		rq.url = "/v1.0/ok/speed";
		if (graph_get(c, t, &rq, &r, &e) == 0)
			good++;
		graph_response_free(&r);
	}
	dt = time_mono_s() - t0;
	is_int(good, n, "%d sequential GETs", n);
	printf("# %.0f requests/s to the Python fake server on loopback, one keep-alive connection\n", n / dt);
	graph_conn_free(&c);
	graph_tenant_free(&t);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (graph_global_init() != 0 || start_server() != 0) {
		printf("1..0 # SKIP cannot start python3 tests/unit/fake_http.py\n");
		return 0;
	}
	test_http_layer();
	test_graph_get();
	test_sign_in();
	test_cancel_and_throttle();
	test_threads_and_speed();
	stop_server();
	graph_global_cleanup();
	return tap_done();
}
