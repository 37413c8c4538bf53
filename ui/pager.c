/*
 * A pager over lines of text: the help screen and chat transcripts. Lines
 * are sanitised once when added, then wrapped to the screen width in
 * display columns (re-wrapped after a resize). '/' searches, n/N repeat.
 */
#include "config.h"

#include "ui/ui.h"

#include "app/app.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/sanitize.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pline {
	char *text;            /* sanitised, one line */
	enum ui_attr attr;
	int hang;              /* columns its rows after the first are indented */
};

struct wline {
	size_t line;
	size_t off, len;       /* bytes of pline.text shown on this row */
	int indent;            /* columns before them */
};

struct pager_view {
	struct ui_view v;
	char title[512];
	struct pline *lines;
	size_t n, cap;
	struct wline *wrapped;
	size_t nw;
	int wrap_cols;
	int64_t top;
	char search[256];
	size_t match_line;     /* logical line of the last match + 1, 0 = none */
	int ascii;
};

static void rewrap(struct pager_view *p, int cols)
{
	size_t i, cap = p->n + 16;

	free(p->wrapped);
	p->wrapped = xreallocarray(NULL, cap, sizeof *p->wrapped);
	p->nw = 0;
	for (i = 0; i < p->n; i++) {
		const char *t = p->lines[i].text;
		size_t len = strlen(t), off = 0;
		/* A hanging indent that leaves too little room is dropped. */
		int hang = p->lines[i].hang < cols - 10 ? p->lines[i].hang : 0, indent = 0;

		do {
			size_t k;

			if (indent && (off += strspn(t + off, " ")) == len)
				break;
			k = ui_fit(t + off, len - off, cols - indent);
			if (p->nw == cap) {
				cap *= 2;
				p->wrapped = xreallocarray(p->wrapped, cap, sizeof *p->wrapped);
			}
			p->wrapped[p->nw++] = (struct wline){i, off, k, indent};
			off += k;
			indent = hang;
		} while (off < len);
	}
	p->wrap_cols = cols;
}

/* Append a line already sanitised; the pager owns text from here on. */
static void pager_push(struct pager_view *p, char *text, enum ui_attr a, int hang)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->lines = xreallocarray(p->lines, p->cap, sizeof *p->lines);
	}
	p->lines[p->n].text = text;
	p->lines[p->n].hang = hang;
	p->lines[p->n++].attr = a;
	p->wrap_cols = 0;
}

void ui_pager_add(struct ui_view *v, const char *line, enum ui_attr a)
{
	ui_pager_add_hanging(v, line, a, 0);
}

void ui_pager_add_hanging(struct ui_view *v, const char *line, enum ui_attr a, int hang)
{
	struct pager_view *p = (struct pager_view *)v;

	/* A line feed in it (a sender's name, a file name) shows as "^J". */
	pager_push(p, sanitize_dup(line, p->ascii ? SAN_ASCII : 0), a, hang);
}

void ui_pager_add_text(struct ui_view *v, const char *text, enum ui_attr a)
{
	struct pager_view *p = (struct pager_view *)v;
	char *all = sanitize_dup(text, SAN_KEEP_NEWLINES | (p->ascii ? SAN_ASCII : 0));
	const char *s = all;

	/* One entry per line of the text; controls made visible and inert. */
	do {
		size_t k = strcspn(s, "\n");

		pager_push(p, xstrndup(s, k), a, 0);
		s += k;
		if (*s == '\n')
			s++;
	} while (*s);
	free(all);
}

static void pager_draw(struct ui *u, struct ui_view *v, int y, int h)
{
	struct pager_view *p = (struct pager_view *)v;
	int row;

	if (p->wrap_cols != u->cols - 2)
		rewrap(p, u->cols - 2 > 10 ? u->cols - 2 : 10);
	if (p->top > (int64_t)p->nw - h)
		p->top = (int64_t)p->nw - h;
	if (p->top < 0)
		p->top = 0;
	for (row = 0; row < h && (size_t)(p->top + row) < p->nw; row++) {
		const struct wline *w = &p->wrapped[p->top + row];
		const struct pline *l = &p->lines[w->line];
		char *piece = xstrndup(l->text + w->off, w->len);
		enum ui_attr a = p->match_line == w->line + 1 ? UI_CURSOR : l->attr;

		ui_put(u, y + row, 1 + w->indent, u->cols - 2 - w->indent, piece, a, 0);
		free(piece);
	}
}

