/*
 * An account's chats: topic or participants, type, messages stored and
 * last activity. Enter opens the chat in the pager.
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

struct chats_view {
	struct ui_view v;
	char title[512];
	int64_t account;
	struct app_chat_row *chats;
	int n;
	struct ui_list list;
	int64_t cursor_chat;
};

static void chats_reload(struct ui *u, struct ui_view *v)
{
	struct chats_view *c = (struct chats_view *)v;
	struct cv_err e = {0};
	int i;

	free(c->chats);
	if (app_account_chats(u->app, c->account, &c->chats, &c->n, &e) != 0)
		ui_say(u, 1, "%s", ui_error_text(&e));
	c->list.count = c->n;
	for (i = 0; c->cursor_chat && i < c->n; i++)
		if (c->chats[i].id == c->cursor_chat)
			c->list.cursor = i;
	ui_list_clamp(&c->list, v->height > 0 ? v->height : 1);
	c->cursor_chat = c->n ? c->chats[c->list.cursor].id : 0;
}

static const char *type_word(const char *type)
{
	if (!strcmp(type, "oneOnOne"))
		return _("1:1");
	if (!strcmp(type, "group"))
		return _("group");
	if (!strcmp(type, "meeting"))
		return _("meeting");
	return type;
}

/* Column widths from the translated titles (and the widest value). */
static void chat_columns(struct ui *u, int *type_w, int *count_w, int *when_w)
{
	int w;

	*type_w = 7;
	if ((w = ui_width(u, _("Type"))) > *type_w)
		*type_w = w;
	if ((w = ui_width(u, type_word("meeting"))) > *type_w)
		*type_w = w;
	*count_w = 6;
	if ((w = ui_width(u, _("Messages"))) > *count_w)
		*count_w = w;
	*when_w = 11;
	if ((w = ui_width(u, _("Last activity"))) > *when_w)
		*when_w = w;
}

static void chats_draw(struct ui *u, struct ui_view *v, int y, int h)
{
	struct chats_view *c = (struct chats_view *)v;
	int type_w, count_w, when_w, tw, xt, xc, xw, row;
	int64_t i;

	chat_columns(u, &type_w, &count_w, &when_w);
	tw = u->cols - 2 - type_w - count_w - when_w - 3;
	xt = 2 + tw + 1;
	xc = xt + type_w + 1;
	xw = xc + count_w + 1;
	ui_put(u, y, 0, u->cols, "", UI_HEADER, 1);
	ui_put(u, y, 2, tw, _("Chat"), UI_HEADER, 1);
	ui_put(u, y, xt, type_w, _("Type"), UI_HEADER, 1);
	ui_put_right(u, y, xc, count_w, _("Messages"), UI_HEADER);
	ui_put(u, y, xw, when_w, _("Last activity"), UI_HEADER, 1);
	v->height = h - 1;
	ui_list_clamp(&c->list, v->height);
	if (c->n == 0) {
		ui_put(u, y + 2, 2, u->cols - 4, _("No chats are stored for this account yet. Back it up first (F7)."),
		       UI_DIM, 0);
		return;
	}
	for (row = 0, i = c->list.top; i < c->n && row < h - 1; i++, row++) {
		const struct app_chat_row *r = &c->chats[i];
		enum ui_attr a = i == c->list.cursor ? UI_CURSOR : UI_NORMAL;
		char count[32], when[32];

		ui_count(r->messages, count, sizeof count);
		ui_time(r->last_activity, when, sizeof when);
		ui_put(u, y + 1 + row, 0, u->cols, "", a, 1);
		ui_put(u, y + 1 + row, 2, tw, r->title, a, 1);
		ui_put(u, y + 1 + row, xt, type_w, type_word(r->type), a, 1);
		ui_put_right(u, y + 1 + row, xc, count_w, count, a);
		ui_put(u, y + 1 + row, xw, when_w, when, a, 1);
	}
}

static int chats_command(struct ui *u, struct ui_view *v, enum ui_cmd cmd, int key)
{
	struct chats_view *c = (struct chats_view *)v;

	(void)key;
	switch (cmd) {
	case CMD_UP: case CMD_DOWN: case CMD_PAGE_UP: case CMD_PAGE_DOWN: case CMD_HOME: case CMD_END:
		ui_list_move(&c->list, cmd, v->height);
		c->cursor_chat = c->n ? c->chats[c->list.cursor].id : 0;
		return 1;
	case CMD_OPEN:
		if (c->n)
			ui_push(u, ui_chat_pager_new(u, c->account, &c->chats[c->list.cursor]));
		return 1;
	default:
		return 0;
	}
}

static void chats_status(struct ui *u, struct ui_view *v, char *out, size_t len)
{
	struct chats_view *c = (struct chats_view *)v;

	(void)u;
	snprintf(out, len, P_("%d chat", "%d chats", c->n), c->n);
}

static void chats_destroy(struct ui_view *v)
{
	struct chats_view *c = (struct chats_view *)v;

	free(c->chats);
	free(c);
}

static const struct ui_view_ops chats_ops = {chats_reload, chats_draw, chats_command, chats_status, chats_destroy};

struct ui_view *ui_chats_new(struct ui *u, int64_t account, const char *who)
{
	struct chats_view *c = xcalloc(1, sizeof *c);

	(void)u;
	c->v.ops = &chats_ops;
	c->v.scope = UI_SC_LIST | UI_SC_OPEN;
	c->account = account;
	snprintf(c->title, sizeof c->title, _("Chats of %s"), who);
	c->v.title = c->title;
	return &c->v;
}
