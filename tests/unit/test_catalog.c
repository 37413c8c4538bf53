/* Unit tests for src/store/catalog.c: the per-thread statement cache; and
 * message_held, the lookup every message received makes through it; and
 * the order in which src/engine/queue.c leases tasks. */
#include "config.h"

#include "tap.h"
#include "engine/queue.h"
#include "store/catalog.h"
#include "store/messages.h"
#include "store/schema.sql.h"
#include "store/snapshots.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[512];

static sqlite3 *open_catalog(void)
{
	struct cv_err e = {0};
	sqlite3 *db = NULL;

	if (catalog_open(path, 1, &db, &e) != 0) {
		printf("Bail out! catalog_open: %s\n", e.msg);
		exit(1);
	}
	return db;
}

static int count_statements(sqlite3 *db)
{
	int n = 0;

	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
		n++;
	return n;
}

static const char SQL_ONE[] = "SELECT ?1 + 1";
static const char SQL_TWO[] = "SELECT ?1 * 2";

static int64_t run_int(sqlite3_stmt *st, int64_t arg)
{
	int64_t v;

	sqlite3_bind_int64(st, 1, arg);
	v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	return v;
}

static void test_reuse(void)
{
	sqlite3 *db = open_catalog();
	sqlite3_stmt *a, *b, *c;
	struct cv_err e = {0};
	int before = count_statements(db); /* opening may keep BEGIN and COMMIT */

	ok(catalog_stmt(db, SQL_ONE, &a, &e) == 0, "a cached statement is prepared");
	is_int(run_int(a, 41), 42, "and runs");
	catalog_release(a);
	ok(catalog_stmt(db, SQL_ONE, &b, &e) == 0 && b == a, "released, the same statement comes back");
	ok(sqlite3_stmt_busy(b) == 0, "reset before it is lent again");
	is_int(sqlite3_bind_parameter_count(b), 1, "one parameter");
	ok(sqlite3_step(b) == SQLITE_ROW && sqlite3_column_type(b, 0) == SQLITE_NULL,
	   "its bindings were cleared (?1 + 1 is NULL)");
	sqlite3_reset(b);
	ok(catalog_stmt(db, SQL_ONE, &c, &e) == 0 && c != b, "while lent out, the same SQL gets its own statement");
	is_int(run_int(c, 1), 2, "which runs beside the first");
	is_int(count_statements(db) - before, 2, "two statements exist");
	catalog_release(c);
	catalog_release(b);
	is_int(count_statements(db) - before, 2, "both are kept for the next nested use");
	ok(catalog_stmt(db, SQL_TWO, &a, &e) == 0 && run_int(a, 21) == 42, "another SQL text is another entry");
	catalog_release(a);
	is_int(count_statements(db) - before, 3, "all stay prepared");
	catalog_release(NULL);
	catalog_close(db);
}

static void test_eviction(void)
{
	sqlite3 *db = open_catalog();
	static char sql[100][40];
	sqlite3_stmt *held, *st;
	struct cv_err e = {0};
	int all_ran = 1;

	ok(catalog_stmt(db, SQL_ONE, &held, &e) == 0, "one statement is kept lent out");
	for (int i = 0; i < 100; i++) {
		snprintf(sql[i], sizeof sql[i], "SELECT %d + ?1", i);
		if (catalog_stmt(db, sql[i], &st, &e) != 0 || run_int(st, 1) != i + 1)
			all_ran = 0;
		catalog_release(st);
	}
	ok(all_ran, "100 different statements run through the cache");
	ok(count_statements(db) <= 32, "older entries are finalized, not kept (%d)", count_statements(db));
	is_int(run_int(held, 1), 2, "the lent statement was not evicted");
	catalog_release(held);
	catalog_close(db);
}

