/*
 * Unit tests for src/store/vault.c and kdf.c: known-answer tests for every
 * primitive (AES-256-GCM, HMAC-SHA-256, HKDF, Argon2id), then the key file
 * (create, open, recovery, passphrase change, damage, permissions) and
 * records (tampering, swapped identity, nonce uniqueness, threads), and the
 * blob store (chunking, deduplication, tampering, truncation, swapping).
 */
#include "config.h"

#include "tap.h"
#include "store/blobs.h"
#include "store/files.h"
#include "store/kdf.h"
#include "store/vault.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <ftw.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char PASS[] = "correct horse battery staple";
static const char NEWPASS[] = "Tr0ub4dor&3 but longer";

static char tmpdir[4096];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hex text of n bytes; the caller frees it. */
static char *hex_of(const void *p, size_t n)
{
	struct buf b = BUF_INIT;

	hex_encode(&b, p, n);
	return buf_steal(&b);
}

/* Bytes of hex text into out (at most max); returns the count. */
static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	for (; s[0] && s[1] && n < max; s += 2) {
		unsigned v;

		sscanf(s, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT;

	if (fs_read_file(path, 1 << 20, &b, NULL) != 0) {
		buf_free(&b);
		return NULL;
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	return buf_steal(&b);
}

static void spit(const char *path, const char *text, size_t n)
{
	if (fs_write_atomic(path, text, n, 0600, NULL) != 0)
		xfatal("cannot write %s", path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------ */

static void test_gcm_vector(void)
{
	/* McGrew & Viega, "The Galois/Counter Mode of Operation", Test Case 16:
	 * 256-bit key, 96-bit IV, 60-byte plaintext, 20 bytes of AAD. */
	unsigned char key[32], iv[12], pt[60], aad[20], want_ct[60], want_tag[16];
	unsigned char ct[60], tag[16], back[60];
	gcry_cipher_hd_t hd;
	char *h;

	unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
	unhex("cafebabefacedbaddecaf888", iv, 12);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	      pt, 60);
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
	unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	      want_ct, 60);
	unhex("76fc6ece0f4e1768cddf8853bb2d551b", want_tag, 16);

	ok(gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0) == 0, "GCM handle");
	gcry_cipher_setkey(hd, key, 32);
	gcry_cipher_setiv(hd, iv, 12);
	gcry_cipher_authenticate(hd, aad, 20);
	gcry_cipher_encrypt(hd, ct, 60, pt, 60);
	gcry_cipher_gettag(hd, tag, 16);
	h = hex_of(ct, 60);
	is_str(h, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	       "AES-256-GCM test case 16: ciphertext");
	free(h);
	h = hex_of(tag, 16);
	is_str(h, "76fc6ece0f4e1768cddf8853bb2d551b", "AES-256-GCM test case 16: tag");
	free(h);

	gcry_cipher_reset(hd);
	gcry_cipher_setiv(hd, iv, 12);
	gcry_cipher_authenticate(hd, aad, 20);
	gcry_cipher_decrypt(hd, back, 60, want_ct, 60);
	ok(gcry_cipher_checktag(hd, want_tag, 16) == 0 && memcmp(back, pt, 60) == 0,
	   "AES-256-GCM test case 16 decrypts and verifies");
	want_tag[15] ^= 1;
	gcry_cipher_reset(hd);
	gcry_cipher_setiv(hd, iv, 12);
	gcry_cipher_authenticate(hd, aad, 20);
	gcry_cipher_decrypt(hd, back, 60, want_ct, 60);
	ok(gcry_err_code(gcry_cipher_checktag(hd, want_tag, 16)) == GPG_ERR_CHECKSUM,
	   "checktag refuses a changed tag");
	gcry_cipher_close(hd);
}

static void test_hmac_hkdf_vectors(void)
{
	unsigned char out[42], ikm[22], salt[13], info[10];
	char *h;

	/* RFC 4231 test case 2. */
	kdf_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
	h = hex_of(out, 32);
	is_str(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	       "HMAC-SHA-256, RFC 4231 test case 2");
	free(h);

	/* RFC 5869 test case 1 (two expand blocks). */
	memset(ikm, 0x0b, sizeof ikm);
	unhex("000102030405060708090a0b0c", salt, sizeof salt);
	unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof info);
	kdf_hkdf_sha256(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, out, 42);
	h = hex_of(out, 42);
	is_str(h,
	       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	       "34007208d5b887185865",
	       "HKDF-SHA-256, RFC 5869 test case 1");
	free(h);
}

static void test_argon2_vector(void)
{
	/* RFC 9106 §5.3 (Argon2id, t=3, m=32 KiB, p=4, 32-byte tag, with a
	 * secret and associated data); libgcrypt's tests/t-kdf.c uses the same
	 * vector through the same gcry_kdf_open API. */
	struct kdf_params p = {3, 32, 4};
	unsigned char pass[32], salt[16], secret[8], ad[12], out[32];
	struct cv_err e;
	char *h;
	int rc;

	memset(pass, 1, sizeof pass);
	memset(salt, 2, sizeof salt);
	memset(secret, 3, sizeof secret);
	memset(ad, 4, sizeof ad);
	rc = kdf_argon2id_full(&p, pass, 32, salt, 16, secret, 8, ad, 12, out, 32, &e);
	is_int(rc, 0, "Argon2id runs");
	h = hex_of(out, 32);
	is_str(h, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
	       "Argon2id, RFC 9106 section 5.3");
	free(h);
}

