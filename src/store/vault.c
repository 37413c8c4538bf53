/*
 * The vault: the key file, the master key and record encryption (vault.h).
 * Everything secret lives in one struct vault in libgcrypt's secure (locked,
 * wiped) memory. After vault_open the struct is only read, so any number of
 * threads may seal, unseal and name blobs with it at once: each thread has
 * its own cipher handle. doc/threat-model.md explains the choices below.
 */
#include "config.h"

#include "store/vault.h"
#include "store/kdf.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define WRAP_LEN (NONCE_LEN + KEY_LEN + TAG_LEN) /* a wrapped master key */
#define RECORD_VERSION 0x01
#define RECOVERY_BYTES 20 /* 160 bits: 32 Crockford base32 symbols */
#define RECOVERY_SYMBOLS 32
#define KEYFILE_MAX (64 * 1024)
#define SECMEM_BYTES (1024 * 1024)

#define KEYFILE_FORMAT "chatvault-key"
#define KEYFILE_VERSION 1

/* Associated data of the two wrappings, so neither can stand in for the other,
 * and the labels of the keys derived from the master key. Changing any of
 * these makes every existing store unreadable. */
static const char AD_PASSPHRASE[] = "chatvault key v1 passphrase";
static const char AD_RECOVERY[] = "chatvault key v1 recovery";
static const char INFO_RECOVERY_KEK[] = "chatvault recovery kek v1";
static const char INFO_RECORD_KEY[] = "chatvault record key v1";
static const char INFO_BLOB_NAME_KEY[] = "chatvault blob name v1";

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The key file without its secrets: what is stored, parsed or to be written. */
struct keyfile {
	struct kdf_params kdf;
	unsigned char salt[KDF_SALT_MAX];
	size_t saltlen;
	unsigned char pass_wrap[WRAP_LEN];
	unsigned char rec_salt[KDF_SALT_MAX];
	size_t rec_saltlen;
	unsigned char rec_wrap[WRAP_LEN];
};

struct vault {
	unsigned char master[KEY_LEN];
	unsigned char record_key[KEY_LEN];
	unsigned char name_key[KEY_LEN];
	/* The recovery half of the key file, written back unchanged when the
	 * passphrase changes, and used to recognise our own key file. */
	unsigned char rec_salt[KDF_SALT_MAX];
	size_t rec_saltlen;
	unsigned char rec_wrap[WRAP_LEN];
};

struct vault_hasher {
	gcry_md_hd_t md;
};

/* ------------------------------------------------------------------ */
/* libgcrypt setup and small helpers                                   */
/* ------------------------------------------------------------------ */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;
static pthread_key_t gcm_handle; /* each thread's cipher handle, see gcm_begin */

static void gcm_handle_close(void *hd)
{
	gcry_cipher_close(hd);
}

static void global_init_once(void)
{
	if (gcry_check_version("1.10.0") == NULL)
		return;
	if (pthread_key_create(&gcm_handle, gcm_handle_close) != 0)
		return;
	/* Locked memory for keys; harmless if another module set up a pool
	 * first (libgcrypt keeps the first one). */
	if (gcry_control(GCRYCTL_INIT_SECMEM, SECMEM_BYTES, 0) != 0)
		return;
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	init_rc = 0;
}

int vault_global_init(void)
{
	pthread_once(&init_once, global_init_once);
	return init_rc;
}

/* Under AddressSanitizer, what LeakSanitizer reports inside the libraries
 * (this file is in every program, so the hook is here):
 *  - libgcrypt's jitter entropy collector (GCRY_VERY_STRONG_RANDOM) mallocs
 *    128 KiB and keeps the only pointer to it in secure memory, which
 *    LeakSanitizer does not scan; valgrind sees it as still reachable;
 *  - fontconfig's configuration parser, run once per process by pango's
 *    "[pango] FcInit" thread, drops a few hundred bytes;
 *  - cairo's PDF surface drops a 768-byte array inside cairo_surface_finish
 *    for some documents (cairo 1.16; the stack below our call is cairo's).
 * The default fast unwinder stops at the first frame inside these libraries,
 * so they are named by library; ASAN_OPTIONS=fast_unwind_on_malloc=0 shows
 * the whole stacks, and that none of it was allocated by our own calls. */
