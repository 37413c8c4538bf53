/*
 * Teams message bodies, parsed with libxml2's HTML parser and rebuilt from an
 * allow-list (reliability.md 5.3): the output is a fresh serialisation of the
 * elements we know, with every text node escaped, so nothing the tenant wrote
 * is passed through as markup. No remote URL survives: an <img> becomes a
 * data: URI through the attachments hook or an "[image]" marker. The same tree
 * walk produces the plain text that CSV, EML and PDF show.
 */
#include "config.h"

#include "export/htmltext.h"
#include "export/stream.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/sanitize.h"
#include "util/timeutil.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Bodies larger than this are cut: Teams caps a message at about 28 KB, and
 * the parser needs about 40 bytes per nested element of hostile input. */
#define BODY_MAX (1u << 20)
/* Nesting deeper than this is flattened: the text stays, the tags go. */
#define TAG_DEPTH_MAX 64

const char htmltext_css[] =
	"body{font-family:\"Noto Sans\",\"Noto Sans CJK SC\",\"DejaVu Sans\",sans-serif;max-width:60em;"
	"margin:1em auto;padding:0 1em;color:#222;background:#fff;line-height:1.4}"
	"header{border-bottom:1px solid #ccc;margin-bottom:1em}"
	"header p{margin:.2em 0;color:#555}"
	".msg{margin:.6em 0;padding:.3em .6em;border-left:3px solid #ddd;overflow-wrap:anywhere}"
	".msg.deleted{border-left-color:#c33;background:#fff4f4}"
	".meta{font-size:.9em;color:#555}"
	".from{font-weight:bold;color:#222}"
	".mark{display:inline-block;margin-left:.5em;padding:0 .4em;border-radius:3px;background:#eee;"
	"font-size:.85em}"
	".mark.deleted{background:#c33;color:#fff}"
	".mention{background:#e8ecff;border-radius:3px;padding:0 .2em;font-weight:bold}"
	".img{color:#777;font-style:italic}"
	".card{border:1px solid #bbb;border-radius:6px;padding:.3em .8em;margin:.4em 0;background:#fafafa}"
	".card-title{font-weight:bold}"
	".quote{border-left:3px solid #99c;margin:.4em 0;padding:.2em .6em;color:#444}"
	".files{margin:.3em 0;padding-left:1.4em}"
	".reactions span{display:inline-block;margin-right:.5em;padding:0 .4em;border:1px solid #ddd;"
	"border-radius:1em;font-size:.9em}"
	".event{color:#666;font-style:italic;margin:.4em 0;font-size:.9em}"
	"pre{white-space:pre-wrap}img{max-width:100%}"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .4em}"
	"nav ul{padding-left:1.2em}";

/* --- text helpers ------------------------------------------------------------ */

void htmltext_clean_utf8(struct buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	/* Copy valid runs in one go; replace what does not decode. */
	while (i < n) {
		unsigned cp;
		size_t len = s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);

		if (len == 0 || s[i] == '\0') {
			buf_append(out, s + run, i - run);
			if (s[i] != '\0')
				buf_append_str(out, "\xEF\xBF\xBD");
			i++;
			run = i;
			continue;
		}
		i += len;
	}
	buf_append(out, s + run, i - run);
}

/* Append the data-safe or display-safe form of s, per flags. */
static void text_prepare(struct buf *out, const char *s, size_t n, unsigned flags)
{
	if (flags & HTMLTEXT_INERT)
		sanitize_append(out, s, n, SAN_KEEP_NEWLINES);
	else
		htmltext_clean_utf8(out, s, n);
}

static void escape_raw(struct buf *out, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *ent;

		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#x27;"; break;
		default: continue;
		}
		buf_append(out, s + run, i - run);
		buf_append_str(out, ent);
		run = i + 1;
	}
	buf_append(out, s + run, n - run);
}

void htmltext_escape(struct buf *out, const char *s, size_t n, unsigned flags)
{
	struct buf t = BUF_INIT;

	text_prepare(&t, s, n, flags);
	escape_raw(out, buf_str(&t), t.len);
	buf_free(&t);
}

static void escape_str(struct buf *out, const char *s)
{
	if (s)
		htmltext_escape(out, s, strlen(s), HTMLTEXT_INERT);
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ascii_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ascii_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Case-insensitive (ASCII) search for needle in hay. */
static int contains_ci(const char *hay, const char *needle)
{
	size_t i, j, hn = strlen(hay), nn = strlen(needle);

	for (i = 0; i + nn <= hn; i++) {
		for (j = 0; j < nn && ascii_lower((unsigned char)hay[i + j]) == needle[j]; j++)
			;
		if (j == nn)
			return 1;
	}
	return 0;
}

int htmltext_url_clean(const char *url, struct buf *out)
{
	static const char *const schemes[] = {"http", "https", "mailto"};
	const unsigned char *s = (const unsigned char *)url, *e;
	struct buf u = BUF_INIT;
	size_t i, k;
	unsigned cp;
	int ok = 0;

	if (url == NULL)
		return 0;
	/* Browsers strip leading and trailing C0 controls and spaces, and
	 * drop tab, LF and CR anywhere ("java\tscript:" is javascript:). */
	e = s + strlen(url);
	while (s < e && *s <= 0x20)
		s++;
	while (e > s && e[-1] <= 0x20)
		e--;
	for (; s < e; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\r')
			continue;
		if (*s < 0x20 || *s == 0x7f)
			goto out;
		buf_append_char(&u, (char)*s);
	}
	for (i = 0; i < u.len; i += k)
		if ((k = utf8_decode((const unsigned char *)u.data + i, u.len - i, &cp)) == 0)
			goto out;
	/* An explicit scheme is required: a relative or protocol-relative URL
	 * ("//host/x") would resolve against wherever the file is opened. */
	if (u.len == 0 || !ascii_alpha((unsigned char)u.data[0]))
		goto out;
	for (i = 0; i < u.len && (ascii_alpha((unsigned char)u.data[i]) || ascii_digit((unsigned char)u.data[i]) ||
				  u.data[i] == '+' || u.data[i] == '-' || u.data[i] == '.');
	     i++)
		;
	if (i == u.len || u.data[i] != ':' || i + 1 == u.len)
		goto out;
	for (k = 0; k < sizeof schemes / sizeof schemes[0]; k++) {
		size_t j, sl = strlen(schemes[k]);

		if (sl != i)
			continue;
		for (j = 0; j < sl && ascii_lower((unsigned char)u.data[j]) == schemes[k][j]; j++)
			;
		if (j == sl)
			ok = 1;
	}
	if (ok)
		buf_append(out, u.data, u.len);
out:
	buf_free(&u);
	return ok;
}

int htmltext_data_img(struct buf *out, const struct htmltext_image *img, const char *alt)
{
	static const char *const types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};
	size_t i;

	if (img == NULL || img->mime == NULL || img->data == NULL || img->len == 0)
		return 0;
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(img->mime, types[i]) == 0)
			break;
	if (i == sizeof types / sizeof types[0])
		return 0;
	buf_printf(out, "<img src=\"data:%s;base64,", types[i]);
	b64_encode(out, img->data, img->len);
	buf_append_str(out, "\" alt=\"");
	escape_str(out, alt ? alt : "");
	buf_append_str(out, "\">");
	return 1;
}

