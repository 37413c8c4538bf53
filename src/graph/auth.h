/*
 * App-only sign-in with the Microsoft identity platform (client credentials
 * with a secret or a certificate assertion) and the per-tenant token cache.
 * Thread-safe: one fetch at a time per tenant, others wait for its result.
 * Secrets and tokens live in libgcrypt secure memory and are never logged.
 */
#ifndef CV_GRAPH_AUTH_H
#define CV_GRAPH_AUTH_H

#include "graph/graph.h"

#include <stdatomic.h>

struct cv_err;
struct http_conn;

#define AUTH_RENEW_MARGIN_S 300.0  /* renew when less than 5 minutes remain */
#define AUTH_FAIL_HOLD_S 5.0       /* reuse a failed sign-in this long instead of asking again */

struct auth;

/* What a token fetch may use of the calling thread. */
struct auth_io {
	struct http_conn *http;
	const atomic_int *cancel;
	graph_retry_fn observer;
	void *observer_ctx;
	double retry_scale; /* multiplies every retry delay (tests) */
};

/* Copies cfg (secrets into secure memory). The caller owns the result. */
struct auth *auth_new(const struct graph_config *cfg);
void auth_free(struct auth **a);

/* A valid token as a ready header line "Authorization: Bearer ...", in
 * secure memory the caller releases with auth_header_free(); *gen names the
 * token for auth_invalidate(). Fetches a new token when needed. */
int auth_header(struct auth *a, const struct auth_io *io, char **header, unsigned *gen,
		struct cv_err *e);
void auth_header_free(char **header);

/* Graph refused token `gen` (401): drop it unless a newer one is cached. */
void auth_invalidate(struct auth *a, unsigned gen);

/* The token endpoint "{login_url}/{tenant}/oauth2/v2.0/token"; caller owns it. */
char *auth_token_url(const char *login_url, const char *tenant);

/* A 200 answer of the token endpoint: 0 with *token (secure memory, release
 * with auth_header_free) and *expires_in (seconds) when it holds a bearer
 * token of URL-safe characters that expires in the future, else -1. cJSON's
 * copy of the token is wiped. */
int auth_parse_token(const char *body, char **token, double *expires_in);

/* SHA-1 thumbprint of the configured certificate in hex, or NULL. Borrowed. */
const char *auth_thumbprint(const struct auth *a);

#endif