#if defined(__SANITIZE_ADDRESS__)
#define VAULT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VAULT_UNDER_ASAN 1
#endif
#endif
#ifdef VAULT_UNDER_ASAN
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libgcrypt.so\n"
	       "leak:libfontconfig.so\n"
	       "leak:libcairo.so\n";
}
#endif

/* Under ThreadSanitizer: pango hands fontconfig's set-up to its own thread
 * ("[pango] FcInit") and waits for it with glib's primitives inside those
 * uninstrumented libraries, so ThreadSanitizer cannot see the hand-over and
 * reports races on fontconfig's and pango's own data. */
#if defined(__SANITIZE_THREAD__)
#define VAULT_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VAULT_UNDER_TSAN 1
#endif
#endif
#ifdef VAULT_UNDER_TSAN
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "race:libfontconfig.so\n"
	       "race:libpangoft2-1.0.so\n"
	       "race:libglib-2.0.so\n";
}
#endif

/* Zeroed secure memory; running out of it is fatal like any other OOM. */
static void *secure_calloc(size_t n)
{
	void *p = gcry_calloc_secure(1, n);

	if (p == NULL)
		xfatal("out of secure memory (%zu bytes)", n);
	return p;
}

static void secure_free(void *p, size_t n)
{
	if (p != NULL) {
		xwipe(p, n);
		gcry_free(p);
	}
}

/* libgcrypt failing on a valid key and sizes we chose is a broken invariant. */
static void gcry_must(gcry_error_t ge, const char *what)
{
	if (ge != 0)
		xfatal("libgcrypt: %s failed (error %u)", what, (unsigned)gcry_err_code(ge));
}

/* This thread's AES-256-GCM handle, keyed with key and ready for a message.
 * Opening a handle costs more than sealing a 1 KiB record, so each thread
 * keeps one (closed when the thread ends); gcm_end keys it with zeros again,
 * so no key schedule outlives the call, not even after vault_free. */
static gcry_cipher_hd_t gcm_begin(const unsigned char *key)
{
	gcry_cipher_hd_t hd = pthread_getspecific(gcm_handle);

	if (hd == NULL) {
		gcry_must(gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
					   GCRY_CIPHER_SECURE),
			  "cipher open");
		if (pthread_setspecific(gcm_handle, hd) != 0)
			xfatal("out of memory (thread-specific data)");
	}
	gcry_must(gcry_cipher_setkey(hd, key, KEY_LEN), "cipher setkey");
	gcry_must(gcry_cipher_reset(hd), "cipher reset");
	return hd;
}

static void gcm_end(gcry_cipher_hd_t hd)
{
	static const unsigned char zeros[KEY_LEN];

	gcry_must(gcry_cipher_setkey(hd, zeros, KEY_LEN), "cipher setkey");
}

