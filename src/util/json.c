/* Typed, forgiving lookups over cJSON trees. */
#include "config.h"

#include "util/json.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stddef.h>
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

void json_append(struct buf *out, const cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);

	if (s == NULL)
		xfatal("out of memory serialising JSON");
	buf_append_str(out, s);
	cJSON_free(s);
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

#ifndef JSON_ARENA_OFF
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
