/*
 * Use cases. Every action of the console and the CLI passes here: the audit
 * record, then the store change or the job enqueue. Written once, it serves
 * both front ends and the tests.
 */
#ifndef CV_APP_APP_H
#define CV_APP_APP_H

#include <stddef.h>
#include <stdint.h>

struct cv_err;
struct engine;
struct store;

/* Told while a statement on the app's connection waits for another
 * connection's write lock; waited_ms is how long this wait has lasted.
 * Return 1 to wait on, 0 to give up (the statement fails with CV_ELOCKED). */
typedef int (*app_busy_fn)(void *ctx, int64_t waited_ms);

struct app {
	struct store *store;
	struct engine *engine; /* NULL until app_engine_start */
	char actor[64];        /* who acts: the login name */
	int64_t data_version;  /* PRAGMA data_version last seen (app_store_changed) */
	app_busy_fn busy_fn;   /* app_set_busy_wait, or NULL */
	void *busy_ctx;
	int64_t busy_since;    /* monotonic ms when the current wait began */
};

/* Open (or with create, initialise) the store in home. For init, recovery
 * receives the printable recovery key. The caller owns *out. */
int app_open(const char *home, const char *secret, size_t len, int use_recovery, struct app **out,
	     struct cv_err *e);
int app_init(const char *home, const char *pass, size_t len, char *recovery, struct app **out,
	     struct cv_err *e);
void app_close(struct app **a);
/* Start the worker pool in this process (workers <= 0: the default 8, or
 * $CHATVAULT_WORKERS). */
int app_engine_start(struct app *a, int workers, struct cv_err *e);
/* Start the worker pool for one job alone: a process that queued a job and
 * waits for it (a download) leaves every other job, such as a backup a
 * killed process left unfinished, to `backup`, `run` or the console. */
int app_engine_start_job(struct app *a, int64_t job, struct cv_err *e);
/* Let fn decide how long the app's own connection waits for a write lock
 * another process (or a worker) holds, instead of the store's plain 30 s
 * timeout: the console keeps its screen alive and lets a key give up.
 * fn NULL puts the plain timeout back. ctx stays the caller's. */
void app_set_busy_wait(struct app *a, app_busy_fn fn, void *ctx);
/* Change the passphrase (rewraps the master key; data is not re-encrypted). */
int app_passwd(struct app *a, const char *newpass, size_t len, struct cv_err *e);

/* Record an action in the audit log. */
void app_audit(struct app *a, const char *action, const char *target, const char *detail);

/* ---- tenants: Test & Save Connection ---- */

enum app_step { APP_STEP_TOKEN, APP_STEP_USERS, APP_STEP_CHATS, APP_STEP_MESSAGES, APP_STEP_EXPORT, APP_STEP_SAVE };

/* Told when a step starts (rc = 1) and when it ends (rc = 0 passed, or a
 * CV_E* code with detail the reason). */
typedef void (*app_step_fn)(void *ctx, enum app_step step, int rc, const char *detail);
const char *app_step_name(enum app_step step);

struct app_tenant_input {
	const char *name;        /* NULL: the tenant's domain or id */
	const char *tenant_id;
	const char *client_id;
	const char *secret;      /* client secret, or NULL */
	const char *cert_pem;    /* certificate, or NULL */
	const char *key_pem;     /* private key PEM (may be the same file as the cert) */
	int rs256;               /* RS256 + x5t instead of PS256 + x5t#S256 */
	const char *cloud;       /* global (default), usgov, usgovdod, china */
	const char *login_url;   /* overrides the cloud's */
	const char *graph_url;
	const char *test_user;   /* UPN whose chats are read; NULL: first enabled user */
	int64_t monthly_limit;   /* -1: none */
	double price_per_message;
	unsigned change;         /* app_tenant_update: APP_TENANT_* to change */
};
enum {
	APP_TENANT_LIMIT = 1 << 0,
	APP_TENANT_PRICE = 1 << 1,
};

/* Run the real calls and save the tenant only if every step passed. */
int app_tenant_add(struct app *a, const struct app_tenant_input *in, app_step_fn fn, void *ctx,
		   struct cv_err *e);
/* Run the same steps against a saved tenant and record its status. */
int app_tenant_test(struct app *a, const char *name, app_step_fn fn, void *ctx, struct cv_err *e);
/* Change a saved tenant: a new secret or certificate (in->secret or
 * in->cert_pem; tested like app_tenant_add and saved only if every step
 * passed), and the cap and price that in->change names. */
int app_tenant_update(struct app *a, const char *name, const struct app_tenant_input *in, app_step_fn fn,
		      void *ctx, struct cv_err *e);
/* Remove a tenant. One that holds backups is removed, with them and the
 * files no other tenant shares, only when delete_backups is set. */
int app_tenant_remove(struct app *a, const char *name, int delete_backups, struct cv_err *e);
/* Resolve --tenant (NULL: the only tenant) to its row id. */
int app_tenant_resolve(struct app *a, const char *name, int64_t *id, struct cv_err *e);

/* ---- accounts ---- */

struct app_sync_result {
	int total, added, gone;
};
int app_accounts_sync(struct app *a, int64_t tenant, struct app_sync_result *r, struct cv_err *e);
/* Activate or deactivate private chat backup for UPNs (upns NULL: all). */
int app_privchat_set(struct app *a, int64_t tenant, const char *const *upns, int n, int active,
		     int *changed, struct cv_err *e);

/* ---- backup ---- */

/* Read every chat with /chats/{id}/messages, not through the export API. */
#define APP_BACKUP_PER_CHAT 1u

/* Queue a backup of the tenant's ACTIVE accounts (account_ids NULL: all).
 * If the same backup is queued or running and unfinished (a killed process
 * left it), *job is that job: waiting on it resumes it. flags: APP_BACKUP_*. */
int app_backup_start(struct app *a, int64_t tenant, const int64_t *account_ids, int n, unsigned flags,
		     int64_t *job, struct cv_err *e);
int app_job_cancel(struct app *a, int64_t job, struct cv_err *e);

/* ---- downloads ---- */

struct app_download_input {
	int64_t account;
	const char *format;      /* json, html, csv, eml, pdf */
	int attachments;
	int64_t from_ms, to_ms;  /* inclusive, 0 = open */
	int64_t as_of;           /* snapshot id, 0 = latest */
	const char *chat_id;     /* one chat, or NULL */
	const char *out_dir;     /* also write the files here (CLI), or NULL */
};
/* The formats this build writes, comma-separated. */
const char *app_export_formats(void);
/* Resolve a snapshot spec (id, "latest", or a date) among the snapshots of
 * account's tenant. */
int app_snapshot_resolve(struct app *a, int64_t account, const char *spec, int64_t *id, struct cv_err *e);
/* Queue a download job; its result is a zip in the store's downloads/. */
int app_download_start(struct app *a, const struct app_download_input *in, int64_t *job, struct cv_err *e);

#endif
