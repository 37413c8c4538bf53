/* chatvault accounts sync|list and privchat activate|deactivate. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "store/accounts.h"
#include "store/store.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options of accounts and privchat, after the subcommand: --tenant
 * NAME, and --all where all is not NULL; the operands go to rest, in
 * order. A usage error's exit status, or 0. */
static int take_options(struct cli *c, const char **tenant, int *all, const char **rest, int *nrest)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	*tenant = NULL;
	*nrest = 0;
	while ((ch = cli_getopt(c->argv[0], c->argc - 1, c->argv + 1, NULL, opts)) != -1) {
		switch (ch) {
		case 't': *tenant = optarg; break;
		case 'a':
			if (!all)
				return cli_usage_error(_("%s %s: unexpected argument '--all'"), c->argv[0], c->argv[1]);
			*all = 1;
			break;
		case CLI_OPERAND: rest[(*nrest)++] = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	return 0;
}

struct list_ctx {
	cJSON *arr;
	struct cli_table *table;
};

static int print_account(void *ctx, const struct account_row *r)
{
	struct list_ctx *l = ctx;
	char when[32] = "";

	if (r->last_backup)
		time_format_iso8601(r->last_backup, when, sizeof when);
	if (l->arr) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "upn", r->upn);
		cJSON_AddStringToObject(o, "displayName", r->display_name);
		if (r->department)
			cJSON_AddStringToObject(o, "department", r->department);
		else
			cJSON_AddNullToObject(o, "department");
		cJSON_AddStringToObject(o, "privateChat", r->privchat ? "ACTIVE" : "INACTIVE");
		cJSON_AddStringToObject(o, "status", r->status);
		if (r->reason)
			cJSON_AddStringToObject(o, "reason", r->reason);
		else
			cJSON_AddNullToObject(o, "reason");
		if (r->last_backup)
			cJSON_AddStringToObject(o, "lastBackup", when);
		else
			cJSON_AddNullToObject(o, "lastBackup");
		cJSON_AddNumberToObject(o, "chats", (double)r->chats);
		cJSON_AddNumberToObject(o, "messages", (double)r->messages);
		cJSON_AddBoolToObject(o, "accountEnabled", r->enabled);
		cJSON_AddBoolToObject(o, "inTenant", !r->gone);
		cJSON_AddItemToArray(l->arr, o);
		return 0;
	}
	{
		char messages[24];
		const char *row[8];

		snprintf(messages, sizeof messages, "%lld", (long long)r->messages);
		row[0] = r->upn;
		row[1] = r->display_name;
		row[2] = r->department ? r->department : "-";
		row[3] = r->privchat ? "ACTIVE" : "INACTIVE";
		row[4] = r->status[0] ? r->status : "-";
		row[5] = when[0] ? when : "-";
		row[6] = messages;
		row[7] = r->gone ? _("(no longer in the tenant)") : "";
		cli_table_add(l->table, row);
	}
	return 0;
}

int cmd_accounts(struct cli *c)
{
	const char *sub = c->argc > 1 ? c->argv[1] : "", *tenant, *rest[64];
	struct cv_err e = {0};
	struct app *a;
	int64_t tid;
	int rc, nrest;

	if (strcmp(sub, "sync") && strcmp(sub, "list"))
		return cli_usage_error(_("accounts: use sync or list"));
	if (c->argc > 66)
		return cli_usage_error(_("too many arguments"));
	if ((rc = take_options(c, &tenant, NULL, rest, &nrest)))
		return rc;
	if (nrest)
		return cli_usage_error(_("accounts %s: unexpected argument '%s'"), sub, rest[0]);
	if ((rc = cli_open(c, &a)))
		return rc;
	if ((rc = app_tenant_resolve(a, tenant, &tid, &e))) {
		app_close(&a);
		return cli_fail(&e);
	}
	if (strcmp(sub, "sync") == 0) {
		struct app_sync_result r;

		if ((rc = app_accounts_sync(a, tid, &r, &e)) == 0 && c->verbose >= 0)
			fprintf(stderr, _("%d accounts (%d new, %d no longer in the tenant)\n"), r.total, r.added, r.gone);
	} else {
		struct list_ctx l = {c->json ? cJSON_CreateArray() : NULL, NULL};

		if (!c->json) {
			const char *head[8] = {_("UPN"),    _("NAME"),	      _("DEPARTMENT"), _("PRIVCHAT"),
					       _("STATUS"), _("LAST BACKUP"), _("MESSAGES"),   ""};

			l.table = cli_table_new(8, "llllllrl");
			cli_table_add(l.table, head);
		}
		rc = accounts_foreach(a->store->db, tid, print_account, &l, &e);
		if (l.arr)
			cli_print_json(l.arr);
		if (l.table)
			cli_table_print(&l.table);
	}
	app_close(&a);
	return rc ? cli_fail(&e) : EXIT_OK;
}

int cmd_privchat(struct cli *c)
{
	const char *sub = c->argc > 1 ? c->argv[1] : "", *tenant;
	const char **rest;
	struct cv_err e = {0};
	struct app *a;
	int64_t tid;
	int rc, all = 0, changed = 0, n = 0;

	if (strcmp(sub, "activate") && strcmp(sub, "deactivate"))
		return cli_usage_error(_("privchat: use activate or deactivate"));
	rest = xcalloc((size_t)c->argc + 1, sizeof *rest);
	if (rest == NULL)
		return EXIT_FAIL;
	if ((rc = take_options(c, &tenant, &all, rest, &n))) {
		free(rest);
		return rc;
	}
	if (all == (n > 0)) {
		free(rest);
		return cli_usage_error(_("privchat %s needs --all or one or more UPNs"), sub);
	}
	if ((rc = cli_open(c, &a)) == 0) {
		if ((rc = app_tenant_resolve(a, tenant, &tid, &e)) == 0)
			rc = app_privchat_set(a, tid, all ? NULL : rest, n, strcmp(sub, "activate") == 0, &changed, &e);
		app_close(&a);
		if (rc)
			rc = cli_fail(&e);
		else if (c->verbose >= 0)
			fprintf(stderr, P_("%d account changed\n", "%d accounts changed\n", changed), changed);
	}
	free(rest);
	return rc;
}
