/*
 * Use cases shared by the console and the CLI.
 */
#include "config.h"

#include "app/app.h"
#include "app/view.h"
#include "backup/backup.h"
#include "engine/engine.h"
#include "engine/queue.h"
#include "export/export.h"
#include "export/job.h"
#include "graph/graph.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/files.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "store/tenants.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct app *app_new(struct store *s)
{
	struct app *a = xcalloc(1, sizeof *a);
	struct passwd *pw = getpwuid(getuid());

	a->store = s;
	snprintf(a->actor, sizeof a->actor, "%s", pw && pw->pw_name ? pw->pw_name : "unknown");
	backup_register();
	download_register();
	/* Finished downloads past their keep time are deleted whenever the
	 * store is opened (console, CLI, or the headless engine). */
	download_expire(s->db, s->downloads_dir, time_now_ms(), download_keep_days(), NULL, NULL);
	return a;
}

int app_open(const char *home, const char *secret, size_t len, int use_recovery, struct app **out,
	     struct cv_err *e)
{
	struct store *s;
	int rc;

	*out = NULL;
	if ((rc = store_open(home, secret, len, use_recovery, &s, e)))
		return rc;
	*out = app_new(s);
	return 0;
}

int app_init(const char *home, const char *pass, size_t len, char *recovery, struct app **out,
	     struct cv_err *e)
{
	struct store *s;
	int rc;

	*out = NULL;
	if ((rc = store_init(home, pass, len, recovery, &s, e)))
		return rc;
	*out = app_new(s);
	app_audit(*out, "init", home, NULL);
	return 0;
}

void app_close(struct app **ap)
{
	struct app *a = *ap;

	if (a == NULL)
		return;
	engine_free(&a->engine);
	store_close(&a->store);
	free(a);
	*ap = NULL;
}

static int engine_start_for(struct app *a, int workers, int64_t only_job, struct cv_err *e)
{
	const char *env = getenv("CHATVAULT_WORKERS");

	if (a->engine)
		return 0;
	if (workers <= 0)
		workers = env && atoi(env) > 0 ? atoi(env) : 8;
	return engine_start(a->store, workers, only_job, &a->engine, e);
}

int app_engine_start(struct app *a, int workers, struct cv_err *e)
{
	return engine_start_for(a, workers, 0, e);
}

int app_engine_start_job(struct app *a, int64_t job, struct cv_err *e)
{
	return engine_start_for(a, 0, job, e);
}

/* Between two looks at the lock: short enough that a wait ends soon
 * after the lock is released, long enough not to spin. */
#define BUSY_STEP_MS 20

static int on_busy(void *ctx, int count)
{
	struct app *a = ctx;
	struct timespec step = {0, BUSY_STEP_MS * 1000000L};
	int64_t now = time_mono_ms();

	if (count == 0)
		a->busy_since = now;
	if (!a->busy_fn(a->busy_ctx, now - a->busy_since))
		return 0;
	nanosleep(&step, NULL);
	return 1;
}

void app_set_busy_wait(struct app *a, app_busy_fn fn, void *ctx)
{
	a->busy_fn = fn;
	a->busy_ctx = ctx;
	if (fn)
		sqlite3_busy_handler(a->store->db, on_busy, a);
	else
		sqlite3_busy_timeout(a->store->db, CATALOG_BUSY_TIMEOUT_MS); /* catalog_open's */
}

int app_passwd(struct app *a, const char *newpass, size_t len, struct cv_err *e)
{
	int rc = vault_change_passphrase(a->store->vault, a->store->key_path, newpass, len, e);

	if (rc == 0)
		app_audit(a, "passwd", NULL, NULL);
	return rc;
}