static int64_t wrapped_row_of(struct pager_view *p, size_t line)
{
	size_t i;

	for (i = 0; i < p->nw; i++)
		if (p->wrapped[i].line == line)
			return (int64_t)i;
	return 0;
}

static void pager_search(struct ui *u, struct pager_view *p, int forward, int again)
{
	size_t from, i;

	if (!again && !ui_prompt(u, "/", p->search, sizeof p->search, NULL))
		return;
	if (!p->search[0] || p->n == 0)
		return;
	if (!again)
		p->match_line = 0;
	/* A new search starts at the top visible line; n and N step on. */
	from = p->match_line ? p->match_line - 1 : (p->nw ? p->wrapped[p->top].line : 0);
	for (i = p->match_line ? 1 : 0; i <= p->n; i++) {
		size_t k = forward ? (from + i) % p->n : (from + p->n - i) % p->n;

		if (strcasestr(p->lines[k].text, p->search)) {
			p->match_line = k + 1;
			p->top = wrapped_row_of(p, k);
			/* Went on from the other end: say so, as less and vim do. */
			if (forward ? from + i >= p->n : i > from)
				ui_say(u, 0, "%s",
				       forward ? _("search hit BOTTOM, continuing at TOP")
					       : _("search hit TOP, continuing at BOTTOM"));
			return;
		}
	}
	ui_say(u, 1, _("'%s' not found"), p->search);
}

static int pager_command(struct ui *u, struct ui_view *v, enum ui_cmd cmd, int key)
{
	struct pager_view *p = (struct pager_view *)v;
	int h = v->height > 0 ? v->height : 1;

	(void)key;
	switch (cmd) {
	case CMD_UP: p->top--; return 1;
	case CMD_DOWN: p->top++; return 1;
	case CMD_PAGE_UP: p->top -= h; return 1;
	case CMD_PAGE_DOWN: p->top += h; return 1;
	case CMD_HOME: p->top = 0; return 1;
	case CMD_END: p->top = (int64_t)p->nw; return 1;
	case CMD_SEARCH: pager_search(u, p, 1, 0); return 1;
	case CMD_SEARCH_NEXT: pager_search(u, p, 1, 1); return 1;
	case CMD_SEARCH_PREV: pager_search(u, p, 0, 1); return 1;
	default: return 0;
	}
}

static void pager_status(struct ui *u, struct ui_view *v, char *out, size_t len)
{
	struct pager_view *p = (struct pager_view *)v;
	int64_t last = p->top + v->height;

	(void)u;
	if (last > (int64_t)p->nw)
		last = (int64_t)p->nw;
	snprintf(out, len, _("lines %lld-%lld of %lld"), (long long)(p->nw ? p->top + 1 : 0), (long long)last,
		 (long long)p->nw);
}

static void pager_destroy(struct ui_view *v)
{
	struct pager_view *p = (struct pager_view *)v;
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->lines[i].text);
	free(p->lines);
	free(p->wrapped);
	free(p);
}

static const struct ui_view_ops pager_ops = {NULL, pager_draw, pager_command, pager_status, pager_destroy};

struct ui_view *ui_pager_new(struct ui *u, const char *title)
{
	struct pager_view *p = xcalloc(1, sizeof *p);
	char *t = sanitize_dup(title, u->utf8 ? 0 : SAN_ASCII);

	p->v.ops = &pager_ops;
	p->v.scope = UI_SC_LIST;
	p->ascii = !u->utf8;
	snprintf(p->title, sizeof p->title, "%s", t);
	free(t);
	p->v.title = p->title;
	return &p->v;
}

/* ---- help --------------------------------------------------------------- */

