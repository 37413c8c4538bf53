/* chatvault with no command on a terminal: open the store, start the
 * worker pool in this process, and hand over to the console. */
#include "config.h"

#include "cli/cli.h"
#include "app/app.h"
#include "ui/tui.h"
#include "util/err.h"

#include <stdio.h>

int cmd_console(struct cli *c)
{
	struct cv_err e = {0};
	struct app *a;
	int rc;

	if ((rc = cli_open(c, &a)))
		return rc;
	if (app_engine_start(a, 0, &e) != 0) {
		app_close(&a);
		return cli_fail(&e);
	}
	rc = tui_run(a) == 0 ? EXIT_OK : EXIT_FAIL;
	app_close(&a);
	return rc;
}
