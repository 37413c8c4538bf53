/*
 * The console's shared vocabulary: the screen state, views, the command
 * table and the drawing primitives. Only files in ui/ include this, and only
 * ui/ calls curses. A view is one screenful (a tab, an account's chats, a
 * pager); tabs keep their root view, drilled-in views stack on top.
 */
#ifndef CV_UI_UI_H
#define CV_UI_UI_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "app/view.h"

struct app;
struct cv_err;

/* ---- commands (command.c) ----------------------------------------------- */

enum ui_role { UI_ROLE_VIEWER, UI_ROLE_OPERATOR, UI_ROLE_ADMIN };

/* Where a command makes sense; a view declares the scopes it serves. */
enum {
	UI_SC_GLOBAL = 1 << 0,
	UI_SC_LIST = 1 << 1,      /* any table or pager: movement, search */
	UI_SC_ACCOUNTS = 1 << 2,  /* account tables: tag, filter, sort, activate */
	UI_SC_JOBS = 1 << 3,      /* job tables: cancel, retry */
	UI_SC_OPEN = 1 << 4,      /* rows that open */
	UI_SC_ACT = 1 << 5,       /* account actions: tag, activate, back up, download */
};

enum ui_cmd {
	CMD_NONE,
	CMD_UP, CMD_DOWN, CMD_PAGE_UP, CMD_PAGE_DOWN, CMD_HOME, CMD_END,
	CMD_OPEN, CMD_BACK,
	CMD_TAG, CMD_TAG_ALL, CMD_TAG_PATTERN, CMD_UNTAG_ALL,
	CMD_ACTIVATE, CMD_DEACTIVATE, CMD_BACKUP, CMD_DOWNLOAD,
	CMD_CANCEL, CMD_RETRY,
	CMD_SEARCH, CMD_SEARCH_NEXT, CMD_SEARCH_PREV, CMD_FILTER,
	CMD_SORT_PREV, CMD_SORT_NEXT, CMD_SORT_INVERT,
	CMD_PROMPT, CMD_HELP, CMD_REFRESH, CMD_PAUSE, CMD_REDRAW,
	CMD_TENANT, CMD_CONNECT,
	CMD_TAB_DASHBOARD, CMD_TAB_PRIVCHAT, CMD_TAB_STATUS, CMD_TAB_NEXT, CMD_TAB_PREV,
	CMD_QUIT,
	CMD_COUNT
};

struct ui_command {
	enum ui_cmd id;
	const char *name;      /* for the : prompt and the keys file */
	const char *keys;      /* default keys, space-separated key names */
	const char *label;     /* short label for the function-key bar, or NULL */
	const char *help;
	int dangerous;         /* changes state: confirmed, hidden for viewers */
	enum ui_role role;     /* least role allowed */
	unsigned scope;
};

const struct ui_command *ui_command_get(enum ui_cmd id);
const struct ui_command *ui_command_find(const char *name);
/* Load the default bindings, then $XDG_CONFIG_HOME/chatvault/keys. Problems
 * in the file are reported in err (one line) and the rest still applies. */
void ui_keys_load(char *err, size_t errlen);
enum ui_cmd ui_key_command(int key);
/* The first key bound to cmd, as a name ("F7", "a", "Space"), or NULL. */
const char *ui_command_key(enum ui_cmd cmd, char *out, size_t len);
/* All keys bound to cmd, comma-separated. */
void ui_command_keys(enum ui_cmd cmd, char *out, size_t len);
/* Complete a command name prefix: the unique match, or the longest common
 * prefix of several. Returns the number of matches. */
int ui_command_complete(const char *prefix, char *out, size_t len);

/* Special key codes for wide characters: curses function keys are passed as
 * they are, characters as UI_CHAR(c). */
#define UI_CHAR_BASE 0x1000000
#define UI_CHAR(c) (UI_CHAR_BASE + (int)(c))

/* ---- views -------------------------------------------------------------- */

struct ui;
struct ui_view;

