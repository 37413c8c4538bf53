/*
 * HTML export (CLI.md): one self-contained page per chat and an index.html
 * linking them. Pages carry no script and load nothing: inline CSS, a CSP
 * that allows only data: images, and bodies rebuilt by htmltext.c from an
 * allow-list. The page is written while the messages stream past, so memory
 * stays bounded by one message; only the index lines are kept until the end.
 */
#include "config.h"

#include "export/export.h"
#include "export/htmltext.h"
#include "store/files.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The second layer behind the allow-list (reliability.md 5.3). */
#define HTML_CSP "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

/* A larger image is not inlined: the page shows the [image] marker, and its
 * copy is in the chat's files folder. */
#define IMAGE_INLINE_MAX ((size_t)16 << 20)

struct html_state {
	char *index_name;
	struct buf index;     /* one <li> per chat */
	struct buf image;     /* the image being inlined */
};

static void html_state_free(struct export_ctx *x)
{
	struct html_state *st = x->state;

	if (st == NULL)
		return;
	free(st->index_name);
	buf_free(&st->index);
	buf_free(&st->image);
	free(st);
	x->state = NULL;
}

static void esc(struct buf *out, const char *s)
{
	if (s)
		htmltext_escape(out, s, strlen(s), HTMLTEXT_INERT);
}

