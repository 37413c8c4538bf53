/*
 * Drawing primitives. Every string that reaches the screen passes
 * ui_put(), which runs it through the one sanitiser (util/sanitize.h), then
 * measures it in display columns with wcwidth and cuts it with an ellipsis
 * that never splits a character. Colours are used only when the terminal
 * has them and NO_COLOR is unset; every attribute has a monochrome form.
 */
#include "config.h"

#include "ui/ui.h"

#include "util/buf.h"
#include "util/sanitize.h"
#include "util/xalloc.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

enum { PAIR_HEADER = 1, PAIR_CURSOR, PAIR_ERROR, PAIR_OK, PAIR_TITLE, PAIR_WARN };

static int color_on;

void ui_draw_init(struct ui *u)
{
	const char *nc = getenv("NO_COLOR");

	u->color = has_colors() && !(nc && *nc);
	color_on = u->color;
	if (!u->color)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_HEADER, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_CURSOR, COLOR_BLACK, COLOR_WHITE);
	init_pair(PAIR_ERROR, COLOR_RED, -1);
	init_pair(PAIR_OK, COLOR_GREEN, -1);
	init_pair(PAIR_TITLE, COLOR_CYAN, -1);
	init_pair(PAIR_WARN, COLOR_YELLOW, -1);
}

int ui_attr(enum ui_attr a)
{
	switch (a) {
	case UI_HEADER: return color_on ? COLOR_PAIR(PAIR_HEADER) : A_REVERSE;
	case UI_CURSOR: return color_on ? (int)(COLOR_PAIR(PAIR_CURSOR) | A_BOLD) : A_REVERSE | A_BOLD;
	case UI_TAGGED: return A_BOLD;
	case UI_ERROR: return color_on ? (int)(COLOR_PAIR(PAIR_ERROR) | A_BOLD) : A_BOLD;
	case UI_OK: return color_on ? COLOR_PAIR(PAIR_OK) : A_NORMAL;
	case UI_DIM: return A_DIM;
	case UI_TITLE: return color_on ? (int)(COLOR_PAIR(PAIR_TITLE) | A_BOLD) : A_BOLD;
	case UI_WARN: return color_on ? COLOR_PAIR(PAIR_WARN) : A_BOLD;
	case UI_NORMAL: break;
	}
	return A_NORMAL;
}

/* In a non-UTF-8 locale, our own typography gets ASCII stand-ins (the
 * sanitiser would turn it into '?'): the middle dot, the ellipsis, dashes. */
static void ascii_typography(const char *s, struct buf *out)
{
	static const struct {
		const char *utf8, *ascii;
	} map[] = {{"\xc2\xb7", "|"}, {"\xe2\x80\xa6", "..."}, {"\xe2\x80\x93", "-"}, {"\xe2\x80\x94", "-"}};
	size_t i;

	while (*s) {
		for (i = 0; i < sizeof map / sizeof map[0]; i++) {
			size_t k = strlen(map[i].utf8);

			if (strncmp(s, map[i].utf8, k) == 0) {
				buf_append_str(out, map[i].ascii);
				s += k;
				break;
			}
		}
		if (i == sizeof map / sizeof map[0])
			buf_append_char(out, *s++);
	}
}

/* Append s as the screen shows it: sanitised to one line, with ASCII
 * stand-ins in a non-UTF-8 locale. */
static void shown_append(struct ui *u, const char *s, struct buf *out)
{
	struct buf t;

	if (u->utf8) {
		sanitize_append(out, s ? s : "", s ? strlen(s) : 0, 0);
		return;
	}
	buf_init(&t);
	ascii_typography(s ? s : "", &t);
	sanitize_append(out, buf_str(&t), t.len, SAN_ASCII);
	buf_free(&t);
}

char *ui_shown(struct ui *u, const char *s)
{
	struct buf b;

	buf_init(&b);
	shown_append(u, s, &b);
	return buf_steal(&b);
}

/* Sanitise s into wide characters in w (up to cap), returning how many. */
static size_t to_wide(struct ui *u, const char *s, wchar_t *w, size_t cap)
{
	struct buf b;
	mbstate_t st;
	const char *p;
	size_t n = 0, left;

	buf_init(&b);
	shown_append(u, s, &b);
	p = buf_str(&b);
	left = b.len;
	memset(&st, 0, sizeof st);
	while (left > 0 && n < cap) {
		size_t k = mbrtowc(&w[n], p, left, &st);

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			/* Cannot happen after sanitising; never trust it anyway. */
			w[n++] = L'?';
			memset(&st, 0, sizeof st);
			k = 1;
		} else
			n++;
		p += k;
		left -= k;
	}
	buf_free(&b);
	return n;
}

static int wc_cols(wchar_t c)
{
	int k = wcwidth(c);

	return k < 0 ? 1 : k;
}

int ui_width(struct ui *u, const char *s)
{
	wchar_t w[1024];
	size_t n = to_wide(u, s, w, sizeof w / sizeof w[0]), i;
	int cols = 0;

	for (i = 0; i < n; i++)
		cols += wc_cols(w[i]);
	return cols;
}

