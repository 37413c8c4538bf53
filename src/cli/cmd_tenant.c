/* chatvault tenant add|update|list|test|remove: the Credentials settings. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "graph/graph.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/sanitize.h"
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
	if (rc == 0 && detail) {
		/* a step that passed with a note (the export API refused) */
		char *safe = sanitize_dup(detail, sanitize_locale_is_utf8() ? 0 : SAN_ASCII);

		fprintf(stderr, "  [ok]     %s: %s\n", app_step_name(step), safe);
		free(safe);
	} else if (rc == 0) {
		fprintf(stderr, "  [ok]     %s\n", app_step_name(step));
	} else {
		fprintf(stderr, "  [failed] %s\n", app_step_name(step));
	}
}

/* The credential files an add or update names; read after the options. */
struct cred_files {
	const char *secret, *cert, *key;
	char *secret_text, *cert_text, *key_text;
};

static void cred_files_free(struct cred_files *f)
{
	cli_secret_free(&f->secret_text);
	cli_secret_free(&f->cert_text);
	cli_secret_free(&f->key_text);
}

/* Read the files into in (0), or print the error (EXIT_FAIL). */
static int cred_files_read(struct cred_files *f, struct app_tenant_input *in)
{
	struct cv_err e = {0};

	if ((f->secret && cli_read_secret_file(f->secret, "--secret-file", 1, &f->secret_text, &e)) ||
	    (f->cert && cli_read_secret_file(f->cert, "--certificate", 0, &f->cert_text, &e)) ||
	    (f->key && cli_read_secret_file(f->key, "--private-key", 0, &f->key_text, &e))) {
		cred_files_free(f);
		return cli_fail(&e);
	}
	in->secret = f->secret_text;
	in->cert_pem = f->cert_text;
	in->key_pem = f->key_text;
	return 0;
}

/* The options of tenant add and tenant update, from c->argv[from] on; update
 * takes only the credential, --test-user, the cap and the price. */
static int tenant_options(struct cli *c, int from, int update, struct app_tenant_input *in, struct cred_files *f)
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
	const char *verb = update ? "tenant update" : "tenant add";
	const char *login, *graph;
	int ch;

	memset(in, 0, sizeof *in);
	memset(f, 0, sizeof *f);
	in->monthly_limit = -1;
	while ((ch = cli_getopt(verb, c->argc - from, c->argv + from, NULL, opts)) != -1) {
		if (ch == CLI_OPTERR)
			return EXIT_USAGE;
		/* not echoed: it may be a secret that lost its option */
		if (ch == CLI_OPERAND)
			return cli_usage_error(_("%s: unexpected argument (every value follows its option)"), verb);
		if (update && strchr("tcnlLG", ch)) {
			const struct option *o = opts;

			while (o->val != ch)
				o++;
			return cli_usage_error(_("%s cannot change --%s; remove the tenant and add it again"), verb,
					       o->name);
		}
		switch (ch) {
		case 't': in->tenant_id = optarg; break;
		case 'c': in->client_id = optarg; break;
		case 's': f->secret = optarg; break;
		case 'C': f->cert = optarg; break;
		case 'k': f->key = optarg; break;
		case 'n': in->name = optarg; break;
		case 'l': in->cloud = optarg; break;
		case 'L': in->login_url = optarg; break;
		case 'G': in->graph_url = optarg; break;
		case 'u': in->test_user = optarg; break;
		case 'R': in->rs256 = 1; break;
		case 'm':
			if (update && strcmp(optarg, "none") == 0)
				in->monthly_limit = -1;
			else if (cli_parse_count(optarg, &in->monthly_limit) != 0)
				return cli_usage_error(update ? _("--monthly-limit wants a number of messages or 'none', "
								  "not '%s'")
							      : _("--monthly-limit wants a number of messages, not '%s'"),
						       optarg);
			in->change |= APP_TENANT_LIMIT;
			break;
		case 'P':
			if (cli_parse_price(optarg, &in->price_per_message) != 0)
				return cli_usage_error(_("--price-per-message wants a price in USD such as 0.00075, not '%s'"),
						       optarg);
			in->change |= APP_TENANT_PRICE;
			break;
		}
	}
	if (f->secret && f->cert)
		return cli_usage_error(_("%s: give --secret-file or --certificate, not both"), verb);
	if ((f->key || in->rs256) && !f->cert)
		return cli_usage_error(_("%s: --private-key and --rs256 go with --certificate"), verb);
	if (in->cloud && graph_cloud_urls(in->cloud, &login, &graph) != 0)
		return cli_usage_error(_("unknown cloud '%s' (use global, usgov, usgovdod or china)"), in->cloud);
	if (!update && (!in->tenant_id || !in->client_id || (!f->secret && !f->cert)))
		return cli_usage_error(_("tenant add needs --tenant-id, --client-id and one of --secret-file or --certificate"));
	if (update && !f->secret && !f->cert && !in->change)
		return cli_usage_error(_("tenant update needs a new --secret-file or --certificate, --monthly-limit "
					 "or --price-per-message"));
	if (update && in->test_user && !f->secret && !f->cert)
		return cli_usage_error(_("tenant update: --test-user goes with a new credential"));
	return 0;
}

