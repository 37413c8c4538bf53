/*
 * The console's main loop. One frame per turn: read what changed (the
 * engine's wake-up pipe, PRAGMA data_version for other processes, a timer),
 * reload the visible view, repaint into curses' virtual screen and send the
 * difference once; then sleep in poll() on the terminal, the wake-up pipe
 * and a self-pipe that signal handlers write (resize, terminate). Curses
 * itself is only touched from this thread.
 */
#include "config.h"

#include "ui/tui.h"
#include "ui/ui.h"

#include "app/app.h"
#include "app/view.h"
#include "engine/engine.h"
#include "store/catalog.h"
#include "store/store.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MIN_COLS 60
#define MIN_ROWS 12
#define POLL_MS 1000          /* look for other processes' writes this often */
#define RELOAD_MIN_MS 250     /* and reload at most four times a second */
#define KEY_CALM_MS 400       /* rows do not re-sort under a key press in flight */
#define BUSY_QUIET_MS 300     /* a wait for the store's lock this short goes unremarked */

static int sig_fd = -1;       /* write end of the self-pipe, for handlers */
static int curses_on;

static void on_signal(int sig)
{
	char c = sig == SIGWINCH ? 'w' : sig == SIGCONT ? 'w' : 'q';
	int saved = errno;

	if (sig_fd >= 0 && write(sig_fd, &c, 1) < 0) {
		/* A full pipe already holds a wake-up. */
	}
	errno = saved;
}

/* Out of memory or a broken invariant: give the terminal back first. */
static void fatal_hook(void)
{
	if (curses_on)
		endwin();
	curses_on = 0;
}

/* ---- tabs and the view stack -------------------------------------------- */

static const struct {
	const char *key;
	const char *name;
} tab_names[UI_TAB_COUNT] = {
	{"1", N_("Dashboard")},
	{"2", N_("Private Chat")},
	{"5", N_("System Status")},
};

struct ui_view *ui_top(struct ui *u)
{
	return u->depth > 0 ? u->stack[u->depth - 1] : u->roots[u->tab];
}

void ui_push(struct ui *u, struct ui_view *v)
{
	if (u->depth == UI_STACK_MAX) {
		v->ops->destroy(v);
		return;
	}
	u->stack[u->depth++] = v;
	if (v->ops->reload)
		v->ops->reload(u, v);
	u->dirty = 1;
}

void ui_pop(struct ui *u)
{
	if (u->depth == 0)
		return;
	u->depth--;
	u->stack[u->depth]->ops->destroy(u->stack[u->depth]);
	ui_reload(u);
}

static void pop_all(struct ui *u)
{
	while (u->depth > 0) {
		u->depth--;
		u->stack[u->depth]->ops->destroy(u->stack[u->depth]);
	}
}

static void tab_switch(struct ui *u, int tab)
{
	pop_all(u);
	u->tab = (tab + UI_TAB_COUNT) % UI_TAB_COUNT;
	ui_reload(u);
}

void ui_reload(struct ui *u)
{
	struct ui_view *v = ui_top(u);

	if (v->ops->reload)
		v->ops->reload(u, v);
	u->jobs_running = app_jobs_running(u->app);
	u->last_refresh = time_now_ms();
	u->dirty = 1;
}

void ui_say(struct ui *u, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->message, sizeof u->message, fmt, ap);
	va_end(ap);
	u->message_error = error;
	u->dirty = 1;
}

const char *ui_error_text(const struct cv_err *e)
{
	if (e->code == CV_ELOCKED)
		return _("the store is busy: another process is writing to it; nothing changed, try again");
	return e->msg;
}

/* ---- painting ----------------------------------------------------------- */

