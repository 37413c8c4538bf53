/*
 * A message body (HTML or text) through the export sanitiser: the HTML it
 * rebuilds keeps to the allow-list, the text it gives people is inert, the
 * text it keeps as data is valid UTF-8, and a cleaned URL keeps its scheme.
 * The same bytes as a chat topic or attachment name become a file name that
 * is safe on any file system a download is opened on and, however long,
 * keeps its extension. The first byte picks the options; the rest is the
 * body.
 */
#include "config.h"

#include "fuzz.h"

#include "export/htmltext.h"
#include "export/names.h"
#include "util/buf.h"
#include "util/sanitize.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0};

/* Every other hosted image resolves, so both the data: URI and the
 * "[image]" marker are exercised. */
static int image(void *ctx, const char *src, struct htmltext_image *img)
{
	(void)ctx;
	if (strlen(src) % 2)
		return 0;
	img->mime = "image/png";
	img->data = png;
	img->len = sizeof png;
	return 1;
}

static void check_name(const char *name, const char *ext)
{
	static const char *const devices[] = {"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4",
					      "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3",
					      "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", NULL};
	size_t len = strlen(name), stem = strcspn(name, ".");

	fuzz_check_inert("file name", name, len, 0);
	if (strpbrk(name, "/\\:*?\"<>|") != NULL)
		fuzz_fail("file name '%s' holds a separator or a reserved character", name);
	if (strstr(name, "\xE2\x80\x8B") || strstr(name, "\xE2\x80\x8C") || strstr(name, "\xE2\x80\x8D") ||
	    strstr(name, "\xEF\xBB\xBF"))
		fuzz_fail("file name '%s' holds a zero-width character", name);
	if (name[0] == '.' || name[0] == '-' || name[0] == ' ')
		fuzz_fail("file name '%s' starts with a dot, a dash or a space", name);
	if (len < strlen(ext) || strcmp(name + len - strlen(ext), ext) != 0)
		fuzz_fail("file name '%s' lost its extension %s", name, ext);
	if (len > NAME_MAX_BYTES + strlen(" (99)") + strlen(ext))
		fuzz_fail("file name of %zu bytes", len);
	for (size_t i = 0; devices[i]; i++)
		if (strlen(devices[i]) == stem && strncasecmp(name, devices[i], stem) == 0)
			fuzz_fail("file name '%s' is a reserved device name", name);
}

/* The extension names.h keeps on a file name cut to length: the last dot,
 * after text holding an ASCII letter or digit (it survives sanitising),
 * then ASCII letters and digits, one a letter, NAME_EXT_MAX bytes at most
 * with the dot. "" when the name has none. */
static const char *name_ext(const char *name)
{
	const char *dot = strrchr(name, '.'), *p;
	int letter = 0, stem = 0;

	if (dot == NULL || dot[1] == '\0' || strlen(dot) > NAME_EXT_MAX)
		return "";
	for (p = dot + 1; *p; p++) {
		if (!isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)
			return "";
		letter |= isalpha((unsigned char)*p) != 0;
	}
	for (p = name; p < dot; p++)
		stem |= (unsigned char)*p < 0x80 && isalnum((unsigned char)*p);
	return letter && stem ? dot : "";
}

static const char *file_href(void *ctx, const char *content_url)
{
	(void)ctx;
	return strlen(content_url) % 3 ? NULL : content_url;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct htmltext_opts opts = {HTMLTEXT_INERT, NULL, NULL, NULL};
	struct buf out = BUF_INIT;
	unsigned mode;
	const char *body;
	char *url;
	size_t n;

	if (size == 0)
		return 0;
	mode = data[0];
	body = (const char *)data + 1;
	n = size - 1;
	if (mode & 1) {
		opts.image = image;
		opts.file_href = file_href;
	}

	htmltext_body_html(&out, body, n, (mode & 2) == 0, &opts);
	fuzz_check_html("body as HTML", buf_str(&out), out.len);
	buf_reset(&out);

	htmltext_body_text(&out, body, n, (mode & 2) == 0, HTMLTEXT_INERT);
	fuzz_check_inert("body as text for people", buf_str(&out), out.len, 1);
	buf_reset(&out);

	htmltext_body_text(&out, body, n, (mode & 2) == 0, 0);
	fuzz_check_utf8("body as data", buf_str(&out), out.len);
	buf_reset(&out);

	htmltext_escape(&out, body, n, HTMLTEXT_INERT);
	fuzz_check_html("escaped text", buf_str(&out), out.len);
	buf_reset(&out);

	sanitize_append(&out, body, n, (mode & 4) ? SAN_KEEP_NEWLINES : 0);
	fuzz_check_inert("sanitised text", buf_str(&out), out.len, (mode & 4) != 0);
	buf_reset(&out);

	url = fuzz_cstr(data + 1, n);
	{
		struct name_set *ns = name_set_new();
		char *a = name_make(ns, url, "chat", ".json"), *b = name_make(ns, url, "chat", ".json");

		check_name(a, ".json");
		check_name(b, ".json");
		if (strcasecmp(a, b) == 0)
			fuzz_fail("two chats named '%s' in one export", a);
		free(a);
		free(b);
		/* As an attachment's name, which carries its own extension:
		 * kept however long the name, and the copies told apart. */
		a = name_make(ns, url, "file", "");
		b = name_make(ns, url, "file", "");
		check_name(a, name_ext(url));
		check_name(b, name_ext(url));
		if (strcasecmp(a, b) == 0)
			fuzz_fail("two files named '%s' in one folder", a);
		free(a);
		free(b);
		name_set_free(&ns);
	}
	if (htmltext_url_clean(url, &out)) {
		fuzz_check_utf8("cleaned URL", buf_str(&out), out.len);
		for (size_t i = 0; i < out.len; i++)
			if ((unsigned char)out.data[i] < 0x20 || out.data[i] == 0x7f)
				fuzz_fail("cleaned URL keeps control byte 0x%02x", (unsigned char)out.data[i]);
		if (strncasecmp(buf_str(&out), "http:", 5) != 0 && strncasecmp(buf_str(&out), "https:", 6) != 0 &&
		    strncasecmp(buf_str(&out), "mailto:", 7) != 0)
			fuzz_fail("cleaned URL with a scheme we do not keep: %.80s", buf_str(&out));
	}
	free(url);
	buf_free(&out);
	return 0;
}
