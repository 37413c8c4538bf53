/*
 * Unit tests for the export writers (src/export/html.c, csv.c, eml.c, pdf.c)
 * and the body parser they share (htmltext.c). First the sanitiser and the
 * plain-text conversion on their own; then a real store holding hostile
 * content (test plan items 38-45) is exported in every format and the files
 * are judged by tests/unit/export_check.py with Python's csv, html.parser and
 * email packages, qpdf and pdftotext, and the EML files once more by GMime's
 * parser. CV_EXPORT_BENCH=N adds a timing run over one chat of N messages.
 */
#include "config.h"

#include "tap.h"
#include "export/export.h"
#include "export/htmltext.h"
#include "export/names.h"
#include "store/accounts.h"
#include "store/messages.h"
#include "store/snapshots.h"
#include "store/store.h"
#include "store/tenants.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gmime/gmime.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char PASS[] = "export test passphrase";
#define TENANT_GUID "11111111-2222-3333-4444-555555555555"
#define T0 1705312800000LL /* 2024-01-15T10:00:00Z */

static char tmpdir[] = "/tmp/cv-export-XXXXXX";

/* --- htmltext on its own ------------------------------------------------------ */

static char *to_html(const char *body, int is_html, const struct htmltext_opts *o)
{
	struct buf b = BUF_INIT;

	htmltext_body_html(&b, body, strlen(body), is_html, o);
	return buf_steal(&b);
}

static char *to_text(const char *body, int is_html, unsigned flags)
{
	struct buf b = BUF_INIT;

	htmltext_body_text(&b, body, strlen(body), is_html, flags);
	return buf_steal(&b);
}

#define HTML_IS(body, want, what)                        \
	do {                                             \
		char *got_ = to_html((body), 1, NULL);   \
		is_str(got_, (want), "html: %s", (what)); \
		free(got_);                              \
	} while (0)

#define TEXT_IS(body, want, what)                        \
	do {                                             \
		char *got_ = to_text((body), 1, 0);      \
		is_str(got_, (want), "text: %s", (what)); \
		free(got_);                              \
	} while (0)