static void paint_tabs(struct ui *u)
{
	struct ui_view *top = ui_top(u);
	char label[320];
	int x, i, tabs_w, name_w;

	ui_clear_row(u, 0, 0);
	/* The tabs keep their place; the tenant's name gets what is left. */
	for (i = 0, tabs_w = 0; i < UI_TAB_COUNT; i++) {
		snprintf(label, sizeof label, " %s %s ", tab_names[i].key, _(tab_names[i].name));
		tabs_w += ui_width(u, label) + 1;
	}
	x = ui_put(u, 0, 0, 11, " chatvault ", UI_TITLE, 0);
	snprintf(label, sizeof label, " %s %s ", u->tenant ? u->tenant_name : _("all tenants"),
		 u->utf8 ? "\u25be" : "v");
	name_w = u->cols - x - tabs_w;
	if (name_w > 4)
		x += ui_put(u, 0, x, name_w, label, UI_NORMAL, 0) + 1;
	x = u->cols - tabs_w > x ? u->cols - tabs_w : x;
	for (i = 0; i < UI_TAB_COUNT && x < u->cols; i++) {
		snprintf(label, sizeof label, " %s %s ", tab_names[i].key, _(tab_names[i].name));
		x += ui_put(u, 0, x, u->cols - x, label, i == u->tab ? UI_HEADER : UI_NORMAL, 0) + 1;
	}
	if (u->depth > 0 && top->title) {
		/* A drilled-in view names itself on the rule below the tabs. */
		ui_rule(u, 1);
		ui_put(u, 1, 2, u->cols - 4, top->title, UI_TITLE, 0);
	} else
		ui_rule(u, 1);
}

static void paint_status(struct ui *u)
{
	struct ui_view *v = ui_top(u);
	char part[512], jobs[64], when[64], line[1024];
	int y = u->rows - 2;

	ui_rule(u, u->rows - 3);
	ui_clear_row(u, y, 0);
	if (u->message[0]) {
		ui_put(u, y, 1, u->cols - 2, u->message, u->message_error ? UI_ERROR : UI_OK, 0);
		return;
	}
	part[0] = '\0';
	if (v->ops->status)
		v->ops->status(u, v, part, sizeof part);
	snprintf(jobs, sizeof jobs, P_("%lld job running", "%lld jobs running", u->jobs_running),
		 (long long)u->jobs_running);
	if (u->paused)
		snprintf(when, sizeof when, "%s", _("updates paused (Z)"));
	else {
		char t[32] = "-";

		if (u->last_refresh > 0) {
			time_t secs = (time_t)(u->last_refresh / 1000);
			struct tm tm;

			localtime_r(&secs, &tm);
			strftime(t, sizeof t, "%H:%M:%S", &tm);
		}
		snprintf(when, sizeof when, _("last refresh %s"), t);
	}
	snprintf(line, sizeof line, "%s%s%s · %s", part, part[0] ? " · " : "", jobs, when);
	ui_put(u, y, 1, u->cols - 2, line, UI_NORMAL, 0);
}

/* Which labels of the bottom bar give way first when they do not all fit:
 * the global conveniences (they have letter keys too), then the view's own
 * actions. Help and Quit always stay. */
static int bar_rank(const struct ui_command *c)
{
	if (c->id == CMD_HELP || c->id == CMD_QUIT)
		return 2;
	return c->scope & UI_SC_GLOBAL ? 0 : 1;
}

/* The bottom bar: every command with a function key and a label that
 * applies to this view and that the role allows, in F-key order, less what
 * gives way (bar_rank, the rightmost first) so that the rest fits whole. */
static void paint_bar(struct ui *u)
{
	struct ui_view *v = ui_top(u);
	struct {
		int f, width, shown;
		const struct ui_command *c;
	} e[12];
	int y = u->rows - 1, x = 0, f, n = 0, total = -1, rank, i;
	char key[16];

	for (f = 1; f <= 12; f++) {
		const struct ui_command *c = ui_command_get(ui_key_command(KEY_F(f)));

		if (!c || !c->label || c->role > u->role || !(c->scope & (v->scope | UI_SC_GLOBAL)))
			continue;
		snprintf(key, sizeof key, "F%d", f);
		e[n].f = f;
		e[n].c = c;
		e[n].width = ui_width(u, key) + ui_width(u, _(c->label));
		e[n].shown = 1;
		total += e[n++].width + 1;
	}
	for (rank = 0; rank < 2 && total > u->cols; rank++)
		for (i = n - 1; i >= 0 && total > u->cols; i--)
			if (bar_rank(e[i].c) == rank) {
				e[i].shown = 0;
				total -= e[i].width + 1;
			}
	ui_clear_row(u, y, 0);
	for (i = 0; i < n && x < u->cols; i++) {
		if (!e[i].shown)
			continue;
		snprintf(key, sizeof key, "F%d", e[i].f);
		x += ui_put(u, y, x, u->cols - x, key, UI_NORMAL, 0);
		x += ui_put(u, y, x, u->cols - x, _(e[i].c->label), UI_HEADER, 0) + 1;
	}
}

