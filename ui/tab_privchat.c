/*
 * The Private Chat tab: every account with its private chat activation,
 * backup status, last backup and counts; tagging and the bulk actions.
 * With no tenant connected yet it offers the credential form instead.
 */
#include "config.h"

#include "ui/accounts.h"

#include "app/app.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>

struct privchat_view {
	struct ui_view v;
	struct acct_table t;
	int tenants;
};

static void privchat_reload(struct ui *u, struct ui_view *v)
{
	struct privchat_view *p = (struct privchat_view *)v;
	struct app_tenant_summary *t = NULL;

	app_tenants_summary(u->app, &t, &p->tenants, NULL);
	free(t);
	acct_reload(u, &p->t);
}

static void privchat_draw(struct ui *u, struct ui_view *v, int y, int h)
{
	struct privchat_view *p = (struct privchat_view *)v;

	if (p->tenants == 0) {
		char key[32], line[256];

		ui_put(u, y + 1, 2, u->cols - 4, _("No tenant is connected yet."), UI_TITLE, 0);
		ui_put(u, y + 3, 2, u->cols - 4, _("Connect one with its Application ID and a client secret or certificate."),
		       UI_NORMAL, 0);
		ui_put(u, y + 4, 2, u->cols - 4, _("Test & Save Connection checks each step before anything is saved."),
		       UI_NORMAL, 0);
		if (!ui_command_key(CMD_CONNECT, key, sizeof key))
			snprintf(key, sizeof key, ":connect");
		snprintf(line, sizeof line, _("Press Enter or %s to open the credential form."), key);
		ui_put(u, y + 6, 2, u->cols - 4, line, UI_OK, 0);
		return;
	}
	acct_draw(u, &p->t, y, h);
}

static int privchat_command(struct ui *u, struct ui_view *v, enum ui_cmd cmd, int key)
{
	struct privchat_view *p = (struct privchat_view *)v;

	if (p->tenants == 0) {
		if (cmd == CMD_OPEN || cmd == CMD_CONNECT) {
			if (ui_connect_form(u))
				ui_reload(u);
			return 1;
		}
		return 0;
	}
	return acct_command(u, &p->t, cmd, key);
}

static void privchat_status(struct ui *u, struct ui_view *v, char *out, size_t len)
{
	struct privchat_view *p = (struct privchat_view *)v;

	if (p->tenants)
		acct_status(u, &p->t, out, len);
	else
		out[0] = '\0';
}

static void privchat_destroy(struct ui_view *v)
{
	free(v);
}

static const struct ui_view_ops privchat_ops = {
	privchat_reload, privchat_draw, privchat_command, privchat_status, privchat_destroy,
};

struct ui_view *ui_privchat_new(struct ui *u)
{
	struct privchat_view *p = xcalloc(1, sizeof *p);

	p->v.ops = &privchat_ops;
	p->v.scope = UI_SC_LIST | UI_SC_ACCOUNTS | UI_SC_ACT | UI_SC_OPEN;
	acct_init(&p->t, ACCT_PRIVCHAT);
	(void)u;
	return &p->v;
}