static const unsigned char png1x1[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* The attachments hook, as the store will serve it: bytes for hosted
 * contents only. */
static int fake_hosted(void *ctx, const char *src, struct htmltext_image *img)
{
	int *calls = ctx;

	++*calls;
	img->mime = strstr(src, "svg") ? "image/svg+xml" : "image/png";
	img->data = png1x1;
	img->len = sizeof png1x1;
	return 1;
}

static void test_sanitiser(void)
{
	struct htmltext_opts hook = {HTMLTEXT_INERT, fake_hosted, NULL, NULL};
	struct buf b = BUF_INIT;
	int calls = 0;
	char *s;

	HTML_IS("<p>Hello <script>alert(1)</script>world</p>", "<p>Hello world</p>", "script dropped with content");
	HTML_IS("<img src=x onerror=alert(1)>", "<span class=\"img\">[image]</span>", "img onerror -> [image] marker");
	HTML_IS("<a href=\"javascript:alert(1)\">x</a>", "x", "javascript: link unwrapped");
	HTML_IS("<a href=\" JaVaScRiPt:alert(1)\">x</a>", "x", "mixed-case, spaced javascript: link");
	HTML_IS("<a href=\"java&#x09;script:alert(1)\">x</a>", "x", "entity tab inside javascript:");
	HTML_IS("<a href=\"java\tscript:alert(1)\">x</a>", "x", "raw tab inside javascript:");
	HTML_IS("<a href=\"vbscript:x\">v</a><a href=\"data:text/html,x\">d</a><a href=\"//evil/x\">r</a>",
		"vdr", "vbscript:, data:, protocol-relative dropped");
	HTML_IS("<a href=\" https://example.com/a?b=1&amp;c=&quot;2\" onclick=x>ok</a>",
		"<a href=\"https://example.com/a?b=1&amp;c=&quot;2\" rel=\"noopener noreferrer\">ok</a>",
		"https link kept, trimmed, escaped, rel added");
	HTML_IS("<a href=\"MAILTO:bob@example.com\">m</a>",
		"<a href=\"MAILTO:bob@example.com\" rel=\"noopener noreferrer\">m</a>", "mailto kept");
	HTML_IS("<svg onload=alert(1)><b>in</b></svg><iframe src=\"https://evil/\">f</iframe><p>after</p>",
		"<p>after</p>", "svg and iframe dropped with content");
	HTML_IS("<style>p{}</style><base href=\"https://evil/\"><p>x</p>", "<p>x</p>", "style and base dropped");
	HTML_IS("<p style=\"color:red\" class=\"c\" id=\"i\" onclick=\"x\">t</p>", "<p>t</p>",
		"attributes dropped");
	HTML_IS("<img src=\"https://evil/x.png\" alt=\"a &quot;pic&quot;\">",
		"<span class=\"img\">[image: a &quot;pic&quot;]</span>", "remote img -> [image] marker with alt");
	HTML_IS("<at id=\"0\">Bob</at>", "<span class=\"mention\">Bob</span>", "mention -> styled span");
	HTML_IS("<p>&lt;b&gt; &amp; ' \"</p>", "<p>&lt;b&gt; &amp; &#x27; &quot;</p>", "text escaped");
	/* libxml2 drops the ESC itself (not an XML character). */
	HTML_IS("<p>a\x1b[31mb\xe2\x80\xae\x7f</p>", "<p>a[31mb&lt;U+202E&gt;^?</p>", "ANSI and bidi made inert");
	HTML_IS("<emoji id=\"smile\" alt=\"😄\" title=\"Smile\"></emoji>", "😄", "Teams emoji -> alt");
	HTML_IS("<table><tr><td colspan=\"2\" width=\"9\">a</td><td rowspan=\"x\">b</td></tr></table>",
		"<table><tr><td colspan=\"2\">a</td><td>b</td></tr></table>", "tables, numeric spans");
	HTML_IS("<!-- c --><p>x<?pi?></p>", "<p>x</p>", "comments and PIs dropped");
	HTML_IS("<attachment id=\"1\"></attachment><systemEventMessage/>", "", "Teams reference elements dropped");
	HTML_IS("", "", "empty body");

	s = to_html("<img src=\"https://graph.microsoft.com/v1.0/chats/c/messages/1/hostedContents/aWQ9/$value\">",
		    1, NULL);
	is_str(s, "<span class=\"img\">[image]</span>", "html: hosted content without the hook -> [image]");
	free(s);
	hook.image_ctx = &calls;
	s = to_html("<img src=\"https://graph.microsoft.com/v1.0/chats/c/messages/1/hostedContents/aWQ9/$value\" "
		    "alt=\"x\"><img src=\"https://evil/x.png\">",
		    1, &hook);
	is_str(s,
	       "<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"x\"><span class=\"img\">[image]</span>",
	       "html: hook inlines hosted content as data:, never asked for a remote URL");
	is_int(calls, 1, "html: hook called once");
	free(s);
	s = to_html("<img src=\"https://g/hostedContents/svg/$value\">", 1, &hook);
	is_str(s, "<span class=\"img\">[image]</span>", "html: hook's SVG refused");
	free(s);

	{
		/* 20,000 nested elements: no recursion in our walk. */
		struct buf deep = BUF_INIT;
		char *t;
		int i;

		for (i = 0; i < 20000; i++)
			buf_append_str(&deep, "<div><b>");
		buf_append_str(&deep, "deep");
		t = to_text(deep.data, 1, 0);
		is_str(t, "deep", "text: 20,000 nested elements");
		free(t);
		t = to_html(deep.data, 1, NULL);
		ok(strstr(t, "deep") != NULL && strlen(t) < 4000, "html: deep nesting flattened (%zu bytes)",
		   strlen(t));
		free(t);
		buf_free(&deep);
	}

	TEXT_IS("<div>line1<br>line2</div><ul><li>one</li><li>two</li></ul>"
		"<table><tr><td>a</td><td>b</td></tr></table>&lt;not a tag&gt; &amp; &quot;q&quot;",
		"line1\nline2\n- one\n- two\na | b\n<not a tag> & \"q\"", "blocks, lists, cells, entities");
	TEXT_IS("<p>  Hello \n\n  <b>big</b>   world&nbsp; </p><p></p><p>next</p>", "Hello big world\nnext",
		"whitespace collapsed");
	TEXT_IS("<p>a</p><br><p>b</p>", "a\n\nb", "a <br> between blocks is a blank line");
	TEXT_IS("<pre>  x\n    y</pre>", "  x\n    y", "pre kept");
	TEXT_IS("<p>Hi <at id=\"0\">Bob</at>!</p>", "Hi Bob!", "mention text");
	TEXT_IS("<p>see <img src=\"x\"> and <img itemtype=\"http://schema.skype.com/Emoji\" alt=\"🙂\" src=\"x\"></p>",
		"see [image] and 🙂", "images, emoji images");
	TEXT_IS("<script>x</script><style>y</style><p>z</p>", "z", "script and style text dropped");
	s = to_text("a\x1b[1m\xe2\x80\xae", 0, HTMLTEXT_INERT);
	is_str(s, "a^[[1m<U+202E>", "text: inert flag for display");
	free(s);
	s = to_text("a\r\nb\xff", 0, 0);
	is_str(s, "a\nb\xef\xbf\xbd", "text: plain body, CRLF and invalid UTF-8");
	free(s);

	ok(htmltext_url_clean("\x01 https://a.example/\n", &b) == 1 && strcmp(b.data, "https://a.example/") == 0,
	   "url: control and space trimmed");
	buf_reset(&b);
	ok(htmltext_url_clean("https://a\x01" "b", &b) == 0, "url: control inside refused");
	ok(htmltext_url_clean("/local/path", &b) == 0 && htmltext_url_clean("https:", &b) == 0 &&
		   htmltext_url_clean("ftp://x", &b) == 0 && htmltext_url_clean("%6Aavascript:x", &b) == 0,
	   "url: relative, empty, ftp, percent-encoded scheme refused");
	buf_free(&b);
}

static void test_message_parts(void)
{
	cJSON *chat = cJSON_Parse("{\"members\":[{\"userId\":\"u1\",\"displayName\":\"Ann\",\"email\":\"ann@x\"},"
				  "{\"userId\":\"u2\",\"displayName\":\"Ben\"}]}");
	cJSON *msg = cJSON_Parse(
		"{\"messageType\":\"systemEventMessage\",\"eventDetail\":{\"@odata.type\":"
		"\"#microsoft.graph.membersAddedEventMessageDetail\",\"members\":[{\"id\":\"u2\",\"displayName\":null}],"
		"\"initiator\":{\"user\":{\"id\":\"u1\",\"displayName\":null}}},"
		"\"reactions\":[{\"reactionType\":\"like\"},{\"reactionType\":\"👍\"},{\"reactionType\":\"custom\","
		"\"displayName\":\"Party\"},{\"reactionType\":\"heart\"}]}");
	struct buf b = BUF_INIT;

	htmltext_event(&b, msg, chat);
	is_str(b.data, "Members added: Ben (by Ann)", "event: members added, names from the member list");
	is_str(htmltext_sender(msg, chat), "System", "sender of an event");
	buf_reset(&b);
	htmltext_reactions_text(&b, msg, "; ");
	is_str(b.data, "👍 2; Party 1; ❤️ 1", "reactions: legacy types mapped and counted");
	cJSON_Delete(msg);
	buf_reset(&b);
	msg = cJSON_Parse("{\"eventDetail\":{\"@odata.type\":\"#microsoft.graph.chatRenamedEventMessageDetail\","
			  "\"chatDisplayName\":\"New\"}}");
	htmltext_event(&b, msg, chat);
	is_str(b.data, "Chat renamed to \"New\"", "event: chat renamed");
	cJSON_Delete(msg);
	buf_reset(&b);
	msg = cJSON_Parse("{\"eventDetail\":{\"@odata.type\":\"#microsoft.graph.somethingNewEventMessageDetail\"}}");
	htmltext_event(&b, msg, chat);
	is_str(b.data, "Event: somethingNew", "event: unknown type named");
	cJSON_Delete(msg);
	msg = cJSON_Parse("{\"from\":{\"user\":{\"id\":\"u2\",\"displayName\":null}}}");
	is_str(htmltext_sender(msg, chat), "Ben", "sender: display name from the member list");
	cJSON_Delete(msg);
	msg = cJSON_Parse("{\"from\":{\"application\":{\"id\":\"a\",\"displayName\":\"Bot\"}}}");
	is_str(htmltext_sender(msg, chat), "Bot", "sender: application");
	cJSON_Delete(msg);
	buf_free(&b);
	cJSON_Delete(chat);
}

/* --- file names ------------------------------------------------------------------ */

/* s repeated n times, then tail; the caller frees it. */
static char *repeat(const char *s, int n, const char *tail)
{
	struct buf b = BUF_INIT;

	while (n-- > 0)
		buf_append_str(&b, s);
	buf_append_str(&b, tail);
	return buf_steal(&b);
}

#define NAME_IS(ns, text, ext, want, what)                               \
	do {                                                             \
		char *text_ = (text), *want_ = (want);                   \
		char *name_ = name_make((ns), text_, "file", (ext));     \
		is_str(name_, want_, "name: %s", (what));                \
		free(name_);                                             \
		free(text_);                                             \
		free(want_);                                             \
	} while (0)

static void test_names(void)
{
	struct name_set *ns = name_set_new();
	char small[21];

	/* A name longer than NAME_MAX_BYTES loses the end of its stem, not
	 * its extension, and a second one is told apart before it. */
	NAME_IS(ns, repeat("a", 200, ".xlsx"), "", repeat("a", 75, ".xlsx"), "a long file name keeps .xlsx");
	NAME_IS(ns, repeat("a", 200, ".xlsx"), "", repeat("a", 75, " (2).xlsx"), "its twin is made unique before .xlsx");
	NAME_IS(ns, repeat("\xe2\x82\xac", 50, ".pdf"), "", repeat("\xe2\x82\xac", 25, ".pdf"),
		"cut between characters (UTF-8), .pdf kept");
	NAME_IS(ns, repeat("b", 74, "                    .docx"), "", repeat("b", 74, ".docx"),
		"spaces at the cut trimmed before the extension");
	NAME_IS(ns, repeat("c", 200, ".xlsx"), ".unavailable.txt", repeat("c", 75, ".xlsx.unavailable.txt"),
		"the file's extension kept before the writer's own");
	/* What is not an extension is cut like the rest. */
	NAME_IS(ns, repeat("d", 100, ".abcdefghijklmno"), "", repeat("d", 64, ".abcdefghijklmno"),
		"a 16-byte extension (with its dot) is kept");
	NAME_IS(ns, repeat("d", 100, ".abcdefghijklmnop"), "", repeat("d", 80, ""), "a 17-byte one is cut");
	NAME_IS(ns, repeat("e", 100, " v1.2"), "", repeat("e", 80, ""), "a version number is no extension");
	/* Short names: untouched, a duplicate numbered before the extension. */
	NAME_IS(ns, xstrdup("Report.PDF"), "", xstrdup("Report.PDF"), "a short name as it is");
	NAME_IS(ns, xstrdup("report.pdf"), "", xstrdup("report (2).pdf"), "a duplicate (any case) numbered");
	NAME_IS(ns, xstrdup("aux.docx"), "", xstrdup("_aux.docx"), "a device name with an extension");
	name_set_free(&ns);

	{
		char *t = repeat("f", 50, ".pdf");

		name_sanitize(t, small, sizeof small);
		is_str(small, "ffffffffffffffff.pdf", "name_sanitize: a small buffer keeps the extension too");
		free(t);
		t = repeat("\xf0\x9f\x8e\x89", 10, ".abcdefgh");
		name_sanitize(t, small, sizeof small);
		is_str(small, "\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89.abcdefgh", "name_sanitize: emoji stem, long extension");
		free(t);
	}
}

/* --- a store with hostile content ---------------------------------------------------- */

struct fixture {
	struct store *st;
	int64_t tenant, account, snap1, snap2;
	cJSON *expect;   /* {"messages": [...], "chats": {...}} for export_check.py */
	int64_t total;
};

static struct cv_err err;

static cJSON *member(const char *uid, const char *name, const char *mail)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "@odata.type", "#microsoft.graph.aadUserConversationMember");
	cJSON_AddStringToObject(m, "userId", uid);
	cJSON_AddStringToObject(m, "displayName", name);
	if (mail)
		cJSON_AddStringToObject(m, "email", mail);
	else
		cJSON_AddNullToObject(m, "email");
	return m;
}

