/*
 * JSON export (CLI.md): one file per chat, {"chat": the Graph chat resource
 * with members, "messages": the Graph chatMessage objects with every field
 * Graph returned, in createdDateTime order}. Lossless by construction: the
 * objects are the stored raw JSON, streamed one message at a time.
 */
#include "config.h"

#include "export/export.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"

#include <stdlib.h>

static int json_chat(struct export_ctx *x, struct export_chat *c, struct cv_err *e)
{
	struct export_file f;
	struct export_message *m;
	struct buf b = BUF_INIT;
	char *title = export_chat_title(c->meta, x->req->account_user_id);
	char *name = name_make(x->names, title, c->chat_id, ".json");
	int rc, first = 1;

	free(title);
	rc = export_file_begin(x->out, NULL, name, &f, e);
	free(name);
	if (rc)
		return rc;
	buf_append_str(&b, "{\"chat\":");
	json_append(&b, c->meta);
	buf_append_str(&b, ",\"messages\":[");
	while ((rc = export_next_message(x, &m, e)) == 1) {
		if (!first)
			buf_append_char(&b, ',');
		first = 0;
		json_append(&b, m->msg);
		x->result->messages++;
		if (b.len > 65536) {
			fwrite(b.data, 1, b.len, f.f);
			buf_reset(&b);
		}
	}
	if (rc < 0) {
		buf_free(&b);
		export_file_abort(x->out, &f);
		return rc;
	}
	buf_append_str(&b, "]}\n");
	fwrite(b.data, 1, b.len, f.f);
	buf_free(&b);
	x->result->files++;
	return export_file_end(x->out, &f, e);
}

const struct export_writer export_json_writer = {
	.format = "json",
	.chat = json_chat,
};
