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
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	struct export_result res;
	struct tenant_rec t;
	struct cv_err e = {0};
	struct app *a;
	char *staging = NULL, user_id[256] = "";
	int ch, rc;

	memset(&req, 0, sizeof req);
	while ((ch = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
		switch (ch) {
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
		default: return cli_usage_error(_("download: bad option"));
		}
	}
	if (!user || !req.format || (!req.out_dir && !req.zip_path))
		return cli_usage_error(_("download needs --user UPN, --format FORMAT and --out DIR or --zip FILE"));
	if (!export_writer_find(req.format))
		return cli_usage_error(_("unknown format '%s' (this build writes: %s)"), req.format, export_formats());
	if (req.from_ms && req.to_ms && req.from_ms > req.to_ms)
		return cli_usage_error(_("--from is after --to"));
	if ((rc = cli_open(c, &a)))
		return rc;
	if ((rc = tenant_load(a->store->db, NULL, tenant, 0, &t, &e)))
		goto out_app;
	req.tenant = t.id;
	req.tenant_guid = t.tenant_id;
	if ((rc = account_find(a->store->db, t.id, user, &req.account, &e)))
		goto out;
	if ((rc = catalog_text_by_id(a->store->db, "SELECT user_id FROM accounts WHERE id = ?1", req.account, user_id,
				     sizeof user_id, &e)))
		goto out;
	req.account_user_id = user_id;
	if (as_of && (rc = snapshot_resolve(a->store->db, t.id, as_of, &req.as_of, &e)))
		goto out;
	if (!req.out_dir) {
		staging = xasprintf("%s/.staging-%ld", a->store->downloads_dir, (long)getpid());
		req.staging_dir = staging;
	}
	rc = export_run(a->store->db, a->store->vault, &req, &res, &e);
	if (rc == 0) {
		app_audit(a, "download", user, req.format);
		if (c->verbose >= 0)
			fprintf(stderr, _("%lld chats, %lld messages, %lld files written to %s\n"), (long long)res.chats,
				(long long)res.messages, (long long)res.files, req.zip_path ? req.zip_path : req.out_dir);
		if (res.integrity_errors) {
			fprintf(stderr,
				P_("%lld stored record failed its integrity check and was left out\n",
				   "%lld stored records failed their integrity check and were left out\n",
				   res.integrity_errors),
				(long long)res.integrity_errors);
			rc = EXIT_PARTIAL;
		}
	}
out:
	tenant_rec_free(&t);
out_app:
	free(staging);
	app_close(&a);
	if (rc < 0)
		return cli_fail(&e);
	return rc;
}
