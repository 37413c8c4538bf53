/* Hosted images and shared files in an export (see attach.h). */
#include "config.h"

#include "export/attach.h"
#include "export/export.h"
#include "store/blobs.h"
#include "store/catalog.h"
#include "store/files.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/json.h"
#include "util/sanitize.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void export_attach_chat(struct export_attachments *a, const char *folder)
{
	export_attach_free(a);
	a->folder = xstrdup(folder);
	a->names = name_set_new();
}

static void clear_items(struct export_attachments *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		struct export_attachment *t = &a->items[i];

		free(t->kind);
		free(t->reference);
		free(t->name);
		free(t->href);
		free(t->blob);
		free(t->reason);
	}
	a->n = 0;
}

void export_attach_free(struct export_attachments *a)
{
	clear_items(a);
	free(a->items);
	free(a->folder);
	name_set_free(&a->names);
	memset(a, 0, sizeof *a);
}

const struct export_attachment *export_attach_find(const struct export_attachments *a, const char *kind,
						   const char *reference)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->items[i].kind, kind) == 0 && strcmp(a->items[i].reference, reference) == 0)
			return &a->items[i];
	return NULL;
}

/* The MIME type of an image by its first bytes, or NULL if not PNG, JPEG,
 * GIF or WebP. */
static const char *image_type(const unsigned char *p, size_t n)
{
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0)
		return "image/jpeg";
	if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

struct capped {
	struct buf *out;
	size_t max;
};

static int to_capped(void *ctx, const void *p, size_t n)
{
	struct capped *c = ctx;

	if (c->out->len + n > c->max)
		return CV_ETOOBIG;
	buf_append(c->out, p, n);
	return 0;
}

int export_attach_bytes(struct export_ctx *x, const struct export_attachment *att, size_t max, struct buf *out,
			struct cv_err *e)
{
	struct capped c = {out, max};
	int rc;

	if (att->blob == NULL || (uint64_t)att->size > max)
		return 0;
	buf_reset(out);
	rc = blob_read(x->req->blobs_dir, x->vault, att->blob, to_capped, &c, e);
	if (rc == CV_ETOOBIG)
		return 0;
	return rc ? rc : 1;
}

/* ---- loading a message's files ------------------------------------------ */

struct load {
	struct export_ctx *x;
	struct export_attachments *a;
	const struct export_chat *chat;
	const char *message_id;
	struct cv_err *e;
};