static int64_t add_chat(struct fixture *fx, const char *id, const char *type, const char *topic, cJSON *members)
{
	cJSON *c = cJSON_CreateObject();
	struct chat_put cp;
	int64_t rowid = 0;
	char *json;

	cJSON_AddStringToObject(c, "id", id);
	cJSON_AddStringToObject(c, "chatType", type);
	if (topic)
		cJSON_AddStringToObject(c, "topic", topic);
	else
		cJSON_AddNullToObject(c, "topic");
	cJSON_AddItemToObject(c, "members", members);
	json = cJSON_PrintUnformatted(c);
	memset(&cp, 0, sizeof cp);
	cp.tenant = fx->tenant;
	cp.tenant_guid = TENANT_GUID;
	cp.chat_id = id;
	cp.chat_type = type;
	cp.created = T0 - 86400000;
	cp.member_count = cJSON_GetArraySize(members);
	cp.meta_json = json;
	if (chat_put(fx->st->db, fx->st->vault, &cp, &rowid, &err) != 0 ||
	    chat_link_account(fx->st->db, fx->account, rowid, &err) != 0)
		xfatal("fixture chat: %s", err.msg);
	free(json);
	cJSON_Delete(c);
	cJSON_AddNumberToObject(cJSON_GetObjectItem(fx->expect, "chats"), id, 0);
	return rowid;
}

/* A Graph chatMessage; from_uid NULL for system messages. */
static cJSON *msg_new(const char *chat_id, const char *id, int64_t created, const char *from_uid,
		      const char *from_name, const char *ctype, const char *content)
{
	cJSON *m = cJSON_CreateObject(), *body, *from;
	char iso[ISO8601_LEN];

	time_format_iso8601(created, iso, sizeof iso);
	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "etag", id);
	cJSON_AddStringToObject(m, "messageType", "message");
	cJSON_AddStringToObject(m, "createdDateTime", iso);
	cJSON_AddStringToObject(m, "lastModifiedDateTime", iso);
	cJSON_AddNullToObject(m, "lastEditedDateTime");
	cJSON_AddNullToObject(m, "deletedDateTime");
	cJSON_AddStringToObject(m, "chatId", chat_id);
	if (from_uid) {
		from = cJSON_AddObjectToObject(m, "from");
		cJSON_AddNullToObject(from, "application");
		cJSON_AddNullToObject(from, "device");
		cJSON *u = cJSON_AddObjectToObject(from, "user");
		cJSON_AddStringToObject(u, "id", from_uid);
		cJSON_AddStringToObject(u, "displayName", from_name);
		cJSON_AddStringToObject(u, "userIdentityType", "aadUser");
	} else {
		cJSON_AddNullToObject(m, "from");
	}
	body = cJSON_AddObjectToObject(m, "body");
	cJSON_AddStringToObject(body, "contentType", ctype);
	cJSON_AddStringToObject(body, "content", content);
	cJSON_AddArrayToObject(m, "attachments");
	cJSON_AddArrayToObject(m, "mentions");
	cJSON_AddArrayToObject(m, "reactions");
	cJSON_AddNullToObject(m, "eventDetail");
	return m;
}

/* Store one version of m (not freed). */
static void put_version(struct fixture *fx, int64_t chat, const char *chat_id, cJSON *m, const char *version,
			int64_t snapshot)
{
	struct message_put mp;
	enum message_held held;
	char *raw = cJSON_PrintUnformatted(m);
	int added;

	memset(&mp, 0, sizeof mp);
	mp.chat = chat;
	mp.tenant_guid = TENANT_GUID;
	mp.chat_id = chat_id;
	mp.message_id = json_str(m, "id");
	mp.version = version;
	mp.created = json_time(m, "createdDateTime", 0);
	mp.modified = json_time(m, "lastModifiedDateTime", mp.created);
	mp.deleted = json_str(m, "deletedDateTime") != NULL;
	mp.snapshot = snapshot;
	mp.raw = raw;
	mp.raw_len = strlen(raw);
	if (message_held(fx->st->db, chat, mp.message_id, version, &held, &err) != 0)
		xfatal("fixture message: %s", err.msg);
	mp.first_version = held == MESSAGE_UNKNOWN;
	if (message_put(fx->st->db, fx->st->vault, &mp, &added, &err) != 0 || !added)
		xfatal("fixture message: %s", err.msg);
	free(raw);
}