static void hex_name(const unsigned char digest[32], char *out)
{
	struct buf b = BUF_INIT;

	hex_encode(&b, digest, 32);
	memcpy(out, b.data, VAULT_BLOB_NAME_LEN);
	out[VAULT_BLOB_NAME_LEN] = '\0';
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Wrapping the master key                                             */
/* ------------------------------------------------------------------ */

/* out = nonce || AES-256-GCM(kek, nonce, ad = label)(master) || tag */
static void key_wrap(const unsigned char *kek, const char *label, const unsigned char *master,
		     unsigned char *out)
{
	gcry_cipher_hd_t hd = gcm_begin(kek);

	gcry_randomize(out, NONCE_LEN, GCRY_STRONG_RANDOM);
	gcry_must(gcry_cipher_setiv(hd, out, NONCE_LEN), "setiv");
	gcry_must(gcry_cipher_authenticate(hd, label, strlen(label)), "authenticate");
	gcry_must(gcry_cipher_encrypt(hd, out + NONCE_LEN, KEY_LEN, master, KEY_LEN), "encrypt");
	gcry_must(gcry_cipher_gettag(hd, out + NONCE_LEN + KEY_LEN, TAG_LEN), "gettag");
	gcm_end(hd);
}

/* Inverse of key_wrap into master (secure memory); 0, or -1 with master
 * wiped when the tag does not match (wrong secret or changed bytes). */
static int key_unwrap(const unsigned char *kek, const char *label, const unsigned char *wrap,
		      unsigned char *master)
{
	gcry_cipher_hd_t hd = gcm_begin(kek);
	gcry_error_t ge;

	gcry_must(gcry_cipher_setiv(hd, wrap, NONCE_LEN), "setiv");
	gcry_must(gcry_cipher_authenticate(hd, label, strlen(label)), "authenticate");
	gcry_must(gcry_cipher_decrypt(hd, master, KEY_LEN, wrap + NONCE_LEN, KEY_LEN), "decrypt");
	ge = gcry_cipher_checktag(hd, wrap + NONCE_LEN + KEY_LEN, TAG_LEN);
	gcm_end(hd);
	if (ge != 0) {
		xwipe(master, KEY_LEN);
		return -1;
	}
	return 0;
}

static void recovery_kek(const struct keyfile *kf, const unsigned char *rec, unsigned char *kek)
{
	/* The recovery key is 160 random bits, so no work factor is needed: a
	 * salted HKDF keeps it domain-separated from every other key. */
	kdf_hkdf_sha256(kf->rec_salt, kf->rec_saltlen, rec, RECOVERY_BYTES, INFO_RECOVERY_KEK,
			strlen(INFO_RECOVERY_KEK), kek, KEY_LEN);
}

/* ------------------------------------------------------------------ */
/* The key file                                                        */
/* ------------------------------------------------------------------ */

static void json_must(const void *p)
{
	if (p == NULL)
		xfatal("out of memory building JSON");
}

static void json_add_b64(cJSON *o, const char *name, const void *p, size_t n)
{
	struct buf b = BUF_INIT;

	b64_encode(&b, p, n);
	json_must(cJSON_AddStringToObject(o, name, buf_str(&b)));
	buf_free(&b);
}

/* The key file's text; the caller frees it with cJSON_free. */
static char *keyfile_format(const struct keyfile *kf)
{
	cJSON *root = cJSON_CreateObject(), *kdf;
	char *text;

	json_must(root);
	json_must(cJSON_AddStringToObject(root, "format", KEYFILE_FORMAT));
	json_must(cJSON_AddNumberToObject(root, "version", KEYFILE_VERSION));
	json_must(kdf = cJSON_AddObjectToObject(root, "kdf"));
	json_must(cJSON_AddStringToObject(kdf, "algorithm", "argon2id"));
	json_must(cJSON_AddNumberToObject(kdf, "iterations", (double)kf->kdf.iterations));
	json_must(cJSON_AddNumberToObject(kdf, "memory_kib", (double)kf->kdf.memory_kib));
	json_must(cJSON_AddNumberToObject(kdf, "parallelism", (double)kf->kdf.parallelism));
	json_add_b64(kdf, "salt", kf->salt, kf->saltlen);
	json_add_b64(root, "passphrase_wrap", kf->pass_wrap, WRAP_LEN);
	json_must(cJSON_AddStringToObject(root, "recovery_kdf", "hkdf-sha256"));
	json_add_b64(root, "recovery_salt", kf->rec_salt, kf->rec_saltlen);
	json_add_b64(root, "recovery_wrap", kf->rec_wrap, WRAP_LEN);
	json_must(text = cJSON_Print(root));
	cJSON_Delete(root);
	return text;
}

static int keyfile_write(const char *path, const struct keyfile *kf, struct cv_err *e)
{
	char *text = keyfile_format(kf);
	struct buf b = BUF_INIT;
	int rc;

	buf_append_str(&b, text);
	buf_append_char(&b, '\n');
	cJSON_free(text);
	rc = fs_write_atomic(path, b.data, b.len, 0600, e);
	buf_free(&b);
	return rc;
}

/* Base64 field name of o decoded into out, which must come out between min
 * and max bytes long; 0 or -1. */
static int json_get_b64(const cJSON *o, const char *name, unsigned char *out, size_t min,
			size_t max, size_t *len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	struct buf b = BUF_INIT;
	int rc = -1;

	if (cJSON_IsString(it) && b64_decode(&b, it->valuestring, strlen(it->valuestring)) == 0 &&
	    b.len >= min && b.len <= max) {
		memcpy(out, b.data, b.len);
		if (len != NULL)
			*len = b.len;
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

/* Non-negative integer field name of o, at most 10^9; 0 or -1. */
static int json_get_ulong(const cJSON *o, const char *name, unsigned long *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	if (!cJSON_IsNumber(it))
		return -1;
	d = it->valuedouble;
	if (!(d >= 0 && d <= 1e9) || d != (double)(unsigned long)d)
		return -1;
	*out = (unsigned long)d;
	return 0;
}

static int json_has_string(const cJSON *o, const char *name, const char *want)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) && strcmp(it->valuestring, want) == 0;
}

static int damaged(struct cv_err *e, const char *path, const char *why)
{
	return err_set(e, CV_EPASS, _("key file %s is damaged: %s"), path, why);
}

/* Parse and check every field of a key file's text. */
static int keyfile_parse(const char *path, const struct buf *text, struct keyfile *kf,
			 struct cv_err *e)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(buf_str(text), text->len, &end, 0);
	const cJSON *kdf;
	unsigned long version;
	int rc = 0;

	memset(kf, 0, sizeof *kf);
	if (root == NULL || end == NULL || end[strspn(end, " \t\r\n")] != '\0') {
		cJSON_Delete(root);
		return damaged(e, path, _("it is not valid JSON (truncated or changed?)"));
	}
	kdf = cJSON_GetObjectItemCaseSensitive(root, "kdf");
	if (!json_has_string(root, "format", KEYFILE_FORMAT)) {
		rc = damaged(e, path, _("it is not a chatvault key file"));
	} else if (json_get_ulong(root, "version", &version) != 0) {
		rc = damaged(e, path, _("its version is missing or malformed"));
	} else if (version != KEYFILE_VERSION) {
		rc = err_set(e, CV_EPASS,
			     _("key file %s has format version %lu, which this chatvault does not "
			       "know; use a newer chatvault"),
			     path, version);
	} else if (!cJSON_IsObject(kdf) || !json_has_string(kdf, "algorithm", "argon2id") ||
		   json_get_ulong(kdf, "iterations", &kf->kdf.iterations) != 0 ||
		   json_get_ulong(kdf, "memory_kib", &kf->kdf.memory_kib) != 0 ||
		   json_get_ulong(kdf, "parallelism", &kf->kdf.parallelism) != 0 ||
		   json_get_b64(kdf, "salt", kf->salt, 8, KDF_SALT_MAX, &kf->saltlen) != 0) {
		rc = damaged(e, path, _("the key derivation settings are missing or malformed"));
	} else if (!kdf_params_valid(&kf->kdf)) {
		rc = damaged(e, path, _("the key derivation settings are out of range"));
	} else if (json_get_b64(root, "passphrase_wrap", kf->pass_wrap, WRAP_LEN, WRAP_LEN, NULL) != 0) {
		rc = damaged(e, path, _("the passphrase-wrapped key is missing or malformed"));
	} else if (!json_has_string(root, "recovery_kdf", "hkdf-sha256") ||
		   json_get_b64(root, "recovery_salt", kf->rec_salt, 8, KDF_SALT_MAX,
				&kf->rec_saltlen) != 0 ||
		   json_get_b64(root, "recovery_wrap", kf->rec_wrap, WRAP_LEN, WRAP_LEN, NULL) != 0) {
		rc = damaged(e, path, _("the recovery-wrapped key is missing or malformed"));
	}
	cJSON_Delete(root);
	return rc;
}