void app_audit(struct app *a, const char *action, const char *target, const char *detail)
{
	sqlite3_stmt *st;

	if (catalog_prepare(a->store->db, "INSERT INTO audit (time, actor, action, target, detail) VALUES (?,?,?,?,?)",
			    &st, NULL))
		return;
	sqlite3_bind_int64(st, 1, time_now_ms());
	sqlite3_bind_text(st, 2, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warn("cannot write the audit record for %s", action);
	sqlite3_finalize(st);
}

/* ---- Test & Save Connection -------------------------------------------- */

const char *app_step_name(enum app_step step)
{
	switch (step) {
	case APP_STEP_TOKEN: return _("Get an access token");
	case APP_STEP_USERS: return _("List users");
	case APP_STEP_CHATS: return _("Read the test user's chats");
	case APP_STEP_MESSAGES: return _("Read chat messages");
	case APP_STEP_EXPORT: return _("Read through the export API");
	case APP_STEP_SAVE: return _("Save the connection");
	}
	return "";
}

struct probe {
	struct graph_conn *conn;
	struct graph_tenant *gt;
	app_step_fn fn;
	void *ctx;
	char domain[256];
};

static int step_end(struct probe *p, enum app_step step, int rc, struct cv_err *e)
{
	if (p->fn)
		p->fn(p->ctx, step, rc, rc ? e->msg : NULL);
	return rc;
}

/* The calls a backup needs, in order: token, users, chats, messages. */
static int probe_tenant(struct probe *p, const char *test_user, struct cv_err *e)
{
	struct buf url = BUF_INIT, user = BUF_INIT;
	cJSON *page = NULL, *it;
	int rc;

	if (p->fn)
		p->fn(p->ctx, APP_STEP_TOKEN, 1, NULL);
	if ((rc = step_end(p, APP_STEP_TOKEN, graph_token(p->conn, p->gt, e), e)))
		return rc;

	if (p->fn)
		p->fn(p->ctx, APP_STEP_USERS, 1, NULL);
	{
		struct graph_request req = {
			.url = "/v1.0/users?$select=id,userPrincipalName,accountEnabled&$top=20",
			.cls = GRAPH_CLASS_OTHER,
		};

		rc = graph_get_json(p->conn, p->gt, &req, &page, e);
	}
	if (rc == 0) {
		cJSON_ArrayForEach(it, graph_page_value(page))
		{
			const char *upn = json_str(it, "userPrincipalName");
			const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(it, "accountEnabled");

			if (upn && !p->domain[0] && strchr(upn, '@'))
				snprintf(p->domain, sizeof p->domain, "%s", strchr(upn, '@') + 1);
			if (upn && user.len == 0 && !test_user && !cJSON_IsFalse(enabled))
				buf_append_str(&user, upn);
		}
		cJSON_Delete(page);
		page = NULL;
		if (test_user)
			buf_append_str(&user, test_user);
		if (user.len == 0)
			rc = err_set(e, CV_ENOTFOUND, _("the tenant has no enabled user to test with; name one with --test-user"));
	}
	if ((rc = step_end(p, APP_STEP_USERS, rc, e)))
		goto out;

	if (p->fn)
		p->fn(p->ctx, APP_STEP_CHATS, 1, NULL);
	buf_append_str(&url, "/v1.0/users/");
	url_escape(&url, user.data);
	buf_append_str(&url, "/chats?$top=5");
	{
		struct graph_request req = {.url = url.data, .cls = GRAPH_CLASS_LIST_CHATS, .user = user.data};

		rc = graph_get_json(p->conn, p->gt, &req, &page, e);
		if (rc == CV_EGONE)
			err_set(e, rc, _("the test user %s was not found in the tenant"), user.data);
	}
	if ((rc = step_end(p, APP_STEP_CHATS, rc, e)))
		goto out;

	if (p->fn)
		p->fn(p->ctx, APP_STEP_MESSAGES, 1, NULL);
	it = cJSON_GetArrayItem(graph_page_value(page), 0);
	if (it && json_str(it, "id")) {
		struct graph_request req = {.cls = GRAPH_CLASS_CHAT_MESSAGES, .resource = json_str(it, "id")};
		cJSON *msgs = NULL;

		buf_reset(&url);
		buf_append_str(&url, "/v1.0/chats/");
		url_escape(&url, json_str(it, "id"));
		buf_append_str(&url, "/messages?$top=1");
		req.url = url.data;
		rc = graph_get_json(p->conn, p->gt, &req, &msgs, e);
		cJSON_Delete(msgs);
	}
	if ((rc = step_end(p, APP_STEP_MESSAGES, rc, e)))
		goto out;

	/* getAllMessages: the fast path of a first backup. A tenant refused
	 * it (402 for billing, 403 for licensing) still backs up, chat by
	 * chat, so that passes, and says what it costs. */
	if (p->fn)
		p->fn(p->ctx, APP_STEP_EXPORT, 1, NULL);
	{
		struct graph_request req = {.cls = GRAPH_CLASS_EXPORT, .prefer_unknown_enums = 1};
		cJSON *msgs = NULL;

		buf_reset(&url);
		buf_append_str(&url, "/v1.0/users/");
		url_escape(&url, user.data);
		buf_append_str(&url, "/chats/getAllMessages?$top=1");
		req.url = url.data;
		rc = graph_get_json(p->conn, p->gt, &req, &msgs, e);
		cJSON_Delete(msgs);
	}
	if (rc == CV_EPAYMENT || rc == CV_EFORBIDDEN) {
		char *note = xasprintf(_("not available, so backups will read each chat by itself, which is slower "
					 "(%s)"),
				       e->msg);

		if (p->fn)
			p->fn(p->ctx, APP_STEP_EXPORT, 0, note);
		free(note);
		rc = 0;
	} else {
		rc = step_end(p, APP_STEP_EXPORT, rc, e);
	}
out:
	cJSON_Delete(page);
	buf_free(&url);
	buf_free(&user);
	return rc;
}

/* Run the probe's steps with cfg (p->domain receives the tenant's domain).
 * charge: the saved tenant whose monthly usage counts the requests, or 0. */
static int probe_with(struct app *a, const struct graph_config *cfg, const char *test_user, int64_t charge,
		      app_step_fn fn, void *ctx, struct probe *p, struct cv_err *e)
{
	int rc;

	memset(p, 0, sizeof *p);
	p->fn = fn;
	p->ctx = ctx;
	p->gt = graph_tenant_new(cfg);
	graph_tenant_set_rate_scale(p->gt, engine_rate_scale());
	p->conn = graph_conn_new();
	rc = probe_tenant(p, test_user, e);
	graph_conn_free(&p->conn);
	if (charge) /* best effort, like a backup's count */
		engine_charge_usage(a->store->db, charge, p->gt, 0, NULL);
	graph_tenant_free(&p->gt);
	return rc;
}

int app_tenant_add(struct app *a, const struct app_tenant_input *in, app_step_fn fn, void *ctx,
		   struct cv_err *e)
{
	struct graph_config cfg;
	struct probe p;
	struct tenant_rec rec;
	const char *login = NULL, *graph = NULL;
	int rc;

	if (graph_cloud_urls(in->cloud ? in->cloud : "global", &login, &graph) != 0)
		return err_set(e, CV_EINVAL, _("unknown cloud '%s' (use global, usgov, usgovdod or china)"), in->cloud);
	if (in->login_url)
		login = in->login_url;
	if (in->graph_url)
		graph = in->graph_url;
	if (!in->tenant_id || !in->client_id || (!in->secret && !in->cert_pem))
		return err_set(e, CV_EINVAL, _("a tenant needs --tenant-id, --client-id and a secret or certificate"));

	memset(&cfg, 0, sizeof cfg);
	cfg.tenant_id = in->tenant_id;
	cfg.client_id = in->client_id;
	cfg.login_url = login;
	cfg.graph_url = graph;
	if (in->cert_pem) {
		cfg.kind = GRAPH_CRED_CERT;
		cfg.cert_pem = in->cert_pem;
		cfg.key_pem = in->key_pem ? in->key_pem : in->cert_pem;
		cfg.alg = in->rs256 ? GRAPH_JWT_RS256 : GRAPH_JWT_PS256;
	} else {
		cfg.kind = GRAPH_CRED_SECRET;
		cfg.secret = in->secret;
	}
	if ((rc = probe_with(a, &cfg, in->test_user, 0, fn, ctx, &p, e)))
		return rc;

	if (fn)
		fn(ctx, APP_STEP_SAVE, 1, NULL);
	memset(&rec, 0, sizeof rec);
	rec.name = (char *)(in->name ? in->name : strchr(in->tenant_id, '.') ? in->tenant_id
						 : p.domain[0] ? p.domain : in->tenant_id);
	rec.tenant_id = (char *)in->tenant_id;
	rec.client_id = (char *)in->client_id;
	rec.cred_kind = (char *)(in->cert_pem ? "certificate" : "secret");
	rec.jwt_alg = (char *)(in->rs256 ? "RS256" : "PS256");
	rec.cloud = (char *)(in->cloud ? in->cloud : "global");
	rec.login_url = (char *)login;
	rec.graph_url = (char *)graph;
	rec.cert_pem = (char *)in->cert_pem;
	rec.status = (char *)"Active";
	rec.monthly_limit = in->monthly_limit;
	rec.price_per_message = in->price_per_message;
	buf_init(&rec.secret);
	if (in->cert_pem)
		buf_append_str(&rec.secret, in->key_pem ? in->key_pem : in->cert_pem);
	else
		buf_append_str(&rec.secret, in->secret);
	rc = tenant_insert(a->store->db, a->store->vault, &rec, e);
	buf_free_secret(&rec.secret);
	if (fn)
		fn(ctx, APP_STEP_SAVE, rc, rc ? e->msg : NULL);
	if (rc == 0)
		app_audit(a, "tenant add", rec.name, rec.client_id);
	return rc;
}

int app_tenant_test(struct app *a, const char *name, app_step_fn fn, void *ctx, struct cv_err *e)
{
	struct tenant_rec rec;
	struct graph_config cfg;
	struct probe p;
	int rc;

	if ((rc = tenant_load(a->store->db, a->store->vault, name, 1, &rec, e)))
		return rc;
	engine_graph_config(&rec, &cfg);
	rc = probe_with(a, &cfg, NULL, rec.id, fn, ctx, &p, e);
	tenant_set_status(a->store->db, rec.id, rc == 0 ? "Active" : engine_status_for_error(rc, ST_FAILED),
			  rc ? e->msg : NULL, NULL);
	app_audit(a, "tenant test", rec.name, rc ? err_code_name(rc) : "ok");
	tenant_rec_free(&rec);
	return rc;
}

int app_tenant_update(struct app *a, const char *name, const struct app_tenant_input *in, app_step_fn fn,
		      void *ctx, struct cv_err *e)
{
	struct tenant_rec rec;
	int credential = in->secret || in->cert_pem;
	int rc;

	if ((rc = tenant_load(a->store->db, a->store->vault, name, 1, &rec, e)))
		return rc;
	if (credential) {
		struct graph_config cfg;
		struct probe p;

		free(rec.cred_kind);
		free(rec.jwt_alg);
		free(rec.cert_pem);
		rec.cred_kind = xstrdup(in->cert_pem ? "certificate" : "secret");
		rec.jwt_alg = xstrdup(in->rs256 ? "RS256" : "PS256");
		rec.cert_pem = in->cert_pem ? xstrdup(in->cert_pem) : NULL;
		buf_free_secret(&rec.secret);
		buf_append_str(&rec.secret, in->cert_pem ? (in->key_pem ? in->key_pem : in->cert_pem) : in->secret);
		engine_graph_config(&rec, &cfg);
		rc = probe_with(a, &cfg, in->test_user, rec.id, fn, ctx, &p, e);
	}
	if (in->change & APP_TENANT_LIMIT)
		rec.monthly_limit = in->monthly_limit;
	if (in->change & APP_TENANT_PRICE)
		rec.price_per_message = in->price_per_message;
	if (rc == 0) {
		if (fn)
			fn(ctx, APP_STEP_SAVE, 1, NULL);
		rc = tenant_update(a->store->db, a->store->vault, &rec, credential, e);
		if (fn)
			fn(ctx, APP_STEP_SAVE, rc, rc ? e->msg : NULL);
	}
	if (rc == 0)
		app_audit(a, "tenant update", rec.name, credential ? rec.cred_kind : NULL);
	tenant_rec_free(&rec);
	return rc;
}

int app_tenant_remove(struct app *a, const char *name, int delete_backups, struct cv_err *e)
{
	int64_t tid, job;
	int rc;

	/* Its rows would vanish under the workers of the process running it. */
	if ((rc = app_tenant_resolve(a, name, &tid, e)) || (rc = queue_tenant_busy(a->store->db, tid, &job, e)))
		return rc;
	if (job)
		return err_set(e, CV_ELOCKED,
			       _("job %lld of tenant '%s' is running; wait for it to end or cancel it "
				 "('chatvault jobs cancel %lld'), then remove the tenant"),
			       (long long)job, name, (long long)job);
	rc = tenant_remove(a->store->db, name, delete_backups, e);
	if (rc == 0) {
		app_audit(a, "tenant remove", name, delete_backups ? "with its backups" : NULL);
		blob_sweep_unused(a->store->db, a->store->blobs_dir);
	}
	return rc;
}

int app_tenant_resolve(struct app *a, const char *name, int64_t *id, struct cv_err *e)
{
	struct tenant_rec rec;
	int rc = tenant_load(a->store->db, a->store->vault, name, 0, &rec, e);

	if (rc == 0)
		*id = rec.id;
	tenant_rec_free(&rec);
	return rc;
}

/* ---- accounts ----------------------------------------------------------- */

int app_accounts_sync(struct app *a, int64_t tenant, struct app_sync_result *r, struct cv_err *e)
{
	struct tenant_rec rec;
	struct graph_config cfg;
	struct graph_tenant *gt;
	struct graph_conn *conn;
	struct buf url = BUF_INIT;
	cJSON *users = cJSON_CreateArray(), *it;
	int rc;

	memset(r, 0, sizeof *r);
	if ((rc = tenant_load_id(a->store->db, a->store->vault, tenant, 1, &rec, e))) {
		cJSON_Delete(users);
		return rc;
	}
	engine_graph_config(&rec, &cfg);
	gt = graph_tenant_new(&cfg);
	graph_tenant_set_rate_scale(gt, engine_rate_scale());
	conn = graph_conn_new();
	/* department and accountEnabled come back only when $select names
	 * them (graph-facts.md §2); 999 is the largest page /users allows. */
	buf_append_str(&url, "/v1.0/users?$select=id,displayName,userPrincipalName,mail,department,accountEnabled"
			     "&$top=999");
	/* Read every page before writing, so the catalog is never locked
	 * while we wait on the network. */
	while (url.len) {
		struct graph_request req = {.url = url.data, .cls = GRAPH_CLASS_OTHER};
		cJSON *page = NULL;
		const char *next;

		if ((rc = graph_get_page(conn, gt, &req, &page, e)))
			break;
		cJSON_ArrayForEach(it, graph_page_value(page)) cJSON_AddItemToArray(users, cJSON_Duplicate(it, 1));
		next = graph_page_next(page);
		buf_reset(&url);
		if (next)
			buf_append_str(&url, next);
		cJSON_Delete(page);
	}
	graph_conn_free(&conn);
	engine_charge_usage(a->store->db, tenant, gt, 0, NULL);
	graph_tenant_free(&gt);
	buf_free(&url);
	if (rc == 0 && (rc = catalog_begin(a->store->db, e)) == 0) {
		rc = accounts_sync_begin(a->store->db, tenant, e);
		cJSON_ArrayForEach(it, users)
		{
			const char *id = json_str(it, "id"), *upn = json_str(it, "userPrincipalName");
			int is_new = 0;

			if (rc || !id || !upn)
				continue;
			rc = account_upsert(a->store->db, tenant, id, upn, json_str(it, "displayName"),
					    json_str(it, "department"), json_str(it, "mail"),
					    !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "accountEnabled")), &is_new, e);
			r->total++;
			r->added += is_new;
		}
		if (rc == 0)
			rc = accounts_sync_end(a->store->db, tenant, &r->gone, e);
		if (rc)
			catalog_rollback(a->store->db);
		else
			rc = catalog_commit(a->store->db, e);
	}
	if (rc == 0) {
		char detail[96];

		snprintf(detail, sizeof detail, "%d users, %d new, %d gone", r->total, r->added, r->gone);
		app_audit(a, "accounts sync", rec.name, detail);
	}
	tenant_rec_free(&rec);
	cJSON_Delete(users);
	return rc;
}

