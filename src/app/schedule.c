/* The backup schedule (see schedule.h). */
#include "config.h"

#include "app/schedule.h"
#include "app/app.h"
#include "engine/engine.h"
#include "engine/queue.h"
#include "store/catalog.h"
#include "store/store.h"
#include "util/err.h"
#include "util/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int schedule_parse(const char *spec, struct schedule *s, struct cv_err *e)
{
	const char *p = spec;

	memset(s, 0, sizeof *s);
	if (spec == NULL || strcmp(spec, "none") == 0)
		return 0;
	while (*p) {
		int h, m, used = 0, i, t;

		if (sscanf(p, "%2d:%2d%n", &h, &m, &used) != 2 || used != 5 || h < 0 || h > 23 || m < 0 || m > 59 ||
		    (p[used] != ',' && p[used] != '\0') || (p[used] == ',' && p[used + 1] == '\0'))
			return err_set(e, CV_EINVAL, _("'%s' is not a list of times like 01:00,09:00,17:00"), spec);
		p += used + (p[used] == ',');
		/* keep them sorted and distinct */
		t = h * 60 + m;
		for (i = 0; i < s->n && s->minutes[i] != t; i++)
			;
		if (i < s->n)
			continue;
		if (s->n == SCHEDULE_MAX_SLOTS)
			return err_set(e, CV_EINVAL, _("at most %d backup times a day"), SCHEDULE_MAX_SLOTS);
		for (i = s->n; i > 0 && s->minutes[i - 1] > t; i--)
			s->minutes[i] = s->minutes[i - 1];
		s->minutes[i] = t;
		s->n++;
	}
	return 0;
}

/* Local midnight of the day now falls in, shifted by days, as ms. The
 * slot's own wall-clock time goes through mktime, so daylight saving
 * changes move slots the way a person expects. */
static int64_t slot_at(int64_t now_ms, int days, int minutes)
{
	time_t now = (time_t)(now_ms / 1000);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_mday += days;
	tm.tm_hour = minutes / 60;
	tm.tm_min = minutes % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

int64_t schedule_last(const struct schedule *s, int64_t now_ms)
{
	int i, day;

	for (day = 0; day >= -1 && s->n; day--)
		for (i = s->n - 1; i >= 0; i--) {
			int64_t t = slot_at(now_ms, day, s->minutes[i]);

			if (t <= now_ms)
				return t;
		}
	return 0;
}

int64_t schedule_next(const struct schedule *s, int64_t now_ms)
{
	int i, day;

	for (day = 0; day <= 1 && s->n; day++)
		for (i = 0; i < s->n; i++) {
			int64_t t = slot_at(now_ms, day, s->minutes[i]);

			if (t > now_ms)
				return t;
		}
	return 0;
}

int app_schedule_tick(struct app *a, const struct schedule *s, const char *spec, int64_t now_ms, int *queued,
		      struct cv_err *e)
{
	sqlite3 *db = a->store->db;
	int64_t slot = schedule_last(s, now_ms);
	sqlite3_stmt *st = NULL;
	char beat[32];
	int rc;

	*queued = 0;
	if ((rc = catalog_begin(db, e)))
		return rc;
	snprintf(beat, sizeof beat, "%lld", (long long)now_ms);
	if ((rc = catalog_setting_set(db, "schedule", spec, e)) ||
	    (rc = catalog_setting_set(db, "schedule_heartbeat", beat, e)))
		goto fail;
	if (slot > 0) {
		/* Tenants with ACTIVE accounts, no backup job since the slot and
		 * none still running (a long run is not doubled by the next slot;
		 * once it ends, the slot is caught up). */
		if ((rc = catalog_prepare(db,
					  "SELECT t.id FROM tenants t WHERE t.status = 'Active'"
					  " AND EXISTS (SELECT 1 FROM accounts WHERE tenant = t.id AND privchat = 1 AND gone = 0)"
					  " AND NOT EXISTS (SELECT 1 FROM jobs WHERE tenant = t.id AND kind = 'backup'"
					  " AND (created >= ?1 OR finished IS NULL))",
					  &st, e)))
			goto fail;
		sqlite3_bind_int64(st, 1, slot);
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t job;

			if ((rc = job_enqueue(db, "backup", sqlite3_column_int64(st, 0), "{\"scheduled\":true}", &job,
					      e)))
				goto fail;
			(*queued)++;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if ((rc = catalog_commit(db, e)))
		return rc;
	if (*queued) {
		app_audit(a, "backup", "schedule", spec);
		if (a->engine)
			engine_kick(a->engine);
	}
	return 0;
fail:
	sqlite3_finalize(st);
	catalog_rollback(db);
	return rc;
}

int64_t app_schedule_next_run(struct app *a, int64_t now_ms)
{
	struct schedule s;
	char spec[SCHEDULE_MAX_SLOTS * 6 + 8], beat[32];

	if (catalog_setting_get(a->store->db, "schedule", spec, sizeof spec, NULL) != 0 ||
	    catalog_setting_get(a->store->db, "schedule_heartbeat", beat, sizeof beat, NULL) != 0 ||
	    now_ms - strtoll(beat, NULL, 10) > SCHEDULE_HEARTBEAT_MS || schedule_parse(spec, &s, NULL) != 0)
		return 0;
	return schedule_next(&s, now_ms);
}
