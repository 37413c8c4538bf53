/*
 * libcurl easy-handle wrapper for the Graph client. Settings follow
 * libcurl-security.md (reliability.md §3): verification stays on, only https
 * (plain http only to a loopback host, for tests), redirects never followed,
 * connect timeout and low-speed abort against hanging servers, and a body cap
 * counted in the write callback because CURLOPT_MAXFILESIZE "is not
 * sufficient". DNS and TLS sessions are shared between threads; connections
 * are not ("It is not supported to share connections between multiple
 * concurrent threads", CURLSHOPT_SHARE), so each handle keeps its own.
 */
#include "config.h"

#include "graph/http.h"
#include "graph/retry.h"
#include "graph/wait.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/sanitize.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct http_conn {
	CURL *easy;
	const atomic_int *cancel;
	char errbuf[CURL_ERROR_SIZE];
	/* state of the transfer in progress */
	const struct http_request *rq;
	struct http_response *rs;
	size_t cap;
	int status_known, to_sink, too_big, sink_failed;
};

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static int global_ready;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
	(void)h;
	(void)access;
	(void)u;
	pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
	(void)h;
	(void)u;
	pthread_mutex_unlock(&share_locks[data]);
}

int http_global_init(void)
{
	int i;

	if (global_ready)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return CV_EFAIL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	if (share == NULL)
		return CV_EFAIL;
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	global_ready = 1;
	return 0;
}

void http_global_cleanup(void)
{
	int i;

	if (!global_ready)
		return;
	curl_share_cleanup(share);
	share = NULL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&share_locks[i]);
	curl_global_cleanup();
	global_ready = 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct http_conn *c = ctx;
	size_t n = size * nmemb, k;
	char line[256];

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new answer (after 100 Continue or a proxy CONNECT) */
		c->rs->content_type[0] = '\0';
		c->rs->retry_after = -1;
		return n;
	}
	k = n < sizeof line - 1 ? n : sizeof line - 1;
	memcpy(line, p, k);
	line[k] = '\0';
	while (k > 0 && (line[k - 1] == '\r' || line[k - 1] == '\n'))
		line[--k] = '\0';
	if (strncasecmp(line, "Retry-After:", 12) == 0) {
		double s;

		/* CURLINFO_RETRY_AFTER rounds to whole seconds; Graph may send
		 * "2.128" (graph-facts.md §5.1). */
		if (retry_parse_after(line + 12, time(NULL), &s) == 0)
			c->rs->retry_after = s;
	} else if (strncasecmp(line, "Content-Type:", 13) == 0) {
		const char *v = line + 13;

		while (*v == ' ' || *v == '\t')
			v++;
		k = strlen(v);
		if (k >= sizeof c->rs->content_type)
			k = sizeof c->rs->content_type - 1;
		memcpy(c->rs->content_type, v, k);
		c->rs->content_type[k] = '\0';
	}
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct http_conn *c = ctx;
	size_t n = size * nmemb;

	if (!c->status_known) {
		long st = 0;

		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
		c->status_known = 1;
		c->to_sink = c->rq->sink != NULL && st >= 200 && st < 300;
		if (c->rq->sink != NULL && !c->to_sink && c->cap > HTTP_ERROR_BODY_MAX)
			c->cap = HTTP_ERROR_BODY_MAX;
	}
	if (n > c->cap - c->rs->received) {
		c->too_big = 1;
		return 0;
	}
	c->rs->received += n;
	if (c->to_sink) {
		if (c->rq->sink(c->rq->sink_ctx, p, n) != 0) {
			c->sink_failed = 1;
			return 0;
		}
		c->rs->sunk += n;
	} else {
		buf_append(&c->rs->body, p, n);
	}
	return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct http_conn *c = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return wait_cancelled(c->cancel);
}

struct http_conn *http_conn_new(void)
{
	struct http_conn *c = xcalloc(1, sizeof *c);
	CURL *h = curl_easy_init();

	if (h == NULL)
		xfatal("curl_easy_init failed");
	c->easy = h;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (share != NULL)
		curl_easy_setopt(h, CURLOPT_SHARE, share);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "chatvault/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)HTTP_LOW_SPEED_TIME_S);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes are what we count */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
#if LIBCURL_VERSION_NUM >= 0x075000 /* 7.80.0 */
	/* a long-lived connection keeps the certificate checked at connect time */
	curl_easy_setopt(h, CURLOPT_MAXLIFETIME_CONN, 3600L);
#endif
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	return c;
}

void http_conn_free(struct http_conn **cp)
{
	struct http_conn *c = *cp;

	if (c == NULL)
		return;
	curl_easy_cleanup(c->easy);
	free(c);
	*cp = NULL;
}

void http_conn_set_timeouts(struct http_conn *c, long connect_s, long low_speed_s)
{
	if (connect_s > 0)
		curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT, connect_s);
	if (low_speed_s > 0)
		curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME, low_speed_s);
}

void http_conn_set_cancel_flag(struct http_conn *c, const atomic_int *flag)
{
	c->cancel = flag;
}

void http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->body);
	r->retry_after = -1;
}

void http_response_free(struct http_response *r)
{
	buf_free(&r->body);
	http_response_init(r);
}

char *http_url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *out;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		/* the URL may come from an answer (a nextLink): inert text, and
		 * no more of it than a sentence needs */
		struct buf b = BUF_INIT;

		sanitize_append(&b, host, strnlen(host, 255), 0);
		out = buf_steal(&b);
		curl_free(host);
	} else {
		out = xstrdup("?");
	}
	curl_url_cleanup(u);
	return out;
}