int ui_too_small(const struct ui *u)
{
	return u->cols < MIN_COLS || u->rows < MIN_ROWS;
}

void ui_paint(struct ui *u)
{
	struct ui_view *v = ui_top(u);

	erase();
	if (ui_too_small(u)) {
		char msg[128];

		snprintf(msg, sizeof msg, _("Terminal too small: %dx%d, need %dx%d"), u->cols, u->rows, MIN_COLS,
			 MIN_ROWS);
		ui_put(u, 0, 0, u->cols, msg, UI_ERROR, 0);
		return;
	}
	paint_tabs(u);
	v->height = u->rows - 5;
	v->ops->draw(u, v, 2, u->rows - 5);
	paint_status(u);
	paint_bar(u);
	curs_set(0);
}

/* ---- input -------------------------------------------------------------- */

static void resize(struct ui *u)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	getmaxyx(stdscr, u->rows, u->cols);
	u->dirty = 1;
}

/* Drain the self-pipe: 1 if a resize arrived (quit requests set u->quit). */
static int drain_signals(struct ui *u)
{
	char buf[64];
	ssize_t n, i;
	int resized = 0;

	while ((n = read(u->sigpipe[0], buf, sizeof buf)) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == 'q')
				u->quit = 1;
			else
				resized = 1;
		}
	}
	if (resized)
		resize(u);
	return resized;
}

/* One key from curses, or ERR when none is waiting. */
static int read_key(void)
{
	wint_t wc;
	int r = get_wch(&wc);

	if (r == ERR)
		return ERR;
	if (r == KEY_CODE_YES)
		return (int)wc;
	return UI_CHAR(wc);
}

int ui_getkey(struct ui *u)
{
	for (;;) {
		struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {u->sigpipe[0], POLLIN, 0}};
		int key;

		if ((key = read_key()) != ERR && key != KEY_RESIZE)
			return key;
		if (u->quit)
			return -1;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents && drain_signals(u))
			return KEY_RESIZE;
		if (u->quit)
			return -1;
	}
}

/* Called while a statement of the console's connection waits for a write
 * lock another process holds (app_set_busy_wait). A wait as short as a
 * worker's commit passes unremarked; a longer one says so on the status
 * row and ends (the action then fails as busy) at a key, which is taken as
 * the answer, at a signal, which the loop then handles (a resize, a quit),
 * or after CATALOG_BUSY_TIMEOUT_MS. Only the status row is painted:
 * drawing a view could query the very connection that waits. */
static int busy_wait(void *ctx, int64_t waited)
{
	struct ui *u = ctx;
	struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {u->sigpipe[0], POLLIN, 0}};
	char msg[256];

	if (waited < BUSY_QUIET_MS)
		return 1;
	if (waited >= CATALOG_BUSY_TIMEOUT_MS) /* fails, as the store's own wait would */
		return 0;
	if (poll(p, 2, 0) > 0) {
		if (p[0].revents)
			read_key();
		return 0;
	}
	if (!ui_too_small(u)) {
		snprintf(msg, sizeof msg,
			 _("the store is busy: another process is writing to it; waiting %llds (any key gives up)"),
			 (long long)(waited / 1000));
		ui_clear_row(u, u->rows - 2, 0);
		ui_put(u, u->rows - 2, 1, u->cols - 2, msg, UI_WARN, 0);
		refresh();
	}
	return 1;
}

static int ask_quit(struct ui *u)
{
	int64_t n = app_jobs_running(u->app);
	char text[512];

	if (n == 0)
		return 1;
	snprintf(text, sizeof text,
		 P_("%lld job is running. Quitting stops this console's workers after the page in flight; the job "
		    "resumes when the console or 'chatvault run' starts again.",
		    "%lld jobs are running. Quitting stops this console's workers after the page in flight; the jobs "
		    "resume when the console or 'chatvault run' starts again.",
		    n),
		 (long long)n);
	return ui_confirm(u, _("Quit chatvault?"), text);
}

