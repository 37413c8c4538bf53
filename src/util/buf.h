/*
 * A growable byte buffer, always NUL-terminated so it doubles as a string.
 * Every module that builds text or bytes of unknown length uses this instead
 * of its own realloc arithmetic.
 */
#ifndef CV_UTIL_BUF_H
#define CV_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_truncate(struct buf *b, size_t len);
void buf_reset(struct buf *b);
/* The string so far; "" for an empty buffer (never NULL). */
const char *buf_str(const struct buf *b);
/* Hand the storage to the caller (who frees it) and reset the buffer. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* Like buf_free, but wipes the contents first (for secrets). */
void buf_free_secret(struct buf *b);

#endif
