/* chatvault tenant add|list|test|remove: the Credentials settings. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_step(void *ctx, enum app_step step, int rc, const char *detail)
{
	struct cli *c = ctx;

	if (c->verbose < 0 || rc == 1)
		return;
	if (rc == 0)
		fprintf(stderr, "  [ok]     %s\n", app_step_name(step));
	else
		fprintf(stderr, "  [failed] %s\n", app_step_name(step));
	(void)detail;
}

static int tenant_add(struct cli *c)
{
	static const struct option opts[] = {
		{"tenant-id", required_argument, NULL, 't'}, {"client-id", required_argument, NULL, 'c'},
		{"secret-file", required_argument, NULL, 's'}, {"certificate", required_argument, NULL, 'C'},
		{"private-key", required_argument, NULL, 'k'}, {"name", required_argument, NULL, 'n'},
		{"cloud", required_argument, NULL, 'l'}, {"login-url", required_argument, NULL, 'L'},
		{"graph-url", required_argument, NULL, 'G'}, {"test-user", required_argument, NULL, 'u'},
		{"monthly-limit", required_argument, NULL, 'm'}, {"price-per-message", required_argument, NULL, 'P'},
		{"rs256", no_argument, NULL, 'R'}, {NULL, 0, NULL, 0},
	};
	struct app_tenant_input in;
	const char *secret_file = NULL, *cert_file = NULL, *key_file = NULL;
	char *secret = NULL, *cert = NULL, *key = NULL;
	struct cv_err e = {0};
	struct app *a;
	int ch, rc;

	memset(&in, 0, sizeof in);
	in.monthly_limit = -1;
	while ((ch = getopt_long(c->argc - 1, c->argv + 1, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': in.tenant_id = optarg; break;
		case 'c': in.client_id = optarg; break;
		case 's': secret_file = optarg; break;
		case 'C': cert_file = optarg; break;
		case 'k': key_file = optarg; break;
		case 'n': in.name = optarg; break;
		case 'l': in.cloud = optarg; break;
		case 'L': in.login_url = optarg; break;
		case 'G': in.graph_url = optarg; break;
		case 'u': in.test_user = optarg; break;
		case 'm': in.monthly_limit = strtoll(optarg, NULL, 10); break;
		case 'P': in.price_per_message = strtod(optarg, NULL); break;
		case 'R': in.rs256 = 1; break;
		default: return cli_usage_error(_("tenant add: bad option"));
		}
	}
	if (!in.tenant_id || !in.client_id || (!secret_file == !cert_file))
		return cli_usage_error(_("tenant add needs --tenant-id, --client-id and one of --secret-file or --certificate"));
	if (secret_file && cli_read_secret_file(secret_file, 1, &secret, &e))
		return cli_fail(&e);
	if (cert_file && cli_read_secret_file(cert_file, 0, &cert, &e))
		return cli_fail(&e);
	if (key_file && cli_read_secret_file(key_file, 0, &key, &e)) {
		cli_secret_free(&cert);
		return cli_fail(&e);
	}
	in.secret = secret;
	in.cert_pem = cert;
	in.key_pem = key;
	if ((rc = cli_open(c, &a)) == 0) {
		if (c->verbose >= 0)
			fprintf(stderr, "%s\n", _("Test & Save Connection:"));
		rc = app_tenant_add(a, &in, print_step, c, &e);
		app_close(&a);
		if (rc)
			rc = cli_fail(&e);
		else
			printf("Status: Active\n");
	}
	cli_secret_free(&secret);
	cli_secret_free(&cert);
	cli_secret_free(&key);
	return rc;
}

struct list_ctx {
	struct cli *c;
	cJSON *arr;
};

static int print_tenant(void *ctx, const struct tenant_rec *t)
{
	struct list_ctx *l = ctx;

	if (l->arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", t->name);
		cJSON_AddStringToObject(o, "tenantId", t->tenant_id);
		cJSON_AddStringToObject(o, "clientId", t->client_id);
		cJSON_AddStringToObject(o, "credential", t->cred_kind);
		cJSON_AddStringToObject(o, "cloud", t->cloud);
		cJSON_AddStringToObject(o, "status", t->status);
		if (t->reason)
			cJSON_AddStringToObject(o, "reason", t->reason);
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	cli_print_safe(t->name, 32);
	printf(" %-38s %-12s %-8s ", t->tenant_id, t->cred_kind, t->cloud);
	cli_print_safe(t->status, 0);
	if (t->reason) {
		fputs(": ", stdout);
		cli_print_safe(t->reason, 0);
	}
	putchar('\n');
	return 0;
}

int cmd_tenant(struct cli *c)
{
	struct cv_err e = {0};
	struct app *a;
	const char *sub = c->argc > 1 ? c->argv[1] : "";
	int rc;

	if (strcmp(sub, "add") == 0)
		return tenant_add(c);
	if (strcmp(sub, "list") && strcmp(sub, "test") && strcmp(sub, "remove"))
		return cli_usage_error(_("tenant: use add, list, test NAME or remove NAME"));
	if (strcmp(sub, "list") && c->argc != 3)
		return cli_usage_error(_("tenant %s needs a tenant NAME"), sub);
	if ((rc = cli_open(c, &a)))
		return rc;
	if (strcmp(sub, "list") == 0) {
		struct list_ctx l = {c, c->json ? cJSON_CreateArray() : NULL};

		if (!c->json)
			printf("%-32s %-38s %-12s %-8s %s\n", _("NAME"), _("TENANT ID"), _("CREDENTIAL"), _("CLOUD"),
			       _("STATUS"));
		rc = tenant_foreach(a->store->db, print_tenant, &l, &e);
		if (l.arr) {
			char *s = cJSON_Print(l.arr);

			puts(s);
			cJSON_free(s);
			cJSON_Delete(l.arr);
		}
	} else if (strcmp(sub, "test") == 0) {
		rc = app_tenant_test(a, c->argv[2], print_step, c, &e);
		if (rc == 0)
			printf("Status: Active\n");
	} else {
		rc = app_tenant_remove(a, c->argv[2], &e);
	}
	app_close(&a);
	return rc ? cli_fail(&e) : EXIT_OK;
}
