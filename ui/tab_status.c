/*
 * System Status: the job tables (Backups, and Downloads once download jobs
 * exist in the store) with the status words of DESIGN.md, progress, start
 * and end, the result of a completed download and the reason for a
 * failure. Cancel and retry act on the job under the cursor.
 */
#include "config.h"

#include "ui/ui.h"

#include "app/app.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS_PER_TABLE 100

/* A line of the view: a table's name, its column titles, or a job. */
struct status_line {
	const char *heading;
	int columns;
	const struct app_job_row *job;
};

/* Column positions and widths shared by the titles and the rows; the last
 * column takes the rest of the line. Below 110 columns the tenant and
 * start columns give way to the result or reason. */
enum { C_ID, C_TENANT, C_STATUS, C_PROGRESS, C_START, C_END, C_DETAIL, C_COUNT };
static const int col_w[C_COUNT] = {6, 16, 20, 16, 11, 11, 0};

static int col_shown(const struct ui *u, int c)
{
	return u->cols >= 110 || (c != C_TENANT && c != C_START);
}

static int col_x(const struct ui *u, int c)
{
	int x = 0, i;

	for (i = 0; i < c; i++)
		if (col_shown(u, i))
			x += col_w[i] + 1;
	return x;
}

/* Put text in column c of row y, if the column is shown. */
static void col_put(struct ui *u, int y, int c, const char *text, enum ui_attr a)
{
	if (!col_shown(u, c))
		return;
	if (c == C_ID)
		ui_put_right(u, y, col_x(u, c), col_w[c], text, a);
	else
		ui_put(u, y, col_x(u, c), c == C_DETAIL ? u->cols - col_x(u, c) : col_w[c], text, a, 1);
}

static const struct {
	const char *kind;
	const char *title;
} tables[] = {
	{"backup", N_("Backups")},
	{"download", N_("Downloads")},
};
#define N_TABLES (sizeof tables / sizeof tables[0])

struct status_view {
	struct ui_view v;
	struct app_job_row *jobs[N_TABLES];
	int njobs[N_TABLES];
	struct status_line *lines;
	struct ui_list list;
	int64_t cursor_job;
};

/* Put the cursor on a job row: the nearest one in direction dir (1 down,
 * -1 up), else the nearest the other way. Headings and column titles are
 * never under the cursor. */
static void cursor_to_job(struct status_view *s, int dir)
{
	int64_t i = s->list.cursor;

	while (i >= 0 && i < s->list.count && !s->lines[i].job)
		i += dir;
	if (i < 0 || i >= s->list.count)
		for (i = s->list.cursor; i >= 0 && i < s->list.count && !s->lines[i].job; i -= dir)
			;
	if (i >= 0 && i < s->list.count) {
		s->list.cursor = i;
		s->cursor_job = s->lines[i].job->id;
	}
}

/* Clamp the window to height rows; a table's first job shows under its
 * heading and column titles. */
static void frame(struct status_view *s, int height)
{
	int64_t head = s->list.cursor;

	ui_list_clamp(&s->list, height);
	while (head > 0 && head < s->list.count && !s->lines[head - 1].job && s->list.cursor - (head - 1) < height)
		head--;
	if (head < s->list.top)
		s->list.top = head;
}

static void status_reload(struct ui *u, struct ui_view *v)
{
	struct status_view *s = (struct status_view *)v;
	size_t i;
	int k, n = 0;

	free(s->lines);
	for (i = 0; i < N_TABLES; i++) {
		free(s->jobs[i]);
		app_jobs_list(u->app, tables[i].kind, JOBS_PER_TABLE, &s->jobs[i], &s->njobs[i], NULL);
	}
	s->lines = xcalloc(N_TABLES * (JOBS_PER_TABLE + 2) + 1, sizeof *s->lines);
	for (i = 0; i < N_TABLES; i++) {
		/* The Backups table always shows; the others once they have rows. */
		if (i > 0 && s->njobs[i] == 0)
			continue;
		s->lines[n++].heading = tables[i].title;
		s->lines[n++].columns = 1;
		for (k = 0; k < s->njobs[i]; k++)
			s->lines[n++].job = &s->jobs[i][k];
	}
	s->list.count = n;
	/* Keep the cursor on its job; a new view starts on the first job. */
	for (k = 0; s->cursor_job && k < n; k++)
		if (s->lines[k].job && s->lines[k].job->id == s->cursor_job)
			s->list.cursor = k;
	ui_list_clamp(&s->list, v->height > 0 ? v->height : 1);
	cursor_to_job(s, 1);
}

static enum ui_attr job_attr(const char *status)
{
	if (!strcmp(status, "Completed"))
		return UI_OK;
	if (!strcmp(status, "Failed") || !strcmp(status, "Connection Error") || !strcmp(status, "Authentication Error") ||
	    !strcmp(status, "Cancelled"))
		return UI_ERROR;
	if (!strcmp(status, "Retrying") || !strcmp(status, "Partially Completed"))
		return UI_WARN;
	return UI_NORMAL;
}

/* The result of a completed download (path and size), else the reason. */
static void job_detail(const struct app_job_row *j, char *out, size_t len)
{
	char size[32];

	if (j->result[0]) {
		ui_count(j->result_size, size, sizeof size);
		snprintf(out, len, "%s (%s %s)%s%s", j->result, size, _("bytes"), j->reason[0] ? " · " : "", j->reason);
	} else
		snprintf(out, len, "%s", j->reason);
}

