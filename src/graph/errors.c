/*
 * Error answers to messages. The identity platform says "Never use
 * [error_description] to react to an error in your code" and "Error codes
 * and messages are subject to change" (graph-facts.md §1.1, §1.4), so we
 * switch on the AADSTS number from error_codes and only quote the first
 * sentence of the description for codes we do not know. Graph errors are
 * {"error":{"code","message","innerError"}}, where code may be "" (§1.5);
 * we switch on the HTTP status, never on code (§5.1).
 */
#include "config.h"

#include "graph/errors.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/sanitize.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_MAX 240 /* bytes of server text quoted in a message */

static const char *or_unknown(const char *s)
{
	return s != NULL && *s ? s : "?";
}

/* A shortened, sanitised copy of s[0..n): cut at QUOTE_MAX bytes on a
 * UTF-8 boundary. The caller owns the result. */
static char *quote_n(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	int cut = 0;

	if (s == NULL)
		return xstrdup("");
	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		cut = 1;
	}
	sanitize_append(&b, s, n, 0);
	while (b.len > 0 && (b.data[b.len - 1] == ' '))
		buf_truncate(&b, b.len - 1);
	if (cut)
		buf_append_str(&b, "...");
	return buf_steal(&b);
}

static char *quote(const char *s)
{
	return quote_n(s, s ? strlen(s) : 0);
}

/* The first sentence of an AADSTS description, without the "AADSTSnnn: "
 * prefix and the Trace ID / Correlation ID lines. */
static char *first_sentence(const char *desc)
{
	const char *p = desc, *end;

	if (desc == NULL)
		return xstrdup("");
	if (strncmp(p, "AADSTS", 6) == 0) {
		const char *colon = strchr(p, ':');

		if (colon != NULL)
			p = colon + 1;
	}
	while (*p == ' ')
		p++;
	for (end = p; *end && *end != '\r' && *end != '\n'; end++)
		if (end[0] == '.' && (end[1] == ' ' || end[1] == '\0' || end[1] == '\r' || end[1] == '\n')) {
			end++;
			break;
		}
	return quote_n(p, (size_t)(end - p));
}

static const char *json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long aadsts_of(const cJSON *root)
{
	const cJSON *codes = cJSON_GetObjectItemCaseSensitive(root, "error_codes");
	const char *desc = json_str(root, "error_description");
	const cJSON *first = cJSON_IsArray(codes) ? cJSON_GetArrayItem(codes, 0) : NULL;

	if (cJSON_IsNumber(first) && first->valuedouble > 0 && first->valuedouble < 1e12)
		return (long)first->valuedouble;
	if (desc != NULL && strncmp(desc, "AADSTS", 6) == 0 && isdigit((unsigned char)desc[6]))
		return strtol(desc + 6, NULL, 10);
	return 0;
}

long errors_aadsts(const char *body)
{
	cJSON *root = body ? cJSON_Parse(body) : NULL;
	long n = root ? aadsts_of(root) : 0;

	cJSON_Delete(root);
	return n;
}

