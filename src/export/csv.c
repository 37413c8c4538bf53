/*
 * CSV export (CLI.md): one messages.csv for the whole export, one row per
 * message, header first. RFC 4180: UTF-8 with a BOM (so spreadsheets pick
 * the encoding), CRLF line ends, every field quoted, quotes doubled.
 *
 * Formula injection (reliability.md 5.1, OWASP CSV Injection, ASVS 1.2.10):
 * a cell whose first character is = + - @ TAB CR LF gets a leading
 * apostrophe, so a spreadsheet shows it as text instead of evaluating it.
 * Trade-off, decided here: the apostrophe is visible to programs reading the
 * file as data; every cell is treated alike (also ids and names), so a
 * consumer can strip one leading apostrophe before those characters. Only
 * the first character counts, as OWASP says. Cells hold tenant text that
 * people read with cat and less as much as with spreadsheets, so they pass
 * the same gate as everything shown (util/sanitize.h): escapes, controls
 * and bidi overrides become visible, inert text; line breaks stay (as LF).
 */
#include "config.h"

#include "export/export.h"
#include "export/htmltext.h"
#include "store/catalog.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const csv_header[] = {
	"chat_id", "chat_topic", "chat_type", "message_id", "created", "last_modified", "edited",
	"deleted", "sender_id", "sender_name", "sender_upn", "body_text", "attachments", "reactions",
};

#define CSV_COLUMNS (sizeof csv_header / sizeof csv_header[0])

struct csv_state {
	struct export_file f;
	struct buf row;
	struct buf cell;
};

static void csv_state_free(struct export_ctx *x, int abort_file)
{
	struct csv_state *st = x->state;

	if (st == NULL)
		return;
	if (abort_file && st->f.f)
		export_file_abort(x->out, &st->f);
	buf_free(&st->row);
	buf_free(&st->cell);
	free(st);
	x->state = NULL;
}

/* Does a spreadsheet read a cell starting with c as a formula? */
static int csv_formula_start(char c)
{
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r' || c == '\n';
}

/* Append one quoted field (s may be NULL: an empty field), sanitised. */
static void csv_field(struct csv_state *st, const char *s, int first)
{
	size_t i;

	buf_reset(&st->cell);
	if (s)
		sanitize_append(&st->cell, s, strlen(s), SAN_KEEP_NEWLINES);
	if (!first)
		buf_append_char(&st->row, ',');
	buf_append_char(&st->row, '"');
	if (st->cell.len && csv_formula_start(st->cell.data[0]))
		buf_append_char(&st->row, '\'');
	for (i = 0; i < st->cell.len; i++) {
		if (st->cell.data[i] == '"')
			buf_append_char(&st->row, '"');
		buf_append_char(&st->row, st->cell.data[i]);
	}
	buf_append_char(&st->row, '"');
}

static void csv_end_row(struct csv_state *st)
{
	buf_append_str(&st->row, "\r\n");
	if (st->row.len >= 65536) {
		fwrite(st->row.data, 1, st->row.len, st->f.f);
		buf_reset(&st->row);
	}
}

static int csv_begin(struct export_ctx *x, struct cv_err *e)
{
	struct csv_state *st = xcalloc(1, sizeof *st);
	char *name = name_make(x->names, "messages", "messages", ".csv");
	size_t i;
	int rc;

	rc = export_file_begin(x->out, NULL, name, &st->f, e);
	free(name);
	if (rc) {
		free(st);
		return rc;
	}
	x->state = st;
	buf_append_str(&st->row, "\xEF\xBB\xBF");
	for (i = 0; i < CSV_COLUMNS; i++)
		csv_field(st, csv_header[i], i == 0);
	csv_end_row(st);
	return 0;
}

/* ISO 8601 UTC of a Graph time field, else of fallback (ms), else "". */
static void csv_time(char *out, size_t n, const cJSON *msg, const char *field, int64_t fallback)
{
	int64_t ms = json_time(msg, field, fallback);

	if (ms)
		time_format_iso8601(ms, out, n);
	else
		out[0] = '\0';
}

