/* chatvault download: export one account's chats (CLI.md). */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "export/export.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "store/tenants.h"
#include "engine/queue.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --out names a directory to write into (made if missing): something else
 * there, or one we may not write, fails now, not after the export. */
static int check_out_dir(const char *dir, struct cv_err *e)
{
	struct stat sb;

	if (stat(dir, &sb) != 0)
		return errno == ENOENT ? 0 : err_set(e, CV_EIO, _("cannot use --out %s: %s"), dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return err_set(e, CV_EINVAL, _("--out %s is not a directory"), dir);
	if (access(dir, W_OK | X_OK) != 0)
		return err_set(e, CV_EIO, _("cannot write into --out %s: %s"), dir, strerror(errno));
	return 0;
}

int cmd_download(struct cli *c)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'}, {"format", required_argument, NULL, 'f'},
		{"attachments", no_argument, NULL, 'a'}, {"from", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'T'}, {"as-of", required_argument, NULL, 'A'},
		{"chat", required_argument, NULL, 'c'}, {"out", required_argument, NULL, 'o'},
		{"zip", required_argument, NULL, 'z'}, {"tenant", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *user = NULL, *as_of = NULL, *tenant = NULL;
	struct export_request req;
	struct app_download_input in;
	struct tenant_rec t;
	struct job_row j;
	struct cv_err e = {0};
	struct app *a;
	char *out_abs = NULL;
	int64_t job, snap, when;
	int ch, rc, waited;

	memset(&req, 0, sizeof req);
	memset(&in, 0, sizeof in);
	while ((ch = cli_getopt("download", c->argc, c->argv, NULL, opts)) != -1) {
		switch (ch) {
		case CLI_OPTERR: return EXIT_USAGE;
		case CLI_OPERAND: return cli_usage_error(_("download: unexpected argument '%s'"), optarg);
		case 'u': user = optarg; break;
		case 'f': req.format = optarg; break;
		case 'a': req.attachments = 1; break;
		case 'F':
			if (time_parse_date(optarg, &req.from_ms) != 0)
				return cli_usage_error(_("--from wants a date YYYY-MM-DD, not '%s'"), optarg);
			break;
		case 'T':
			if (time_parse_date(optarg, &req.to_ms) != 0)
				return cli_usage_error(_("--to wants a date YYYY-MM-DD, not '%s'"), optarg);
			req.to_ms += 86400000LL - 1; /* inclusive: the whole day */
			break;
		case 'A': as_of = optarg; break;
		case 'c': req.chat_id = optarg; break;
		case 'o': req.out_dir = optarg; break;
		case 'z': req.zip_path = optarg; break;
		case 't': tenant = optarg; break;
		}
	}
	if (!user || !req.format || !req.out_dir == !req.zip_path)
		return cli_usage_error(_("download needs --user UPN, --format FORMAT and one of --out DIR or --zip FILE"));
	if (as_of && snapshot_spec_parse(as_of, &snap, &when) != 0)
		return cli_usage_error(_("--as-of wants a snapshot id or an ISO 8601 time, not '%s'"), as_of);
	if (!export_writer_find(req.format))
		return cli_usage_error(_("unknown format '%s' (this build writes: %s)"), req.format, export_formats());
	if (req.from_ms && req.to_ms && req.from_ms > req.to_ms)
		return cli_usage_error(_("--from is after --to"));
	/* a --zip that cannot be written fails now, not after the export */
	if (req.zip_path && (rc = fs_check_writable_file(req.zip_path, &e)))
		return cli_fail(&e);
	/* absolute: the job may run in another process, in another directory */
	if (req.out_dir && (rc = check_out_dir(req.out_dir, &e)))
		return cli_fail(&e);
	if (req.out_dir)
		out_abs = fs_absolute(req.out_dir);
	if ((rc = cli_open(c, &a))) {
		free(out_abs);
		return rc;
	}
	if ((rc = tenant_load(a->store->db, NULL, tenant, 0, &t, &e)))
		goto out_app;
	if ((rc = account_find(a->store->db, t.id, user, &in.account, &e)))
		goto out;
	if (as_of && (rc = snapshot_resolve(a->store->db, t.id, as_of, &in.as_of, &e)))
		goto out;
	if (req.chat_id && (rc = account_has_chat(a->store->db, in.account, req.chat_id, &e)))
		goto out;
	/* The download is a job like the console's: queued, run by this
	 * process's workers (or any other process on the store), waited for. */
	in.format = req.format;
	in.attachments = req.attachments;
	in.from_ms = req.from_ms;
	in.to_ms = req.to_ms;
	in.chat_id = req.chat_id;
	in.out_dir = out_abs;
	if ((rc = app_download_start(a, &in, &job, &e)) || (rc = app_engine_start_job(a, job, &e)))
		goto out;
	rc = waited = cli_wait_job(c, a, job);
	/* Partially Completed (records left out) still has a result to deliver */
	if ((waited == EXIT_OK || waited == EXIT_PARTIAL) && (rc = job_load(a->store->db, job, &j, &e)) == 0) {
		if (req.zip_path && j.result_path)
			rc = fs_copy_file(j.result_path, req.zip_path, 0600, &e);
		if (rc == 0 && c->verbose >= 0)
			fprintf(stderr, _("%lld messages written to %s\n"), (long long)j.progress_done,
				req.zip_path ? req.zip_path : req.out_dir);
		/* (cli_wait_job printed the job's note: damaged records left
		 * out, files the backup could not get) */
		if (rc == 0 && (j.problems || waited == EXIT_PARTIAL))
			rc = EXIT_PARTIAL;
		job_row_free(&j);
	}
out:
	tenant_rec_free(&t);
out_app:
	free(out_abs);
	app_close(&a);
	if (rc < 0)
		return cli_fail(&e);
	return rc;
}