/* What the checker expects of one exported message. text: the exact CSV
 * body_text (NULL: not checked); snippets: NULL-terminated display forms
 * found in HTML, EML and (some) PDF. */
static cJSON *expect_msg(struct fixture *fx, const char *chat_id, const char *id, const char *sender,
			 const char *upn, const char *text, const char *const *snippets)
{
	cJSON *e = cJSON_CreateObject(), *sn = cJSON_AddArrayToObject(e, "snippets");
	cJSON *chats = cJSON_GetObjectItem(fx->expect, "chats");
	cJSON *count = cJSON_GetObjectItem(chats, chat_id);

	cJSON_AddStringToObject(e, "chat", chat_id);
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "sender", sender);
	cJSON_AddStringToObject(e, "upn", upn);
	if (text)
		cJSON_AddStringToObject(e, "text", text);
	else
		cJSON_AddNullToObject(e, "text");
	for (; snippets && *snippets; snippets++)
		cJSON_AddItemToArray(sn, cJSON_CreateString(*snippets));
	cJSON_AddBoolToObject(e, "edited", 0);
	cJSON_AddBoolToObject(e, "deleted", 0);
	cJSON_AddItemToArray(cJSON_GetObjectItem(fx->expect, "messages"), e);
	cJSON_SetNumberValue(count, count->valuedouble + 1);
	fx->total++;
	return e;
}

static void set_bool(cJSON *o, const char *key, int v)
{
	cJSON_ReplaceItemInObject(o, key, cJSON_CreateBool(v));
}

#define HOSTILE "19:hostile@thread.v2"
#define ONE "19:u-self_u-bob@unq.gbl.spaces"
#define LONG "19:long@thread.v2"
#define INDEX "19:index@thread.v2"

static char long_name[2001];

/* A simple message: stored once, expected with its exact text. */
static cJSON *simple(struct fixture *fx, int64_t chat, const char *chat_id, const char *id, int64_t at,
		     const char *uid, const char *name, const char *upn, const char *ctype, const char *content,
		     const char *text, const char *const *snippets)
{
	cJSON *m = msg_new(chat_id, id, at, uid, name, ctype, content);

	put_version(fx, chat, chat_id, m, id, fx->snap1);
	cJSON_Delete(m);
	return expect_msg(fx, chat_id, id, name, upn, text, snippets);
}

