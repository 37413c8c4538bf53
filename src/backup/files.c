/* Noting and fetching hosted contents and reference files (see files.h). */
#include "config.h"

#include "backup/files.h"
#include "backup/internal.h"
#include "graph/graph.h"
#include "store/blobs.h"
#include "store/catalog.h"
#include "store/files.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_ATTEMPTS 3
#define FILE_MAX_BYTES ((size_t)1 << 36) /* 64 GiB: only a sanity bound, files stream to disk */

struct note_ctx {
	sqlite3 *db;
	const struct vault *vault;
	struct file_note note;
	struct cv_err *e;
};

static int note_one(void *ctx, const char *kind, const char *reference, const char *name)
{
	struct note_ctx *n = ctx;

	n->note.kind = kind;
	n->note.reference = reference;
	n->note.name = name;
	return file_note(n->db, n->vault, &n->note, n->e);
}

int backup_note_files(sqlite3 *db, const struct vault *v, int64_t chat, const char *tenant_guid,
		      const char *chat_id, const char *message_id, const cJSON *msg, struct cv_err *e)
{
	struct note_ctx n = {
		.db = db, .vault = v, .e = e,
		.note = {.chat = chat, .tenant_guid = tenant_guid, .chat_id = chat_id, .message_id = message_id},
	};

	return file_refs_each(msg, note_one, &n);
}

/* ---- fetching ----------------------------------------------------------- */

struct pending {
	int64_t id;
	char message_id[300];
	char ref[VAULT_BLOB_NAME_LEN + 1];
	char kind[8];
	struct buf reference;
};

/* The next file of the chat this job has not tried yet: one never fetched,
 * one that failed in a way worth another try, or one refused for good whose
 * last try is FILE_RETRY_REFUSED_MS old. 1 if there is one. */
