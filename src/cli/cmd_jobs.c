/* chatvault backup, run, snapshots, usage and jobs. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "app/schedule.h"
#include "engine/engine.h"
#include "engine/queue.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cmd_backup(struct cli *c)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'a'},
		{"per-chat", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *tenant = NULL, **upns;
	struct cv_err e = {0};
	struct app *a;
	int64_t tid, job, *ids = NULL;
	unsigned flags = 0;
	int i, n = 0, nupns = 0, nskip = 0, all = 0, rc, ch;

	upns = xcalloc((size_t)c->argc, sizeof *upns);
	while ((ch = cli_getopt(c->argv[0], c->argc, c->argv, NULL, opts)) != -1) {
		switch (ch) {
		case 't': tenant = optarg; break;
		case 'a': all = 1; break;
		case 'p': flags |= APP_BACKUP_PER_CHAT; break;
		case CLI_OPERAND: upns[nupns++] = optarg; break;
		default: free(upns); return EXIT_USAGE;
		}
	}
	if (all && nupns) {
		free(upns);
		return cli_usage_error(_("backup: give --all or UPNs, not both"));
	}
	if ((rc = cli_open(c, &a))) {
		free(upns);
		return rc;
	}
	ids = xcalloc((size_t)c->argc, sizeof *ids);
	if ((rc = app_tenant_resolve(a, tenant, &tid, &e)))
		goto fail;
	for (i = 0; i < nupns; i++) {
		int64_t active;

		if ((rc = account_find(a->store->db, tid, upns[i], &ids[n], &e)) ||
		    (rc = catalog_int_by_id(a->store->db, "SELECT privchat FROM accounts WHERE id = ?1", ids[n], &active,
					    &e)))
			goto fail;
		/* The backup takes only ACTIVE accounts: one named here that is
		 * not would be left out without a word. Those move to the
		 * front of upns[]. */
		if (active)
			n++;
		else
			upns[nskip++] = upns[i];
	}
	if (nupns && n == 0) {
		struct buf names = BUF_INIT;

		for (i = 0; i < nskip; i++)
			buf_printf(&names, "%s%s", i ? ", " : "", upns[i]);
		err_set(&e, CV_EINVAL,
			_("private chat backup is INACTIVE for %s, so nothing was backed up; activate it first with "
			  "'chatvault privchat activate UPN...'"),
			buf_str(&names));
		buf_free(&names);
		goto fail;
	}
	for (i = 0; i < nskip; i++)
		cli_warn(_("%s is left out: its private chat backup is INACTIVE (chatvault privchat activate %s)"),
			 upns[i], upns[i]);
	if ((rc = app_engine_start(a, 0, &e)) || (rc = app_backup_start(a, tid, n ? ids : NULL, n, flags, &job, &e)))
		goto fail;
	free(ids);
	free(upns);
	rc = cli_wait_job(c, a, job);
	app_close(&a);
	return rc;
fail:
	free(ids);
	free(upns);
	app_close(&a);
	return cli_fail(&e);
}

/* How often `run` looks at the schedule. */
#define SCHEDULE_TICK_S 20

