/*
 * Tenant connections ("Credentials"): one row per Microsoft 365 tenant, with
 * the client secret or certificate private key sealed in the vault.
 */
#ifndef CV_STORE_TENANTS_H
#define CV_STORE_TENANTS_H

#include <sqlite3.h>
#include <stdint.h>

#include "util/buf.h"

struct cv_err;
struct vault;

struct tenant_rec {
	int64_t id;
	char *name;
	char *tenant_id;
	char *client_id;
	char *cred_kind;   /* "secret" or "certificate" */
	char *jwt_alg;     /* "PS256" or "RS256" */
	char *cloud;
	char *login_url;
	char *graph_url;
	char *cert_pem;    /* public certificate, or NULL */
	char *status;
	char *reason;
	int64_t monthly_limit; /* messages per month; -1 for none */
	double price_per_message;
	struct buf secret; /* the client secret or private key PEM, when loaded */
};

/* Insert; fails with CV_EEXIST if the name is taken. Sets rec->id. */
int tenant_insert(sqlite3 *db, const struct vault *v, struct tenant_rec *rec, struct cv_err *e);
/* Load by name, or the only tenant when name is NULL (CV_EINVAL naming the
 * choices when there are several). with_secret unseals the credential. */
int tenant_load(sqlite3 *db, const struct vault *v, const char *name, int with_secret,
		struct tenant_rec *rec, struct cv_err *e);
int tenant_load_id(sqlite3 *db, const struct vault *v, int64_t id, int with_secret,
		   struct tenant_rec *rec, struct cv_err *e);
/* Save rec's cap and price, and with credential its credential (kind,
 * algorithm, certificate, sealed secret), marking it Active. */
int tenant_update(sqlite3 *db, const struct vault *v, const struct tenant_rec *rec, int credential,
		  struct cv_err *e);
/* Delete a tenant and, through the schema's cascades, everything of it. One
 * holding backed-up messages is refused (CV_EINVAL) unless delete_backups. */
int tenant_remove(sqlite3 *db, const char *name, int delete_backups, struct cv_err *e);
int tenant_set_status(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e);
/* A run signed in and read data: whatever Test & Save or an earlier run
 * said against the credential no longer holds, and the tenant is Active. */
int tenant_set_active(sqlite3 *db, int64_t id, struct cv_err *e);
/* Call fn for each tenant (without secrets), ordered by name. */
int tenant_foreach(sqlite3 *db, int (*fn)(void *ctx, const struct tenant_rec *rec), void *ctx,
		   struct cv_err *e);
void tenant_rec_free(struct tenant_rec *rec);

#endif