static int next_pending(struct engine_worker *w, const struct job_row *job, const char *guid, int64_t chat,
			const char *chat_id, struct pending *p, struct cv_err *e)
{
	struct buf meta = BUF_INIT;
	sqlite3_stmt *st;
	cJSON *obj;
	int rc;

	if ((rc = catalog_prepare(w->db,
				  "SELECT id, message_id, ref, meta_enc FROM files WHERE chat = ?1"
				  " AND (status IN (0, -1) OR (status IN (403, 404) AND coalesce(tried, 0) < ?3))"
				  " AND coalesce(job, 0) <> ?2 ORDER BY id LIMIT 1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, chat);
	sqlite3_bind_int64(st, 2, job->id);
	sqlite3_bind_int64(st, 3, time_now_ms() - FILE_RETRY_REFUSED_MS);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? 0 : catalog_error(w->db, _("reading the files of a chat"), e);
		sqlite3_finalize(st);
		return rc;
	}
	p->id = sqlite3_column_int64(st, 0);
	snprintf(p->message_id, sizeof p->message_id, "%s", catalog_text(st, 1));
	snprintf(p->ref, sizeof p->ref, "%s", catalog_text(st, 2));
	rc = file_meta_open(w->store->vault, guid, chat_id, p->message_id, p->ref, sqlite3_column_blob(st, 3),
			    (size_t)sqlite3_column_bytes(st, 3), &meta, e);
	sqlite3_finalize(st);
	if (rc)
		return rc;
	obj = json_parse(meta.data, meta.len);
	buf_free(&meta);
	if (obj == NULL || json_str(obj, "kind") == NULL || json_str(obj, "reference") == NULL) {
		cJSON_Delete(obj);
		return err_set(e, CV_EINTEGRITY, _("a file record of chat %s is unreadable"), chat_id);
	}
	snprintf(p->kind, sizeof p->kind, "%s", json_str(obj, "kind"));
	buf_reset(&p->reference);
	buf_append_str(&p->reference, json_str(obj, "reference"));
	cJSON_Delete(obj);
	return 1;
}

/* Record a file's outcome and renew the task's lease: fetching many files
 * can take longer than a lease, and nobody else may take the task over. */
static int settle(struct engine_worker *w, const struct job_row *job, const struct task_row *t, int64_t file,
		  int status, const char *reason, const char *blob, int64_t size, struct cv_err *e)
{
	int rc;

	if ((rc = catalog_begin(w->db, e)))
		return rc;
	if ((rc = file_settle(w->db, file, status, reason, job->id, blob, size, e)) ||
	    (rc = task_checkpoint(w->db, t->id, BACKUP_RESUME_FILES, 0, e))) {
		catalog_rollback(w->db);
		return rc;
	}
	return catalog_commit(w->db, e);
}

/* The same shared file already settled by this job (a file shared in several
 * messages or chats is fetched once per run). Inline images are not shared
 * this way: each is fetched through its own chat and message, so Graph
 * decides whether that chat may see it. */
static int settled_this_job(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
			    const struct pending *p, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(w->db,
				  "SELECT status, reason, blob, coalesce(size, 0) FROM files WHERE ref = ?1"
				  " AND job = ?2 AND kind = 'file' AND status NOT IN (0, -1) LIMIT 1",
				  &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, p->ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, job->id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *reason = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : xstrdup(catalog_text(st, 1));
		char *blob = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : xstrdup(catalog_text(st, 2));
		int status = sqlite3_column_int(st, 0);
		int64_t size = sqlite3_column_int64(st, 3);

		sqlite3_finalize(st);
		rc = settle(w, job, t, p->id, status, reason, blob, size, e);
		free(reason);
		free(blob);
		return rc ? rc : 1;
	}
	rc = rc == SQLITE_DONE ? 0 : catalog_error(w->db, _("reading the files of a chat"), e);
	sqlite3_finalize(st);
	return rc;
}

/* The blob writer's own error is kept apart: the HTTP layer reports the
 * aborted transfer into the request's error afterwards. */
struct sink {
	struct blob_writer *bw;
	struct cv_err err;
	int rc;
};

static int to_blob(void *ctx, const void *p, size_t n)
{
	struct sink *s = ctx;

	s->rc = blob_write(s->bw, p, n, &s->err);
	return s->rc;
}

static void file_url(struct buf *url, const char *chat_id, const struct pending *p)
{
	if (strcmp(p->kind, "hosted") == 0) {
		buf_append_str(url, "/v1.0/chats/");
		url_escape(url, chat_id);
		buf_append_str(url, "/messages/");
		url_escape(url, p->message_id);
		buf_append_str(url, "/hostedContents/");
		buf_append_str(url, p->reference.data); /* checked by file_hosted_id */
		buf_append_str(url, "/$value");
	} else {
		buf_append_str(url, "/v1.0/shares/u!");
		b64url_encode(url, p->reference.data, p->reference.len);
		buf_append_str(url, "/driveItem/content");
	}
}

/* Download one file into a blob, trying again when an answer is cut off
 * after some bytes were already kept (graph_get cannot repeat those). */
static int fetch_one(struct engine_worker *w, struct graph_tenant *gt, const char *chat_id,
		     const struct pending *p, char *blob, int64_t *size, struct cv_err *e)
{
	struct buf url = BUF_INIT;
	int rc = 0, attempt;
	int hosted = strcmp(p->kind, "hosted") == 0;

	file_url(&url, chat_id, p);
	for (attempt = 1; attempt <= FETCH_ATTEMPTS; attempt++) {
		struct sink s = {0};
		struct graph_request req = {
			.url = url.data,
			.cls = hosted ? GRAPH_CLASS_CHAT_MESSAGES : GRAPH_CLASS_OTHER,
			.resource = hosted ? chat_id : NULL,
			.max_bytes = FILE_MAX_BYTES,
			.sink = to_blob,
			.sink_ctx = &s,
		};
		struct graph_response resp;
		uint64_t n = 0;

		memset(&resp, 0, sizeof resp);
		if ((rc = blob_writer_new(w->store->blobs_dir, w->store->vault, &s.bw, e)))
			break;
		rc = graph_get(w->conn, gt, &req, &resp, e);
		graph_response_free(&resp);
		if (rc == 0) {
			rc = blob_commit(&s.bw, blob, &n, e);
			*size = (int64_t)n;
			break;
		}
		blob_abort(&s.bw);
		if (s.rc) { /* our own write failed (disk full) */
			*e = s.err;
			rc = s.rc;
		}
		if (s.rc || !(rc == CV_ENET || rc == CV_EPROTO || rc == CV_ESERVER) || w->stop)
			break;
		log_info("file of message %s in chat %s cut off (attempt %d): %s", p->message_id, chat_id, attempt,
			 e->msg);
	}
	buf_free(&url);
	return rc;
}

int backup_fetch_files(struct engine_worker *w, const struct job_row *job, const struct task_row *t,
		       struct graph_tenant *gt, const char *guid, const char *chat_id, int asked, struct cv_err *e)
{
	struct pending p = {.reference = BUF_INIT};
	int rc = 0;

	while (!w->stop && (rc = next_pending(w, job, guid, t->chat, chat_id, &p, e)) == 1) {
		char blob[VAULT_BLOB_NAME_LEN + 1], why[sizeof e->msg + 80];
		int64_t size = 0;
		int status;

		if ((rc = settled_this_job(w, job, t, &p, e)) != 0) {
			if (rc < 0)
				break;
			rc = 0;
			continue;
		}
		/* Each file before is settled: the next run of the task goes on
		 * with the rest. */
		if (strcmp(p.kind, "hosted") == 0 && asked && backup_defer_chat(w, gt, chat_id)) {
			rc = CV_EDEFER;
			break;
		}
		rc = fetch_one(w, gt, chat_id, &p, blob, &size, e);
		asked = 1;
		if (rc == 0) {
			if ((rc = settle(w, job, t, p.id, 200, NULL, blob, size, e)))
				break;
			engine_notify(w->engine);
			continue;
		}
		switch (rc) {
		case CV_EGONE:
			status = 404;
			snprintf(why, sizeof why, _("%s was deleted or its link no longer works (404)"),
				 strcmp(p.kind, "hosted") == 0 ? _("an inline image") : _("a shared file"));
			break;
		case CV_EFORBIDDEN:
			status = 403;
			/* Graph says accessDenied both for a revoked sharing link
			 * and for an app without Files.Read.All: name both. */
			snprintf(why, sizeof why, "%s",
				 strcmp(p.kind, "hosted") == 0
					 ? _("access to an inline image was refused (403)")
					 : _("access to a shared file was refused (403): it is no longer shared, or the "
					     "app lacks Files.Read.All"));
			break;
		case CV_ETOOBIG:
			/* larger than we keep: asking again next run would not help */
			status = 413;
			snprintf(why, sizeof why, _("a file could not be downloaded: %s"), e->msg);
			break;
		case CV_ENET: case CV_EPROTO: case CV_ESERVER: case CV_ETHROTTLED: case CV_ETLS:
			status = FILE_RETRY;
			snprintf(why, sizeof why, _("a file could not be downloaded: %s"), e->msg);
			break;
		default:
			goto out; /* disk full, credential refused, stopped: the task ends */
		}
		if ((rc = settle(w, job, t, p.id, status, why, NULL, 0, e)))
			break;
	}
out:
	buf_free(&p.reference);
	if (rc == 0 && w->stop)
		rc = CV_ECANCELLED;
	return rc;
}
