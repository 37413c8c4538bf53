/*
 * The export driver: choose the writer, open the output, feed the stream's
 * chats to it, and zip the result when asked.
 */
#include "config.h"

#include "export/export.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>


static const struct export_writer *const writers[] = {
	&export_json_writer,
	&export_html_writer,
	&export_csv_writer,
	&export_eml_writer,
	&export_pdf_writer,
};

#define N_WRITERS (sizeof writers / sizeof writers[0])

const struct export_writer *export_writer_find(const char *format)
{
	size_t i;

	for (i = 0; format && i < N_WRITERS; i++)
		if (strcmp(writers[i]->format, format) == 0)
			return writers[i];
	return NULL;
}

const char *export_formats(void)
{
	static char list[64];
	size_t i;

	if (!list[0]) {
		for (i = 0; i < N_WRITERS; i++) {
			if (i)
				strncat(list, ",", sizeof list - strlen(list) - 1);
			strncat(list, writers[i]->format, sizeof list - strlen(list) - 1);
		}
	}
	return list;
}

char *export_chat_title(const cJSON *chat, const char *self_user_id)
{
	const char *topic = json_str(chat, "topic");
	const cJSON *members = cJSON_GetObjectItemCaseSensitive(chat, "members");
	const cJSON *m;
	struct buf b = BUF_INIT;
	int n = 0;

	if (topic && *topic)
		return xstrdup(topic);
	cJSON_ArrayForEach(m, members)
	{
		const char *uid = json_str(m, "userId");
		const char *name = json_str(m, "displayName");

		if (!name || (self_user_id && uid && strcmp(uid, self_user_id) == 0))
			continue;
		if (n++ == 3) {
			buf_append_str(&b, ", …");
			break;
		}
		buf_append_str(&b, n == 1 ? _("Chat with ") : ", ");
		buf_append_str(&b, name);
	}
	if (n == 0)
		buf_printf(&b, _("Chat %s"), json_str_or(chat, "chatType", ""));
	return buf_steal(&b);
}

int export_next_message(struct export_ctx *x, struct export_message **m, struct cv_err *e)
{
	int rc = export_stream_next_message(x->stream, m, e);

	if (rc == 1 && x->req->attachments) {
		int arc = export_attach_message(x, &x->attach, x->chat, (*m)->msg, e);

		if (arc < 0)
			return arc;
	}
	return rc;
}

/* With attachments, each chat gets a folder named like its page. */
static void attach_chat(struct export_ctx *x, const struct export_chat *c)
{
	char *title, *folder;

	if (!x->req->attachments)
		return;
	title = export_chat_title(c->meta, x->req->account_user_id);
	folder = name_make(x->names, title, c->chat_id, " files");
	export_attach_chat(&x->attach, folder);
	free(folder);
	free(title);
}

int export_run(sqlite3 *db, const struct vault *v, const struct export_request *req,
	       struct export_result *res, struct cv_err *e)
{
	const struct export_writer *w = export_writer_find(req->format);
	struct export_query q;
	struct export_ctx x;
	struct export_chat *chat;
	const char *dir = req->out_dir ? req->out_dir : req->staging_dir;
	int rc;

	memset(res, 0, sizeof *res);
	if (w == NULL)
		return err_set(e, CV_EINVAL, _("unknown format '%s' (this build writes: %s)"),
			       req->format ? req->format : "", export_formats());
	if (dir == NULL)
		return err_set(e, CV_EINVAL, _("give --out DIR or --zip FILE"));
	if (req->attachments && req->blobs_dir == NULL)
		return err_set(e, CV_EINVAL, _("attachments need the store's blob directory"));
	memset(&q, 0, sizeof q);
	q.tenant = req->tenant;
	q.tenant_guid = req->tenant_guid;
	q.account = req->account;
	q.chat_id = req->chat_id;
	q.from_ms = req->from_ms;
	q.to_ms = req->to_ms;
	q.as_of = req->as_of;
	q.tick = req->tick;
	q.tick_ctx = req->tick_ctx;

	memset(&x, 0, sizeof x);
	x.req = req;
	x.db = db;
	x.vault = v;
	x.result = res;
	if ((rc = export_out_open(dir, &x.out, e)))
		return rc;
	if ((rc = export_stream_open(db, v, &q, &x.stream, e)))
		goto out;
	x.names = name_set_new();
	if (w->begin && (rc = w->begin(&x, e)))
		goto out;
	while ((rc = export_stream_next_chat(x.stream, &chat, e)) == 1) {
		res->chats++;
		x.chat = chat;
		attach_chat(&x, chat);
		if ((rc = w->chat(&x, chat, e)))
			break;
	}
	if (rc == 0 && w->end)
		rc = w->end(&x, e);
	if (rc == 0 && req->zip_path)
		rc = export_out_zip(x.out, req->zip_path, e);
	res->integrity_errors += export_stream_integrity_errors(x.stream);
out:
	if (req->out_dir == NULL && x.out)
		export_out_remove(x.out);
	export_stream_free(&x.stream);
	name_set_free(&x.names);
	export_attach_free(&x.attach);
	export_out_free(&x.out);
	return rc < 0 ? rc : 0;
}
