/* chatvault init and passwd. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/i18n.h"

#include <stdio.h>
#include <string.h>

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

/* A secret other than the store passphrase: the first line of file, or
 * asked on the terminal (never the global --passphrase-file). */
static int read_other_secret(struct cli *c, const char *file, const char *prompt, int confirm, char **out,
			     struct cv_err *e)
{
	struct cli tmp = *c;

	if (file)
		return cli_read_secret_file(file, 1, out, e);
	tmp.passphrase_file = NULL;
	return cli_read_passphrase(&tmp, prompt, confirm, out, e);
}

/* Open the store with its recovery key: the way back in when the passphrase
 * is lost. */
static int open_with_recovery(struct cli *c, const char *file, struct app **out)
{
	struct cv_err e = {0};
	char *key = NULL;
	int rc = read_other_secret(c, file, _("Recovery key: "), 0, &key, &e);

	if (rc == 0) {
		rc = app_open(c->home, key, strlen(key), 1, out, &e);
		cli_secret_free(&key);
	}
	return rc ? cli_fail(&e) : 0;
}

int cmd_passwd(struct cli *c)
{
	struct cv_err e = {0};
	struct app *a;
	char *newpass = NULL;
	const char *newfile = NULL, *recfile = NULL;
	int rc, i, recovery = 0;

	for (i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--new-passphrase-file") == 0 && i + 1 < c->argc)
			newfile = c->argv[++i];
		else if (strcmp(c->argv[i], "--recovery-key-file") == 0 && i + 1 < c->argc)
			recfile = c->argv[++i];
		else if (strcmp(c->argv[i], "--recovery") == 0)
			recovery = 1;
		else
			return cli_usage_error(_("passwd: unknown option '%s'"), c->argv[i]);
	}
	if (recfile)
		recovery = 1;
	if ((rc = recovery ? open_with_recovery(c, recfile, &a) : cli_open(c, &a)))
		return rc;
	rc = read_other_secret(c, newfile, _("New passphrase: "), 1, &newpass, &e);
	if (rc == 0)
		rc = app_passwd(a, newpass, strlen(newpass), &e);
	cli_secret_free(&newpass);
	app_close(&a);
	if (rc)
		return cli_fail(&e);
	fprintf(stderr, "%s\n", _("Passphrase changed."));
	return EXIT_OK;
}