int cmd_run(struct cli *c)
{
	static const struct option opts[] = {
		{"at", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	const char *at = SCHEDULE_DEFAULT;
	struct schedule sched;
	atomic_int *stop;
	struct cv_err e = {0};
	struct app *a;
	int rc, i, ch;

	while ((ch = cli_getopt(c->argv[0], c->argc, c->argv, NULL, opts)) != -1) {
		if (ch == CLI_OPTERR)
			return EXIT_USAGE;
		if (ch != 'a')
			return cli_usage_error(_("run takes only --at TIMES"));
		at = optarg;
	}
	if (schedule_parse(at, &sched, &e) != 0)
		return cli_usage_error("%s", e.msg);
	if ((rc = cli_open(c, &a)))
		return rc;
	stop = cli_install_stop_signals();
	if ((rc = app_engine_start(a, 0, &e))) {
		app_close(&a);
		return cli_fail(&e);
	}
	if (c->verbose >= 0) {
		if (sched.n)
			fprintf(stderr, _("chatvault engine running; backups every day at %s (local time); stop with "
					  "SIGTERM or Ctrl-C\n"),
				at);
		else
			fprintf(stderr, "%s\n", _("chatvault engine running queued jobs only; stop with SIGTERM or Ctrl-C"));
	}
	while (!*stop) {
		int queued = 0;

		if (sched.n && app_schedule_tick(a, &sched, at, time_now_ms(), &queued, &e) != 0)
			fprintf(stderr, _("chatvault: the schedule could not be checked: %s\n"), e.msg);
		else if (queued && c->verbose >= 0)
			fprintf(stderr, P_("scheduled backup queued for %d tenant\n",
					   "scheduled backups queued for %d tenants\n", queued),
				queued);
		/* a signal cuts the sleep short */
		for (i = 0; i < SCHEDULE_TICK_S * 10 && !*stop; i++)
			usleep(100000);
	}
	if (c->verbose >= 0)
		fprintf(stderr, "%s\n", _("stopping after the page in flight"));
	app_close(&a); /* joins the workers and gives back their leases */
	return EXIT_OK;
}

static void iso_or_null(cJSON *o, const char *key, int64_t ms)
{
	char t[ISO8601_LEN];

	if (ms <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	time_format_iso8601(ms, t, sizeof t);
	cJSON_AddStringToObject(o, key, t);
}

/* The only argument of snapshots and usage: [--tenant NAME]. A usage
 * error's exit status, or 0. */
static int tenant_opt(struct cli *c, const char **tenant)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	*tenant = NULL;
	while ((ch = cli_getopt(c->argv[0], c->argc, c->argv, NULL, opts)) != -1) {
		if (ch == CLI_OPTERR)
			return EXIT_USAGE;
		if (ch == CLI_OPERAND)
			return cli_usage_error(_("%s: unexpected argument '%s'"), c->argv[0], optarg);
		*tenant = optarg;
	}
	return 0;
}

int cmd_snapshots(struct cli *c)
{
	struct cv_err e = {0};
	struct app *a;
	sqlite3_stmt *st;
	cJSON *arr = NULL;
	const char *tenant;
	int64_t tid;
	int rc;

	if ((rc = tenant_opt(c, &tenant)) || (rc = cli_open(c, &a)))
		return rc;
	if ((rc = app_tenant_resolve(a, tenant, &tid, &e)) ||
	    (rc = catalog_prepare(a->store->db,
				  "SELECT id, started, finished, status, messages_added FROM snapshots"
				  " WHERE tenant = ? ORDER BY id",
				  &st, &e))) {
		app_close(&a);
		return cli_fail(&e);
	}
	sqlite3_bind_int64(st, 1, tid);
	if (c->json)
		arr = cJSON_CreateArray();
	else
		printf("%-6s %-26s %-26s %-22s %s\n", _("ID"), _("STARTED"), _("FINISHED"), _("STATUS"),
		       _("NEW VERSIONS"));
	while (sqlite3_step(st) == SQLITE_ROW) {
		char s1[ISO8601_LEN] = "-", s2[ISO8601_LEN] = "-";

		if (arr) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
			iso_or_null(o, "started", sqlite3_column_int64(st, 1));
			iso_or_null(o, "finished", sqlite3_column_int64(st, 2));
			cJSON_AddStringToObject(o, "status", catalog_text(st, 3));
			cJSON_AddNumberToObject(o, "messagesAdded", (double)sqlite3_column_int64(st, 4));
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		time_format_iso8601(sqlite3_column_int64(st, 1), s1, sizeof s1);
		if (sqlite3_column_int64(st, 2))
			time_format_iso8601(sqlite3_column_int64(st, 2), s2, sizeof s2);
		printf("%-6lld %-26s %-26s %-22s %lld\n", (long long)sqlite3_column_int64(st, 0), s1, s2,
		       catalog_text(st, 3), (long long)sqlite3_column_int64(st, 4));
	}
	sqlite3_finalize(st);
	if (arr)
		cli_print_json(arr);
	app_close(&a);
	return EXIT_OK;
}

int cmd_usage(struct cli *c)
{
	struct cv_err e = {0};
	struct tenant_rec t;
	struct app *a;
	sqlite3_stmt *st;
	int64_t tid, requests = 0, throttled = 0, messages = 0;
	char month[24];
	time_t now = time(NULL);
	struct tm tm;
	const char *tenant;
	int rc;

	gmtime_r(&now, &tm);
	snprintf(month, sizeof month, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	if ((rc = tenant_opt(c, &tenant)) || (rc = cli_open(c, &a)))
		return rc;
	if ((rc = app_tenant_resolve(a, tenant, &tid, &e)) || (rc = tenant_load_id(a->store->db, NULL, tid, 0, &t, &e))) {
		app_close(&a);
		return cli_fail(&e);
	}
	if (catalog_prepare(a->store->db, "SELECT requests, throttled, messages FROM usage WHERE tenant = ? AND month = ?",
			    &st, &e) == 0) {
		sqlite3_bind_int64(st, 1, tid);
		sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			requests = sqlite3_column_int64(st, 0);
			throttled = sqlite3_column_int64(st, 1);
			messages = sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	if (c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "tenant", t.name);
		cJSON_AddStringToObject(o, "month", month);
		cJSON_AddNumberToObject(o, "requests", (double)requests);
		cJSON_AddNumberToObject(o, "throttled", (double)throttled);
		cJSON_AddNumberToObject(o, "messages", (double)messages);
		if (t.monthly_limit >= 0)
			cJSON_AddNumberToObject(o, "monthlyLimit", (double)t.monthly_limit);
		else
			cJSON_AddNullToObject(o, "monthlyLimit");
		cJSON_AddNumberToObject(o, "pricePerMessage", t.price_per_message);
		cJSON_AddNumberToObject(o, "estimatedCost", t.price_per_message * (double)messages);
		cli_print_json(o);
	} else {
		fputs(_("Tenant:            "), stdout);
		cli_print_safe(t.name);
		putchar('\n');
		printf(_("Month (UTC):       %s\n"), month);
		printf(_("Requests:          %lld\n"), (long long)requests);
		printf(_("Answered 429:      %lld\n"), (long long)throttled);
		printf(_("Messages:          %lld\n"), (long long)messages);
		if (t.monthly_limit >= 0)
			printf(_("Monthly cap:       %lld messages\n"), (long long)t.monthly_limit);
		else
			printf(_("Monthly cap:       none\n"));
		printf(_("Estimated cost:    %.2f USD (at %.5f per message)\n"), t.price_per_message * (double)messages,
		       t.price_per_message);
	}
	tenant_rec_free(&t);
	app_close(&a);
	return EXIT_OK;
}

/* jobs cancel ID: the job stops after the page or message batch in flight;
 * what it saved stays saved. */
static int jobs_cancel(struct cli *c, const char *arg)
{
	struct cv_err e = {0};
	struct app *a;
	char *end;
	long long id = strtoll(arg, &end, 10);
	int rc;

	if (*arg == '\0' || *end != '\0' || id <= 0)
		return cli_usage_error(_("jobs cancel: '%s' is not a job number"), arg);
	if ((rc = cli_open(c, &a)))
		return rc;
	if ((rc = app_job_cancel(a, id, &e)) == 0 && c->verbose >= 0) {
		struct job_row j;
		int64_t busy = -1;

		/* The cancel is a flag the process running the job acts on; this
		 * one runs no engine. A job no live process holds (On Queue, or
		 * its process killed) ends when one next runs the queue: finishing
		 * it here would skip what its own end records. */
		if (job_load(a->store->db, id, &j, &e) == 0) {
			if (queue_tenant_busy(a->store->db, j.tenant, &busy, &e) != 0)
				busy = -1;
			job_row_free(&j);
		}
		if (busy == id)
			printf(_("Job %lld: cancel requested; it stops after the page in flight\n"), id);
		else if (busy == 0)
			printf(_("Job %lld: cancel requested; no process is running it now, so it ends as Cancelled "
				 "when one next runs the queue (chatvault run, a backup, a download or the console)\n"),
			       id);
		else
			printf(_("Job %lld: cancel requested; it stops after the page in flight, or when a process "
				 "next runs the queue if none is running it now\n"),
			       id);
	}
	app_close(&a);
	return rc ? cli_fail(&e) : EXIT_OK;
}

int cmd_jobs(struct cli *c)
{
	static const struct option opts[] = {
		{"kind", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	const char *kind = NULL;
	struct cv_err e = {0};
	struct app *a;
	sqlite3_stmt *st;
	cJSON *arr = NULL;
	int ch, rc;

	if (c->argc == 3 && strcmp(c->argv[1], "cancel") == 0)
		return jobs_cancel(c, c->argv[2]);
	if (c->argc < 2 || strcmp(c->argv[1], "list") != 0)
		return cli_usage_error(_("jobs: use 'jobs list [--kind KIND] [--json]' or 'jobs cancel ID'"));
	while ((ch = cli_getopt("jobs list", c->argc - 1, c->argv + 1, NULL, opts)) != -1) {
		if (ch == CLI_OPTERR)
			return EXIT_USAGE;
		if (ch == CLI_OPERAND)
			return cli_usage_error(_("jobs list: unexpected argument '%s'"), optarg);
		kind = optarg;
	}
	if (kind && strcmp(kind, "backup") && strcmp(kind, "download") && strcmp(kind, "restore") &&
	    strcmp(kind, "migrate"))
		return cli_usage_error(_("jobs list: --kind is backup, download, restore or migrate, not '%s'"), kind);
	if ((rc = cli_open(c, &a)))
		return rc;
	if ((rc = catalog_prepare(a->store->db,
				  "SELECT id, kind, status, reason, progress_done, progress_total, created, started,"
				  " finished, result_path, result_size, note FROM jobs WHERE ?1 IS NULL OR kind = ?1 ORDER BY id",
				  &st, &e))) {
		app_close(&a);
		return cli_fail(&e);
	}
	if (kind)
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (c->json)
		arr = cJSON_CreateArray();
	else
		printf("%-6s %-9s %-22s %-12s %s\n", _("ID"), _("KIND"), _("STATUS"), _("PROGRESS"), _("DETAIL"));
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (arr) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
			cJSON_AddStringToObject(o, "kind", catalog_text(st, 1));
			cJSON_AddStringToObject(o, "status", catalog_text(st, 2));
			if (sqlite3_column_type(st, 3) != SQLITE_NULL)
				cJSON_AddStringToObject(o, "reason", catalog_text(st, 3));
			cJSON_AddNumberToObject(o, "done", (double)sqlite3_column_int64(st, 4));
			cJSON_AddNumberToObject(o, "total", (double)sqlite3_column_int64(st, 5));
			iso_or_null(o, "created", sqlite3_column_int64(st, 6));
			iso_or_null(o, "started", sqlite3_column_int64(st, 7));
			iso_or_null(o, "finished", sqlite3_column_int64(st, 8));
			if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
				cJSON_AddStringToObject(o, "result", catalog_text(st, 9));
				cJSON_AddNumberToObject(o, "resultSize", (double)sqlite3_column_int64(st, 10));
			}
			if (sqlite3_column_type(st, 11) != SQLITE_NULL)
				cJSON_AddStringToObject(o, "note", catalog_text(st, 11));
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		printf("%-6lld %-9s %-22s %5lld/%-6lld ", (long long)sqlite3_column_int64(st, 0), catalog_text(st, 1),
		       catalog_text(st, 2), (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5));
		if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			cli_print_safe(catalog_text(st, 9));
		else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			cli_print_safe(catalog_text(st, 3));
		else if (sqlite3_column_type(st, 11) != SQLITE_NULL)
			cli_print_safe(catalog_text(st, 11));
		putchar('\n');
	}
	sqlite3_finalize(st);
	if (arr)
		cli_print_json(arr);
	app_close(&a);
	return EXIT_OK;
}
