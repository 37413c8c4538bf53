/*
 * EML export (CLI.md): one RFC 5322 message per chat message, in a folder per
 * chat, built with GMime 3 so that header encoding (RFC 2047), folding and
 * MIME structure are done by a library. Each message is multipart/alternative
 * (plain text, then the sanitised HTML), and carries In-Reply-To/References
 * to the previous message of the chat so that a mail client threads it.
 * With --attachments the message becomes multipart/mixed: the alternative,
 * then one base64 part per image or file, streamed from the copy written
 * beside the chat (never held in memory whole); a file the backup could not
 * get is a short text part saying why.
 *
 * Header injection (reliability.md 5.2): every header is built from
 * structured data; tenant text goes through the terminal sanitiser first (a
 * CR, LF or NUL becomes visible "^M", "^J", "^@") and a literal "=?" is
 * broken up, so nothing decodes to a line break or a new header later.
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

#include <fcntl.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* References lists the chat's first message and the last REFS_TAIL. */
#define REFS_TAIL 10
/* Tenant text in a header is cut at this many bytes. */
#define HEADER_VALUE_MAX 4096
#define MSGID_LEN 96

struct eml_state {
	GMimeFormatOptions *format;
	char first[MSGID_LEN];            /* Message-ID of the chat's first message */
	char tail[REFS_TAIL][MSGID_LEN];  /* ring of the latest ones */
	int ntail, tailpos;
	long seq;
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init(void)
{
	/* Once per process: g_mime_init is not thread-safe, and nothing ever
	 * calls g_mime_shutdown (another export may be running). */
	g_mime_init();
}

static void eml_state_free(struct export_ctx *x)
{
	struct eml_state *st = x->state;

	if (st == NULL)
		return;
	if (st->format)
		g_mime_format_options_free(st->format);
	free(st);
	x->state = NULL;
}

static int eml_begin(struct export_ctx *x, struct cv_err *e)
{
	struct eml_state *st;

	pthread_once(&gmime_once, gmime_init);
	st = xcalloc(1, sizeof *st);
	st->format = g_mime_format_options_clone(NULL);
	/* RFC 5322 lines end in CRLF. */
	g_mime_format_options_set_newline_format(st->format, GMIME_NEWLINE_FORMAT_DOS);
	x->state = st;
	return 0;
}

/* Tenant text made fit for a header value: visible controls, valid UTF-8,
 * no encoded-word look-alike, bounded. The caller frees it. */
static char *header_text(const char *s)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (s == NULL)
		return xstrdup("");
	sanitize_append(&b, s, strlen(s), 0);
	if (b.len > HEADER_VALUE_MAX) {
		size_t cut = HEADER_VALUE_MAX;

		while (cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
			cut--;
		buf_truncate(&b, cut);
	}
	/* "=?UTF-8?Q?=0A?=" would decode to a line break in some parsers
	 * (cpython#121650): keep it as text by breaking the "=?" marker. */
	if (strstr(buf_str(&b), "=?")) {
		struct buf t = BUF_INIT;

		for (i = 0; i < b.len; i++) {
			buf_append_char(&t, b.data[i]);
			if (b.data[i] == '=' && i + 1 < b.len && b.data[i + 1] == '?')
				buf_append_char(&t, ' ');
		}
		buf_free(&b);
		b = t;
	}
	return buf_steal(&b);
}

/* Is s a plain addr-spec we can put between < >? */
static int address_ok(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;
	size_t i, n = s ? strlen(s) : 0;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') || n > 254)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return 0;
	}
	return 1;
}

/* Append the letters, digits, '.', '-' and '_' of s, lower-cased. */
static void address_slug(struct buf *out, const char *s)
{
	size_t start = out->len;

	for (; s && *s && out->len - start < 64; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
			buf_append_char(out, c);
		else if ((c == '.' || c == ' ') && out->len > start && out->data[out->len - 1] != '.')
			buf_append_char(out, '.');
	}
	while (out->len > start && out->data[out->len - 1] == '.')
		buf_truncate(out, out->len - 1);
	if (out->len == start)
		buf_append_str(out, "unknown");
}

/* A stable address for a user: the member's email when it is a plain
 * address, else "<userId>@teams.invalid". */
static void user_address(struct buf *out, const cJSON *chat, const char *user_id)
{
	const char *mail = json_str(htmltext_member(chat, user_id), "email");

	if (address_ok(mail)) {
		buf_append_str(out, mail);
		return;
	}
	address_slug(out, user_id);
	buf_append_str(out, "@teams.invalid");
}

