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

/* Append text to out with every character a file system, a shell or an
 * archive tool could read as structure (or that hides or reorders text)
 * replaced by '_', runs of them by one. */
static void name_clean(struct buf *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), i = 0;

	while (i < len) {
		unsigned cp;
		size_t cl = utf8_decode(s + i, len - i, &cp);
		int bad = 0;

		if (cl == 0) {
			bad = 1;
			cl = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
			   (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
			   (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff || cp == 0x2028 || cp == 0x2029) {
			bad = 1;
		} else if (cp < 0x80 && strchr("/\\:*?\"<>|", (int)cp)) {
			bad = 1;
		}
		if (!bad)
			buf_append(out, s + i, cl);
		else if (out->len == 0 || out->data[out->len - 1] != '_')
			buf_append_char(out, '_');
		i += cl;
	}
}

/* Where name's extension starts (its dot), or len if it has none: the last
 * dot, not the first character, then at most NAME_EXT_MAX - 1 ASCII letters
 * and digits, one a letter ("x.xlsx", "a.7z"; not "v1.2", not ".bashrc"). */
static size_t name_ext_at(const char *name, size_t len)
{
	size_t dot = len, i;
	int letter = 0;

	while (dot > 0 && name[dot - 1] != '.')
		dot--;
	if (dot <= 1)
		return len; /* no dot, or only a leading one */
	dot--;
	if (len - dot < 2 || len - dot > NAME_EXT_MAX)
		return len;
	for (i = dot + 1; i < len; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letter = 1;
		else if (c < '0' || c > '9')
			return len;
	}
	return letter ? dot : len;
}

/* The length of the longest prefix of s (valid UTF-8) within max bytes
 * that splits no character, without the dots and spaces it ends with. */
static size_t name_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
		n--;
	return n;
}

void name_sanitize(const char *text, char *out, size_t n)
{
	struct buf b = BUF_INIT;
	size_t limit = n - 1 < NAME_MAX_BYTES ? n - 1 : NAME_MAX_BYTES;
	size_t lead, len, o;

	name_clean(&b, text ? text : "");
	/* Trim what hides or misleads: leading dots, dashes and spaces,
	 * trailing dots and spaces. */
	lead = strspn(buf_str(&b), ". -_");
	len = b.len - lead;
	while (len > 0 && (b.data[lead + len - 1] == '.' || b.data[lead + len - 1] == ' '))
		len--;
	o = len;
	if (len > limit) {
		/* Too long: cut the stem and keep the extension, so the file
		 * still opens with the right program, when both fit. */
		const char *name = b.data + lead;
		size_t ext = name_ext_at(name, len), elen = len - ext, stem = 0;

		if (elen > 0 && 2 * elen <= limit)
			stem = name_cut(name, ext, limit - elen);
		if (stem > 0) {
			memcpy(out, name, stem);
			memcpy(out + stem, name + ext, elen);
			o = stem + elen;
		} else {
			o = name_cut(name, len, limit);
			memcpy(out, name, o);
		}
	} else if (len > 0) {
		memcpy(out, b.data + lead, len);
	}
	out[o] = '\0';
	buf_free(&b);
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
	size_t stem;
	int k;

	name_sanitize(text, base, sizeof base);
	if (base[0] == '\0')
		name_sanitize(fallback, base, sizeof base);
	if (base[0] == '\0')
		snprintf(base, sizeof base, "unnamed");
	/* Without an extension of ours, text is a file name: a copy is
	 * numbered before its own extension ("a (2).pdf"). */
	stem = ext[0] ? strlen(base) : name_ext_at(base, strlen(base));
	name = xasprintf("%s%s", base, ext);
	for (k = 2; taken(ns, name); k++) {
		free(name);
		name = xasprintf("%.*s (%d)%s%s", (int)stem, base, k, base + stem, ext);
	}
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 16;
		ns->names = xrealloc(ns->names, ns->cap * sizeof *ns->names);
	}
	ns->names[ns->n++] = xstrdup(name);
	return name;
}