struct ui_view_ops {
	/* Reload data from the store (live updates, F5). */
	void (*reload)(struct ui *u, struct ui_view *v);
	/* Draw into rows [y, y+h) of the screen. */
	void (*draw)(struct ui *u, struct ui_view *v, int y, int h);
	/* Handle a command; return 1 if handled. key is the raw key. */
	int (*command)(struct ui *u, struct ui_view *v, enum ui_cmd cmd, int key);
	/* Text for the status line's middle part (filter, counts), or NULL. */
	void (*status)(struct ui *u, struct ui_view *v, char *out, size_t len);
	void (*destroy)(struct ui_view *v);
};

struct ui_view {
	const struct ui_view_ops *ops;
	const char *title;     /* shown after the tab name for drilled-in views */
	unsigned scope;
	int height;            /* rows of the last draw */
};

enum { UI_TAB_DASHBOARD, UI_TAB_PRIVCHAT, UI_TAB_STATUS, UI_TAB_COUNT };

#define UI_STACK_MAX 6

struct ui {
	struct app *app;
	int rows, cols;
	int utf8;              /* locale is UTF-8: Unicode glyphs allowed */
	int color;             /* colours in use (terminal has them, NO_COLOR unset) */
	enum ui_role role;
	int tab;
	struct ui_view *roots[UI_TAB_COUNT];
	struct ui_view *stack[UI_STACK_MAX];   /* drilled-in views of the current tab */
	int depth;
	int64_t tenant;        /* 0: every tenant */
	char tenant_name[256];
	int paused;            /* Z: live updates paused */
	int dirty;             /* the next frame repaints the screen */
	int quit;
	char message[512];     /* one-line feedback, shown in the status line */
	int message_error;
	int64_t last_refresh;  /* ms */
	int64_t jobs_running;
	int sigpipe[2];        /* SIGWINCH/SIGTERM self-pipe */
};

/* The view currently on top. */
struct ui_view *ui_top(struct ui *u);
void ui_push(struct ui *u, struct ui_view *v);
void ui_pop(struct ui *u);
/* The words for a failed action's error: a store another process keeps
 * locked is said plainly, anything else as the error says it. */