static void test_all_lent(void)
{
	sqlite3 *db = open_catalog();
	static char sql[33][40];
	sqlite3_stmt *lent[33];
	struct cv_err e = {0};
	int before, all_ran = 1;

	for (int i = 0; i < 33; i++) {
		snprintf(sql[i], sizeof sql[i], "SELECT %d - ?1", i);
		if (catalog_stmt(db, sql[i], &lent[i], &e) != 0 || run_int(lent[i], i) != 0)
			all_ran = 0;
	}
	ok(all_ran, "33 statements lent out at once all run");
	before = count_statements(db);
	catalog_release(lent[32]);
	is_int(count_statements(db), before - 1, "with every slot lent, the extra one is finalized when handed back");
	for (int i = 0; i < 32; i++)
		catalog_release(lent[i]);
	is_int(count_statements(db), before - 1, "the cached ones stay prepared");
	catalog_close(db);
}

static void test_close_forgets(void)
{
	sqlite3 *db = open_catalog(), *again;
	sqlite3_stmt *st;
	struct cv_err e = {0};

	catalog_stmt(db, SQL_ONE, &st, &e);
	catalog_release(st);
	catalog_close(db); /* must finalize the cached statement, or sqlite refuses to close */
	again = open_catalog();
	ok(catalog_stmt(again, SQL_ONE, &st, &e) == 0, "after a close, a new connection prepares its own");
	ok(sqlite3_db_handle(st) == again, "the statement belongs to the new connection");
	is_int(run_int(st, 9), 10, "and runs");
	catalog_release(st);
	catalog_close(again);
}

static void *other_thread(void *arg)
{
	sqlite3 *db = arg;
	sqlite3_stmt *st;
	struct cv_err e = {0};
	intptr_t good;

	good = catalog_stmt(db, SQL_TWO, &st, &e) == 0 && run_int(st, 4) == 8;
	catalog_release(st);
	return (void *)good;
}

static void test_threads(void)
{
	sqlite3 *mine = open_catalog(), *theirs = open_catalog();
	sqlite3_stmt *st;
	struct cv_err e = {0};
	pthread_t t;
	void *good = NULL;

	catalog_stmt(mine, SQL_TWO, &st, &e);
	pthread_create(&t, NULL, other_thread, theirs);
	pthread_join(t, &good);
	ok(good != NULL, "another thread's connection gets its own statement");
	ok(sqlite3_db_handle(st) == mine, "this thread's statement is still its own");
	catalog_release(st);
	catalog_close(theirs);
	catalog_close(mine);
}

static void test_begin_commit(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};
	char value[16] = "";

	for (int i = 0; i < 3; i++) {
		ok(catalog_begin(db, &e) == 0, "begin %d", i);
		ok(catalog_setting_set(db, "n", i == 2 ? "two" : "other", &e) == 0, "write %d", i);
		ok(catalog_commit(db, &e) == 0, "commit %d", i);
	}
	ok(catalog_setting_get(db, "n", value, sizeof value, &e) == 0, "read back");
	is_str(value, "two", "the last committed value is there");
	ok(catalog_begin(db, &e) == 0 && catalog_setting_set(db, "n", "rolled", &e) == 0, "a write");
	catalog_rollback(db);
	catalog_setting_get(db, "n", value, sizeof value, &e);
	is_str(value, "two", "is rolled back");
	ok(catalog_commit(db, &e) != 0 && e.msg[0], "COMMIT with no transaction fails with a message");
	catalog_close(db);
}

/* A store another process holds the write lock of: the message says so in
 * plain words, after what was being done. */
static void test_busy_message(void)
{
	sqlite3 *db = open_catalog(), *other = open_catalog();
	struct cv_err e = {0};

	sqlite3_busy_timeout(other, 0); /* no waiting in a test */
	ok(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "one connection holds the write lock");
	ok(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_BUSY, "the other cannot write");
	is_int(catalog_error(other, "updating the catalog", &e), CV_ELOCKED, "busy is CV_ELOCKED");
	ok(strncmp(e.msg, "updating the catalog: ", 22) == 0, "what comes first: %s", e.msg);
	ok(strstr(e.msg, "another process is writing") && strstr(e.msg, "try again"), "says who and what to do: %s",
	   e.msg);
	ok(!strstr(e.msg, "database is locked"), "not sqlite's words");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	catalog_close(other);
	catalog_close(db);
}

