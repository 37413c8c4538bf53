/*
 * Snapshots (each backup run is a point in time) and the monthly usage
 * counters (requests, answers 429, messages retrieved) per tenant.
 */
#ifndef CV_STORE_SNAPSHOTS_H
#define CV_STORE_SNAPSHOTS_H

#include <sqlite3.h>
#include <stdint.h>

struct cv_err;

int snapshot_begin(sqlite3 *db, int64_t tenant, int64_t job, int64_t *id, struct cv_err *e);
int snapshot_end(sqlite3 *db, int64_t id, const char *status, struct cv_err *e);
/* The newest finished snapshot of the tenant at or before `when` (ms), or a
 * snapshot id given as text ("12"), or an ISO 8601 time. CV_ENOTFOUND if none. */
int snapshot_resolve(sqlite3 *db, int64_t tenant, const char *spec, int64_t *id, struct cv_err *e);
/* The form of such a spec alone: *id for digits, else *when (a bare date is
 * the end of that day). -1 when it is neither. */
int snapshot_spec_parse(const char *spec, int64_t *id, int64_t *when);

/* Add to this month's (UTC) usage of a tenant. */
int usage_add(sqlite3 *db, int64_t tenant, int64_t requests, int64_t throttled, int64_t messages,
	      struct cv_err *e);

/* This month's messages, and `pending` more retrieved but not yet counted,
 * against the tenant's cap: 0 under it (or no cap), CV_ECAP with a reason
 * naming the cap and when backups resume. */
int usage_check_cap(sqlite3 *db, int64_t tenant, int64_t pending, struct cv_err *e);

#endif
