/*
 * A growable byte buffer, always NUL-terminated so it doubles as a string.
 * Every module that builds text or bytes of unknown length uses this instead
 * of its own realloc arithmetic.
 */
#ifndef CV_UTIL_BUF_H
#define CV_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
/* Make room for `extra` more bytes and the NUL. */
void buf_grow(struct buf *b, size_t extra);

/* Inline: the serialisers append a few bytes at a time, millions of times. */
static inline void buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n) /* also when cap is 0 */
		buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void buf_append_char(struct buf *b, char c)
{
	if (b->cap - b->len <= 1)
		buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
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