static void test_kdf_params(void)
{
	struct kdf_params p;

	unsetenv("CHATVAULT_KDF_MEMORY_KIB");
	unsetenv("CHATVAULT_KDF_ITERATIONS");
	kdf_params_for_new_key(&p);
	ok(p.memory_kib == 65536 && p.iterations == 3 && p.parallelism == 1,
	   "default Argon2id: 64 MiB, t=3, p=1");

	setenv("CHATVAULT_KDF_MEMORY_KIB", "1024", 1);
	setenv("CHATVAULT_KDF_ITERATIONS", "1", 1);
	kdf_params_for_new_key(&p);
	ok(p.memory_kib == KDF_FLOOR_MEMORY_KIB && p.iterations == KDF_FLOOR_ITERATIONS,
	   "environment cannot go below the OWASP floor (19 MiB, t=2)");

	setenv("CHATVAULT_KDF_MEMORY_KIB", "99999999999", 1);
	setenv("CHATVAULT_KDF_ITERATIONS", "lots", 1);
	kdf_params_for_new_key(&p);
	ok(p.memory_kib == KDF_MAX_MEMORY_KIB && p.iterations == 3,
	   "absurd memory clamped to the maximum, non-number ignored");

	p.memory_kib = KDF_MAX_MEMORY_KIB + 1;
	ok(!kdf_params_valid(&p), "more than 4 GiB is not valid");
	p.memory_kib = 65536;
	p.iterations = 101;
	ok(!kdf_params_valid(&p), "more than 100 passes is not valid");

	/* The rest of the tests use the cheapest parameters allowed. */
	setenv("CHATVAULT_KDF_MEMORY_KIB", "19456", 1);
	setenv("CHATVAULT_KDF_ITERATIONS", "2", 1);
	kdf_params_for_new_key(&p);
	ok(p.memory_kib == 19456 && p.iterations == 2, "test parameters taken from the environment");
}

/* ------------------------------------------------------------------ */

static int unseal_is(const struct vault *v, const char *ad, const struct buf *ct, const char *want)
{
	struct buf pt = BUF_INIT;
	struct cv_err e;
	int same = vault_unseal(v, ad, strlen(ad), ct->data, ct->len, &pt, &e) == 0 &&
		   strcmp(buf_str(&pt), want) == 0;

	buf_free(&pt);
	return same;
}

