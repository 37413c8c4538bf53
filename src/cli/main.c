/*
 * chatvault's entry point: global options, then one command from the table.
 * With no command on a terminal the console starts; without a terminal,
 * usage and exit status 2 (CLI.md).
 */
#include "config.h"

#include "cli/cli.h"
#include "graph/graph.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static const struct cli_command commands[] = {
	{"init", cmd_init, "init", N_("create a new store"), "init", 0},
	{"passwd", cmd_passwd, "passwd", N_("change the store passphrase"),
	 N_("passwd [--new-passphrase-file FILE] [--recovery | --recovery-key-file FILE]"), 0},
	{"tenant", cmd_tenant, "tenant add|update|list|test|remove",
	 N_("add, change, list, test or remove tenant connections"),
	 N_("tenant add --tenant-id ID --client-id ID (--secret-file FILE | --certificate PEM\n"
	    "                     [--private-key PEM] [--rs256]) [--name NAME] [--cloud global|usgov|usgovdod|china]\n"
	    "                     [--login-url URL] [--graph-url URL] [--test-user UPN] [--monthly-limit N]\n"
	    "                     [--price-per-message USD]\n"
	    "tenant update NAME [--secret-file FILE | --certificate PEM [--private-key PEM] [--rs256]]\n"
	    "                     [--test-user UPN] [--monthly-limit N|none] [--price-per-message USD]\n"
	    "tenant list [--json]\n"
	    "tenant test NAME\n"
	    "tenant remove NAME [--delete-backups]"),
	 1},
	{"accounts", cmd_accounts, "accounts sync|list", N_("sync or list the tenant's accounts"),
	 N_("accounts sync [--tenant NAME]\n"
	    "accounts list [--tenant NAME] [--json]"),
	 1},
	{"privchat", cmd_privchat, "privchat activate|deactivate", N_("activate or deactivate private chat backup"),
	 N_("privchat activate|deactivate (--all | UPN...) [--tenant NAME]"), 0},
	{"backup", cmd_backup, "backup", N_("back up ACTIVE accounts now"),
	 N_("backup [--tenant NAME] [--per-chat] [--all | UPN...]"), 0},
	{"run", cmd_run, "run", N_("run queued jobs until stopped (for systemd)"),
	 N_("run [--at HH:MM[,HH:MM...] | --at none]"), 0},
	{"snapshots", cmd_snapshots, "snapshots", N_("list backup runs"), N_("snapshots [--tenant NAME] [--json]"), 1},
	{"usage", cmd_usage, "usage", N_("this month's requests, messages and cost"),
	 N_("usage [--tenant NAME] [--json]"), 1},
	{"download", cmd_download, "download", N_("export an account's chats"),
	 N_("download --user UPN --format json|html|csv|eml|pdf [--attachments] [--from DATE]\n"
	    "                     [--to DATE] [--as-of WHEN] [--chat CHAT_ID] [--tenant NAME] (--out DIR | --zip FILE)"),
	 0},
	{"jobs", cmd_jobs, "jobs list|cancel", N_("list jobs, or cancel one"),
	 N_("jobs list [--kind backup|download|restore|migrate] [--json]\n"
	    "jobs cancel ID"),
	 1},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, _("Usage: chatvault [GLOBAL OPTIONS] [COMMAND [ARGS...]]\n\n"));
	fprintf(f, _("Global options:\n"
		     "  -H, --home DIR              store directory\n"
		     "  -p, --passphrase-file FILE  read the store passphrase from FILE\n"
		     "      --json                  machine-readable output for list commands\n"
		     "  -q, --quiet, -v, --verbose  less or more on stderr\n"
		     "  -h, --help, -V, --version\n\n"));
	fprintf(f, _("Commands (COMMAND --help shows a command's options):\n"));
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-36s %s\n", commands[i].label, _(commands[i].summary));
	fprintf(f, _("\nSee chatvault(1) for every option.\n"));
}