static void fixture_hostile(struct fixture *fx)
{
	cJSON *members = cJSON_CreateArray(), *m, *e, *a;
	int64_t c, t = T0;
	const char *const formulas[] = {"=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1)",
					"-2+3", "\t=1", "\n=1+2", "=1+2\";=1+2"};
	/* The cells they make: a tab is a control, sanitised to a space. */
	const char *const formula_cells[] = {"=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0",
					     "@SUM(1)", "-2+3", " =1", "\n=1+2", "=1+2\";=1+2"};
	char id[16];
	size_t i;

	memset(long_name, 'M', 2000);
	memcpy(long_name, "Mallory ", 8);
	cJSON_AddItemToArray(members, member("u-self", "Self User", "self@contoso.com"));
	cJSON_AddItemToArray(members, member("u-bob", "Bob", NULL));
	cJSON_AddItemToArray(members, member("u-mal", long_name, "mallory@contoso.com"));
	cJSON_AddItemToArray(members, member("u-eve", "Eve\r\nBcc: eve@evil\nX-Injected: 1", "eve\r\nBcc: x@evil"));
	c = add_chat(fx, HOSTILE, "group", "Ops \r\nBcc: victim@x =?UTF-8?Q?=0A?=Bcc: evil@x\nCc: bare@x", members);

#define SN(...) ((const char *const[]){__VA_ARGS__, NULL})
	e = simple(fx, c, HOSTILE, "1001", t, "u-self", "Self User", "self@contoso.com", "html",
		   "<p>Hello <script>alert(1)</script>world</p>", "Hello world",
		   SN("Hello world", "2024-01-15 12:00"));
	cJSON_AddStringToObject(e, "from_addr", "self@contoso.com");
	/* Cells are sanitised like everything else a person may see (cat,
	 * less): the topic's line breaks stay, as LF inside the quoted cell. */
	cJSON_AddItemToObject(e, "cells", cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetObjectItem(e, "cells"), "chat_topic",
				"Ops \nBcc: victim@x =?UTF-8?Q?=0A?=Bcc: evil@x\nCc: bare@x");
	simple(fx, c, HOSTILE, "1002", t += 60000, "u-bob", "Bob", "", "html",
	       "<p>pic <img src=x onerror=alert(1)> end</p>", "pic [image] end", SN("pic [image] end"));
	simple(fx, c, HOSTILE, "1003", t += 60000, "u-self", "Self User", "self@contoso.com", "html",
	       "<p><a href=\"javascript:alert(1)\">click</a> and <a href=\" JaVaScRiPt:alert(1)\">two</a> and "
	       "<a href=\"java&#x09;script:alert(1)\">three</a> and <a href=\"https://example.com/ok?a=1&amp;b=2\">"
	       "ok link</a> <a href=\"mailto:bob@example.com\">mail</a> <a href=\"//evil/proto\">rel</a></p>",
	       "click and two and three and ok link mail rel", SN("click and two and three and ok link mail rel"));
	simple(fx, c, HOSTILE, "1004", t += 60000, "u-self", "Self User", "self@contoso.com", "html",
	       "<svg onload=alert(1)><circle/></svg><iframe src=\"https://evil/frame\"></iframe>"
	       "<style>p{background:url(https://evil/bg.png)}</style><base href=\"https://evil/\"><p>after tags</p>",
	       "after tags", SN("after tags"));
	simple(fx, c, HOSTILE, "1005", t += 60000, "u-bob", "Bob", "", "html",
	       "<p>look <img src=\"https://evil/x.png\" alt=\"evil pic\"> and <img src=\"https://graph.microsoft."
	       "com/v1.0/chats/19:h/messages/1005/hostedContents/aWQ9eF8w/$value\"></p>",
	       "look [image] and [image]", SN("look [image", "and [image]"));
	simple(fx, c, HOSTILE, "1006", t += 60000, "u-bob", "Bob", "", "text",
	       "ansi \x1b[31mred\x1b[0m bidi \xe2\x80\xaegnp.exe", "ansi ^[[31mred^[[0m bidi <U+202E>gnp.exe",
	       SN("ansi ^[[31mred^[[0m bidi <U+202E>gnp.exe"));
	/* What `cat messages.csv` would run: OSC 0 (title), 52 (clipboard), 8
	 * (hyperlink), DCS, BEL, a C1 CSI, DEL, a lone CR, bidi embeddings,
	 * overrides and isolates, in the body and in the sender's name. */
	e = simple(fx, c, HOSTILE, "1007", t += 60000, "u-eve", "Eve \x1b]0;pwned\x07 \xe2\x81\xa6x\xe2\x81\xa9",
		   "", "text",
		   "osc52 \x1b]52;c;cHduZWQ=\x07 osc8 \x1b]8;;https://bad.example/\x07link\x1b]8;;\x07 dcs \x1bP+q544e\x1b\\ "
		   "c1 \xc2\x9b" "31m del\x7f cr\rover bidi \xe2\x80\xaa\xe2\x80\xad\xe2\x81\xa7.",
		   "osc52 ^[]52;c;cHduZWQ=^G osc8 ^[]8;;https://bad.example/^Glink^[]8;;^G dcs ^[P+q544e^[\\ "
		   "c1 <U+009B>31m del^? cr^Mover bidi <U+202A><U+202D><U+2067>.",
		   SN("osc52"));
	/* The sender's name shows inert; the member's hostile email (the only
	 * address Eve has) keeps its line break, as LF inside the cell. */
	cJSON_ReplaceItemInObject(e, "sender", cJSON_CreateString("Eve ^[]0;pwned^G <U+2066>x<U+2069>"));
	cJSON_ReplaceItemInObject(e, "upn", cJSON_CreateString("eve\nBcc: x@evil"));
	for (i = 0; i < sizeof formulas / sizeof formulas[0]; i++) {
		snprintf(id, sizeof id, "%zu", 1010 + i);
		simple(fx, c, HOSTILE, id, t += 60000, "u-bob", "Bob", "", "text", formulas[i], formula_cells[i], NULL);
	}
	simple(fx, c, HOSTILE, "1020", t += 60000, "u-self", "Self User", "self@contoso.com", "text",
	       "He said \"hi\", then left;\nnext, line", "He said \"hi\", then left;\nnext, line",
	       SN("He said \"hi\", then left;"));
	simple(fx, c, HOSTILE, "1021", t += 60000, "u-self", "Self User", "self@contoso.com", "html",
	       "<p>你好世界 مرحبا 🎉</p>", "你好世界 مرحبا 🎉", SN("你好世界 مرحبا 🎉"));

	/* Deleted: the first version holds the text, the second (a later
	 * backup) has deletedDateTime and the empty body Graph returns. */
	m = msg_new(HOSTILE, "1022", t += 60000, "u-bob", "Bob", "html", "<p>secret plan</p>");
	put_version(fx, c, HOSTILE, m, "v1", fx->snap1);
	cJSON_ReplaceItemInObject(m, "deletedDateTime", cJSON_CreateString("2024-01-16T09:00:00Z"));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(m, "body"), "content", cJSON_CreateString(""));
	put_version(fx, c, HOSTILE, m, "v2", fx->snap2);
	cJSON_Delete(m);
	e = expect_msg(fx, HOSTILE, "1022", "Bob", "", "secret plan", SN("secret plan", "deleted"));
	set_bool(e, "deleted", 1);

	m = msg_new(HOSTILE, "1023", t += 60000, "u-self", "Self User", "html", "<p>first draft</p>");
	put_version(fx, c, HOSTILE, m, "v1", fx->snap1);
	cJSON_ReplaceItemInObject(m, "lastEditedDateTime", cJSON_CreateString("2024-01-15T11:00:00Z"));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(m, "body"), "content", cJSON_CreateString("<p>final text</p>"));
	put_version(fx, c, HOSTILE, m, "v2", fx->snap2);
	cJSON_Delete(m);
	e = expect_msg(fx, HOSTILE, "1023", "Self User", "self@contoso.com", "final text", SN("final text"));
	set_bool(e, "edited", 1);

	m = msg_new(HOSTILE, "1024", t += 60000, NULL, NULL, "html", "<systemEventMessage/>");
	cJSON_ReplaceItemInObject(m, "messageType", cJSON_CreateString("systemEventMessage"));
	cJSON_ReplaceItemInObject(m, "eventDetail",
				  cJSON_Parse("{\"@odata.type\":\"#microsoft.graph.membersAddedEventMessageDetail\","
					      "\"members\":[{\"id\":\"u-bob\",\"displayName\":null}],\"initiator\":"
					      "{\"user\":{\"id\":\"u-self\",\"displayName\":null}}}"));
	put_version(fx, c, HOSTILE, m, "v1", fx->snap1);
	cJSON_Delete(m);
	expect_msg(fx, HOSTILE, "1024", "System", "", "Members added: Bob (by Self User)",
		   SN("Members added: Bob (by Self User)"));

	m = msg_new(HOSTILE, "1025", t += 60000, NULL, NULL, "html", "<systemEventMessage/>");
	cJSON_ReplaceItemInObject(m, "messageType", cJSON_CreateString("systemEventMessage"));
	cJSON_ReplaceItemInObject(m, "eventDetail",
				  cJSON_Parse("{\"@odata.type\":\"#microsoft.graph.chatRenamedEventMessageDetail\","
					      "\"chatDisplayName\":\"Ops <b>2</b>\"}"));
	put_version(fx, c, HOSTILE, m, "v1", fx->snap1);
	cJSON_Delete(m);
	expect_msg(fx, HOSTILE, "1025", "System", "", "Chat renamed to \"Ops <b>2</b>\"",
		   SN("Chat renamed to \"Ops <b>2</b>\""));

	m = msg_new(HOSTILE, "1026", t += 60000, "u-self", "Self User", "html",
		    "<p>Hi <at id=\"0\">Bob</at>, see the file.</p><attachment id=\"att1\"></attachment>");
	cJSON_ReplaceItemInObject(m, "mentions",
				  cJSON_Parse("[{\"id\":0,\"mentionText\":\"Bob\",\"mentioned\":{\"user\":"
					      "{\"id\":\"u-bob\",\"displayName\":\"Bob\"}}}]"));
	cJSON_ReplaceItemInObject(m, "reactions",
				  cJSON_Parse("[{\"reactionType\":\"like\",\"user\":{\"user\":{\"id\":\"u-bob\"}}},"
					      "{\"reactionType\":\"👍\"},{\"reactionType\":\"❤️\"},"
					      "{\"reactionType\":\"custom\",\"displayName\":\"Party\"}]"));
	a = cJSON_Parse("[{\"id\":\"att1\",\"contentType\":\"reference\",\"contentUrl\":\"https://contoso."
			"sharepoint.com/personal/self/Documents/Q3%20report.xlsx\",\"content\":null,"
			"\"name\":\"Q3 report.xlsx\",\"thumbnailUrl\":null},{\"id\":\"att2\",\"contentType\":"
			"\"reference\",\"contentUrl\":\"https://evil/x\",\"name\":\"../../.bashrc\"}]");
	cJSON_ReplaceItemInObject(m, "attachments", a);
	put_version(fx, c, HOSTILE, m, "v1", fx->snap1);
	cJSON_Delete(m);
	e = expect_msg(fx, HOSTILE, "1026", "Self User", "self@contoso.com", "Hi Bob, see the file.",
		       SN("Hi Bob, see the file.", "Q3 report.xlsx", "../../.bashrc", "👍 2", "❤️ 1", "Party 1"));
	cJSON_AddItemToObject(e, "cells",
			      cJSON_Parse("{\"attachments\":\"Q3 report.xlsx; ../../.bashrc\",\"reactions\":\"👍 2; ❤️ 1; Party 1\"}"));

	m = msg_new(HOSTILE, "1027", t += 60000, NULL, NULL, "html", "<attachment id=\"card1\"></attachment>");
	cJSON_ReplaceItemInObject(m, "from", cJSON_Parse("{\"application\":{\"id\":\"app-1\",\"displayName\":"
							 "\"Polly\",\"applicationIdentityType\":\"bot\"},"
							 "\"device\":null,\"user\":null}"));
	a = cJSON_CreateArray();
	{
		cJSON *att = cJSON_CreateObject();

		cJSON_AddStringToObject(att, "id", "card1");
		cJSON_AddStringToObject(att, "contentType", "application/vnd.microsoft.card.adaptive");
		cJSON_AddStringToObject(att, "content",
					"{\"type\":\"AdaptiveCard\",\"body\":[{\"type\":\"TextBlock\",\"text\":"
					"\"Poll: lunch?\"},{\"type\":\"Image\",\"url\":\"https://evil/card.png\"}],"
					"\"actions\":[{\"type\":\"Action.OpenUrl\",\"title\":\"Vote\","
					"\"url\":\"javascript:alert(1)\"}]}");
		cJSON_AddNullToObject(att, "name");
		cJSON_AddItemToArray(a, att);
	}
	cJSON_ReplaceItemInObject(m, "attachments", a);
	put_version(fx, c, HOSTILE, m, "v1", fx->snap1);
	cJSON_Delete(m);
	e = expect_msg(fx, HOSTILE, "1027", "Polly", "", "[Card] Poll: lunch?\nVote", SN("Poll: lunch?", "Vote"));
	cJSON_AddStringToObject(e, "from_addr", "polly@app.teams.invalid");

	/* sender_upn is the account's UPN, not the member's email. */
	e = simple(fx, c, HOSTILE, "1028", t += 60000, "u-mal", long_name, "mallory.m@contoso.onmicrosoft.com", "text",
		   "mallory speaks", "mallory speaks", SN("mallory speaks"));
	cJSON_AddStringToObject(e, "from_addr", "mallory@contoso.com");
	/* A body that looks like GMime's MIME boundaries (test plan item 40). */
	simple(fx, c, HOSTILE, "1029", t += 60000, "u-bob", "Bob", "", "text", "--=-boundary\n=-XyZ--\n--\n",
	       "--=-boundary\n=-XyZ--\n--", SN("--=-boundary"));
