/*
 * Safe, unique file names from tenant text (chat topics, participants,
 * attachment names): no path separators, no "..", no control or bidi
 * characters, no reserved device names, bounded length, never a leading dot
 * or dash, and unique within one export.
 */
#ifndef CV_EXPORT_NAMES_H
#define CV_EXPORT_NAMES_H

#include <stddef.h>

#define NAME_MAX_BYTES 80

struct name_set;

struct name_set *name_set_new(void);
void name_set_free(struct name_set **ns);
/* A safe base name for text (NULL or empty gives fallback), made unique
 * within ns by " (2)", " (3)"... before the extension. ext is like ".json"
 * (or ""). The caller owns the result. */
char *name_make(struct name_set *ns, const char *text, const char *fallback, const char *ext);
/* Sanitise only (no uniqueness), into out of size n. */
void name_sanitize(const char *text, char *out, size_t n);

#endif