/* tenant add and tenant update NAME: test the connection where there is a
 * credential to test, save only if it passed. */
static int tenant_save(struct cli *c, int update)
{
	struct app_tenant_input in;
	struct cred_files f;
	struct cv_err e = {0};
	struct app *a;
	int rc;

	if (update && (c->argc < 3 || c->argv[2][0] == '-'))
		return cli_usage_error(_("tenant update needs a tenant NAME"));
	if ((rc = tenant_options(c, update ? 2 : 1, update, &in, &f)) || (rc = cred_files_read(&f, &in)))
		return rc;
	if ((rc = cli_open(c, &a)) == 0) {
		/* only a credential has steps to show */
		int steps = !update || in.secret || in.cert_pem;

		if (c->verbose >= 0 && steps)
			fprintf(stderr, "%s\n", _("Test & Save Connection:"));
		rc = update ? app_tenant_update(a, c->argv[2], &in, steps ? print_step : NULL, c, &e)
			    : app_tenant_add(a, &in, print_step, c, &e);
		app_close(&a);
		if (rc) {
			rc = cli_fail(&e);
		} else if (steps) {
			printf("Status: Active\n");
		} else if (c->verbose >= 0) {
			/* only the cap or the price: no steps said it was done */
			char *t = cli_safe_dup(c->argv[2]);

			printf(_("Tenant %s updated\n"), t);
			free(t);
		}
	}
	cred_files_free(&f);
	return rc;
}

struct list_ctx {
	struct cli *c;
	cJSON *arr;
	struct cli_table *table;
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
	{
		char *status = t->reason ? xasprintf("%s: %s", t->status, t->reason) : xstrdup(t->status);
		const char *row[5] = {t->name, t->tenant_id, t->cred_kind, t->cloud, status};

		cli_table_add(l->table, row);
		free(status);
	}
	return 0;
}

int cmd_tenant(struct cli *c)
{
	struct cv_err e = {0};
	struct app *a;
	static const struct option opts[] = {
		{"delete-backups", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *sub = c->argc > 1 ? c->argv[1] : "", *name = NULL;
	int rc, ch, delete_backups = 0;

	if (strcmp(sub, "add") == 0 || strcmp(sub, "update") == 0)
		return tenant_save(c, strcmp(sub, "update") == 0);
	if (strcmp(sub, "list") && strcmp(sub, "test") && strcmp(sub, "remove"))
		return cli_usage_error(_("tenant: use add, update NAME, list, test NAME or remove NAME"));
	while ((ch = cli_getopt("tenant", c->argc - 1, c->argv + 1, NULL, opts)) != -1) {
		if (ch == CLI_OPTERR)
			return EXIT_USAGE;
		if (ch == 'd' && strcmp(sub, "remove") == 0)
			delete_backups = 1;
		else if (ch == CLI_OPERAND && strcmp(sub, "list") && !name)
			name = optarg;
		else
			return cli_usage_error(_("tenant %s: unexpected argument '%s'"), sub,
					       ch == CLI_OPERAND ? optarg : "--delete-backups");
	}
	if (strcmp(sub, "list") && !name)
		return cli_usage_error(_("tenant %s needs a tenant NAME"), sub);
	if ((rc = cli_open(c, &a)))
		return rc;
	if (strcmp(sub, "list") == 0) {
		struct list_ctx l = {c, c->json ? cJSON_CreateArray() : NULL, NULL};

		if (!c->json) {
			const char *head[5] = {_("NAME"), _("TENANT ID"), _("CREDENTIAL"), _("CLOUD"), _("STATUS")};

			l.table = cli_table_new(5, "lllll");
			cli_table_add(l.table, head);
		}
		rc = tenant_foreach(a->store->db, print_tenant, &l, &e);
		if (l.arr)
			cli_print_json(l.arr);
		if (l.table)
			cli_table_print(&l.table);
	} else if (strcmp(sub, "test") == 0) {
		rc = app_tenant_test(a, name, print_step, c, &e);
		if (rc == 0)
			printf("Status: Active\n");
	} else if ((rc = app_tenant_remove(a, name, delete_backups, &e)) == 0 && c->verbose >= 0) {
		char *t = cli_safe_dup(name);

		printf(delete_backups ? _("Tenant %s removed with its backups\n") : _("Tenant %s removed\n"), t);
		free(t);
	}
	app_close(&a);
	return rc ? cli_fail(&e) : EXIT_OK;
}
