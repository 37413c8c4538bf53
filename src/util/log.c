/* Sanitised, level-filtered logging; one write(2) per line so threads do not
 * interleave within a line. */
#include "config.h"

#include "util/log.h"
#include "util/buf.h"
#include "util/sanitize.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = LOG_WARN;
static _Atomic int log_fd = STDERR_FILENO;

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return (enum log_level)log_level;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	struct buf raw = BUF_INIT, line = BUF_INIT;
	char stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;
	int fd = log_fd;

	if ((int)level > log_level || fd < 0)
		return;
	va_start(ap, fmt);
	buf_vprintf(&raw, fmt, ap);
	va_end(ap);

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(&line, "chatvault: %s %s: ", stamp, names[level]);
	sanitize_append(&line, raw.data ? raw.data : "", raw.len, sanitize_locale_is_utf8() ? 0 : SAN_ASCII);
	buf_append_char(&line, '\n');
	if (write(fd, line.data, line.len) < 0) {
		/* Nowhere left to report a failed log write. */
	}
	buf_free(&raw);
	buf_free(&line);
}
