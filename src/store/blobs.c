/* Encrypted, chunked, content-addressed blobs (see blobs.h). */
#include "config.h"

#include "store/blobs.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "CVBLOB1\n"
#define MAGIC_LEN 8
#define FILE_ID_LEN 16
#define RECORD_HEAD 5 /* plaintext length (u32, big-endian) and the last-chunk flag */
#define AD_LEN (4 + FILE_ID_LEN + 8 + 1)

struct blob_writer {
	const struct vault *vault;
	char *dir, *tmp;
	int fd;
	unsigned char file_id[FILE_ID_LEN];
	uint64_t index, size;
	struct buf pending; /* plaintext not yet sealed: at most one chunk */
	struct buf sealed;
	struct vault_hasher *hasher;
};

static void chunk_ad(unsigned char *ad, const unsigned char *file_id, uint64_t index, int last)
{
	int i;

	memcpy(ad, "CVB1", 4);
	memcpy(ad + 4, file_id, FILE_ID_LEN);
	for (i = 0; i < 8; i++)
		ad[4 + FILE_ID_LEN + i] = (unsigned char)(index >> (56 - 8 * i));
	ad[AD_LEN - 1] = (unsigned char)(last != 0);
}

static int valid_name(const char *name)
{
	size_t i;

	if (name == NULL || strlen(name) != VAULT_BLOB_NAME_LEN)
		return 0;
	for (i = 0; i < VAULT_BLOB_NAME_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

/* blobs/ab/abcdef… */
static char *blob_path(const char *dir, const char *name)
{
	return xasprintf("%s/%.2s/%s", dir, name, name);
}

int blob_writer_new(const char *dir, const struct vault *v, struct blob_writer **out, struct cv_err *e)
{
	struct blob_writer *w = xcalloc(1, sizeof *w);
	char *tmpdir = fs_join(dir, "tmp");
	unsigned char header[MAGIC_LEN + FILE_ID_LEN];
	struct buf hex = BUF_INIT;
	int rc;

	*out = NULL;
	w->vault = v;
	w->dir = xstrdup(dir);
	w->fd = -1;
	gcry_randomize(w->file_id, FILE_ID_LEN, GCRY_STRONG_RANDOM);
	hex_encode(&hex, w->file_id, FILE_ID_LEN);
	w->tmp = xasprintf("%s/%s.part", tmpdir, hex.data);
	buf_free(&hex);
	if ((rc = fs_mkdir_p(tmpdir, 0700, e)))
		goto fail;
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		rc = err_set(e, fs_errno_code(errno), _("cannot create %s: %s"), w->tmp, strerror(errno));
		goto fail;
	}
	memcpy(header, MAGIC, MAGIC_LEN);
	memcpy(header + MAGIC_LEN, w->file_id, FILE_ID_LEN);
	if (fs_write_all(w->fd, header, sizeof header) != 0) {
		rc = err_set(e, fs_errno_code(errno), _("cannot write %s: %s"), w->tmp, strerror(errno));
		goto fail;
	}
	w->hasher = vault_hasher_new(v);
	free(tmpdir);
	*out = w;
	return 0;
fail:
	free(tmpdir);
	blob_abort(&w);
	return rc;
}

/* Seal the pending plaintext as chunk w->index and append it to the file. */
static int flush_chunk(struct blob_writer *w, int last, struct cv_err *e)
{
	unsigned char ad[AD_LEN], head[RECORD_HEAD];
	uint32_t n = (uint32_t)w->pending.len;

	chunk_ad(ad, w->file_id, w->index, last);
	head[0] = (unsigned char)(n >> 24);
	head[1] = (unsigned char)(n >> 16);
	head[2] = (unsigned char)(n >> 8);
	head[3] = (unsigned char)n;
	head[4] = (unsigned char)(last != 0);
	buf_reset(&w->sealed);
	buf_append(&w->sealed, head, sizeof head);
	vault_seal(w->vault, ad, sizeof ad, w->pending.data, w->pending.len, &w->sealed);
	if (fs_write_all(w->fd, w->sealed.data, w->sealed.len) != 0)
		return err_set(e, fs_errno_code(errno), _("cannot write %s: %s"), w->tmp, strerror(errno));
	w->index++;
	buf_reset(&w->pending);
	return 0;
}

int blob_write(struct blob_writer *w, const void *p, size_t n, struct cv_err *e)
{
	const char *s = p;

	vault_hasher_update(w->hasher, p, n);
	w->size += n;
	while (n > 0) {
		size_t room;
		int rc;

		/* A full chunk is sealed only once more data arrives, so the
		 * final chunk always carries the last flag. */
		if (w->pending.len == BLOB_CHUNK && (rc = flush_chunk(w, 0, e)))
			return rc;
		room = BLOB_CHUNK - w->pending.len;
		if (room > n)
			room = n;
		buf_append(&w->pending, s, room);
		s += room;
		n -= room;
	}
	return 0;
}

static int discard(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

/* Is the stored copy of blob name whole? Deduplication must not keep a copy
 * that was damaged on disk when good bytes are at hand: it is read and
 * checked in full (only when the same content arrives again), and a damaged
 * one is replaced by the new copy. */
static int intact(const struct blob_writer *w, const char *name)
{
	struct cv_err e = {0};

	if (blob_read(w->dir, w->vault, name, discard, NULL, &e) == 0)
		return 1;
	log_warn("%s; replacing it with the copy just received", e.msg);
	return 0;
}

int blob_commit(struct blob_writer **wp, char *name, uint64_t *size, struct cv_err *e)
{
	struct blob_writer *w = *wp;
	char *path = NULL, *sub;
	int rc;

	if ((rc = flush_chunk(w, 1, e)))
		goto out;
	{
		int bad = fsync(w->fd) != 0, saved = errno;

		if (close(w->fd) != 0 && !bad) {
			bad = 1;
			saved = errno;
		}
		w->fd = -1;
		if (bad) {
			rc = err_set(e, fs_errno_code(saved), _("cannot write %s: %s"), w->tmp, strerror(saved));
			goto out;
		}
	}
	vault_hasher_finish(&w->hasher, name);
	if (size)
		*size = w->size;
	/* A new shard folder must itself survive a crash: the catalog will
	 * name a blob inside it. */
	sub = xasprintf("%s/%.2s", w->dir, name);
	if (mkdir(sub, 0700) == 0)
		fs_sync_parent(sub);
	else if (errno != EEXIST)
		rc = err_set(e, fs_errno_code(errno), _("cannot create %s: %s"), sub, strerror(errno));
	free(sub);
	if (rc)
		goto out;
	path = blob_path(w->dir, name);
	if (fs_exists(path) && intact(w, name)) {
		/* the same content is already stored */
		unlink(w->tmp);
	} else if (rename(w->tmp, path) != 0) {
		rc = err_set(e, fs_errno_code(errno), _("cannot store %s: %s"), path, strerror(errno));
		goto out;
	} else {
		fs_sync_parent(path);
	}
	free(w->tmp);
	w->tmp = NULL;
out:
	free(path);
	blob_abort(wp);
	return rc;
}

void blob_abort(struct blob_writer **wp)
{
	struct blob_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp) {
		unlink(w->tmp);
		free(w->tmp);
	}
	if (w->hasher) {
		char discard[VAULT_BLOB_NAME_LEN + 1];

		vault_hasher_finish(&w->hasher, discard);
	}
	buf_free(&w->pending);
	buf_free(&w->sealed);
	free(w->dir);
	free(w);
	*wp = NULL;
}

void blob_sweep_tmp(const char *dir, long max_age_s)
{
	char *tmpdir = fs_join(dir, "tmp");
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	time_t now = time(NULL);

	while (d && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct stat st;

		if (len < 5 || strcmp(de->d_name + len - 5, ".part") != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime > max_age_s)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	free(tmpdir);
}

void blob_remove(const char *dir, const char *name)
{
	char *path;

	if (!valid_name(name))
		return;
	path = blob_path(dir, name);
	if (unlink(path) == 0) {
		*strrchr(path, '/') = '\0';
		rmdir(path); /* the last blob of its folder: an error otherwise */
	}
	free(path);
}

int blob_read(const char *dir, const struct vault *v, const char *name,
	      int (*sink)(void *ctx, const void *p, size_t n), void *ctx, struct cv_err *e)
{
	unsigned char header[MAGIC_LEN + FILE_ID_LEN], head[RECORD_HEAD], ad[AD_LEN];
	struct buf sealed = BUF_INIT, plain = BUF_INIT;
	struct vault_hasher *h = NULL;
	char got[VAULT_BLOB_NAME_LEN + 1], *path;
	uint64_t index = 0;
	int fd, rc = 0, last = 0;

	if (!valid_name(name))
		return err_set(e, CV_EINTEGRITY, _("'%s' is not a blob name"), name ? name : "");
	path = blob_path(dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		/* Not damage: the file is simply not there, as when a store
		 * was copied without its blobs/ folder. */
		rc = err_set(e, CV_ENOTFOUND, _("blob %s is missing from the store's blobs folder"), name);
		free(path);
		return rc;
	}
	if (fd < 0) {
		rc = err_set(e, CV_EINTEGRITY, _("blob %s is missing from the store: %s"), name, strerror(errno));
		free(path);
		return rc;
	}
	if (fs_read_full(fd, header, sizeof header) != (ssize_t)sizeof header ||
	    memcmp(header, MAGIC, MAGIC_LEN) != 0) {
		rc = err_set(e, CV_EINTEGRITY, _("blob %s is damaged (bad header)"), name);
		goto out;
	}
	h = vault_hasher_new(v);
	while (!last) {
		uint32_t n;
		ssize_t r = fs_read_full(fd, head, sizeof head);

		if (r != (ssize_t)sizeof head) {
			rc = err_set(e, CV_EINTEGRITY, _("blob %s is damaged (cut short)"), name);
			goto out;
		}
		n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
		last = head[4];
		if (n > BLOB_CHUNK || last > 1) {
			rc = err_set(e, CV_EINTEGRITY, _("blob %s is damaged (bad chunk header)"), name);
			goto out;
		}
		buf_reset(&sealed);
		buf_grow(&sealed, n + VAULT_SEAL_OVERHEAD);
		if (fs_read_full(fd, sealed.data, n + VAULT_SEAL_OVERHEAD) != (ssize_t)(n + VAULT_SEAL_OVERHEAD)) {
			rc = err_set(e, CV_EINTEGRITY, _("blob %s is damaged (cut short)"), name);
			goto out;
		}
		sealed.len = n + VAULT_SEAL_OVERHEAD;
		chunk_ad(ad, header + MAGIC_LEN, index, last);
		buf_reset(&plain);
		if ((rc = vault_unseal(v, ad, sizeof ad, sealed.data, sealed.len, &plain, e))) {
			err_prefix(e, _("blob %s, chunk %llu"), name, (unsigned long long)index);
			goto out;
		}
		vault_hasher_update(h, plain.data, plain.len);
		if (plain.len > 0 && (rc = sink(ctx, plain.data, plain.len)) != 0)
			goto out;
		index++;
	}
	if (fs_read_full(fd, head, 1) != 0) {
		rc = err_set(e, CV_EINTEGRITY, _("blob %s is damaged (data after the end)"), name);
		goto out;
	}
	vault_hasher_finish(&h, got);
	if (strcmp(got, name) != 0)
		rc = err_set(e, CV_EINTEGRITY, _("blob %s holds other content than its name says"), name);
out:
	if (h)
		vault_hasher_finish(&h, got);
	close(fd);
	free(path);
	buf_free(&sealed);
	buf_free(&plain);
	return rc;
}