static void test_readonly_message(void)
{
	sqlite3 *db = open_catalog(), *ro = NULL;
	struct cv_err e = {0};

	ok(sqlite3_open_v2(path, &ro, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "a read-only connection");
	ok(sqlite3_exec(ro, "INSERT INTO settings (key, value) VALUES ('x', 'y')", NULL, NULL, NULL) == SQLITE_READONLY,
	   "it cannot write");
	is_int(catalog_error(ro, "queueing a job", &e), CV_EIO, "read-only is CV_EIO");
	ok(strstr(e.msg, path) && strstr(e.msg, "cannot be written"), "names the catalog and why: %s", e.msg);
	sqlite3_close(ro);
	catalog_close(db);
}

/* Syncs counted: a VFS over the default one whose files' methods are the
 * default's with xSync counting first (the database and its log may have
 * different methods, so each kind is wrapped once). */
static sqlite3_vfs *real_vfs, counting_vfs;
static const sqlite3_io_methods *real_io[4];
static sqlite3_io_methods counting_io[4];
static int syncs;

static int counting_sync(sqlite3_file *f, int flags)
{
	int i = (int)(f->pMethods - counting_io);

	__atomic_add_fetch(&syncs, 1, __ATOMIC_SEQ_CST);
	return real_io[i]->xSync(f, flags);
}

static int counting_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
	int rc = real_vfs->xOpen(real_vfs, name, f, flags, out);

	(void)vfs;
	if (rc != SQLITE_OK || f->pMethods == NULL)
		return rc;
	for (int i = 0; i < 4; i++) {
		if (real_io[i] == NULL) {
			real_io[i] = f->pMethods;
			counting_io[i] = *f->pMethods;
			counting_io[i].xSync = counting_sync;
		}
		if (real_io[i] == f->pMethods) {
			f->pMethods = &counting_io[i];
			break;
		}
	}
	return rc;
}

static void test_commit_relaxed(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct cv_err e = {0};
	char value[16] = "";
	int before;

	real_vfs = sqlite3_vfs_find(NULL);
	counting_vfs = *real_vfs;
	counting_vfs.zName = "counting";
	counting_vfs.xOpen = counting_open;
	sqlite3_vfs_register(&counting_vfs, 1);
	db = open_catalog();

	/* (the first commit to a new log syncs its header: not counted) */
	ok(catalog_begin(db, &e) == 0 && catalog_setting_set(db, "r", "first", &e) == 0 && catalog_commit(db, &e) == 0,
	   "a first commit");
	before = syncs;
	ok(catalog_begin_relaxed(db, &e) == 0 && catalog_setting_set(db, "r", "relaxed", &e) == 0 &&
		   catalog_commit(db, &e) == 0,
	   "a relaxed transaction: %s", e.msg);
	is_int(syncs - before, 0, "waits for no sync");
	ok(catalog_setting_get(db, "r", value, sizeof value, &e) == 0 && strcmp(value, "relaxed") == 0,
	   "and is committed");
	ok(sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW,
	   "PRAGMA synchronous");
	is_int(sqlite3_column_int(st, 0), 2, "is FULL again after it");
	sqlite3_finalize(st);
	before = syncs;
	ok(catalog_begin(db, &e) == 0 && catalog_setting_set(db, "r", "full", &e) == 0 && catalog_commit(db, &e) == 0,
	   "a full commit");
	ok(syncs - before >= 1, "syncs the log (%d)", syncs - before);
	ok(catalog_begin_relaxed(db, &e) == 0 && catalog_setting_set(db, "r", "rolled", &e) == 0, "a relaxed write");
	catalog_rollback(db);
	ok(sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW,
	   "PRAGMA synchronous");
	is_int(sqlite3_column_int(st, 0), 2, "is FULL again after its rollback");
	sqlite3_finalize(st);
	catalog_close(db);
	sqlite3_vfs_unregister(&counting_vfs);
}