static int recovery_shape_ok(const char *r)
{
	size_t i;

	if (strlen(r) != 39)
		return 0;
	for (i = 0; i < 39; i++) {
		if (i % 5 == 4 ? r[i] != '-' : strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", r[i]) == NULL)
			return 0;
	}
	return 1;
}

static void test_keyfile(void)
{
	char *keyfile = fs_join(tmpdir, "key");
	char *other = fs_join(tmpdir, "key-other");
	char recovery[VAULT_RECOVERY_MAX], rec2[VAULT_RECOVERY_MAX], typed[VAULT_RECOVERY_MAX];
	struct vault *v = NULL, *w = NULL, *x = NULL;
	struct buf ct = BUF_INIT;
	struct cv_err e;
	struct stat st;
	char *text, *text2;
	double t0;
	size_t i, j;
	int rc;

	t0 = now();
	rc = vault_create(keyfile, PASS, strlen(PASS), recovery, &v, &e);
	is_int(rc, 0, "create a key file");
	printf("# vault_create at m=19456 KiB t=2: %.0f ms\n", (now() - t0) * 1000);
	ok(stat(keyfile, &st) == 0 && (st.st_mode & 0777) == 0600, "key file is mode 0600");
	ok(recovery_shape_ok(recovery), "recovery key is 8 groups of 4 Crockford symbols");

	text = slurp(keyfile);
	ok(text != NULL && strstr(text, "\"format\":\t\"chatvault-key\"") != NULL &&
		   strstr(text, "\"argon2id\"") != NULL && strstr(text, "\"memory_kib\":\t19456") != NULL &&
		   strstr(text, "\"iterations\":\t2") != NULL,
	   "key file records format and the KDF parameters used");
	ok(text != NULL && strstr(text, PASS) == NULL && strstr(text, "horse") == NULL,
	   "passphrase is not in the key file");
	free(text);

	rc = vault_create(keyfile, PASS, strlen(PASS), rec2, &w, &e);
	ok(rc == CV_EEXIST && w == NULL && rec2[0] == '\0', "create refuses an existing key file");
	rc = vault_create(other, "", 0, rec2, &w, &e);
	ok(rc == CV_EINVAL && !fs_exists(other), "create refuses an empty passphrase");

	vault_seal(v, "row:1", 5, "hello vault", 11, &ct);
	is_int(ct.len, 11 + VAULT_SEAL_OVERHEAD, "sealed size is plaintext + overhead");

	t0 = now();
	rc = vault_open(keyfile, PASS, strlen(PASS), &w, &e);
	is_int(rc, 0, "open with the passphrase");
	printf("# vault_open at m=19456 KiB t=2: %.0f ms\n", (now() - t0) * 1000);
	ok(w != NULL && unseal_is(w, "row:1", &ct, "hello vault"), "reopened vault reads the record");
	vault_free(&w);
	ok(w == NULL, "vault_free NULLs the pointer");

	rc = vault_open(keyfile, "hunter2-guess", 13, &w, &e);
	ok(rc == CV_EPASS && w == NULL, "wrong passphrase gives CV_EPASS");
	ok(strstr(e.msg, "wrong passphrase") != NULL && strstr(e.msg, "hunter2") == NULL,
	   "message says wrong passphrase, without the guess: %s", e.msg);
	rc = vault_open(keyfile, PASS, strlen(PASS) - 1, &w, &e);
	is_int(rc, CV_EPASS, "passphrase length is respected (one byte short fails)");

	rc = vault_open_recovery(keyfile, recovery, &w, &e);
	ok(rc == 0 && unseal_is(w, "row:1", &ct, "hello vault"), "open with the recovery key");
	vault_free(&w);

	/* As people type it: lower case, no dashes, spaces, O for 0, l/i for 1. */
	for (i = 0, j = 0; recovery[i]; i++) {
		char c = recovery[i];

		if (c == '-')
			continue;
		if (c == '0')
			c = 'o';
		else if (c == '1')
			c = (j % 2) ? 'l' : 'I';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		typed[j++] = c;
		if (j % 9 == 8)
			typed[j++] = ' ';
	}
	typed[j] = '\0';
	rc = vault_open_recovery(keyfile, typed, &w, &e);
	ok(rc == 0, "recovery key accepted in any case, without dashes, O/I/L misreadings");
	vault_free(&w);

	snprintf(typed, sizeof typed, "%s", recovery);
	typed[0] = typed[0] == 'Z' ? 'Y' : 'Z';
	rc = vault_open_recovery(keyfile, typed, &w, &e);
	ok(rc == CV_EPASS && strstr(e.msg, "wrong recovery key") != NULL,
	   "a changed recovery key gives CV_EPASS");
	rc = vault_open_recovery(keyfile, "ABCD-EFGH", &w, &e);
	ok(rc == CV_EPASS && strstr(e.msg, "not a recovery key") != NULL, "a short recovery key");
	rc = vault_open_recovery(keyfile, "UUUU-UUUU-UUUU-UUUU-UUUU-UUUU-UUUU-UUUU", &w, &e);
	ok(rc == CV_EPASS && strstr(e.msg, "UUUU") == NULL,
	   "invalid symbols refused without echoing the secret");
	rc = vault_open(keyfile, recovery, strlen(recovery), &w, &e);
	is_int(rc, CV_EPASS, "the recovery key is not a passphrase");

	/* Passphrase change: only the wrapping changes. */
	text = slurp(keyfile);
	rc = vault_change_passphrase(v, keyfile, NEWPASS, strlen(NEWPASS), &e);
	is_int(rc, 0, "change the passphrase");
	text2 = slurp(keyfile);
	ok(text && text2 && strcmp(text, text2) != 0, "key file was rewritten");
	ok(stat(keyfile, &st) == 0 && (st.st_mode & 0777) == 0600, "still mode 0600");
	free(text);
	free(text2);
	rc = vault_open(keyfile, PASS, strlen(PASS), &w, &e);
	is_int(rc, CV_EPASS, "old passphrase no longer opens it");
	rc = vault_open(keyfile, NEWPASS, strlen(NEWPASS), &w, &e);
	ok(rc == 0 && unseal_is(w, "row:1", &ct, "hello vault"), "new passphrase opens it; data decrypts");
	vault_free(&w);
	rc = vault_open_recovery(keyfile, recovery, &w, &e);
	ok(rc == 0 && unseal_is(w, "row:1", &ct, "hello vault"), "recovery key survives the change");
	is_int(vault_change_passphrase(w, keyfile, PASS, strlen(PASS), &e), 0,
	       "a recovery-opened vault can set a new passphrase");
	vault_free(&w);
	rc = vault_open(keyfile, PASS, strlen(PASS), &w, &e);
	is_int(rc, 0, "and that passphrase opens it");
	vault_free(&w);

	/* A second store: its records and key file are not ours. */
	rc = vault_create(other, PASS, strlen(PASS), rec2, &x, &e);
	is_int(rc, 0, "create a second store with the same passphrase");
	ok(strcmp(recovery, rec2) != 0, "its recovery key differs");
	ok(!unseal_is(x, "row:1", &ct, "hello vault"), "a record of one store fails in another");
	text = slurp(other);
	rc = vault_change_passphrase(v, other, NEWPASS, strlen(NEWPASS), &e);
	text2 = slurp(other);
	ok(rc == CV_EINVAL && text && text2 && strcmp(text, text2) == 0,
	   "passphrase change refuses another store's key file and leaves it alone");
	free(text);
	free(text2);
	rc = vault_open_recovery(other, recovery, &w, &e);
	is_int(rc, CV_EPASS, "one store's recovery key does not open another");

	vault_free(&x);
	vault_free(&v);
	buf_free(&ct);
	free(other);
	free(keyfile);
}

/* Replace the first occurrence of from by to in the key file; 1 if found. */
static int edit_keyfile(const char *path, const char *orig, const char *from, const char *to)
{
	const char *at = strstr(orig, from);
	struct buf b = BUF_INIT;

	if (at == NULL)
		return 0;
	buf_append(&b, orig, (size_t)(at - orig));
	buf_append_str(&b, to);
	buf_append_str(&b, at + strlen(from));
	spit(path, b.data, b.len);
	buf_free(&b);
	return 1;
}

/* Open must fail with code and a message containing want, and leave the
 * (damaged) file as it was. */
static void expect_open_fails(const char *keyfile, int code, const char *want, const char *what)
{
	char *before = slurp(keyfile), *after;
	struct vault *v = NULL;
	struct cv_err e;
	int rc;

	err_clear(&e);
	rc = vault_open(keyfile, PASS, strlen(PASS), &v, &e);
	after = slurp(keyfile);
	ok(rc == code && v == NULL && strstr(e.msg, want) != NULL, "%s gives %s: %s", what,
	   err_code_name(code), e.msg);
	ok(before && after && strcmp(before, after) == 0, "%s: file unchanged", what);
	vault_free(&v);
	free(before);
	free(after);
}

/* Change one base64 character into another (case bit for letters, low bit
 * for digits, '+' and '/' swapped), so the value always changes: the salt
 * and the wrapped key are random, and any character can be the one hit. */
static void flip_b64(char *q)
{
	if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
		*q ^= 0x20;
	else if (*q >= '0' && *q <= '9')
		*q = *q == '9' ? '8' : (char)(*q ^ 1);
	else if (*q == '+' || *q == '/')
		*q = *q == '+' ? '/' : '+';
}

static void test_damaged_keyfile(void)
{
	char *keyfile = fs_join(tmpdir, "key-damage");
	char recovery[VAULT_RECOVERY_MAX];
	struct vault *v = NULL;
	struct cv_err e;
	char *orig, *p;
	const char *wrap;
	int rc;

	rc = vault_create(keyfile, PASS, strlen(PASS), recovery, NULL, &e);
	is_int(rc, 0, "create a key file to damage (no vault wanted)");
	orig = slurp(keyfile);

	spit(keyfile, orig, strlen(orig) / 2);
	expect_open_fails(keyfile, CV_EPASS, "damaged", "truncated key file");
	spit(keyfile, "", 0);
	expect_open_fails(keyfile, CV_EPASS, "damaged", "empty key file");

	/* One bit flipped inside the wrapped key. */
	p = xstrdup(orig);
	wrap = strstr(p, "\"passphrase_wrap\"");
	if (wrap != NULL) {
		char *q = strchr(wrap + 18, '"') + 10;

		flip_b64(q);
	}
	spit(keyfile, p, strlen(p));
	expect_open_fails(keyfile, CV_EPASS, "damaged", "bit flipped in the wrapped key");
	free(p);

	p = xstrdup(orig);
	wrap = strstr(p, "\"salt\"");
	if (wrap != NULL) {
		char *q = strchr(wrap + 6, '"') + 3;

		flip_b64(q);
	}
	spit(keyfile, p, strlen(p));
	expect_open_fails(keyfile, CV_EPASS, "wrong passphrase", "bit flipped in the salt");
	free(p);

	ok(edit_keyfile(keyfile, orig, "\"memory_kib\":\t19456", "\"memory_kib\":\t99999999"),
	   "edit memory_kib");
	expect_open_fails(keyfile, CV_EPASS, "damaged", "absurd memory cost (> 4 GiB)");
	ok(edit_keyfile(keyfile, orig, "\"iterations\":\t2", "\"iterations\":\t1000"),
	   "edit iterations");
	expect_open_fails(keyfile, CV_EPASS, "damaged", "absurd iteration count");
	ok(edit_keyfile(keyfile, orig, "\"iterations\":\t2", "\"iterations\":\t2.5"),
	   "fractional iterations");
	expect_open_fails(keyfile, CV_EPASS, "damaged", "fractional iteration count");
	ok(edit_keyfile(keyfile, orig, "\"version\":\t1", "\"version\":\t2"), "edit version");
	expect_open_fails(keyfile, CV_EPASS, "newer chatvault", "unknown key file version");
	ok(edit_keyfile(keyfile, orig, "argon2id", "scrypt"), "edit algorithm");
	expect_open_fails(keyfile, CV_EPASS, "damaged", "unknown KDF");
	ok(edit_keyfile(keyfile, orig, "\"passphrase_wrap\"", "\"recovery_wrap_\""), "drop a field");
	expect_open_fails(keyfile, CV_EPASS, "damaged", "missing passphrase wrap");

	/* The two wrappings cannot stand in for each other (different AD). */
	{
		char *pw = strstr(orig, "\"passphrase_wrap\":\t\"");
		char *rw = strstr(orig, "\"recovery_wrap\":\t\"");

		if (pw != NULL && rw != NULL) {
			struct buf b = BUF_INIT;
			size_t pl = strcspn(pw + 20, "\""), rl = strcspn(rw + 18, "\"");

			/* passphrase_wrap := recovery_wrap */
			buf_append(&b, orig, (size_t)(pw + 20 - orig));
			buf_append(&b, rw + 18, rl);
			buf_append_str(&b, pw + 20 + pl);
			spit(keyfile, b.data, b.len);
			buf_free(&b);
		}
		ok(pw != NULL && rw != NULL, "found both wrappings");
		rc = vault_open_recovery(keyfile, recovery, &v, &e);
		ok(rc == 0, "recovery still opens (its wrapping is untouched)");
		vault_free(&v);
		expect_open_fails(keyfile, CV_EPASS, "wrong passphrase",
				  "recovery wrapping put in the passphrase slot");
	}

	spit(keyfile, orig, strlen(orig));
	chmod(keyfile, 0644);
	expect_open_fails(keyfile, CV_EPERMS, "mode 0644", "key file mode 0644");
	rc = vault_open_recovery(keyfile, recovery, &v, &e);
	is_int(rc, CV_EPERMS, "recovery open also refuses mode 0644");
	chmod(keyfile, 0600);
	rc = vault_open(keyfile, PASS, strlen(PASS), &v, &e);
	is_int(rc, 0, "restored key file opens again");
	vault_free(&v);

	unlink(keyfile);
	rc = vault_open(keyfile, PASS, strlen(PASS), &v, &e);
	ok(rc == CV_ENOTFOUND && v == NULL, "missing key file gives CV_ENOTFOUND");

	free(orig);
	free(keyfile);
}

/* ------------------------------------------------------------------ */

static int cmp_nonce(const void *a, const void *b)
{
	return memcmp(a, b, 12);
}

static void test_records(struct vault *v)
{
	static const char ad_a[] = "message|tenant-1|chat-9|msg-1|v1";
	static const char ad_b[] = "message|tenant-1|chat-9|msg-2|v1";
	const char *pt = "Lunch at 12? <b>bring</b> the slides \xe2\x9c\x93";
	struct buf ct = BUF_INIT, ct2 = BUF_INIT, out = BUF_INIT;
	struct cv_err e;
	unsigned char *nonces;
	size_t i, bad_flip = 0, bad_trunc = 0, bad_out = 0, dup = 0;
	int rc;

	vault_seal(v, ad_a, strlen(ad_a), pt, strlen(pt), &ct);
	ok((unsigned char)ct.data[0] == 0x01, "sealed record starts with format byte 1");
	ok(ct.len == strlen(pt) + 29 && memmem(ct.data, ct.len, "Lunch", 5) == NULL,
	   "plaintext does not show in the sealed record");
	rc = vault_unseal(v, ad_a, strlen(ad_a), ct.data, ct.len, &out, &e);
	ok(rc == 0 && strcmp(buf_str(&out), pt) == 0, "seal/unseal round trip");

	vault_seal(v, ad_a, strlen(ad_a), pt, strlen(pt), &ct2);
	ok(ct2.len == ct.len && memcmp(ct.data, ct2.data, ct.len) != 0,
	   "sealing the same record twice gives different bytes");

	buf_reset(&out);
	buf_append_str(&out, "kept");
	for (i = 0; i < ct.len; i++) {
		unsigned bit;

		for (bit = 0; bit < 8; bit += 7) {
			ct.data[i] ^= (char)(1u << bit);
			rc = vault_unseal(v, ad_a, strlen(ad_a), ct.data, ct.len, &out, &e);
			ct.data[i] ^= (char)(1u << bit);
			if (rc != CV_EINTEGRITY)
				bad_flip++;
			if (out.len != 4 || strcmp(out.data, "kept") != 0)
				bad_out++;
		}
	}
	is_int(bad_flip, 0, "every flipped bit (low and high, each of %zu bytes) gives CV_EINTEGRITY",
	       ct.len);
	is_int(bad_out, 0, "and nothing is appended to out");
	for (i = 0; i < ct.len; i++) {
		rc = vault_unseal(v, ad_a, strlen(ad_a), ct.data, i, &out, &e);
		if (rc != CV_EINTEGRITY || out.len != 4)
			bad_trunc++;
	}
	is_int(bad_trunc, 0, "every truncation gives CV_EINTEGRITY");
	rc = vault_unseal(v, ad_a, strlen(ad_a), ct.data, 5, &out, &e);
	ok(strstr(e.msg, "truncated") != NULL, "short record message: %s", e.msg);
	ct.data[20] ^= 1;
	vault_unseal(v, ad_a, strlen(ad_a), ct.data, ct.len, &out, &e);
	ct.data[20] ^= 1;
	is_str(e.msg, "record failed its integrity check (changed or damaged)", "integrity message");

	rc = vault_unseal(v, ad_b, strlen(ad_b), ct.data, ct.len, &out, &e);
	ok(rc == CV_EINTEGRITY && out.len == 4, "record under another identity (swapped rows) fails");
	rc = vault_unseal(v, ad_a, strlen(ad_a) - 1, ct.data, ct.len, &out, &e);
	is_int(rc, CV_EINTEGRITY, "shortened identity fails");
	rc = vault_unseal(v, NULL, 0, ct.data, ct.len, &out, &e);
	is_int(rc, CV_EINTEGRITY, "missing identity fails");

	buf_reset(&ct);
	vault_seal(v, NULL, 0, NULL, 0, &ct);
	buf_reset(&out);
	rc = vault_unseal(v, NULL, 0, ct.data, ct.len, &out, &e);
	ok(rc == 0 && ct.len == VAULT_SEAL_OVERHEAD && out.len == 0, "empty record, empty identity");

	/* Appends after what is already in out. */
	buf_reset(&ct);
	buf_append_str(&ct, "prefix");
	vault_seal(v, "k", 1, "abc", 3, &ct);
	buf_reset(&out);
	buf_append_str(&out, "x=");
	rc = vault_unseal(v, "k", 1, ct.data + 6, ct.len - 6, &out, &e);
	ok(rc == 0 && strcmp(buf_str(&out), "x=abc") == 0 && memcmp(ct.data, "prefix", 6) == 0,
	   "seal and unseal append to their buffers");

	/* 100,000 nonces under one key, none repeated. */
	nonces = xmalloc((size_t)100000 * 12);
	for (i = 0; i < 100000; i++) {
		buf_reset(&ct);
		vault_seal(v, "n", 1, "", 0, &ct);
		memcpy(nonces + i * 12, ct.data + 1, 12);
	}
	qsort(nonces, 100000, 12, cmp_nonce);
	for (i = 1; i < 100000; i++)
		if (memcmp(nonces + (i - 1) * 12, nonces + i * 12, 12) == 0)
			dup++;
	is_int(dup, 0, "100,000 seals: no repeated nonce");
	free(nonces);

	buf_free(&ct);
	buf_free(&ct2);
	buf_free(&out);
}

/* ------------------------------------------------------------------ */

struct worker {
	const struct vault *v;
	int id;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct buf ct = BUF_INIT, pt = BUF_INIT;
	char ad[64], msg[128];
	char name1[VAULT_BLOB_NAME_LEN + 1], name2[VAULT_BLOB_NAME_LEN + 1];
	int i;

	for (i = 0; i < 2000; i++) {
		int n = snprintf(msg, sizeof msg, "thread %d message %d", w->id, i);

		snprintf(ad, sizeof ad, "row|%d|%d", w->id, i);
		buf_reset(&ct);
		buf_reset(&pt);
		vault_seal(w->v, ad, strlen(ad), msg, (size_t)n, &ct);
		if (vault_unseal(w->v, ad, strlen(ad), ct.data, ct.len, &pt, NULL) != 0 ||
		    strcmp(buf_str(&pt), msg) != 0)
			w->failures++;
		if (i % 100 == 0) {
			struct vault_hasher *h = vault_hasher_new(w->v);

			vault_hasher_update(h, msg, (size_t)n);
			vault_hasher_finish(&h, name1);
			vault_blob_name(w->v, msg, (size_t)n, name2);
			if (strcmp(name1, name2) != 0)
				w->failures++;
		}
	}
	buf_free(&ct);
	buf_free(&pt);
	return NULL;
}

static void test_threads(const struct vault *v)
{
	enum { N = 4 };
	pthread_t th[N];
	struct worker w[N];
	int i, failures = 0, started = 0;

	for (i = 0; i < N; i++) {
		w[i].v = v;
		w[i].id = i;
		w[i].failures = 0;
		if (pthread_create(&th[i], NULL, worker_run, &w[i]) == 0)
			started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failures += w[i].failures;
	}
	ok(started == N && failures == 0, "%d threads seal, unseal and hash with one vault at once", N);
}

static void test_blob_names(const struct vault *v, const struct vault *other)
{
	static const char data[] = "a file's bytes, hosted content, an image...";
	char a[VAULT_BLOB_NAME_LEN + 1], b[VAULT_BLOB_NAME_LEN + 1], c[VAULT_BLOB_NAME_LEN + 1];
	struct vault_hasher *h;
	unsigned char *big;
	size_t i, n = 300000, step;
	int all_same = 1;

	vault_blob_name(v, data, sizeof data - 1, a);
	vault_blob_name(v, data, sizeof data - 1, b);
	is_str(a, b, "blob name is stable");
	ok(strlen(a) == VAULT_BLOB_NAME_LEN && strspn(a, "0123456789abcdef") == VAULT_BLOB_NAME_LEN,
	   "blob name is 64 lower-case hex digits");
	vault_blob_name(other, data, sizeof data - 1, c);
	ok(strcmp(a, c) != 0, "another store names the same data differently");
	vault_blob_name(v, data, sizeof data - 2, c);
	ok(strcmp(a, c) != 0, "different data, different name");
	{
		unsigned char plain[32];
		char *hex;

		gcry_md_hash_buffer(GCRY_MD_SHA256, plain, data, sizeof data - 1);
		hex = hex_of(plain, 32);
		ok(strcmp(a, hex) != 0, "blob name is not the plain SHA-256");
		free(hex);
	}

	big = xmalloc(n);
	for (i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 8));
	vault_blob_name(v, big, n, a);
	for (step = 1; step <= 65536; step *= 16) {
		h = vault_hasher_new(v);
		for (i = 0; i < n; i += step)
			vault_hasher_update(h, big + i, n - i < step ? n - i : step);
		vault_hasher_finish(&h, b);
		if (strcmp(a, b) != 0 || h != NULL)
			all_same = 0;
	}
	ok(all_same, "incremental naming equals one-shot (chunks of 1, 16, ... 65536 bytes)");
	h = vault_hasher_new(v);
	vault_hasher_finish(&h, b);
	vault_blob_name(v, "", 0, c);
	is_str(b, c, "empty blob: incremental equals one-shot");
	free(big);
}

