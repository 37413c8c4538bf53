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
#define NAME_EXT_MAX 16 /* bytes of an extension (with its dot) a cut keeps */

struct name_set;

struct name_set *name_set_new(void);
void name_set_free(struct name_set **ns);
/* A safe base name for text (NULL or empty gives fallback), made unique
 * within ns by " (2)", " (3)"... before the extension. ext is like ".json",
 * or "" when text is a file name with an extension of its own ("a.pdf",
 * numbered "a (2).pdf"). A name cut to NAME_MAX_BYTES keeps text's own
 * extension (up to NAME_EXT_MAX bytes). The caller owns the result. */
char *name_make(struct name_set *ns, const char *text, const char *fallback, const char *ext);
/* Sanitise only (no uniqueness), into out of size n; a cut keeps text's
 * extension when it takes at most half of the room. */
void name_sanitize(const char *text, char *out, size_t n);

#endif