#undef SN
}

static void fixture_others(struct fixture *fx)
{
	cJSON *members = cJSON_CreateArray();
	int64_t c, t = T0 + 3600000;
	char id[16], body[1200], text[1200], marker[32];
	int i;

	cJSON_AddItemToArray(members, member("u-self", "Self User", "self@contoso.com"));
	cJSON_AddItemToArray(members, member("u-bob", "Bob", NULL));
	c = add_chat(fx, ONE, "oneOnOne", NULL, members);
	simple(fx, c, ONE, "2001", t, "u-self", "Self User", "self@contoso.com", "text", "hi Bob", "hi Bob",
	       (const char *const[]){"hi Bob", NULL});
	simple(fx, c, ONE, "2002", t + 1000, "u-bob", "Bob", "", "html", "<div>hi <b>Self</b></div>", "hi Self",
	       (const char *const[]){"hi Self", NULL});

	members = cJSON_CreateArray();
	cJSON_AddItemToArray(members, member("u-self", "Self User", "self@contoso.com"));
	cJSON_AddItemToArray(members, member("u-yusuf", "Yusuf Patel", NULL));
	c = add_chat(fx, INDEX, "group", "index", members);
	simple(fx, c, INDEX, "3001", t, "u-self", "Self User", "self@contoso.com", "text", "a chat called index",
	       "a chat called index", (const char *const[]){"a chat called index", NULL});
	/* No email in the member list: the UPN comes from his account. */
	simple(fx, c, INDEX, "3002", t + 1000, "u-yusuf", "Yusuf Patel", "yusuf.patel@contoso.com", "text",
	       "no mailbox here", "no mailbox here", (const char *const[]){"no mailbox here", NULL});

	/* 300 long messages: several PDF pages, a few hundred EML files. */
	members = cJSON_CreateArray();
	cJSON_AddItemToArray(members, member("u-self", "Self User", "self@contoso.com"));
	cJSON_AddItemToArray(members, member("u-bob", "Bob", NULL));
	c = add_chat(fx, LONG, "group", "Long chat", members);
	for (i = 1; i <= 300; i++) {
		struct buf b = BUF_INIT;
		int k;

		snprintf(marker, sizeof marker, "msg-%04d", i);
		buf_printf(&b, "%s", marker);
		for (k = 0; k < 12; k++)
			buf_append_str(&b, " Lorem ipsum dolor sit amet, consectetur adipiscing elit.");
		snprintf(text, sizeof text, "%s", b.data);
		snprintf(body, sizeof body, "<p>%s</p>", b.data);
		buf_free(&b);
		snprintf(id, sizeof id, "%d", 4000 + i);
		simple(fx, c, LONG, id, t + i * 60000LL, i % 2 ? "u-self" : "u-bob", i % 2 ? "Self User" : "Bob",
		       i % 2 ? "self@contoso.com" : "", "html", body, text, (const char *const[]){marker, NULL});
	}
}