/* --- the element allow-list ---------------------------------------------------- */

enum el_kind {
	EL_UNWRAP, /* not listed: drop the tag, keep what is inside */
	EL_DROP,   /* drop with everything inside */
	EL_KEEP,   /* allow-listed, rebuilt without attributes */
	EL_VOID,   /* allow-listed, no content (br, hr) */
	EL_CELL,   /* td, th: colspan/rowspan kept when numeric */
	EL_A,      /* href kept when http, https or mailto */
	EL_IMG,    /* data: URI through the hook, else an "[image]" marker */
	EL_AT,     /* a Teams mention: a styled span */
	EL_EMOJI,  /* a Teams emoji: its alt text */
};

/* What an element means for plain text. */
enum el_text {
	TX_INLINE,
	TX_BLOCK,  /* starts and ends a line */
	TX_BR,
	TX_LI,
	TX_CELL,
	TX_ROW,
	TX_PRE,
	TX_HR,
};

struct el_rule {
	const char *name;
	unsigned char kind;
	unsigned char text;
};

static const struct el_rule el_rules[] = {
	{"a", EL_A, TX_INLINE},
	{"at", EL_AT, TX_INLINE},
	{"b", EL_KEEP, TX_INLINE},
	{"blockquote", EL_KEEP, TX_BLOCK},
	{"br", EL_VOID, TX_BR},
	{"code", EL_KEEP, TX_INLINE},
	{"div", EL_KEEP, TX_BLOCK},
	{"em", EL_KEEP, TX_INLINE},
	{"emoji", EL_EMOJI, TX_INLINE},
	{"h1", EL_KEEP, TX_BLOCK},
	{"h2", EL_KEEP, TX_BLOCK},
	{"h3", EL_KEEP, TX_BLOCK},
	{"h4", EL_KEEP, TX_BLOCK},
	{"h5", EL_KEEP, TX_BLOCK},
	{"h6", EL_KEEP, TX_BLOCK},
	{"hr", EL_VOID, TX_HR},
	{"i", EL_KEEP, TX_INLINE},
	{"img", EL_IMG, TX_INLINE},
	{"li", EL_KEEP, TX_LI},
	{"ol", EL_KEEP, TX_BLOCK},
	{"p", EL_KEEP, TX_BLOCK},
	{"pre", EL_KEEP, TX_PRE},
	{"s", EL_KEEP, TX_INLINE},
	{"span", EL_KEEP, TX_INLINE},
	{"strike", EL_KEEP, TX_INLINE},
	{"strong", EL_KEEP, TX_INLINE},
	{"table", EL_KEEP, TX_BLOCK},
	{"tbody", EL_KEEP, TX_INLINE},
	{"td", EL_CELL, TX_CELL},
	{"th", EL_CELL, TX_CELL},
	{"thead", EL_KEEP, TX_INLINE},
	{"tr", EL_KEEP, TX_ROW},
	{"u", EL_KEEP, TX_INLINE},
	{"ul", EL_KEEP, TX_BLOCK},
	/* Dropped with their content: active content, document metadata,
	 * form controls, and Teams reference elements the writers render themselves
	 * (<attachment id> is shown from the attachments array). */
	{"applet", EL_DROP, 0},
	{"attachment", EL_DROP, 0},
	{"audio", EL_DROP, 0},
	{"base", EL_DROP, 0},
	{"button", EL_DROP, 0},
	{"canvas", EL_DROP, 0},
	{"datalist", EL_DROP, 0},
	{"embed", EL_DROP, 0},
	{"frame", EL_DROP, 0},
	{"frameset", EL_DROP, 0},
	{"iframe", EL_DROP, 0},
	{"input", EL_DROP, 0},
	{"link", EL_DROP, 0},
	{"map", EL_DROP, 0},
	{"math", EL_DROP, 0},
	{"meta", EL_DROP, 0},
	{"noembed", EL_DROP, 0},
	{"noframes", EL_DROP, 0},
	{"noscript", EL_DROP, 0},
	{"object", EL_DROP, 0},
	{"param", EL_DROP, 0},
	{"plaintext", EL_DROP, 0},
	{"script", EL_DROP, 0},
	{"select", EL_DROP, 0},
	{"source", EL_DROP, 0},
	{"style", EL_DROP, 0},
	{"svg", EL_DROP, 0},
	{"systemeventmessage", EL_DROP, 0},
	{"template", EL_DROP, 0},
	{"textarea", EL_DROP, 0},
	{"title", EL_DROP, 0},
	{"track", EL_DROP, 0},
	{"video", EL_DROP, 0},
	{"xmp", EL_DROP, 0},
	/* Unwrapped, but still line breaks in plain text. */
	{"address", EL_UNWRAP, TX_BLOCK},
	{"article", EL_UNWRAP, TX_BLOCK},
	{"aside", EL_UNWRAP, TX_BLOCK},
	{"caption", EL_UNWRAP, TX_BLOCK},
	{"dd", EL_UNWRAP, TX_BLOCK},
	{"details", EL_UNWRAP, TX_BLOCK},
	{"dl", EL_UNWRAP, TX_BLOCK},
	{"dt", EL_UNWRAP, TX_BLOCK},
	{"figcaption", EL_UNWRAP, TX_BLOCK},
	{"figure", EL_UNWRAP, TX_BLOCK},
	{"footer", EL_UNWRAP, TX_BLOCK},
	{"header", EL_UNWRAP, TX_BLOCK},
	{"main", EL_UNWRAP, TX_BLOCK},
	{"nav", EL_UNWRAP, TX_BLOCK},
	{"section", EL_UNWRAP, TX_BLOCK},
	{"summary", EL_UNWRAP, TX_BLOCK},
	{"tfoot", EL_UNWRAP, TX_INLINE},
};

