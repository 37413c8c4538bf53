/*
 * What the backup's per-chat path (backup.c) and export API path (bulk.c)
 * share: storing one message version and moving on to the next page.
 */
#ifndef CV_BACKUP_INTERNAL_H
#define CV_BACKUP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* A later read starts this much before the time it resumes from: a message
 * Graph commits a little after its timestamp is still seen. */
#define BACKUP_OVERLAP_MS (10 * 60 * 1000)

struct buf;
struct cJSON;
struct chat_tally;
struct graph_tenant;
struct cv_err;

/* The Graph user id of an account (for the URLs of its tasks). */
int backup_user_id(struct engine_worker *w, int64_t account, char *out, size_t n, struct cv_err *e);

/* Inside the caller's transaction: store one Graph chatMessage of the chat
 * (chats.id and Graph chat id) as a version, and note its files. *added is
 * 1 when the version was new; a new message is counted in `tally`, which
 * the caller flushes before its commit. */
int backup_store_message(struct engine_worker *w, const struct job_row *job, const char *guid, int64_t chat,
			 const char *chat_id, const struct cJSON *m, struct chat_tally *tally, int *added,
			 struct cv_err *e);

/* Append an ISO 8601 time, escaped for a $filter in a URL. */
void backup_append_time(struct buf *url, int64_t ms);

/* A page is stored with its resume point: go on with its nextLink (none
 * ends the task's loop), and show the job In Progress again if a retry or
 * a full disk (with its accounts) had marked it Retrying. next belongs to
 * the page, so call this before freeing it. */
void backup_page_stored(struct engine_worker *w, const struct job_row *job, struct buf *url, const char *next);
/* CV_EPROTO when next is the link just fetched (url): a page that names
 * itself as the next one would be read forever. */
int backup_check_next(const struct buf *url, const char *next, struct cv_err *e);

/* A chat answers one request a second (its messages and its inline images
 * alike). When it cannot be asked again for a while, set w->defer_until and
 * return 1: the task then returns CV_EDEFER and gives its worker to other
 * work rather than sleep. Shorter waits than BACKUP_DEFER_S cost less than
 * the two transactions of going back to the queue. */
#define BACKUP_DEFER_S 0.1
int backup_defer_chat(struct engine_worker *w, struct graph_tenant *gt, const char *chat_id);

#endif
