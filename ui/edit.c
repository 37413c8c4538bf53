/*
 * A one-line editor for prompts and form fields. Text is kept as wide
 * characters so the cursor moves by character and the view scrolls by
 * display column; secrets are shown masked and wiped when done.
 */
#include "config.h"

#include "ui/ui.h"

#include "util/xalloc.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

void ui_edit_set(struct ui_edit *ed, const char *utf8)
{
	mbstate_t st;
	const char *p = utf8 ? utf8 : "";
	size_t n;

	memset(&st, 0, sizeof st);
	n = mbsrtowcs(ed->text, &p, sizeof ed->text / sizeof ed->text[0] - 1, &st);
	ed->len = n == (size_t)-1 ? 0 : n;
	ed->text[ed->len] = L'\0';
	ed->pos = ed->len;
}

int ui_edit_key(struct ui_edit *ed, int key)
{
	size_t max = sizeof ed->text / sizeof ed->text[0] - 1;

	switch (key) {
	case KEY_LEFT: if (ed->pos > 0) ed->pos--; return 1;
	case KEY_RIGHT: if (ed->pos < ed->len) ed->pos++; return 1;
	case KEY_HOME: case UI_CHAR(1): ed->pos = 0; return 1;
	case KEY_END: case UI_CHAR(5): ed->pos = ed->len; return 1;
	case KEY_BACKSPACE: case UI_CHAR(127): case UI_CHAR(8):
		if (ed->pos == 0)
			return 1;
		ed->pos--;
		/* fall through */
	case KEY_DC:
		if (ed->pos < ed->len) {
			memmove(&ed->text[ed->pos], &ed->text[ed->pos + 1], (ed->len - ed->pos) * sizeof(wchar_t));
			ed->len--;
		}
		return 1;
	case UI_CHAR(21): /* C-u: clear */
		ui_edit_wipe(ed);
		return 1;
	default:
		break;
	}
	if (key >= UI_CHAR(' ') && key != UI_CHAR(127) && ed->len < max) {
		memmove(&ed->text[ed->pos + 1], &ed->text[ed->pos], (ed->len - ed->pos + 1) * sizeof(wchar_t));
		ed->text[ed->pos++] = (wchar_t)(key - UI_CHAR_BASE);
		ed->len++;
		return 1;
	}
	return 0;
}

void ui_edit_draw(struct ui *u, const struct ui_edit *ed, int y, int x, int width, int focus)
{
	size_t start = 0, i;
	int cols = 0, cx = x;

	if (width < 2)
		return;
	/* Scroll so the cursor stays visible. */
	for (;;) {
		cols = 0;
		for (i = start; i < ed->pos; i++)
			cols += ed->mask ? 1 : (wcwidth(ed->text[i]) > 0 ? wcwidth(ed->text[i]) : 1);
		if (cols < width || start >= ed->pos)
			break;
		start++;
	}
	attrset(focus ? (int)(A_UNDERLINE | A_BOLD) : A_UNDERLINE);
	mvhline(y, x, ' ', width);
	move(y, x);
	cols = 0;
	for (i = start; i < ed->len; i++) {
		wchar_t c = ed->mask ? L'*' : ed->text[i];
		int w = wcwidth(c) > 0 ? wcwidth(c) : 1;

		if (cols + w > width)
			break;
		if (i == ed->pos)
			cx = x + cols;
		if (c < L' ' || (c >= 0x7f && c < 0xa0) || wcwidth(c) < 0)
			c = L'?';
		addnwstr(&c, 1);
		cols += w;
	}
	if (ed->pos >= ed->len)
		cx = x + cols;
	attrset(A_NORMAL);
	if (focus) {
		move(y, cx < x + width ? cx : x + width - 1);
		curs_set(1);
	}
}

void ui_edit_get(const struct ui_edit *ed, char *out, size_t len)
{
	const wchar_t *p = ed->text;
	mbstate_t st;
	size_t n;

	memset(&st, 0, sizeof st);
	n = wcsrtombs(out, &p, len - 1, &st);
	out[n == (size_t)-1 ? 0 : (n < len ? n : len - 1)] = '\0';
}

void ui_edit_wipe(struct ui_edit *ed)
{
	xwipe(ed->text, sizeof ed->text);
	ed->len = ed->pos = 0;
}
