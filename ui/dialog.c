/*
 * Modal dialogs: a yes/no confirmation that defaults to No, an alert, and
 * a one-line prompt on the status row. While one is open the live refresh
 * behind it stops (the main loop is not running), so what the user is
 * deciding about does not move under them.
 */
#include "config.h"

#include "ui/ui.h"

#include "util/i18n.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#define BOX_MAX_LINES 12

/* Draw a box with a title and wrapped text, plus a footer line. */
static void dialog_box(struct ui *u, const char *title, const char *text, const char *footer, enum ui_attr ta)
{
	char *lines[BOX_MAX_LINES];
	int w = u->cols - 8 < 70 ? u->cols - 8 : 70, h, n, y, x, i;

	if (ui_too_small(u))
		return;
	if (w < 20)
		w = u->cols;
	n = ui_wrap(u, text, w - 4, lines, BOX_MAX_LINES);
	h = n + 4;
	y = (u->rows - h) / 2;
	x = (u->cols - w) / 2;
	if (y < 0)
		y = 0;
	for (i = 0; i < h && y + i < u->rows; i++)
		ui_put(u, y + i, x, w, "", UI_NORMAL, 1);
	attrset(ui_attr(ta));
	mvaddch(y, x, ACS_ULCORNER);
	mvhline(y, x + 1, ACS_HLINE, w - 2);
	mvaddch(y, x + w - 1, ACS_URCORNER);
	mvvline(y + 1, x, ACS_VLINE, h - 2);
	mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
	mvaddch(y + h - 1, x, ACS_LLCORNER);
	mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
	mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
	attrset(A_NORMAL);
	ui_put(u, y, x + 2, w - 4, title, ta, 0);
	for (i = 0; i < n; i++) {
		ui_put(u, y + 1 + i, x + 2, w - 4, lines[i], UI_NORMAL, 0);
		free(lines[i]);
	}
	ui_put(u, y + h - 2, x + 2, w - 4, footer, UI_TITLE, 0);
}

int ui_confirm(struct ui *u, const char *title, const char *text)
{
	for (;;) {
		int key;

		ui_paint(u);
		dialog_box(u, title, text, _("Proceed? [y/N]"), UI_WARN);
		curs_set(0);
		doupdate();
		refresh();
		key = ui_getkey(u);
		if (key == KEY_RESIZE)
			continue;
		/* Below the minimum size the question is not on the screen, so
		 * nothing answers it yes: it waits until it can be read. */
		if ((key == UI_CHAR('y') || key == UI_CHAR('Y')) && !ui_too_small(u))
			return 1;
		/* No, Esc, q and Enter (the default) decline, seen or not. */
		if (key == UI_CHAR('n') || key == UI_CHAR('N') || key == UI_CHAR(27) || key == UI_CHAR('\r') ||
		    key == UI_CHAR('\n') || key == KEY_ENTER || key == UI_CHAR('q') || key < 0)
			return 0;
	}
}

void ui_alert(struct ui *u, const char *title, const char *text)
{
	for (;;) {
		int key;

		ui_paint(u);
		dialog_box(u, title, text, _("Press any key"), UI_ERROR);
		curs_set(0);
		refresh();
		key = ui_getkey(u);
		if (key != KEY_RESIZE)
			return;
	}
}

int ui_prompt(struct ui *u, const char *label, char *out, size_t len, ui_complete_fn complete)
{
	struct ui_edit ed;
	int ok = -1;

	memset(&ed, 0, sizeof ed);
	ui_edit_set(&ed, out);
	while (ok < 0) {
		int key, lw, y = u->rows - 2;

		ui_paint(u);
		if (!ui_too_small(u)) {
			ui_clear_row(u, y, 0);
			lw = ui_put(u, y, 0, u->cols / 2, label, UI_TITLE, 0);
			ui_edit_draw(u, &ed, y, lw + 1, u->cols - lw - 2, 1);
		}
		refresh();
		key = ui_getkey(u);
		if (key == KEY_RESIZE)
			continue;
		if (key < 0 || key == UI_CHAR(27) || key == UI_CHAR(7))
			ok = 0;
		else if (ui_too_small(u))
			continue; /* unseen, like a form: only cancelling counts */
		else if (key == UI_CHAR('\r') || key == UI_CHAR('\n') || key == KEY_ENTER)
			ok = 1;
		else if (key == UI_CHAR('\t') && complete) {
			char cur[512], done[512];

			ui_edit_get(&ed, cur, sizeof cur);
			if (complete(cur, done, sizeof done) > 0)
				ui_edit_set(&ed, done);
		} else
			ui_edit_key(&ed, key);
	}
	curs_set(0);
	if (ok)
		ui_edit_get(&ed, out, len);
	ui_edit_wipe(&ed);
	return ok;
}
