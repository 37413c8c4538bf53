/* Rows of the files table (see files.h). */
#include "config.h"

#include "store/files.h"
#include "store/blobs.h"
#include "store/catalog.h"
#include "store/store.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/timeutil.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *file_ad(const char *tenant_guid, const char *chat_id, const char *message_id, const char *ref,
		     size_t *len)
{
	return store_record_ad("files.meta", tenant_guid, chat_id, message_id, ref, len);
}

int file_hosted_id(const char *src, struct buf *out)
{
	static const char key[] = "/hostedcontents/";
	const char *p, *id = NULL, *end;

	if (src == NULL)
		return 0;
	for (p = src; *p; p++)
		if (strncasecmp(p, key, sizeof key - 1) == 0)
			id = p + sizeof key - 1;
	if (id == NULL || (end = strchr(id, '/')) == NULL || end == id || strcmp(end, "/$value") != 0)
		return 0;
	/* base64 or base64url only: no '.' or '%' that could make the id
	 * a path segment such as ".." when it is put in our own URL */
	for (p = id; p < end; p++)
		if (!(isalnum((unsigned char)*p) || strchr("+=-_", *p)))
			return 0;
	buf_append(out, id, (size_t)(end - id));
	return 1;
}

/* Every <img src="..."> whose src names a hosted content. */
static int hosted_refs(const char *html, file_ref_fn fn, void *ctx)
{
	struct buf src = BUF_INIT, id = BUF_INIT;
	const char *p = html;
	int rc = 0;

	while (rc == 0 && (p = strstr(p, "src=\"")) != NULL) {
		const char *end;

		p += 5;
		if ((end = strchr(p, '"')) == NULL)
			break;
		buf_reset(&src);
		buf_append(&src, p, (size_t)(end - p));
		buf_reset(&id);
		if (file_hosted_id(src.data, &id))
			rc = fn(ctx, "hosted", id.data, NULL);
		p = end;
	}
	buf_free(&src);
	buf_free(&id);
	return rc;
}

int file_refs_each(const cJSON *msg, file_ref_fn fn, void *ctx)
{
	const char *type = json_str(msg, "body/contentType"), *html = json_str(msg, "body/content");
	const cJSON *a;
	int rc = 0;

	if (type && strcmp(type, "html") == 0 && html && (rc = hosted_refs(html, fn, ctx)))
		return rc;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(msg, "attachments"))
	{
		const char *ct = json_str(a, "contentType"), *url = json_str(a, "contentUrl");

		if (ct == NULL || strcmp(ct, "reference") != 0 || url == NULL || strncmp(url, "https://", 8) != 0)
			continue;
		if ((rc = fn(ctx, "file", url, json_str(a, "name"))))
			break;
	}
	return rc;
}

void file_ref(const struct vault *v, const char *kind, const char *reference, char *out)
{
	struct buf key = BUF_INIT;

	buf_printf(&key, "%s\x1f%s", kind, reference);
	vault_blob_name(v, key.data, key.len, out);
	buf_free(&key);
}

int file_note(sqlite3 *db, const struct vault *v, const struct file_note *f, struct cv_err *e)
{
	struct buf meta = BUF_INIT, sealed = BUF_INIT;
	char ref[VAULT_BLOB_NAME_LEN + 1];
	cJSON *obj = cJSON_CreateObject();
	sqlite3_stmt *st;
	size_t adlen;
	char *ad;
	int rc;

	file_ref(v, f->kind, f->reference, ref);
	cJSON_AddStringToObject(obj, "kind", f->kind);
	cJSON_AddStringToObject(obj, "reference", f->reference);
	if (f->name)
		cJSON_AddStringToObject(obj, "name", f->name);
	json_append(&meta, obj);
	cJSON_Delete(obj);
	ad = file_ad(f->tenant_guid, f->chat_id, f->message_id, ref, &adlen);
	vault_seal(v, ad, adlen, meta.data, meta.len, &sealed);
	free(ad);
	rc = catalog_stmt(db, "INSERT OR IGNORE INTO files (chat, message_id, kind, ref, meta_enc) VALUES (?, ?, ?, ?, ?)",
			  &st, e);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, f->chat);
		sqlite3_bind_text(st, 2, f->message_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, f->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, ref, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, sealed.data, (int)sealed.len, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("noting a file"), e);
		catalog_release(st);
	}
	buf_free(&meta);
	buf_free(&sealed);
	return rc;
}

int file_meta_open(const struct vault *v, const char *tenant_guid, const char *chat_id,
		   const char *message_id, const char *ref, const void *sealed, size_t len, struct buf *out,
		   struct cv_err *e)
{
	size_t adlen;
	char *ad = file_ad(tenant_guid, chat_id, message_id, ref, &adlen);
	int rc = vault_unseal(v, ad, adlen, sealed, len, out, e);

	free(ad);
	return rc;
}

int file_settle(sqlite3 *db, int64_t file, int status, const char *reason, int64_t job, const char *blob,
		int64_t size, struct cv_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (blob) {
		if ((rc = catalog_prepare(db, "INSERT OR IGNORE INTO blobs (name, size, created) VALUES (?, ?, ?)",
					  &st, e)))
			return rc;
		sqlite3_bind_text(st, 1, blob, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, size);
		sqlite3_bind_int64(st, 3, time_now_ms());
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("registering a blob"), e);
		sqlite3_finalize(st);
		if (rc)
			return rc;
	}
	/* The right-hand sides see the row as it was. */
	if ((rc = catalog_prepare(db, "UPDATE files SET status = ?2, reason = ?3, job = ?4, blob = ?5, size = ?6,"
				      " tried = ?7, refused_since = CASE WHEN ?2 IN (403, 404, 413) AND status = ?2"
				      " THEN coalesce(refused_since, job) WHEN ?2 IN (403, 404, 413) THEN ?4 END"
				      " WHERE id = ?1",
				  &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, file);
	sqlite3_bind_int(st, 2, status);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, job);
	sqlite3_bind_text(st, 5, blob, -1, SQLITE_STATIC);
	if (blob)
		sqlite3_bind_int64(st, 6, size);
	sqlite3_bind_int64(st, 7, time_now_ms());
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : catalog_error(db, _("recording a file"), e);
	sqlite3_finalize(st);
	return rc;
}

void blob_sweep_unused(sqlite3 *db, const char *blobs_dir)
{
	struct buf names = BUF_INIT;
	sqlite3_stmt *st;
	size_t at;

	if (catalog_begin(db, NULL))
		return;
	if (catalog_prepare(db,
			    "DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM files WHERE files.blob = blobs.name)"
			    " RETURNING name",
			    &st, NULL)) {
		catalog_rollback(db);
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		buf_append_str(&names, catalog_text(st, 0));
		buf_append_char(&names, '\0');
	}
	sqlite3_finalize(st);
	/* Rows first: a file without its row is only space, a row without
	 * its file would be a damaged store. */
	if (catalog_commit(db, NULL) == 0)
		for (at = 0; at < names.len; at += strlen(names.data + at) + 1)
			blob_remove(blobs_dir, names.data + at);
	buf_free(&names);
}