static const struct el_rule *el_rule(const xmlNode *n)
{
	static const struct el_rule unknown = {"", EL_UNWRAP, TX_INLINE};
	size_t i;

	/* The HTML parser lower-cases names; compare case-insensitively anyway. */
	for (i = 0; i < sizeof el_rules / sizeof el_rules[0]; i++)
		if (xmlStrcasecmp(n->name, (const xmlChar *)el_rules[i].name) == 0)
			return &el_rules[i];
	return &unknown;
}

/* An attribute's value (entities decoded by the parser), or NULL. The
 * caller frees it with xmlFree. */
static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static int is_emoji_img(const char *itemtype)
{
	/* Older Teams emoji: <img itemtype="http://schema.skype.com/Emoji" alt="😄" src=...> */
	return itemtype && contains_ci(itemtype, "schema.skype.com/emoji");
}

/* --- parsing ------------------------------------------------------------------ */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

/* Parse a body. NULL for an empty document. The caller frees it. */
static htmlDocPtr parse_body(const char *body, size_t n)
{
	struct buf clean = BUF_INIT;
	htmlDocPtr doc;

	pthread_once(&xml_once, xml_init);
	if (n > BODY_MAX)
		n = BODY_MAX;
	/* Hand the parser valid UTF-8 only, so it never switches encodings. */
	htmltext_clean_utf8(&clean, body, n);
	if (clean.len == 0) {
		buf_free(&clean);
		return NULL;
	}
	/* XML_PARSE_HUGE lifts the nesting limit (about 128 for HTML), past
	 * which libxml2 stops and drops the rest: without it, 128 empty <div>s
	 * in front would hide a message's text from the export. */
	doc = htmlReadMemory(clean.data, (int)clean.len, NULL, "UTF-8",
			     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_RECOVER |
				     XML_PARSE_HUGE);
	buf_free(&clean);
	return doc;
}

/* Visit every node below doc in document order without recursion (bodies
 * may nest thousands deep): enter() says whether to visit a node's children;
 * leave() runs once the node and its children are done. */
struct walker {
	int (*enter)(struct walker *w, xmlNode *n);
	void (*leave)(struct walker *w, xmlNode *n);
};

static void walk(struct walker *w, xmlNode *first)
{
	xmlNode *top = first ? first->parent : NULL;
	xmlNode *n = first;

	while (n != NULL) {
		if (w->enter(w, n) && n->children != NULL) {
			n = n->children;
			continue;
		}
		for (;;) {
			w->leave(w, n);
			if (n->next != NULL) {
				n = n->next;
				break;
			}
			n = n->parent;
			if (n == NULL || n == top) {
				n = NULL;
				break;
			}
		}
	}
}

/* --- safe HTML ----------------------------------------------------------------- */

struct html_walker {
	struct walker w;
	struct buf *out;
	const struct htmltext_opts *opts;
	int depth; /* open tags emitted */
};

static void html_img(struct html_walker *h, const xmlNode *n)
{
	char *src = attr(n, "src"), *alt = attr(n, "alt"), *itemtype = attr(n, "itemtype");

	if (is_emoji_img(itemtype) && alt && *alt) {
		escape_str(h->out, alt);
	} else {
		int inlined = 0;

		if (src && contains_ci(src, "/hostedcontents/") && h->opts->image) {
			struct htmltext_image img;

			memset(&img, 0, sizeof img);
			if (h->opts->image(h->opts->image_ctx, src, &img) == 1)
				inlined = htmltext_data_img(h->out, &img, alt);
		}
		if (!inlined) {
			/* Never the remote URL: it would leak the reader's address
			 * (and Graph URLs) the moment the page is opened. */
			buf_append_str(h->out, "<span class=\"img\">");
			if (alt && *alt) {
				buf_append_str(h->out, "[");
				escape_str(h->out, _("image"));
				buf_append_str(h->out, ": ");
				escape_str(h->out, alt);
				buf_append_str(h->out, "]");
			} else {
				buf_append_str(h->out, "[");
				escape_str(h->out, _("image"));
				buf_append_str(h->out, "]");
			}
			buf_append_str(h->out, "</span>");
		}
	}
	xmlFree(src);
	xmlFree(alt);
	xmlFree(itemtype);
}

/* Append ' name="N"' when the attribute is a small number. */
static void html_number_attr(struct buf *out, const xmlNode *n, const char *name)
{
	char *v = attr(n, name);
	size_t i, len = v ? strlen(v) : 0;

	for (i = 0; i < len && ascii_digit((unsigned char)v[i]); i++)
		;
	if (len > 0 && len <= 3 && i == len)
		buf_printf(out, " %s=\"%s\"", name, v);
	xmlFree(v);
}

/* Append the opening tag (open, or "<name>" when open is NULL) and note in
 * n->_private which end tag html_leave owes. */
static void html_open(struct html_walker *h, xmlNode *n, const char *name, const char *open)
{
	if (open)
		buf_append_str(h->out, open);
	else
		buf_printf(h->out, "<%s>", name);
	n->_private = (void *)name;
	h->depth++;
}