int errors_identity(long status, const char *body, const struct errors_ctx *ctx, struct cv_err *e)
{
	static const struct errors_ctx none;
	cJSON *root = body ? cJSON_Parse(body) : NULL;
	const char *error = root ? json_str(root, "error") : NULL;
	long code = root ? aadsts_of(root) : 0;
	char *tenant, *client, *host, *text;
	int rc;

	if (ctx == NULL)
		ctx = &none;
	tenant = quote(or_unknown(ctx->tenant));
	client = quote(or_unknown(ctx->client_id));
	host = quote(or_unknown(ctx->host));
	text = first_sentence(root ? json_str(root, "error_description") : NULL);

	switch (code) {
	case 7000215:
		rc = err_set(e, CV_EAUTH,
			     _("the client secret is not valid: copy the secret's Value, not its Secret ID, "
			       "from the app registration (Certificates & secrets) (AADSTS7000215)"));
		break;
	case 7000222:
		rc = err_set(e, CV_EAUTH,
			     _("the client secret has expired: create a new one in the app registration's "
			       "Certificates & secrets and enter its Value here (AADSTS7000222)"));
		break;
	case 700016:
	case 700011:
		rc = err_set(e, CV_EAUTH,
			     _("the application %s was not found in tenant %s: check the Application "
			       "(client) ID, and that the app is registered in this tenant or an "
			       "administrator of it has consented to it (AADSTS%ld)"),
			     client, tenant, code);
		break;
	case 90002:
		rc = err_set(e, CV_EAUTH,
			     _("tenant %s was not found: check the tenant ID or domain name, and the cloud "
			       "(global, US Government, China) (AADSTS90002)"),
			     tenant);
		break;
	case 700027:
	case 50012:
		rc = err_set(e, CV_EAUTH,
			     _("the certificate with thumbprint %s was not accepted: upload this certificate "
			       "to the app registration's Certificates & secrets, and check that the private "
			       "key belongs to it (AADSTS%ld)"),
			     or_unknown(ctx->thumbprint), code);
		break;
	case 500133:
		rc = err_set(e, CV_EAUTH,
			     _("the sign-in was refused because this machine's clock is wrong: synchronise "
			       "it (NTP) and try again (AADSTS500133)"));
		break;
	case 7000218:
		rc = err_set(e, CV_EAUTH,
			     _("no credential was sent: configure a client secret or a certificate for "
			       "this tenant (AADSTS7000218)"));
		break;
	case 65001:
	case 90094:
		rc = err_set(e, CV_EFORBIDDEN,
			     _("admin consent is missing: an administrator of tenant %s must grant admin "
			       "consent for the application's API permissions (AADSTS%ld)"),
			     tenant, code);
		break;
	case 53003:
		rc = err_set(e, CV_EAUTH,
			     _("the sign-in was blocked by a Conditional Access policy of tenant %s: ask an "
			       "administrator to exclude this application from it (AADSTS53003)"),
			     tenant);
		break;
	case 70011:
		rc = err_set(e, CV_EAUTH,
			     _("the requested scope is not valid: check the Microsoft Graph URL set for "
			       "this tenant's cloud (AADSTS70011)"));
		break;
	case 70001:
		rc = err_set(e, CV_EAUTH,
			     _("the application %s is disabled in tenant %s: an administrator must enable "
			       "it (AADSTS70001)"),
			     client, tenant);
		break;
	case 90055:
		rc = err_set(e, CV_ETHROTTLED,
			     _("the sign-in service is throttling tenant %s: try again in a few minutes "
			       "(AADSTS90055)"),
			     tenant);
		break;
	default:
		if (error != NULL && strcmp(error, "temporarily_unavailable") == 0) {
			rc = err_set(e, CV_ESERVER,
				     _("the sign-in service at %s is temporarily unavailable: try again later"),
				     host);
		} else if (code != 0 || error != NULL) {
			char *err_q = quote(or_unknown(error));

			rc = err_set(e, status >= 500 ? CV_ESERVER : CV_EAUTH,
				     _("the sign-in was refused (AADSTS%ld, %s): %s"), code, err_q, text);
			free(err_q);
		} else if (status >= 500) {
			rc = err_set(e, CV_ESERVER, _("the sign-in service at %s failed (HTTP %ld): try again later"),
				     host, status);
		} else {
			rc = err_set(e, CV_EPROTO,
				     _("the sign-in service at %s gave an answer chatvault does not understand "
				       "(HTTP %ld): check the login URL"),
				     host, status);
		}
		break;
	}
	free(tenant);
	free(client);
	free(host);
	free(text);
	cJSON_Delete(root);
	return rc;
}

static int perm_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

