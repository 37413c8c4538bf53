/*
 * The promises the fuzz targets check, written independently of the code
 * under test: a second reading of the output, not a call back into it.
 */
#include "config.h"

#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: broken promise: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Length of the UTF-8 sequence at s (strict: no overlong form, surrogate or
 * value past U+10FFFF), 0 if there is none; the code point in *cp. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len, i;
	unsigned c = s[0];

	if (c < 0x80)
		len = 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (len > 1 && (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)))
		return 0;
	*cp = c;
	return len;
}

void fuzz_check_utf8(const char *what, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i, k;
	unsigned cp;

	for (i = 0; i < n; i += k) {
		if ((k = utf8_seq(s + i, n - i, &cp)) == 0)
			fuzz_fail("%s: invalid UTF-8 at byte %zu", what, i);
		if (cp == 0)
			fuzz_fail("%s: NUL at byte %zu", what, i);
	}
}

void fuzz_check_inert(const char *what, const char *str, size_t n, int newlines)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i, k;
	unsigned cp;

	fuzz_check_utf8(what, str, n);
	for (i = 0; i < n; i += k) {
		k = utf8_seq(s + i, n - i, &cp);
		if ((cp < 0x20 && !(newlines && cp == '\n')) || cp == 0x7f)
			fuzz_fail("%s: control byte 0x%02x at %zu", what, cp, i);
		if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		    cp == 0x2028 || cp == 0x2029)
			fuzz_fail("%s: invisible format character U+%04X at %zu", what, cp, i);
	}
}

/* ---- HTML ------------------------------------------------------------------ */

static int in_list(const char *name, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && memcmp(*list, name, len) == 0)
			return 1;
	return 0;
}

static const char *const elements[] = {
	"a", "article", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
	"i", "img", "li", "ol", "p", "pre", "s", "span", "strike", "strong", "table", "tbody", "td", "th",
	"thead", "time", "tr", "u", "ul", NULL,
};

static const char *const attributes[] = {
	"alt", "class", "colspan", "datetime", "download", "href", "id", "rel", "rowspan", "src", NULL,
};

static int is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* href and src: a browser decodes character references before it reads the
 * scheme, so one before the colon could hide "javascript:". */
static void check_url(const char *what, const char *attr, const char *v, size_t n)
{
	int shown = (int)(n < 80 ? n : 80);
	size_t i;

	for (i = 0; i < n && v[i] != ':'; i++)
		if (v[i] == '&')
			fuzz_fail("%s: %s hides its scheme behind a character reference: %.*s", what, attr, shown, v);
	if (strcmp(attr, "src") == 0) {
		if (n < 11 || strncmp(v, "data:image/", 11) != 0)
			fuzz_fail("%s: img src is not a data: image: %.*s", what, shown, v);
	} else if (!(n >= 5 && strncasecmp(v, "http:", 5) == 0) && !(n >= 6 && strncasecmp(v, "https:", 6) == 0) &&
		   !(n >= 7 && strncasecmp(v, "mailto:", 7) == 0)) {
		fuzz_fail("%s: href with a scheme we do not keep: %.*s", what, shown, v);
	}
}

void fuzz_check_html(const char *what, const char *s, size_t n)
{
	size_t i = 0;

	fuzz_check_utf8(what, s, n);
	while (i < n) {
		size_t name, len;

		if (s[i] != '<') {
			i++;
			continue;
		}
		if (++i < n && s[i] == '/')
			i++;
		for (name = i; i < n && is_name_char((unsigned char)s[i]); i++)
			;
		if (!in_list(s + name, i - name, elements))
			fuzz_fail("%s: element <%.*s> is not on the allow-list (at byte %zu)", what,
				  (int)(i - name < 40 ? i - name : 40), s + name, name);
		for (;;) {
			size_t attr, value;
			char aname[16];

			while (i < n && s[i] == ' ')
				i++;
			if (i < n && s[i] == '>') {
				i++;
				break;
			}
			for (attr = i; i < n && is_name_char((unsigned char)s[i]); i++)
				;
			len = i - attr;
			if (len == 0 || !in_list(s + attr, len, attributes))
				fuzz_fail("%s: attribute '%.*s' is not on the allow-list (at byte %zu)", what,
					  (int)(len < 40 ? len : 40), s + attr, attr);
			if (i + 1 >= n || s[i] != '=' || s[i + 1] != '"')
				fuzz_fail("%s: attribute '%.*s' without a quoted value", what, (int)len, s + attr);
			for (i += 2, value = i; i < n && s[i] != '"'; i++)
				if (s[i] == '<' || s[i] == '>')
					fuzz_fail("%s: '%c' inside an attribute value", what, s[i]);
			if (i == n)
				fuzz_fail("%s: unterminated attribute value", what);
			memcpy(aname, s + attr, len);
			aname[len] = '\0';
			if (strcmp(aname, "href") == 0 || strcmp(aname, "src") == 0)
				check_url(what, aname, s + value, i - value);
			i++;
		}
	}
}