static int html_enter(struct walker *w, xmlNode *n)
{
	struct html_walker *h = (struct html_walker *)w;
	const struct el_rule *r;
	int can_open = h->depth < TAG_DEPTH_MAX;

	n->_private = NULL;
	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (n->content)
			htmltext_escape(h->out, (const char *)n->content, strlen((const char *)n->content),
					h->opts->flags | HTMLTEXT_INERT);
		return 0;
	case XML_ELEMENT_NODE:
		break;
	case XML_DOCUMENT_NODE:
	case XML_HTML_DOCUMENT_NODE:
		return 1;
	default:
		return 0; /* comments, processing instructions, DTDs */
	}
	r = el_rule(n);
	switch (r->kind) {
	case EL_DROP:
		return 0;
	case EL_UNWRAP:
		return 1;
	case EL_VOID:
		buf_printf(h->out, "<%s>", r->name);
		return 0;
	case EL_KEEP:
		if (can_open)
			html_open(h, n, r->name, NULL);
		return 1;
	case EL_CELL:
		if (can_open) {
			struct buf tag = BUF_INIT;

			buf_printf(&tag, "<%s", r->name);
			html_number_attr(&tag, n, "colspan");
			html_number_attr(&tag, n, "rowspan");
			buf_append_char(&tag, '>');
			html_open(h, n, r->name, tag.data);
			buf_free(&tag);
		}
		return 1;
	case EL_A: {
		char *href = attr(n, "href");
		struct buf url = BUF_INIT, tag = BUF_INIT;

		if (can_open && htmltext_url_clean(href, &url)) {
			buf_append_str(&tag, "<a href=\"");
			escape_raw(&tag, url.data, url.len);
			buf_append_str(&tag, "\" rel=\"noopener noreferrer\">");
			html_open(h, n, "a", tag.data);
		}
		buf_free(&url);
		buf_free(&tag);
		xmlFree(href);
		return 1;
	}
	case EL_AT:
		if (can_open)
			html_open(h, n, "span", "<span class=\"mention\">");
		return 1;
	case EL_EMOJI: {
		char *alt = attr(n, "alt");

		escape_str(h->out, alt);
		xmlFree(alt);
		return 0;
	}
	case EL_IMG:
		html_img(h, n);
		return 0;
	}
	return 0;
}

static void html_leave(struct walker *w, xmlNode *n)
{
	struct html_walker *h = (struct html_walker *)w;

	if (n->_private) {
		buf_printf(h->out, "</%s>", (const char *)n->_private);
		n->_private = NULL;
		h->depth--;
	}
}

void htmltext_body_html(struct buf *out, const char *body, size_t n, int is_html,
			const struct htmltext_opts *opts)
{
	static const struct htmltext_opts none = {HTMLTEXT_INERT, NULL, NULL, NULL};
	struct html_walker h;
	htmlDocPtr doc;

	if (body == NULL)
		return;
	if (opts == NULL)
		opts = &none;
	if (!is_html) {
		struct buf t = BUF_INIT;
		size_t i, run = 0;

		htmltext_escape(&t, body, n > BODY_MAX ? BODY_MAX : n, opts->flags | HTMLTEXT_INERT);
		for (i = 0; i < t.len; i++) {
			if (t.data[i] == '\n') {
				buf_append(out, t.data + run, i - run);
				buf_append_str(out, "<br>\n");
				run = i + 1;
			}
		}
		buf_append(out, t.data ? t.data + run : "", t.len - run);
		buf_free(&t);
		return;
	}
	if ((doc = parse_body(body, n)) == NULL)
		return;
	memset(&h, 0, sizeof h);
	h.w.enter = html_enter;
	h.w.leave = html_leave;
	h.out = out;
	h.opts = opts;
	walk(&h.w, doc->children);
	xmlFreeDoc(doc);
}

/* --- plain text ------------------------------------------------------------------ */

struct text_walker {
	struct walker w;
	struct buf *out;
	struct buf scratch;
	size_t start;  /* where this body starts in out */
	unsigned flags;
	int nl;        /* line breaks owed before the next text */
	int space;     /* a space owed */
	int cell;      /* a cell separator owed */
	int pre;       /* inside <pre>: keep whitespace */
};

static int text_at_line_start(const struct text_walker *t)
{
	return t->out->len == t->start || t->out->data[t->out->len - 1] == '\n';
}

/* Pay what is owed before appending visible text. */
static void text_flush(struct text_walker *t)
{
	if (t->out->len == t->start) {
		/* Nothing written yet: leading breaks and spaces are dropped. */
	} else if (t->nl) {
		while (t->out->len > t->start && t->out->data[t->out->len - 1] == ' ')
			buf_truncate(t->out, t->out->len - 1);
		buf_append_str(t->out, t->nl >= 2 ? "\n\n" : "\n");
	} else if (t->cell) {
		buf_append_str(t->out, " | ");
	} else if (t->space && !text_at_line_start(t)) {
		buf_append_char(t->out, ' ');
	}
	t->nl = t->space = t->cell = 0;
}

static void text_emit(struct text_walker *t, const char *s, size_t n)
{
	if (n == 0)
		return;
	text_flush(t);
	buf_append(t->out, s, n);
}

static void text_block(struct text_walker *t)
{
	if (t->nl < 1)
		t->nl = 1;
}

/* Whitespace a browser collapses; U+00A0 (&nbsp;) counts here, since plain
 * text has no use for it. Returns its length at s, or 0. */