static void sender_address(struct buf *out, const cJSON *msg, const cJSON *chat)
{
	const char *uid = json_str(msg, "from/user/id");
	const cJSON *app = json_path(msg, "from/application");

	if (uid) {
		user_address(out, chat, uid);
	} else if (cJSON_IsObject(app)) {
		const char *name = json_str(app, "displayName");

		address_slug(out, name && *name ? name : json_str(app, "id"));
		buf_append_str(out, "@app.teams.invalid");
	} else {
		buf_append_str(out, "system@teams.invalid");
	}
}

/* "<hex@chatvault.invalid>" from the chat and message ids: the same message
 * gets the same Message-ID in every export. */
static void message_id(char *out, size_t n, const char *chat_id, const char *msg_id)
{
	struct buf b = BUF_INIT;
	gchar *hex;

	buf_append_str(&b, chat_id ? chat_id : "");
	buf_append_char(&b, '\n');
	buf_append_str(&b, msg_id ? msg_id : "");
	hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)b.data, b.len);
	snprintf(out, n, "%.40s@chatvault.invalid", hex);
	g_free(hex);
	buf_free(&b);
}

static void add_mailbox(GMimeMessage *gm, GMimeAddressType type, const char *name, const char *addr)
{
	char *clean = header_text(name);

	g_mime_message_add_mailbox(gm, type, clean, addr);
	free(clean);
}

static void set_header(GMimeMessage *gm, const char *name, const char *value)
{
	char *clean = header_text(value);

	g_mime_object_set_header((GMimeObject *)gm, name, clean, "utf-8");
	free(clean);
}

static void set_threading(GMimeMessage *gm, struct eml_state *st)
{
	struct buf refs = BUF_INIT;
	int i;

	if (st->ntail == 0)
		return;
	buf_printf(&refs, "<%s>", st->first);
	for (i = 0; i < st->ntail; i++) {
		const char *id = st->tail[(st->tailpos - st->ntail + i + REFS_TAIL) % REFS_TAIL];

		if (strcmp(id, st->first) != 0)
			buf_printf(&refs, " <%s>", id);
	}
	g_mime_object_set_header((GMimeObject *)gm, "References", refs.data, NULL);
	buf_reset(&refs);
	buf_printf(&refs, "<%s>", st->tail[(st->tailpos - 1 + REFS_TAIL) % REFS_TAIL]);
	g_mime_object_set_header((GMimeObject *)gm, "In-Reply-To", refs.data, NULL);
	buf_free(&refs);
}

static void remember(struct eml_state *st, const char *id)
{
	if (st->seq == 1)
		snprintf(st->first, sizeof st->first, "%s", id);
	snprintf(st->tail[st->tailpos], MSGID_LEN, "%s", id);
	st->tailpos = (st->tailpos + 1) % REFS_TAIL;
	if (st->ntail < REFS_TAIL)
		st->ntail++;
}

