/*
 * A message body (HTML or text) through the export sanitiser: the HTML it
 * rebuilds keeps to the allow-list, the text it gives people is inert, the
 * text it keeps as data is valid UTF-8, and a cleaned URL keeps its scheme.
 * The first byte picks the options; the rest is the body.
 */
#include "config.h"

#include "fuzz.h"

#include "export/htmltext.h"
#include "util/buf.h"
#include "util/sanitize.h"

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