static void test_message_held(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};
	enum message_held held = MESSAGE_HELD;

	/* Only the lookup is under test: rows without their chat and snapshot. */
	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(message_held(db, 7, "1001", "1/a", &held, &e) == 0 && held == MESSAGE_UNKNOWN,
	   "a message never stored is unknown");
	ok(catalog_exec(db,
			"INSERT INTO messages (chat, message_id, version, created, modified, snapshot, raw_enc)"
			" VALUES (7, '1001', '1/a', 1, 1, 1, x'00'), (7, '1001', '2/b', 1, 2, 1, x'00'),"
			" (8, '1002', '1/a', 1, 1, 1, x'00')",
			&e) == 0,
	   "three versions stored");
	ok(message_held(db, 7, "1001", "1/a", &held, &e) == 0 && held == MESSAGE_HELD, "the first version is held");
	ok(message_held(db, 7, "1001", "2/b", &held, &e) == 0 && held == MESSAGE_HELD, "so is the second");
	ok(message_held(db, 7, "1001", "3/c", &held, &e) == 0 && held == MESSAGE_OTHER_VERSION,
	   "a new version of a held message is another version");
	ok(message_held(db, 8, "1001", "1/a", &held, &e) == 0 && held == MESSAGE_UNKNOWN,
	   "the same id in another chat is unknown");
	ok(message_held(db, 8, "1002", "2/b", &held, &e) == 0 && held == MESSAGE_OTHER_VERSION,
	   "a version held under another message id does not count");
	catalog_exec(db, "DELETE FROM messages", &e);
	catalog_close(db);
}

/* Lease one task and say which kind it was ("" when none); chats first
 * while fewer than `chats` run, at most `exports` windows at once. */
static int64_t lease_kind_of(sqlite3 *db, int chats, int exports, char *kind, size_t n)
{
	struct task_slots slots = {chats, exports, 0};
	struct cv_err e = {0};
	struct task_row t;
	int64_t id = 0;

	kind[0] = '\0';
	if (task_lease(db, "test:1:0", &slots, 0, &t, &e) == 0) {
		snprintf(kind, n, "%s", t.kind);
		id = t.id;
		task_row_free(&t);
	}
	return id;
}

static void lease_kind(sqlite3 *db, int slots, char *kind, size_t n)
{
	lease_kind_of(db, slots, 100, kind, n);
}

static void test_lease_order(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};
	char kind[32];
	int64_t job = 0;

	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(job_enqueue(db, "backup", 0, "{}", &job, &e) == 0 && job_mark_planned(db, job, &e) == 0, "a planned job");
	ok(task_add(db, job, "window:1", "window", 1, 0, NULL, &e) == 0 &&
		   task_add(db, job, "window:2", "window", 2, 0, NULL, &e) == 0 &&
		   task_add(db, job, "chat:a", "chat", 0, 1, NULL, &e) == 0 &&
		   task_add(db, job, "chat:b", "chat", 0, 2, NULL, &e) == 0 &&
		   task_add(db, job, "account:3", "account", 3, 0, NULL, &e) == 0,
	   "two windows, two chats and an account listing, in that order");
	lease_kind(db, 1, kind, sizeof kind);
	is_str(kind, "account", "the listing comes first");
	lease_kind(db, 1, kind, sizeof kind);
	is_str(kind, "chat", "then a chat, while no chat runs");
	lease_kind(db, 1, kind, sizeof kind);
	is_str(kind, "window", "with one chat running and one slot, a window");
	lease_kind(db, 2, kind, sizeof kind);
	is_str(kind, "chat", "with two slots, the other chat");
	lease_kind(db, 2, kind, sizeof kind);
	is_str(kind, "window", "then the last window");
	lease_kind(db, 2, kind, sizeof kind);
	is_str(kind, "", "and nothing is left");
	catalog_exec(db, "UPDATE tasks SET state = 'queued', lease_owner = NULL", &e);
	lease_kind(db, 0, kind, sizeof kind);
	lease_kind(db, 0, kind, sizeof kind);
	is_str(kind, "window", "without slots, the oldest task after the listing");
	catalog_exec(db, "DELETE FROM tasks; DELETE FROM jobs", &e);
	catalog_close(db);
}

/* Listings come first only while fewer than slots->listing run: past that,
 * exports picked early go first, and a listing still goes when nothing
 * else is queued. */
