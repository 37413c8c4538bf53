/*
 * A Graph answer (a chatMessage, a page of them, or an export file's
 * {chat, messages}) through what backup and export make of it: the text kept
 * for a message reads back as the same JSON; the text and HTML the writers
 * show keep their promises; the hosted contents and files a backup would
 * fetch are well formed. The arena the backup parses pages in is used too.
 */
#include "config.h"

#include "fuzz.h"

#include "export/htmltext.h"
#include "export/stream.h"
#include "store/files.h"
#include "util/buf.h"
#include "util/json.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <string.h>

static int file_seen(void *ctx, const char *kind, const char *reference, const char *name)
{
	(void)ctx;
	(void)name;
	if (strcmp(kind, "hosted") != 0 && strcmp(kind, "file") != 0)
		fuzz_fail("file reference of unknown kind '%s'", kind);
	if (reference == NULL || reference[0] == '\0')
		fuzz_fail("empty %s reference", kind);
	if (strcmp(kind, "file") == 0 && strncmp(reference, "https://", 8) != 0)
		fuzz_fail("a file to fetch from a URL that is not https: %.80s", reference);
	return 0;
}

static void one_message(const cJSON *msg, const cJSON *chat)
{
	struct htmltext_opts opts = {HTMLTEXT_INERT, NULL, NULL, NULL};
	struct export_message m = {0};
	struct buf out = BUF_INIT;

	if (!cJSON_IsObject(msg))
		return;
	m.msg = (cJSON *)msg;
	m.created = json_time(msg, "createdDateTime", 0);
	m.deleted = json_str(msg, "deletedDateTime") != NULL;
	m.edited = json_str(msg, "lastEditedDateTime") != NULL;
	m.versions = 1 + m.edited + m.deleted;

	htmltext_message_text(&out, msg, chat, HTMLTEXT_INERT);
	fuzz_check_inert("message as text", buf_str(&out), out.len, 1);
	buf_reset(&out);
	htmltext_message_html(&out, &m, chat, &opts);
	fuzz_check_html("message as HTML", buf_str(&out), out.len);
	buf_reset(&out);
	htmltext_reactions_text(&out, msg, ", ");
	htmltext_attachment_names(&out, msg, ", ");
	(void)htmltext_sender(msg, chat);
	buf_free(&out);
	file_refs_each(msg, file_seen, NULL);
}

/* The same tree, member by member in order (duplicate names included, which
 * cJSON_Compare cannot tell apart). A number prints to the digits that read
 * back within cJSON's own tolerance; one that is not finite prints as null,
 * as cJSON prints it, and is the one change allowed. */
static int same_tree(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (cJSON_IsNumber(a) && !isfinite(a->valuedouble))
		return cJSON_IsNull(b);
	if ((a->type & 0xff) != (b->type & 0xff))
		return 0;
	if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string) != 0))
		return 0;
	if (cJSON_IsString(a))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsNumber(a))
		return fabs(a->valuedouble - b->valuedouble) <=
		       fmax(fabs(a->valuedouble), fabs(b->valuedouble)) * DBL_EPSILON;
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
		if (!same_tree(x, y))
			return 0;
	return x == NULL && y == NULL;
}

/* What a backup stores must parse back to what it was given. */
static void check_round_trip(const cJSON *root)
{
	struct buf out = BUF_INIT;
	cJSON *back;

	json_append(&out, root);
	back = json_parse(buf_str(&out), out.len);
	if (back == NULL)
		fuzz_fail("stored text does not parse: %.200s", buf_str(&out));
	if (!same_tree(root, back))
		fuzz_fail("stored text parses to something else: %.200s", buf_str(&out));
	json_arena_drop(back);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_arena arena;
	const cJSON *chat, *list, *m;
	cJSON *root;
	struct buf out = BUF_INIT;

	/* A page is parsed in the arena, as the backup does; the round trip and
	 * the writers then run on that tree. */
	json_arena_enter(&arena);
	root = json_parse((const char *)data, size);
	if (root == NULL) {
		json_arena_leave(&arena);
		return 0;
	}
	check_round_trip(root);
	chat = cJSON_GetObjectItemCaseSensitive(root, "chat");
	if (!cJSON_IsObject(chat))
		chat = NULL;
	list = cJSON_GetObjectItemCaseSensitive(root, "messages");
	if (!cJSON_IsArray(list))
		list = cJSON_GetObjectItemCaseSensitive(root, "value");
	if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(m, list)
		{
			one_message(m, chat);
		}
	} else {
		one_message(root, chat);
	}
	if (chat) {
		htmltext_participants(&out, chat, ", ");
		buf_free(&out);
	}
	json_arena_drop(root);
	json_arena_leave(&arena);
	return 0;
}
