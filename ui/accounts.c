/*
 * The account table, shared by the Dashboard (statuses and reasons) and
 * the Private Chat tab (activation and tagging). It keeps only the visible
 * window of rows; filtering, sorting, searching and the tag set are sqlite
 * queries (app/view.h). The cursor follows its account by id when live
 * updates move rows.
 */
#include "config.h"

#include "ui/accounts.h"

#include "app/app.h"
#include "util/err.h"
#include "util/i18n.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

void acct_init(struct acct_table *t, enum acct_mode mode)
{
	memset(t, 0, sizeof *t);
	t->mode = mode;
	t->f.sort = mode == ACCT_DASHBOARD ? APP_ACOL_STATUS : APP_ACOL_UPN;
	t->height = 20;
}

static void filter_apply(struct ui *u, struct acct_table *t)
{
	t->f.tenant = u->tenant;
	t->f.text = t->filter;
}

static void acct_fetch(struct ui *u, struct acct_table *t);

void acct_reload(struct ui *u, struct acct_table *t)
{
	struct cv_err e = {0};
	int64_t offset = t->list.cursor - t->list.top, want = t->cursor_id;

	filter_apply(u, t);
	if (app_accounts_count(u->app, &t->f, &t->list.count, &e) != 0) {
		ui_say(u, 1, "%s", ui_error_text(&e));
		t->list.count = 0;
	}
	acct_fetch(u, t);
	if (want && t->cursor_id != want) {
		/* The account moved: find it, and keep it at the same place on
		 * the screen. */
		int64_t pos = app_accounts_position(u->app, &t->f, want);

		if (pos >= 0) {
			t->list.cursor = pos;
			t->list.top = pos - offset;
			acct_fetch(u, t);
		}
	}
	if (app_tag_counts(u->app, &t->f, &t->tagged, &t->hidden, &e) != 0)
		t->tagged = t->hidden = 0;
}

/* Fetch the visible window only: what a cursor movement needs. */
static void acct_fetch(struct ui *u, struct acct_table *t)
{
	struct cv_err e = {0};
	int h = t->height > 0 ? t->height : 1;

	filter_apply(u, t);
	ui_list_clamp(&t->list, h);
	t->nrows = 0;
	if (t->list.count > 0 &&
	    app_accounts_window(u->app, &t->f, t->list.top, h < ACCT_ROWS_MAX ? h : ACCT_ROWS_MAX, t->rows, &t->nrows,
				&e) != 0)
		ui_say(u, 1, "%s", ui_error_text(&e));
	t->cursor_id = 0;
	if (t->list.cursor - t->list.top < t->nrows)
		t->cursor_id = t->rows[t->list.cursor - t->list.top].id;
}

const struct app_account_row *acct_cursor(const struct acct_table *t)
{
	int64_t i = t->list.cursor - t->list.top;

	return i >= 0 && i < t->nrows ? &t->rows[i] : NULL;
}

/* ---- drawing ------------------------------------------------------------ */

struct col {
	enum app_acol id;
	const char *title;
	int width;
	int right;
};

static const char *privchat_word(int active)
{
	return active ? _("ACTIVE") : _("INACTIVE");
}

/* Lay out the columns for this mode and width: fixed ones sized by their
 * translated titles, the account (and on the Dashboard the reason) taking
 * what is left. */
#define ACOL_REASON APP_ACOL_COUNT

static void grow(struct col *c, int want, int *rest)
{
	int add = want - c->width;

	if (add > *rest)
		add = *rest;
	if (add > 0) {
		c->width += add;
		*rest -= add;
	}
}