static void test_lease_listing_slots(void)
{
	sqlite3 *db = open_catalog();
	struct task_slots slots = {0, 100, 1};
	struct cv_err e = {0};
	struct task_row t;
	int64_t job = 0;
	const char *want[] = {"account", "window", "account", "account"};
	size_t i;

	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(job_enqueue(db, "backup", 0, "{}", &job, &e) == 0 && job_mark_planned(db, job, &e) == 0, "a planned job");
	ok(task_add(db, job, "account:1", "account", 1, 0, NULL, &e) == 0 &&
		   task_add(db, job, "account:2", "account", 2, 0, NULL, &e) == 0 &&
		   task_add(db, job, "account:3", "account", 3, 0, NULL, &e) == 0 &&
		   task_add(db, job, "window:1", "window", 1, 0, NULL, &e) == 0,
	   "three listings, then an export picked early");
	for (i = 0; i < sizeof want / sizeof *want; i++) {
		int got = task_lease(db, "test:1:0", &slots, 0, &t, &e) == 0;

		ok(got && strcmp(t.kind, want[i]) == 0, "lease %zu with one listing slot: %s (got %s)", i + 1,
		   want[i], got ? t.kind : "nothing");
		if (got)
			task_row_free(&t);
	}
	catalog_exec(db, "DELETE FROM tasks; DELETE FROM jobs", &e);
	catalog_close(db);
}

/* A deferred task waits for its time; chats due longest ago come first;
 * exports are held to their slots. */
static void test_lease_defer(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};
	char kind[32];
	int64_t job = 0, a, b, due = -1, now = time_now_ms();

	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(job_enqueue(db, "backup", 0, "{}", &job, &e) == 0 && job_mark_planned(db, job, &e) == 0, "a planned job");
	ok(task_add(db, job, "chat:a", "chat", 0, 1, NULL, &e) == 0 &&
		   task_add(db, job, "chat:b", "chat", 0, 2, NULL, &e) == 0,
	   "two chats");
	a = lease_kind_of(db, 4, 4, kind, sizeof kind);
	ok(a > 0 && task_defer(db, a, now + 60000, &e) == 0, "the first chat is leased and deferred a minute");
	b = lease_kind_of(db, 4, 4, kind, sizeof kind);
	ok(b > 0 && b != a, "the other chat is leased, not the deferred one");
	ok(task_defer(db, b, now + 30000, &e) == 0, "and deferred half a minute");
	lease_kind_of(db, 4, 4, kind, sizeof kind);
	is_str(kind, "", "neither is runnable before its time");
	ok(task_next_due(db, now, &due, &e) == 0 && due == now + 30000, "the next due is the earlier time");
	catalog_exec(db, "UPDATE tasks SET not_before = not_before - 120000", &e);
	ok(lease_kind_of(db, 4, 4, kind, sizeof kind) == b, "once both are due, the one due longest ago");
	ok(task_next_due(db, now, &due, &e) == 0 && due == 0, "nothing is waiting");
	catalog_exec(db, "DELETE FROM tasks", &e);

	ok(task_add(db, job, "window:1", "window", 1, 0, NULL, &e) == 0 &&
		   task_add(db, job, "delta:2", "delta", 2, 0, NULL, &e) == 0 &&
		   task_add(db, job, "chat:c", "chat", 0, 3, NULL, &e) == 0,
	   "a window, a delta and a chat");
	lease_kind_of(db, 0, 1, kind, sizeof kind);
	is_str(kind, "window", "one export slot: the window");
	lease_kind_of(db, 0, 1, kind, sizeof kind);
	is_str(kind, "chat", "with it taken, the chat and not the delta");
	lease_kind_of(db, 0, 1, kind, sizeof kind);
	is_str(kind, "", "the delta waits for the slot");
	catalog_exec(db, "UPDATE tasks SET state = 'done' WHERE kind = 'chat'", &e);
	lease_kind_of(db, 0, 1, kind, sizeof kind);
	is_str(kind, "delta", "with no chat left to read, exports may take every worker");
	catalog_exec(db, "DELETE FROM tasks; DELETE FROM jobs", &e);
	catalog_close(db);
}

