/*
 * Cursor and scroll position of a table or pager. The rows themselves stay
 * in the store (or the pager's lines); this is only where the window is.
 */
#include "config.h"

#include "ui/ui.h"

void ui_list_clamp(struct ui_list *l, int height)
{
	if (height < 1)
		height = 1;
	if (l->cursor >= l->count)
		l->cursor = l->count - 1;
	if (l->cursor < 0)
		l->cursor = 0;
	if (l->top > l->cursor)
		l->top = l->cursor;
	if (l->cursor >= l->top + height)
		l->top = l->cursor - height + 1;
	if (l->top > l->count - height)
		l->top = l->count - height;
	if (l->top < 0)
		l->top = 0;
}

int ui_list_move(struct ui_list *l, enum ui_cmd cmd, int height)
{
	switch (cmd) {
	case CMD_UP: l->cursor--; break;
	case CMD_DOWN: l->cursor++; break;
	case CMD_PAGE_UP: l->cursor -= height; l->top -= height; break;
	case CMD_PAGE_DOWN: l->cursor += height; l->top += height; break;
	case CMD_HOME: l->cursor = 0; break;
	case CMD_END: l->cursor = l->count - 1; break;
	default: return 0;
	}
	ui_list_clamp(l, height);
	return 1;
}
