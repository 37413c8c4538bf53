/*
 * PDF export (CLI.md): one A4 PDF per chat, laid out by pango and drawn by
 * cairo's PDF surface straight into the export file. Pango does the real
 * work (fonts through fontconfig, any script, bidi, line breaking); this file
 * only places lines on pages: each block is laid out once and drawn line by
 * line, so a long message continues on the next page. All tenant text passes
 * the sanitiser first, so controls show as inert text. With --attachments,
 * inline PNG images are drawn below their message, scaled to the text width.
 */
#include "config.h"

#include "export/export.h"
#include "export/htmltext.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fcntl.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A4 in points, 2 cm margins, room for the page number below. */
#define PAGE_W 595.276
#define PAGE_H 841.890
#define MARGIN 56.7
#define FOOTER 24.0
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define BOTTOM (PAGE_H - MARGIN - FOOTER)

/* Families in order of preference; fontconfig falls back further for any
 * glyph they lack, and a glyph found nowhere is drawn as a hex box. */
#define PDF_FONTS "Noto Sans, Noto Sans CJK SC, DejaVu Sans"

struct pdf_doc {
	cairo_surface_t *surface;
	cairo_t *cr;
	PangoFontMap *fonts;   /* our own, so its caches go with the document */
	PangoContext *context;
	PangoLayout *layout;
	PangoLayout *footer;   /* its own layout: a page may end while a block is iterated */
	PangoFontDescription *body, *bold, *small, *title;
	double y;
	int page;
};

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int len)
{
	FILE *f = closure;

	return fwrite(data, 1, len, f) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static void pdf_footer(struct pdf_doc *d)
{
	char text[64];

	snprintf(text, sizeof text, _("Page %d"), d->page);
	pango_layout_set_text(d->footer, text, -1);
	cairo_set_source_rgb(d->cr, 0.4, 0.4, 0.4);
	cairo_move_to(d->cr, MARGIN, PAGE_H - MARGIN);
	pango_cairo_show_layout(d->cr, d->footer);
}

static void pdf_new_page(struct pdf_doc *d)
{
	pdf_footer(d);
	cairo_show_page(d->cr);
	d->page++;
	d->y = MARGIN;
}

/* Draw text (already sanitised) at the left margin + indent, breaking
 * pages between lines; then leave `after` points of space. */
static void pdf_text(struct pdf_doc *d, const char *text, const PangoFontDescription *font, double indent,
		     double gray, double after)
{
	PangoLayoutIter *it;

	if (text == NULL || *text == '\0')
		return;
	pango_layout_set_font_description(d->layout, font);
	pango_layout_set_width(d->layout, (int)((TEXT_W - indent) * PANGO_SCALE));
	pango_layout_set_wrap(d->layout, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_text(d->layout, text, -1);
	it = pango_layout_get_iter(d->layout);
	do {
		PangoLayoutLine *line = pango_layout_iter_get_line_readonly(it);
		PangoRectangle logical;
		double h, baseline;

		pango_layout_iter_get_line_extents(it, NULL, &logical);
		h = (double)logical.height / PANGO_SCALE;
		baseline = (double)(pango_layout_iter_get_baseline(it) - logical.y) / PANGO_SCALE;
		if (d->y + h > BOTTOM && d->y > MARGIN)
			pdf_new_page(d);
		cairo_set_source_rgb(d->cr, gray, gray, gray);
		cairo_move_to(d->cr, MARGIN + indent + (double)logical.x / PANGO_SCALE, d->y + baseline);
		pango_cairo_show_layout_line(d->cr, line);
		d->y += h;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
	d->y += after;
}

/* Sanitise one line of tenant text (a line break in it is shown, not
 * followed) and draw it. */
static void pdf_say(struct pdf_doc *d, const char *text, const PangoFontDescription *font, double indent,
		    double gray, double after)
{
	char *clean = sanitize_dup(text, 0);

	pdf_text(d, clean, font, indent, gray, after);
	free(clean);
}

static void pdf_rule(struct pdf_doc *d)
{
	cairo_set_source_rgb(d->cr, 0.7, 0.7, 0.7);
	cairo_set_line_width(d->cr, 0.5);
	cairo_move_to(d->cr, MARGIN, d->y);
	cairo_line_to(d->cr, PAGE_W - MARGIN, d->y);
	cairo_stroke(d->cr);
	d->y += 10;
}

static void pdf_title_block(struct pdf_doc *d, const struct export_ctx *x, const struct export_chat *c,
			    const char *title)
{
	struct buf b = BUF_INIT;
	char now[64];

	pdf_say(d, title, d->title, 0, 0, 6);
	buf_printf(&b, "%s ", _("Participants:"));
	htmltext_participants(&b, c->meta, ", ");
	pdf_say(d, b.data, d->body, 0, 0.2, 2);
	buf_reset(&b);
	htmltext_scope(&b, x->req->from_ms, x->req->to_ms, x->req->as_of);
	pdf_say(d, b.data, d->body, 0, 0.2, 2);
	buf_reset(&b);
	time_format_local(time_now_ms(), now, sizeof now);
	buf_printf(&b, "%s %s", _("Exported"), now);
	pdf_say(d, b.data, d->body, 0, 0.2, 8);
	buf_free(&b);
	pdf_rule(d);
}

/* Images larger than this many pixels are named, not drawn: cairo decodes
 * them whole (4 bytes a pixel). */
#define IMAGE_MAX_PIXELS (16L << 20)
#define IMAGE_MAX_H 320.0

static cairo_status_t read_png(void *closure, unsigned char *data, unsigned int len)
{
	return fread(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR;
}

/* PNG width and height from the IHDR chunk, without decoding anything. */
static int png_size(FILE *f, long *w, long *h)
{
	unsigned char head[24];

	if (fread(head, 1, sizeof head, f) != sizeof head || memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0 ||
	    memcmp(head + 12, "IHDR", 4) != 0)
		return -1;
	*w = (long)head[16] << 24 | (long)head[17] << 16 | (long)head[18] << 8 | head[19];
	*h = (long)head[20] << 24 | (long)head[21] << 16 | (long)head[22] << 8 | head[23];
	rewind(f);
	return *w > 0 && *h > 0 ? 0 : -1;
}

static void pdf_image(struct pdf_doc *d, struct export_ctx *x, const struct export_attachment *a)
{
	int fd = export_out_open_read(x->out, a->href);
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	cairo_surface_t *img = NULL;
	long w, h;
	double scale, dh;

	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (png_size(f, &w, &h) == 0 && w <= IMAGE_MAX_PIXELS / h)
		img = cairo_image_surface_create_from_png_stream(read_png, f);
	fclose(f);
	if (img == NULL || cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
		if (img)
			cairo_surface_destroy(img);
		return;
	}
	scale = 0.75; /* 96 dpi pixels to points */
	if ((double)w * scale > TEXT_W)
		scale = TEXT_W / (double)w;
	if ((double)h * scale > IMAGE_MAX_H)
		scale = IMAGE_MAX_H / (double)h;
	dh = (double)h * scale;
	if (d->y + dh > BOTTOM)
		pdf_new_page(d);
	cairo_save(d->cr);
	cairo_translate(d->cr, MARGIN, d->y);
	cairo_scale(d->cr, scale, scale);
	cairo_set_source_surface(d->cr, img, 0, 0);
	cairo_paint(d->cr);
	cairo_restore(d->cr);
	cairo_surface_destroy(img);
	d->y += dh + 4;
}

static void pdf_message(struct pdf_doc *d, struct export_ctx *x, const struct export_message *m,
			const cJSON *chat)
{
	const cJSON *msg = m->msg;
	size_t i;
	char local[64];
	struct buf b = BUF_INIT;

	time_format_local(m->created, local, sizeof local);
	if (htmltext_is_event(msg)) {
		buf_printf(&b, "%s — ", local);
		htmltext_event(&b, msg, chat);
		pdf_say(d, b.data, d->small, 0, 0.4, 6);
		buf_free(&b);
		return;
	}
	/* Keep a sender line together with the start of its text. */
	if (d->y + 36 > BOTTOM)
		pdf_new_page(d);
	buf_printf(&b, "%s  %s", htmltext_sender(msg, chat), local);
	if (m->edited)
		buf_printf(&b, "  [%s]", _("edited"));
	if (m->deleted)
		buf_printf(&b, "  [%s]", _("deleted"));
	pdf_say(d, b.data, d->bold, 0, m->deleted ? 0.5 : 0, 2);
	if (m->deleted) {
		const char *body = json_str(msg, "body/content");

		pdf_say(d, body && *body ? _("The content as it was backed up before the deletion:")
				       : _("No content was backed up before the deletion."),
			d->small, 0, 0.5, 2);
	}
	buf_reset(&b);
	htmltext_message_text(&b, msg, chat, HTMLTEXT_INERT);
	pdf_text(d, b.data, d->body, 0, m->deleted ? 0.45 : 0, 2);
	for (i = 0; i < x->attach.n; i++)
		if (x->attach.items[i].blob && strcmp(x->attach.items[i].kind, "hosted") == 0)
			pdf_image(d, x, &x->attach.items[i]);
	buf_reset(&b);
	htmltext_attachment_names(&b, msg, "; ");
	if (b.len) {
		char *names = buf_steal(&b);

		buf_printf(&b, "%s: %s", _("Attachments"), names);
		free(names);
		pdf_say(d, b.data, d->small, 0, 0.3, 2);
	}
	buf_reset(&b);
	htmltext_reactions_text(&b, msg, "  ");
	if (b.len) {
		char *r = buf_steal(&b);

		buf_printf(&b, "%s: %s", _("Reactions"), r);
		free(r);
		pdf_say(d, b.data, d->small, 0, 0.3, 2);
	}
	buf_free(&b);
	d->y += 6;
}

static void pdf_close(struct pdf_doc *d)
{
	if (d->layout)
		g_object_unref(d->layout);
	if (d->footer)
		g_object_unref(d->footer);
	if (d->context)
		g_object_unref(d->context);
	if (d->fonts)
		g_object_unref(d->fonts);
	if (d->cr)
		cairo_destroy(d->cr);
	if (d->surface)
		cairo_surface_destroy(d->surface);
	pango_font_description_free(d->body);
	pango_font_description_free(d->bold);
	pango_font_description_free(d->small);
	pango_font_description_free(d->title);
	memset(d, 0, sizeof *d);
}

static int pdf_chat(struct export_ctx *x, struct export_chat *c, struct cv_err *e)
{
	char *title = export_chat_title(c->meta, x->req->account_user_id);
	char *name = name_make(x->names, title, c->chat_id, ".pdf");
	struct export_message *m;
	struct export_file f;
	struct pdf_doc d;
	int64_t count = 0;
	int rc;
	cairo_status_t cst;

	rc = export_file_begin(x->out, NULL, name, &f, e);
	free(name);
	if (rc) {
		free(title);
		return rc;
	}
	memset(&d, 0, sizeof d);
	d.surface = cairo_pdf_surface_create_for_stream(pdf_write, f.f, PAGE_W, PAGE_H);
	{
		char *clean = sanitize_dup(title, 0);

		cairo_pdf_surface_set_metadata(d.surface, CAIRO_PDF_METADATA_TITLE, clean);
		cairo_pdf_surface_set_metadata(d.surface, CAIRO_PDF_METADATA_CREATOR, PACKAGE_NAME " " PACKAGE_VERSION);
		free(clean);
	}
	d.cr = cairo_create(d.surface);
	/* A font map per document rather than pango's per-thread default:
	 * nothing is shared between threads, and the font caches (which
	 * grow with every script met) are freed with the document. */
	d.fonts = pango_cairo_font_map_new();
	d.context = pango_font_map_create_context(d.fonts);
	pango_cairo_update_context(d.cr, d.context);
	d.layout = pango_layout_new(d.context);
	d.body = pango_font_description_from_string(PDF_FONTS " 10");
	d.bold = pango_font_description_from_string(PDF_FONTS " Bold 10");
	d.small = pango_font_description_from_string(PDF_FONTS " 8.5");
	d.title = pango_font_description_from_string(PDF_FONTS " Bold 16");
	d.footer = pango_layout_new(d.context);
	pango_layout_set_font_description(d.footer, d.small);
	pango_layout_set_width(d.footer, (int)(TEXT_W * PANGO_SCALE));
	pango_layout_set_alignment(d.footer, PANGO_ALIGN_CENTER);
	d.page = 1;
	d.y = MARGIN;
	pdf_title_block(&d, x, c, title);
	free(title);
	while ((rc = export_next_message(x, &m, e)) == 1) {
		pdf_message(&d, x, m, c->meta);
		count++;
	}
	if (rc == 0 && count == 0)
		pdf_say(&d, _("No messages in this range."), d.body, 0, 0.3, 0);
	if (rc == 0) {
		pdf_footer(&d);
		cairo_show_page(d.cr);
		cairo_surface_finish(d.surface);
	}
	cst = cairo_surface_status(d.surface);
	pdf_close(&d);
	if (rc < 0) {
		export_file_abort(x->out, &f);
		return rc;
	}
	if (cst != CAIRO_STATUS_SUCCESS) {
		export_file_abort(x->out, &f);
		return err_set(e, CV_EIO, _("cannot write the PDF of chat %s: %s"), c->chat_id,
			       cairo_status_to_string(cst));
	}
	if ((rc = export_file_end(x->out, &f, e)) != 0)
		return rc;
	x->result->messages += count;
	x->result->files++;
	return 0;
}

const struct export_writer export_pdf_writer = {
	.format = "pdf",
	.chat = pdf_chat,
};
