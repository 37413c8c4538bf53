/*
 * Hosted contents and reference files during a backup.
 *
 * Graph facts (graph-facts.md §3.5, §3.6):
 * - An inline image is an <img> whose src ends in
 *   /chats/{id}/messages/{mid}/hostedContents/{hc}/$value; the bytes come from
 *   that path under our own Graph base (never from the host in the body).
 * - A file sent in a chat is an attachment with contentType "reference" and a
 *   SharePoint/OneDrive contentUrl; its bytes come from
 *   /shares/u!{base64url(contentUrl)}/driveItem/content.
 */
#ifndef CV_BACKUP_FILES_H
#define CV_BACKUP_FILES_H

#include <sqlite3.h>
#include <stdint.h>

#include "engine/engine.h"

/* The resume point of a chat task whose pages are all stored. */
#define BACKUP_RESUME_FILES "files"

struct cJSON;
struct cv_err;
struct graph_tenant;
struct vault;

/* Note every hosted content and reference file a message version names
 * (inside the caller's transaction). */
int backup_note_files(sqlite3 *db, const struct vault *v, int64_t chat, const char *tenant_guid,
		      const char *chat_id, const char *message_id, const struct cJSON *msg, struct cv_err *e);

/* Fetch the pending files of the task's chat into the blob store. A file
 * Graph refuses (403, 404) or that keeps failing is recorded on its row (the
 * account's final status counts those rows); only a store error, a refused
 * credential or a stop ends it early. When the chat was already asked in
 * this run of the task (`asked`), or once one image is fetched, an inline
 * image the chat's limit holds back returns CV_EDEFER (backup_defer_chat). */
int backup_fetch_files(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		       struct graph_tenant *gt, const char *tenant_guid, const char *chat_id, int asked,
		       struct cv_err *e);

#endif
