/*
 * The Dashboard: per tenant the credential status, accounts backed up,
 * last run, messages stored and this month's usage; the running jobs with
 * progress bars; then every account with its backup status and reason.
 */
#include "config.h"

#include "ui/accounts.h"

#include "app/app.h"
#include "app/schedule.h"
#include "util/timeutil.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_TENANTS_MAX 3
#define DASH_JOBS_MAX 3

struct dashboard_view {
	struct ui_view v;
	struct acct_table t;
	struct app_tenant_summary *tenants;
	int ntenants;
	struct app_job_row *jobs;
	int njobs;
	int64_t next_run;   /* the running scheduler's next slot, 0 if none runs */
};

static void dashboard_reload(struct ui *u, struct ui_view *v)
{
	struct dashboard_view *d = (struct dashboard_view *)v;
	int i, k;

	free(d->tenants);
	free(d->jobs);
	app_tenants_summary(u->app, &d->tenants, &d->ntenants, NULL);
	d->next_run = app_schedule_next_run(u->app, time_now_ms());
	/* With one tenant selected, show only it. */
	for (i = k = 0; i < d->ntenants; i++)
		if (!u->tenant || d->tenants[i].id == u->tenant)
			d->tenants[k++] = d->tenants[i];
	d->ntenants = k;
	app_jobs_list(u->app, NULL, DASH_JOBS_MAX, &d->jobs, &d->njobs, NULL);
	for (i = k = 0; i < d->njobs; i++)
		if (d->jobs[i].running)
			d->jobs[k++] = d->jobs[i];
	d->njobs = k;
	acct_reload(u, &d->t);
}

static void draw_tenant(struct ui *u, const struct app_tenant_summary *t, int64_t next_run, int y)
{
	char line[1024], last[32], next[32], cap[64], msgs[32], month[32];

	ui_time(t->last_run, last, sizeof last);
	ui_count(t->messages, msgs, sizeof msgs);
	ui_count(t->month_messages, month, sizeof month);
	if (t->monthly_limit >= 0)
		snprintf(cap, sizeof cap, "%lld", (long long)t->monthly_limit);
	else
		snprintf(cap, sizeof cap, "%s", _("no cap"));
	ui_put(u, y, 1, 24, t->name, UI_TITLE, 1);
	ui_put(u, y, 26, 22, t->status, strcmp(t->status, "Active") ? UI_ERROR : UI_OK, 1);
	/* The scheduler passes over a tenant that is not Active or has no
	 * ACTIVE account. */
	if (next_run && strcmp(t->status, "Active") == 0 && t->active > 0)
		ui_time(next_run, next, sizeof next);
	else
		snprintf(next, sizeof next, "%s", _("not scheduled"));
	snprintf(line, sizeof line, _("backed up %lld/%lld · last run %s · next run %s"), (long long)t->backed_up,
		 (long long)t->active, last, next);
	ui_put(u, y, 49, u->cols - 50, line, UI_NORMAL, 0);
	snprintf(line, sizeof line, _("messages stored %s · this month %s messages, %lld requests (%lld throttled) · cap %s"),
		 msgs, month, (long long)t->month_requests, (long long)t->month_throttled, cap);
	ui_put(u, y + 1, 3, u->cols - 4, line, UI_DIM, 0);
	if (t->reason[0])
		ui_put(u, y + 1, 3, u->cols - 4, t->reason, UI_ERROR, 0);
}

static void draw_job(struct ui *u, const struct app_job_row *j, int y)
{
	char label[320], count[64];
	int bar = u->cols >= 100 ? 30 : 20;

	snprintf(label, sizeof label, "#%lld %s %s", (long long)j->id, j->kind, j->tenant);
	ui_put(u, y, 1, 28, label, UI_NORMAL, 1);
	ui_put(u, y, 30, 20, j->status, strcmp(j->status, "Retrying") ? UI_NORMAL : UI_WARN, 1);
	if (j->total_final) {
		ui_progress(u, y, 51, bar, j->done, j->total);
		snprintf(count, sizeof count, "%lld/%lld", (long long)j->done, (long long)j->total);
	} else {
		/* A percentage of a total still growing would fall back
		 * later: the counts alone until the run is planned. */
		ui_put(u, y, 51, bar, _("planning the run"), UI_DIM, 1);
		snprintf(count, sizeof count, _("%lld/%lld so far"), (long long)j->done, (long long)j->total);
	}
	ui_put(u, y, 52 + bar, u->cols - 53 - bar, j->reason[0] ? j->reason : count, UI_DIM, 0);
}

static void dashboard_draw(struct ui *u, struct ui_view *v, int y, int h)
{
	struct dashboard_view *d = (struct dashboard_view *)v;
	int i, row = y, nt = d->ntenants < DASH_TENANTS_MAX ? d->ntenants : DASH_TENANTS_MAX;

	if (d->ntenants == 0) {
		ui_put(u, row + 1, 2, u->cols - 4, _("No tenant is connected yet. Press 2 for the Private Chat tab to connect one."),
		       UI_TITLE, 0);
		return;
	}
	for (i = 0; i < nt; i++, row += 2)
		draw_tenant(u, &d->tenants[i], d->next_run, row);
	if (d->ntenants > nt) {
		char more[128];

		snprintf(more, sizeof more, _("and %d more tenants (F2 picks one)"), d->ntenants - nt);
		ui_put(u, row++, 3, u->cols - 4, more, UI_DIM, 0);
	}
	if (d->njobs > 0) {
		ui_put(u, row++, 1, u->cols - 2, _("Running jobs"), UI_TITLE, 0);
		for (i = 0; i < d->njobs; i++)
			draw_job(u, &d->jobs[i], row++);
	}
	if (y + h - row >= 3)
		acct_draw(u, &d->t, row, y + h - row);
}

static int dashboard_command(struct ui *u, struct ui_view *v, enum ui_cmd cmd, int key)
{
	return acct_command(u, &((struct dashboard_view *)v)->t, cmd, key);
}

static void dashboard_status(struct ui *u, struct ui_view *v, char *out, size_t len)
{
	acct_status(u, &((struct dashboard_view *)v)->t, out, len);
}

static void dashboard_destroy(struct ui_view *v)
{
	struct dashboard_view *d = (struct dashboard_view *)v;

	free(d->tenants);
	free(d->jobs);
	free(d);
}

static const struct ui_view_ops dashboard_ops = {
	dashboard_reload, dashboard_draw, dashboard_command, dashboard_status, dashboard_destroy,
};

struct ui_view *ui_dashboard_new(struct ui *u)
{
	struct dashboard_view *d = xcalloc(1, sizeof *d);

	d->v.ops = &dashboard_ops;
	d->v.scope = UI_SC_LIST | UI_SC_ACCOUNTS | UI_SC_OPEN;
	acct_init(&d->t, ACCT_DASHBOARD);
	(void)u;
	return &d->v;
}
