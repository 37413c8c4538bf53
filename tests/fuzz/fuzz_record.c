/*
 * The store's record decoders: a sealed catalog record (vault_unseal) and a
 * blob file (blob_read). Nothing the disk holds is believed unless it
 * authenticates: bytes that were not sealed with the store's key, and any
 * change to bytes that were (a flipped bit, a cut, a tail added), give an
 * error and never other plaintext. The input is read three ways: as a record
 * itself, as edits to a genuine record, and as edits to a genuine blob file.
 */
#include "config.h"

#include "fuzz.h"

#include "store/blobs.h"
#include "store/store.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/err.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vault *vault;
static char dir[256], blob_path[512], blob_name[VAULT_BLOB_NAME_LEN + 1];
static struct buf record = BUF_INIT, blob_file = BUF_INIT, blob_plain = BUF_INIT;
static char *ad;
static size_t adlen;

static const char plaintext[] = "{\"id\":\"1700000000000\",\"body\":{\"contentType\":\"html\",\"content\":\"<p>hi</p>\"}}";

static int read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(out, chunk, n);
	fclose(f);
	return 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (f == NULL)
		return -1;
	rc = fwrite(p, 1, n, f) == n ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The store made for the run goes with it. */
static void remove_dir(void)
{
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char keyfile[300], recovery[VAULT_RECOVERY_MAX];
	struct blob_writer *w;
	struct cv_err e = {0};
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "%s/cvfuzz-record.XXXXXX", tmp);
	/* the cheapest key derivation the vault allows: this is not its test */
	setenv("CHATVAULT_KDF_MEMORY_KIB", "19456", 1);
	setenv("CHATVAULT_KDF_ITERATIONS", "2", 1);
	if (vault_global_init() != 0 || mkdtemp(dir) == NULL)
		abort();
	atexit(remove_dir);
	snprintf(keyfile, sizeof keyfile, "%s/key", dir);
	if (vault_create(keyfile, "fuzz passphrase", 15, recovery, &vault, &e) != 0)
		fuzz_fail("vault_create: %s", e.msg);

	ad = store_record_ad("messages.raw", "tenant", "19:chat@unq.gbl.spaces", "1700000000000", "1/2023", &adlen);
	vault_seal(vault, ad, adlen, plaintext, sizeof plaintext - 1, &record);

	/* One chunk of 3,000 bytes: chunks are 1 MiB (BLOB_CHUNK), and a blob
	 * of several would be too slow to read back thousands of times; the
	 * unit tests cover the chunk order and the cut at a chunk boundary. */
	for (int i = 0; i < 3000; i++)
		buf_append_char(&blob_plain, (char)(i * 7 + (i >> 5)));
	if (blob_writer_new(dir, vault, &w, &e) != 0 || blob_write(w, blob_plain.data, blob_plain.len, &e) != 0 ||
	    blob_commit(&w, blob_name, NULL, &e) != 0)
		fuzz_fail("writing the genuine blob: %s", e.msg);
	snprintf(blob_path, sizeof blob_path, "%s/%.2s/%s", dir, blob_name, blob_name);
	if (read_file(blob_path, &blob_file) != 0)
		fuzz_fail("the genuine blob is not at %s", blob_path);
	return 0;
}

/* Apply edits drawn from the input to a copy of genuine: (position, xor)
 * pairs, then, as the first byte says, a cut or a tail. Returns whether the
 * copy differs from genuine. */
static int edit(const struct buf *genuine, const uint8_t *data, size_t size, struct buf *out)
{
	size_t i;

	buf_reset(out);
	buf_append(out, genuine->data, genuine->len);
	for (i = 1; i + 2 < size; i += 3) {
		size_t pos = ((size_t)data[i] | (size_t)data[i + 1] << 8) % out->len;

		out->data[pos] ^= (char)data[i + 2];
	}
	if (size && (data[0] & 1))
		out->len = (size > 1 ? data[1] : 0) % out->len; /* cut */
	if (size && (data[0] & 2))
		buf_append(out, data, size); /* a tail */
	return out->len != genuine->len || memcmp(out->data, genuine->data, out->len) != 0;
}

static int collect(void *ctx, const void *p, size_t n)
{
	buf_append(ctx, p, n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, copy = BUF_INIT;
	struct cv_err e = {0};
	int changed, rc;

	/* the input as a record: it was never sealed with this key */
	if (vault_unseal(vault, ad, adlen, data, size, &out, &e) == 0)
		fuzz_fail("a record nobody sealed authenticated");
	if (e.code != CV_EINTEGRITY && e.code != CV_EPROTO)
		fuzz_fail("a forged record gave error %d (%s)", e.code, e.msg);

	/* edits to a genuine record */
	changed = edit(&record, data, size, &copy);
	buf_reset(&out);
	rc = vault_unseal(vault, ad, adlen, copy.data, copy.len, &out, &e);
	if (changed && rc == 0)
		fuzz_fail("a changed record authenticated");
	if (!changed && (rc != 0 || out.len != sizeof plaintext - 1 || memcmp(out.data, plaintext, out.len) != 0))
		fuzz_fail("an unchanged record did not read back");

	/* edits to a genuine blob file */
	changed = edit(&blob_file, data, size, &copy);
	if (write_file(blob_path, copy.data, copy.len) != 0)
		fuzz_fail("cannot rewrite %s", blob_path);
	buf_reset(&out);
	rc = blob_read(dir, vault, blob_name, collect, &out, &e);
	if (changed && rc == 0)
		fuzz_fail("a changed blob file read back without an error");
	if (changed && rc != CV_EINTEGRITY)
		fuzz_fail("a changed blob file gave error %d (%s), not an integrity error", rc, e.msg);
	if (!changed && (rc != 0 || out.len != blob_plain.len || memcmp(out.data, blob_plain.data, out.len) != 0))
		fuzz_fail("an unchanged blob did not read back: %s", rc ? e.msg : "other bytes");

	buf_free(&out);
	buf_free(&copy);
	return 0;
}
