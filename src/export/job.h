/*
 * Download jobs: an export run on the worker pool. The job's parameters
 * say which account, format, range and snapshot; the result is a zip in the
 * store's downloads/ folder (and, from the CLI, a directory too), recorded
 * on the job row with its size until it expires.
 */
#ifndef CV_EXPORT_JOB_H
#define CV_EXPORT_JOB_H

#include <sqlite3.h>
#include <stdint.h>

struct cv_err;
struct engine_kind;

#define DOWNLOAD_KEEP_DAYS 7
#define DOWNLOAD_KEEP_DAYS_MAX 100000 /* days * ms a day stays far from overflow */

void download_register(void);
extern const struct engine_kind download_kind;

/* Delete the results of downloads that finished more than days ago and
 * mark their rows Expired. Only a result the store owns is deleted: the
 * job's own zip in downloads_dir, this store's downloads/ (job.c says why
 * a recorded path is not trusted further). *expired counts the rows (may
 * be NULL). */
int download_expire(sqlite3 *db, const char *downloads_dir, int64_t now_ms, int days, int *expired,
		    struct cv_err *e);
/* $CHATVAULT_DOWNLOAD_KEEP_DAYS (0 to DOWNLOAD_KEEP_DAYS_MAX; 0: deleted
 * the next time the store is opened), else DOWNLOAD_KEEP_DAYS; a value that
 * is not such a number is logged as a warning and the default used. */
int download_keep_days(void);

#endif
