/*
 * What every command shares: reading secrets without echo or argv, opening
 * the store, reporting errors for people, and waiting on a job with progress.
 */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "engine/engine.h"
#include "engine/queue.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

int cli_stderr_tty(void)
{
	return isatty(STDERR_FILENO);
}

static unsigned san_flags(void)
{
	return sanitize_locale_is_utf8() ? 0 : SAN_ASCII;
}

char *cli_safe_dup(const char *s)
{
	return sanitize_dup(s, san_flags());
}

/* Columns a sanitised string takes on the terminal: names come in every
 * script, so not bytes. */
static int display_width(const char *t)
{
	size_t n = mbstowcs(NULL, t, 0);
	int cols = -1;

	if (n != (size_t)-1) {
		wchar_t *w = xcalloc(n + 1, sizeof *w);

		mbstowcs(w, t, n + 1);
		cols = wcswidth(w, n);
		free(w);
	}
	return cols < 0 ? (int)strlen(t) : cols;
}

void cli_print_safe(const char *s)
{
	char *t = cli_safe_dup(s);

	fputs(t, stdout);
	free(t);
}

struct cli_table {
	int ncols;
	const char *align; /* 'l' or 'r' per column */
	struct buf cells;  /* char *: sanitised, row after row, the header first */
};

static char **table_cells(const struct cli_table *t, size_t *n)
{
	*n = t->cells.len / sizeof(char *);
	return (char **)(void *)t->cells.data;
}

struct cli_table *cli_table_new(int ncols, const char *align)
{
	struct cli_table *t = xcalloc(1, sizeof *t);

	t->ncols = ncols;
	t->align = align;
	return t;
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
	int i;

	for (i = 0; i < t->ncols; i++) {
		char *cell = cli_safe_dup(cells[i] ? cells[i] : "");

		buf_append(&t->cells, &cell, sizeof cell);
	}
}

void cli_table_print(struct cli_table **tp)
{
	struct cli_table *t = *tp;
	int *width = xcalloc((size_t)t->ncols, sizeof *width);
	size_t r, ncells, nrows;
	char **cells = table_cells(t, &ncells);
	int i;

	nrows = ncells / (size_t)t->ncols;
	for (r = 0; r < ncells; r++) {
		int w = display_width(cells[r]);

		if (w > width[r % (size_t)t->ncols])
			width[r % (size_t)t->ncols] = w;
	}
	for (r = 0; r < nrows; r++) {
		struct buf line = BUF_INIT;

		for (i = 0; i < t->ncols; i++) {
			const char *cell = cells[r * (size_t)t->ncols + (size_t)i];
			int pad = width[i] - display_width(cell);
			int last = i == t->ncols - 1;

			if (i)
				buf_append_char(&line, ' ');
			if (t->align[i] == 'r')
				buf_printf(&line, "%*s", pad, "");
			buf_append_str(&line, cell);
			if (t->align[i] != 'r' && !last)
				buf_printf(&line, "%*s", pad, "");
		}
		/* an empty last column leaves no trailing blanks */
		while (line.len && buf_str(&line)[line.len - 1] == ' ')
			buf_truncate(&line, line.len - 1);
		puts(buf_str(&line));
		buf_free(&line);
	}
	for (r = 0; r < ncells; r++)
		free(cells[r]);
	buf_free(&t->cells);
	free(width);
	free(t);
	*tp = NULL;
}

void cli_print_json(cJSON *doc)
{
	char *text = cJSON_Print(doc);
	const unsigned char *s = (const unsigned char *)text;
	struct buf out = BUF_INIT;
	size_t i = 0, n = strlen(text);

	/* Outside strings cJSON writes only ASCII, so any character met here is
	 * inside one, where a \u escape means the same. */
	while (i < n) {
		unsigned cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (len == 0) {
			buf_append_str(&out, "\\ufffd");
			i++;
		} else if (cp == 0x7f || sanitize_is_invisible(cp)) {
			buf_printf(&out, "\\u%04x", cp);
			i += len;
		} else {
			buf_append(&out, s + i, len);
			i += len;
		}
	}
	puts(buf_str(&out));
	buf_free(&out);
	cJSON_free(text);
	cJSON_Delete(doc);
}

int cli_fail(const struct cv_err *e)
{
	char *t = sanitize_dup(e->msg[0] ? e->msg : _("unknown error"), san_flags());

	fprintf(stderr, "chatvault: %s\n", t);
	free(t);
	return EXIT_FAIL;
}