static size_t white_len(const char *s, size_t n)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		return 1;
	if (n >= 2 && (unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
		return 2;
	return 0;
}

static void text_node(struct text_walker *t, const char *s, size_t n)
{
	const char *p;
	size_t i = 0;

	buf_reset(&t->scratch);
	text_prepare(&t->scratch, s, n, t->flags);
	p = buf_str(&t->scratch);
	n = t->scratch.len;
	if (t->pre) {
		text_emit(t, p, n);
		return;
	}
	while (i < n) {
		size_t w = white_len(p + i, n - i), j;

		if (w) {
			t->space = 1;
			i += w;
			continue;
		}
		for (j = i; j < n && white_len(p + j, n - j) == 0; j++)
			;
		text_emit(t, p + i, j - i);
		i = j;
	}
}

static void text_alt(struct text_walker *t, const xmlNode *n)
{
	char *alt = attr(n, "alt");

	if (alt)
		text_node(t, alt, strlen(alt));
	xmlFree(alt);
}

static int text_enter(struct walker *w, xmlNode *n)
{
	struct text_walker *t = (struct text_walker *)w;
	const struct el_rule *r;

	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (n->content)
			text_node(t, (const char *)n->content, strlen((const char *)n->content));
		return 0;
	case XML_ELEMENT_NODE:
		break;
	case XML_DOCUMENT_NODE:
	case XML_HTML_DOCUMENT_NODE:
		return 1;
	default:
		return 0;
	}
	r = el_rule(n);
	if (r->kind == EL_DROP)
		return 0;
	if (r->kind == EL_EMOJI) {
		text_alt(t, n);
		return 0;
	}
	if (r->kind == EL_IMG) {
		char *itemtype = attr(n, "itemtype");

		if (is_emoji_img(itemtype)) {
			text_alt(t, n);
		} else {
			const char *label = _("[image]");

			text_emit(t, label, strlen(label));
		}
		xmlFree(itemtype);
		return 0;
	}
	switch (r->text) {
	case TX_BLOCK:
	case TX_ROW:
		text_block(t);
		break;
	case TX_BR:
		t->nl = t->nl >= 2 ? 2 : t->nl + 1;
		if (t->out->len == t->start)
			t->nl = 0;
		return 0;
	case TX_LI:
		text_block(t);
		text_emit(t, "- ", 2);
		break;
	case TX_PRE:
		text_block(t);
		t->pre++;
		break;
	case TX_HR:
		text_block(t);
		text_emit(t, "---", 3);
		text_block(t);
		return 0;
	default:
		break;
	}
	return 1;
}

static void text_leave(struct walker *w, xmlNode *n)
{
	struct text_walker *t = (struct text_walker *)w;
	const struct el_rule *r;

	if (n->type != XML_ELEMENT_NODE)
		return;
	r = el_rule(n);
	if (r->kind == EL_DROP)
		return;
	switch (r->text) {
	case TX_BLOCK:
	case TX_LI:
		text_block(t);
		break;
	case TX_ROW:
		text_block(t);
		t->cell = 0;
		break;
	case TX_PRE:
		text_block(t);
		t->pre--;
		break;
	case TX_CELL:
		if (t->out->len > t->start && !t->nl)
			t->cell = 1;
		break;
	default:
		break;
	}
}

static void trim_end(struct buf *out, size_t start)
{
	while (out->len > start &&
	       (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\t'))
		buf_truncate(out, out->len - 1);
}

void htmltext_body_text(struct buf *out, const char *body, size_t n, int is_html, unsigned flags)
{
	struct text_walker t;
	htmlDocPtr doc;
	size_t start = out->len;

	if (body == NULL)
		return;
	if (n > BODY_MAX)
		n = BODY_MAX;
	if (!is_html) {
		struct buf tmp = BUF_INIT;
		size_t i;

		text_prepare(&tmp, body, n, flags);
		for (i = 0; i < tmp.len; i++)
			if (!(tmp.data[i] == '\r' && i + 1 < tmp.len && tmp.data[i + 1] == '\n'))
				buf_append_char(out, tmp.data[i]);
		buf_free(&tmp);
		trim_end(out, start);
		return;
	}
	if ((doc = parse_body(body, n)) == NULL)
		return;
	memset(&t, 0, sizeof t);
	t.w.enter = text_enter;
	t.w.leave = text_leave;
	t.out = out;
	t.start = start;
	t.flags = flags;
	walk(&t.w, doc->children);
	xmlFreeDoc(doc);
	buf_free(&t.scratch);
	trim_end(out, start);
}

/* --- whole messages ----------------------------------------------------------------- */

const cJSON *htmltext_member(const cJSON *chat, const char *user_id)
{
	const cJSON *m;

	if (user_id == NULL)
		return NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(chat, "members"))
	{
		const char *uid = json_str(m, "userId");

		if (uid && strcmp(uid, user_id) == 0)
			return m;
	}
	return NULL;
}

int htmltext_is_event(const cJSON *msg)
{
	const char *type = json_str(msg, "messageType");

	return (type && strcmp(type, "systemEventMessage") == 0) ||
	       cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(msg, "eventDetail"));
}

/* A user's name from an identity ({id, displayName}), falling back to the
 * chat's member list (Graph often leaves displayName null in events). */
static const char *identity_name(const cJSON *ident, const cJSON *chat)
{
	const char *name = json_str(ident, "displayName");
	const cJSON *member;

	if (name && *name)
		return name;
	member = htmltext_member(chat, json_str(ident, "id"));
	name = json_str(member, "displayName");
	return name && *name ? name : NULL;
}

const char *htmltext_sender(const cJSON *msg, const cJSON *chat)
{
	const cJSON *user = json_path(msg, "from/user");
	const cJSON *app = json_path(msg, "from/application");
	const char *name;

	if (cJSON_IsObject(user))
		return (name = identity_name(user, chat)) ? name : _("Unknown user");
	if (cJSON_IsObject(app))
		return (name = json_str(app, "displayName")) && *name ? name : _("Application");
	/* Graph: from "may be null for a message ... sent by the Microsoft
	 * Teams internal system". */
	return _("System");
}

const char *htmltext_sender_id(const cJSON *msg)
{
	const char *id = json_str(msg, "from/user/id");

	return id ? id : json_str(msg, "from/application/id");
}

enum ev_arg { EV_NONE, EV_MEMBERS, EV_CHATNAME, EV_RECORDING, EV_APP, EV_ROLE };

