/*
 * Catalog connections and schema migrations. Settings are applied on every
 * connection, because sqlite keeps them per connection: WAL so the console
 * can read while workers write, foreign keys, a busy timeout so writers
 * queue instead of failing, and synchronous=FULL so a commit survives
 * power loss (a backup must not report data it could lose). A backup's
 * pages commit relaxed (catalog_begin_relaxed) and their task's end in
 * full, which makes them durable too.
 */
#include "config.h"

#include "store/catalog.h"
#include "util/err.h"
#include "util/i18n.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "store/schema.sql.h"

#define N_MIGRATIONS (sizeof catalog_migrations / sizeof catalog_migrations[0])

int catalog_error(sqlite3 *db, const char *what, struct cv_err *e)
{
	int rc = sqlite3_extended_errcode(db);
	int code = CV_EIO;

	if ((rc & 0xff) == SQLITE_FULL)
		code = CV_ENOSPC;
	else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		code = CV_ELOCKED;
	if (code == CV_ENOSPC)
		return err_set(e, code, _("%s: the disk is full; free space and run again (nothing stored so far is lost)"),
			       what);
	/* sqlite's "database is locked" says nothing to a person: the lock is
	 * another process writing to the same store (the busy wait is over). */
	if (code == CV_ELOCKED)
		return err_set(e, code,
			       _("%s: the store is busy: another process is writing to it; try again when it is done"),
			       what);
	if ((rc & 0xff) == SQLITE_READONLY) {
		const char *path = sqlite3_db_filename(db, "main");

		return err_set(e, code,
			       _("%s: the catalog %s cannot be written (a read-only file, folder or file system?)"), what,
			       path && *path ? path : "catalog.db");
	}
	return err_set(e, code, _("%s: catalog error: %s"), what, sqlite3_errmsg(db));
}

/* The steps of the wait, in ms: short at first, as sqlite's own, since a
 * lock held by a worker of this process is usually free again within a
 * millisecond or two; never longer than the last, which bounds how long a
 * stop goes unnoticed. */
static const unsigned char busy_steps_ms[] = {1, 2, 5, 10, 15, 20};

static int busy_until_stop(void *ctx, int count)
{
	atomic_int *stop = ctx;
	size_t last = sizeof busy_steps_ms / sizeof busy_steps_ms[0] - 1;
	int64_t waited = 0;
	unsigned step;

	if (atomic_load(stop))
		return 0;
	for (size_t i = 0; i < last && i < (size_t)count; i++)
		waited += busy_steps_ms[i];
	if ((size_t)count > last)
		waited += (int64_t)((size_t)count - last) * busy_steps_ms[last];
	if (waited >= CATALOG_BUSY_TIMEOUT_MS)
		return 0;
	step = busy_steps_ms[(size_t)count < last ? (size_t)count : last];
	sqlite3_sleep((int)step);
	return 1;
}

void catalog_busy_until_stop(sqlite3 *db, atomic_int *stop)
{
	sqlite3_busy_handler(db, busy_until_stop, stop);
}

int catalog_exec(sqlite3 *db, const char *sql, struct cv_err *e)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return catalog_error(db, _("updating the catalog"), e);
	return 0;
}

/*
 * Statements kept prepared for the hot paths (a page of messages runs a few
 * statements per message; parsing them anew cost a third of the backup's
 * CPU). Each connection is used by one thread, so the cache is per thread,
 * keyed by connection and by the address of the SQL literal. Closing any
 * connection bumps a counter that makes every thread forget its entries
 * before the next lookup: a new connection may reuse a closed one's address.
 * Forgotten statements stay owned by their connection and are finalized
 * when it closes (catalog_close).
 */
#define STMT_CACHE 32

struct cached_stmt {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *st;
	int lent;
};

static _Thread_local struct cached_stmt stmt_cache[STMT_CACHE];
static _Thread_local unsigned stmt_cache_epoch, stmt_cache_hand;
static atomic_uint catalog_closes;

static void stmt_cache_check_epoch(void)
{
	unsigned now = atomic_load(&catalog_closes);

	if (now != stmt_cache_epoch) {
		memset(stmt_cache, 0, sizeof stmt_cache);
		stmt_cache_epoch = now;
	}
}

int catalog_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cv_err *e)
{
	struct cached_stmt *free_slot = NULL;

	stmt_cache_check_epoch();
	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct cached_stmt *c = &stmt_cache[i];

		if (c->db == db && c->sql == sql && !c->lent) {
			c->lent = 1;
			*st = c->st;
			return 0;
		}
		if (c->st == NULL && free_slot == NULL)
			free_slot = c;
	}
	for (size_t i = 0; free_slot == NULL && i < STMT_CACHE; i++) {
		struct cached_stmt *c = &stmt_cache[stmt_cache_hand++ % STMT_CACHE];

		if (!c->lent) {
			sqlite3_finalize(c->st);
			memset(c, 0, sizeof *c);
			free_slot = c;
		}
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return catalog_error(db, _("preparing a catalog query"), e);
	if (free_slot) /* else every slot is lent out: this one is finalized when released */
		*free_slot = (struct cached_stmt){.db = db, .sql = sql, .st = *st, .lent = 1};
	return 0;
}

void catalog_release(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (stmt_cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			stmt_cache[i].lent = 0;
			return;
		}
	}
	sqlite3_finalize(st);
}

void catalog_close(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (db == NULL)
		return;
	while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close(db);
	atomic_fetch_add(&catalog_closes, 1);
}