static void run_command(struct ui *u, enum ui_cmd cmd, int key);

static void command_prompt(struct ui *u)
{
	char name[128] = "";
	const struct ui_command *c;

	if (!ui_prompt(u, ":", name, sizeof name, ui_command_complete) || !name[0])
		return;
	c = ui_command_find(name);
	if (!c) {
		ui_say(u, 1, _("no command '%s'; press Tab to complete, ? for the list"), name);
		return;
	}
	run_command(u, c->id, 0);
}

static void run_command(struct ui *u, enum ui_cmd cmd, int key)
{
	const struct ui_command *c = ui_command_get(cmd);
	struct ui_view *v = ui_top(u);

	if (c && c->role > u->role) {
		ui_say(u, 1, _("'%s' is not allowed for your role"), c->name);
		return;
	}
	if (v->ops->command && v->ops->command(u, v, cmd, key)) {
		u->dirty = 1;
		return;
	}
	switch (cmd) {
	case CMD_TAB_DASHBOARD: tab_switch(u, UI_TAB_DASHBOARD); break;
	case CMD_TAB_PRIVCHAT: tab_switch(u, UI_TAB_PRIVCHAT); break;
	case CMD_TAB_STATUS: tab_switch(u, UI_TAB_STATUS); break;
	case CMD_TAB_NEXT: tab_switch(u, u->tab + 1); break;
	case CMD_TAB_PREV: tab_switch(u, u->tab - 1); break;
	case CMD_HELP: ui_push(u, ui_help_new(u)); break;
	case CMD_PROMPT: command_prompt(u); break;
	case CMD_REFRESH: ui_reload(u); ui_say(u, 0, "%s", _("refreshed")); break;
	case CMD_PAUSE:
		u->paused = !u->paused;
		ui_say(u, 0, "%s", u->paused ? _("live updates paused; Z resumes") : _("live updates resumed"));
		if (!u->paused)
			ui_reload(u);
		break;
	case CMD_REDRAW: clear(); u->dirty = 1; break;
	case CMD_TENANT: ui_tenant_select(u); break;
	case CMD_CONNECT:
		if (ui_connect_form(u))
			tab_switch(u, UI_TAB_PRIVCHAT);
		break;
	case CMD_BACK:
		if (u->depth > 0)
			ui_pop(u);
		else if (key == UI_CHAR('q') && ask_quit(u))
			u->quit = 1;
		break;
	case CMD_QUIT:
		if (ask_quit(u))
			u->quit = 1;
		break;
	case CMD_NONE:
		break;
	default:
		ui_say(u, 1, _("'%s' does nothing here"), c ? c->name : "?");
		break;
	}
	u->dirty = 1;
}

static void handle_key(struct ui *u, int key)
{
	if (key == KEY_RESIZE || key == KEY_MOUSE)
		return;
	u->message[0] = '\0';
	u->dirty = 1;
	run_command(u, ui_key_command(key), key);
}

/* ---- tenants ------------------------------------------------------------ */

void ui_tenant_select(struct ui *u)
{
	struct app_tenant_summary *t = NULL;
	struct cv_err e = {0};
	int n = 0, i, cur = -1;

	if (app_tenants_summary(u->app, &t, &n, &e) != 0 || n == 0) {
		ui_say(u, 1, "%s", n == 0 ? _("no tenant yet: press C to connect one") : ui_error_text(&e));
		free(t);
		return;
	}
	/* Cycle: all tenants -> the first -> ... -> the last -> all. */
	for (i = 0; i < n; i++)
		if (t[i].id == u->tenant)
			cur = i;
	if (cur + 1 < n) {
		u->tenant = t[cur + 1].id;
		snprintf(u->tenant_name, sizeof u->tenant_name, "%s", t[cur + 1].name);
	} else {
		u->tenant = 0;
		u->tenant_name[0] = '\0';
	}
	free(t);
	ui_say(u, 0, _("showing %s"), u->tenant ? u->tenant_name : _("all tenants"));
	ui_reload(u);
}

/* ---- setup and teardown ------------------------------------------------- */

static int log_fd_open(const struct app *a)
{
	char *path = xasprintf("%s/console.log", a->store->home);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	free(path);
	return fd;
}

