/*
 * Account rows. Identity comes from Graph's user object id; the UPN can
 * change and is only used to find accounts on the command line.
 */
#include "config.h"

#include "store/accounts.h"
#include "store/catalog.h"
#include "util/err.h"
#include "util/i18n.h"

#include <string.h>

int accounts_sync_begin(sqlite3 *db, int64_t tenant, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "UPDATE accounts SET gone = 1 WHERE tenant = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating accounts"), e);
	sqlite3_finalize(st);
	return rc;
}

int account_upsert(sqlite3 *db, int64_t tenant, const char *user_id, const char *upn,
		   const char *display_name, const char *department, const char *mail, int enabled,
		   int *is_new, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "SELECT 1 FROM accounts WHERE tenant = ? AND user_id = ?", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	if (is_new)
		*is_new = sqlite3_step(st) != SQLITE_ROW;
	sqlite3_finalize(st);
	if ((rc = catalog_prepare(db,
				  "INSERT INTO accounts (tenant, user_id, upn, display_name, department, mail, "
				  "enabled, gone) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0) "
				  "ON CONFLICT (tenant, user_id) DO UPDATE SET upn = ?3, display_name = ?4, "
				  "department = ?5, mail = ?6, enabled = ?7, gone = 0, "
				  /* back in the tenant (accounts_sync_end): as after
				   * activating again, the next run says how it went */
				  "status = CASE WHEN privchat = 1 AND status = 'Deactivated' THEN '' ELSE status END, "
				  "reason = CASE WHEN privchat = 1 AND status = 'Deactivated' THEN NULL ELSE reason END",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, upn, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, display_name ? display_name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, department, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, mail, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, enabled);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("saving an account"), e);
	sqlite3_finalize(st);
	return rc;
}

int accounts_sync_end(sqlite3 *db, int64_t tenant, int *gone, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	*gone = 0;
	if ((rc = catalog_prepare(db,
				  "UPDATE accounts SET status = 'Deactivated', reason = ?2 WHERE tenant = ?1 AND gone = 1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, _("no longer in the tenant: not backed up any more; its backups are kept"), -1,
			  SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		*gone = sqlite3_changes(db);
	else
		rc = catalog_error(db, _("updating accounts"), e);
	sqlite3_finalize(st);
	return rc;
}

int account_find(sqlite3 *db, int64_t tenant, const char *upn, int64_t *id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "SELECT id FROM accounts WHERE tenant = ? AND upn = ? COLLATE NOCASE",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, upn, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = err_set(e, CV_ENOTFOUND, _("no account '%s' in this tenant; run 'chatvault accounts sync' first"),
			     upn);
	}
	sqlite3_finalize(st);
	return rc;
}

int account_has_chat(sqlite3 *db, int64_t account, const char *chat_id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db,
				  "SELECT 1 FROM account_chats ac JOIN chats c ON c.id = ac.chat"
				  " WHERE ac.account = ?1 AND c.chat_id = ?2",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_text(st, 2, chat_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = err_set(e, CV_ENOTFOUND, _("the account has no backed-up chat '%s'"), chat_id);
	else
		rc = catalog_error(db, _("reading the catalog"), e);
	sqlite3_finalize(st);
	return rc;
}

int accounts_set_privchat(sqlite3 *db, int64_t tenant, const char *const *upns, int n, int active,
			  int *changed, struct cv_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc, i, total = 0;

	if ((rc = catalog_begin(db, e)))
		return rc;
	if (upns == NULL) {
		rc = catalog_prepare(db,
				     "UPDATE accounts SET privchat = ?2, status = CASE WHEN ?2 = 0 THEN "
				     "'Deactivated' WHEN status = 'Deactivated' THEN '' ELSE status END "
				     "WHERE tenant = ?1 AND gone = 0 AND privchat <> ?2",
				     &st, e);
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, tenant);
			sqlite3_bind_int(st, 2, active);
			rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating accounts"), e);
			total = sqlite3_changes(db);
		}
	} else {
		for (i = 0; rc == 0 && i < n; i++) {
			int64_t id;

			if ((rc = account_find(db, tenant, upns[i], &id, e)))
				break;
			sqlite3_finalize(st);
			rc = catalog_prepare(db,
					     "UPDATE accounts SET privchat = ?2, status = CASE WHEN ?2 = 0 THEN "
					     "'Deactivated' WHEN status = 'Deactivated' THEN '' ELSE status END "
					     "WHERE id = ?1 AND privchat <> ?2",
					     &st, e);
			if (rc)
				break;
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int(st, 2, active);
			rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating accounts"), e);
			total += sqlite3_changes(db);
		}
	}
	sqlite3_finalize(st);
	if (rc) {
		catalog_rollback(db);
		return rc;
	}
	if ((rc = catalog_commit(db, e)))
		return rc;
	if (changed)
		*changed = total;
	return 0;
}

int accounts_foreach(sqlite3 *db, int64_t tenant, int (*fn)(void *ctx, const struct account_row *r),
		     void *ctx, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db,
				  "SELECT id, tenant, user_id, upn, display_name, department, mail, enabled, gone, "
				  "privchat, status, reason, last_backup, chats, messages FROM accounts "
				  "WHERE ?1 <= 0 OR tenant = ?1 ORDER BY upn COLLATE NOCASE",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct account_row r;

		r.id = sqlite3_column_int64(st, 0);
		r.tenant = sqlite3_column_int64(st, 1);
		r.user_id = catalog_text(st, 2);
		r.upn = catalog_text(st, 3);
		r.display_name = catalog_text(st, 4);
		r.department = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL : catalog_text(st, 5);
		r.mail = catalog_text(st, 6);
		r.enabled = sqlite3_column_int(st, 7);
		r.gone = sqlite3_column_int(st, 8);
		r.privchat = sqlite3_column_int(st, 9);
		r.status = catalog_text(st, 10);
		r.reason = sqlite3_column_type(st, 11) == SQLITE_NULL ? NULL : catalog_text(st, 11);
		r.last_backup = sqlite3_column_int64(st, 12);
		r.chats = sqlite3_column_int64(st, 13);
		r.messages = sqlite3_column_int64(st, 14);
		rc = fn(ctx, &r);
	}
	sqlite3_finalize(st);
	return rc;
}

int account_set_status(sqlite3 *db, int64_t id, const char *status, const char *reason, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "UPDATE accounts SET status = ?, reason = ? WHERE id = ?", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("updating an account"), e);
	sqlite3_finalize(st);
	return rc;
}

int account_refresh_counts(sqlite3 *db, int64_t id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db,
				  "UPDATE accounts SET chats = (SELECT count(*) FROM account_chats WHERE account = ?1),"
				  " messages = (SELECT coalesce(sum(c.messages), 0) FROM chats c"
				  " JOIN account_chats ac ON ac.chat = c.id WHERE ac.account = ?1) WHERE id = ?1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("counting an account's messages"), e);
	sqlite3_finalize(st);
	return rc;
}