/* Append the UPN of the user uid (may be NULL): the one the account sync
 * stored (Graph's /users), else the chat member's email, which Graph leaves
 * null for a user without a mailbox and which is all we know of a sender
 * the sync has not seen (a user of another tenant, one added since). */
static int csv_sender_upn(struct export_ctx *x, const char *uid, const cJSON *member, struct buf *out,
			  struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (uid != NULL) {
		if ((rc = catalog_stmt(x->db, "SELECT upn FROM accounts WHERE tenant = ?1 AND user_id = ?2", &st, e)))
			return rc;
		sqlite3_bind_int64(st, 1, x->req->tenant);
		sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			buf_append_str(out, catalog_text(st, 0));
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : catalog_error(x->db, _("reading the catalog"), e);
		catalog_release(st);
		if (rc)
			return rc;
	}
	if (out->len == 0)
		buf_append_str(out, json_str_or(member, "email", ""));
	return 0;
}

static int csv_message(struct export_ctx *x, const struct export_chat *c, const struct export_message *m,
		       struct cv_err *e)
{
	struct csv_state *st = x->state;
	const cJSON *msg = m->msg;
	const char *uid = json_str(msg, "from/user/id");
	const cJSON *member = htmltext_member(c->meta, uid);
	char created[ISO8601_LEN], modified[ISO8601_LEN];
	struct buf text = BUF_INIT, files = BUF_INIT, reactions = BUF_INIT, upn = BUF_INIT;
	int rc;

	if ((rc = csv_sender_upn(x, uid, member, &upn, e))) {
		buf_free(&upn);
		return rc;
	}
	csv_time(created, sizeof created, msg, "createdDateTime", m->created);
	csv_time(modified, sizeof modified, msg, "lastModifiedDateTime", json_time(msg, "createdDateTime", m->created));
	htmltext_message_text(&text, msg, c->meta, 0);
	htmltext_attachment_names(&files, msg, "; ");
	htmltext_reactions_text(&reactions, msg, "; ");

	csv_field(st, c->chat_id, 1);
	csv_field(st, json_str(c->meta, "topic"), 0);
	csv_field(st, c->chat_type, 0);
	csv_field(st, json_str(msg, "id"), 0);
	csv_field(st, created, 0);
	csv_field(st, modified, 0);
	csv_field(st, m->edited ? "true" : "false", 0);
	csv_field(st, m->deleted ? "true" : "false", 0);
	csv_field(st, htmltext_sender_id(msg), 0);
	csv_field(st, htmltext_sender(msg, c->meta), 0);
	csv_field(st, buf_str(&upn), 0);
	csv_field(st, buf_str(&text), 0);
	csv_field(st, buf_str(&files), 0);
	csv_field(st, buf_str(&reactions), 0);
	csv_end_row(st);
	buf_free(&text);
	buf_free(&files);
	buf_free(&reactions);
	buf_free(&upn);
	return 0;
}

static int csv_chat(struct export_ctx *x, struct export_chat *c, struct cv_err *e)
{
	struct export_message *m;
	int rc;

	while ((rc = export_next_message(x, &m, e)) == 1) {
		if ((rc = csv_message(x, c, m, e)) < 0)
			break;
		x->result->messages++;
	}
	if (rc < 0)
		csv_state_free(x, 1); /* export_run does not call end after an error */
	return rc < 0 ? rc : 0;
}

static int csv_end(struct export_ctx *x, struct cv_err *e)
{
	struct csv_state *st = x->state;
	int rc;

	fwrite(st->row.data, 1, st->row.len, st->f.f);
	rc = export_file_end(x->out, &st->f, e);
	if (rc == 0)
		x->result->files++;
	csv_state_free(x, 0);
	return rc;
}

const struct export_writer export_csv_writer = {
	.format = "csv",
	.begin = csv_begin,
	.chat = csv_chat,
	.end = csv_end,
};
