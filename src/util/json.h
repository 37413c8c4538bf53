/*
 * The one wrapper around cJSON: typed lookups that tolerate missing keys and
 * wrong types (Graph's answers are untrusted input) and serialisation into a
 * struct buf. Nothing here aborts on bad input.
 */
#ifndef CV_UTIL_JSON_H
#define CV_UTIL_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct buf;

/* Follow a '/'-separated path of object keys ("from/user/id"); NULL if any
 * step is missing or not an object. */
cJSON *json_path(const cJSON *obj, const char *path);
/* String at path, or NULL (also for JSON null and non-strings). */
const char *json_str(const cJSON *obj, const char *path);
/* String at path, or def. */
const char *json_str_or(const cJSON *obj, const char *path, const char *def);
/* Number at path as int64, or def. */
int64_t json_int(const cJSON *obj, const char *path, int64_t def);
/* ISO 8601 time at path in ms, or def when absent or malformed. */
int64_t json_time(const cJSON *obj, const char *path, int64_t def);
/* Compact serialisation appended to out. */
void json_append(struct buf *out, const cJSON *item);
/* Parse n bytes; NULL for invalid JSON. The caller owns the result. */
cJSON *json_parse(const char *s, size_t n);

/*
 * An arena for cJSON trees that live no longer than one step of a loop, such
 * as a page of messages. Between json_arena_enter and json_arena_leave, every
 * cJSON allocation of the calling thread is carved from the arena and freeing
 * it costs nothing; json_arena_leave releases all of it at once. Nothing
 * cJSON allocated inside may be used after the leave, and nothing may cross
 * to another thread. Builds with AddressSanitizer use malloc throughout, so
 * that a tree used after its leave is still caught.
 */
struct json_chunk;
struct json_arena {
	struct json_chunk *chunks; /* newest first; the last is the one kept */
};
#define JSON_ARENA_INIT {NULL}

void json_arena_enter(struct json_arena *a);
void json_arena_leave(struct json_arena *a);
/* Let go of a tree parsed since the enter: the leave frees it with the rest
 * (cJSON_Delete does where the arena is off). Walking a page's tree only to
 * free nothing cost a backup 5% of its CPU. */
void json_arena_drop(cJSON *item);
/* Give the arena's memory back; a is empty and usable again afterwards. */
void json_arena_free(struct json_arena *a);

#endif