int app_privchat_set(struct app *a, int64_t tenant, const char *const *upns, int n, int active,
		     int *changed, struct cv_err *e)
{
	int rc = accounts_set_privchat(a->store->db, tenant, upns, n, active, changed, e);

	if (rc == 0) {
		char detail[64];

		snprintf(detail, sizeof detail, "%d changed", changed ? *changed : 0);
		app_audit(a, active ? "privchat activate" : "privchat deactivate", upns ? upns[0] : "all", detail);
	}
	return rc;
}

/* ---- backup ------------------------------------------------------------- */

/* An unfinished, uncancelled backup of the tenant with the same parameters:
 * 1 with *job set, 0 if none. */
static int unfinished_backup(struct app *a, int64_t tenant, const char *params, int64_t *job, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(a->store->db,
				  "SELECT id FROM jobs WHERE kind = 'backup' AND tenant = ? AND params = ?"
				  " AND finished IS NULL AND cancel = 0 ORDER BY id LIMIT 1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, params, -1, SQLITE_STATIC);
	rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*job = sqlite3_column_int64(st, 0);
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

int app_backup_start(struct app *a, int64_t tenant, const int64_t *account_ids, int n, unsigned flags,
		     int64_t *job, struct cv_err *e)
{
	cJSON *params = cJSON_CreateObject();
	char *text;
	int rc, i;

	if (account_ids) {
		cJSON *arr = cJSON_AddArrayToObject(params, "accounts");

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)account_ids[i]));
	}
	if (flags & APP_BACKUP_PER_CHAT)
		cJSON_AddStringToObject(params, "path", "per-chat");
	text = cJSON_PrintUnformatted(params);
	cJSON_Delete(params);
	/* The same backup still unfinished (its process was killed, or it is
	 * running elsewhere) is joined, not repeated: it resumes where it was. */
	rc = unfinished_backup(a, tenant, text, job, e);
	if (rc == 1) {
		int again;

		/* (finished in between: a new job after all) */
		if ((rc = backup_catch_up(a->store->db, *job, &again, e)) == 0) {
			cJSON_free(text);
			if (a->engine)
				engine_kick(a->engine);
			return 0;
		}
		if (rc != CV_ENOTFOUND) {
			cJSON_free(text);
			return rc;
		}
		rc = 0;
	}
	if (rc == 0)
		rc = job_enqueue(a->store->db, "backup", tenant, text, job, e);
	cJSON_free(text);
	if (rc == 0) {
		char target[32];

		snprintf(target, sizeof target, "job %lld", (long long)*job);
		app_audit(a, "backup", target, account_ids ? "selected accounts" : "all ACTIVE accounts");
		if (a->engine)
			engine_kick(a->engine);
	}
	return rc;
}