static int exec_cached(sqlite3 *db, const char *sql, const char *what, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_stmt(db, sql, &st, e)))
		return rc;
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, what, e); /* before the reset */
	catalog_release(st);
	return rc;
}

/* The connection this thread began a relaxed transaction on: its commit or
 * rollback puts synchronous back to FULL (sqlite refuses to change it
 * inside a transaction). */
static _Thread_local sqlite3 *relaxed_db;

static void end_relaxed(sqlite3 *db)
{
	if (relaxed_db == db) {
		relaxed_db = NULL;
		exec_cached(db, "PRAGMA synchronous = FULL", _("updating the catalog"), NULL);
	}
}

int catalog_begin(sqlite3 *db, struct cv_err *e)
{
	return exec_cached(db, "BEGIN IMMEDIATE", _("updating the catalog"), e);
}

int catalog_begin_relaxed(sqlite3 *db, struct cv_err *e)
{
	int rc = exec_cached(db, "PRAGMA synchronous = NORMAL", _("updating the catalog"), e);

	if (rc == 0) {
		relaxed_db = db;
		if ((rc = catalog_begin(db, e)))
			end_relaxed(db);
	}
	return rc;
}

int catalog_commit(sqlite3 *db, struct cv_err *e)
{
	int rc = exec_cached(db, "COMMIT", _("committing to the catalog"), e);

	if (rc)
		catalog_rollback(db);
	end_relaxed(db);
	return rc;
}

void catalog_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	end_relaxed(db);
}

int catalog_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cv_err *e)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return catalog_error(db, _("preparing a catalog query"), e);
	return 0;
}

const char *catalog_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}

/* Step a one-row query with ?1 bound to id; the caller reads column 0 and
 * finalizes *st when 0 is returned. */
static int one_row(sqlite3 *db, const char *sql, int64_t id, sqlite3_stmt **st, struct cv_err *e)
{
	int rc;

	if ((rc = catalog_prepare(db, sql, st, e)))
		return rc;
	if (sqlite3_bind_parameter_count(*st) > 0)
		sqlite3_bind_int64(*st, 1, id);
	rc = sqlite3_step(*st);
	if (rc == SQLITE_ROW)
		return 0;
	rc = rc == SQLITE_DONE ? CV_ENOTFOUND : catalog_error(db, _("reading the catalog"), e);
	sqlite3_finalize(*st);
	return rc;
}

int catalog_text_by_id(sqlite3 *db, const char *sql, int64_t id, char *out, size_t n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = one_row(db, sql, id, &st, e);

	if (rc == 0) {
		snprintf(out, n, "%s", catalog_text(st, 0));
		sqlite3_finalize(st);
	}
	return rc;
}

int catalog_int_by_id(sqlite3 *db, const char *sql, int64_t id, int64_t *out, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc = one_row(db, sql, id, &st, e);

	if (rc == 0) {
		*out = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return rc;
}

int catalog_setting_set(sqlite3 *db, const char *key, const char *value, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("saving a setting"), e);
	sqlite3_finalize(st);
	return rc;
}

int catalog_setting_get(sqlite3 *db, const char *key, char *out, size_t n, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "SELECT value FROM settings WHERE key = ?", &st, e)))
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, n, "%s", catalog_text(st, 0));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? CV_ENOTFOUND : catalog_error(db, _("reading the catalog"), e);
	}
	sqlite3_finalize(st);
	return rc;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int migrate(sqlite3 *db, struct cv_err *e)
{
	int v;
	size_t i;

	if (catalog_begin(db, e))
		return e ? e->code : CV_EIO;
	if (user_version(db, &v) != 0) {
		catalog_rollback(db);
		return catalog_error(db, _("reading the catalog version"), e);
	}
	if (v > (int)N_MIGRATIONS) {
		catalog_rollback(db);
		return err_set(e, CV_EINVAL,
			       _("the catalog has schema version %d, newer than this chatvault understands (%d); "
				 "use a newer chatvault"),
			       v, (int)N_MIGRATIONS);
	}
	for (i = (size_t)v; i < N_MIGRATIONS; i++) {
		char pragma[64];

		if (sqlite3_exec(db, catalog_migrations[i], NULL, NULL, NULL) != SQLITE_OK) {
			int rc = catalog_error(db, _("upgrading the catalog schema"), e);

			catalog_rollback(db);
			return rc;
		}
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %zu", i + 1);
		if (catalog_exec(db, pragma, e)) {
			catalog_rollback(db);
			return e ? e->code : CV_EIO;
		}
	}
	return catalog_commit(db, e);
}

int catalog_open(const char *path, int create, sqlite3 **out, struct cv_err *e)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	if (create) {
		/* Create the file 0600 ourselves so sqlite never makes it wider. */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return err_set(e, CV_EIO, _("cannot create the catalog %s"), path);
		close(fd);
	}
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		rc = err_set(e, CV_EIO, _("cannot open the catalog %s: %s"), path,
			     db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, CATALOG_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 1);
	if (catalog_exec(db,
			 "PRAGMA journal_mode = WAL;"
			 "PRAGMA synchronous = FULL;"
			 "PRAGMA wal_autocheckpoint = 8192;"
			 "PRAGMA foreign_keys = ON;"
			 "PRAGMA secure_delete = ON;"
			 "PRAGMA trusted_schema = OFF;",
			 e) != 0) {
		sqlite3_close(db);
		return err_prefix(e, _("opening %s"), path);
	}
	if (migrate(db, e) != 0) {
		catalog_close(db); /* migrations use the cached BEGIN and COMMIT */
		return e ? e->code : CV_EIO;
	}
	*out = db;
	return 0;
}