static void draw_job(struct ui *u, const struct app_job_row *j, int y, int cursor)
{
	char text[1200], when[32];
	enum ui_attr base = cursor ? UI_CURSOR : UI_NORMAL;

	ui_put(u, y, 0, u->cols, "", base, 1);
	snprintf(text, sizeof text, "%lld", (long long)j->id);
	col_put(u, y, C_ID, text, base);
	col_put(u, y, C_TENANT, j->tenant, base);
	col_put(u, y, C_STATUS, j->status, cursor ? base : job_attr(j->status));
	if (j->running && j->total_final)
		ui_progress(u, y, col_x(u, C_PROGRESS), col_w[C_PROGRESS], j->done, j->total);
	else if (j->running) {
		/* No percentage of a total still growing (see the Dashboard). */
		snprintf(text, sizeof text, _("%lld/%lld so far"), (long long)j->done, (long long)j->total);
		col_put(u, y, C_PROGRESS, text, cursor ? base : UI_DIM);
	} else {
		snprintf(text, sizeof text, "%lld/%lld", (long long)j->done, (long long)j->total);
		col_put(u, y, C_PROGRESS, text, base);
	}
	ui_time(j->started, when, sizeof when);
	col_put(u, y, C_START, when, base);
	ui_time(j->finished, when, sizeof when);
	col_put(u, y, C_END, when, base);
	job_detail(j, text, sizeof text);
	col_put(u, y, C_DETAIL, text, base);
}

static void draw_columns(struct ui *u, int y)
{
	static const char *const titles[C_COUNT] = {
		N_("Job"), N_("Tenant"), N_("Status"), N_("Progress"), N_("Started"), N_("Ended"), N_("Result or reason"),
	};
	int c;

	ui_put(u, y, 0, u->cols, "", UI_HEADER, 1);
	for (c = 0; c < C_COUNT; c++)
		col_put(u, y, c, _(titles[c]), UI_HEADER);
}

static void status_draw(struct ui *u, struct ui_view *v, int y, int h)
{
	struct status_view *s = (struct status_view *)v;
	int64_t i;
	int row;

	frame(s, h);
	for (row = 0, i = s->list.top; i < s->list.count && row < h; i++, row++) {
		const struct status_line *l = &s->lines[i];

		if (l->heading)
			ui_put(u, y + row, 0, u->cols, _(l->heading), UI_TITLE, 1);
		else if (l->columns)
			draw_columns(u, y + row);
		else
			draw_job(u, l->job, y + row, i == s->list.cursor);
	}
	if (s->njobs[0] == 0)
		ui_put(u, y + 3, 2, u->cols - 4, _("No backup has run yet. Tag accounts on the Private Chat tab and press F7."),
		       UI_DIM, 0);
}

static const struct app_job_row *cursor_job(struct status_view *s)
{
	return s->list.count > 0 ? s->lines[s->list.cursor].job : NULL;
}

static int status_command(struct ui *u, struct ui_view *v, enum ui_cmd cmd, int key)
{
	struct status_view *s = (struct status_view *)v;
	const struct app_job_row *j = cursor_job(s);
	struct cv_err e = {0};
	char text[256];
	int64_t id;

	(void)key;
	switch (cmd) {
	case CMD_UP: case CMD_DOWN: case CMD_PAGE_UP: case CMD_PAGE_DOWN: case CMD_HOME: case CMD_END:
		ui_list_move(&s->list, cmd, v->height);
		/* Home lands on the first line, a heading: step down from it. */
		cursor_to_job(s, cmd == CMD_DOWN || cmd == CMD_PAGE_DOWN || cmd == CMD_HOME ? 1 : -1);
		return 1;
	case CMD_CANCEL:
		if (!j || !j->running) {
			ui_say(u, 1, "%s", _("only a running job can be cancelled"));
			return 1;
		}
		snprintf(text, sizeof text, _("Cancel %s job %lld for %s? Work already saved stays saved."), j->kind,
			 (long long)j->id, j->tenant);
		if (ui_confirm(u, _("Cancel job"), text)) {
			if (app_job_cancel(u->app, j->id, &e) != 0)
				ui_say(u, 1, "%s", ui_error_text(&e));
			else
				ui_say(u, 0, _("job %lld cancelled"), (long long)j->id);
			ui_reload(u);
		}
		return 1;
	case CMD_RETRY:
		if (!j || j->running) {
			ui_say(u, 1, "%s", _("pick a finished job to run again"));
			return 1;
		}
		snprintf(text, sizeof text, _("Run %s job %lld for %s again as a new job?"), j->kind, (long long)j->id,
			 j->tenant);
		if (ui_confirm(u, _("Retry job"), text)) {
			if (app_job_retry(u->app, j->id, &id, &e) != 0)
				ui_say(u, 1, "%s", ui_error_text(&e));
			else
				ui_say(u, 0, _("queued as job %lld"), (long long)id);
			ui_reload(u);
		}
		return 1;
	default:
		return 0;
	}
}

static void status_status(struct ui *u, struct ui_view *v, char *out, size_t len)
{
	struct status_view *s = (struct status_view *)v;
	const struct app_job_row *j = cursor_job(s);

	(void)u;
	out[0] = '\0';
	if (j)
		job_detail(j, out, len);
}

static void status_destroy(struct ui_view *v)
{
	struct status_view *s = (struct status_view *)v;
	size_t i;

	for (i = 0; i < N_TABLES; i++)
		free(s->jobs[i]);
	free(s->lines);
	free(s);
}

static const struct ui_view_ops status_ops = {
	status_reload, status_draw, status_command, status_status, status_destroy,
};

struct ui_view *ui_status_new(struct ui *u)
{
	struct status_view *s = xcalloc(1, sizeof *s);

	s->v.ops = &status_ops;
	s->v.scope = UI_SC_LIST | UI_SC_JOBS;
	(void)u;
	return &s->v;
}
