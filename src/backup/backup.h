/*
 * The "backup" job kind: what a worker does to back up private chats.
 * A job is planned into one task per account (list its chats with members)
 * and one task per chat (page through its messages); a chat shared by several
 * accounts gets one task per run. Each page is stored in one transaction
 * together with the task's resume point.
 */
#ifndef CV_BACKUP_BACKUP_H
#define CV_BACKUP_BACKUP_H

#include "engine/engine.h"

#include <sqlite3.h>
#include <stdint.h>

/* A backup's phases are rows of its tasks (bulk.c): listing each account's
 * chats adds tasks as it goes, until BACKUP_PHASE_PLAN is recorded with the
 * run's tasks and a "cover" row (key "chat:...") for each chat an export
 * reads; the last phase turns every cover row into one chat task. So, for
 * a backup job `j` in a query: BACKUP_SQL_TOTAL_FINAL is 1 once its total
 * will not grow, and then progress_total plus BACKUP_SQL_TOTAL_PENDING is
 * the final total. */
#define BACKUP_PHASE_PLAN "phase:plan"
#define BACKUP_SQL_TOTAL_FINAL(j) \
	"EXISTS (SELECT 1 FROM tasks WHERE job = " j ".id AND key = '" BACKUP_PHASE_PLAN "')"
#define BACKUP_SQL_TOTAL_PENDING(j) \
	"(SELECT count(*) FROM tasks WHERE job = " j ".id AND key >= 'chat:' AND key < 'chat;' AND kind = 'cover')"

/* An unfinished backup joined by a new request (its process was killed or
 * stopped, or it runs elsewhere) must still read up to now: its finished
 * delta rounds and chats are queued again, to read from the delta link or
 * watermark they left, and the total grows by as many. *n: how many.
 * CV_ENOTFOUND (nothing changed) when the job has finished meanwhile. */
int backup_catch_up(sqlite3 *db, int64_t job, int *n, struct cv_err *e);

/* Register the kind with the engine. */
void backup_register(void);

extern const struct engine_kind backup_kind;

#endif