static int count_ops(void *arg)
{
	(*(long *)arg)++;
	return 0;
}

/* Queue tasks kind:from .. kind:to-1 (accounts or chats numbered after them). */
static int add_tasks(sqlite3 *db, int64_t job, const char *kind, int from, int to, struct cv_err *e)
{
	int rc = 0;

	for (int i = from; i < to && rc == 0; i++) {
		char key[32];
		int chat = strcmp(kind, "chat") == 0;

		snprintf(key, sizeof key, "%s:%d", kind, i);
		rc = task_add(db, job, key, kind, chat ? 0 : i + 1, chat ? i + 1 : 0, NULL, e);
	}
	return rc;
}

/* Lease one task with two chat slots: its kind, and the VM steps in hundreds. */
static long lease_cost(sqlite3 *db, char *kind, size_t n)
{
	long steps = 0;

	sqlite3_progress_handler(db, 100, count_ops, &steps);
	lease_kind(db, 2, kind, n);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	return steps;
}

/* A lease finds the first due task of each lane through the index: its
 * cost does not grow with the number of queued tasks. */
static void test_lease_scale(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};
	char kind[32], sql[128];
	int64_t job = 0;
	long small, large;

	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(job_enqueue(db, "backup", 0, "{}", &job, &e) == 0 && job_mark_planned(db, job, &e) == 0, "a planned job");
	ok(add_tasks(db, job, "window", 0, 20, &e) == 0, "20 queued windows");
	small = lease_cost(db, kind, sizeof kind);
	is_str(kind, "window", "a window is leased");

	catalog_begin(db, &e);
	ok(add_tasks(db, job, "window", 20, 20000, &e) == 0 && add_tasks(db, job, "chat", 0, 1, &e) == 0 &&
		   catalog_commit(db, &e) == 0,
	   "19,980 more and a chat");
	large = lease_cost(db, kind, sizeof kind);
	is_str(kind, "chat", "the chat comes first");
	ok(large < small * 3, "and the lease costs about the same: %ld against %ld hundred steps", large, small);
	lease_kind(db, 2, kind, sizeof kind);
	is_str(kind, "window", "then the oldest window");

	/* 20,000 chats waiting for their next second are not walked either */
	catalog_begin(db, &e);
	snprintf(sql, sizeof sql, "UPDATE tasks SET not_before = %lld WHERE kind = 'chat' AND state = 'queued'",
		 (long long)time_now_ms() + 60000);
	ok(add_tasks(db, job, "chat", 1, 20001, &e) == 0 && catalog_exec(db, sql, &e) == 0 &&
		   catalog_commit(db, &e) == 0,
	   "20,000 chats, none due for a minute");
	large = lease_cost(db, kind, sizeof kind);
	is_str(kind, "window", "a window is leased");
	ok(large < small * 3, "at the same cost: %ld against %ld hundred steps", large, small);
	catalog_exec(db, "DELETE FROM tasks; DELETE FROM jobs", &e);
	catalog_close(db);
}

/* A process that works for one job (a download) leases that job's work
 * alone: not another job's queued tasks, nor those a dead process held,
 * nor the job itself; and it finds its task through the job, however many
 * tasks the other job has queued. */
