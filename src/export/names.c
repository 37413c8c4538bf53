/*
 * File-name sanitising. We keep printable UTF-8 (people name chats in their
 * own scripts) and replace everything a file system, a shell or an archive
 * tool could read as structure.
 */
#include "config.h"

#include "export/names.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct name_set {
	char **names;
	size_t n, cap;
};

struct name_set *name_set_new(void)
{
	return xcalloc(1, sizeof(struct name_set));
}

void name_set_free(struct name_set **nsp)
{
	struct name_set *ns = *nsp;
	size_t i;

	if (ns == NULL)
		return;
	for (i = 0; i < ns->n; i++)
		free(ns->names[i]);
	free(ns->names);
	free(ns);
	*nsp = NULL;
}

static int is_reserved(const char *s)
{
	static const char *const dev[] = {"CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5",
					  "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4",
					  "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"};
	size_t i, len = strcspn(s, ".");

	for (i = 0; i < sizeof dev / sizeof dev[0]; i++)
		if (strlen(dev[i]) == len && strncasecmp(s, dev[i], len) == 0)
			return 1;
	return 0;
}

void name_sanitize(const char *text, char *out, size_t n)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t len = strlen((const char *)s), i = 0, o = 0;
	size_t limit = n - 1 < NAME_MAX_BYTES ? n - 1 : NAME_MAX_BYTES;

	while (i < len) {
		unsigned cp;
		size_t cl = utf8_decode(s + i, len - i, &cp);
		char rep = 0;

		if (cl == 0) {
			rep = '_';
			cl = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
			   (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
			   (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff || cp == 0x2028 || cp == 0x2029) {
			rep = '_';
		} else if (cp < 0x80 && strchr("/\\:*?\"<>|", (int)cp)) {
			rep = '_';
		}
		if (rep) {
			if (o + 1 > limit)
				break;
			if (o == 0 || out[o - 1] != '_')
				out[o++] = rep;
		} else {
			if (o + cl > limit)
				break; /* never split a character */
			memcpy(out + o, s + i, cl);
			o += cl;
		}
		i += cl;
	}
	out[o] = '\0';
	/* Trim what hides or misleads: leading dots, dashes and spaces,
	 * trailing dots and spaces. */
	{
		size_t lead = strspn(out, ". -_");

		memmove(out, out + lead, o - lead + 1);
		o -= lead;
		while (o > 0 && (out[o - 1] == '.' || out[o - 1] == ' '))
			out[--o] = '\0';
	}
	if (o > 0 && is_reserved(out) && o + 1 < n) {
		memmove(out + 1, out, o + 1);
		out[0] = '_';
	}
}

static int taken(const struct name_set *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strcasecmp(ns->names[i], name) == 0)
			return 1;
	return 0;
}

char *name_make(struct name_set *ns, const char *text, const char *fallback, const char *ext)
{
	char base[NAME_MAX_BYTES + 2];
	char *name;
	int k;

	name_sanitize(text, base, sizeof base);
	if (base[0] == '\0')
		name_sanitize(fallback, base, sizeof base);
	if (base[0] == '\0')
		snprintf(base, sizeof base, "unnamed");
	name = xasprintf("%s%s", base, ext);
	for (k = 2; taken(ns, name); k++) {
		free(name);
		name = xasprintf("%s (%d)%s", base, k, ext);
	}
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 16;
		ns->names = xrealloc(ns->names, ns->cap * sizeof *ns->names);
	}
	ns->names[ns->n++] = xstrdup(name);
	return name;
}
