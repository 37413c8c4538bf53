/*
 * The one gate between text from a tenant (message bodies, names, topics,
 * file names) and anything a person sees: the console, CLI output and logs.
 * Escape sequences, C0/C1 controls, bidi overrides and invalid UTF-8 become
 * visible, inert text; nothing that reaches a terminal can drive it.
 */
#ifndef CV_UTIL_SANITIZE_H
#define CV_UTIL_SANITIZE_H

#include <stddef.h>

struct buf;

enum {
	SAN_KEEP_NEWLINES = 1 << 0, /* keep \n (and \t as spaces) for multi-line text */
	SAN_ASCII = 1 << 1,         /* non-UTF-8 locale: everything outside ASCII becomes '?' */
};

/* Append the sanitised form of s[0..n) to out. */
void sanitize_append(struct buf *out, const char *s, size_t n, unsigned flags);
/* Convenience: a newly allocated sanitised copy of a NUL-terminated string
 * (NULL gives ""). The caller owns the result. */
char *sanitize_dup(const char *s, unsigned flags);
/* Decode one UTF-8 sequence at s (n bytes available). Returns its length and
 * stores the code point, or returns 0 for an invalid or truncated sequence. */
size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp);
/* Code points that reorder or break lines invisibly (C1 controls, bidi
 * controls, line separators, zero-width characters): sanitize_append shows
 * them by name. */
int sanitize_is_invisible(unsigned cp);
/* Does the process locale use UTF-8? Evaluated once. */
int sanitize_locale_is_utf8(void);

#endif
