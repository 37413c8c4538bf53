/* Snapshot rows and monthly usage counters. */
#include "config.h"

#include "store/snapshots.h"
#include "store/catalog.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int snapshot_begin(sqlite3 *db, int64_t tenant, int64_t job, int64_t *id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db, "INSERT INTO snapshots (tenant, job, started) VALUES (?, ?, ?)", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_int64(st, 2, job);
	sqlite3_bind_int64(st, 3, time_now_ms());
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("recording a snapshot"), e);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(st);
	return rc;
}

int snapshot_end(sqlite3 *db, int64_t id, const char *status, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = catalog_prepare(db,
				  "UPDATE snapshots SET finished = ?2, status = ?3 WHERE id = ?1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, time_now_ms());
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("finishing a snapshot"), e);
	sqlite3_finalize(st);
	return rc;
}

int snapshot_spec_parse(const char *spec, int64_t *id, int64_t *when)
{
	const char *p;
	int numeric = *spec != '\0';

	*id = *when = 0;
	for (p = spec; *p; p++)
		if (!isdigit((unsigned char)*p))
			numeric = 0;
	if (numeric) {
		*id = strtoll(spec, NULL, 10);
		return 0;
	}
	if (time_parse_iso8601(spec, when) == 0)
		return 0;
	if (time_parse_date(spec, when) != 0)
		return -1;
	*when += 86400000LL - 1; /* a bare date means the end of that day */
	return 0;
}

int snapshot_resolve(sqlite3 *db, int64_t tenant, const char *spec, int64_t *id, struct cv_err *e)
{
	sqlite3_stmt *st;
	int64_t when, want_id;
	int rc, numeric;

	if (snapshot_spec_parse(spec, &want_id, &when) != 0)
		return err_set(e, CV_EINVAL, _("'%s' is neither a snapshot id nor an ISO 8601 time"), spec);
	numeric = want_id != 0;

	if ((rc = catalog_prepare(db,
				  numeric ? "SELECT id FROM snapshots WHERE tenant = ?1 AND id = ?2"
					  : "SELECT id FROM snapshots WHERE tenant = ?1 AND started <= ?2"
					    " ORDER BY started DESC LIMIT 1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_int64(st, 2, numeric ? want_id : when);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = err_set(e, CV_ENOTFOUND, _("no backup snapshot matches '%s'; see 'chatvault snapshots'"), spec);
	}
	sqlite3_finalize(st);
	return rc;
}

static void this_month(char *month, size_t n, struct tm *tm)
{
	time_t now = time(NULL);

	gmtime_r(&now, tm);
	snprintf(month, n, "%04d-%02d", tm->tm_year + 1900, tm->tm_mon + 1);
}

int usage_check_cap(sqlite3 *db, int64_t tenant, int64_t pending, struct cv_err *e)
{
	char month[24];
	struct tm tm;
	sqlite3_stmt *st;
	int64_t limit = -1, used = 0;
	int rc;

	this_month(month, sizeof month, &tm);
	if ((rc = catalog_stmt(db,
			       "SELECT t.monthly_limit, coalesce(u.messages, 0) FROM tenants t LEFT JOIN usage u"
			       " ON u.tenant = t.id AND u.month = ?2 WHERE t.id = ?1",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		limit = sqlite3_column_int64(st, 0);
		used = sqlite3_column_int64(st, 1) + pending;
	}
	/* a read that failed must not let a run past the cap */
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : catalog_error(db, _("reading the monthly cap"), e);
	catalog_release(st);
	if (rc)
		return rc;
	if (limit < 0 || used < limit)
		return 0;
	tm.tm_mon++;
	if (tm.tm_mon == 12) {
		tm.tm_mon = 0;
		tm.tm_year++;
	}
	return err_set(e, CV_ECAP,
		       _("the monthly cap of %lld messages is reached (%lld retrieved this month); private chat "
			 "backups resume on %04d-%02d-01 (UTC) or when the cap is raised"),
		       (long long)limit, (long long)used, tm.tm_year + 1900, tm.tm_mon + 1);
}

int usage_add(sqlite3 *db, int64_t tenant, int64_t requests, int64_t throttled, int64_t messages,
	      struct cv_err *e)
{
	char month[24];
	struct tm tm;
	sqlite3_stmt *st;
	int rc;

	this_month(month, sizeof month, &tm);
	if ((rc = catalog_stmt(db,
			       "INSERT INTO usage (tenant, month, requests, throttled, messages) VALUES (?1,?2,?3,?4,?5)"
			       " ON CONFLICT (tenant, month) DO UPDATE SET requests = requests + ?3,"
			       " throttled = throttled + ?4, messages = messages + ?5",
			       &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, tenant);
	sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, requests);
	sqlite3_bind_int64(st, 4, throttled);
	sqlite3_bind_int64(st, 5, messages);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("counting usage"), e);
	catalog_release(st);
	return rc;
}