/* ---- downloads ----------------------------------------------------------- */

const char *app_export_formats(void)
{
	return export_formats();
}

int app_snapshot_resolve(struct app *a, int64_t account, const char *spec, int64_t *id, struct cv_err *e)
{
	char user_id[256];
	int64_t tenant;
	int rc = app_account_ids(a, account, &tenant, user_id, sizeof user_id, e);

	return rc ? rc : snapshot_resolve(a->store->db, tenant, spec, id, e);
}

int app_download_start(struct app *a, const struct app_download_input *in, int64_t *job, struct cv_err *e)
{
	cJSON *p = cJSON_CreateObject();
	int64_t tenant;
	char user_id[256], *text;
	int rc;

	if (!export_writer_find(in->format)) {
		cJSON_Delete(p);
		return err_set(e, CV_EINVAL, _("unknown format '%s' (this build writes: %s)"), in->format,
			       export_formats());
	}
	if (in->from_ms && in->to_ms && in->from_ms > in->to_ms) {
		cJSON_Delete(p);
		return err_set(e, CV_EINVAL, _("the start date is after the end date"));
	}
	if ((rc = app_account_ids(a, in->account, &tenant, user_id, sizeof user_id, e))) {
		cJSON_Delete(p);
		return rc;
	}
	cJSON_AddNumberToObject(p, "account", (double)in->account);
	cJSON_AddStringToObject(p, "format", in->format);
	cJSON_AddBoolToObject(p, "attachments", in->attachments);
	if (in->from_ms)
		cJSON_AddNumberToObject(p, "from", (double)in->from_ms);
	if (in->to_ms)
		cJSON_AddNumberToObject(p, "to", (double)in->to_ms);
	if (in->as_of)
		cJSON_AddNumberToObject(p, "as_of", (double)in->as_of);
	if (in->chat_id)
		cJSON_AddStringToObject(p, "chat", in->chat_id);
	if (in->out_dir)
		cJSON_AddStringToObject(p, "out", in->out_dir);
	text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	rc = job_enqueue(a->store->db, "download", tenant, text, job, e);
	cJSON_free(text);
	if (rc == 0) {
		char target[32];

		snprintf(target, sizeof target, "account %lld", (long long)in->account);
		app_audit(a, "download", target, in->format);
		if (a->engine)
			engine_kick(a->engine);
	}
	return rc;
}

int app_job_cancel(struct app *a, int64_t job, struct cv_err *e)
{
	int rc = job_request_cancel(a->store->db, job, e);

	if (rc == 0 && sqlite3_changes(a->store->db) == 0)
		return err_set(e, CV_ENOTFOUND, _("job %lld is not running (it has finished, or there is no such job)"),
			       (long long)job);
	if (rc == 0) {
		char target[32];

		snprintf(target, sizeof target, "job %lld", (long long)job);
		app_audit(a, "cancel", target, NULL);
		if (a->engine)
			engine_kick(a->engine);
	}
	return rc;
}
