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
	{"init", cmd_init, N_("create a new store"), 0},
	{"passwd", cmd_passwd, N_("change the store passphrase"), 0},
	{"tenant", cmd_tenant, N_("add, list, test or remove tenant connections"), 1},
	{"accounts", cmd_accounts, N_("sync or list the tenant's accounts"), 1},
	{"privchat", cmd_privchat, N_("activate or deactivate private chat backup"), 0},
	{"backup", cmd_backup, N_("back up ACTIVE accounts now"), 0},
	{"run", cmd_run, N_("run queued jobs until stopped (for systemd)"), 0},
	{"snapshots", cmd_snapshots, N_("list backup runs"), 1},
	{"usage", cmd_usage, N_("this month's requests, messages and cost"), 1},
	{"download", cmd_download, N_("export an account's chats"), 0},
	{"jobs", cmd_jobs, N_("list jobs"), 1},
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
	fprintf(f, _("Commands:\n"));
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
	fprintf(f, _("\nSee chatvault(1) for every option.\n"));
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