static void test_lease_one_job(void)
{
	sqlite3 *db = open_catalog();
	struct task_slots slots = {2, 100, 0};
	struct cv_err e = {0};
	struct task_row t;
	struct job_row j;
	int64_t backup = 0, download = 0;
	long steps = 0;
	char what = 0;
	int got;

	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(job_enqueue(db, "backup", 0, "{}", &backup, &e) == 0 && job_mark_planned(db, backup, &e) == 0,
	   "a planned backup");
	catalog_begin(db, &e);
	ok(add_tasks(db, backup, "chat", 0, 20000, &e) == 0 && add_tasks(db, backup, "window", 0, 2, &e) == 0 &&
		   catalog_exec(db, "UPDATE tasks SET state = 'running', lease_owner = 'gone:1:0', lease_expires = 0"
				    " WHERE kind = 'window'",
				&e) == 0 &&
		   catalog_commit(db, &e) == 0,
	   "with 20,000 chats queued and two windows whose lease expired");
	ok(job_enqueue(db, "download", 0, "{}", &download, &e) == 0, "a download queued after it");
	ok(job_lease(db, "test:1:0", download, &j, &what, &e) == 0 && j.id == download && what == 'p',
	   "the download is leased to plan, not the backup before it");
	job_row_free(&j);
	ok(job_mark_planned(db, download, &e) == 0 && task_add(db, download, "export", "export", 0, 0, NULL, &e) == 0,
	   "planned into one task");
	sqlite3_progress_handler(db, 100, count_ops, &steps);
	got = task_lease(db, "test:1:0", &slots, download, &t, &e) == 0;
	sqlite3_progress_handler(db, 0, NULL, NULL);
	ok(got && t.job == download && strcmp(t.kind, "export") == 0, "its task is leased (got %s)",
	   got ? t.kind : "nothing");
	if (got)
		task_row_free(&t);
	ok(steps < 100, "without walking the backup's tasks: %ld hundred steps", steps);
	got = task_lease(db, "test:1:0", &slots, download, &t, &e) == 0;
	ok(!got, "then nothing: neither the backup's queued chats nor its expired windows");
	if (got)
		task_row_free(&t);
	ok(job_lease(db, "test:1:0", download, &j, &what, &e) == CV_ENOTFOUND, "nor any job while its task runs");
	ok(catalog_exec(db, "UPDATE jobs SET planned = 1, lease_owner = 'gone:1:0', lease_expires = 0; "
			    "UPDATE tasks SET state = 'done' WHERE kind = 'chat'",
			&e) == 0,
	   "the backup's chats end, its own lease lapsed");
	ok(job_lease(db, "test:1:0", download, &j, &what, &e) == CV_ENOTFOUND,
	   "the backup is not leased to finish either");
	got = task_lease(db, "test:1:0", &slots, 0, &t, &e) == 0;
	ok(got && t.job == backup && strcmp(t.kind, "window") == 0, "a lease over every job takes the expired window");
	if (got)
		task_row_free(&t);
	catalog_exec(db, "DELETE FROM tasks; DELETE FROM jobs", &e);
	catalog_close(db);
}

/* Leasing leaves the connection's prepared statements alone (registering
 * owner_dead again on every lease expired them all). */
static void test_lease_keeps_statements(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};
	sqlite3_stmt *st = NULL;
	char kind[32];
	int64_t job = 0;
	int ran = 1;

	catalog_exec(db, "PRAGMA foreign_keys = OFF", &e);
	ok(job_enqueue(db, "backup", 0, "{}", &job, &e) == 0 && job_mark_planned(db, job, &e) == 0 &&
		   task_add(db, job, "window:1", "window", 1, 0, NULL, &e) == 0 &&
		   task_add(db, job, "window:2", "window", 2, 0, NULL, &e) == 0,
	   "a job with two windows");
	lease_kind(db, 2, kind, sizeof kind);
	ok(catalog_stmt(db, SQL_ONE, &st, &e) == 0 && run_int(st, 1) == 2, "a statement kept after the first lease");
	catalog_release(st);
	lease_kind(db, 2, kind, sizeof kind);
	is_str(kind, "window", "another lease");
	ok(catalog_stmt(db, SQL_ONE, &st, &e) == 0 && run_int(st, 2) == 3, "the statement runs again");
	ran = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0);
	catalog_release(st);
	ok(ran == 0, "without being compiled again (%d times)", ran);
	catalog_exec(db, "DELETE FROM tasks; DELETE FROM jobs", &e);
	catalog_close(db);
}