/* eventMessageDetail subtypes (graph-facts.md 3.4), by @odata.type with
 * "#microsoft.graph." and "EventMessageDetail" taken off. */
static const struct {
	const char *type;
	const char *label;
	unsigned char arg;
} events[] = {
	{"membersAdded", N_("Members added"), EV_MEMBERS},
	{"membersDeleted", N_("Members removed"), EV_MEMBERS},
	{"membersJoined", N_("Members joined"), EV_MEMBERS},
	{"membersLeft", N_("Members left"), EV_MEMBERS},
	{"chatRenamed", N_("Chat renamed to"), EV_CHATNAME},
	{"callStarted", N_("Call started"), EV_NONE},
	{"callEnded", N_("Call ended"), EV_NONE},
	{"callRecording", N_("Call recording"), EV_RECORDING},
	{"callTranscript", N_("Call transcript"), EV_NONE},
	{"messagePinned", N_("Message pinned"), EV_NONE},
	{"messageUnpinned", N_("Message unpinned"), EV_NONE},
	{"teamsAppInstalled", N_("App installed"), EV_APP},
	{"teamsAppRemoved", N_("App removed"), EV_APP},
	{"teamsAppUpgraded", N_("App upgraded"), EV_APP},
	{"conversationMemberRoleUpdated", N_("Member role changed"), EV_ROLE},
	{"meetingPolicyUpdated", N_("Meeting policy updated"), EV_NONE},
};

void htmltext_event(struct buf *out, const cJSON *msg, const cJSON *chat)
{
	const cJSON *ed = cJSON_GetObjectItemCaseSensitive(msg, "eventDetail");
	const char *odata = json_str(ed, "@odata.type");
	const char *by = identity_name(json_path(ed, "initiator/user"), chat);
	char type[96] = "";
	size_t i, len;

	if (odata) {
		const char *p = strncmp(odata, "#microsoft.graph.", 17) == 0 ? odata + 17 : odata;

		len = strlen(p);
		if (len > 18 && strcmp(p + len - 18, "EventMessageDetail") == 0)
			len -= 18;
		if (len >= sizeof type)
			len = sizeof type - 1;
		memcpy(type, p, len);
		type[len] = '\0';
	}
	if (by == NULL)
		by = json_str(ed, "initiator/application/displayName");
	for (i = 0; i < sizeof events / sizeof events[0]; i++)
		if (strcmp(type, events[i].type) == 0)
			break;
	if (i == sizeof events / sizeof events[0]) {
		buf_append_str(out, _("Event"));
		if (type[0]) {
			buf_append_str(out, ": ");
			buf_append_str(out, type);
		}
	} else {
		const char *arg = NULL;

		buf_append_str(out, _(events[i].label));
		switch (events[i].arg) {
		case EV_MEMBERS: {
			const cJSON *mem;
			int n = 0;

			cJSON_ArrayForEach(mem, cJSON_GetObjectItemCaseSensitive(ed, "members"))
			{
				const char *name = identity_name(mem, chat);

				buf_append_str(out, n == 0 ? ": " : ", ");
				if (++n > 20) {
					buf_append_str(out, "…");
					break;
				}
				buf_append_str(out, name ? name : _("unknown user"));
			}
			break;
		}
		case EV_CHATNAME:
			if ((arg = json_str(ed, "chatDisplayName")) != NULL)
				buf_printf(out, " \"%s\"", arg);
			break;
		case EV_RECORDING:
			arg = json_str(ed, "callRecordingDisplayName");
			break;
		case EV_APP:
			arg = json_str(ed, "teamsAppDisplayName");
			break;
		case EV_ROLE:
			arg = identity_name(json_path(ed, "conversationMemberUser"), chat);
			break;
		default:
			break;
		}
		if (arg && events[i].arg != EV_CHATNAME) {
			buf_append_str(out, ": ");
			buf_append_str(out, arg);
		}
	}
	if (by)
		buf_printf(out, _(" (by %s)"), by);
}

void htmltext_participants(struct buf *out, const cJSON *chat, const char *sep)
{
	const cJSON *m;
	int n = 0;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(chat, "members"))
	{
		const char *name = json_str(m, "displayName");

		if (name == NULL || *name == '\0')
			name = json_str(m, "email");
		if (name == NULL || *name == '\0')
			continue;
		if (n++)
			buf_append_str(out, sep);
		buf_append_str(out, name);
	}
}

void htmltext_scope(struct buf *out, int64_t from_ms, int64_t to_ms, int64_t as_of)
{
	char from[ISO8601_LEN], to[ISO8601_LEN];

	time_format_iso8601(from_ms, from, sizeof from);
	time_format_iso8601(to_ms, to, sizeof to);
	from[10] = to[10] = '\0'; /* YYYY-MM-DD */
	if (from_ms && to_ms)
		buf_printf(out, _("Messages from %s to %s (UTC)"), from, to);
	else if (from_ms)
		buf_printf(out, _("Messages from %s (UTC)"), from);
	else if (to_ms)
		buf_printf(out, _("Messages up to %s (UTC)"), to);
	else
		buf_append_str(out, _("All messages"));
	buf_append_str(out, "; ");
	if (as_of)
		buf_printf(out, _("as of snapshot %lld"), (long long)as_of);
	else
		buf_append_str(out, _("latest"));
}

/* Reaction types from before Teams sent the emoji itself. */
static const char *reaction_label(const cJSON *r)
{
	static const struct {
		const char *type, *emoji;
	} legacy[] = {
		{"like", "👍"}, {"heart", "❤️"}, {"laugh", "😆"},
		{"surprised", "😮"}, {"sad", "😢"}, {"angry", "😠"},
	};
	const char *type = json_str(r, "reactionType");
	size_t i;

	if (type == NULL || *type == '\0')
		return "?";
	for (i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
		if (strcmp(type, legacy[i].type) == 0)
			return legacy[i].emoji;
	if (strcmp(type, "custom") == 0) {
		const char *name = json_str(r, "displayName");

		return name && *name ? name : "custom";
	}
	return type;
}

int htmltext_reactions(const cJSON *msg, struct htmltext_reaction *r, int max)
{
	const cJSON *it;
	int n = 0, i;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, "reactions"))
	{
		const char *label = reaction_label(it);

		for (i = 0; i < n && strcmp(r[i].label, label) != 0; i++)
			;
		if (i < n) {
			r[i].count++;
		} else if (n < max) {
			r[n].label = label;
			r[n].count = 1;
			n++;
		}
	}
	return n;
}

