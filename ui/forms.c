/*
 * Forms: the credential form (Test & Save Connection, each step's result
 * shown as it runs) and the download dialog. A form is a list of fields;
 * Tab/Down and Shift-Tab/Up move between them, Left/Right or Space change a
 * choice, Enter on the button runs it, Esc cancels. Secrets typed here stay
 * in the editor's buffer and are wiped when the form closes.
 */
#include "config.h"

#include "ui/ui.h"

#include "app/app.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_kind { F_TEXT, F_SECRET, F_CHOICE, F_BUTTON };

#define FORM_LINE_ROWS 6             /* rows one result line may wrap to */

struct field {
	enum field_kind kind;
	const char *label;
	struct ui_edit ed;
	const char *const *choices;   /* F_CHOICE: NULL-terminated, shown translated */
	int choice;
};

struct form {
	const char *title;
	struct field *f;
	int n;
	int focus;
	int label_w;
	char lines[8][640];           /* results under the fields */
	enum ui_attr line_attr[8];
	int nlines;
};

static void form_draw(struct ui *u, struct form *fm)
{
	int i, y = 3, x = 2, w = u->cols - 4;

	ui_paint(u);
	if (ui_too_small(u)) {
		curs_set(0);
		refresh();
		return;
	}
	for (i = 2; i < u->rows - 3; i++)
		ui_clear_row(u, i, 0);
	ui_put(u, 2, x, w, fm->title, UI_TITLE, 0);
	for (i = 0; i < fm->n; i++, y++) {
		struct field *f = &fm->f[i];
		int fx = x + fm->label_w + 2, fw = w - fm->label_w - 2;

		if (y >= u->rows - 4)
			break;
		if (f->kind == F_BUTTON) {
			char b[128];

			snprintf(b, sizeof b, "[ %s ]", _(f->label));
			y++;
			ui_put(u, y, fx, fw, b, i == fm->focus ? UI_CURSOR : UI_HEADER, 0);
			continue;
		}
		ui_put(u, y, x, fm->label_w, _(f->label), i == fm->focus ? UI_TITLE : UI_NORMAL, 1);
		if (f->kind == F_CHOICE) {
			char c[128];

			snprintf(c, sizeof c, "< %s >", _(f->choices[f->choice]));
			ui_put(u, y, fx, fw, c, i == fm->focus ? UI_CURSOR : UI_NORMAL, 0);
		} else
			ui_edit_draw(u, &f->ed, y, fx, fw > 60 ? 60 : fw, 0);
	}
	y += 1;
	/* Results and errors are wrapped, never cut: an error's advice is
	 * often in its last words. A row after a break keeps the line's indent. */
	for (i = 0; i < fm->nlines && y < u->rows - 3; i++) {
		char *rows[FORM_LINE_ROWS];
		int ind = (int)strspn(fm->lines[i], " "), n, r;

		n = ui_wrap(u, fm->lines[i] + ind, w - ind, rows, FORM_LINE_ROWS);
		for (r = 0; r < n; r++) {
			if (y < u->rows - 3)
				ui_put(u, y++, x + ind, w - ind, rows[r], fm->line_attr[i], 0);
			free(rows[r]);
		}
		if (n == 0)
			y++;
	}
	/* The cursor goes last so it ends up in the focused editor. */
	if (fm->f[fm->focus].kind == F_TEXT || fm->f[fm->focus].kind == F_SECRET) {
		int fy = 3 + fm->focus, fw = w - fm->label_w - 2;

		ui_edit_draw(u, &fm->f[fm->focus].ed, fy, x + fm->label_w + 2, fw > 60 ? 60 : fw, 1);
	} else
		curs_set(0);
	refresh();
}