static int layout(struct ui *u, const struct acct_table *t, int width, struct col *cols)
{
	int n = 0, used = 2, i, wide = width >= 110, rest;

#define COL(i_, title_, w_, r_)                                                                      \
	do {                                                                                         \
		int tw_ = ui_width(u, title_) + 1;                                                     \
		cols[n].id = (enum app_acol)(i_);                                                    \
		cols[n].title = (title_);                                                            \
		cols[n].width = (w_) > tw_ ? (w_) : tw_;                                             \
		cols[n].right = (r_);                                                                \
		used += cols[n].width + 1;                                                           \
		n++;                                                                                 \
	} while (0)

	COL(APP_ACOL_UPN, _("Account"), 0, 0);
	if (wide)
		COL(APP_ACOL_NAME, _("Name"), 16, 0);
	if (t->mode == ACCT_PRIVCHAT) {
		int w0 = ui_width(u, privchat_word(0)), w1 = ui_width(u, privchat_word(1));

		if (wide)
			COL(APP_ACOL_DEPT, _("Department"), 12, 0);
		COL(APP_ACOL_PRIVCHAT, _("Private chat"), w0 > w1 ? w0 : w1, 0);
	}
	COL(APP_ACOL_STATUS, _("Backup status"), 12, 0);
	COL(APP_ACOL_LAST, _("Last backup"), 11, 0);
	COL(APP_ACOL_CHATS, _("Chats"), 5, 1);
	COL(APP_ACOL_MESSAGES, _("Messages"), 7, 1);
	if (t->mode == ACCT_DASHBOARD)
		COL(ACOL_REASON, _("Reason"), 0, 0);
#undef COL
	rest = width - used;
	/* Room for a typical UPN and for the longest status word (on a narrow
	 * screen the UPN comes first), then the rest to the account (and the
	 * reason on the Dashboard). */
	for (i = 1; i < n; i++)
		if (cols[i].id == APP_ACOL_STATUS)
			break;
	if (width < 100)
		grow(&cols[0], 22, &rest);
	grow(&cols[i], 20, &rest);
	grow(&cols[0], 22, &rest);
	if (rest < 0)
		rest = 0;
	if (t->mode == ACCT_DASHBOARD) {
		cols[0].width += rest / 2;
		cols[n - 1].width += rest - rest / 2;
	} else
		cols[0].width += rest;
	return n;
}

static void cell(const struct app_account_row *r, enum app_acol id, char *out, size_t len)
{
	switch (id) {
	case APP_ACOL_UPN: snprintf(out, len, "%s", r->upn); break;
	case APP_ACOL_NAME: snprintf(out, len, "%s", r->name); break;
	case APP_ACOL_DEPT: snprintf(out, len, "%s", r->dept); break;
	case APP_ACOL_PRIVCHAT: snprintf(out, len, "%s", privchat_word(r->privchat)); break;
	case APP_ACOL_STATUS:
		/* The status words are the portal's; they stay untranslated so
		 * helpdesk notes and searches match. */
		snprintf(out, len, "%s",
			 r->status[0]      ? r->status
			 : !r->privchat    ? "-"
			 : r->last_backup ? _("waiting for the next backup") /* activated again, or back in the tenant */
					   : _("never backed up"));
		break;
	case APP_ACOL_LAST: ui_time(r->last_backup, out, len); break;
	case APP_ACOL_CHATS: ui_count(r->chats, out, len); break;
	case APP_ACOL_MESSAGES: ui_count(r->messages, out, len); break;
	case ACOL_REASON: snprintf(out, len, "%s", r->reason); break;
	default: out[0] = '\0'; break;
	}
}

static enum ui_attr status_attr(const char *status)
{
	if (!strcmp(status, "Completed"))
		return UI_OK;
	if (!strcmp(status, "Connection Error") || !strcmp(status, "Authentication Error") ||
	    !strcmp(status, "Failed") || !strcmp(status, "Suspended"))
		return UI_ERROR;
	if (!strcmp(status, "Partially Completed") || !strcmp(status, "Retrying"))
		return UI_WARN;
	return UI_NORMAL;
}

