/*
 * The "download" job kind (see job.h). One task per job runs export_run
 * into a staging directory and zips it into downloads/. The export's tick
 * renews the task's lease, reports progress and notices a cancel request,
 * so a long export neither loses its lease nor outlives a Cancel.
 */
#include "config.h"

#include "export/job.h"

#include "engine/engine.h"
#include "engine/queue.h"
#include "export/export.h"
#include "store/catalog.h"
#include "store/store.h"
#include "store/tenants.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int download_keep_days(void)
{
	const char *env = getenv("CHATVAULT_DOWNLOAD_KEEP_DAYS");
	char *end;
	long days;

	if (!env || !*env)
		return DOWNLOAD_KEEP_DAYS;
	/* 0 is a choice (keep no copy), not a slip: it was read as 7, and so
	 * was anything else atoi made nothing of. A value that is not a
	 * number of days is said, not guessed at. */
	errno = 0;
	days = strtol(env, &end, 10);
	if (*env < '0' || *env > '9' || *end || errno || days > DOWNLOAD_KEEP_DAYS_MAX) {
		log_warn(_("CHATVAULT_DOWNLOAD_KEEP_DAYS='%.40s' is not a number of days from 0 to %d; keeping "
			   "downloads %d days"),
			 env, DOWNLOAD_KEEP_DAYS_MAX, DOWNLOAD_KEEP_DAYS);
		return DOWNLOAD_KEEP_DAYS;
	}
	return (int)days;
}

/*
 * What a download leaves in the store, and so what the store may delete.
 * A download job writes one file, its zip, named by result_name() directly
 * in the store's downloads/, and records that path on its row. The files
 * written to --out and the copy made for --zip belong to the user: no row
 * records them and nothing here touches them.
 *
 * The recorded path is plain and unauthenticated, and a store copied to
 * recover elsewhere (cp -a home home2) still records the original's
 * absolute paths. So only its last component is used: if that is the name
 * this job's result was given, the file of that name in this store's own
 * downloads/ goes (the directory opened without following a symlink, and
 * unlinkat follows none). Any other path, wherever it points, is left
 * alone; only the row changes.
 */
static char *result_name(int64_t job, const char *format)
{
	return xasprintf("chatvault-download-%lld-%s.zip", (long long)job, format);
}

/* 1 if name is one result_name() gives job: its prefix, a format's
 * lower-case letters, ".zip". */
static int result_name_is(const char *name, int64_t job)
{
	char prefix[48];
	size_t n = (size_t)snprintf(prefix, sizeof prefix, "chatvault-download-%lld-", (long long)job);

	if (strncmp(name, prefix, n) != 0)
		return 0;
	name += n;
	n = strspn(name, "abcdefghijklmnopqrstuvwxyz");
	return n > 0 && strcmp(name + n, ".zip") == 0;
}

/* Remove the result of job recorded as path, if the store owns it (see
 * above): 0 when none of ours is left, -1 with errno if it could not go. */
