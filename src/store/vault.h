/*
 * The vault: the store's keys and its record encryption.
 *
 * A random 256-bit master key is kept in the key file wrapped twice: by a key
 * derived from the passphrase (Argon2id, parameters stored beside it) and by
 * a recovery key shown once at creation. From the master key we derive a
 * record key (AES-256-GCM, one fresh 96-bit nonce per record, the record's
 * identity as associated data) and a blob-naming key (HMAC-SHA-256), so a
 * record cannot be moved to another row and blob names reveal no plain hash.
 */
#ifndef CV_STORE_VAULT_H
#define CV_STORE_VAULT_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cv_err;
struct vault;

#define VAULT_RECOVERY_MAX 64 /* enough for the printed recovery key + NUL */
#define VAULT_BLOB_NAME_LEN 64 /* hex characters, without the NUL */

/* Initialise libgcrypt (secure memory, thread-safe); call once before any
 * thread starts. Returns 0, or -1 if the library is too old. */
int vault_global_init(void);

/* Create a new key file (must not exist) for a fresh random master key.
 * Writes the printable recovery key into recovery (VAULT_RECOVERY_MAX bytes).
 * On success *out (may be NULL) receives the open vault, owned by the caller. */
int vault_create(const char *keyfile, const char *pass, size_t passlen, char *recovery,
		 struct vault **out, struct cv_err *e);

/* Unlock with the passphrase, or with the recovery key. A wrong secret or a
 * damaged key file gives CV_EPASS and a message saying which; nothing is
 * changed. The caller owns *out. */
int vault_open(const char *keyfile, const char *pass, size_t passlen, struct vault **out,
	       struct cv_err *e);
int vault_open_recovery(const char *keyfile, const char *recovery, struct vault **out,
			struct cv_err *e);

/* Rewrap the master key under a new passphrase (atomic replace of the key
 * file; the recovery wrapping is kept). Data is not re-encrypted. */
int vault_change_passphrase(struct vault *v, const char *keyfile, const char *newpass,
			    size_t newlen, struct cv_err *e);

/* Encrypt pt with ad (the record identity) and append
 * version(1) || nonce(12) || ciphertext || tag(16) to out. */
void vault_seal(const struct vault *v, const void *ad, size_t adlen, const void *pt, size_t ptlen,
		struct buf *out);
/* Authenticate and decrypt a sealed record; appends the plaintext to out.
 * A changed byte, a wrong ad or a truncated record gives CV_EINTEGRITY. */
int vault_unseal(const struct vault *v, const void *ad, size_t adlen, const void *ct, size_t ctlen,
		 struct buf *out, struct cv_err *e);
/* Size overhead vault_seal adds to a plaintext. */
#define VAULT_SEAL_OVERHEAD (1 + 12 + 16)

/* Keyed name of a blob: hex HMAC-SHA-256 of its plaintext under the naming key,
 * written to out (VAULT_BLOB_NAME_LEN + 1 bytes). Incremental form for large
 * streamed files: start, update repeatedly, finish. */
struct vault_hasher;
struct vault_hasher *vault_hasher_new(const struct vault *v);
void vault_hasher_update(struct vault_hasher *h, const void *p, size_t n);
void vault_hasher_finish(struct vault_hasher **h, char *out);
void vault_blob_name(const struct vault *v, const void *p, size_t n, char *out);

void vault_free(struct vault **v);

#endif