/* ---- the blob store ---------------------------------------------------- */

static int collect(void *ctx, const void *p, size_t n)
{
	buf_append(ctx, p, n);
	return 0;
}

/* Store n bytes written in pieces of step; name receives the blob name. */
static int put_blob(const struct vault *v, const char *dir, const unsigned char *data, size_t n, size_t step,
		    char *name)
{
	struct blob_writer *w;
	struct cv_err e;
	uint64_t size = 0;
	size_t i;

	if (blob_writer_new(dir, v, &w, &e) != 0)
		return -1;
	for (i = 0; i < n; i += step)
		if (blob_write(w, data + i, n - i < step ? n - i : step, &e) != 0) {
			blob_abort(&w);
			return -1;
		}
	if (blob_commit(&w, name, &size, &e) != 0 || size != n)
		return -1;
	return 0;
}

static int read_back(const struct vault *v, const char *dir, const char *name, struct buf *out, struct cv_err *e)
{
	buf_reset(out);
	return blob_read(dir, v, name, collect, out, e);
}

static long count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Rewrite a blob file through fn (flip, cut, ...). */
static void mangle(const char *dir, const char *name, void (*fn)(struct buf *))
{
	char *path = xasprintf("%s/%.2s/%s", dir, name, name);
	struct buf b = BUF_INIT;

	if (fs_read_file(path, 1 << 26, &b, NULL) == 0) {
		fn(&b);
		chmod(path, 0600);
		fs_write_atomic(path, b.data, b.len, 0600, NULL);
	}
	buf_free(&b);
	free(path);
}