/* <!DOCTYPE> to <body>, with the escaped title. */
static void page_head(struct buf *out, const char *title)
{
	buf_append_str(out, "<!DOCTYPE html>\n<html><head>\n<meta charset=\"utf-8\">\n"
			    "<meta http-equiv=\"Content-Security-Policy\" content=\"" HTML_CSP "\">\n"
			    "<meta name=\"referrer\" content=\"no-referrer\">\n"
			    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	esc(out, title);
	buf_append_str(out, "</title>\n<style>");
	buf_append_str(out, htmltext_css);
	buf_append_str(out, "</style>\n</head>\n<body>\n");
}

static int html_begin(struct export_ctx *x, struct cv_err *e)
{
	struct html_state *st = xcalloc(1, sizeof *st);

	/* Claim the index's name first, so a chat called "index" cannot take it. */
	st->index_name = name_make(x->names, "index", "index", ".html");
	x->state = st;
	return 0;
}

/* Write and empty b when it has grown (memory stays bounded). */
static void spill(struct buf *b, FILE *f, size_t at)
{
	if (b->len >= at) {
		fwrite(b->data, 1, b->len, f);
		buf_reset(b);
	}
}

/* Append text built in t (then emptied), escaped. */
static void esc_buf(struct buf *out, struct buf *t)
{
	esc(out, buf_str(t));
	buf_reset(t);
}

/* The page header: back link, title, participants, scope, export time. */
static void chat_header(struct buf *b, const struct export_ctx *x, const struct export_chat *c, const char *title,
			const char *index_name)
{
	struct buf t = BUF_INIT;
	char now[64];

	buf_append_str(b, "<header>\n<p><a href=\"");
	url_escape(&t, index_name);
	esc_buf(b, &t);
	buf_append_str(b, "\">");
	esc(b, _("All chats"));
	buf_append_str(b, "</a></p>\n<h1>");
	esc(b, title);
	buf_append_str(b, "</h1>\n<p>");
	esc(b, _("Participants:"));
	buf_append_char(b, ' ');
	htmltext_participants(&t, c->meta, ", ");
	esc_buf(b, &t);
	buf_append_str(b, "</p>\n<p>");
	htmltext_scope(&t, x->req->from_ms, x->req->to_ms, x->req->as_of);
	esc_buf(b, &t);
	time_format_local(time_now_ms(), now, sizeof now);
	buf_append_str(b, "</p>\n<p>");
	esc(b, _("Exported"));
	buf_printf(b, " %s</p>\n</header>\n", now);
	buf_free(&t);
}

/* One line of the index: link, title, message count. */
static void index_entry(struct buf *index, const char *name, const char *title, int64_t count)
{
	struct buf t = BUF_INIT;

	buf_append_str(index, "<li><a href=\"");
	url_escape(&t, name);
	esc_buf(index, &t);
	buf_append_str(index, "\">");
	esc(index, title);
	buf_append_str(index, "</a> — ");
	buf_printf(&t, P_("%lld message", "%lld messages", (unsigned long)count), (long long)count);
	esc_buf(index, &t);
	buf_append_str(index, "</li>\n");
	buf_free(&t);
}

/* Inline images: the hosted content this message's files hold, read whole. */
static int inline_image(void *ctx, const char *src, struct htmltext_image *img)
{
	struct export_ctx *x = ctx;
	struct html_state *st = x->state;
	const struct export_attachment *att;
	struct buf id = BUF_INIT;
	struct cv_err e;
	int got = 0;

	if (file_hosted_id(src, &id) && (att = export_attach_find(&x->attach, "hosted", id.data)) != NULL &&
	    att->mime && export_attach_bytes(x, att, IMAGE_INLINE_MAX, &st->image, &e) == 1) {
		img->mime = att->mime;
		img->data = (const unsigned char *)st->image.data;
		img->len = st->image.len;
		got = 1;
	}
	buf_free(&id);
	return got;
}

static const char *file_href(void *ctx, const char *content_url)
{
	struct export_ctx *x = ctx;
	const struct export_attachment *att = export_attach_find(&x->attach, "file", content_url);

	return att ? att->href : NULL;
}

static int html_chat(struct export_ctx *x, struct export_chat *c, struct cv_err *e)
{
	struct html_state *st = x->state;
	char *title = export_chat_title(c->meta, x->req->account_user_id);
	char *name = name_make(x->names, title, c->chat_id, ".html");
	/* With attachments, images are inlined and files linked; text only,
	 * each image is its "[image]" marker and each file its name. */
	struct htmltext_opts opts = {HTMLTEXT_INERT, NULL, NULL, NULL};
	struct export_message *m;
	struct export_file f;
	struct buf b = BUF_INIT;
	int64_t count = 0;
	int rc;

	if (x->req->attachments) {
		opts.image = inline_image;
		opts.file_href = file_href;
		opts.image_ctx = x;
	}
	if ((rc = export_file_begin(x->out, NULL, name, &f, e)) != 0)
		goto fail;
	page_head(&b, title);
	chat_header(&b, x, c, title, st->index_name);
	buf_append_str(&b, "<main>\n");
	while ((rc = export_next_message(x, &m, e)) == 1) {
		htmltext_message_html(&b, m, c->meta, &opts);
		count++;
		spill(&b, f.f, 65536);
	}
	if (rc < 0) {
		export_file_abort(x->out, &f);
		goto fail;
	}
	if (count == 0) {
		buf_append_str(&b, "<p>");
		esc(&b, _("No messages in this range."));
		buf_append_str(&b, "</p>\n");
	}
	buf_append_str(&b, "</main>\n</body></html>\n");
	spill(&b, f.f, 0);
	if ((rc = export_file_end(x->out, &f, e)) != 0)
		goto fail;
	x->result->messages += count;
	x->result->files++;
	index_entry(&st->index, name, title, count);
	buf_free(&b);
	free(title);
	free(name);
	return 0;
fail:
	/* export_run does not call end after an error: free our state here. */
	buf_free(&b);
	free(title);
	free(name);
	html_state_free(x);
	return rc;
}

static int html_end(struct export_ctx *x, struct cv_err *e)
{
	struct html_state *st = x->state;
	struct export_file f;
	struct buf b = BUF_INIT, t = BUF_INIT;
	char now[64];
	int rc;

	if ((rc = export_file_begin(x->out, NULL, st->index_name, &f, e)) != 0) {
		html_state_free(x);
		return rc;
	}
	page_head(&b, _("Chats"));
	buf_append_str(&b, "<header>\n<h1>");
	esc(&b, _("Chats"));
	buf_append_str(&b, "</h1>\n<p>");
	htmltext_scope(&t, x->req->from_ms, x->req->to_ms, x->req->as_of);
	esc_buf(&b, &t);
	buf_free(&t);
	time_format_local(time_now_ms(), now, sizeof now);
	buf_append_str(&b, "</p>\n<p>");
	esc(&b, _("Exported"));
	buf_printf(&b, " %s</p>\n</header>\n<nav>\n", now);
	if (st->index.len) {
		buf_append_str(&b, "<ul>\n");
		buf_append(&b, st->index.data, st->index.len);
		buf_append_str(&b, "</ul>\n");
	} else {
		buf_append_str(&b, "<p>");
		esc(&b, _("No chats in this range."));
		buf_append_str(&b, "</p>\n");
	}
	buf_append_str(&b, "</nav>\n</body></html>\n");
	fwrite(b.data, 1, b.len, f.f);
	buf_free(&b);
	html_state_free(x);
	if ((rc = export_file_end(x->out, &f, e)) != 0)
		return rc;
	x->result->files++;
	return 0;
}

const struct export_writer export_html_writer = {
	.format = "html",
	.begin = html_begin,
	.chat = html_chat,
	.end = html_end,
};