void htmltext_reactions_text(struct buf *out, const cJSON *msg, const char *sep)
{
	struct htmltext_reaction r[32];
	int i, n = htmltext_reactions(msg, r, 32);

	for (i = 0; i < n; i++)
		buf_printf(out, "%s%s %d", i ? sep : "", r[i].label, r[i].count);
}

enum att_kind { ATT_OTHER, ATT_FILE, ATT_CARD, ATT_QUOTE };

static enum att_kind att_kind(const cJSON *a)
{
	const char *ct = json_str(a, "contentType");
	const char *name = json_str(a, "name");

	if (ct && strcmp(ct, "reference") == 0)
		return ATT_FILE;
	if (ct && (strcmp(ct, "messageReference") == 0 || strcmp(ct, "forwardedMessageReference") == 0))
		return ATT_QUOTE;
	if (ct && strncmp(ct, "application/vnd.microsoft.card.", 31) == 0)
		return ATT_CARD;
	return name && *name ? ATT_FILE : ATT_OTHER;
}

void htmltext_attachment_names(struct buf *out, const cJSON *msg, const char *sep)
{
	const cJSON *a;
	int n = 0;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(msg, "attachments"))
	{
		const char *name = json_str(a, "name");

		if (att_kind(a) != ATT_FILE || name == NULL || *name == '\0')
			continue;
		if (n++)
			buf_append_str(out, sep);
		buf_append_str(out, name);
	}
}

/* An attachment's content: Graph sends cards as a JSON string. The caller
 * frees the result. */
static cJSON *att_content(const cJSON *a)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "content");

	if (cJSON_IsString(c) && c->valuestring)
		return json_parse(c->valuestring, strlen(c->valuestring));
	if (cJSON_IsObject(c))
		return cJSON_Duplicate(c, 1);
	return NULL;
}

/* Readable text of a card: the first top-level "title" as its title, then
 * every "title", "subtitle" and "text" (and FactSet "title: value") in
 * document order, one per line. Bounded in depth and count. */
static void card_collect(const cJSON *j, struct buf *title, struct buf *lines, int depth, int *count)
{
	const cJSON *c;

	if (depth > 24 || *count > 200)
		return;
	if (cJSON_IsObject(j)) {
		const char *t = json_str(j, "title"), *v = json_str(j, "value");

		if (t && v && *t) {
			buf_printf(lines, "%s%s: %s", lines->len ? "\n" : "", t, v);
			++*count;
		}
	}
	cJSON_ArrayForEach(c, j)
	{
		if (cJSON_IsString(c) && c->string && c->valuestring && *c->valuestring) {
			int is_title = strcmp(c->string, "title") == 0;

			if (is_title && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "value")))
				continue; /* shown with its value above */
			if (is_title && depth == 0 && title->len == 0) {
				buf_append_str(title, c->valuestring);
			} else if (is_title || strcmp(c->string, "subtitle") == 0 || strcmp(c->string, "text") == 0) {
				if (lines->len)
					buf_append_char(lines, '\n');
				buf_append_str(lines, c->valuestring);
				++*count;
			}
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			card_collect(c, title, lines, depth + 1, count);
		}
	}
}

/* Title and lines of a card or quoted message attachment. */
static void att_text(const cJSON *a, enum att_kind kind, struct buf *title, struct buf *lines)
{
	cJSON *c = att_content(a);
	int count = 0;

	if (kind == ATT_QUOTE) {
		const char *who = json_str(c, "messageSender/user/displayName");
		const char *preview = json_str(c, "messagePreview");

		if (who == NULL)
			who = json_str(c, "messageSender/application/displayName");
		buf_append_str(title, who ? who : _("Quoted message"));
		if (preview)
			buf_append_str(lines, preview);
		else
			card_collect(c, title, lines, 1, &count);
	} else {
		card_collect(c, title, lines, 0, &count);
		if (title->len == 0 && lines->len == 0) {
			const char *name = json_str(a, "name");

			buf_append_str(title, name && *name ? name : _("Card"));
		}
	}
	cJSON_Delete(c);
}

static int is_html_body(const cJSON *msg)
{
	const char *ct = json_str(msg, "body/contentType");

	/* Graph: "The content is always in HTML if the chat message contains a
	 * chatMessageMention"; only an explicit "text" is plain text. */
	return ct == NULL || strcmp(ct, "text") != 0;
}

void htmltext_message_text(struct buf *out, const cJSON *msg, const cJSON *chat, unsigned flags)
{
	const char *body = json_str(msg, "body/content");
	const cJSON *a;

	if (htmltext_is_event(msg)) {
		struct buf ev = BUF_INIT;

		htmltext_event(&ev, msg, chat);
		text_prepare(out, buf_str(&ev), ev.len, flags);
		buf_free(&ev);
		return;
	}
	if (body)
		htmltext_body_text(out, body, strlen(body), is_html_body(msg), flags);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(msg, "attachments"))
	{
		enum att_kind kind = att_kind(a);
		struct buf title = BUF_INIT, lines = BUF_INIT;

		if (kind != ATT_CARD && kind != ATT_QUOTE)
			continue;
		att_text(a, kind, &title, &lines);
		if (out->len)
			buf_append_char(out, '\n');
		if (kind == ATT_QUOTE) {
			buf_append_str(out, "> ");
			text_prepare(out, buf_str(&title), title.len, flags);
			buf_append_str(out, ": ");
		} else {
			buf_printf(out, "[%s] ", _("Card"));
			text_prepare(out, buf_str(&title), title.len, flags);
			if (title.len && lines.len)
				buf_append_char(out, '\n');
		}
		text_prepare(out, buf_str(&lines), lines.len, flags);
		buf_free(&title);
		buf_free(&lines);
	}
}