size_t ui_fit(const char *s, size_t len, int cols)
{
	size_t off = 0, last_space = 0;
	int used = 0;

	while (off < len) {
		wchar_t wc;
		mbstate_t st;
		size_t k;
		int w;

		memset(&st, 0, sizeof st);
		k = mbrtowc(&wc, s + off, len - off, &st);
		if (k == 0 || k == (size_t)-1 || k == (size_t)-2)
			k = 1, wc = L'?';
		w = wc_cols(wc);
		if (used + w > cols)
			break;
		used += w;
		off += k;
		if (wc == L' ')
			last_space = off;
	}
	if (off < len && last_space > off / 2)
		return last_space;
	return off ? off : (len ? 1 : 0);
}

int ui_wrap(struct ui *u, const char *text, int width, char **rows, int max)
{
	char *t = ui_shown(u, text);
	size_t len = strlen(t), off = 0;
	int n = 0;

	while (off < len && n < max) {
		size_t k;

		/* A row that follows a break does not start with its space. */
		while (n > 0 && t[off] == ' ')
			off++;
		if (off == len)
			break;
		k = ui_fit(t + off, len - off, width > 1 ? width : 1);
		rows[n++] = xstrndup(t + off, k);
		off += k;
	}
	free(t);
	return n;
}

int ui_put(struct ui *u, int y, int x, int width, const char *s, enum ui_attr a, int pad)
{
	wchar_t w[1024];
	size_t n, i, cut;
	int cols = 0, total = 0, ell;

	if (width <= 0 || y < 0 || y >= u->rows)
		return 0;
	if (x + width > u->cols)
		width = u->cols - x;
	if (width <= 0)
		return 0;
	n = to_wide(u, s, w, sizeof w / sizeof w[0]);
	for (i = 0; i < n; i++)
		total += wc_cols(w[i]);
	cut = n;
	ell = 0;
	if (total > width) {
		/* Keep what fits in width - 1 columns, then the ellipsis. */
		for (cut = 0, cols = 0; cut < n && cols + wc_cols(w[cut]) <= width - 1; cut++)
			cols += wc_cols(w[cut]);
		ell = 1;
	} else
		cols = total;
	attrset(ui_attr(a));
	mvaddnwstr(y, x, w, (int)cut);
	if (ell) {
		addwstr(u->utf8 ? L"\u2026" : L"~");
		cols++;
	}
	if (pad)
		for (; cols < width; cols++)
			addch(' ');
	attrset(A_NORMAL);
	return cols;
}

void ui_put_right(struct ui *u, int y, int x, int width, const char *s, enum ui_attr a)
{
	int w = ui_width(u, s);

	if (w < width) {
		attrset(ui_attr(a));
		mvhline(y, x, ' ', width - w);
		attrset(A_NORMAL);
		ui_put(u, y, x + width - w, w, s, a, 0);
	} else
		ui_put(u, y, x, width, s, a, 1);
}

void ui_clear_row(struct ui *u, int y, int x)
{
	if (y < 0 || y >= u->rows || x >= u->cols)
		return;
	attrset(A_NORMAL);
	mvhline(y, x, ' ', u->cols - x);
}

void ui_rule(struct ui *u, int y)
{
	attrset(A_NORMAL);
	mvhline(y, 0, u->utf8 ? ACS_HLINE : '-', u->cols);
}

void ui_progress(struct ui *u, int y, int x, int width, int64_t done, int64_t total)
{
	char pct[16];
	int bar = width - 5, fill, i;

	if (width < 8)
		return;
	if (total <= 0) {
		ui_put(u, y, x, width, "", UI_DIM, 1);
		return;
	}
	if (done > total)
		done = total;
	fill = (int)((double)bar * (double)done / (double)total);
	move(y, x);
	attrset(A_NORMAL);
	for (i = 0; i < bar; i++) {
		if (i < fill) {
			attrset(ui_attr(UI_OK) | A_REVERSE);
			addch(' ');
		} else {
			attrset(A_NORMAL);
			addch(u->utf8 ? ACS_CKBOARD : '.');
		}
	}
	attrset(A_NORMAL);
	snprintf(pct, sizeof pct, "%3d%%", (int)(100 * done / total));
	ui_put_right(u, y, x + bar, 5, pct, UI_NORMAL);
}

void ui_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000), now = time(NULL);
	struct tm tm, tn;

	if (ms <= 0) {
		snprintf(out, len, "-");
		return;
	}
	localtime_r(&t, &tm);
	localtime_r(&now, &tn);
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(out, len, "%H:%M", &tm);
	else if (tm.tm_year == tn.tm_year)
		strftime(out, len, "%m-%d %H:%M", &tm);
	else
		strftime(out, len, "%Y-%m-%d", &tm);
}

void ui_count(int64_t n, char *out, size_t len)
{
	if (n < 100000)
		snprintf(out, len, "%lld", (long long)n);
	else if (n < 10000000)
		snprintf(out, len, "%lldk", (long long)(n / 1000));
	else
		snprintf(out, len, "%.1fM", (double)n / 1e6);
}
