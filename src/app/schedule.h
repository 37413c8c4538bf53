/*
 * The backup schedule of `chatvault run`: times of day (the host's local
 * time) at which every tenant with ACTIVE accounts gets a backup job. The
 * default is three a day. A slot that passed while nothing ran (the host was
 * down) is caught up once, at the next tick. Several `run` processes on one
 * store queue each slot once: the check and the insert share one write
 * transaction. The running scheduler records its schedule and a heartbeat in
 * the store, so the console can show the next run.
 */
#ifndef CV_APP_SCHEDULE_H
#define CV_APP_SCHEDULE_H

#include <stdint.h>

struct app;
struct cv_err;

#define SCHEDULE_DEFAULT "01:00,09:00,17:00"
#define SCHEDULE_MAX_SLOTS 48
/* A heartbeat older than this means no scheduler is running. */
#define SCHEDULE_HEARTBEAT_MS (3 * 60 * 1000)

struct schedule {
	int n;
	int minutes[SCHEDULE_MAX_SLOTS]; /* minutes after local midnight, ascending */
};

/* Parse "HH:MM[,HH:MM...]" ("none": no slots). 0, or CV_EINVAL with a message. */
int schedule_parse(const char *spec, struct schedule *s, struct cv_err *e);
/* The latest slot at or before now, and the first slot after now (ms; 0
 * when the schedule is empty). */
int64_t schedule_last(const struct schedule *s, int64_t now_ms);
int64_t schedule_next(const struct schedule *s, int64_t now_ms);

/* Queue the due backups and refresh the heartbeat; *queued counts the jobs. */
int app_schedule_tick(struct app *a, const struct schedule *s, const char *spec, int64_t now_ms, int *queued,
		      struct cv_err *e);
/* When the running scheduler will next start backups: 0 when none runs. */
int64_t app_schedule_next_run(struct app *a, int64_t now_ms);

#endif