/* The cap counts what a worker holds but has not stored yet. */
static void test_monthly_cap(void)
{
	sqlite3 *db = open_catalog();
	struct cv_err e = {0};

	ok(catalog_exec(db,
			"INSERT INTO tenants (id, name, tenant_id, client_id, cred_kind, login_url, graph_url,"
			" secret_enc, monthly_limit, created) VALUES (1, 'cap', 't', 'c', 'secret', 'l', 'g', x'00', 150, 0)",
			&e) == 0 &&
	       usage_add(db, 1, 3, 0, 100, &e) == 0,
	   "a tenant with a cap of 150 has retrieved 100 messages");
	ok(usage_check_cap(db, 1, 0, &e) == 0, "under the cap");
	ok(usage_check_cap(db, 1, 49, &e) == 0, "with 49 more held, still under it");
	ok(usage_check_cap(db, 1, 50, &e) == CV_ECAP, "with 50 more held, the cap is reached");
	ok(strstr(e.msg, "(150 retrieved this month)") != NULL, "the reason counts the held ones: %s", e.msg);
	catalog_exec(db, "DELETE FROM usage; DELETE FROM tenants", &e);
	catalog_close(db);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A catalog written by the previous schema (4) is brought up to date, and
 * the running figures migration 5 adds start out equal to a count. */
static void test_upgrade_from_4(void)
{
	sqlite3 *raw = NULL, *db;
	int rc = sqlite3_open(path, &raw);

	for (int i = 0; i < 4 && rc == SQLITE_OK; i++)
		rc = sqlite3_exec(raw, catalog_migrations[i], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(raw,
				  "INSERT INTO tenants (id, name, tenant_id, client_id, cred_kind, login_url, graph_url,"
				  " secret_enc, created) VALUES (1, 'old', 't', 'c', 'secret', 'l', 'g', x'00', 0);"
				  "INSERT INTO chats (id, tenant, chat_id, chat_type, meta_enc) VALUES"
				  " (1, 1, 'a', 'oneOnOne', x'00'), (2, 1, 'b', 'group', x'00');"
				  "INSERT INTO snapshots (id, tenant, started, finished, status, messages_added) VALUES"
				  " (1, 1, 10, 20, 'Completed', 2), (2, 1, 30, NULL, 'In Progress', 0);"
				  "INSERT INTO messages (chat, message_id, version, created, modified, snapshot, raw_enc)"
				  " VALUES (1, 'm1', 'v1', 5, 5, 1, x'00'), (1, 'm1', 'v2', 5, 9, 2, x'00'),"
				  " (1, 'm2', 'v1', 7, 7, 1, x'00'), (1, 'm3', 'v1', 8, 8, 2, x'00');"
				  "PRAGMA user_version = 4;",
				  NULL, NULL, NULL);
	sqlite3_close(raw);
	ok(rc == SQLITE_OK, "a catalog at schema version 4 with messages");
	db = open_catalog();
	ok(query_int(db, "PRAGMA user_version") == (int64_t)(sizeof catalog_migrations / sizeof *catalog_migrations),
	   "it is upgraded to the newest schema");
	ok(query_int(db, "SELECT newest_modified FROM chats WHERE id = 1") == 9,
	   "a chat's newest change is filled in from its messages");
	ok(query_int(db, "SELECT newest_modified FROM chats WHERE id = 2") == -2, "a chat without messages has none");
	ok(query_int(db, "SELECT messages_added FROM snapshots WHERE id = 2") == 2,
	   "an unfinished snapshot counts the versions it added so far");
	ok(query_int(db, "SELECT messages_added FROM snapshots WHERE id = 1") == 2, "a finished one keeps its count");
	catalog_close(db);
	unlink(path);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(path, sizeof path, "%s/test_catalog.%ld.db", base, (long)getpid());
	test_upgrade_from_4();
	test_reuse();
	test_eviction();
	test_all_lent();
	test_close_forgets();
	test_threads();
	test_begin_commit();
	test_busy_message();
	test_readonly_message();
	test_commit_relaxed();
	test_message_held();
	test_lease_order();
	test_lease_listing_slots();
	test_lease_defer();
	test_lease_scale();
	test_lease_one_job();
	test_lease_keeps_statements();
	test_monthly_cap();
	unlink(path);
	{
		char side[600];

		snprintf(side, sizeof side, "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", path);
		unlink(side);
	}
	return tap_done();
}