static void fixture_build(struct fixture *fx)
{
	struct tenant_rec tr;
	char recovery[VAULT_RECOVERY_MAX];
	char *home = fs_join(tmpdir, "store");

	memset(fx, 0, sizeof *fx);
	if (store_init(home, PASS, strlen(PASS), recovery, &fx->st, &err) != 0)
		xfatal("store_init: %s", err.msg);
	free(home);
	memset(&tr, 0, sizeof tr);
	tr.name = "contoso";
	tr.tenant_id = TENANT_GUID;
	tr.client_id = "client";
	tr.cred_kind = "secret";
	tr.login_url = "https://login.invalid";
	tr.graph_url = "https://graph.invalid";
	tr.monthly_limit = -1;
	buf_append_str(&tr.secret, "not a secret");
	if (tenant_insert(fx->st->db, fx->st->vault, &tr, &err) != 0)
		xfatal("tenant_insert: %s", err.msg);
	fx->tenant = tr.id;
	buf_free(&tr.secret);
	if (account_upsert(fx->st->db, fx->tenant, "u-self", "self@contoso.com", "Self User", NULL,
			   "self@contoso.com", 1, NULL, &err) != 0 ||
	    /* Accounts the sync found: Yusuf has no mailbox (so no email as a
	     * chat member), Mallory's UPN is not her mail address. */
	    account_upsert(fx->st->db, fx->tenant, "u-yusuf", "yusuf.patel@contoso.com", "Yusuf Patel", NULL, NULL,
			   1, NULL, &err) != 0 ||
	    account_upsert(fx->st->db, fx->tenant, "u-mal", "mallory.m@contoso.onmicrosoft.com", "Mallory", NULL,
			   "mallory@contoso.com", 1, NULL, &err) != 0 ||
	    account_find(fx->st->db, fx->tenant, "self@contoso.com", &fx->account, &err) != 0 ||
	    snapshot_begin(fx->st->db, fx->tenant, 0, &fx->snap1, &err) != 0 ||
	    snapshot_begin(fx->st->db, fx->tenant, 0, &fx->snap2, &err) != 0)
		xfatal("fixture: %s", err.msg);
	fx->expect = cJSON_CreateObject();
	cJSON_AddArrayToObject(fx->expect, "messages");
	cJSON_AddObjectToObject(fx->expect, "chats");
	sqlite3_exec(fx->st->db, "BEGIN", NULL, NULL, NULL);
	fixture_hostile(fx);
	fixture_others(fx);
	sqlite3_exec(fx->st->db, "COMMIT", NULL, NULL, NULL);
	cJSON_AddItemToObject(fx->expect, "pdf_snippets",
			      cJSON_Parse("[\"Hello world\", \"你好世界\", \"final text\", \"secret plan\","
					  "\"Members added: Bob\", \"Poll: lunch?\", \"^[[31mred\", \"msg-0300\","
					  "\"Q3 report.xlsx\", \"مرحبا\", \"Ops ^M^JBcc: victim@x\"]"));
	cJSON_AddStringToObject(fx->expect, "pdf_long_marker", "msg-0300");
	cJSON_AddNumberToObject(fx->expect, "pdf_min_pages", 5);
}

/* --- running exports and the checker ----------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_export(struct fixture *fx, const char *format, const char *chat_id, const char *out,
		      struct export_result *res)
{
	struct export_request req;

	memset(&req, 0, sizeof req);
	req.tenant = fx->tenant;
	req.tenant_guid = TENANT_GUID;
	req.account = fx->account;
	req.account_user_id = "u-self";
	req.format = format;
	req.chat_id = chat_id;
	req.out_dir = out;
	err_clear(&err);
	return export_run(fx->st->db, fx->st->vault, &req, res, &err);
}

static char *checker_path(void)
{
	const char *src = getenv("CV_SRCDIR");

	if (src)
		return fs_join(src, "tests/unit/export_check.py");
	return xstrdup(SRCDIR_GUESS);
}

/* Run export_check.py MODE PATH EXPECT and turn each of its "ok - x" lines
 * into one of ours. */
static void run_checker(const char *mode, const char *path, const char *expect)
{
	char *script = checker_path();
	char *argv[] = {"python3", script, (char *)mode, (char *)path, (char *)expect, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1, lines = 0;
	pid_t pid;
	FILE *in;
	char line[4096];

	if (pipe(fds) != 0) {
		ok(0, "%s checker: pipe", mode);
		free(script);
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawnp(&pid, "python3", &fa, NULL, argv, environ) != 0) {
		ok(0, "%s checker: cannot run python3", mode);
		close(fds[0]);
		close(fds[1]);
		posix_spawn_file_actions_destroy(&fa);
		free(script);
		return;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ok - ", 5) == 0) {
			ok(1, "%s", line + 5);
			lines++;
		} else if (strncmp(line, "not ok - ", 9) == 0) {
			ok(0, "%s", line + 9);
			lines++;
		} else {
			printf("%s%s\n", line[0] == '#' ? "" : "# ", line);
		}
	}
	fclose(in);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && lines > 0, "%s checker ran %d checks and passed", mode,
	   lines);
	free(script);
}

static char *file_in(const char *dir, const char *name)
{
	return fs_join(dir, name);
}

/* s with each run of white space as one space; the caller frees it. */
static char *ws_collapse(const char *s)
{
	struct buf b = BUF_INIT;

	for (; s && *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			if (b.len == 0 || b.data[b.len - 1] != ' ')
				buf_append_char(&b, ' ');
		} else {
			buf_append_char(&b, *s);
		}
	}
	return buf_steal(&b);
}

/* A second MIME parser (GMime's) must see the same safe headers. */
static void eml_reparse(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0, bad = 0, long_name_ok = 0;

	while (d && (de = readdir(d)) != NULL) {
		char *sub = fs_join(dir, de->d_name);
		DIR *d2;
		struct dirent *f;

		if (de->d_name[0] == '.' || (d2 = opendir(sub)) == NULL) {
			free(sub);
			continue;
		}
		while ((f = readdir(d2)) != NULL) {
			char *path = fs_join(sub, f->d_name);
			GMimeStream *s;
			GMimeParser *p;
			GMimeMessage *msg;
			int fd;

			if (strstr(f->d_name, ".eml") == NULL || (fd = open(path, O_RDONLY)) < 0) {
				free(path);
				continue;
			}
			s = g_mime_stream_fs_new(fd);
			p = g_mime_parser_new_with_stream(s);
			msg = g_mime_parser_construct_message(p, NULL);
			files++;
			if (msg == NULL) {
				bad++;
			} else {
				GMimeHeaderList *hl = g_mime_object_get_header_list((GMimeObject *)msg);
				const char *subject = g_mime_message_get_subject(msg);
				int i;

				InternetAddressList *from = g_mime_message_get_from(msg);
				const char *mid = g_mime_object_get_header((GMimeObject *)msg, "X-Chatvault-Message-Id");

				if (g_mime_header_list_contains(hl, "Bcc") || g_mime_header_list_contains(hl, "Cc"))
					bad++;
				if (mid && strcmp(mid, "1028") == 0) {
					InternetAddress *ia = internet_address_list_get_address(from, 0);

					char *name = ia ? ws_collapse(internet_address_get_name(ia)) : NULL;

					/* Folding turns the space into CRLF TAB; unfolded it is
					 * white space again, so compare white space as one space. */
					long_name_ok = name && strcmp(name, long_name) == 0;
					free(name);
				}
				for (i = 0; subject && subject[i]; i++)
					if (subject[i] == '\r' || subject[i] == '\n')
						bad++;
				g_object_unref(msg);
			}
			g_object_unref(p);
			g_object_unref(s);
			free(path);
		}
		closedir(d2);
		free(sub);
	}
	if (d)
		closedir(d);
	ok(files > 0 && bad == 0, "eml: GMime's parser reads %d files, no Bcc/Cc, no line break in Subject", files);
	ok(long_name_ok, "eml: the 2,000-character sender name survives folding exactly");
}

