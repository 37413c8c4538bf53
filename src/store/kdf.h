/*
 * Key derivation for the vault: Argon2id for passphrases (slow on purpose,
 * parameters chosen at creation and stored in the key file), HKDF-SHA-256 for
 * high-entropy secrets such as the recovery key, and HMAC-SHA-256 for the
 * subkeys derived from the master key. All of it is libgcrypt underneath.
 */
#ifndef CV_STORE_KDF_H
#define CV_STORE_KDF_H

#include <stddef.h>

struct cv_err;

#define KDF_SALT_LEN 16 /* bytes of random salt for a new key file */
#define KDF_SALT_MAX 64 /* longest salt accepted from a key file */

/* Argon2id cost. Defaults for new key files: 64 MiB, 3 passes, 1 lane. */
#define KDF_DEFAULT_MEMORY_KIB 65536UL
#define KDF_DEFAULT_ITERATIONS 3UL
/* OWASP Password Storage minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
 * The environment may lower the defaults for tests, never below this. */
#define KDF_FLOOR_MEMORY_KIB 19456UL
#define KDF_FLOOR_ITERATIONS 2UL
/* Past these a key file is taken as damaged rather than asking for 4 GiB. */
#define KDF_MAX_MEMORY_KIB (4UL * 1024 * 1024)
#define KDF_MAX_ITERATIONS 100UL
#define KDF_MAX_PARALLELISM 16UL

struct kdf_params {
	unsigned long iterations; /* Argon2 t: passes over memory */
	unsigned long memory_kib; /* Argon2 m */
	unsigned long parallelism; /* Argon2 p: lanes (computed on one thread) */
};

/* Parameters for a new key file: the defaults, or CHATVAULT_KDF_MEMORY_KIB and
 * CHATVAULT_KDF_ITERATIONS from the environment, clamped to
 * [floor, max]. Opening a key file always uses the parameters stored in it. */
void kdf_params_for_new_key(struct kdf_params *p);
/* 1 if p is something a key file we wrote could hold, 0 otherwise. */
int kdf_params_valid(const struct kdf_params *p);

/* Argon2id of pass under salt into out (outlen bytes). Fails with
 * CV_EINVAL for parameters libgcrypt refuses (such as an empty passphrase on
 * libgcrypt 1.10) or CV_EFAIL when the memory cannot be had. */
int kdf_argon2id(const struct kdf_params *p, const void *pass, size_t passlen, const void *salt,
		 size_t saltlen, void *out, size_t outlen, struct cv_err *e);

/* Argon2id with every input RFC 9106 has (secret key and associated data);
 * only the known-answer test needs those. */
int kdf_argon2id_full(const struct kdf_params *p, const void *pass, size_t passlen,
		      const void *salt, size_t saltlen, const void *secret, size_t secretlen,
		      const void *ad, size_t adlen, void *out, size_t outlen, struct cv_err *e);

/* HMAC-SHA-256 of data under key into out (32 bytes). */
void kdf_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, void *out);

/* HKDF-SHA-256 (RFC 5869), extract and expand; outlen at most 255 * 32. */
void kdf_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
		     const void *info, size_t infolen, void *out, size_t outlen);

#endif
