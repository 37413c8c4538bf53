/*
 * Read-side use cases for the console: windows of the account table
 * filtered and sorted by sqlite (so 50,000 accounts cost one indexed query
 * per screenful, never a full copy), the tag set the bulk actions apply to,
 * tenant summaries, jobs, and an account's chats. The tag set lives in a
 * TEMP table of the app's connection, so filters and counts over it are SQL.
 */
#ifndef CV_APP_VIEW_H
#define CV_APP_VIEW_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct cv_err;

/* Sortable account columns, in the order the console shows them. */
enum app_acol {
	APP_ACOL_UPN,
	APP_ACOL_NAME,
	APP_ACOL_DEPT,
	APP_ACOL_PRIVCHAT,
	APP_ACOL_STATUS,
	APP_ACOL_LAST,
	APP_ACOL_CHATS,
	APP_ACOL_MESSAGES,
	APP_ACOL_COUNT
};

/* Which accounts a table shows. text is free text matched against UPN, name
 * and department, or "field=value" with field one of upn, name, dept,
 * status, privchat (active/inactive), tenant; '*' in a value matches any run. */
struct app_account_filter {
	int64_t tenant;        /* 0: every tenant */
	const char *text;      /* NULL or "": no filter */
	enum app_acol sort;
	int desc;
};

struct app_account_row {
	int64_t id;
	int64_t tenant;
	char upn[256];
	char name[256];
	char dept[128];
	int privchat;
	char status[32];
	char reason[256];
	int64_t last_backup;
	int64_t chats;
	int64_t messages;
	int tagged;
};

/* Create the tag set; once per app before the other calls. */
int app_view_open(struct app *a, struct cv_err *e);

/* Is text a valid filter? e names the problem (unknown field). */
int app_filter_check(const char *text, struct cv_err *e);

int app_accounts_count(struct app *a, const struct app_account_filter *f, int64_t *n, struct cv_err *e);
/* Rows [offset, offset+max) of the filtered, sorted table into rows; *n how
 * many were filled. While a backup runs, their chats and messages are
 * counted from what is stored so far (the stored columns, which the sort
 * uses, catch up as the run finishes with each account). */
int app_accounts_window(struct app *a, const struct app_account_filter *f, int64_t offset, int max,
			struct app_account_row *rows, int *n, struct cv_err *e);
/* The index of account id in the filtered, sorted table, or -1. */
int64_t app_accounts_position(struct app *a, const struct app_account_filter *f, int64_t id);

/* The index of the first row after (forward) or before from whose UPN,
 * name or department contains text, or -1. */
int64_t app_accounts_find(struct app *a, const struct app_account_filter *f, const char *text, int64_t from,
			  int forward);

/* ---- the tag set ---- */
int app_tag_toggle(struct app *a, int64_t account, struct cv_err *e);
/* Tag every account the filter shows; *added how many were new. */
int app_tag_filtered(struct app *a, const struct app_account_filter *f, int64_t *added, struct cv_err *e);
/* Tag accounts whose UPN or name matches glob (* and ?, case-insensitive)
 * within the filter's tenant. */
int app_tag_pattern(struct app *a, const struct app_account_filter *f, const char *glob, int64_t *added,
		    struct cv_err *e);
int app_untag_all(struct app *a, struct cv_err *e);
/* How many accounts are tagged, and how many of them the filter hides. */
int app_tag_counts(struct app *a, const struct app_account_filter *f, int64_t *tagged, int64_t *hidden,
		   struct cv_err *e);
/* Up to max display names of the tagged accounts (or of account when none
 * is tagged), joined with ", " into out, for confirmations; returns how many
 * it named. */
int app_selection_names(struct app *a, int64_t account, char *out, size_t len, int max);

/* How many of the tagged accounts (or account when none is tagged) are
 * ACTIVE, so an action can refuse before it asks; -1 if the store fails. */
int64_t app_selection_active(struct app *a, int64_t account);

/* Activate or deactivate the tagged accounts, or account when none is
 * tagged. *changed counts the accounts whose state changed. */
int app_privchat_set_selection(struct app *a, int64_t account, int active, int *changed, struct cv_err *e);
/* Queue backups of the tagged ACTIVE accounts (or account), one job per
 * tenant. *jobs how many jobs were queued; CV_ENOTFOUND when none of them is
 * ACTIVE. */
int app_backup_selection(struct app *a, int64_t account, int *jobs, struct cv_err *e);

/* ---- tenants ---- */
struct app_tenant_summary {
	int64_t id;
	char name[256];
	char status[32];
	char reason[256];
	int64_t accounts, active, backed_up;
	int64_t last_run;        /* ms of the latest finished backup, 0 if none */
	int64_t messages;        /* messages stored (an edit is a version, not another message) */
	int64_t month_messages, month_requests, month_throttled;
	int64_t monthly_limit;   /* -1 when none */
};
/* All tenants, by name; the caller frees *out. */
int app_tenants_summary(struct app *a, struct app_tenant_summary **out, int *n, struct cv_err *e);

/* ---- jobs ---- */
struct app_job_row {
	int64_t id;
	char kind[16];
	char tenant[256];
	char status[32];
	char reason[512];
	int64_t done, total;
	int total_final;         /* total will not grow: a percentage of it is honest */
	int64_t created, started, finished;
	char result[1024];
	int64_t result_size;
	int running;             /* unfinished */
};
/* The newest max jobs of kind (NULL: every kind), unfinished first. A
 * backup adds tasks as it goes: until it has planned the run, its total is
 * what is known so far (total_final 0); once planned, total counts the
 * tasks its last phase will add, so done/total only ever rises. */
int app_jobs_list(struct app *a, const char *kind, int max, struct app_job_row **out, int *n,
		  struct cv_err *e);
int64_t app_jobs_running(struct app *a);
/* Queue a new job with the same kind, tenant and parameters as job. */
int app_job_retry(struct app *a, int64_t job, int64_t *newjob, struct cv_err *e);

/* ---- an account's chats ---- */
struct app_chat_row {
	int64_t id;
	char chat_id[256];
	char title[512];         /* topic or "Chat with ..." (unsanitised) */
	char type[16];
	int64_t messages;
	int64_t last_activity;
};
int app_account_chats(struct app *a, int64_t account, struct app_chat_row **out, int *n, struct cv_err *e);
/* The account's tenant and Graph user id (for chat titles and streams). */
int app_account_ids(struct app *a, int64_t account, int64_t *tenant, char *user_id, size_t len,
		    struct cv_err *e);

/* One message of a transcript, ready for a person (still unsanitised). */
struct app_message {
	const char *sender;
	int64_t created;         /* ms */
	int edited, deleted, event;
	const char *text;        /* plain text of the body, or the event's description */
	const char *attachments; /* file names joined by ", ", or "" */
	const char *reactions;   /* "👍 2; ❤️ 1", or "" */
};
typedef int (*app_message_fn)(void *ctx, const struct app_message *m);
/* Read one chat of account in createdDateTime order (deleted messages keep
 * their last backed-up text). *integrity counts records that failed their
 * check and were skipped. */
int app_chat_read(struct app *a, int64_t account, const char *chat_id, app_message_fn fn, void *ctx,
		  int64_t *integrity, struct cv_err *e);

/* Has another connection (a worker, another process) changed the store
 * since the last call? */
int app_store_changed(struct app *a);

#endif