int tui_run(struct app *a)
{
	struct sigaction sa, old_winch, old_term, old_int, old_hup, old_cont;
	struct ui u;
	char keyerr[512];
	int saved_stderr, logfd, i;
	int64_t last_check = 0, last_reload = 0, last_key = 0;
	int pending = 0;

	memset(&u, 0, sizeof u);
	u.app = a;
	u.role = UI_ROLE_ADMIN; /* the store's owner; console logins arrive with User Management */
	u.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	if (pipe2(u.sigpipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "chatvault: %s\n", strerror(errno));
		return 1;
	}
	if (app_view_open(a, NULL) != 0) {
		fprintf(stderr, "chatvault: %s\n", _("cannot prepare the account views"));
		return 1;
	}
	ui_keys_load(keyerr, sizeof keyerr);

	/* stderr would scribble over the screen: send it to console.log. */
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	logfd = log_fd_open(a);
	if (logfd >= 0) {
		dup2(logfd, STDERR_FILENO);
		close(logfd);
	}

	sig_fd = u.sigpipe[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, &old_winch);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGCONT, &sa, &old_cont);
	xalloc_set_fatal_hook(fatal_hook);

	initscr();
	curses_on = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	ui_draw_init(&u);
	getmaxyx(stdscr, u.rows, u.cols);
	app_set_busy_wait(a, busy_wait, &u);

	u.roots[UI_TAB_DASHBOARD] = ui_dashboard_new(&u);
	u.roots[UI_TAB_PRIVCHAT] = ui_privchat_new(&u);
	u.roots[UI_TAB_STATUS] = ui_status_new(&u);
	{
		struct app_tenant_summary *t = NULL;
		int n = 0;

		/* With one tenant show it by name; with none, start where the
		 * credential form is offered. */
		app_tenants_summary(a, &t, &n, NULL);
		if (n == 1) {
			u.tenant = t[0].id;
			snprintf(u.tenant_name, sizeof u.tenant_name, "%s", t[0].name);
		}
		u.tab = n == 0 ? UI_TAB_PRIVCHAT : UI_TAB_DASHBOARD;
		free(t);
	}
	app_store_changed(a);
	ui_reload(&u);
	if (keyerr[0])
		ui_say(&u, 1, "%s", keyerr);

	while (!u.quit) {
		struct pollfd p[3];
		int64_t now = time_mono_ms(), wait;
		int nfds = 2, key;

		if (!u.paused && now - last_check >= POLL_MS) {
			if (app_store_changed(a))
				pending = 1;
			last_check = now;
		}
		if (pending && !u.paused && now - last_reload >= RELOAD_MIN_MS && now - last_key >= KEY_CALM_MS) {
			ui_reload(&u);
			last_reload = now;
			pending = 0;
		}
		if (u.dirty) {
			ui_paint(&u);
			refresh();
			u.dirty = 0;
		}
		p[0] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
		p[1] = (struct pollfd){u.sigpipe[0], POLLIN, 0};
		if (a->engine) {
			p[2] = (struct pollfd){engine_wake_fd(a->engine), POLLIN, 0};
			nfds = 3;
		}
		wait = POLL_MS - (now - last_check);
		if (pending) {
			wait = RELOAD_MIN_MS - (now - last_reload);
			if (KEY_CALM_MS - (now - last_key) > wait)
				wait = KEY_CALM_MS - (now - last_key);
		}
		if (wait < 0)
			wait = 0;
		if (poll(p, (nfds_t)nfds, (int)wait) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			drain_signals(&u);
		if (nfds == 3 && p[2].revents) {
			engine_drain_wake(a->engine);
			pending = 1;
		}
		while (!u.quit && (key = read_key()) != ERR) {
			handle_key(&u, key);
			last_key = time_mono_ms();
		}
	}

	pop_all(&u);
	for (i = 0; i < UI_TAB_COUNT; i++)
		u.roots[i]->ops->destroy(u.roots[i]);
	app_set_busy_wait(a, NULL, NULL);
	endwin();
	curses_on = 0;
	sigaction(SIGWINCH, &old_winch, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGCONT, &old_cont, NULL);
	sig_fd = -1;
	close(u.sigpipe[0]);
	close(u.sigpipe[1]);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
	}
	return 0;
}