char *errors_permissions(const char *message)
{
	static const char marker[] = "requires one of '";
	const char *p, *end;
	struct buf out = BUF_INIT;
	int count = 0;

	if (message == NULL || (p = strstr(message, marker)) == NULL)
		return NULL;
	p += sizeof marker - 1;
	end = strchr(p, '\'');
	if (end == NULL)
		return NULL;
	while (p < end) {
		const char *q = p;

		while (q < end && perm_char(*q))
			q++;
		if (q > p && count < 8) {
			if (count == 1)
				buf_append_str(&out, _(" (or "));
			else if (count > 1)
				buf_append_str(&out, _(", or "));
			buf_append(&out, p, (size_t)(q - p));
			count++;
		}
		p = q;
		while (p < end && !perm_char(*p))
			p++;
	}
	if (count > 1)
		buf_append_char(&out, ')');
	if (count == 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

int errors_graph(long status, const char *body, const struct errors_ctx *ctx, struct cv_err *e)
{
	cJSON *root = body ? cJSON_Parse(body) : NULL;
	const cJSON *err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
	const char *code = err ? json_str(err, "code") : NULL;
	const char *message = err ? json_str(err, "message") : NULL;
	char *msg = quote(message), *code_q = quote(code), *cq, *perms;
	char *host = quote(ctx && ctx->host ? ctx->host : "Microsoft Graph");
	int rc;

	/* "code" may be empty (a 403 from Planner in a batch example), so
	 * the status always leads: "HTTP 403 Forbidden" or "HTTP 403". */
	cq = *code_q ? xasprintf("HTTP %ld %s", status, code_q) : xasprintf("HTTP %ld", status);
	free(code_q);
	if (*msg == '\0') {
		free(msg);
		msg = xstrdup(_("no details given"));
	}
	switch (status) {
	case 401:
		rc = err_set(e, CV_EAUTH,
			     _("Microsoft Graph refused a fresh access token (%s: %s): check the tenant ID "
			       "and that the app's credential is current"),
			     cq, msg);
		break;
	case 402:
		rc = err_set(e, CV_EPAYMENT,
			     _("Microsoft Graph answered 402 Payment Required (\"%s\"). Microsoft stopped "
			       "metering the Teams export APIs on 2025-08-25, so this means the tenant or "
			       "the app registration still has a billing or evaluation restriction: check "
			       "the app's metered API setup in Azure, or ask Microsoft support"),
			     msg);
		break;
	case 403:
		perms = errors_permissions(message);
		if (perms != NULL)
			rc = err_set(e, CV_EFORBIDDEN,
				     _("the application lacks the Microsoft Graph application permission %s; "
				       "add it in the app registration's API permissions and grant admin consent"),
				     perms);
		else
			rc = err_set(e, CV_EFORBIDDEN,
				     _("Microsoft Graph refused access (%s: %s): check the app's API permissions "
				       "and admin consent"),
				     cq, msg);
		free(perms);
		break;
	case 404:
		rc = err_set(e, CV_EGONE, _("not found in Microsoft Graph, perhaps deleted (%s: %s)"), cq, msg);
		break;
	case 429:
		rc = err_set(e, CV_ETHROTTLED,
			     _("Microsoft Graph is still throttling after every retry (%s): try again later or "
			       "run fewer jobs at once"),
			     msg);
		break;
	default:
		if (status >= 300 && status < 400)
			rc = err_set(e, CV_EPROTO,
				     _("%s answered with a redirect (HTTP %ld), which chatvault does not follow: "
				       "check the Graph URL"),
				     host, status);
		else if (status >= 500)
			rc = err_set(e, CV_ESERVER, _("Microsoft Graph failed (%s: %s): try again later"), cq,
				     msg);
		else if (status == 400)
			rc = err_set(e, CV_EINVAL, _("Microsoft Graph rejected the request (%s: %s)"), cq, msg);
		else
			rc = err_set(e, CV_EFAIL, _("Microsoft Graph refused the request (%s: %s)"), cq, msg);
		break;
	}
	free(msg);
	free(cq);
	free(host);
	cJSON_Delete(root);
	return rc;
}