void cli_warn(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	char *t;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	t = sanitize_dup(buf_str(&b), san_flags());
	fprintf(stderr, _("chatvault: warning: %s\n"), t);
	free(t);
	buf_free(&b);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("chatvault: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\n", _("Try 'chatvault --help' or see chatvault(1)."));
	return EXIT_USAGE;
}

/* The option as typed, up to any '=': never its value, which may be a
 * secret given to the wrong option. */
static int opt_name_len(const char *arg)
{
	return (int)strcspn(arg, "=");
}

int cli_getopt(const char *who, int argc, char **argv, const char *shorts, const struct option *opts)
{
	static int ended; /* "--" was met: the rest are operands */
	char optstring[32];
	const char *sep = who ? ": " : "";
	int ch, idx = -1;

	if (!who)
		who = "";
	if (optind == 0)
		ended = 0;
	if (ended) {
		if (optind >= argc)
			return -1;
		optarg = argv[optind++];
		return CLI_OPERAND;
	}
	/* "-" returns operands in order, whatever POSIXLY_CORRECT says; ":"
	 * tells a missing value from an unknown option. */
	snprintf(optstring, sizeof optstring, "-:%s", shorts ? shorts : "");
	opterr = 0;
	ch = getopt_long(argc, argv, optstring, opts, &idx);
	if (ch == -1) {
		/* only "--" ends the scan with arguments left */
		ended = 1;
		return cli_getopt(who, argc, argv, shorts, opts);
	}
	if (ch == CLI_OPERAND)
		return ch;
	if (ch == ':') {
		const char *arg = argv[optind - 1];

		cli_usage_error(_("%s%s%.*s needs a value"), who, sep, opt_name_len(arg), arg);
		return CLI_OPTERR;
	}
	if (ch == '?') {
		const char *arg = argv[optind - 1];

		if (optopt)
			cli_usage_error(_("%s%sunknown option '-%c'"), who, sep, optopt);
		else
			cli_usage_error(_("%s%sunknown option '%.*s'"), who, sep, opt_name_len(arg), arg);
		return CLI_OPTERR;
	}
	if (idx >= 0) {
		/* getopt_long takes any unambiguous prefix of a long name, so
		 * "--secret" would be "--secret-file" and its value read as a
		 * path: only the names written in full are options here. The
		 * option is the last element read, or the one before it when
		 * its value came separately. */
		const char *arg = optarg && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
		int n = opt_name_len(arg);

		if (strncmp(arg, "--", 2) != 0 || strlen(opts[idx].name) != (size_t)n - 2 ||
		    strncmp(arg + 2, opts[idx].name, (size_t)n - 2) != 0) {
			cli_usage_error(_("%s%sunknown option '%.*s' (options are written in full, such as --%s)"),
					who, sep, n, arg, opts[idx].name);
			return CLI_OPTERR;
		}
	}
	return ch;
}

int cli_parse_count(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v > 1000000000000000LL)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_price(const char *s, double *out)
{
	char *end;
	double v;

	if ((*s < '0' || *s > '9') && *s != '.')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1000000)
		return -1;
	*out = v;
	return 0;
}

int cli_exit_for_status(const char *status)
{
	if (strcmp(status, ST_COMPLETED) == 0)
		return EXIT_OK;
	/* Suspended (the monthly cap): the run finished, some items did not */
	if (strcmp(status, ST_PARTIAL) == 0 || strcmp(status, ST_SUSPENDED) == 0)
		return EXIT_PARTIAL;
	return EXIT_FAIL;
}