static void flip_middle(struct buf *b)
{
	b->data[b->len / 2] ^= 0x01;
}

static void cut_last_chunk(struct buf *b)
{
	/* the last chunk is the small tail: drop it entirely */
	b->len -= (3u * BLOB_CHUNK + 12345u) - 3u * BLOB_CHUNK + 5 + VAULT_SEAL_OVERHEAD;
}

static void append_byte(struct buf *b)
{
	buf_append_char(b, 'x');
}

static void test_blob_store(const struct vault *v, const struct vault *other)
{
	char *dir = fs_join(tmpdir, "blobs");
	size_t n = 3 * BLOB_CHUNK + 12345, i;
	unsigned char *data = xmalloc(n);
	char a[VAULT_BLOB_NAME_LEN + 1], b[VAULT_BLOB_NAME_LEN + 1], c[VAULT_BLOB_NAME_LEN + 1];
	char *sub, *path, *path_c;
	struct buf out = BUF_INIT;
	struct cv_err e;

	for (i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 31 + (i >> 11));
	fs_mkdir_p(dir, 0700, NULL);

	ok(put_blob(v, dir, data, n, 100000, a) == 0, "a 3 MiB blob is written in pieces");
	vault_blob_name(v, data, n, b);
	is_str(a, b, "its name is the keyed hash of the whole content");
	ok(read_back(v, dir, a, &out, &e) == 0 && out.len == n && memcmp(out.data, data, n) == 0,
	   "it reads back byte for byte across 4 chunks");
	ok(put_blob(v, dir, data, n, BLOB_CHUNK, b) == 0 && strcmp(a, b) == 0,
	   "the same content written in other pieces gets the same name");
	sub = xasprintf("%s/%.2s", dir, a);
	ok(count_files(sub) == 1 && count_files(dir) == 2, "identical content is stored once (no temp left)");
	ok(put_blob(v, dir, data, 0, 1, c) == 0 && read_back(v, dir, c, &out, &e) == 0 && out.len == 0,
	   "an empty blob round-trips");
	ok(put_blob(v, dir, data, BLOB_CHUNK, 4096, c) == 0 && read_back(v, dir, c, &out, &e) == 0 &&
		   out.len == BLOB_CHUNK && memcmp(out.data, data, BLOB_CHUNK) == 0,
	   "a blob of exactly one chunk round-trips");
	ok(read_back(other, dir, a, &out, &e) == CV_EINTEGRITY, "another store's key cannot read it");

	/* Move blob c's file over blob a's name: every chunk authenticates
	 * under its own file id, but the content is not what the name says. */
	path = xasprintf("%s/%.2s/%s", dir, a, a);
	path_c = xasprintf("%s/%.2s/%s", dir, c, c);
	{
		struct buf keep = BUF_INIT, swap = BUF_INIT;

		fs_read_file(path, 1 << 26, &keep, NULL);
		fs_read_file(path_c, 1 << 26, &swap, NULL);
		fs_write_atomic(path, swap.data, swap.len, 0600, NULL);
		ok(read_back(v, dir, a, &out, &e) == CV_EINTEGRITY && strstr(e.msg, "other content") != NULL,
		   "a blob file put under another name is refused: %s", e.msg);
		fs_write_atomic(path, keep.data, keep.len, 0600, NULL);
		buf_free(&keep);
		buf_free(&swap);
	}
	ok(read_back(v, dir, a, &out, &e) == 0, "restored blob reads again");

	mangle(dir, a, flip_middle);
	ok(read_back(v, dir, a, &out, &e) == CV_EINTEGRITY, "one flipped bit is refused: %s", e.msg);
	unlink(path);
	ok(put_blob(v, dir, data, n, 65536, b) == 0 && read_back(v, dir, a, &out, &e) == 0,
	   "once removed, the content is stored afresh");
	mangle(dir, a, cut_last_chunk);
	ok(read_back(v, dir, a, &out, &e) == CV_EINTEGRITY, "a blob cut at a chunk boundary is refused: %s", e.msg);
	unlink(path);
	put_blob(v, dir, data, n, 65536, b);
	mangle(dir, a, append_byte);
	ok(read_back(v, dir, a, &out, &e) == CV_EINTEGRITY, "bytes after the last chunk are refused");
	/* The same content arriving again heals a damaged copy instead of
	 * deduplicating against it. */
	ok(put_blob(v, dir, data, n, 65536, b) == 0 && strcmp(a, b) == 0 && read_back(v, dir, a, &out, &e) == 0 &&
		   out.len == n && memcmp(out.data, data, n) == 0,
	   "a damaged blob is replaced when its content is stored again");
	ok(count_files(sub) == 1, "and the copy that healed it is the only file");
	mangle(dir, a, flip_middle);
	ok(put_blob(v, dir, data, n, 65536, b) == 0 && read_back(v, dir, a, &out, &e) == 0,
	   "so is one with a flipped bit");
	ok(read_back(v, dir, "../../etc/passwd", &out, &e) == CV_EINTEGRITY, "a name that is not a blob name is refused");
	ok(read_back(v, dir, "00000000000000000000000000000000000000000000000000000000000000ff", &out, &e) ==
		   CV_ENOTFOUND,
	   "a missing blob is reported as missing, not as damaged: %s", e.msg);
	ok(strstr(e.msg, "missing") != NULL && strstr(e.msg, "damaged") == NULL, "and says so");
	{
		struct blob_writer *w;
		char *tmp = fs_join(dir, "tmp");

		blob_writer_new(dir, v, &w, &e);
		blob_write(w, data, 5000, &e);
		blob_abort(&w);
		ok(count_files(tmp) == 0, "an aborted blob leaves no temporary file");
		free(tmp);
	}
	{
		struct buf id = BUF_INIT;

		ok(file_hosted_id("https://graph.microsoft.com/v1.0/chats/19:a@thread.v2/messages/17/hostedContents/"
				  "aWQ9eF8wLXd1cy1kMQ==/$value",
				  &id) == 1 &&
			   strcmp(id.data, "aWQ9eF8wLXd1cy1kMQ==") == 0,
		   "hosted content id found in an <img> src");
		buf_reset(&id);
		ok(file_hosted_id("https://x/hostedContents/a/b/$value", &id) == 0 &&
			   file_hosted_id("https://x/hostedContents/../$value2", &id) == 0 &&
			   file_hosted_id("https://x/hostedContents/../$value", &id) == 0 &&
			   file_hosted_id("https://x/hostedContents/%2e%2e/$value", &id) == 0 &&
			   file_hosted_id("https://x/hostedContents/a\"b/$value", &id) == 0 &&
			   file_hosted_id("https://x/image.png", &id) == 0 && id.len == 0,
		   "other and hostile srcs give no id");
		buf_free(&id);
	}
	free(path);
	free(path_c);
	free(sub);
	free(dir);
	free(data);
	buf_free(&out);
}

