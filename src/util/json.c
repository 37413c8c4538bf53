/* Typed, forgiving lookups over cJSON trees. */
#include "config.h"

#include "util/json.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

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
