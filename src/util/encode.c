/* base64, base64url, hex and percent-encoding. */
#include "config.h"

#include "util/encode.h"
#include "util/buf.h"

#include <string.h>

static void b64_any(struct buf *out, const unsigned char *p, size_t n, const char *alpha, int pad)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = {alpha[v >> 18], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63], alpha[v & 63]};

		buf_append(out, q, 4);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		buf_append_char(out, alpha[v >> 18]);
		buf_append_char(out, alpha[(v >> 12) & 63]);
		if (pad)
			buf_append_str(out, "==");
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		buf_append_char(out, alpha[v >> 18]);
		buf_append_char(out, alpha[(v >> 12) & 63]);
		buf_append_char(out, alpha[(v >> 6) & 63]);
		if (pad)
			buf_append_char(out, '=');
	}
}

void b64_encode(struct buf *out, const void *data, size_t n)
{
	b64_any(out, data, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 1);
}

void b64url_encode(struct buf *out, const void *data, size_t n)
{
	b64_any(out, data, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 0);
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int b64_decode(struct buf *out, const char *s, size_t n)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;
	int ended = 0;

	for (i = 0; i < n; i++) {
		int v;

		if (s[i] == '=') {
			ended = 1;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			continue;
		v = b64_value(s[i]);
		if (v < 0 || ended)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_append_char(out, (char)((acc >> bits) & 0xff));
		}
	}
	return bits >= 6 ? -1 : 0;
}

void hex_encode(struct buf *out, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < n; i++) {
		buf_append_char(out, hex[p[i] >> 4]);
		buf_append_char(out, hex[p[i] & 15]);
	}
}

void url_escape(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) != NULL) {
			buf_append_char(out, (char)c);
		} else {
			buf_append_char(out, '%');
			buf_append_char(out, hex[c >> 4]);
			buf_append_char(out, hex[c & 15]);
		}
	}
}