static int result_remove(const char *downloads_dir, int64_t job, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	int dirfd, rc = 0, saved;

	if (!result_name_is(name, job))
		return 0;
	dirfd = open(downloads_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? 0 : -1;
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		rc = -1;
	saved = errno;
	close(dirfd);
	errno = saved;
	return rc;
}

static int download_plan(struct engine_worker *w, struct job_row *job, struct cv_err *e)
{
	int rc, added;

	if ((rc = catalog_begin(w->db, e)))
		return rc;
	if ((rc = job_set_status(w->db, job->id, ST_IN_PROGRESS, NULL, e)) ||
	    (rc = task_add(w->db, job->id, "export", "export", 0, 0, &added, e)) ||
	    /* Progress counts messages, not tasks: take back the task's unit. */
	    (rc = job_bump_progress(w->db, job->id, 0, -added, e)) ||
	    (rc = job_mark_planned(w->db, job->id, e))) {
		catalog_rollback(w->db);
		return rc;
	}
	return catalog_commit(w->db, e);
}

struct tick_ctx {
	struct engine_worker *w;
	int64_t job, task;
};

/* Every EXPORT_TICK messages: renew the lease, show progress, and stop if
 * the job was cancelled or the engine is stopping. */
static int download_tick(void *ctx, int64_t messages)
{
	struct tick_ctx *t = ctx;
	sqlite3_stmt *st;
	int cancel = 0;

	if (t->w->stop)
		return 1;
	task_checkpoint(t->w->db, t->task, NULL, 0, NULL);
	if (catalog_prepare(t->w->db, "UPDATE jobs SET progress_done = ?2 WHERE id = ?1 RETURNING cancel", &st,
			    NULL) == 0) {
		sqlite3_bind_int64(st, 1, t->job);
		sqlite3_bind_int64(st, 2, messages);
		if (sqlite3_step(st) == SQLITE_ROW)
			cancel = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	engine_notify(t->w->engine);
	return cancel;
}

/* The stored message versions of the account's chats: the progress total. */
static int64_t message_estimate(sqlite3 *db, int64_t account)
{
	sqlite3_stmt *st;
	int64_t n = 0;

	if (catalog_prepare(db,
			    "SELECT IFNULL(sum(c.messages), 0) FROM chats c JOIN account_chats ac ON ac.chat = c.id"
			    " WHERE ac.account = ?1",
			    &st, NULL))
		return 0;
	sqlite3_bind_int64(st, 1, account);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Record the result unless the job was cancelled meanwhile; 1 if recorded. */
static int record_result(sqlite3 *db, int64_t job, const char *path, int64_t size, int64_t messages,
			 int64_t problems, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc, done;

	if ((rc = catalog_prepare(db,
				  /* task_finish adds the last unit to progress_done */
				  "UPDATE jobs SET result_path = ?2, result_size = ?3, progress_done = ?4 - 1, progress_total = ?4,"
				  " problems = ?5"
				  " WHERE id = ?1 AND cancel = 0",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, size);
	sqlite3_bind_int64(st, 4, messages);
	sqlite3_bind_int64(st, 5, problems);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("recording the download"), e);
	done = sqlite3_changes(db);
	sqlite3_finalize(st);
	return rc ? rc : done;
}

/* Add to a job's note after "; ". */
static void note_part(struct buf *note, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_part(struct buf *note, const char *fmt, ...)
{
	va_list ap;

	if (note->len)
		buf_append_str(note, "; ");
	va_start(ap, fmt);
	buf_vprintf(note, fmt, ap);
	va_end(ap);
}

static int download_run_task(struct engine_worker *w, const struct job_row *job, const struct task_row *task,
			     struct cv_err *e)
{
	cJSON *p = json_parse(job->params, strlen(job->params));
	struct export_request req;
	struct export_result res;
	struct tick_ctx tick = {w, job->id, task->id};
	struct tenant_rec t;
	struct stat sb;
	char user_id[256], *zip = NULL, *staging = NULL;
	int rc;

	memset(&req, 0, sizeof req);
	if (!p)
		return err_set(e, CV_EINVAL, _("the download's parameters are damaged"));
	if ((rc = tenant_load_id(w->db, w->store->vault, job->tenant, 0, &t, e))) {
		cJSON_Delete(p);
		return rc;
	}
	req.tenant = t.id;
	req.tenant_guid = t.tenant_id;
	req.account = json_int(p, "account", 0);
	req.format = json_str(p, "format");
	req.attachments = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "attachments"));
	req.from_ms = json_int(p, "from", 0);
	req.to_ms = json_int(p, "to", 0);
	req.as_of = json_int(p, "as_of", 0);
	req.chat_id = json_str(p, "chat");
	req.out_dir = json_str(p, "out");
	req.blobs_dir = w->store->blobs_dir;
	req.tick = download_tick;
	req.tick_ctx = &tick;
	rc = catalog_text_by_id(w->db, "SELECT user_id FROM accounts WHERE id = ?1", req.account, user_id,
				sizeof user_id, e);
	if (rc == 0) {
		char *name = result_name(job->id, req.format ? req.format : "");

		req.account_user_id = user_id;
		zip = fs_join(w->store->downloads_dir, name);
		free(name);
		req.zip_path = zip;
		if (!req.out_dir) {
			staging = xasprintf("%s/.staging-job%lld", w->store->downloads_dir, (long long)job->id);
			req.staging_dir = staging;
		}
		/* from the start, also when taken over from a killed process */
		job_set_progress(w->db, job->id, 0, message_estimate(w->db, req.account), NULL);
		rc = export_run(w->db, w->store->vault, &req, &res, e);
		/* The export only reads the catalog, so a full disk here is the
		 * output's (--out, or the zip being built): this download fails.
		 * CV_ENOSPC would tell the engine the store itself is full; it
		 * would give the task back, and every later run would take it
		 * up again first and rest, ahead of every other job. */
		if (rc == CV_ENOSPC)
			rc = e->code = CV_EIO;
	}
	if (rc == CV_ECANCELLED && w->stop && !job->cancel) {
		/* The engine is stopping: give the task back to run again. */
	} else if (rc == 0) {
		if (stat(zip, &sb) != 0)
			rc = err_set(e, CV_EIO, _("the download's zip is missing: %s"), strerror(errno));
		else if ((rc = record_result(w->db, job->id, zip, (int64_t)sb.st_size, res.messages,
					       res.integrity_errors + res.missing_blobs, e)) == 0) {
			/* Cancelled while the zip was written: nobody wants it. */
			unlink(zip);
			rc = err_set(e, CV_ECANCELLED, _("cancelled by the user"));
		} else if (rc == 1) {
			rc = 0;
			if (res.integrity_errors || res.missing_blobs || res.missing_attachments) {
				struct buf note = BUF_INIT;

				/* Kept as the job's reason for finish: beside Partially
				 * Completed when stored records or files were left out
				 * (the CLI exits 3), else beside Completed (the download
				 * has all the backup has). A file missing from blobs/ is
				 * told apart from damage: it is only not there. */
				if (res.integrity_errors)
					note_part(&note,
						  P_("%lld stored record failed its integrity check and was left out",
						     "%lld stored records failed their integrity check and were left out",
						     res.integrity_errors),
						  (long long)res.integrity_errors);
				if (res.missing_blobs)
					note_part(&note,
						  P_("%lld stored file is missing from the store's blobs/ folder and was "
						     "left out (was the store copied without it?)",
						     "%lld stored files are missing from the store's blobs/ folder and were "
						     "left out (was the store copied without it?)",
						     res.missing_blobs),
						  (long long)res.missing_blobs);
				if (res.missing_attachments)
					note_part(&note,
						  P_("%lld attachment was not available at backup time (its "
						     ".unavailable.txt says why)",
						     "%lld attachments were not available at backup time (their "
						     ".unavailable.txt files say why)",
						     res.missing_attachments),
						  (long long)res.missing_attachments);
				job_set_status(w->db, job->id, ST_IN_PROGRESS, note.data, NULL);
				buf_free(&note);
			}
		}
	}
	if (rc && rc != CV_ECANCELLED && zip)
		unlink(zip);
	free(zip);
	free(staging);
	tenant_rec_free(&t);
	cJSON_Delete(p);
	return rc;
}

static int download_finish(struct engine_worker *w, const struct job_row *job, struct cv_err *e)
{
	sqlite3_stmt *st;
	char reason[640] = "";
	const char *status = ST_COMPLETED;
	int failed = 0, rc;

	if ((rc = catalog_prepare(w->db, "SELECT reason FROM tasks WHERE job = ?1 AND state = 'failed' LIMIT 1", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, job->id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		failed = 1;
		snprintf(reason, sizeof reason, "%s", catalog_text(st, 0));
	}
	sqlite3_finalize(st);
	if (job->cancel) {
		status = ST_CANCELLED;
		snprintf(reason, sizeof reason, "%s", _("cancelled by the user"));
		/* A result written just before the cancel is not kept either. */
		if (job->result_path && *job->result_path)
			result_remove(w->store->downloads_dir, job->id, job->result_path);
	} else if (failed)
		status = ST_FAILED;
	else {
		if (job->problems > 0)
			status = ST_PARTIAL;
		if (job->reason && *job->reason)
			snprintf(reason, sizeof reason, "%s", job->reason);
	}
	rc = job_finish(w->db, job->id, status, reason[0] ? reason : NULL, e);
	engine_notify(w->engine);
	return rc;
}

const struct engine_kind download_kind = {
	.name = "download",
	.plan = download_plan,
	.run_task = download_run_task,
	.finish = download_finish,
};

void download_register(void)
{
	engine_register(&download_kind);
}

int download_expire(sqlite3 *db, const char *downloads_dir, int64_t now_ms, int days, int *expired,
		    struct cv_err *e)
{
	sqlite3_stmt *sel, *upd;
	int rc, n = 0;

	if ((rc = catalog_prepare(db,
				  "SELECT id, result_path FROM jobs WHERE kind = 'download'"
				  " AND status IN ('Completed', 'Partially Completed') AND finished < ?1",
				  &sel, e)))
		return rc;
	if ((rc = catalog_prepare(db,
				  "UPDATE jobs SET status = 'Expired', result_path = NULL, result_size = NULL WHERE id = ?1",
				  &upd, e))) {
		sqlite3_finalize(sel);
		return rc;
	}
	sqlite3_bind_int64(sel, 1, now_ms - (int64_t)days * 86400000LL);
	while (rc == 0 && sqlite3_step(sel) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(sel, 0);

		/* The file goes first: a row never says Expired while its
		 * result is still in the store, unless it cannot be removed. */
		if (result_remove(downloads_dir, id, catalog_text(sel, 1)) != 0)
			continue;
		sqlite3_bind_int64(upd, 1, id);
		if (sqlite3_step(upd) != SQLITE_DONE)
			rc = catalog_error(db, _("expiring downloads"), e);
		sqlite3_reset(upd);
		n++;
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (expired)
		*expired = n;
	return rc;
}