static void form_line(struct form *fm, enum ui_attr a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void form_line(struct form *fm, enum ui_attr a, const char *fmt, ...)
{
	va_list ap;

	if (fm->nlines == 8)
		return;
	va_start(ap, fmt);
	vsnprintf(fm->lines[fm->nlines], sizeof fm->lines[0], fmt, ap);
	va_end(ap);
	fm->line_attr[fm->nlines++] = a;
}

/* Run the form until the button is pressed (1) or it is cancelled (0). */
static int form_run(struct ui *u, struct form *fm)
{
	int i;

	for (i = 0; i < fm->n; i++) {
		int w = ui_width(u, _(fm->f[i].label));

		if (fm->f[i].kind != F_BUTTON && w > fm->label_w)
			fm->label_w = w;
	}
	for (;;) {
		struct field *f = &fm->f[fm->focus];
		int key;

		form_draw(u, fm);
		key = ui_getkey(u);
		if (key == KEY_RESIZE)
			continue;
		if (key < 0 || key == UI_CHAR(27))
			return 0;
		/* Below the minimum size the form is not on the screen: Esc
		 * still cancels (that changes nothing), every other key is
		 * dropped, so nothing is typed, chosen or run unseen. */
		if (ui_too_small(u))
			continue;
		if (key == UI_CHAR('\t') || key == KEY_DOWN) {
			fm->focus = (fm->focus + 1) % fm->n;
		} else if (key == KEY_BTAB || key == KEY_UP) {
			fm->focus = (fm->focus + fm->n - 1) % fm->n;
		} else if (key == UI_CHAR('\r') || key == UI_CHAR('\n') || key == KEY_ENTER) {
			if (f->kind == F_BUTTON)
				return 1;
			fm->focus = (fm->focus + 1) % fm->n;
		} else if (f->kind == F_CHOICE) {
			int n = 0;

			while (f->choices[n])
				n++;
			if (key == KEY_LEFT)
				f->choice = (f->choice + n - 1) % n;
			else if (key == KEY_RIGHT || key == UI_CHAR(' '))
				f->choice = (f->choice + 1) % n;
		} else if (f->kind != F_BUTTON)
			ui_edit_key(&f->ed, key);
	}
}

static void form_wipe(struct form *fm)
{
	int i;

	for (i = 0; i < fm->n; i++)
		ui_edit_wipe(&fm->f[i].ed);
}

static void field_text(const struct field *f, char *out, size_t len)
{
	ui_edit_get(&f->ed, out, len);
}

/* ---- the credential form ------------------------------------------------ */

struct step_ctx {
	struct ui *u;
	struct form *fm;
	int base;                     /* first result line of this run */
};

static void on_step(void *ctx, enum app_step step, int rc, const char *detail)
{
	struct step_ctx *s = ctx;
	struct form *fm = s->fm;
	int idx = s->base + (int)step;

	if (idx >= 8)
		return;
	while (fm->nlines <= idx)
		form_line(fm, UI_NORMAL, " ");
	if (rc == 1)
		snprintf(fm->lines[idx], sizeof fm->lines[0], "  ...   %s", app_step_name(step));
	else if (rc == 0)
		snprintf(fm->lines[idx], sizeof fm->lines[0], "  %s  %s%s%s", s->u->utf8 ? "\u2713 ok" : "[ok]",
			 app_step_name(step), detail ? ": " : "", detail ? detail : "");
	else
		snprintf(fm->lines[idx], sizeof fm->lines[0], "  %s  %s: %s", s->u->utf8 ? "\u2717" : "[failed]",
			 app_step_name(step), detail ? detail : "");
	fm->line_attr[idx] = rc == 1 ? UI_DIM : rc == 0 ? UI_OK : UI_ERROR;
	/* Show the step now: the calls run on this thread. */
	form_draw(s->u, fm);
}

int ui_connect_form(struct ui *u)
{
	enum { TENANT, CLIENT, SECRET, CERT, USER, LOGIN, GRAPH, BUTTON, NFIELDS };
	struct field f[NFIELDS];
	struct form fm;
	int saved = 0;

	memset(f, 0, sizeof f);
	memset(&fm, 0, sizeof fm);
	f[TENANT] = (struct field){F_TEXT, N_("Tenant (domain or ID)"), {{0}, 0, 0, 0}, NULL, 0};
	f[CLIENT] = (struct field){F_TEXT, N_("Application (client) ID"), {{0}, 0, 0, 0}, NULL, 0};
	f[SECRET] = (struct field){F_SECRET, N_("Client secret"), {{0}, 0, 0, 1}, NULL, 0};
	f[CERT] = (struct field){F_TEXT, N_("or certificate file (PEM)"), {{0}, 0, 0, 0}, NULL, 0};
	f[USER] = (struct field){F_TEXT, N_("Test user (UPN)"), {{0}, 0, 0, 0}, NULL, 0};
	f[LOGIN] = (struct field){F_TEXT, N_("Login URL (optional)"), {{0}, 0, 0, 0}, NULL, 0};
	f[GRAPH] = (struct field){F_TEXT, N_("Graph URL (optional)"), {{0}, 0, 0, 0}, NULL, 0};
	f[BUTTON] = (struct field){F_BUTTON, N_("Test & Save Connection"), {{0}, 0, 0, 0}, NULL, 0};
	fm.title = _("Connect a tenant (Tab moves, Enter on the button runs the test, Esc cancels)");
	fm.f = f;
	fm.n = NFIELDS;

	while (!saved && form_run(u, &fm)) {
		char tenant[256], client[256], user[256], login[512], graph[512], certpath[1024], secret[1024];
		struct app_tenant_input in;
		struct step_ctx sc = {u, &fm, 1};
		struct cv_err e = {0};
		struct buf pem;

		field_text(&f[TENANT], tenant, sizeof tenant);
		field_text(&f[CLIENT], client, sizeof client);
		field_text(&f[SECRET], secret, sizeof secret);
		field_text(&f[CERT], certpath, sizeof certpath);
		field_text(&f[USER], user, sizeof user);
		field_text(&f[LOGIN], login, sizeof login);
		field_text(&f[GRAPH], graph, sizeof graph);
		fm.nlines = 0;
		buf_init(&pem);
		if (!tenant[0] || !client[0] || (!secret[0] && !certpath[0])) {
			form_line(&fm, UI_ERROR, "%s",
				  _("Fill in the tenant, the application ID, and a client secret or a certificate file."));
		} else if (certpath[0] && fs_read_file(certpath, 1 << 20, &pem, &e) != 0) {
			form_line(&fm, UI_ERROR, "%s", ui_error_text(&e));
		} else {
			memset(&in, 0, sizeof in);
			in.tenant_id = tenant;
			in.client_id = client;
			in.secret = secret[0] && !certpath[0] ? secret : NULL;
			in.cert_pem = certpath[0] ? buf_str(&pem) : NULL;
			in.key_pem = in.cert_pem;
			in.test_user = user[0] ? user : NULL;
			in.login_url = login[0] ? login : NULL;
			in.graph_url = graph[0] ? graph : NULL;
			in.monthly_limit = -1;
			form_line(&fm, UI_TITLE, "%s", _("Test & Save Connection:"));
			if (app_tenant_add(u->app, &in, on_step, &sc, &e) == 0) {
				form_line(&fm, UI_OK, "%s", _("Status: Active. The tenant is saved; press any key."));
				saved = 1;
			} else
				form_line(&fm, UI_ERROR, "%s", ui_error_text(&e));
		}
		xwipe(secret, sizeof secret);
		buf_free_secret(&pem);
		if (saved) {
			form_draw(u, &fm);
			ui_getkey(u);
		}
	}
	form_wipe(&fm);
	if (saved) {
		struct cv_err e = {0};
		struct app_sync_result r;
		int64_t id;

		/* A new tenant's accounts are listed right away. */
		if (app_tenant_resolve(u->app, NULL, &id, &e) == 0 && app_accounts_sync(u->app, id, &r, &e) == 0)
			ui_say(u, 0, _("tenant saved; %d accounts synced"), r.total);
		else
			ui_say(u, 0, "%s", _("tenant saved"));
	}
	u->dirty = 1;
	return saved;
}

/* ---- the download dialog ------------------------------------------------ */

void ui_download_dialog(struct ui *u, int64_t account, const char *who)
{
	const char *formats_list[8] = {NULL};
	char formats[128], *save = NULL, *tok, title[512];
	static const char *contents[] = {N_("Text only"), N_("With attachments"), NULL};
	enum { FORMAT, CONTENT, FROM, TO, ASOF, BUTTON, NFIELDS };
	struct field f[NFIELDS];
	struct form fm;
	int n = 0, done = 0;

	/* Only the formats this build can write. */
	snprintf(formats, sizeof formats, "%s", app_export_formats());
	for (tok = strtok_r(formats, ",", &save); tok && n < 7; tok = strtok_r(NULL, ",", &save))
		formats_list[n++] = tok;
	memset(f, 0, sizeof f);
	memset(&fm, 0, sizeof fm);
	f[FORMAT] = (struct field){F_CHOICE, N_("Format"), {{0}, 0, 0, 0}, formats_list, 0};
	f[CONTENT] = (struct field){F_CHOICE, N_("Content"), {{0}, 0, 0, 0}, contents, 0};
	f[FROM] = (struct field){F_TEXT, N_("From (YYYY-MM-DD)"), {{0}, 0, 0, 0}, NULL, 0};
	f[TO] = (struct field){F_TEXT, N_("To (YYYY-MM-DD)"), {{0}, 0, 0, 0}, NULL, 0};
	f[ASOF] = (struct field){F_TEXT, N_("As of snapshot"), {{0}, 0, 0, 0}, NULL, 0};
	f[BUTTON] = (struct field){F_BUTTON, N_("Generate Download"), {{0}, 0, 0, 0}, NULL, 0};
	snprintf(title, sizeof title, _("Download the chats of %s (empty dates: everything; empty snapshot: latest)"), who);
	fm.title = title;
	fm.f = f;
	fm.n = NFIELDS;
	while (!done && form_run(u, &fm)) {
		struct app_download_input in;
		struct cv_err e = {0};
		char from[64], to[64], asof[64];
		int64_t job;

		memset(&in, 0, sizeof in);
		in.account = account;
		in.format = formats_list[f[FORMAT].choice];
		in.attachments = f[CONTENT].choice == 1;
		field_text(&f[FROM], from, sizeof from);
		field_text(&f[TO], to, sizeof to);
		field_text(&f[ASOF], asof, sizeof asof);
		fm.nlines = 0;
		if (from[0] && time_parse_date(from, &in.from_ms) != 0) {
			form_line(&fm, UI_ERROR, _("'%s' is not a date YYYY-MM-DD"), from);
			continue;
		}
		if (to[0] && time_parse_date(to, &in.to_ms) != 0) {
			form_line(&fm, UI_ERROR, _("'%s' is not a date YYYY-MM-DD"), to);
			continue;
		}
		if (in.to_ms)
			in.to_ms += 86400000LL - 1; /* the whole last day */
		if (asof[0] && app_snapshot_resolve(u->app, account, asof, &in.as_of, &e) != 0) {
			form_line(&fm, UI_ERROR, "%s", ui_error_text(&e));
			continue;
		}
		if (app_download_start(u->app, &in, &job, &e) != 0) {
			form_line(&fm, UI_ERROR, "%s", ui_error_text(&e));
			continue;
		}
		ui_say(u, 0, _("download job %lld queued; System Status (5) shows it until the link appears"), (long long)job);
		done = 1;
	}
	form_wipe(&fm);
	u->dirty = 1;
}