static void test_exports(struct fixture *fx, const char *expect)
{
	static const char *const formats[] = {"csv", "html", "eml", "pdf", "json"};
	int64_t chats = cJSON_GetArraySize(cJSON_GetObjectItem(fx->expect, "chats"));
	size_t i;

	for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct export_result res;
		char name[32];
		char *out;
		double t0;
		int rc;

		snprintf(name, sizeof name, "out-%s", formats[i]);
		out = fs_join(tmpdir, name);
		t0 = now_s();
		rc = run_export(fx, formats[i], NULL, out, &res);
		ok(rc == 0, "%s: export_run succeeds (%s)", formats[i], rc ? err.msg : "ok");
		printf("# %s: %lld messages, %lld files in %.2f s\n", formats[i], (long long)res.messages,
		       (long long)res.files, now_s() - t0);
		is_int(res.chats, chats, "%s: every chat exported", formats[i]);
		is_int(res.messages, fx->total, "%s: every message exported", formats[i]);
		is_int(res.integrity_errors, 0, "%s: no integrity errors", formats[i]);
		if (strcmp(formats[i], "csv") == 0) {
			char *f = file_in(out, "messages.csv");
			struct stat st;

			is_int(res.files, 1, "csv: one file");
			ok(stat(f, &st) == 0 && (st.st_mode & 077) == 0, "csv: file is private (0600)");
			run_checker("csv", f, expect);
			free(f);
		} else if (strcmp(formats[i], "html") == 0) {
			is_int(res.files, chats + 1, "html: a page per chat and the index");
			run_checker("html", out, expect);
		} else if (strcmp(formats[i], "eml") == 0) {
			is_int(res.files, fx->total, "eml: a file per message");
			run_checker("eml", out, expect);
			eml_reparse(out);
		} else if (strcmp(formats[i], "pdf") == 0) {
			is_int(res.files, chats, "pdf: a file per chat");
			run_checker("pdf", out, expect);
		}
		free(out);
	}
	{
		/* Test plan 43: a symlink planted where the chat's EML folder goes
		 * must not lead a single write outside the output directory. */
		struct export_result res;
		char *out = fs_join(tmpdir, "out-link"), *outside = fs_join(tmpdir, "outside");
		char *link = fs_join(out, "Chat with Bob");
		struct stat st;
		DIR *d;
		struct dirent *de;
		int escaped = 0;

		fs_mkdir_p(out, 0700, NULL);
		fs_mkdir_p(outside, 0700, NULL);
		if (symlink(outside, link) != 0)
			xfatal("symlink: %s", strerror(errno));
		ok(run_export(fx, "eml", ONE, out, &res) != 0 && strstr(err.msg, "refusing") != NULL,
		   "eml: the export refuses the symlinked folder and says so");
		if ((d = opendir(outside)) != NULL) {
			while ((de = readdir(d)) != NULL)
				escaped += de->d_name[0] != '.';
			closedir(d);
		}
		ok(escaped == 0, "eml: nothing written through a symlinked chat folder (%d files landed outside)",
		   escaped);
		ok(stat(out, &st) == 0 && (st.st_mode & 077) == 0, "output directory is private (0700)");
		free(link);
		free(outside);
		free(out);
	}
	{
		/* One chat only, and an unknown format. */
		struct export_result res;
		char *out = fs_join(tmpdir, "out-one");

		ok(run_export(fx, "html", ONE, out, &res) == 0 && res.chats == 1 && res.messages == 2 &&
			   res.files == 2,
		   "html: --chat exports one chat and the index");
		free(out);
		out = fs_join(tmpdir, "out-bad");
		ok(run_export(fx, "docx", NULL, out, &res) == CV_EINVAL && strstr(err.msg, "html,csv,eml,pdf"),
		   "unknown format refused, naming the formats (%s)", err.msg);
		free(out);
	}
}

/* CV_EXPORT_BENCH=N: one chat of N messages through every writer. */
static void bench(struct fixture *fx, int n)
{
	static const char *const formats[] = {"json", "html", "csv", "eml", "pdf"};
	cJSON *members = cJSON_CreateArray();
	int64_t c;
	char id[32];
	size_t f;
	int i;

	cJSON_AddItemToArray(members, member("u-self", "Self User", "self@contoso.com"));
	cJSON_AddItemToArray(members, member("u-bob", "Bob", NULL));
	c = add_chat(fx, "19:bench@thread.v2", "group", "Bench", members);
	sqlite3_exec(fx->st->db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		cJSON *m;

		snprintf(id, sizeof id, "%d", 900000 + i);
		m = msg_new("19:bench@thread.v2", id, T0 + i * 1000LL, i % 2 ? "u-self" : "u-bob",
			    i % 2 ? "Self User" : "Bob", "html",
			    "<div><p>Hi <at id=\"0\">Bob</at>, the <b>report</b> is ready: "
			    "<a href=\"https://contoso.sharepoint.com/x\">link</a>. Let's meet at 3pm; "
			    "bring the numbers &amp; the slides.</p></div>");
		put_version(fx, c, "19:bench@thread.v2", m, id, fx->snap1);
		cJSON_Delete(m);
	}
	sqlite3_exec(fx->st->db, "COMMIT", NULL, NULL, NULL);
	for (f = 0; f < sizeof formats / sizeof formats[0]; f++) {
		struct export_result res;
		struct rusage ru;
		char name[64];
		char *out;
		double t0, dt;

		snprintf(name, sizeof name, "bench-%s", formats[f]);
		out = fs_join(tmpdir, name);
		t0 = now_s();
		run_export(fx, formats[f], "19:bench@thread.v2", out, &res);
		dt = now_s() - t0;
		getrusage(RUSAGE_SELF, &ru);
		printf("# bench %-4s: %lld messages in %.2f s = %.0f messages/s (max RSS so far %ld MiB)\n",
		       formats[f], (long long)res.messages, dt, (double)res.messages / dt, ru.ru_maxrss / 1024);
		free(out);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	struct fixture fx;
	char *expect;
	char *json;
	const char *b;

	/* Line-buffered, so the TAP lines written before a crash survive. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Local times in the pages: a fixed zone, two hours east of UTC. */
	setenv("TZ", "XYZ-2", 1);
	tzset();
	setenv("CHATVAULT_KDF_MEMORY_KIB", "19456", 1);
	setenv("CHATVAULT_KDF_ITERATIONS", "2", 1);
	if (mkdtemp(tmpdir) == NULL)
		xfatal("mkdtemp: %s", strerror(errno));

	test_sanitiser();
	test_message_parts();
	test_names();

	fixture_build(&fx);
	expect = fs_join(tmpdir, "expect.json");
	json = cJSON_Print(fx.expect);
	if (fs_write_atomic(expect, json, strlen(json), 0600, &err) != 0)
		xfatal("%s", err.msg);
	free(json);
	test_exports(&fx, expect);
	if ((b = getenv("CV_EXPORT_BENCH")) != NULL && atoi(b) > 0)
		bench(&fx, atoi(b));

	cJSON_Delete(fx.expect);
	free(expect);
	store_close(&fx.st);
	if (getenv("CV_KEEP_TMP"))
		printf("# kept %s\n", tmpdir);
	else
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
