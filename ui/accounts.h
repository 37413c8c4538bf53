/*
 * The account table component: a window onto the filtered, sorted account
 * list, with the tag set and the bulk actions. The Dashboard shows it with
 * statuses and reasons; the Private Chat tab with activation and tagging.
 */
#ifndef CV_UI_ACCOUNTS_H
#define CV_UI_ACCOUNTS_H

#include "ui/ui.h"

#define ACCT_ROWS_MAX 256

enum acct_mode { ACCT_DASHBOARD, ACCT_PRIVCHAT };

struct acct_table {
	enum acct_mode mode;
	char filter[256];
	char search[256];
	struct app_account_filter f;
	struct ui_list list;
	int64_t cursor_id;       /* the account under the cursor, kept across reloads */
	struct app_account_row rows[ACCT_ROWS_MAX];
	int nrows;               /* rows[0] is row list.top */
	int height;              /* data rows of the last draw */
	int64_t tagged, hidden;
};

void acct_init(struct acct_table *t, enum acct_mode mode);
void acct_reload(struct ui *u, struct acct_table *t);
/* Draw the header and rows into [y, y+h). */
void acct_draw(struct ui *u, struct acct_table *t, int y, int h);
int acct_command(struct ui *u, struct acct_table *t, enum ui_cmd cmd, int key);
void acct_status(struct ui *u, struct acct_table *t, char *out, size_t len);
const struct app_account_row *acct_cursor(const struct acct_table *t);

#endif
