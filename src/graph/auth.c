/*
 * Client credentials grant (graph-facts.md §1.1, §1.2): POST
 * {login}/{tenant}/oauth2/v2.0/token with client_id, scope={graph}/.default,
 * grant_type=client_credentials and either client_secret ("must be
 * URL-encoded") or a client_assertion JWT. "When the token expires, repeat
 * the request" — there is no refresh token in this flow. The token is cached
 * per tenant and renewed AUTH_RENEW_MARGIN_S before it expires.
 */
#include "config.h"

#include "graph/auth.h"
#include "graph/errors.h"
#include "graph/http.h"
#include "graph/jwt.h"
#include "graph/retry.h"
#include "graph/wait.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct auth {
	/* configuration, fixed after auth_new */
	char *tenant, *client_id, *login_url, *graph_url, *cert_pem;
	char *secret, *key_pem; /* secure memory */
	enum graph_cred_kind kind;
	enum graph_jwt_alg alg;
	char *thumbprint; /* hex SHA-1, or NULL */

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	char *token;        /* secure memory, or NULL */
	double expires;     /* monotonic seconds */
	double margin;
	unsigned gen;
	int fetching;
	struct cv_err fail; /* the last refusal, reused until fail_until */
	double fail_until;
};

/* Secure copy of a string; falls back to ordinary libgcrypt memory (still
 * wiped on release) when the secure pool is exhausted. */