/* Plain text with line breaks as <br>, escaped. */
static void html_lines(struct buf *out, const char *s, size_t n)
{
	const char *end = s + n, *nl;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		htmltext_escape(out, s, (size_t)((nl ? nl : end) - s), HTMLTEXT_INERT);
		if (nl == NULL)
			break;
		buf_append_str(out, "<br>");
		s = nl + 1;
	}
}

/* A relative path as an href: each segment percent-encoded, so no name can
 * become a scheme, a query or a way out of the export. */
static void href_path(struct buf *out, const char *path)
{
	struct buf seg = BUF_INIT, enc = BUF_INIT;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		buf_reset(&seg);
		buf_append(&seg, p, n);
		buf_reset(&enc);
		url_escape(&enc, seg.data);
		buf_append(out, enc.data, enc.len);
		if (!slash)
			break;
		buf_append_char(out, '/');
		p = slash + 1;
	}
	buf_free(&seg);
	buf_free(&enc);
}

static void html_attachments(struct buf *out, const cJSON *msg, const struct htmltext_opts *opts)
{
	const cJSON *a;
	int files = 0;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(msg, "attachments"))
	{
		enum att_kind kind = att_kind(a);
		struct buf title = BUF_INIT, lines = BUF_INIT;

		if (kind == ATT_CARD) {
			att_text(a, kind, &title, &lines);
			buf_append_str(out, "<div class=\"card\">");
			if (title.len) {
				buf_append_str(out, "<div class=\"card-title\">");
				html_lines(out, title.data, title.len);
				buf_append_str(out, "</div>");
			}
			if (lines.len) {
				buf_append_str(out, "<div>");
				html_lines(out, lines.data, lines.len);
				buf_append_str(out, "</div>");
			}
			buf_append_str(out, "</div>\n");
		} else if (kind == ATT_QUOTE) {
			att_text(a, kind, &title, &lines);
			buf_append_str(out, "<blockquote class=\"quote\"><b>");
			html_lines(out, buf_str(&title), title.len);
			buf_append_str(out, "</b><br>");
			html_lines(out, buf_str(&lines), lines.len);
			buf_append_str(out, "</blockquote>\n");
		}
		buf_free(&title);
		buf_free(&lines);
	}
	/* Never the SharePoint URL (a remote address): the name, linked to the
	 * copy beside the page when the export has --attachments. The link
	 * downloads the copy rather than opening it: a file sent as .html or
	 * .svg would otherwise run outside this page's content policy. */
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(msg, "attachments"))
	{
		const char *href = NULL, *url = json_str(a, "contentUrl");

		if (att_kind(a) != ATT_FILE)
			continue;
		if (opts && opts->file_href && url)
			href = opts->file_href(opts->image_ctx, url);
		buf_append_str(out, files++ ? "" : "<ul class=\"files\">");
		buf_append_str(out, "<li>📎 ");
		if (href) {
			buf_append_str(out, "<a href=\"");
			href_path(out, href);
			buf_append_str(out, "\" download>");
		}
		escape_str(out, json_str(a, "name"));
		buf_append_str(out, href ? "</a></li>" : "</li>");
	}
	if (files)
		buf_append_str(out, "</ul>\n");
}

void htmltext_message_html(struct buf *out, const struct export_message *m, const cJSON *chat,
			   const struct htmltext_opts *opts)
{
	const cJSON *msg = m->msg;
	const char *id = json_str_or(msg, "id", "");
	const char *body = json_str(msg, "body/content");
	char local[64], iso[ISO8601_LEN];
	struct htmltext_reaction r[32];
	int i, nr;

	time_format_local(m->created, local, sizeof local);
	time_format_iso8601(m->created, iso, sizeof iso);
	if (htmltext_is_event(msg)) {
		struct buf ev = BUF_INIT;

		htmltext_event(&ev, msg, chat);
		buf_append_str(out, "<div class=\"event\" id=\"m-");
		escape_str(out, id);
		buf_printf(out, "\"><time datetime=\"%s\">%s</time> — ", iso, local);
		htmltext_escape(out, buf_str(&ev), ev.len, HTMLTEXT_INERT);
		buf_append_str(out, "</div>\n");
		buf_free(&ev);
		return;
	}
	buf_append_str(out, m->deleted ? "<article class=\"msg deleted\" id=\"m-" : "<article class=\"msg\" id=\"m-");
	escape_str(out, id);
	buf_append_str(out, "\">\n<div class=\"meta\"><span class=\"from\">");
	escape_str(out, htmltext_sender(msg, chat));
	buf_printf(out, "</span> <time datetime=\"%s\">%s</time>", iso, local);
	if (m->edited) {
		buf_append_str(out, " <span class=\"mark\">");
		escape_str(out, _("edited"));
		buf_append_str(out, "</span>");
	}
	if (m->deleted) {
		buf_append_str(out, " <span class=\"mark deleted\">");
		escape_str(out, _("deleted"));
		buf_append_str(out, "</span> ");
		escape_str(out, body && *body ? _("(the content as it was backed up before the deletion)")
					      : _("(no content was backed up before the deletion)"));
	}
	buf_append_str(out, "</div>\n<div class=\"body\">");
	if (body)
		htmltext_body_html(out, body, strlen(body), is_html_body(msg), opts);
	buf_append_str(out, "</div>\n");
	html_attachments(out, msg, opts);
	if ((nr = htmltext_reactions(msg, r, 32)) > 0) {
		buf_append_str(out, "<div class=\"reactions\">");
		for (i = 0; i < nr; i++) {
			buf_append_str(out, "<span>");
			escape_str(out, r[i].label);
			buf_printf(out, " %d</span>", r[i].count);
		}
		buf_append_str(out, "</div>\n");
	}
	buf_append_str(out, "</article>\n");
}
