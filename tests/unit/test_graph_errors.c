/* Unit tests for src/graph/errors.c and the paging helpers: identity
 * platform and Graph error bodies from graph-facts.md to CV_E* codes and
 * actionable sentences; paging on the documentation's example pages,
 * including its malformed timestamp. */
#include "config.h"

#include "tap.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const struct errors_ctx ctx = {"535fb089-9ff3-47b6-9bfb-4f1264799865", "contoso.onmicrosoft.com",
				      "84E05C1D98BCE3A5421D225B140B36E86A3D5534", "login.microsoftonline.com"};

static char body[4096];

static const char *aad(const char *error, long code, const char *text)
{
	snprintf(body, sizeof body,
		 "{\"error\":\"%s\",\"error_description\":\"AADSTS%ld: %s\\r\\nTrace ID: 255d1aef-8c98-452f-ac51-"
		 "23d051240864\\r\\nCorrelation ID: fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7\\r\\nTimestamp: 2016-01-09 "
		 "02:02:12Z\",\"error_codes\":[%ld],\"timestamp\":\"2016-01-09 02:02:12Z\",\"trace_id\":\"255d1aef\","
		 "\"correlation_id\":\"fb3d2015\",\"error_uri\":\"https://login.microsoftonline.com/error?code=%ld\"}",
		 error, code, text, code, code);
	return body;
}

static int has(const struct cv_err *e, const char *s)
{
	return strstr(e->msg, s) != NULL;
}

