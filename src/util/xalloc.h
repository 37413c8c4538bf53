/*
 * Allocation with one out-of-memory policy for the whole program: report,
 * run the fatal hook (the console uses it to restore the terminal), exit 1.
 * Nothing else in chatvault checks malloc's result.
 */
#ifndef CV_UTIL_XALLOC_H
#define CV_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for nmemb elements of size bytes, with the product checked. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted allocation; the caller owns the result. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called once before exiting on a fatal error (out of memory, broken
 * invariant). Must be async-signal-tolerant enough to restore a terminal. */
void xalloc_set_fatal_hook(void (*hook)(void));
void xfatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Overwrite memory the compiler may not optimise away (for secrets). */
void xwipe(void *p, size_t n);

#endif