static int load_one(void *ctx, const char *kind, const char *reference, const char *name)
{
	struct load *l = ctx;
	struct export_attachments *a = l->a;
	struct export_attachment *t;
	char ref[VAULT_BLOB_NAME_LEN + 1];
	sqlite3_stmt *st;
	int rc;

	if (export_attach_find(a, kind, reference))
		return 0; /* named twice in one message */
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 4;
		a->items = xreallocarray(a->items, a->cap, sizeof *a->items);
	}
	t = &a->items[a->n++];
	memset(t, 0, sizeof *t);
	t->kind = xstrdup(kind);
	t->reference = xstrdup(reference);
	t->name = name ? xstrdup(name) : NULL;
	file_ref(l->x->vault, kind, reference, ref);
	if ((rc = catalog_prepare(l->x->db,
				  "SELECT status, reason, blob, coalesce(size, 0) FROM files"
				  " WHERE chat = ? AND message_id = ? AND ref = ?",
				  &st, l->e)))
		return rc;
	sqlite3_bind_int64(st, 1, l->chat->rowid);
	sqlite3_bind_text(st, 2, l->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = catalog_error(l->x->db, _("reading the catalog"), l->e);
		sqlite3_finalize(st);
		return rc;
	}
	if (rc == SQLITE_DONE || sqlite3_column_int(st, 0) == FILE_PENDING) {
		t->reason = xstrdup(_("no backup run has fetched this file yet"));
	} else if (sqlite3_column_int(st, 0) == 200 && sqlite3_column_type(st, 2) != SQLITE_NULL) {
		t->blob = xstrdup(catalog_text(st, 2));
		t->size = sqlite3_column_int64(st, 3);
	} else {
		t->reason = xstrdup(catalog_text(st, 1));
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- writing them beside the page --------------------------------------- */

void export_attach_note(const struct export_attachment *att, struct buf *out)
{
	struct buf why = BUF_INIT;

	if (att->reason)
		sanitize_append(&why, att->reason, strlen(att->reason), 0);
	if (att->damaged)
		buf_printf(out, _("The stored copy of this file is damaged, so it was left out.\nReason: %s\n"),
			   buf_str(&why));
	else if (att->missing)
		buf_printf(out, _("The stored copy of this file is missing, so it was left out.\nReason: %s\n"),
			   buf_str(&why));
	else
		buf_printf(out, _("This file was not available when the chat was backed up.\nReason: %s\n"),
			   buf_str(&why));
	buf_free(&why);
}

/* The note that stands in for file t, named after it: base is the name the
 * file has, or would have had, in the export. */
static int write_unavailable(struct export_ctx *x, struct export_attachments *a, struct export_attachment *t,
			     const char *base, struct cv_err *e)
{
	char *name = name_make(a->names, base, _("file"), ".unavailable.txt");
	struct buf note = BUF_INIT;
	struct export_file f;
	int rc;

	export_attach_note(t, &note);
	if ((rc = export_file_begin(x->out, a->folder, name, &f, e)) == 0) {
		fwrite(note.data, 1, note.len, f.f);
		rc = export_file_end(x->out, &f, e);
	}
	if (rc == 0)
		t->href = xasprintf("%s/%s", a->folder, name);
	buf_free(&note);
	free(name);
	return rc;
}

/* Copy a blob into a file, keeping its first bytes to tell an image's type. */
struct copy {
	FILE *f;
	unsigned char head[16];
	size_t headlen;
	int errnum; /* why a write failed */
};

static int to_copy(void *ctx, const void *p, size_t n)
{
	struct copy *c = ctx;

	if (c->headlen < sizeof c->head) {
		size_t k = n < sizeof c->head - c->headlen ? n : sizeof c->head - c->headlen;

		memcpy(c->head + c->headlen, p, k);
		c->headlen += k;
	}
	if (fwrite(p, 1, n, c->f) == n)
		return 0;
	c->errnum = errno ? errno : EIO;
	return CV_EIO;
}

static const char *image_ext(const char *mime)
{
	if (mime == NULL)
		return ".bin";
	return strcmp(mime, "image/png") == 0 ? ".png" : strcmp(mime, "image/jpeg") == 0 ? ".jpg"
	       : strcmp(mime, "image/gif") == 0 ? ".gif" : ".webp";
}

static int write_one(struct export_ctx *x, struct export_attachments *a, struct export_attachment *t,
		     const char *message_id, int index, struct cv_err *e)
{
	int hosted = strcmp(t->kind, "hosted") == 0;
	struct copy c = {0};
	struct export_file f;
	char base[96], *name;
	int rc, lost = 0;

	/* Graph gives a hosted image no name: it is named for its message,
	 * and so is the note that stands in for it. */
	snprintf(base, sizeof base, "image %s-%d", message_id, index);
	if (t->blob == NULL) {
		x->result->missing_attachments++;
		return write_unavailable(x, a, t, hosted ? base : t->name, e);
	}
	/* A file keeps its own name; an image is named once its first bytes
	 * have told its type (the final name is only used at the rename). */
	name = hosted ? NULL : name_make(a->names, t->name, _("file"), "");
	if ((rc = export_file_begin(x->out, a->folder, hosted ? "image" : name, &f, e))) {
		free(name);
		return rc;
	}
	c.f = f.f;
	rc = blob_read(x->req->blobs_dir, x->vault, t->blob, to_copy, &c, e);
	if (rc && c.errnum)
		rc = err_set(e, fs_errno_code(c.errnum), _("cannot write %s/%s: %s"), export_out_path(x->out),
			     a->folder, strerror(c.errnum));
	else if (rc == CV_EINTEGRITY || rc == CV_ENOTFOUND)
		lost = rc;
	if (rc == 0 && hosted) {
		t->mime = image_type(c.head, c.headlen);
		name = name_make(a->names, base, "image", image_ext(t->mime));
		free(f.name);
		f.name = xstrdup(name);
	}
	if (rc == 0)
		rc = export_file_end(x->out, &f, e);
	else
		export_file_abort(x->out, &f);
	if (rc == 0)
		t->href = xasprintf("%s/%s", a->folder, name);
	if (!lost) {
		free(name);
		return rc;
	}
	/* A stored copy that cannot be read is left out like a damaged
	 * record: counted, and the rest of the export goes on. A damaged one
	 * failed its check; a missing one is only not there (a store copied
	 * without its blobs/), which is no sign of tampering, so it is told
	 * and counted apart. */
	free(t->blob);
	t->blob = NULL;
	t->mime = NULL;
	if (lost == CV_ENOTFOUND) {
		x->result->missing_blobs++;
		t->missing = 1;
		t->reason = xstrdup(_("the stored copy of this file is missing from the store's blobs/ folder "
				      "(was the store copied without it?)"));
	} else {
		x->result->integrity_errors++;
		t->damaged = 1;
		t->reason = xstrdup(_("the stored copy failed its integrity check"));
	}
	/* the note takes the name the file was given (no " (2)" for its own
	 * name taken just now) */
	rc = write_unavailable(x, a, t, hosted ? base : name, e);
	free(name);
	return rc;
}

int export_attach_message(struct export_ctx *x, struct export_attachments *a, const struct export_chat *c,
			  const cJSON *msg, struct cv_err *e)
{
	struct load l = {x, a, c, json_str(msg, "id"), e};
	size_t i;
	int rc;

	clear_items(a);
	if (!x->req->attachments || l.message_id == NULL)
		return 0;
	if ((rc = file_refs_each(msg, load_one, &l)))
		return rc;
	for (i = 0; i < a->n; i++)
		if ((rc = write_one(x, a, &a->items[i], l.message_id, (int)i + 1, e)))
			return rc;
	return 0;
}
