/*
 * The export API path of a backup: reading users' histories with
 * getAllMessages and getAllMessages/delta instead of chat by chat.
 *
 * Once the account tasks have listed every chat, the last of them (or
 * bulk_advance) plans the run as a covering problem: it picks users whose
 * exports together cover the chats (on a first backup of many users, some
 * are picked while the listing runs), adds their tasks (windows of
 * getAllMessages, one delta round each) and queues the chats left over for
 * the per-chat path. When those tasks have ended, a chat whose covering
 * export finished only fetches its files; a chat whose export failed is
 * read per chat. The path taken is the job's note.
 */
#ifndef CV_BACKUP_BULK_H
#define CV_BACKUP_BULK_H

#include "engine/engine.h"

struct cv_err;
struct graph_tenant;

/* The engine's advance hook for backup jobs (see struct engine_kind). */
int bulk_advance(struct engine_worker *w, const struct job_row *job, int *more, struct cv_err *e);

/* The engine's task_ended hook for backup jobs: when a listing ends, start
 * an export early, or plan the run once the listing is complete. */
void bulk_task_ended(struct engine_worker *w, const struct job_row *job, const struct task_row *t);

/* Run a "window" or "delta" task. */
int bulk_run_task(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		  struct graph_tenant *gt, const char *guid, struct cv_err *e);

#endif