const char *ui_error_text(const struct cv_err *e);
/* Report feedback in the status line (printf-style). */
void ui_say(struct ui *u, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Repaint everything now (used by dialogs for the screen behind them). */
void ui_paint(struct ui *u);
/* Is the terminal below the minimum size? Dialogs then draw nothing over
 * the one line that says so. */
int ui_too_small(const struct ui *u);
/* Wait for one key, handling resizes; returns the key (UI_CHAR(c) for a
 * character) or -1 on a quit signal. */
int ui_getkey(struct ui *u);
/* Reload the current view's data. */
void ui_reload(struct ui *u);

/* ---- drawing (draw.c) --------------------------------------------------- */

enum ui_attr { UI_NORMAL, UI_HEADER, UI_CURSOR, UI_TAGGED, UI_ERROR, UI_OK, UI_DIM, UI_TITLE, UI_WARN };

void ui_draw_init(struct ui *u);
int ui_attr(enum ui_attr a);
/* Print untrusted text sanitised at (y, x) in at most width columns,
 * ending in an ellipsis when cut; pad with spaces to width when pad.
 * Returns the columns used. */
int ui_put(struct ui *u, int y, int x, int width, const char *s, enum ui_attr a, int pad);
/* Same, right-aligned in width. */
void ui_put_right(struct ui *u, int y, int x, int width, const char *s, enum ui_attr a);
/* Display columns of s once sanitised. */
int ui_width(struct ui *u, const char *s);
/* s as ui_put shows it before cutting: sanitised to one line (a line feed
 * becomes "^J"), ASCII stand-ins in a non-UTF-8 locale. The caller owns it. */
char *ui_shown(struct ui *u, const char *s);
/* Bytes of the longest prefix of shown text s[0..len) that fits in cols
 * columns, breaking after a space when one is near the end; never 0 for a
 * non-empty s. */
size_t ui_fit(const char *s, size_t len, int cols);
/* Break text into at most max rows of width columns, at spaces where it can.
 * The text is one paragraph: only the width breaks it, so a line feed from a
 * tenant's name stays on its row as "^J". Returns the row count; the caller
 * owns rows[0..n) and frees each. */
int ui_wrap(struct ui *u, const char *text, int width, char **rows, int max);
/* Blank a row from x to the right edge. */
void ui_clear_row(struct ui *u, int y, int x);
/* A horizontal rule. */
void ui_rule(struct ui *u, int y);
/* A progress bar of width columns for done/total (total 0: unknown). */
void ui_progress(struct ui *u, int y, int x, int width, int64_t done, int64_t total);
/* "14:02" today, "11-19 14:02" this year, else "2025-11-19"; "-" for 0. */
void ui_time(int64_t ms, char *out, size_t len);
/* 1234567 -> "1.2M" style for narrow columns. */
void ui_count(int64_t n, char *out, size_t len);

/* ---- scrolling (list.c) ------------------------------------------------- */

struct ui_list {
	int64_t count;
	int64_t cursor;
	int64_t top;
};
/* Apply a movement command for a window of height rows; 1 if it moved. */
int ui_list_move(struct ui_list *l, enum ui_cmd cmd, int height);
/* Keep cursor and top within count and the window. */
void ui_list_clamp(struct ui_list *l, int height);

/* ---- dialogs (dialog.c) ------------------------------------------------- */

/* Ask a yes/no question; the default is No. Returns 1 for yes. */
int ui_confirm(struct ui *u, const char *title, const char *text);
/* Show a message until a key is pressed. */
void ui_alert(struct ui *u, const char *title, const char *text);
/* Edit a line on the status row after label. complete may be NULL.
 * Returns 1 with out filled (UTF-8), 0 when cancelled. While the terminal
 * is below the minimum size (the prompt unseen) only Esc and C-g count. */
typedef int (*ui_complete_fn)(const char *prefix, char *out, size_t len);
int ui_prompt(struct ui *u, const char *label, char *out, size_t len, ui_complete_fn complete);

/* ---- line editor (edit.c) ----------------------------------------------- */

struct ui_edit {
	wchar_t text[512];
	size_t len, pos;
	int mask;              /* show '*' for each character (secrets) */
};
void ui_edit_set(struct ui_edit *ed, const char *utf8);
/* Feed a key; 1 if it was an editing key. */
int ui_edit_key(struct ui_edit *ed, int key);
void ui_edit_draw(struct ui *u, const struct ui_edit *ed, int y, int x, int width, int focus);
/* The text as UTF-8 into out. */
void ui_edit_get(const struct ui_edit *ed, char *out, size_t len);
void ui_edit_wipe(struct ui_edit *ed);

/* ---- the views ---------------------------------------------------------- */

struct ui_view *ui_dashboard_new(struct ui *u);
struct ui_view *ui_privchat_new(struct ui *u);
struct ui_view *ui_status_new(struct ui *u);
struct ui_view *ui_chats_new(struct ui *u, int64_t account, const char *who);
/* A pager over lines of text (the help screen, a chat transcript). */
struct ui_view *ui_pager_new(struct ui *u, const char *title);
/* Add one line; a line feed in it stays on it, shown as "^J". */
void ui_pager_add(struct ui_view *v, const char *line, enum ui_attr a);
/* The same, its rows after the first indented by hang columns. */
void ui_pager_add_hanging(struct ui_view *v, const char *line, enum ui_attr a, int hang);
/* Add text with lines of its own (a message body): one entry per line. */
void ui_pager_add_text(struct ui_view *v, const char *text, enum ui_attr a);
/* Open chat (row id) of account in a pager. */
struct ui_view *ui_chat_pager_new(struct ui *u, int64_t account, const struct app_chat_row *chat);
struct ui_view *ui_help_new(struct ui *u);
/* The forms (forms.c) take no key but Esc while the terminal is below the
 * minimum size. The credential form (Test & Save Connection); returns 1 if
 * a tenant was saved. */
int ui_connect_form(struct ui *u);
/* The download dialog for an account. */
void ui_download_dialog(struct ui *u, int64_t account, const char *who);
/* Switch tenants (F2). */
void ui_tenant_select(struct ui *u);

#endif
