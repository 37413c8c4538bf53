/*
 * The one command table. Key dispatch, the ':' prompt and its completion,
 * the help screen, the function-key bar and the role check all read it, so
 * rebinding a key in $XDG_CONFIG_HOME/chatvault/keys updates every place
 * that shows it. The keys file has lines "bind KEY COMMAND" and
 * "unbind KEY"; '#' starts a comment.
 */
#include "config.h"

#include "ui/ui.h"

#include "util/i18n.h"
#include "util/xalloc.h"

#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SC_G UI_SC_GLOBAL
#define SC_L UI_SC_LIST
#define SC_A UI_SC_ACCOUNTS
#define SC_J UI_SC_JOBS
#define SC_O UI_SC_OPEN
#define SC_X UI_SC_ACT

static const struct ui_command commands[] = {
	{CMD_UP, "up", "Up k", NULL, N_("move up"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_DOWN, "down", "Down j", NULL, N_("move down"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_PAGE_UP, "page-up", "PgUp C-b", NULL, N_("one page up"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_PAGE_DOWN, "page-down", "PgDn C-f", NULL, N_("one page down"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_HOME, "first", "Home g", NULL, N_("go to the first row"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_END, "last", "End G", NULL, N_("go to the last row"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_OPEN, "open", "Enter", NULL, N_("open the row: an account's chats, a chat's messages"), 0,
	 UI_ROLE_VIEWER, SC_O},
	{CMD_BACK, "back", "Esc q", NULL, N_("back out of a view (q on a tab quits)"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_TAG, "tag", "Space", NULL, N_("tag or untag the row and move down"), 0, UI_ROLE_OPERATOR, SC_X},
	{CMD_TAG_ALL, "tag-all", "*", NULL, N_("tag every row the filter shows"), 0, UI_ROLE_OPERATOR, SC_X},
	{CMD_TAG_PATTERN, "tag-pattern", "T", NULL, N_("tag accounts whose UPN or name matches a pattern"), 0,
	 UI_ROLE_OPERATOR, SC_X},
	{CMD_UNTAG_ALL, "untag-all", "U", NULL, N_("untag every account"), 0, UI_ROLE_OPERATOR, SC_X},
	{CMD_ACTIVATE, "activate", "a F9", N_("Activate"),
	 N_("activate private chat backup for the tagged accounts (or the cursor row)"), 1, UI_ROLE_OPERATOR,
	 SC_X},
	{CMD_DEACTIVATE, "deactivate", "d", NULL,
	 N_("deactivate private chat backup for the tagged accounts (or the cursor row)"), 1, UI_ROLE_OPERATOR,
	 SC_X},
	{CMD_BACKUP, "backup", "b F7", N_("Backup"), N_("back up the tagged ACTIVE accounts (or the cursor row) now"),
	 1, UI_ROLE_OPERATOR, SC_X},
	{CMD_DOWNLOAD, "download", "D F8", N_("Download"),
	 N_("download the cursor row's chats: format, attachments, dates, snapshot"), 0, UI_ROLE_OPERATOR, SC_X},
	{CMD_CANCEL, "cancel", "c", NULL, N_("cancel the job under the cursor"), 1, UI_ROLE_OPERATOR, SC_J},
	{CMD_RETRY, "retry", "r", NULL, N_("run the job under the cursor again"), 1, UI_ROLE_OPERATOR, SC_J},
	{CMD_SEARCH, "search", "/", NULL, N_("search for text"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_SEARCH_NEXT, "search-next", "n", NULL, N_("next search match"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_SEARCH_PREV, "search-prev", "N", NULL, N_("previous search match"), 0, UI_ROLE_VIEWER, SC_L},
	{CMD_FILTER, "filter", "f \\", NULL, N_("filter rows: text, or field=value (upn, name, dept, status, privchat)"),
	 0, UI_ROLE_VIEWER, SC_A},
	{CMD_SORT_PREV, "sort-prev", "<", NULL, N_("sort by the previous column"), 0, UI_ROLE_VIEWER, SC_A},
	{CMD_SORT_NEXT, "sort-next", ">", NULL, N_("sort by the next column"), 0, UI_ROLE_VIEWER, SC_A},
	{CMD_SORT_INVERT, "sort-invert", "I", NULL, N_("invert the sort order"), 0, UI_ROLE_VIEWER, SC_A},
	{CMD_PROMPT, "prompt", ":", NULL, N_("run a command by name"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_HELP, "help", "F1 ?", N_("Help"), N_("this help: every command and its keys"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_REFRESH, "refresh", "F5 R", N_("Refresh"), N_("reload the data now"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_PAUSE, "pause", "Z", NULL, N_("pause or resume live updates"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_REDRAW, "redraw", "C-l", NULL, N_("redraw the screen"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_TENANT, "tenant", "F2 t", N_("Tenant"), N_("show one tenant or all of them"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_CONNECT, "connect", "C", NULL, N_("connect a tenant: credentials, then Test & Save Connection"), 1,
	 UI_ROLE_ADMIN, SC_G},
	{CMD_TAB_DASHBOARD, "dashboard", "1", NULL, N_("the Dashboard tab"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_TAB_PRIVCHAT, "privchat", "2", NULL, N_("the Private Chat tab"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_TAB_STATUS, "status", "5", NULL, N_("the System Status tab"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_TAB_NEXT, "next-tab", "Tab", NULL, N_("the next tab"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_TAB_PREV, "prev-tab", "BTab", NULL, N_("the previous tab"), 0, UI_ROLE_VIEWER, SC_G},
	{CMD_QUIT, "quit", "F10", N_("Quit"), N_("leave the console (asks when jobs are running)"), 0, UI_ROLE_VIEWER,
	 SC_G},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const struct ui_command *ui_command_get(enum ui_cmd id)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (commands[i].id == id)
			return &commands[i];
	return NULL;
}

const struct ui_command *ui_command_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int ui_command_complete(const char *prefix, char *out, size_t len)
{
	size_t i, plen = strlen(prefix), common = 0;
	const char *first = NULL;
	int n = 0;

	for (i = 0; i < N_COMMANDS; i++) {
		const char *name = commands[i].name;

		if (strncmp(name, prefix, plen) != 0)
			continue;
		if (n++ == 0) {
			first = name;
			common = strlen(name);
		} else {
			size_t k = 0;

			while (k < common && first[k] == name[k])
				k++;
			common = k;
		}
	}
	if (n > 0)
		snprintf(out, len, "%.*s", (int)common, first);
	return n;
}

/* ---- key names ---------------------------------------------------------- */

static const struct {
	const char *name;
	int key;
} key_names[] = {
	{"Up", KEY_UP}, {"Down", KEY_DOWN}, {"Left", KEY_LEFT}, {"Right", KEY_RIGHT},
	{"PgUp", KEY_PPAGE}, {"PgDn", KEY_NPAGE}, {"Home", KEY_HOME}, {"End", KEY_END},
	{"Enter", UI_CHAR('\r')}, {"Esc", UI_CHAR(27)}, {"Tab", UI_CHAR('\t')}, {"BTab", KEY_BTAB},
	{"Space", UI_CHAR(' ')}, {"Backspace", KEY_BACKSPACE}, {"Delete", KEY_DC}, {"Insert", KEY_IC},
};

/* Parse a key name: "F1".."F12", "C-x", a name above, or one character. */
static int key_parse(const char *s)
{
	size_t i;
	wchar_t wc;
	int n;

	for (i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
		if (strcasecmp(s, key_names[i].name) == 0)
			return key_names[i].key;
	if ((s[0] == 'F' || s[0] == 'f') && s[1] >= '1' && s[1] <= '9') {
		n = atoi(s + 1);
		if (n >= 1 && n <= 12)
			return KEY_F(n);
	}
	if (s[0] == 'C' && s[1] == '-' && s[2] && !s[3]) {
		char c = s[2] | 0x20;

		if (c >= 'a' && c <= 'z')
			return UI_CHAR(c - 'a' + 1);
	}
	n = (int)mbtowc(&wc, s, strlen(s));
	if (n > 0 && s[n] == '\0' && wc > ' ')
		return UI_CHAR(wc);
	return -1;
}

static void keyname_of(int key, char *out, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof key_names / sizeof key_names[0]; i++) {
		if (key_names[i].key == key) {
			snprintf(out, len, "%s", key_names[i].name);
			return;
		}
	}
	if (key >= KEY_F(1) && key <= KEY_F(12))
		snprintf(out, len, "F%d", key - KEY_F(0));
	else if (key > UI_CHAR_BASE && key < UI_CHAR(27))
		snprintf(out, len, "C-%c", 'a' + key - UI_CHAR(1));
	else if (key >= UI_CHAR_BASE) {
		wchar_t wc = (wchar_t)(key - UI_CHAR_BASE);
		char mb[MB_LEN_MAX + 1];
		int n = wctomb(mb, wc);

		mb[n > 0 ? n : 0] = '\0';
		snprintf(out, len, "%s", n > 0 ? mb : "?");
	} else
		snprintf(out, len, "#%d", key);
}

/* ---- bindings ----------------------------------------------------------- */

struct binding {
	int key;
	enum ui_cmd cmd;
};

static struct binding *bindings;
static size_t n_bindings, cap_bindings;

static void bind_key(int key, enum ui_cmd cmd)
{
	size_t i;

	for (i = 0; i < n_bindings; i++) {
		if (bindings[i].key == key) {
			bindings[i].cmd = cmd;
			return;
		}
	}
	if (n_bindings == cap_bindings) {
		cap_bindings = cap_bindings ? cap_bindings * 2 : 64;
		bindings = xreallocarray(bindings, cap_bindings, sizeof *bindings);
	}
	bindings[n_bindings].key = key;
	bindings[n_bindings++].cmd = cmd;
}

static void bind_defaults(void)
{
	size_t i;

	n_bindings = 0;
	for (i = 0; i < N_COMMANDS; i++) {
		char keys[64], *save = NULL, *k;

		snprintf(keys, sizeof keys, "%s", commands[i].keys);
		for (k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
			int key = key_parse(k);

			if (key >= 0)
				bind_key(key, commands[i].id);
		}
	}
	/* Terminals send Enter as \n or KEY_ENTER too. */
	bind_key(UI_CHAR('\n'), CMD_OPEN);
	bind_key(KEY_ENTER, CMD_OPEN);
}

static void load_file(FILE *f, const char *path, char *err, size_t errlen)
{
	char line[256];
	int lineno = 0;

	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *verb, *key, *name;
		const struct ui_command *c = NULL;
		int k;

		lineno++;
		line[strcspn(line, "\r\n#")] = '\0';
		verb = strtok_r(line, " \t", &save);
		if (!verb)
			continue;
		key = strtok_r(NULL, " \t", &save);
		name = strtok_r(NULL, " \t", &save);
		k = key ? key_parse(key) : -1;
		if (strcmp(verb, "unbind") == 0 && k >= 0) {
			bind_key(k, CMD_NONE);
			continue;
		}
		if (strcmp(verb, "bind") == 0 && k >= 0 && name && (c = ui_command_find(name)) != NULL) {
			bind_key(k, c->id);
			continue;
		}
		if (err[0] == '\0')
			snprintf(err, errlen, _("%s line %d: expected 'bind KEY COMMAND' or 'unbind KEY'"), path,
				 lineno);
	}
}

void ui_keys_load(char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char path[4096];
	FILE *f;

	err[0] = '\0';
	bind_defaults();
	if (xdg && *xdg)
		snprintf(path, sizeof path, "%s/chatvault/keys", xdg);
	else if (home && *home)
		snprintf(path, sizeof path, "%s/.config/chatvault/keys", home);
	else
		return;
	f = fopen(path, "r");
	if (!f) {
		if (errno != ENOENT)
			snprintf(err, errlen, _("cannot read %s: %s"), path, strerror(errno));
		return;
	}
	load_file(f, path, err, errlen);
	fclose(f);
}

enum ui_cmd ui_key_command(int key)
{
	size_t i;

	for (i = 0; i < n_bindings; i++)
		if (bindings[i].key == key)
			return bindings[i].cmd;
	return CMD_NONE;
}

const char *ui_command_key(enum ui_cmd cmd, char *out, size_t len)
{
	size_t i;
	int best = -1;

	/* Prefer a function key for the bar, else the first binding. */
	for (i = 0; i < n_bindings; i++) {
		if (bindings[i].cmd != cmd)
			continue;
		if (best < 0 || (bindings[i].key >= KEY_F(1) && bindings[i].key <= KEY_F(12) &&
				 !(best >= KEY_F(1) && best <= KEY_F(12))))
			best = bindings[i].key;
	}
	if (best < 0)
		return NULL;
	keyname_of(best, out, len);
	return out;
}

void ui_command_keys(enum ui_cmd cmd, char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < n_bindings && used + 1 < len; i++) {
		char name[32];

		if (bindings[i].cmd != cmd || bindings[i].key == UI_CHAR('\n') || bindings[i].key == KEY_ENTER)
			continue;
		keyname_of(bindings[i].key, name, sizeof name);
		used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", name);
		if (used >= len)
			used = len - 1;
	}
}