void cli_secret_free(char **s)
{
	if (*s) {
		xwipe(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

int cli_read_secret_file(const char *path, const char *what, int first_line, char **out, struct cv_err *e)
{
	struct buf b = BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*out = NULL;
	if (fd < 0)
		return err_set(e, errno == ENOENT ? CV_ENOTFOUND : CV_EIO, _("cannot open the file given with %s: %s"),
			       what, strerror(errno));
	rc = fs_read_fd(fd, what, 1 << 20, &b, e); /* (its messages are replaced below) */
	close(fd);
	if (rc) {
		buf_free_secret(&b);
		if (rc == CV_ETOOBIG)
			return err_set(e, rc, _("the file given with %s is larger than 1 MiB"), what);
		return err_set(e, rc, _("cannot read the file given with %s"), what);
	}
	if (first_line) {
		size_t n = strcspn(buf_str(&b), "\r\n");

		buf_truncate(&b, n);
	}
	if (b.len == 0) {
		buf_free_secret(&b);
		return err_set(e, CV_EINVAL, _("the file given with %s is empty"), what);
	}
	*out = buf_steal(&b);
	return 0;
}

static int read_tty_line(const char *prompt, char **out)
{
	struct termios old, quiet;
	struct buf b = BUF_INIT;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	char ch;

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo off, and what was typed before the question dropped, before
	 * the prompt: an answer typed once it shows is kept. */
	tcsetattr(fd, TCSAFLUSH, &quiet);
	if (write(fd, prompt, strlen(prompt)) < 0) {
		tcsetattr(fd, TCSAFLUSH, &old);
		close(fd);
		return -1;
	}
	while (read(fd, &ch, 1) == 1 && ch != '\n')
		buf_append_char(&b, ch);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* cosmetic only */
	}
	close(fd);
	*out = buf_steal(&b);
	return 0;
}

int cli_ask_secret(const char *prompt, int confirm, const char *no_tty, char **out, struct cv_err *e)
{
	char *again = NULL;

	*out = NULL;
	if ((!isatty(STDIN_FILENO) && access("/dev/tty", R_OK) != 0) || read_tty_line(prompt, out) != 0)
		return err_set(e, CV_EINVAL, "%s", no_tty);
	if (confirm) {
		if (read_tty_line(_("Repeat the passphrase: "), &again) != 0 || strcmp(again, *out) != 0) {
			cli_secret_free(out);
			cli_secret_free(&again);
			return err_set(e, CV_EINVAL, _("the passphrases do not match"));
		}
		cli_secret_free(&again);
	}
	if (**out == '\0') {
		cli_secret_free(out);
		return err_set(e, CV_EINVAL, _("the passphrase is empty"));
	}
	return 0;
}

int cli_read_passphrase(struct cli *c, const char *prompt, int confirm, char **out, struct cv_err *e)
{
	*out = NULL;
	if (c->passphrase_file)
		return cli_read_secret_file(c->passphrase_file, c->passphrase_from ? c->passphrase_from : "--passphrase-file",
					    1, out, e);
	return cli_ask_secret(prompt, confirm,
			      _("no passphrase: give --passphrase-file or set CHATVAULT_PASSPHRASE_FILE (there is no "
				"terminal to ask on)"),
			      out, e);
}

int cli_open(struct cli *c, struct app **out)
{
	struct cv_err e = {0};
	char *pass = NULL;
	int rc;

	if (cli_read_passphrase(c, _("Store passphrase: "), 0, &pass, &e) != 0)
		return cli_fail(&e);
	rc = app_open(c->home, pass, strlen(pass), 0, out, &e);
	cli_secret_free(&pass);
	if (rc)
		return cli_fail(&e);
	return 0;
}

static atomic_int stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

atomic_int *cli_install_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &stop_flag;
}

int cli_wait_job(struct cli *c, struct app *a, int64_t job)
{
	atomic_int *stop = cli_install_stop_signals();
	char last[160] = "";
	int tty = cli_stderr_tty() && c->verbose >= 0;
	int code;

	for (;;) {
		struct job_row j;
		struct cv_err e = {0};
		char line[160];

		if (job_load(a->store->db, job, &j, &e) != 0)
			return cli_fail(&e);
		snprintf(line, sizeof line, "%s  %lld/%lld", j.status, (long long)j.progress_done,
			 (long long)j.progress_total);
		if (c->verbose >= 0 && strcmp(line, last) != 0) {
			/* A live line on a terminal; one line per change in logs. */
			if (tty)
				fprintf(stderr, "\r\033[K%s", line);
			else if (strncmp(line, last, strcspn(line, " ")) != 0 || j.finished)
				fprintf(stderr, "%s\n", line);
			snprintf(last, sizeof last, "%s", line);
		}
		if (j.finished) {
			if (tty)
				fputc('\n', stderr);
			if (j.reason && c->verbose >= 0) {
				char *t = sanitize_dup(j.reason, san_flags());

				fprintf(stderr, "%s: %s\n", j.status, t);
				free(t);
			}
			code = cli_exit_for_status(j.status);
			job_row_free(&j);
			return code;
		}
		job_row_free(&j);
		if (a->engine && engine_halted(a->engine, &e)) {
			if (tty)
				fputc('\n', stderr);
			return cli_fail(&e);
		}
		if (*stop) {
			if (tty)
				fputc('\n', stderr);
			fprintf(stderr, "%s\n", _("stopping after the page in flight..."));
			fprintf(stderr,
				_("job %lld interrupted: what it stored is kept, and it resumes the next time chatvault "
				  "runs jobs ('chatvault backup', 'chatvault run' or the console)\n"),
				(long long)job);
			return EXIT_FAIL;
		}
		usleep(200 * 1000);
	}
}
