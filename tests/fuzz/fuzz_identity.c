/*
 * Answers of the identity platform and of Graph that the client reads
 * before it trusts anything: token responses, error bodies, Retry-After
 * values, the times in them and the links it follows. A token is taken only
 * when it is usable; an error becomes one inert sentence, whatever the
 * server wrote; a link the token is sent to is on the Graph origin as curl
 * itself parses the URL that goes out. The first byte picks the HTTP status;
 * the rest is the body (or header value, or link).
 */
#include "config.h"

#include "fuzz.h"

#include "graph/auth.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/http.h"
#include "graph/retry.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* tokens live in libgcrypt's secure memory */
	return vault_global_init() == 0 ? 0 : (abort(), 0);
}

#define GRAPH "https://graph.microsoft.com"

static const long statuses[] = {200, 400, 401, 402, 403, 404, 409, 429, 500, 502, 503, 504};

static void check_error(const char *what, int rc, const struct cv_err *e)
{
	if (rc >= 0)
		fuzz_fail("%s: an error answer gave %d, not an error", what, rc);
	if (e->msg[0] == '\0')
		fuzz_fail("%s: an error without a message", what);
	fuzz_check_inert(what, e->msg, strlen(e->msg), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct errors_ctx ctx = {"11111111-2222-3333-4444-555555555555", "contoso.onmicrosoft.com",
				       "0123456789ABCDEF0123456789ABCDEF01234567", "login.example.test"};
	struct cv_err e = {0};
	char *body, *token = NULL, *perms, *url;
	double expires, seconds;
	long status;
	int64_t ms;
	int rc;

	if (size == 0)
		return 0;
	status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
	body = fuzz_cstr(data + 1, size - 1);

	if (auth_parse_token(body, &token, &expires) == 0) {
		if (token == NULL || token[0] == '\0' || !(expires > 0))
			fuzz_fail("a token was taken without a value or a future expiry");
		if (strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") !=
		    strlen(token))
			fuzz_fail("a token with characters a header line must not carry");
		auth_header_free(&token);
	}

	if (status != 200) {
		rc = errors_identity(status, body, &ctx, &e);
		check_error("identity error", rc, &e);
		err_clear(&e);
		rc = errors_graph(status, body, &ctx, &e);
		check_error("Graph error", rc, &e);
	}
	(void)errors_aadsts(body);
	if ((perms = errors_permissions(body)) != NULL) {
		fuzz_check_inert("permission names", perms, strlen(perms), 0);
		free(perms);
	}

	if (retry_parse_after(body, 1700000000, &seconds) == 0 && !(isfinite(seconds) && seconds >= 0))
		fuzz_fail("Retry-After '%.60s' gave %g seconds", body, seconds);
	if (time_parse_iso8601(body, &ms) == 0) {
		char iso[64];
		int64_t back;

		/* what parses must print and parse back to the same instant */
		time_format_iso8601(ms, iso, sizeof iso);
		if (time_parse_iso8601(iso, &back) != 0 || back != ms)
			fuzz_fail("'%.60s' is %lld ms, printed '%s', which reads back differently", body, (long long)ms,
				  iso);
	}
	(void)time_parse_date(body, &ms);

	err_clear(&e);
	if ((url = graph_resolve_url(GRAPH, body, &e)) != NULL) {
		for (const char *p = url; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				fuzz_fail("a request URL with a raw byte 0x%02x: %.80s", (unsigned char)*p, url);
		if (!http_same_origin(url, GRAPH))
			fuzz_fail("the token would go to '%.120s', off the Graph origin (from '%.120s')", url, body);
		free(url);
	} else {
		check_error("refused link", e.code, &e);
	}
	free(body);
	return 0;
}