static char *secure_dup(const char *s, size_t extra)
{
	size_t n = s ? strlen(s) : 0;
	char *p = gcry_malloc_secure(n + extra + 1);

	if (p == NULL)
		p = gcry_malloc(n + extra + 1);
	if (p == NULL)
		xfatal("out of memory");
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void secure_free(char **p)
{
	if (*p != NULL) {
		xwipe(*p, strlen(*p));
		gcry_free(*p);
		*p = NULL;
	}
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

static char *strip_slash(const char *s)
{
	char *r = dup_or_empty(s);
	size_t n = strlen(r);

	while (n > 0 && r[n - 1] == '/')
		r[--n] = '\0';
	return r;
}

struct auth *auth_new(const struct graph_config *cfg)
{
	struct auth *a = xcalloc(1, sizeof *a);

	a->tenant = dup_or_empty(cfg->tenant_id);
	a->client_id = dup_or_empty(cfg->client_id);
	a->login_url = strip_slash(cfg->login_url);
	a->graph_url = strip_slash(cfg->graph_url);
	a->kind = cfg->kind;
	a->alg = cfg->alg;
	if (cfg->kind == GRAPH_CRED_SECRET) {
		a->secret = secure_dup(cfg->secret, 0);
	} else {
		unsigned char sha1[20], sha256[32];
		struct buf hex = BUF_INIT;

		a->cert_pem = dup_or_empty(cfg->cert_pem);
		a->key_pem = secure_dup(cfg->key_pem, 0);
		if (jwt_cert_thumbprints(a->cert_pem, sha1, sha256, NULL) == 0) {
			size_t i;

			hex_encode(&hex, sha1, sizeof sha1);
			for (i = 0; i < hex.len; i++) /* the portal shows it upper case */
				if (hex.data[i] >= 'a' && hex.data[i] <= 'f')
					hex.data[i] = (char)(hex.data[i] - 'a' + 'A');
			a->thumbprint = buf_steal(&hex);
		}
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	return a;
}

void auth_free(struct auth **ap)
{
	struct auth *a = *ap;

	if (a == NULL)
		return;
	secure_free(&a->secret);
	secure_free(&a->key_pem);
	secure_free(&a->token);
	free(a->tenant);
	free(a->client_id);
	free(a->login_url);
	free(a->graph_url);
	free(a->cert_pem);
	free(a->thumbprint);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
	*ap = NULL;
}

const char *auth_thumbprint(const struct auth *a)
{
	return a->thumbprint;
}

char *auth_token_url(const char *login_url, const char *tenant)
{
	struct buf u = BUF_INIT;
	char *base = strip_slash(login_url);

	buf_append_str(&u, base);
	buf_append_char(&u, '/');
	url_escape(&u, tenant ? tenant : "");
	buf_append_str(&u, "/oauth2/v2.0/token");
	free(base);
	return buf_steal(&u);
}

/* The form body, in one allocation sized up front so the secret is never
 * left behind in a reallocated block. */
static int build_form(struct auth *a, const char *token_url, struct buf *form, struct cv_err *e)
{
	struct buf scope = BUF_INIT, jwt = BUF_INIT;
	size_t secret_len = a->secret ? strlen(a->secret) : 0;
	int rc = 0;

	/* The Graph resource of the configured cloud (or the simulator):
	 * "scope: resource ID + /.default" (graph-facts.md §1.1). */
	buf_printf(&scope, "%s/.default", a->graph_url);
	if (a->kind == GRAPH_CRED_CERT) {
		rc = jwt_client_assertion(a->cert_pem, a->key_pem, a->alg, token_url, a->client_id,
					  (int64_t)time(NULL), &jwt, e);
		if (rc != 0)
			goto out;
	}
	buf_grow(form, 3 * (strlen(a->client_id) + scope.len + secret_len) + jwt.len + 256);
	buf_append_str(form, "client_id=");
	url_escape(form, a->client_id);
	buf_append_str(form, "&scope=");
	url_escape(form, buf_str(&scope));
	buf_append_str(form, "&grant_type=client_credentials");
	if (a->kind == GRAPH_CRED_CERT) {
		buf_append_str(form, "&client_assertion_type="
				     "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
				     "&client_assertion=");
		buf_append(form, jwt.data, jwt.len); /* base64url and dots: nothing to escape */
	} else {
		buf_append_str(form, "&client_secret=");
		url_escape(form, a->secret);
	}
out:
	buf_free(&scope);
	buf_free_secret(&jwt);
	return rc;
}

int auth_parse_token(const char *body, char **token, double *expires_in)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *tok, *exp, *type;
	int rc = -1;

	if (root == NULL)
		return -1;
	tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
	type = cJSON_GetObjectItemCaseSensitive(root, "token_type");
	if (cJSON_IsNumber(exp))
		*expires_in = exp->valuedouble;
	else if (cJSON_IsString(exp)) /* older endpoints send "3599" */
		*expires_in = strtod(exp->valuestring, NULL);
	else
		*expires_in = -1;
	if (cJSON_IsString(tok) && tok->valuestring[0] != '\0' && *expires_in > 0 &&
	    strspn(tok->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") ==
		    strlen(tok->valuestring) &&
	    (type == NULL || (cJSON_IsString(type) && strcasecmp(type->valuestring, "bearer") == 0))) {
		*token = secure_dup(tok->valuestring, 0);
		rc = 0;
	}
	if (cJSON_IsString(tok))
		xwipe(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(root);
	return rc;
}

/* One token request with retries for 429, 5xx and network failures. */
static int fetch(struct auth *a, const struct auth_io *io, char **token, double *expires_in,
		 struct cv_err *e)
{
	struct retry_state rs = {0, 0, 0};
	struct http_response resp;
	struct buf form = BUF_INIT;
	char *url = auth_token_url(a->login_url, a->tenant);
	struct errors_ctx ectx = {a->client_id, a->tenant, a->thumbprint, NULL};
	char *host = http_url_host(url);
	static const char *const headers[] = {"Accept: application/json", NULL};
	int rc;

	ectx.host = host;
	http_response_init(&resp);
	if (a->kind == GRAPH_CRED_SECRET && (a->secret == NULL || a->secret[0] == '\0')) {
		rc = err_set(e, CV_EAUTH, _("no client secret is configured for tenant %s"), a->tenant);
		goto out;
	}
	for (;;) {
		struct http_request rq = {0};
		double delay, ra = -1;
		int cause;
		char reason[200];

		/* a certificate assertion is single-use in spirit: new jti and
		 * nbf for every attempt */
		buf_free_secret(&form);
		rc = build_form(a, url, &form, e);
		if (rc != 0)
			goto out;
		rq.url = url;
		rq.headers = headers;
		rq.post = form.data;
		rq.post_len = form.len;
		rq.max_bytes = 1 << 20;
		rq.body_reserve = 64 * 1024; /* the token arrives in one block */
		rc = http_perform(io->http, &rq, &resp, e);
		if (rc == 0 && resp.status == 200) {
			if (auth_parse_token(buf_str(&resp.body), token, expires_in) == 0)
				goto out;
			rc = err_set(e, CV_EPROTO,
				     _("the sign-in service at %s answered without a usable access token"), host);
			cause = RETRY_BAD_BODY;
		} else if (rc == CV_ENET) {
			cause = RETRY_NETWORK;
		} else if (rc != 0) {
			goto out;
		} else if ((cause = retry_cause_of_status(resp.status)) < 0) {
			rc = errors_identity(resp.status, buf_str(&resp.body), &ectx, e);
			goto out;
		} else {
			ra = resp.retry_after;
			rc = errors_identity(resp.status, buf_str(&resp.body), &ectx, e);
		}
		if (!retry_decide(&rs, (enum retry_cause)cause, ra, retry_jitter(), &delay))
			goto out;
		delay *= io->retry_scale;
		if (cause == RETRY_NETWORK || cause == RETRY_BAD_BODY)
			snprintf(reason, sizeof reason, _("signing in: %s"), e->msg);
		else
			snprintf(reason, sizeof reason, _("signing in: the sign-in service answered %ld"),
				 resp.status);
		if (io->observer != NULL)
			io->observer(io->observer_ctx, rs.attempts, delay, reason);
		if (wait_cancellable(delay, io->cancel) != 0) {
			rc = err_set(e, CV_ECANCELLED, _("sign-in cancelled"));
			goto out;
		}
	}
out:
	buf_free_secret(&form);
	buf_free_secret(&resp.body);
	http_response_free(&resp);
	free(url);
	free(host);
	return rc;
}

static char *make_header(const char *token)
{
	static const char prefix[] = "Authorization: Bearer ";
	char *h = secure_dup(prefix, strlen(token));

	memcpy(h + sizeof prefix - 1, token, strlen(token) + 1);
	return h;
}

int auth_header(struct auth *a, const struct auth_io *io, char **header, unsigned *gen,
		struct cv_err *e)
{
	int rc = 0;

	*header = NULL;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		double now = time_mono_s();
		char *token = NULL;
		double expires_in = 0;
		struct timespec until;

		if (a->token != NULL && a->expires - now > a->margin) {
			*header = make_header(a->token);
			*gen = a->gen;
			break;
		}
		if (now < a->fail_until) {
			if (e != NULL)
				*e = a->fail;
			rc = a->fail.code;
			break;
		}
		if (wait_cancelled(io->cancel)) {
			rc = err_set(e, CV_ECANCELLED, _("sign-in cancelled"));
			break;
		}
		if (a->fetching) {
			/* another thread is asking; wait in short slices so a
			 * cancel is noticed */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->cv, &a->mu, &until);
			continue;
		}
		a->fetching = 1;
		pthread_mutex_unlock(&a->mu);
		{
			struct cv_err fe = {0, ""};

			rc = fetch(a, io, &token, &expires_in, &fe);
			if (rc != 0 && e != NULL)
				*e = fe;
			pthread_mutex_lock(&a->mu);
			a->fetching = 0;
			if (rc == 0) {
				secure_free(&a->token);
				a->token = token;
				a->expires = time_mono_s() + expires_in;
				/* short-lived tokens (the simulator) renew at half life */
				a->margin = expires_in / 2 < AUTH_RENEW_MARGIN_S ? expires_in / 2
										  : AUTH_RENEW_MARGIN_S;
				a->gen++;
			} else if (rc != CV_ECANCELLED) {
				/* whoever waited for this fetch gets its outcome, and
				 * a refusal will not change in the next seconds: spare
				 * the sign-in service the other workers' attempts */
				a->fail = fe;
				a->fail_until = time_mono_s() + AUTH_FAIL_HOLD_S;
			}
		}
		pthread_cond_broadcast(&a->cv);
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void auth_header_free(char **header)
{
	secure_free(header);
}

void auth_invalidate(struct auth *a, unsigned gen)
{
	pthread_mutex_lock(&a->mu);
	if (a->gen == gen && a->token != NULL)
		secure_free(&a->token);
	pthread_mutex_unlock(&a->mu);
}