void acct_draw(struct ui *u, struct acct_table *t, int y, int h)
{
	struct col cols[APP_ACOL_COUNT + 1];
	int n = layout(u, t, u->cols, cols), i, x, row;
	int need_reload = h - 1 != t->height;

	t->height = h - 1;
	if (need_reload)
		acct_reload(u, t);
	/* Header: the sort column carries the direction. */
	ui_put(u, y, 0, u->cols, "", UI_HEADER, 1);
	for (i = 0, x = 2; i < n; i++) {
		char title[96];
		const char *mark = "";

		if (cols[i].id == t->f.sort && cols[i].id != ACOL_REASON)
			mark = t->f.desc ? (u->utf8 ? "\u25bc" : "v") : (u->utf8 ? "\u25b2" : "^");
		snprintf(title, sizeof title, "%s%s", cols[i].title, mark);
		if (cols[i].right)
			ui_put_right(u, y, x, cols[i].width, title, UI_HEADER);
		else
			ui_put(u, y, x, cols[i].width, title, UI_HEADER, 1);
		x += cols[i].width + 1;
	}
	if (t->list.count == 0) {
		ui_put(u, y + 2, 2, u->cols - 4,
		       t->filter[0] ? _("No account matches the filter. Esc clears it.")
				    : _("No accounts yet. They appear after the tenant's users are synced."),
		       UI_DIM, 0);
		return;
	}
	for (row = 0; row < t->nrows && row < h - 1; row++) {
		const struct app_account_row *r = &t->rows[row];
		int is_cursor = t->list.top + row == t->list.cursor;
		enum ui_attr base = is_cursor ? UI_CURSOR : r->tagged ? UI_TAGGED : UI_NORMAL;

		ui_put(u, y + 1 + row, 0, u->cols, "", base, 1);
		ui_put(u, y + 1 + row, 0, 2, r->tagged ? "*" : " ", base, 1);
		for (i = 0, x = 2; i < n; i++) {
			char text[512];
			enum ui_attr a = base;

			cell(r, cols[i].id, text, sizeof text);
			if (cols[i].id == APP_ACOL_STATUS && !is_cursor)
				a = status_attr(r->status);
			if (cols[i].right)
				ui_put_right(u, y + 1 + row, x, cols[i].width, text, a);
			else
				ui_put(u, y + 1 + row, x, cols[i].width, text, a, 1);
			x += cols[i].width + 1;
		}
	}
}

void acct_status(struct ui *u, struct acct_table *t, char *out, size_t len)
{
	const struct app_account_row *r = acct_cursor(t);
	size_t n = 0;

	out[0] = '\0';
	if (t->mode == ACCT_PRIVCHAT) {
		n += (size_t)snprintf(out + n, len - n, P_("%lld tagged", "%lld tagged", t->tagged), (long long)t->tagged);
		if (t->hidden && n < len)
			n += (size_t)snprintf(out + n, len - n, P_(" (%lld hidden by filter)", " (%lld hidden by filter)", t->hidden),
					      (long long)t->hidden);
	} else if (n < len)
		n += (size_t)snprintf(out + n, len - n, P_("%lld account", "%lld accounts", t->list.count),
				      (long long)t->list.count);
	if (t->filter[0] && n < len)
		n += (size_t)snprintf(out + n, len - n, " · %s %s", _("filter:"), t->filter);
	if (r && r->reason[0] && n < len)
		snprintf(out + n, len - n, " · %s", r->reason);
	(void)u;
}

/* ---- commands ----------------------------------------------------------- */

