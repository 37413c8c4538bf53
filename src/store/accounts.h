/*
 * Accounts: the tenant's users as discovered by sync, with their private chat
 * activation (ACTIVE/INACTIVE), backup status word, reason and counters.
 */
#ifndef CV_STORE_ACCOUNTS_H
#define CV_STORE_ACCOUNTS_H

#include <sqlite3.h>
#include <stdint.h>

struct cv_err;

struct account_row {
	int64_t id;
	int64_t tenant;
	const char *user_id;
	const char *upn;
	const char *display_name;
	const char *department;   /* may be NULL */
	const char *mail;
	int enabled;
	int gone;
	int privchat;             /* 1 = ACTIVE */
	const char *status;       /* backup status word, "" if never backed up */
	const char *reason;       /* may be NULL */
	int64_t last_backup;      /* ms, 0 if never */
	int64_t chats;
	int64_t messages;
};

/* Sync bracket: begin marks every account of the tenant as gone, upsert
 * revives the ones still present, so users removed from the tenant stay
 * (with their backups) but are marked. Run inside one transaction. */
int accounts_sync_begin(sqlite3 *db, int64_t tenant, struct cv_err *e);
int account_upsert(sqlite3 *db, int64_t tenant, const char *user_id, const char *upn,
		   const char *display_name, const char *department, const char *mail, int enabled,
		   int *is_new, struct cv_err *e);
/* Close the bracket: an account still marked is no longer backed up, and
 * says so (Deactivated, with the reason) until it comes back; *gone counts
 * them. */
int accounts_sync_end(sqlite3 *db, int64_t tenant, int *gone, struct cv_err *e);

/* Set private chat ACTIVE (1) or INACTIVE (0) for the listed UPNs (case-
 * insensitive) or, with upns == NULL, for every account still in the tenant.
 * *changed counts rows whose state changed; an unknown UPN is CV_ENOTFOUND
 * naming it, and nothing is changed. */
int accounts_set_privchat(sqlite3 *db, int64_t tenant, const char *const *upns, int n, int active,
			  int *changed, struct cv_err *e);

/* Call fn for each account of the tenant (all tenants when tenant <= 0),
 * ordered by UPN. Row strings are valid only during the call. */
int accounts_foreach(sqlite3 *db, int64_t tenant, int (*fn)(void *ctx, const struct account_row *r),
		     void *ctx, struct cv_err *e);
int account_find(sqlite3 *db, int64_t tenant, const char *upn, int64_t *id, struct cv_err *e);
/* 0 when the account is a member of the chat (Graph's chat id) in the
 * store, else CV_ENOTFOUND naming it. */
int account_has_chat(sqlite3 *db, int64_t account, const char *chat_id, struct cv_err *e);
int account_set_status(sqlite3 *db, int64_t id, const char *status, const char *reason,
		       struct cv_err *e);
/* Recount chats and messages stored for an account. */
int account_refresh_counts(sqlite3 *db, int64_t id, struct cv_err *e);

#endif
