/*
 * The headless front end (CLI.md). main.c parses the global options and
 * dispatches through one command table; each cmd_*.c implements a group of
 * subcommands on top of src/app.
 */
#ifndef CV_CLI_CLI_H
#define CV_CLI_CLI_H

#include <stdatomic.h>
#include <stdint.h>

struct app;
struct cv_err;

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
};

struct cli {
	char *home;
	const char *passphrase_file;
	const char *passphrase_from; /* the option or variable that named it, for messages */
	int json;
	int verbose; /* -1 quiet, 0 normal, 1+ verbose */
	int argc;    /* the command's arguments, argv[0] being the command */
	char **argv;
};

struct cli_command {
	const char *name;
	int (*run)(struct cli *c);
	const char *label;   /* the name with its subcommands, for the usage */
	const char *summary;
	const char *synopsis; /* its forms, one a line, for COMMAND --help */
	int json; /* takes --json after the command too (CLI.md writes it there) */
};

/* Read the store passphrase (file, $CHATVAULT_PASSPHRASE_FILE, or the
 * terminal). confirm asks twice on a terminal. Returns 0 and a secure
 * buffer the caller wipes with cli_secret_free(). */
int cli_read_passphrase(struct cli *c, const char *prompt, int confirm, char **out, struct cv_err *e);
void cli_secret_free(char **s);
/* Ask for a secret on the terminal (confirm: twice), not echoed. Without a
 * terminal, fails with no_tty, which says which option gives it in a file. */
int cli_ask_secret(const char *prompt, int confirm, const char *no_tty, char **out, struct cv_err *e);
/* Read a secret file (whole, or its first line) into a buffer for
 * cli_secret_free(). Errors name what (the option that gave the path), not
 * the path: a secret given to the wrong option must not be echoed. */
int cli_read_secret_file(const char *path, const char *what, int first_line, char **out, struct cv_err *e);
/* Open the store with the passphrase; prints the error and returns non-zero on failure. */
int cli_open(struct cli *c, struct app **out);
/* Print an error for people on stderr (sanitised), return EXIT_FAIL. */
int cli_fail(const struct cv_err *e);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a warning for people on stderr (sanitised): the command goes on. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A command's option loop: getopt_long with the long names written in full
 * only, and usage errors that name the option, never its value. who (a
 * command, or NULL) starts the messages; shorts are short options as for
 * getopt, or NULL. Returns an option's val; CLI_OPERAND with optarg set for
 * each argument that is not an option, in order (also those after "--");
 * -1 at the end; CLI_OPTERR once it has printed a usage error. Set optind
 * to 0 before a new scan (main does, before each command). */
struct option;
enum { CLI_OPERAND = 1, CLI_OPTERR = '?' };
int cli_getopt(const char *who, int argc, char **argv, const char *shorts, const struct option *opts);
/* Print a JSON document on stdout and free it. Every character that a
 * terminal acts on or that reorders text (C0, DEL, C1, bidi controls, line
 * and paragraph separators) is written as a \u escape: the same data, inert. */
struct cJSON;
void cli_print_json(struct cJSON *doc);
/* Tenant text made safe for the terminal, for a message; the caller frees it. */
char *cli_safe_dup(const char *s);
/* Print tenant text safely on stdout (sanitised for the terminal). */
void cli_print_safe(const char *s);
/* A table for people on stdout, its columns as wide as their widest cell
 * (display columns), so no value is cut and none pushes the rest out of
 * line. align has 'l' or 'r' for each of the ncols columns. Cells are
 * tenant text, sanitised when added (copied; NULL is empty). The first row
 * added is the header. print writes it and frees the table. */
struct cli_table;
struct cli_table *cli_table_new(int ncols, const char *align);
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table **t);
/* Option values: a count (digits only, such as --monthly-limit) and a
 * price (a finite decimal number, not negative). 0, or -1 when malformed. */
int cli_parse_count(const char *s, int64_t *out);
int cli_parse_price(const char *s, double *out);
/* Exit code for a job status word. */
int cli_exit_for_status(const char *status);
/* Is stderr a terminal (live progress line) ? */
int cli_stderr_tty(void);

int cmd_init(struct cli *c);
int cmd_passwd(struct cli *c);
int cmd_tenant(struct cli *c);
int cmd_accounts(struct cli *c);
int cmd_privchat(struct cli *c);
int cmd_backup(struct cli *c);
int cmd_run(struct cli *c);
int cmd_snapshots(struct cli *c);
int cmd_usage(struct cli *c);
int cmd_jobs(struct cli *c);
int cmd_download(struct cli *c);
/* No command on a terminal: the console (ui/). */
int cmd_console(struct cli *c);

/* Wait for a job to end, printing progress on stderr; returns its exit code. */
int cli_wait_job(struct cli *c, struct app *a, int64_t job);
/* Install SIGINT/SIGTERM handlers that set the returned flag. */
atomic_int *cli_install_stop_signals(void);

#endif