static char *url_part(CURLU *u, CURLUPart part, unsigned flags)
{
	char *v = NULL, *out;

	if (curl_url_get(u, part, &v, flags) != CURLUE_OK)
		return NULL;
	out = xstrdup(v);
	curl_free(v);
	for (v = out; *v; v++) /* scheme and host compare case-blind */
		if (*v >= 'A' && *v <= 'Z')
			*v = (char)(*v - 'A' + 'a');
	return out;
}

static char *url_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		scheme = url_part(u, CURLUPART_SCHEME, 0);
		host = url_part(u, CURLUPART_HOST, 0);
		port = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
		if (scheme && host && port)
			out = xasprintf("%s://%s:%s", scheme, host, port);
	}
	free(scheme);
	free(host);
	free(port);
	curl_url_cleanup(u);
	return out;
}

int http_same_origin(const char *a, const char *b)
{
	char *oa = url_origin(a), *ob = url_origin(b);
	int same = oa != NULL && ob != NULL && strcmp(oa, ob) == 0;

	free(oa);
	free(ob);
	return same;
}

/* "https", or "http" when the URL is plain http to a loopback address (the
 * simulator and the unit tests); NULL for anything else. */
static const char *allowed_scheme(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	const char *res = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (strcasecmp(scheme, "https") == 0)
			res = "https";
		else if (strcasecmp(scheme, "http") == 0 &&
			 (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
			  strcasecmp(host, "localhost") == 0))
			res = "http";
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return res;
}

static int is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

static int map_failure(struct http_conn *c, CURLcode rc, const char *url, struct cv_err *e)
{
	char *host = http_url_host(url);
	char *detail = sanitize_dup(c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc), 0);
	int code;

	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		code = err_set(e, CV_ECANCELLED, _("request to %s cancelled"), host);
	} else if (rc == CURLE_WRITE_ERROR && c->too_big) {
		code = err_set(e, CV_ETOOBIG, _("the answer from %s is larger than %zu bytes; stopped reading it"),
			       host, c->cap);
	} else if (rc == CURLE_WRITE_ERROR && c->sink_failed) {
		code = err_set(e, CV_EIO, _("storing the download from %s failed"), host);
	} else if (is_tls_error(rc)) {
		code = err_set(e, CV_ETLS,
			       _("secure connection to %s failed: %s. Check the system's CA certificates and "
				 "whether a proxy intercepts HTTPS; chatvault never turns certificate checks off"),
			       host, detail);
	} else if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
		code = err_set(e, CV_EINVAL, _("cannot send a request to %s: %s"), host, detail);
	} else if (rc == CURLE_BAD_CONTENT_ENCODING) {
		code = err_set(e, CV_EPROTO, _("the answer from %s could not be decoded: %s"), host, detail);
	} else if (rc == CURLE_OUT_OF_MEMORY) {
		xfatal("out of memory in libcurl");
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		code = err_set(e, CV_ENET, _("%s did not answer in time: %s"), host, detail);
	} else {
		/* resolve, connect, reset, partial body, HTTP/2 stream errors:
		 * all worth another try */
		code = err_set(e, CV_ENET, _("network error talking to %s: %s"), host, detail);
	}
	free(detail);
	free(host);
	return code;
}

int http_perform(struct http_conn *c, const struct http_request *rq, struct http_response *rs,
		 struct cv_err *e)
{
	struct curl_slist *hdrs = NULL, *h;
	const char *scheme;
	CURLcode rc;
	int code = 0;

	http_response_free(rs);
	if (rq->body_reserve)
		buf_grow(&rs->body, rq->body_reserve);
	scheme = allowed_scheme(rq->url);
	if (scheme == NULL) {
		char *host = http_url_host(rq->url);

		if (strcmp(host, "?") == 0)
			code = err_set(e, CV_EINVAL, _("cannot send a request: the URL is not valid"));
		else
			code = err_set(e, CV_EINVAL,
				       _("refusing to contact %s: only https URLs are allowed (plain http only to "
					 "this machine)"),
				       host);
		free(host);
		return code;
	}
	if (rq->headers != NULL) {
		const char *const *p;

		for (p = rq->headers; *p != NULL; p++)
			hdrs = curl_slist_append(hdrs, *p);
	}
	if (rq->post != NULL)
		hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */

	c->rq = rq;
	c->rs = rs;
	c->cap = rq->max_bytes ? rq->max_bytes : HTTP_DEFAULT_MAX_BYTES;
	c->status_known = c->to_sink = c->too_big = c->sink_failed = 0;
	c->errbuf[0] = '\0';

	curl_easy_setopt(c->easy, CURLOPT_URL, rq->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, scheme);
#else
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS,
			 (long)(strcmp(scheme, "https") == 0 ? CURLPROTO_HTTPS : CURLPROTO_HTTP));
#endif
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
	if (rq->post != NULL) {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->post_len);
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, rq->post);
	} else {
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	}

	rc = curl_easy_perform(c->easy);

	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	if (rq->post != NULL) {
		curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	}
	for (h = hdrs; h != NULL && rq->secret_headers; h = h->next)
		xwipe(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);

	if (rc != CURLE_OK)
		code = map_failure(c, rc, rq->url, e);
	else
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &rs->status);
	c->rq = NULL;
	c->rs = NULL;
	return code;
}