static GMimeObject *text_part(const char *subtype, const char *text)
{
	GMimeTextPart *p = g_mime_text_part_new_with_subtype(subtype);

	g_mime_text_part_set_text(p, text);
	g_mime_text_part_set_charset(p, "utf-8");
	/* Quoted-printable keeps every line short and every byte 7-bit, and
	 * can never contain GMime's "=-" boundary. */
	g_mime_part_set_content_encoding((GMimePart *)p, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return (GMimeObject *)p;
}

/* The plain text part: who and when, the marks, the text, files, reactions. */
static void plain_body(struct buf *out, const struct export_message *m, const cJSON *chat)
{
	const cJSON *msg = m->msg;
	char local[64];
	struct buf s = BUF_INIT;

	time_format_local(m->created, local, sizeof local);
	sanitize_append(out, htmltext_sender(msg, chat), strlen(htmltext_sender(msg, chat)), 0);
	buf_printf(out, ", %s", local);
	if (m->edited)
		buf_printf(out, " [%s]", _("edited"));
	if (m->deleted)
		buf_printf(out, " [%s: %s]", _("deleted"),
			   json_str(msg, "body/content") && *json_str(msg, "body/content")
				   ? _("the content as it was backed up before the deletion")
				   : _("no content was backed up before the deletion"));
	buf_append_str(out, "\n\n");
	htmltext_message_text(out, msg, chat, HTMLTEXT_INERT);
	buf_append_char(out, '\n');
	htmltext_attachment_names(&s, msg, "; ");
	if (s.len) {
		buf_printf(out, "\n%s: ", _("Attachments"));
		sanitize_append(out, s.data, s.len, 0);
		buf_append_char(out, '\n');
	}
	buf_reset(&s);
	htmltext_reactions_text(&s, msg, "; ");
	if (s.len) {
		buf_printf(out, "\n%s: ", _("Reactions"));
		sanitize_append(out, s.data, s.len, 0);
		buf_append_char(out, '\n');
	}
	buf_free(&s);
}

static void html_body(struct buf *out, const struct export_message *m, const cJSON *chat)
{
	static const struct htmltext_opts opts = {HTMLTEXT_INERT, NULL, NULL, NULL};

	buf_append_str(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>");
	buf_append_str(out, htmltext_css);
	buf_append_str(out, "</style></head><body>\n");
	htmltext_message_html(out, m, chat, &opts);
	buf_append_str(out, "</body></html>\n");
}

/* One attachment part, its content read from the copy beside the chat. */
static GMimeObject *file_part(struct export_ctx *x, const struct export_attachment *a, int index)
{
	char *name, fallback[48];
	GMimePart *part;
	int fd;

	snprintf(fallback, sizeof fallback, "attachment-%d", index);
	if (a->blob == NULL) {
		struct buf why = BUF_INIT;
		GMimeObject *note;
		char *clean;

		export_attach_note(a, &why);
		note = text_part("plain", why.data);
		buf_free(&why);
		clean = header_text(a->name ? a->name : fallback);
		g_mime_part_set_filename((GMimePart *)note, clean);
		g_mime_object_set_disposition(note, GMIME_DISPOSITION_ATTACHMENT);
		free(clean);
		return note;
	}
	fd = export_out_open_read(x->out, a->href);
	if (fd < 0)
		return NULL;
	/* a->mime is "image/…", sniffed when the copy was written */
	part = a->mime ? g_mime_part_new_with_type("image", a->mime + 6)
		       : g_mime_part_new_with_type("application", "octet-stream");
	{
		GMimeStream *fs = g_mime_stream_fs_new(fd);
		GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(fs, GMIME_CONTENT_ENCODING_DEFAULT);

		g_mime_part_set_content(part, content);
		g_object_unref(content);
		g_object_unref(fs);
	}
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	name = header_text(a->name ? a->name : strrchr(a->href, '/') + 1);
	g_mime_part_set_filename(part, name);
	g_mime_object_set_disposition((GMimeObject *)part,
				      strcmp(a->kind, "hosted") == 0 ? GMIME_DISPOSITION_INLINE
								     : GMIME_DISPOSITION_ATTACHMENT);
	free(name);
	return (GMimeObject *)part;
}

/* Build one message; the caller unrefs it. */
static GMimeMessage *eml_build(struct export_ctx *x, const struct export_chat *c, const char *subject,
			       const struct export_message *m, const char *own_id)
{
	struct eml_state *st = x->state;
	const cJSON *msg = m->msg;
	const char *sender_uid = json_str(msg, "from/user/id");
	GMimeMessage *gm = g_mime_message_new(TRUE);
	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	GMimeObject *part;
	GDateTime *date;
	const cJSON *mem;
	struct buf b = BUF_INIT;

	sender_address(&b, msg, c->meta);
	add_mailbox(gm, GMIME_ADDRESS_TYPE_FROM, htmltext_sender(msg, c->meta), b.data);
	cJSON_ArrayForEach(mem, cJSON_GetObjectItemCaseSensitive(c->meta, "members"))
	{
		const char *uid = json_str(mem, "userId");

		if (uid == NULL || (sender_uid && strcmp(uid, sender_uid) == 0))
			continue;
		buf_reset(&b);
		user_address(&b, c->meta, uid);
		add_mailbox(gm, GMIME_ADDRESS_TYPE_TO, json_str_or(mem, "displayName", ""), b.data);
	}
	{
		char *clean = header_text(subject);

		g_mime_message_set_subject(gm, clean, "utf-8");
		free(clean);
	}
	date = g_date_time_new_from_unix_utc(m->created / 1000);
	if (date) {
		g_mime_message_set_date(gm, date);
		g_date_time_unref(date);
	}
	g_mime_message_set_message_id(gm, own_id);
	set_threading(gm, st);
	set_header(gm, "X-Chatvault-Chat-Id", c->chat_id);
	set_header(gm, "X-Chatvault-Message-Id", json_str(msg, "id"));

	buf_reset(&b);
	plain_body(&b, m, c->meta);
	part = text_part("plain", b.data);
	g_mime_multipart_add(alt, part);
	g_object_unref(part);
	buf_reset(&b);
	html_body(&b, m, c->meta);
	part = text_part("html", b.data);
	g_mime_multipart_add(alt, part);
	g_object_unref(part);
	if (x->attach.n > 0) {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
		size_t i;

		g_mime_multipart_add(mixed, (GMimeObject *)alt);
		for (i = 0; i < x->attach.n; i++) {
			part = file_part(x, &x->attach.items[i], (int)i + 1);
			if (part) {
				g_mime_multipart_add(mixed, part);
				g_object_unref(part);
			}
		}
		g_mime_message_set_mime_part(gm, (GMimeObject *)mixed);
		g_object_unref(mixed);
	} else {
		g_mime_message_set_mime_part(gm, (GMimeObject *)alt);
	}
	g_object_unref(alt);
	buf_free(&b);
	return gm;
}

static int eml_write(struct export_ctx *x, const char *dir, GMimeMessage *gm, long seq, struct cv_err *e)
{
	struct eml_state *st = x->state;
	struct export_file f;
	GMimeStream *mem;
	GByteArray *bytes;
	char name[32];
	int rc;

	snprintf(name, sizeof name, "%06ld.eml", seq);
	if ((rc = export_file_begin(x->out, dir, name, &f, e)) != 0)
		return rc;
	if (x->attach.n > 0) {
		/* Attachments can be large: stream into the file through a
		 * write buffer rather than build the message in memory. */
		GMimeStream *fs, *out;
		ssize_t w;

		fflush(f.f);
		fs = g_mime_stream_fs_new(dup(fileno(f.f)));
		out = g_mime_stream_buffer_new(fs, GMIME_STREAM_BUFFER_BLOCK_WRITE);
		w = g_mime_object_write_to_stream((GMimeObject *)gm, st->format, out);
		if (w >= 0 && g_mime_stream_flush(out) != 0)
			w = -1;
		g_object_unref(out);
		g_object_unref(fs);
		if (w < 0) {
			export_file_abort(x->out, &f);
			return err_set(e, CV_EIO, _("cannot write a message with attachments to %s/%s"),
				       export_out_path(x->out), dir);
		}
	} else {
		/* Serialise in memory and write once: GMime's FILE* stream
		 * seeks before every small write, which flushes stdio each time. */
		mem = g_mime_stream_mem_new();
		if (g_mime_object_write_to_stream((GMimeObject *)gm, st->format, mem) < 0) {
			g_object_unref(mem);
			export_file_abort(x->out, &f);
			return err_set(e, CV_EFAIL, _("cannot encode a message of %s/%s"), export_out_path(x->out),
				       dir);
		}
		bytes = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
		fwrite(bytes->data, 1, bytes->len, f.f);
		g_object_unref(mem);
	}
	if ((rc = export_file_end(x->out, &f, e)) != 0)
		return rc;
	x->result->files++;
	return 0;
}

static int eml_chat(struct export_ctx *x, struct export_chat *c, struct cv_err *e)
{
	struct eml_state *st = x->state;
	char *title = export_chat_title(c->meta, x->req->account_user_id);
	char *dir = name_make(x->names, title, c->chat_id, "");
	struct export_message *m;
	int rc;

	st->ntail = st->tailpos = 0;
	st->seq = 0;
	st->first[0] = '\0';
	while ((rc = export_next_message(x, &m, e)) == 1) {
		char own[MSGID_LEN];
		GMimeMessage *gm;

		message_id(own, sizeof own, c->chat_id, json_str(m->msg, "id"));
		gm = eml_build(x, c, title, m, own);
		rc = eml_write(x, dir, gm, ++st->seq, e);
		g_object_unref(gm);
		if (rc)
			break;
		remember(st, own);
		x->result->messages++;
	}
	free(title);
	free(dir);
	if (rc < 0)
		eml_state_free(x); /* export_run does not call end after an error */
	return rc < 0 ? rc : 0;
}

static int eml_end(struct export_ctx *x, struct cv_err *e)
{
	eml_state_free(x);
	return 0;
}

const struct export_writer export_eml_writer = {
	.format = "eml",
	.begin = eml_begin,
	.chat = eml_chat,
	.end = eml_end,
};