/* COMMAND --help: its forms, on stdout. */
static void command_usage(const struct cli_command *cmd)
{
	const char *s = _(cmd->synopsis);
	const char *lead = _("Usage:");

	while (*s) {
		size_t n = strcspn(s, "\n");

		/* a line that starts with spaces goes on the form above */
		printf("%-6s %s%.*s\n", lead, s[0] == ' ' ? "" : "chatvault ", (int)n, s);
		lead = "";
		s += n + (s[n] == '\n');
	}
	printf(_("\nSee chatvault(1) for every option.\n"));
}

/* Does the command's argument list ask for help? Only before "--". */
static int wants_help(const struct cli *c)
{
	int i;

	for (i = 1; i < c->argc && strcmp(c->argv[i], "--") != 0; i++)
		if (strcmp(c->argv[i], "--help") == 0 || strcmp(c->argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* CLI.md writes --json after the list commands ("accounts list [--json]")
 * as well as before them: take it out of the command's arguments. */
static void take_json(struct cli *c)
{
	int i, n = 0;

	for (i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0)
			c->json = 1;
		else
			c->argv[n++] = c->argv[i];
	}
	c->argc = n;
}

/* Secrets live in this process's memory: keep them out of core dumps and
 * away from other users' ptrace. */
static void harden_process(void)
{
	struct rlimit rl = {0, 0};

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"home", required_argument, NULL, 'H'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli c;
	size_t i;
	int ch, rc;

	harden_process();
	signal(SIGPIPE, SIG_IGN);
	i18n_init();
	memset(&c, 0, sizeof c);
	/* Stop at the first non-option: the command's own options follow. */
	while ((ch = cli_getopt(NULL, argc, argv, "H:p:qvhV", opts)) != -1 && ch != CLI_OPERAND) {
		switch (ch) {
		case 'H': free(c.home); c.home = xstrdup(optarg); break;
		case 'p': c.passphrase_file = optarg; c.passphrase_from = "--passphrase-file"; break;
		case 'j': c.json = 1; break;
		case 'q': c.verbose = -1; break;
		case 'v': c.verbose++; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("chatvault %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: free(c.home); return EXIT_USAGE;
		}
	}
	if (ch == CLI_OPERAND)
		optind--; /* the command */
	log_set_level(c.verbose < 0 ? LOG_ERROR : c.verbose == 0 ? LOG_WARN : c.verbose == 1 ? LOG_INFO : LOG_DEBUG);
	if (c.home == NULL)
		c.home = store_default_home();
	if (!c.passphrase_file) {
		const char *env = getenv("CHATVAULT_PASSPHRASE_FILE");

		if (env && *env) {
			c.passphrase_file = env;
			c.passphrase_from = "CHATVAULT_PASSPHRASE_FILE";
		}
	}
	if (optind >= argc && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))) {
		usage(stderr);
		free(c.home);
		return EXIT_USAGE;
	}
	if (vault_global_init() != 0 || graph_global_init() != 0) {
		fprintf(stderr, "%s\n", _("chatvault: libgcrypt 1.10 or newer and a working libcurl are required"));
		return EXIT_FAIL;
	}
	if (optind >= argc) {
		rc = cmd_console(&c);
		graph_global_cleanup();
		free(c.home);
		return rc;
	}
	c.argc = argc - optind;
	c.argv = argv + optind;
	rc = -1;
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(commands[i].name, c.argv[0]) == 0) {
			if (wants_help(&c)) {
				command_usage(&commands[i]);
				rc = EXIT_OK;
				break;
			}
			if (commands[i].json)
				take_json(&c);
			/* Let each command parse its own options from argv[0]. */
			optind = 0;
			rc = commands[i].run(&c);
			break;
		}
	}
	if (rc == -1)
		rc = cli_usage_error(_("unknown command '%s'"), c.argv[0]);
	graph_global_cleanup();
	free(c.home);
	return rc;
}