struct ui_view *ui_help_new(struct ui *u)
{
	static const enum ui_cmd order[] = {
		CMD_TAB_DASHBOARD, CMD_TAB_PRIVCHAT, CMD_TAB_STATUS, CMD_TAB_NEXT, CMD_TAB_PREV,
		CMD_UP, CMD_DOWN, CMD_PAGE_UP, CMD_PAGE_DOWN, CMD_HOME, CMD_END, CMD_OPEN, CMD_BACK,
		CMD_TAG, CMD_TAG_ALL, CMD_TAG_PATTERN, CMD_UNTAG_ALL, CMD_ACTIVATE, CMD_DEACTIVATE,
		CMD_BACKUP, CMD_DOWNLOAD, CMD_CANCEL, CMD_RETRY, CMD_SEARCH, CMD_SEARCH_NEXT,
		CMD_SEARCH_PREV, CMD_FILTER, CMD_SORT_PREV, CMD_SORT_NEXT, CMD_SORT_INVERT, CMD_PROMPT,
		CMD_HELP, CMD_REFRESH, CMD_PAUSE, CMD_REDRAW, CMD_TENANT, CMD_CONNECT, CMD_QUIT,
	};
	struct ui_view *v = ui_pager_new(u, _("Help: every command, its keys and its name for the : prompt"));
	size_t i;

	ui_pager_add(v, _("Actions apply to the tagged accounts when any are tagged, else to the row under the cursor."),
		     UI_NORMAL);
	ui_pager_add(v, _("Keys can be rebound in $XDG_CONFIG_HOME/chatvault/keys: 'bind KEY COMMAND' or 'unbind KEY'."),
		     UI_NORMAL);
	ui_pager_add(v, "", UI_NORMAL);
	for (i = 0; i < sizeof order / sizeof order[0]; i++) {
		const struct ui_command *c = ui_command_get(order[i]);
		char keys[128], line[512];
		int head;

		if (!c || c->role > u->role)
			continue;
		ui_command_keys(c->id, keys, sizeof keys);
		/* Key and command names are ASCII: bytes are columns. A long
		 * description goes on under itself. */
		head = snprintf(line, sizeof line, "%-16s %-14s ", keys[0] ? keys : "-", c->name);
		snprintf(line + head, sizeof line - (size_t)head, "%s%s", _(c->help),
			 c->dangerous ? _(" (asks first)") : "");
		ui_pager_add_hanging(v, line, UI_NORMAL, head);
	}
	return v;
}

/* ---- a chat transcript -------------------------------------------------- */

static int add_message(void *ctx, const struct app_message *m)
{
	struct ui_view *v = ctx;
	char when[64], head[1024], marks[128] = "";
	time_t t = (time_t)(m->created / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
	if (m->edited)
		snprintf(marks, sizeof marks, " [%s]", _("edited"));
	if (m->deleted)
		snprintf(marks + strlen(marks), sizeof marks - strlen(marks), " [%s]", _("deleted"));
	snprintf(head, sizeof head, "%s  %s%s", m->sender, when, marks);
	ui_pager_add(v, head, m->deleted ? UI_ERROR : m->event ? UI_DIM : UI_TITLE);
	/* A body has lines of its own; an event is one line. */
	if (m->text[0] && m->event)
		ui_pager_add(v, m->text, UI_DIM);
	else if (m->text[0])
		ui_pager_add_text(v, m->text, UI_NORMAL);
	if (m->attachments[0]) {
		char line[1024];

		snprintf(line, sizeof line, "%s %s", _("Attachments:"), m->attachments);
		ui_pager_add(v, line, UI_WARN);
	}
	if (m->reactions[0]) {
		char line[512];

		snprintf(line, sizeof line, "%s %s", _("Reactions:"), m->reactions);
		ui_pager_add(v, line, UI_DIM);
	}
	ui_pager_add(v, "", UI_NORMAL);
	return 0;
}

struct ui_view *ui_chat_pager_new(struct ui *u, int64_t account, const struct app_chat_row *chat)
{
	struct ui_view *v = ui_pager_new(u, chat->title);
	struct cv_err e = {0};
	int64_t bad = 0;

	if (app_chat_read(u->app, account, chat->chat_id, add_message, v, &bad, &e) != 0)
		ui_say(u, 1, "%s", ui_error_text(&e));
	else if (bad > 0)
		ui_say(u, 1,
		       P_("%lld stored record failed its integrity check and is left out",
			  "%lld stored records failed their integrity check and are left out", bad),
		       (long long)bad);
	if (((struct pager_view *)v)->n == 0)
		ui_pager_add(v, _("No messages are stored for this chat yet."), UI_DIM);
	return v;
}
