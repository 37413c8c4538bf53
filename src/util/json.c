/* Typed, forgiving lookups over cJSON trees. */
#include "config.h"

#include "util/json.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

cJSON *json_path(const cJSON *obj, const char *path)
{
	const cJSON *cur = obj;
	const char *p = path;

	while (cur != NULL && *p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char key[128];
		const cJSON *child;

		if (!cJSON_IsObject(cur) || len >= sizeof key)
			return NULL;
		memcpy(key, p, len);
		key[len] = '\0';
		child = cJSON_GetObjectItemCaseSensitive(cur, key);
		cur = child;
		p += len + (slash ? 1 : 0);
		if (!slash)
			break;
	}
	return (cJSON *)cur;
}

const char *json_str(const cJSON *obj, const char *path)
{
	const cJSON *v = json_path(obj, path);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

const char *json_str_or(const cJSON *obj, const char *path, const char *def)
{
	const char *s = json_str(obj, path);

	return s ? s : def;
}

int64_t json_int(const cJSON *obj, const char *path, int64_t def)
{
	const cJSON *v = json_path(obj, path);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

int64_t json_time(const cJSON *obj, const char *path, int64_t def)
{
	const char *s = json_str(obj, path);
	int64_t ms;

	return s && time_parse_iso8601(s, &ms) == 0 ? ms : def;
}

/*
 * Compact serialisation straight into the buffer, the same text
 * cJSON_PrintUnformatted gives (the unit tests compare the two) without its
 * temporary string: a backup serialises every message it stores.
 */
static void append_string(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	buf_append_char(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = {'\\', 0};

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(out, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_append(out, esc, 6);
			continue;
		}
		buf_append(out, esc, 2);
	}
	buf_append(out, run, (size_t)(s - run));
	buf_append_char(out, '"');
}

static void append_number(struct buf *out, double d)
{
	char text[32], point = *localeconv()->decimal_point;
	double back;

	if (isnan(d) || isinf(d)) {
		buf_append_str(out, "null");
		return;
	}
	/* an integer below 1e15 prints as %1.15g would print it, but faster;
	 * negative zero goes the long way and keeps its sign */
	if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
		buf_printf(out, "%lld", (long long)d);
		return;
	}
	/* 15 digits when they read back (to cJSON's tolerance), else 17 */
	snprintf(text, sizeof text, "%1.15g", d);
	if (sscanf(text, "%lg", &back) != 1 || fabs(back - d) > fmax(fabs(back), fabs(d)) * DBL_EPSILON)
		snprintf(text, sizeof text, "%1.17g", d);
	/* JSON's decimal point, whatever the locale's */
	for (char *p = text; *p; p++)
		if (*p == point)
			*p = '.';
	buf_append_str(out, text);
}

void json_append(struct buf *out, const cJSON *item)
{
	const cJSON *c;

	switch (item->type & 0xff) {
	case cJSON_False: buf_append_str(out, "false"); break;
	case cJSON_True: buf_append_str(out, "true"); break;
	case cJSON_NULL: buf_append_str(out, "null"); break;
	case cJSON_Number: append_number(out, item->valuedouble); break;
	case cJSON_String: append_string(out, item->valuestring ? item->valuestring : ""); break;
	case cJSON_Raw:
		if (item->valuestring)
			buf_append_str(out, item->valuestring);
		break;
	case cJSON_Array:
		buf_append_char(out, '[');
		for (c = item->child; c != NULL; c = c->next) {
			json_append(out, c);
			if (c->next)
				buf_append_char(out, ',');
		}
		buf_append_char(out, ']');
		break;
	case cJSON_Object:
		buf_append_char(out, '{');
		for (c = item->child; c != NULL; c = c->next) {
			append_string(out, c->string ? c->string : "");
			buf_append_char(out, ':');
			json_append(out, c);
			if (c->next)
				buf_append_char(out, ',');
		}
		buf_append_char(out, '}');
		break;
	default: /* cJSON_Invalid: cJSON prints nothing either */
		break;
	}
}

cJSON *json_parse(const char *s, size_t n)
{
	return cJSON_ParseWithLength(s, n);
}

/*
 * The arena. cJSON's allocation hooks are global, so they are installed once
 * before main (no thread can be parsing then) and consult a thread-local
 * pointer to the arena in use. A parse of a 50-message page makes thousands
 * of small allocations; from malloc they and their frees cost a quarter of a
 * backup's CPU.
 */
#if defined(__SANITIZE_ADDRESS__)
#define JSON_ARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSON_ARENA_OFF 1
#endif
#endif

enum { JSON_CHUNK = 256 * 1024 };

struct json_chunk {
	struct json_chunk *next;
	size_t size, used;
	max_align_t data[];
};

static _Thread_local struct json_arena *arena_in_use;

#ifndef JSON_ARENA_OFF
static int chunk_holds(const struct json_chunk *c, const void *p)
{
	const char *base = (const char *)c->data;

	return (const char *)p >= base && (const char *)p < base + c->size;
}

static void *arena_malloc(size_t n)
{
	struct json_arena *a = arena_in_use;
	struct json_chunk *c;

	if (a == NULL)
		return malloc(n);
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	c = a->chunks;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > JSON_CHUNK / 4 ? n : JSON_CHUNK;

		if ((c = malloc(sizeof *c + size)) == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
	}
	c->used += n;
	return (char *)c->data + c->used - n;
}

static void arena_free(void *p)
{
	const struct json_arena *a = arena_in_use;
	const struct json_chunk *c;

	if (a != NULL)
		for (c = a->chunks; c != NULL; c = c->next)
			if (chunk_holds(c, p))
				return;
	free(p);
}

__attribute__((constructor)) static void arena_install(void)
{
	cJSON_Hooks hooks = {arena_malloc, arena_free};

	cJSON_InitHooks(&hooks);
}
#endif

void json_arena_enter(struct json_arena *a)
{
#ifndef JSON_ARENA_OFF
	arena_in_use = a;
#else
	(void)a;
#endif
}

void json_arena_drop(cJSON *item)
{
#ifndef JSON_ARENA_OFF
	if (arena_in_use != NULL)
		return;
#endif
	cJSON_Delete(item);
}

/* Everything but the oldest chunk goes back to malloc; that one is kept, so
 * that a steady loop of pages allocates nothing. */
void json_arena_leave(struct json_arena *a)
{
	arena_in_use = NULL;
	while (a->chunks != NULL && a->chunks->next != NULL) {
		struct json_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
	if (a->chunks != NULL)
		a->chunks->used = 0;
}

void json_arena_free(struct json_arena *a)
{
	json_arena_leave(a);
	free(a->chunks);
	a->chunks = NULL;
}
