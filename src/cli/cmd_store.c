/* chatvault init and passwd. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/i18n.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Characters a new passphrase needs at least: the KDF slows guessing, but
 * not enough to save a word of a few letters. */
#define PASSPHRASE_MIN_CHARS 8

/* A new passphrase long enough, counted in characters (UTF-8), not bytes. */
static int check_new_passphrase(const char *pass, struct cv_err *e)
{
	size_t n = 0;

	for (; *pass; pass++)
		n += ((unsigned char)*pass & 0xc0) != 0x80;
	if (n < PASSPHRASE_MIN_CHARS)
		return err_set(e, CV_EINVAL,
			       _("the new passphrase is too short: use at least %d characters (a few words are easy to "
				 "remember and hard to guess)"),
			       PASSPHRASE_MIN_CHARS);
	return 0;
}

int cmd_init(struct cli *c)
{
	struct cv_err e = {0};
	char recovery[VAULT_RECOVERY_MAX];
	struct app *a = NULL;
	char *pass = NULL;
	int rc;

	if (c->argc != 1)
		return cli_usage_error(_("init takes no arguments"));
	if (cli_read_passphrase(c, _("New store passphrase: "), 1, &pass, &e))
		return cli_fail(&e);
	if (check_new_passphrase(pass, &e)) {
		cli_secret_free(&pass);
		return cli_fail(&e);
	}
	rc = app_init(c->home, pass, strlen(pass), recovery, &a, &e);
	cli_secret_free(&pass);
	if (rc)
		return cli_fail(&e);
	fprintf(stderr, _("Created a new store in %s.\n"), c->home);
	fprintf(stderr, "%s\n", _("Recovery key (shown once; keep it somewhere safe, apart from the passphrase):"));
	printf("%s\n", recovery);
	memset(recovery, 0, sizeof recovery);
	app_close(&a);
	return EXIT_OK;
}

/* A secret other than the store passphrase: the first line of file (given
 * with the option what), or asked on the terminal (never the global
 * --passphrase-file). */
static int read_other_secret(const char *file, const char *what, const char *prompt, int confirm,
			     const char *no_tty, char **out, struct cv_err *e)
{
	if (file)
		return cli_read_secret_file(file, what, 1, out, e);
	return cli_ask_secret(prompt, confirm, no_tty, out, e);
}

/* Open the store with its recovery key: the way back in when the passphrase
 * is lost. */
static int open_with_recovery(struct cli *c, const char *file, struct app **out)
{
	struct cv_err e = {0};
	char *key = NULL;
	int rc = read_other_secret(file, "--recovery-key-file", _("Recovery key: "), 0,
				   _("no recovery key: give --recovery-key-file FILE (there is no terminal to ask on)"),
				   &key, &e);

	if (rc == 0) {
		rc = app_open(c->home, key, strlen(key), 1, out, &e);
		cli_secret_free(&key);
	}
	return rc ? cli_fail(&e) : 0;
}

int cmd_passwd(struct cli *c)
{
	static const struct option opts[] = {
		{"new-passphrase-file", required_argument, NULL, 'n'},
		{"recovery-key-file", required_argument, NULL, 'k'},
		{"recovery", no_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	struct cv_err e = {0};
	struct app *a;
	char *newpass = NULL;
	const char *newfile = NULL, *recfile = NULL;
	int rc, ch, recovery = 0;

	while ((ch = cli_getopt("passwd", c->argc, c->argv, NULL, opts)) != -1) {
		switch (ch) {
		case 'n': newfile = optarg; break;
		case 'k': recfile = optarg; break;
		case 'r': recovery = 1; break;
		case CLI_OPERAND: return cli_usage_error(_("passwd: unexpected argument '%s'"), optarg);
		default: return EXIT_USAGE;
		}
	}
	if (recfile)
		recovery = 1;
	if ((rc = recovery ? open_with_recovery(c, recfile, &a) : cli_open(c, &a)))
		return rc;
	rc = read_other_secret(newfile, "--new-passphrase-file", _("New passphrase: "), 1,
			       _("no new passphrase: give --new-passphrase-file FILE (there is no terminal to ask on)"),
			       &newpass, &e);
	if (rc == 0 && (rc = check_new_passphrase(newpass, &e)) == 0)
		rc = app_passwd(a, newpass, strlen(newpass), &e);
	cli_secret_free(&newpass);
	app_close(&a);
	if (rc)
		return cli_fail(&e);
	fprintf(stderr, "%s\n", _("Passphrase changed."));
	return EXIT_OK;
}
