/*
 * The sqlite catalog: opening a connection with the store's settings (WAL,
 * foreign keys, busy timeout, synchronous=FULL) and the forward-only schema
 * migrations. Each thread opens its own connection; none is shared.
 */
#ifndef CV_STORE_CATALOG_H
#define CV_STORE_CATALOG_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cv_err;

/* A task's lane, for leasing: the listing, the chats, the export API, the
 * rest. kind: the column, as the query names it. Migration 5 indexes this
 * very expression (tasks_lane); changing it takes a new migration that
 * builds the index again, or the lease no longer finds it. */
#define TASK_LANE(kind)                                                                               \
	"(CASE " kind " WHEN 'account' THEN 0 WHEN 'chat' THEN 1 WHEN 'window' THEN 2 WHEN 'delta' THEN 2" \
	" ELSE 3 END)"

/* How long a connection waits for another's write lock before a statement
 * fails busy (sqlite's busy timeout on every connection catalog_open makes). */
#define CATALOG_BUSY_TIMEOUT_MS 30000

/* Wait for another connection's write lock as the busy timeout does, but
 * give up at once (the statement fails busy) while *stop is set: a worker
 * told to stop does not sit out another process's long transaction. stop
 * must outlive the connection. */
void catalog_busy_until_stop(sqlite3 *db, atomic_int *stop);

/* Open (creating if create is set) the catalog at path and bring its schema
 * up to date. A catalog newer than this build is refused. The caller owns
 * *out and closes it with catalog_close. */
int catalog_open(const char *path, int create, sqlite3 **out, struct cv_err *e);

/* Run one statement without results; map failures to CV_EIO/CV_ENOSPC. */
int catalog_exec(sqlite3 *db, const char *sql, struct cv_err *e);
/* Transactions that take the write lock up front (no upgrade deadlocks). */
int catalog_begin(sqlite3 *db, struct cv_err *e);
/* The same, for a transaction whose commit need not wait for the disk
 * (synchronous=NORMAL until its commit or rollback). A killed process loses
 * nothing; a power cut may roll back this commit and the relaxed ones after
 * it, each whole. For a task's pages, whose resume point is in the same
 * transaction: the next full commit (the task's end) syncs the log, and
 * with it every relaxed commit before it. */
int catalog_begin_relaxed(sqlite3 *db, struct cv_err *e);
int catalog_commit(sqlite3 *db, struct cv_err *e);
void catalog_rollback(sqlite3 *db);
/* Finalize every statement of the connection (cached ones included) and
 * close it. Every connection catalog_open returned is closed here. */
void catalog_close(sqlite3 *db);
/* Prepare or fail with a message; the caller finalizes. */
int catalog_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cv_err *e);
/* The same for statements run over and over (per message, per page): the
 * statement stays prepared for the next caller on this thread. sql must be
 * a string literal, since its address is the key. Hand the statement back
 * with catalog_release (it is reset and its bindings cleared), never
 * finalize it. A statement already lent out is prepared afresh. */
int catalog_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cv_err *e);
void catalog_release(sqlite3_stmt *st);
/* Turn the connection's last error into a cv_err (disk full gets its own code). */
int catalog_error(sqlite3 *db, const char *what, struct cv_err *e);
/* Run a query selecting one text column for one row id (bound as ?1) and
 * copy the value into out (n bytes). CV_ENOTFOUND when there is no row. */
int catalog_text_by_id(sqlite3 *db, const char *sql, int64_t id, char *out, size_t n, struct cv_err *e);
/* The same for one integer column: *out, or CV_ENOTFOUND with no row. */
int catalog_int_by_id(sqlite3 *db, const char *sql, int64_t id, int64_t *out, struct cv_err *e);
/* The settings table (store-wide key/value text). set replaces; get copies
 * the value into out (n bytes), CV_ENOTFOUND when the key is not there. */
int catalog_setting_set(sqlite3 *db, const char *key, const char *value, struct cv_err *e);
int catalog_setting_get(sqlite3 *db, const char *key, char *out, size_t n, struct cv_err *e);
/* Text column as a string ("" for NULL); borrowed until the next step. */
const char *catalog_text(sqlite3_stmt *st, int col);

#endif
