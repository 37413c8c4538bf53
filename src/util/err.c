/* struct cv_err helpers. */
#include "config.h"

#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A message cut to fit its buffer (size bytes with the NUL) ends on a whole
 * UTF-8 character and with "…", never halfway through a character that a
 * terminal or a JSON reader would then choke on. */
static void mark_cut(char *msg, size_t size)
{
	static const char ellipsis[] = "\xE2\x80\xA6";
	size_t end = size - sizeof ellipsis; /* room for the mark and the NUL */

	/* back over continuation bytes to the start of the character at end */
	while (end > 0 && ((unsigned char)msg[end] & 0xC0) == 0x80)
		end--;
	memcpy(msg + end, ellipsis, sizeof ellipsis);
}

int err_set(struct cv_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof e->msg)
		mark_cut(e->msg, sizeof e->msg);
	return code;
}

int err_prefix(struct cv_err *e, const char *fmt, ...)
{
	char out[sizeof e->msg];
	size_t h, room, ml;
	va_list ap;
	int n;

	if (e == NULL)
		return CV_EFAIL;
	va_start(ap, fmt);
	n = vsnprintf(out, sizeof out - 2, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof out - 2)
		mark_cut(out, sizeof out - 2);
	h = n < 0 ? 0 : strnlen(out, sizeof out - 3);
	out[h++] = ':';
	out[h++] = ' ';
	room = sizeof out - h - 1;
	ml = strnlen(e->msg, room + 1);
	memcpy(out + h, e->msg, ml < room ? ml : room);
	out[h + (ml < room ? ml : room)] = '\0';
	if (ml > room)
		mark_cut(out, sizeof out);
	memcpy(e->msg, out, sizeof out);
	return e->code;
}

void err_clear(struct cv_err *e)
{
	if (e != NULL) {
		e->code = CV_OK;
		e->msg[0] = '\0';
	}
}

const char *err_code_name(int code)
{
	switch (code) {
	case CV_OK: return "ok";
	case CV_EINVAL: return "invalid";
	case CV_EIO: return "io";
	case CV_ENOSPC: return "disk-full";
	case CV_ENOTFOUND: return "not-found";
	case CV_EEXIST: return "exists";
	case CV_EPASS: return "passphrase";
	case CV_EINTEGRITY: return "integrity";
	case CV_EPERMS: return "permissions";
	case CV_EAUTH: return "authentication";
	case CV_EFORBIDDEN: return "forbidden";
	case CV_ENET: return "network";
	case CV_ETLS: return "tls";
	case CV_ETHROTTLED: return "throttled";
	case CV_ESERVER: return "server";
	case CV_EPROTO: return "protocol";
	case CV_EPAYMENT: return "payment";
	case CV_EGONE: return "gone";
	case CV_ECANCELLED: return "cancelled";
	case CV_ETOOBIG: return "too-big";
	case CV_ELOCKED: return "locked";
	case CV_ECAP: return "cap";
	case CV_EDEFER: return "deferred";
	default: return "error";
	}
}
