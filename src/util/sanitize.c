/*
 * Terminal-safe rendering of untrusted text. Controls are shown in caret
 * notation (ESC as "^["), C1 controls, bidi and line-separator characters as
 * "<U+XXXX>", invalid UTF-8 bytes as "\xNN". The output never contains a byte
 * below 0x20 (except \n with SAN_KEEP_NEWLINES) nor DEL, and is valid UTF-8.
 */
#include "config.h"

#include "util/sanitize.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <langinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c, min;
	size_t len, i;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, min = 0x80, c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int sanitize_is_invisible(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||     /* C1 controls, e.g. U+009B CSI */
	       (cp >= 0x202a && cp <= 0x202e) || /* LRE RLE PDF LRO RLO */
	       (cp >= 0x2066 && cp <= 0x2069) || /* LRI RLI FSI PDI */
	       cp == 0x200e || cp == 0x200f || cp == 0x061c || /* LRM RLM ALM */
	       cp == 0x2028 || cp == 0x2029 ||   /* line / paragraph separator */
	       /* Zero-width space, non-joiner, joiner and word joiners: they
	        * hide text and terminals disagree on how wide they make a cell. */
	       (cp >= 0x200b && cp <= 0x200d) || (cp >= 0x2060 && cp <= 0x2064) ||
	       cp == 0xfeff;                     /* stray BOM */
}

void sanitize_append(struct buf *out, const char *str, size_t n, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned cp;
		size_t len = utf8_decode(s + i, n - i, &cp);

		if (len == 0) {
			buf_printf(out, "\\x%02X", s[i]);
			i++;
			continue;
		}
		if (cp == '\n' && (flags & SAN_KEEP_NEWLINES)) {
			buf_append_char(out, '\n');
		} else if (cp == '\t') {
			buf_append_char(out, ' ');
		} else if (cp == '\r' && (flags & SAN_KEEP_NEWLINES) && i + 1 < n && s[i + 1] == '\n') {
			/* CRLF line ending: drop the CR. */
		} else if (cp < 0x20) {
			buf_append_char(out, '^');
			buf_append_char(out, (char)(cp + 0x40));
		} else if (cp == 0x7f) {
			buf_append_str(out, "^?");
		} else if (sanitize_is_invisible(cp)) {
			buf_printf(out, "<U+%04X>", cp);
		} else if (cp >= 0x80 && (flags & SAN_ASCII)) {
			buf_append_char(out, '?');
		} else {
			buf_append(out, s + i, len);
		}
		i += len;
	}
}

char *sanitize_dup(const char *s, unsigned flags)
{
	struct buf b = BUF_INIT;

	if (s != NULL)
		sanitize_append(&b, s, strlen(s), flags);
	return buf_steal(&b);
}

static int locale_utf8;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void locale_probe(void)
{
	const char *cs = nl_langinfo(CODESET);

	locale_utf8 = cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

int sanitize_locale_is_utf8(void)
{
	pthread_once(&locale_once, locale_probe);
	return locale_utf8;
}