static int keyfile_read(const char *path, struct keyfile *kf, struct cv_err *e)
{
	struct buf text = BUF_INIT;
	int rc = fs_check_private(path, e);

	if (rc == CV_ENOTFOUND)
		return err_set(e, CV_ENOTFOUND, _("there is no key file at %s"), path);
	if (rc != 0)
		return rc;
	rc = fs_read_file(path, KEYFILE_MAX, &text, e);
	if (rc == CV_ETOOBIG)
		rc = damaged(e, path, _("it is far too large"));
	if (rc == 0)
		rc = keyfile_parse(path, &text, kf, e);
	buf_free(&text);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The recovery key as people see it                                   */
/* ------------------------------------------------------------------ */

/* 20 bytes as 32 Crockford base32 symbols in groups of four: XXXX-XXXX-... */
static void recovery_format(const unsigned char *rec, char *out)
{
	unsigned acc = 0;
	int bits = 0, sym = 0;
	size_t i, o = 0;

	for (i = 0; i < RECOVERY_BYTES; i++) {
		acc = (acc << 8) | rec[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			if (sym > 0 && sym % 4 == 0)
				out[o++] = '-';
			out[o++] = CROCKFORD[(acc >> bits) & 31];
			sym++;
		}
	}
	out[o] = '\0';
	xwipe(&acc, sizeof acc);
}

/* Crockford's reading rules: any case, O reads as 0, I and L as 1; dashes
 * and spaces are ignored. 0, or -1 if s is not 32 valid symbols. */
static int recovery_parse(const char *s, unsigned char *rec)
{
	unsigned acc = 0;
	int bits = 0, sym = 0;
	size_t o = 0;

	for (; *s; s++) {
		char c = *s;
		const char *at;

		if (c == '-' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		at = c != '\0' ? strchr(CROCKFORD, c) : NULL;
		if (at == NULL || ++sym > RECOVERY_SYMBOLS) {
			xwipe(&acc, sizeof acc);
			return -1;
		}
		acc = (acc << 5) | (unsigned)(at - CROCKFORD);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			rec[o++] = (unsigned char)(acc >> bits);
		}
	}
	xwipe(&acc, sizeof acc);
	return sym == RECOVERY_SYMBOLS ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Opening and creating                                                */
/* ------------------------------------------------------------------ */

static struct vault *vault_alloc(void)
{
	return secure_calloc(sizeof(struct vault));
}

/* With v->master set: derive the working keys and keep the recovery half. */
static void vault_finish(struct vault *v, const struct keyfile *kf)
{
	kdf_hmac_sha256(v->master, KEY_LEN, INFO_RECORD_KEY, strlen(INFO_RECORD_KEY), v->record_key);
	kdf_hmac_sha256(v->master, KEY_LEN, INFO_BLOB_NAME_KEY, strlen(INFO_BLOB_NAME_KEY),
			v->name_key);
	memcpy(v->rec_salt, kf->rec_salt, kf->rec_saltlen);
	v->rec_saltlen = kf->rec_saltlen;
	memcpy(v->rec_wrap, kf->rec_wrap, WRAP_LEN);
}

static void give_or_free(struct vault *v, struct vault **out)
{
	if (out != NULL)
		*out = v;
	else
		vault_free(&v);
}

static int need_init(struct cv_err *e)
{
	if (vault_global_init() != 0)
		return err_set(e, CV_EFAIL, _("libgcrypt 1.10.0 or newer is needed"));
	return 0;
}

/* Fill the passphrase half of kf (new parameters, salt and wrapping) for
 * master. */
static int wrap_passphrase(struct keyfile *kf, const unsigned char *master, const char *pass,
			   size_t passlen, struct cv_err *e)
{
	unsigned char *kek;
	int rc;

	if (passlen == 0)
		return err_set(e, CV_EINVAL, _("the passphrase must not be empty"));
	kdf_params_for_new_key(&kf->kdf);
	kf->saltlen = KDF_SALT_LEN;
	gcry_randomize(kf->salt, kf->saltlen, GCRY_STRONG_RANDOM);
	kek = secure_calloc(KEY_LEN);
	rc = kdf_argon2id(&kf->kdf, pass, passlen, kf->salt, kf->saltlen, kek, KEY_LEN, e);
	if (rc == 0)
		key_wrap(kek, AD_PASSPHRASE, master, kf->pass_wrap);
	secure_free(kek, KEY_LEN);
	return rc;
}

int vault_create(const char *keyfile, const char *pass, size_t passlen, char *recovery,
		 struct vault **out, struct cv_err *e)
{
	struct keyfile kf;
	struct vault *v;
	unsigned char *secret; /* recovery bytes, then the recovery KEK */
	int rc;

	recovery[0] = '\0';
	if (out != NULL)
		*out = NULL;
	if ((rc = need_init(e)) != 0)
		return rc;
	/* Not race-free against a second `init` at the same instant: the final
	 * rename of fs_write_atomic replaces. Refusing here protects the common
	 * mistake of re-running init on a store. */
	if (fs_exists(keyfile))
		return err_set(e, CV_EEXIST, _("key file %s already exists; not replacing it"), keyfile);

	memset(&kf, 0, sizeof kf);
	v = vault_alloc();
	gcry_randomize(v->master, KEY_LEN, GCRY_VERY_STRONG_RANDOM);
	rc = wrap_passphrase(&kf, v->master, pass, passlen, e);
	if (rc != 0) {
		vault_free(&v);
		return rc;
	}

	secret = secure_calloc(RECOVERY_BYTES + KEY_LEN);
	gcry_randomize(secret, RECOVERY_BYTES, GCRY_VERY_STRONG_RANDOM);
	kf.rec_saltlen = KDF_SALT_LEN;
	gcry_randomize(kf.rec_salt, kf.rec_saltlen, GCRY_STRONG_RANDOM);
	recovery_kek(&kf, secret, secret + RECOVERY_BYTES);
	key_wrap(secret + RECOVERY_BYTES, AD_RECOVERY, v->master, kf.rec_wrap);

	rc = keyfile_write(keyfile, &kf, e);
	if (rc == 0)
		recovery_format(secret, recovery);
	secure_free(secret, RECOVERY_BYTES + KEY_LEN);
	if (rc != 0) {
		vault_free(&v);
		return rc;
	}
	vault_finish(v, &kf);
	give_or_free(v, out);
	return 0;
}

int vault_open(const char *keyfile, const char *pass, size_t passlen, struct vault **out,
	       struct cv_err *e)
{
	struct keyfile kf;
	struct vault *v;
	unsigned char *kek;
	int rc;

	*out = NULL;
	if ((rc = need_init(e)) != 0 || (rc = keyfile_read(keyfile, &kf, e)) != 0)
		return rc;
	if (passlen == 0)
		return err_set(e, CV_EPASS, _("wrong passphrase: it is empty"));
	kek = secure_calloc(KEY_LEN);
	rc = kdf_argon2id(&kf.kdf, pass, passlen, kf.salt, kf.saltlen, kek, KEY_LEN, e);
	if (rc != 0) {
		secure_free(kek, KEY_LEN);
		return err_prefix(e, _("unlocking %s"), keyfile);
	}
	v = vault_alloc();
	rc = key_unwrap(kek, AD_PASSPHRASE, kf.pass_wrap, v->master);
	secure_free(kek, KEY_LEN);
	if (rc != 0) {
		vault_free(&v);
		return err_set(e, CV_EPASS, _("wrong passphrase for %s (or the key file is damaged)"),
			       keyfile);
	}
	vault_finish(v, &kf);
	*out = v;
	return 0;
}

int vault_open_recovery(const char *keyfile, const char *recovery, struct vault **out,
			struct cv_err *e)
{
	struct keyfile kf;
	struct vault *v;
	unsigned char *secret; /* recovery bytes, then the recovery KEK */
	int rc;

	*out = NULL;
	if ((rc = need_init(e)) != 0 || (rc = keyfile_read(keyfile, &kf, e)) != 0)
		return rc;
	secret = secure_calloc(RECOVERY_BYTES + KEY_LEN);
	if (recovery_parse(recovery, secret) != 0) {
		secure_free(secret, RECOVERY_BYTES + KEY_LEN);
		return err_set(e, CV_EPASS,
			       _("that is not a recovery key: it has 32 letters and digits, usually "
				 "written in groups of four"));
	}
	recovery_kek(&kf, secret, secret + RECOVERY_BYTES);
	v = vault_alloc();
	rc = key_unwrap(secret + RECOVERY_BYTES, AD_RECOVERY, kf.rec_wrap, v->master);
	secure_free(secret, RECOVERY_BYTES + KEY_LEN);
	if (rc != 0) {
		vault_free(&v);
		return err_set(e, CV_EPASS, _("wrong recovery key for %s (or the key file is damaged)"),
			       keyfile);
	}
	vault_finish(v, &kf);
	*out = v;
	return 0;
}

int vault_change_passphrase(struct vault *v, const char *keyfile, const char *newpass,
			    size_t newlen, struct cv_err *e)
{
	struct keyfile kf;
	int rc;

	/* Only replace the key file this vault came from: its recovery wrapping
	 * is unique to our master key. Anything else is the wrong path, and
	 * overwriting it would lose that store's key. */
	if ((rc = keyfile_read(keyfile, &kf, e)) != 0)
		return rc;
	if (kf.rec_saltlen != v->rec_saltlen || memcmp(kf.rec_salt, v->rec_salt, v->rec_saltlen) != 0 ||
	    memcmp(kf.rec_wrap, v->rec_wrap, WRAP_LEN) != 0)
		return err_set(e, CV_EINVAL,
			       _("key file %s belongs to another store; the passphrase was not changed"),
			       keyfile);
	rc = wrap_passphrase(&kf, v->master, newpass, newlen, e);
	if (rc == 0)
		rc = keyfile_write(keyfile, &kf, e);
	return rc;
}

void vault_free(struct vault **v)
{
	if (v == NULL || *v == NULL)
		return;
	secure_free(*v, sizeof **v);
	*v = NULL;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

/* The version byte is authenticated along with the caller's ad, so a record
 * cannot be relabelled as another format. */
static void record_start(gcry_cipher_hd_t hd, const unsigned char *head, const void *ad,
			 size_t adlen)
{
	gcry_must(gcry_cipher_setiv(hd, head + 1, NONCE_LEN), "setiv");
	gcry_must(gcry_cipher_authenticate(hd, head, 1), "authenticate");
	if (adlen > 0)
		gcry_must(gcry_cipher_authenticate(hd, ad, adlen), "authenticate");
}

void vault_seal(const struct vault *v, const void *ad, size_t adlen, const void *pt, size_t ptlen,
		struct buf *out)
{
	gcry_cipher_hd_t hd = gcm_begin(v->record_key);
	unsigned char *p;

	/* Write straight into out's spare room, then count it in. pt must not
	 * point into out: buf_grow may move it. */
	if (ptlen > SIZE_MAX - VAULT_SEAL_OVERHEAD - 1)
		xfatal("record of %zu bytes is too large to seal", ptlen);
	buf_grow(out, VAULT_SEAL_OVERHEAD + ptlen);
	p = (unsigned char *)out->data + out->len;
	p[0] = RECORD_VERSION;
	/* libgcrypt's nonce generator: unpredictable, never repeats within a
	 * process, reseeded after fork. 96 random bits per record. */
	gcry_create_nonce(p + 1, NONCE_LEN);
	record_start(hd, p, ad, adlen);
	if (ptlen > 0)
		gcry_must(gcry_cipher_encrypt(hd, p + 1 + NONCE_LEN, ptlen, pt, ptlen), "encrypt");
	gcry_must(gcry_cipher_gettag(hd, p + 1 + NONCE_LEN + ptlen, TAG_LEN), "gettag");
	gcm_end(hd);
	out->len += VAULT_SEAL_OVERHEAD + ptlen;
	out->data[out->len] = '\0';
}

int vault_unseal(const struct vault *v, const void *ad, size_t adlen, const void *ct, size_t ctlen,
		 struct buf *out, struct cv_err *e)
{
	const unsigned char *c = ct;
	size_t ptlen;
	unsigned char *scratch;
	gcry_cipher_hd_t hd;
	gcry_error_t ge;

	if (ctlen < VAULT_SEAL_OVERHEAD)
		return err_set(e, CV_EINTEGRITY,
			       _("record is truncated (%zu bytes, a sealed record has at least %d)"),
			       ctlen, VAULT_SEAL_OVERHEAD);
	if (c[0] != RECORD_VERSION)
		return err_set(e, CV_EINTEGRITY,
			       _("record has unknown format %u (damaged, or written by a newer "
				 "chatvault)"),
			       (unsigned)c[0]);
	ptlen = ctlen - VAULT_SEAL_OVERHEAD;
	/* Nothing reaches out before the tag checks. */
	scratch = xmalloc(ptlen > 0 ? ptlen : 1);
	hd = gcm_begin(v->record_key);
	record_start(hd, c, ad, adlen);
	if (ptlen > 0)
		gcry_must(gcry_cipher_decrypt(hd, scratch, ptlen, c + 1 + NONCE_LEN, ptlen), "decrypt");
	ge = gcry_cipher_checktag(hd, c + 1 + NONCE_LEN + ptlen, TAG_LEN);
	gcm_end(hd);
	if (ge != 0) {
		xwipe(scratch, ptlen);
		free(scratch);
		return err_set(e, CV_EINTEGRITY,
			       _("record failed its integrity check (changed or damaged)"));
	}
	buf_append(out, scratch, ptlen);
	free(scratch);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Blob names                                                          */
/* ------------------------------------------------------------------ */

struct vault_hasher *vault_hasher_new(const struct vault *v)
{
	struct vault_hasher *h = xmalloc(sizeof *h);

	gcry_must(gcry_md_open(&h->md, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC | GCRY_MD_FLAG_SECURE),
		  "md open");
	gcry_must(gcry_md_setkey(h->md, v->name_key, KEY_LEN), "md setkey");
	return h;
}

void vault_hasher_update(struct vault_hasher *h, const void *p, size_t n)
{
	gcry_md_write(h->md, p, n);
}

void vault_hasher_finish(struct vault_hasher **h, char *out)
{
	const unsigned char *digest = gcry_md_read((*h)->md, GCRY_MD_SHA256);

	if (digest == NULL)
		xfatal("libgcrypt: md read failed");
	hex_name(digest, out);
	gcry_md_close((*h)->md);
	free(*h);
	*h = NULL;
}

void vault_blob_name(const struct vault *v, const void *p, size_t n, char *out)
{
	unsigned char digest[32];

	kdf_hmac_sha256(v->name_key, KEY_LEN, p, n, digest);
	hex_name(digest, out);
}