static void bench_records(const struct vault *v)
{
	unsigned char pt[1024];
	struct buf ct = BUF_INIT, out = BUF_INIT;
	double t0 = now(), t;
	long n = 0;

	memset(pt, 'x', sizeof pt);
	do {
		int i;

		for (i = 0; i < 1000; i++) {
			buf_reset(&ct);
			buf_reset(&out);
			vault_seal(v, "bench|row", 9, pt, sizeof pt, &ct);
			if (vault_unseal(v, "bench|row", 9, ct.data, ct.len, &out, NULL) != 0)
				xfatal("bench unseal failed");
		}
		n += 1000;
		t = now() - t0;
	} while (t < 0.3);
	printf("# seal+unseal of 1 KiB records: %.0f records/s on one thread\n", (double)n / t);
	ok(1, "throughput measured");
	buf_free(&ct);
	buf_free(&out);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	char recovery[VAULT_RECOVERY_MAX];
	struct vault *v = NULL, *other = NULL;
	struct cv_err e;
	char *k1, *k2;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_vault.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! cannot create a temporary directory under %s\n", base);
		return 1;
	}

	is_int(vault_global_init(), 0, "libgcrypt initialised");
	is_int(vault_global_init(), 0, "initialising twice is harmless");

	test_gcm_vector();
	test_hmac_hkdf_vectors();
	test_argon2_vector();
	test_kdf_params();
	test_keyfile();
	test_damaged_keyfile();

	k1 = fs_join(tmpdir, "key-rec");
	k2 = fs_join(tmpdir, "key-rec2");
	if (vault_create(k1, PASS, strlen(PASS), recovery, &v, &e) != 0 ||
	    vault_create(k2, PASS, strlen(PASS), recovery, &other, &e) != 0) {
		printf("Bail out! %s\n", e.msg);
		rm_tmpdir();
		return 1;
	}
	test_records(v);
	test_threads(v);
	test_blob_names(v, other);
	test_blob_store(v, other);
	bench_records(v);
	vault_free(&v);
	vault_free(&other);
	free(k1);
	free(k2);

	rm_tmpdir();
	ok(!fs_exists(tmpdir), "temporary directory removed");
	return tap_done();
}
