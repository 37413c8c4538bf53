/*
 * Tenant rows. The credential (client secret or private key) is sealed with
 * the tenant and client ids as associated data; everything else is plain so
 * the console can list tenants without unlocking secrets.
 */
#include "config.h"

#include "store/tenants.h"
#include "store/catalog.h"
#include "store/store.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define TENANT_COLS \
	"id, name, tenant_id, client_id, cred_kind, jwt_alg, cloud, login_url, graph_url, cert_pem, " \
	"status, reason, monthly_limit, price_per_message, secret_enc"

static char *secret_ad(const struct tenant_rec *rec, size_t *len)
{
	return store_record_ad("tenants.secret", rec->tenant_id, rec->client_id, NULL, NULL, len);
}

int tenant_insert(sqlite3 *db, const struct vault *v, struct tenant_rec *rec, struct cv_err *e)
{
	struct buf sealed = BUF_INIT;
	sqlite3_stmt *st = NULL;
	size_t adlen;
	char *ad = secret_ad(rec, &adlen);
	int rc;

	vault_seal(v, ad, adlen, rec->secret.data, rec->secret.len, &sealed);
	free(ad);
	if ((rc = catalog_prepare(db,
				  "INSERT INTO tenants (name, tenant_id, client_id, cred_kind, jwt_alg, cloud, "
				  "login_url, graph_url, cert_pem, secret_enc, status, monthly_limit, "
				  "price_per_message, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				  &st, e)))
		goto out;
	sqlite3_bind_text(st, 1, rec->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec->tenant_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rec->cred_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rec->jwt_alg ? rec->jwt_alg : "PS256", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rec->cloud ? rec->cloud : "global", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, rec->login_url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, rec->graph_url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, rec->cert_pem, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, sealed.data, (int)sealed.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, rec->status ? rec->status : "Active", -1, SQLITE_STATIC);
	if (rec->monthly_limit >= 0)
		sqlite3_bind_int64(st, 12, rec->monthly_limit);
	sqlite3_bind_double(st, 13, rec->price_per_message);
	sqlite3_bind_int64(st, 14, time_now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT) {
		rc = err_set(e, CV_EEXIST, _("a tenant named '%s' already exists"), rec->name);
	} else if (rc != SQLITE_DONE) {
		rc = catalog_error(db, _("saving the tenant"), e);
	} else {
		rec->id = sqlite3_last_insert_rowid(db);
		rc = 0;
	}
out:
	sqlite3_finalize(st);
	buf_free(&sealed);
	return rc;
}

static char *col_dup(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? NULL : xstrdup(catalog_text(st, col));
}

static int row_to_rec(sqlite3_stmt *st, const struct vault *v, int with_secret, struct tenant_rec *rec,
		      struct cv_err *e)
{
	memset(rec, 0, sizeof *rec);
	rec->id = sqlite3_column_int64(st, 0);
	rec->name = col_dup(st, 1);
	rec->tenant_id = col_dup(st, 2);
	rec->client_id = col_dup(st, 3);
	rec->cred_kind = col_dup(st, 4);
	rec->jwt_alg = col_dup(st, 5);
	rec->cloud = col_dup(st, 6);
	rec->login_url = col_dup(st, 7);
	rec->graph_url = col_dup(st, 8);
	rec->cert_pem = col_dup(st, 9);
	rec->status = col_dup(st, 10);
	rec->reason = col_dup(st, 11);
	rec->monthly_limit = sqlite3_column_type(st, 12) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 12);
	rec->price_per_message = sqlite3_column_double(st, 13);
	if (with_secret) {
		size_t adlen;
		char *ad = secret_ad(rec, &adlen);
		int rc = vault_unseal(v, ad, adlen, sqlite3_column_blob(st, 14),
				      (size_t)sqlite3_column_bytes(st, 14), &rec->secret, e);

		free(ad);
		if (rc)
			return err_prefix(e, _("tenant '%s' credential"), rec->name);
	}
	return 0;
}

static int load_where(sqlite3 *db, const struct vault *v, const char *where, const char *text, int64_t id,
		      int with_secret, struct tenant_rec *rec, struct cv_err *e)
{
	char sql[512];
	sqlite3_stmt *st;
	int rc, count = 0;

	snprintf(sql, sizeof sql, "SELECT " TENANT_COLS " FROM tenants %s ORDER BY name", where);
	if ((rc = catalog_prepare(db, sql, &st, e)))
		return rc;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else if (id > 0)
		sqlite3_bind_int64(st, 1, id);
	rc = CV_ENOTFOUND;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (count++ == 0) {
			rc = row_to_rec(st, v, with_secret, rec, e);
		}
	}
	sqlite3_finalize(st);
	if (count == 0) {
		memset(rec, 0, sizeof *rec);
		if (text)
			return err_set(e, CV_ENOTFOUND, _("no tenant named '%s'; see 'chatvault tenant list'"), text);
		return err_set(e, CV_ENOTFOUND, _("no tenant is configured yet; add one with 'chatvault tenant add'"));
	}
	if (count > 1 && text == NULL && id <= 0) {
		tenant_rec_free(rec);
		return err_set(e, CV_EINVAL, _("the store has %d tenants; name one with --tenant"), count);
	}
	return rc;
}

int tenant_load(sqlite3 *db, const struct vault *v, const char *name, int with_secret,
		struct tenant_rec *rec, struct cv_err *e)
{
	return load_where(db, v, name ? "WHERE name = ?1" : "", name, 0, with_secret, rec, e);
}

int tenant_load_id(sqlite3 *db, const struct vault *v, int64_t id, int with_secret,
		   struct tenant_rec *rec, struct cv_err *e)
{
	return load_where(db, v, "WHERE id = ?1", NULL, id, with_secret, rec, e);
}

int tenant_update(sqlite3 *db, const struct vault *v, const struct tenant_rec *rec, int credential,
		  struct cv_err *e)
{
	struct buf sealed = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	if (credential) {
		size_t adlen;
		char *ad = secret_ad(rec, &adlen);

		vault_seal(v, ad, adlen, rec->secret.data, rec->secret.len, &sealed);
		free(ad);
	}
	/* A new credential passed its test: the tenant is Active again. */
	if ((rc = catalog_prepare(db,
				  "UPDATE tenants SET monthly_limit = ?2, price_per_message = ?3,"
				  " cred_kind = CASE WHEN ?4 THEN ?5 ELSE cred_kind END,"
				  " jwt_alg = CASE WHEN ?4 THEN ?6 ELSE jwt_alg END,"
				  " cert_pem = CASE WHEN ?4 THEN ?7 ELSE cert_pem END,"
				  " secret_enc = CASE WHEN ?4 THEN ?8 ELSE secret_enc END,"
				  " status = CASE WHEN ?4 THEN 'Active' ELSE status END,"
				  " reason = CASE WHEN ?4 THEN NULL ELSE reason END WHERE id = ?1",
				  &st, e))) {
		buf_free(&sealed);
		return rc;
	}
	sqlite3_bind_int64(st, 1, rec->id);
	if (rec->monthly_limit >= 0)
		sqlite3_bind_int64(st, 2, rec->monthly_limit);
	sqlite3_bind_double(st, 3, rec->price_per_message);
	sqlite3_bind_int(st, 4, credential);
	sqlite3_bind_text(st, 5, rec->cred_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rec->jwt_alg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, rec->cert_pem, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, sealed.data, (int)sealed.len, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("saving the tenant"), e);
	sqlite3_finalize(st);
	buf_free(&sealed);
	return rc;
}

int tenant_remove(sqlite3 *db, const char *name, int delete_backups, struct cv_err *e)
{
	sqlite3_stmt *st;
	int64_t id = 0, messages = 0;
	int rc;

	if ((rc = catalog_begin(db, e)))
		return rc;
	rc = catalog_prepare(db,
			     "SELECT t.id, (SELECT count(*) FROM messages m JOIN chats c ON c.id = m.chat"
			     " WHERE c.tenant = t.id) FROM tenants t WHERE t.name = ?1",
			     &st, e);
	if (rc)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		messages = sqlite3_column_int64(st, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? err_set(e, CV_ENOTFOUND, _("no tenant named '%s'"), name)
				       : catalog_error(db, _("reading the catalog"), e);
	}
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	if (messages && !delete_backups) {
		rc = err_set(e, CV_EINVAL,
			     _("tenant '%s' holds %lld backed-up message versions; removing it deletes them for good. "
			       "Give --delete-backups to remove it with its backups"),
			     name, (long long)messages);
		goto fail;
	}
	if ((rc = catalog_prepare(db, "DELETE FROM tenants WHERE id = ?1", &st, e)))
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("removing the tenant"), e);
	sqlite3_finalize(st);
	if (rc)
		goto fail;
	return catalog_commit(db, e);
fail:
	catalog_rollback(db);
	return rc;
}

