/* struct cv_err helpers. */
#include "config.h"

#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct cv_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
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
	h = n < 0 ? 0 : strnlen(out, sizeof out - 3);
	out[h++] = ':';
	out[h++] = ' ';
	room = sizeof out - h - 1;
	ml = strnlen(e->msg, room);
	memcpy(out + h, e->msg, ml);
	out[h + ml] = '\0';
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