/* The confirmation for a bulk action: count, names, what the filter hides. */
static int confirm_selection(struct ui *u, struct acct_table *t, const char *title, const char *verb)
{
	const struct app_account_row *r = acct_cursor(t);
	int64_t n = t->tagged ? t->tagged : 1, more;
	char names[400], text[1024];
	size_t k;

	more = n - app_selection_names(u->app, r ? r->id : 0, names, sizeof names, 5);
	k = (size_t)snprintf(text, sizeof text, P_("%s %lld account: %s", "%s %lld accounts: %s", n), verb, (long long)n,
			     names);
	if (more > 0 && k < sizeof text)
		k += (size_t)snprintf(text + k, sizeof text - k, P_(" and %lld more", " and %lld more", more),
				      (long long)more);
	if (k < sizeof text)
		k += (size_t)snprintf(text + k, sizeof text - k, ".");
	if (t->hidden && k < sizeof text)
		snprintf(text + k, sizeof text - k,
			 P_(" %lld of them is hidden by the filter.", " %lld of them are hidden by the filter.", t->hidden),
			 (long long)t->hidden);
	return ui_confirm(u, title, text);
}

static void set_privchat(struct ui *u, struct acct_table *t, int active)
{
	const struct app_account_row *r = acct_cursor(t);
	struct cv_err e = {0};
	int changed = 0;

	if (!r && !t->tagged)
		return;
	if (!confirm_selection(u, t, active ? _("Activate private chat backup") : _("Deactivate private chat backup"),
			       active ? _("Activate private chat backup for") : _("Deactivate private chat backup for"))) {
		ui_say(u, 0, "%s", _("nothing changed"));
		return;
	}
	if (app_privchat_set_selection(u->app, r ? r->id : 0, active, &changed, &e) != 0) {
		ui_say(u, 1, "%s", ui_error_text(&e));
		return;
	}
	ui_say(u, 0, active ? P_("%d account activated", "%d accounts activated", changed)
			    : P_("%d account deactivated", "%d accounts deactivated", changed),
	       changed);
	acct_reload(u, t);
}

static void backup_now(struct ui *u, struct acct_table *t)
{
	const struct app_account_row *r = acct_cursor(t);
	struct cv_err e = {0};
	int jobs = 0;

	if (!r && !t->tagged)
		return;
	/* Refuse before asking: a question whose answer can only fail wastes
	 * the reader's attention. (app_backup_selection checks again.) */
	if (app_selection_active(u->app, r ? r->id : 0) == 0) {
		ui_say(u, 1, "%s", _("none of the selected accounts is ACTIVE; activate them first"));
		return;
	}
	if (!confirm_selection(u, t, _("Back up now"), _("Back up the ACTIVE ones of")))
		return;
	if (app_backup_selection(u->app, r ? r->id : 0, &jobs, &e) != 0) {
		ui_say(u, 1, "%s", ui_error_text(&e));
		return;
	}
	ui_say(u, 0, P_("%d backup job queued; watch it on the Dashboard or in System Status",
			"%d backup jobs queued; watch them on the Dashboard or in System Status", jobs),
	       jobs);
}

static void search(struct ui *u, struct acct_table *t, int forward, int again)
{
	int64_t pos;

	if (!again && !ui_prompt(u, forward ? "/" : "?", t->search, sizeof t->search, NULL))
		return;
	if (!t->search[0])
		return;
	filter_apply(u, t);
	pos = app_accounts_find(u->app, &t->f, t->search, t->list.cursor, forward);
	if (pos < 0) {
		/* Past the last match: go on from the other end, as less and
		 * vim do, and say so. */
		pos = app_accounts_find(u->app, &t->f, t->search, forward ? -1 : t->list.count, forward);
		if (pos < 0) {
			ui_say(u, 1, _("'%s' not found"), t->search);
			return;
		}
		ui_say(u, 0, "%s",
		       forward ? _("search hit BOTTOM, continuing at TOP") : _("search hit TOP, continuing at BOTTOM"));
	}
	t->list.cursor = pos;
	t->cursor_id = 0;
	ui_list_clamp(&t->list, t->height);
	acct_reload(u, t);
}

