/*
 * Teams message bodies for the export writers. Bodies are HTML written by the
 * tenant: they are parsed with libxml2's HTML parser (never scanned by hand)
 * and rebuilt either as a safe HTML fragment (an allow-list of elements and
 * attributes, no remote URL) or as plain text. The second half turns a whole
 * chatMessage into what every writer shows: sender, system event line,
 * reactions, attachment names, card text.
 */
#ifndef CV_EXPORT_HTMLTEXT_H
#define CV_EXPORT_HTMLTEXT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct export_message;

enum {
	/* Text for people: controls, escapes and bidi overrides become visible,
	 * inert text (util/sanitize.h). Without it text is kept as data, only
	 * made valid UTF-8 without NUL (the CSV writer sanitises each cell). */
	HTMLTEXT_INERT = 1 << 0,
};

/* Bytes of one hosted content (an inline image), as a resolver found them. */
struct htmltext_image {
	const char *mime; /* image/png, image/jpeg, image/gif or image/webp; others are refused */
	const unsigned char *data;
	size_t len;
};

/* The attachments hook: asked for each <img> whose src is a Teams hosted
 * content URL; returns 1 with *img filled (valid until the next call) to
 * inline the image as a data: URI, or 0 for the "[image]" marker. */
typedef int (*htmltext_image_fn)(void *ctx, const char *src, struct htmltext_image *img);

/* The files hook: for a reference file's contentUrl, the relative path of
 * its copy beside the page (or NULL to show the name only). */
typedef const char *(*htmltext_file_fn)(void *ctx, const char *content_url);

struct htmltext_opts {
	unsigned flags;           /* HTMLTEXT_INERT */
	htmltext_image_fn image;  /* NULL: text only */
	void *image_ctx;
	htmltext_file_fn file_href; /* NULL: names only (ctx is image_ctx) */
};

/* Styles for pages and mail parts showing htmltext_message_html output. */
extern const char htmltext_css[];

/* Append body (n bytes; HTML when is_html, else plain text) as a safe HTML
 * fragment: allow-listed elements only, text escaped, links only to
 * http/https/mailto, images inlined through opts->image or replaced by an
 * "[image]" marker. opts may be NULL. */
void htmltext_body_html(struct buf *out, const char *body, size_t n, int is_html,
			const struct htmltext_opts *opts);
/* Append body as plain text: block elements end lines, mentions keep their
 * text, images become "[image]", entities are decoded and whitespace is
 * collapsed as a browser would. */
void htmltext_body_text(struct buf *out, const char *body, size_t n, int is_html, unsigned flags);

/* Append s escaped for HTML text or a quoted attribute value. */
void htmltext_escape(struct buf *out, const char *s, size_t n, unsigned flags);
/* Append s as valid UTF-8 without NUL: invalid bytes become U+FFFD. */
void htmltext_clean_utf8(struct buf *out, const char *s, size_t n);
/* A link target fit for href: trimmed, tabs and newlines removed, and with
 * an explicit http, https or mailto scheme. Returns 1 with the cleaned URL
 * appended to out, or 0. */
int htmltext_url_clean(const char *url, struct buf *out);
/* Append <img src="data:..."> for img (escaped alt), or 0 if its type is
 * not an allowed image type (nothing appended then). */
int htmltext_data_img(struct buf *out, const struct htmltext_image *img, const char *alt);

/* --- whole messages ------------------------------------------------------ */

/* The member of chat with this userId, or NULL. */
const cJSON *htmltext_member(const cJSON *chat, const char *user_id);
/* Is msg a system event (members added, chat renamed...)? */
int htmltext_is_event(const cJSON *msg);
/* The sender for people: the user's or application's display name, the
 * member's name, "System" for events. Never NULL; points into msg, chat or
 * a static string. */
const char *htmltext_sender(const cJSON *msg, const cJSON *chat);
/* from.user.id or from.application.id, or NULL. */
const char *htmltext_sender_id(const cJSON *msg);
/* Append a one-line description of a system event ("Members added: X"). */
void htmltext_event(struct buf *out, const cJSON *msg, const cJSON *chat);

struct htmltext_reaction {
	const char *label; /* an emoji, or a custom reaction's name (points into msg) */
	int count;
};
/* Count reactions by type in first-seen order; returns how many (<= max). */
int htmltext_reactions(const cJSON *msg, struct htmltext_reaction *r, int max);
/* Append "👍 2; ❤️ 1" (sep between entries); nothing when there are none. */
void htmltext_reactions_text(struct buf *out, const cJSON *msg, const char *sep);
/* Append the names of the message's named attachments (files), joined by sep. */
void htmltext_attachment_names(struct buf *out, const cJSON *msg, const char *sep);

/* Append the display names of the chat's members, joined by sep. */
void htmltext_participants(struct buf *out, const cJSON *chat, const char *sep);
/* Append what an export covers, for title blocks: the date range (UTC days,
 * 0 = open) and the snapshot (0 = the latest state). */
void htmltext_scope(struct buf *out, int64_t from_ms, int64_t to_ms, int64_t as_of);

/* Append the message as plain text: the body (or the event line), then the
 * text of its cards and quoted messages. */
void htmltext_message_text(struct buf *out, const cJSON *msg, const cJSON *chat, unsigned flags);
/* Append the message as an HTML <article> (sender, local time, edited and
 * deleted marks, body, cards, files, reactions) or, for an event, one line. */
void htmltext_message_html(struct buf *out, const struct export_message *m, const cJSON *chat,
			   const struct htmltext_opts *opts);

#endif