int tenant_set_status(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "UPDATE tenants SET status = ?, reason = ? WHERE id = ?", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating the tenant"), e);
	sqlite3_finalize(st);
	return rc;
}

int tenant_set_active(sqlite3 *db, int64_t id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "UPDATE tenants SET status = 'Active', reason = NULL WHERE id = ? AND status <> 'Active'",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating the tenant"), e);
	sqlite3_finalize(st);
	return rc;
}

int tenant_foreach(sqlite3 *db, int (*fn)(void *ctx, const struct tenant_rec *rec), void *ctx,
		   struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "SELECT " TENANT_COLS " FROM tenants ORDER BY name", &st, e)))
		return rc;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct tenant_rec rec;

		row_to_rec(st, NULL, 0, &rec, NULL);
		rc = fn(ctx, &rec);
		tenant_rec_free(&rec);
	}
	sqlite3_finalize(st);
	return rc;
}

void tenant_rec_free(struct tenant_rec *rec)
{
	free(rec->name);
	free(rec->tenant_id);
	free(rec->client_id);
	free(rec->cred_kind);
	free(rec->jwt_alg);
	free(rec->cloud);
	free(rec->login_url);
	free(rec->graph_url);
	free(rec->cert_pem);
	free(rec->status);
	free(rec->reason);
	buf_free_secret(&rec->secret);
	memset(rec, 0, sizeof *rec);
}