static int clean(const struct cv_err *e)
{
	const unsigned char *p;

	for (p = (const unsigned char *)e->msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return strstr(e->msg, "Trace ID") == NULL && strstr(e->msg, "Correlation") == NULL;
}

static void test_identity(void)
{
	struct cv_err e;

	is_int(errors_identity(401, aad("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
					"being sent in the request is the client secret value, not the client secret ID."),
				&ctx, &e),
	       CV_EAUTH, "7000215 wrong secret: %s", e.msg);
	ok(has(&e, "Value") && has(&e, "Secret ID") && clean(&e), "  names Value vs Secret ID");
	is_int(errors_identity(401, aad("invalid_client", 7000222, "The provided client secret keys are expired."),
				&ctx, &e),
	       CV_EAUTH, "7000222 expired secret: %s", e.msg);
	ok(has(&e, "expired") && has(&e, "Certificates & secrets"), "  says where to make a new one");
	is_int(errors_identity(400, aad("unauthorized_client", 700016, "Application with identifier 'x' was not "
					"found in the directory 'y'."),
				&ctx, &e),
	       CV_EAUTH, "700016 app not in tenant: %s", e.msg);
	ok(has(&e, ctx.client_id) && has(&e, ctx.tenant), "  names the client id and the tenant");
	is_int(errors_identity(400, aad("unauthorized_client", 700011, "Application not found in tenant."), &ctx, &e),
	       CV_EAUTH, "700011 likewise");
	ok(has(&e, ctx.client_id), "  names the client id");
	is_int(errors_identity(400, aad("invalid_request", 90002, "Tenant 'contoso.onmicrosoft.com' not found."), &ctx,
				&e),
	       CV_EAUTH, "90002 tenant not found: %s", e.msg);
	ok(has(&e, ctx.tenant) && has(&e, "tenant"), "  names the tenant");
	is_int(errors_identity(401, aad("invalid_client", 700027, "Client assertion failed signature validation."),
				&ctx, &e),
	       CV_EAUTH, "700027 certificate: %s", e.msg);
	ok(has(&e, ctx.thumbprint), "  names the thumbprint");
	is_int(errors_identity(401, aad("invalid_client", 50012, "Client assertion contains an invalid signature."),
				&ctx, &e),
	       CV_EAUTH, "50012 certificate");
	ok(has(&e, ctx.thumbprint), "  names the thumbprint");
	is_int(errors_identity(400, aad("invalid_client", 500133, "Assertion is not within its valid time range."),
				&ctx, &e),
	       CV_EAUTH, "500133 clock skew: %s", e.msg);
	ok(has(&e, "clock"), "  blames the clock");
	is_int(errors_identity(400, aad("invalid_client", 7000218, "The request body must contain the following "
					"parameter: 'client_assertion' or 'client_secret'."),
				&ctx, &e),
	       CV_EAUTH, "7000218 no credential: %s", e.msg);
	is_int(errors_identity(400, aad("invalid_grant", 65001, "The user or administrator has not consented."), &ctx,
				&e),
	       CV_EFORBIDDEN, "65001 consent: %s", e.msg);
	ok(has(&e, "admin consent"), "  asks for admin consent");
	is_int(errors_identity(400, aad("invalid_grant", 90094, "Admin consent is required."), &ctx, &e), CV_EFORBIDDEN,
	       "90094 consent");
	is_int(errors_identity(400, aad("invalid_grant", 53003, "Access has been blocked by Conditional Access "
					"policies."),
				&ctx, &e),
	       CV_EAUTH, "53003 conditional access: %s", e.msg);
	ok(has(&e, "Conditional Access"), "  says so");
	is_int(errors_identity(400, aad("invalid_scope", 70011, "The provided value for the input parameter 'scope' "
					"is not valid. The scope https://foo.microsoft.com/.default is not valid."),
				&ctx, &e),
	       CV_EAUTH, "70011 scope (the documentation's example): %s", e.msg);
	ok(has(&e, "scope"), "  mentions the scope");

	is_int(errors_identity(400, aad("invalid_request", 9999991, "Something \x1b]0;new\x07 happened. More text "
					"that should not be quoted."),
				&ctx, &e),
	       CV_EAUTH, "unknown AADSTS: %s", e.msg);
	ok(has(&e, "AADSTS9999991") && has(&e, "invalid_request") && has(&e, "Something"), "  number, error, text");
	ok(!has(&e, "More text") && clean(&e), "  first sentence only, sanitised, no trace ids");
	is_int(errors_aadsts(aad("x", 700016, "y")), 700016, "AADSTS number from error_codes");
	is_int(errors_aadsts("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid.\"}"),
	       7000215, "AADSTS number from the description when error_codes is missing");
	is_int(errors_aadsts("not json"), 0, "no number in garbage");

	is_int(errors_identity(400, "{\"error\":\"temporarily_unavailable\"}", &ctx, &e), CV_ESERVER,
	       "temporarily_unavailable: %s", e.msg);
	is_int(errors_identity(502, "<html>Bad gateway</html>", &ctx, &e), CV_ESERVER, "HTML 502: %s", e.msg);
	is_int(errors_identity(404, "", &ctx, &e), CV_EPROTO, "empty 404 (wrong login URL?): %s", e.msg);
	is_int(errors_identity(400, NULL, NULL, &e), CV_EPROTO, "NULL body and context do not crash");
	ok(errors_identity(400, "{\"error_codes\":\"x\",\"error\":5,\"error_description\":[]}", &ctx, &e) != 0,
	   "wrong types do not crash: %s", e.msg);
}

static void test_graph(void)
{
	struct cv_err e;
	char *p;

	is_int(errors_graph(403,
			    "{\"error\":{\"code\":\"Forbidden\",\"message\":\"Missing role permissions on the request. "
			    "API requires one of 'Chat.Read.All, Chat.ReadWrite.All'. Roles on the request "
			    "'User.Read.All'.\",\"innerError\":{\"date\":\"2025-02-13T10:17:06\"}}}",
			    &ctx, &e),
	       CV_EFORBIDDEN, "403 with permissions: %s", e.msg);
	ok(has(&e, "application permission Chat.Read.All (or Chat.ReadWrite.All)") && has(&e, "admin consent"),
	   "  names the permission and the fix");
	ok(!has(&e, "User.Read.All"), "  not the roles the app has");

	p = errors_permissions("API requires one of 'A.Read.All, B.Read.All, C.Read.All'.");
	is_str(p, "A.Read.All (or B.Read.All, or C.Read.All)", "three alternatives");
	free(p);
	p = errors_permissions("API requires one of 'Chat.Read.All'.");
	is_str(p, "Chat.Read.All", "one permission");
	free(p);
	ok(errors_permissions("API requires one of '") == NULL, "unterminated: none");
	ok(errors_permissions("Insufficient privileges") == NULL, "no list: none");
	p = errors_permissions("requires one of '\x1b[31mX.Y, $(rm -rf), Z'");
	ok(p != NULL && strchr(p, '\x1b') == NULL && strchr(p, '$') == NULL, "only permission characters: %s",
	   p ? p : "(null)");
	free(p);

	is_int(errors_graph(403, "{\"error\":{\"code\":\"\",\"message\":\"Insufficient privileges to complete the "
				 "operation.\"}}",
			    &ctx, &e),
	       CV_EFORBIDDEN, "403 with an empty code: %s", e.msg);
	ok(has(&e, "HTTP 403") && has(&e, "Insufficient privileges"), "  shows the status instead of the code");

	is_int(errors_graph(402, "{\"error\":{\"code\":\"PaymentRequired\",\"message\":\"Evaluation capacity for the "
				 "month has exceeded. To continue beyond the evaluation limits complete billing "
				 "onboarding.\"}}",
			    &ctx, &e),
	       CV_EPAYMENT, "402: %s", e.msg);
	ok(has(&e, "2025-08-25") && has(&e, "Evaluation capacity"), "  explains and quotes Graph");

	is_int(errors_graph(401, "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"Access token "
				 "validation failure.\"}}",
			    &ctx, &e),
	       CV_EAUTH, "401 after a fresh token: %s", e.msg);
	is_int(errors_graph(404, "{\"error\":{\"code\":\"NotFound\",\"message\":\"\\u001b]0;x\\u0007gone\"}}", &ctx, &e),
	       CV_EGONE, "404: %s", e.msg);
	ok(clean(&e), "  server text sanitised");
	is_int(errors_graph(429, "{\"error\":{\"code\":\"TooManyRequests\",\"innerError\":{\"code\":\"429\"},"
				 "\"message\":\"Please retry again later.\"}}",
			    &ctx, &e),
	       CV_ETHROTTLED, "429 exhausted: %s", e.msg);
	is_int(errors_graph(429, "{\"error\":{\"code\":\"accessDenied\",\"message\":\"Too Many Requests\","
				 "\"innerError\":{\"code\":\"throttledRequest\"}}}",
			    &ctx, &e),
	       CV_ETHROTTLED, "429 with another code is still throttling (switch on status)");
	is_int(errors_graph(503, "{\"error\":{\"code\":\"serviceNotAvailable\",\"innererror\":{}}}", &ctx, &e),
	       CV_ESERVER, "503 with innererror spelling: %s", e.msg);
	is_int(errors_graph(400, "{\"error\":{\"code\":\"BadRequest\",\"message\":\"List chats is only supported "
				 "in delegated (on-behalf-of user) context.\"}}",
			    &ctx, &e),
	       CV_EINVAL, "400: %s", e.msg);
	is_int(errors_graph(302, "", &ctx, &e), CV_EPROTO, "redirect: %s", e.msg);
	is_int(errors_graph(409, "[]", &ctx, &e), CV_EFAIL, "409 with an odd body: %s", e.msg);
	is_int(errors_graph(500, NULL, NULL, &e), CV_ESERVER, "NULL body and context: %s", e.msg);
	{
		char big[3000], xs[2900];

		memset(xs, 'x', sizeof xs - 1);
		xs[sizeof xs - 1] = '\0';
		snprintf(big, sizeof big, "{\"error\":{\"code\":\"c\",\"message\":\"%s\"}}", xs);
		errors_graph(500, big, &ctx, &e);
		ok(strlen(e.msg) < 600 && has(&e, "..."), "a long message is shortened (%zu bytes)", strlen(e.msg));
	}
}

/* graph-facts.md §3.3, Example 1 (compacted), with its own typo in the
 * third message's timestamps */
static const char page[] =
	"{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#chats('19%3A2da4c29f6d7041eca70b638b43d45437"
	"%40thread.v2')/messages\",\"@odata.count\":3,\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/chats/"
	"19:2da4c29f6d7041eca70b638b43d45437@thread.v2/messages?$top=2&$skiptoken=M2UyZDAwMDAwMDMxMzkz\",\"value\":["
	"{\"id\":\"1616964509832\",\"replyToId\":null,\"etag\":\"1616964509832\",\"messageType\":\"message\","
	"\"createdDateTime\":\"2021-03-28T20:48:29.832Z\",\"lastModifiedDateTime\":\"2021-03-28T20:48:29.832Z\","
	"\"chatId\":\"19:2da4c29f6d7041eca70b638b43d45437@thread.v2\",\"from\":{\"application\":null,\"device\":null,"
	"\"user\":{\"id\":\"8ea0e38b-efb3-4757-924a-5f94061cf8c2\",\"displayName\":\"Robin Kline\","
	"\"userIdentityType\":\"aadUser\"}},\"body\":{\"contentType\":\"text\",\"content\":\"Hello world\"},"
	"\"attachments\":[],\"mentions\":[],\"reactions\":[],\"messageHistory\":[]},"
	"{\"id\":\"1615971548136\",\"etag\":\"1615971548136\",\"messageType\":\"message\","
	"\"createdDateTime\":\"2021-03-17T08:59:08.136Z\",\"lastModifiedDateTime\":\"2021-03-17T08:59:08.136Z\","
	"\"body\":{\"contentType\":\"html\",\"content\":\"<div><img src=\\\"x\\\"></div>\"}},"
	"{\"id\":\"1615943825123\",\"etag\":\"1615943825123\",\"messageType\":\"unknownFutureValue\","
	"\"createdDateTime\":\"2021-03-1706:47:05.123Z\",\"lastModifiedDateTime\":\"2021-03-1706:47:05.123Z\","
	"\"from\":null,\"body\":{\"contentType\":\"html\",\"content\":\"<systemEventMessage/>\"},"
	"\"eventDetail\":{\"@odata.type\":\"#microsoft.graph.chatRenamedEventMessageDetail\","
	"\"chatDisplayName\":\"Graph Members\",\"initiator\":{\"user\":{\"id\":\"1fb8890f-423e-4154-8fbf-db6809bc8756\","
	"\"displayName\":null}}}}]}";

static void test_paging(void)
{
	cJSON *p = cJSON_Parse(page), *v, *m;
	int n = 0, good = 0, bad = 0;

	ok(p != NULL, "example page parses");
	v = graph_page_value(p);
	ok(v != NULL && cJSON_GetArraySize(v) == 3, "value has 3 messages");
	ok(graph_page_next(p) != NULL && strstr(graph_page_next(p), "$skiptoken=") != NULL, "nextLink found");
	ok(graph_page_delta(p) == NULL, "no deltaLink on a middle page");
	cJSON_ArrayForEach(m, v)
	{
		cJSON *ts = cJSON_GetObjectItemCaseSensitive(m, "lastModifiedDateTime");
		int64_t ms;

		n++;
		if (cJSON_IsString(ts) && time_parse_iso8601(ts->valuestring, &ms) == 0)
			good++;
		else
			bad++;
	}
	ok(n == 3 && good == 2 && bad == 1, "the malformed 2021-03-1706:47:05.123Z is rejected, not guessed");
	cJSON_Delete(p);

	p = cJSON_Parse("{\"value\":[],\"@odata.deltaLink\":\"https://graph.microsoft.com/v1.0/users/5ed12dd6/chats/"
			"getAllMessages/delta?$deltatoken=aQdvS1Vw\"}");
	ok(graph_page_value(p) != NULL && cJSON_GetArraySize(graph_page_value(p)) == 0, "empty last page");
	ok(graph_page_next(p) == NULL, "no nextLink on the last page");
	ok(graph_page_delta(p) != NULL && strstr(graph_page_delta(p), "$deltatoken=") != NULL, "deltaLink found");
	cJSON_Delete(p);

	p = cJSON_Parse("{\"value\":{\"a\":1},\"@odata.nextLink\":5,\"@odata.deltaLink\":\"\"}");
	ok(graph_page_value(p) == NULL && graph_page_next(p) == NULL && graph_page_delta(p) == NULL,
	   "wrong types and an empty link give NULL");
	cJSON_Delete(p);
	p = cJSON_Parse("[1,2]");
	ok(graph_page_value(p) == NULL && graph_page_next(p) == NULL, "an array page gives NULL");
	cJSON_Delete(p);
	ok(graph_page_value(NULL) == NULL && graph_page_next(NULL) == NULL && graph_page_delta(NULL) == NULL,
	   "NULL page gives NULL");
}

static void test_clouds(void)
{
	const char *l = NULL, *g = NULL;

	ok(graph_cloud_urls("global", &l, &g) == 0 && strcmp(l, "https://login.microsoftonline.com") == 0 &&
		   strcmp(g, "https://graph.microsoft.com") == 0,
	   "global cloud");
	ok(graph_cloud_urls("usgov", &l, &g) == 0 && strcmp(l, "https://login.microsoftonline.us") == 0 &&
		   strcmp(g, "https://graph.microsoft.us") == 0,
	   "US Gov");
	ok(graph_cloud_urls("usgovdod", &l, &g) == 0 && strcmp(g, "https://dod-graph.microsoft.us") == 0, "US Gov DoD");
	ok(graph_cloud_urls("china", &l, &g) == 0 && strcmp(l, "https://login.chinacloudapi.cn") == 0 &&
		   strcmp(g, "https://microsoftgraph.chinacloudapi.cn") == 0,
	   "China");
	ok(graph_cloud_urls("mars", &l, &g) == -1 && graph_cloud_urls(NULL, &l, &g) == -1, "unknown cloud");
}

int main(void)
{
	test_identity();
	test_graph();
	test_paging();
	test_clouds();
	return tap_done();
}