static void set_filter(struct ui *u, struct acct_table *t)
{
	char text[sizeof t->filter];
	struct cv_err e = {0};

	snprintf(text, sizeof text, "%s", t->filter);
	if (!ui_prompt(u, _("Filter (text or field=value):"), text, sizeof text, NULL))
		return;
	if (app_filter_check(text, &e) != 0) {
		ui_say(u, 1, "%s", ui_error_text(&e));
		return;
	}
	snprintf(t->filter, sizeof t->filter, "%s", text);
	t->list.top = 0;
	acct_reload(u, t);
}

int acct_command(struct ui *u, struct acct_table *t, enum ui_cmd cmd, int key)
{
	const struct app_account_row *r = acct_cursor(t);
	struct cv_err e = {0};
	int64_t added = 0;

	switch (cmd) {
	case CMD_UP: case CMD_DOWN: case CMD_PAGE_UP: case CMD_PAGE_DOWN: case CMD_HOME: case CMD_END:
		ui_list_move(&t->list, cmd, t->height);
		acct_fetch(u, t);
		return 1;
	case CMD_SORT_NEXT: case CMD_SORT_PREV:
		t->f.sort = (enum app_acol)(((int)t->f.sort + (cmd == CMD_SORT_NEXT ? 1 : APP_ACOL_COUNT - 1)) % APP_ACOL_COUNT);
		acct_reload(u, t);
		return 1;
	case CMD_SORT_INVERT:
		t->f.desc = !t->f.desc;
		acct_reload(u, t);
		return 1;
	case CMD_FILTER:
		set_filter(u, t);
		return 1;
	case CMD_BACK:
		/* Esc first clears the filter, then backs out. */
		if (t->filter[0] && key == UI_CHAR(27)) {
			t->filter[0] = '\0';
			acct_reload(u, t);
			ui_say(u, 0, "%s", _("filter cleared"));
			return 1;
		}
		return 0;
	case CMD_SEARCH: search(u, t, 1, 0); return 1;
	case CMD_SEARCH_NEXT: search(u, t, 1, 1); return 1;
	case CMD_SEARCH_PREV: search(u, t, 0, 1); return 1;
	case CMD_OPEN:
		if (r)
			ui_push(u, ui_chats_new(u, r->id, r->name[0] ? r->name : r->upn));
		return 1;
	default:
		break;
	}
	if (t->mode != ACCT_PRIVCHAT)
		return 0;
	switch (cmd) {
	case CMD_TAG:
		if (r && app_tag_toggle(u->app, r->id, &e) == 0) {
			ui_list_move(&t->list, CMD_DOWN, t->height);
			t->cursor_id = 0;
			acct_reload(u, t);
		}
		return 1;
	case CMD_TAG_ALL:
		filter_apply(u, t);
		if (app_tag_filtered(u->app, &t->f, &added, &e) == 0)
			ui_say(u, 0, P_("%lld more account tagged", "%lld more accounts tagged", added), (long long)added);
		acct_reload(u, t);
		return 1;
	case CMD_TAG_PATTERN: {
		char pat[256] = "";

		if (!ui_prompt(u, _("Tag accounts matching (* and ?):"), pat, sizeof pat, NULL) || !pat[0])
			return 1;
		filter_apply(u, t);
		if (app_tag_pattern(u->app, &t->f, pat, &added, &e) == 0)
			ui_say(u, 0, P_("%lld more account tagged", "%lld more accounts tagged", added), (long long)added);
		acct_reload(u, t);
		return 1;
	}
	case CMD_UNTAG_ALL:
		app_untag_all(u->app, &e);
		ui_say(u, 0, "%s", _("all accounts untagged"));
		acct_reload(u, t);
		return 1;
	case CMD_ACTIVATE: set_privchat(u, t, 1); return 1;
	case CMD_DEACTIVATE: set_privchat(u, t, 0); return 1;
	case CMD_BACKUP: backup_now(u, t); return 1;
	case CMD_DOWNLOAD:
		if (r)
			ui_download_dialog(u, r->id, r->name[0] ? r->name : r->upn);
		return 1;
	default:
		return 0;
	}
}
