/*
 * Key derivation for the vault (see kdf.h). Argon2id goes through libgcrypt's
 * gcry_kdf_open API (new in 1.10 and not yet in its manual: prototypes from
 * gcrypt.h, behaviour pinned by the RFC 9106 known-answer test in
 * tests/unit/test_vault.c). HMAC and HKDF use gcry_md_hash_buffers, which
 * needs no handle and so no allocation per call.
 */
#include "config.h"

#include "store/kdf.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>

/* A number from the environment, or fallback if it is unset or not a plain
 * decimal number. The value is a cost parameter, not a secret, so it may be
 * logged. */
static unsigned long env_ulong(const char *name, unsigned long fallback)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return fallback;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || s[0] == '-' || s[0] == '+') {
		log_warn(_("ignoring %s=%s: not a number"), name, s);
		return fallback;
	}
	return v;
}

static unsigned long clamp(unsigned long v, unsigned long lo, unsigned long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void kdf_params_for_new_key(struct kdf_params *p)
{
	p->memory_kib = clamp(env_ulong("CHATVAULT_KDF_MEMORY_KIB", KDF_DEFAULT_MEMORY_KIB),
			      KDF_FLOOR_MEMORY_KIB, KDF_MAX_MEMORY_KIB);
	p->iterations = clamp(env_ulong("CHATVAULT_KDF_ITERATIONS", KDF_DEFAULT_ITERATIONS),
			      KDF_FLOOR_ITERATIONS, KDF_MAX_ITERATIONS);
	p->parallelism = 1;
}

int kdf_params_valid(const struct kdf_params *p)
{
	/* Argon2 itself needs t >= 1 and m >= 8 p. Stored values below our floor
	 * are accepted: they only make the passphrase cheaper to guess, and only
	 * someone holding the master key could have written them. */
	return p->iterations >= 1 && p->iterations <= KDF_MAX_ITERATIONS && p->parallelism >= 1 &&
	       p->parallelism <= KDF_MAX_PARALLELISM && p->memory_kib >= 8 * p->parallelism &&
	       p->memory_kib <= KDF_MAX_MEMORY_KIB;
}

int kdf_argon2id_full(const struct kdf_params *p, const void *pass, size_t passlen,
		      const void *salt, size_t saltlen, const void *secret, size_t secretlen,
		      const void *ad, size_t adlen, void *out, size_t outlen, struct cv_err *e)
{
	/* libgcrypt's order: tag length, t, m (KiB), p. */
	const unsigned long param[4] = {outlen, p->iterations, p->memory_kib, p->parallelism};
	gcry_kdf_hd_t hd;
	gcry_error_t ge;

	if (!kdf_params_valid(p))
		return err_set(e, CV_EINVAL, _("key derivation parameters out of range"));
	ge = gcry_kdf_open(&hd, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4, pass, passlen, salt,
			   saltlen, secret, secretlen, ad, adlen);
	if (ge == 0) {
		/* NULL thread ops: lanes run one after another on this thread. */
		ge = gcry_kdf_compute(hd, NULL);
		if (ge == 0)
			ge = gcry_kdf_final(hd, outlen, out);
		gcry_kdf_close(hd);
	}
	if (ge == 0)
		return 0;
	xwipe(out, outlen);
	if (gcry_err_code(ge) == GPG_ERR_ENOMEM)
		return err_set(e, CV_EFAIL,
			       _("not enough memory to derive the key (%lu MiB are needed)"),
			       p->memory_kib / 1024);
	/* By code: gcry_strerror is not thread-safe, and gpg_strerror_r lives in
	 * libgpg-error, which we do not link directly. */
	return err_set(e, CV_EINVAL, _("key derivation failed (libgcrypt error %u)"),
		       (unsigned)gcry_err_code(ge));
}

int kdf_argon2id(const struct kdf_params *p, const void *pass, size_t passlen, const void *salt,
		 size_t saltlen, void *out, size_t outlen, struct cv_err *e)
{
	return kdf_argon2id_full(p, pass, passlen, salt, saltlen, NULL, 0, NULL, 0, out, outlen, e);
}

/* HMAC-SHA-256 over the concatenation of iov[1..n-1] under iov[0]. */
static void hmac_iov(gcry_buffer_t *iov, int n, void *out)
{
	gcry_error_t ge = gcry_md_hash_buffers(GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC, out, iov, n);

	if (ge != 0) /* only possible with a broken libgcrypt or FIPS refusal */
		xfatal("HMAC-SHA-256 failed (libgcrypt error %u)", (unsigned)gcry_err_code(ge));
}

static gcry_buffer_t iov_of(const void *p, size_t n)
{
	gcry_buffer_t b;

	memset(&b, 0, sizeof b);
	b.data = (void *)p; /* read only; libgcrypt's struct is not const-correct */
	b.len = n;
	return b;
}

void kdf_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n, void *out)
{
	gcry_buffer_t iov[2];

	iov[0] = iov_of(key, keylen);
	iov[1] = iov_of(data, n);
	hmac_iov(iov, 2, out);
}

void kdf_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
		     const void *info, size_t infolen, void *out, size_t outlen)
{
	static const unsigned char zeros[32];
	unsigned char prk[32], t[32];
	unsigned char *o = out;
	unsigned char counter = 0;
	size_t tlen = 0;

	if (outlen > 255 * 32)
		xfatal("HKDF output of %zu bytes requested", outlen);
	/* Extract: an absent salt is HashLen zero bytes (RFC 5869 §2.2). */
	if (saltlen == 0)
		kdf_hmac_sha256(zeros, sizeof zeros, ikm, ikmlen, prk);
	else
		kdf_hmac_sha256(salt, saltlen, ikm, ikmlen, prk);
	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	while (outlen > 0) {
		gcry_buffer_t iov[4];
		size_t take = outlen < sizeof t ? outlen : sizeof t;

		counter++;
		iov[0] = iov_of(prk, sizeof prk);
		iov[1] = iov_of(t, tlen);
		iov[2] = iov_of(info, infolen);
		iov[3] = iov_of(&counter, 1);
		hmac_iov(iov, 4, t);
		tlen = sizeof t;
		memcpy(o, t, take);
		o += take;
		outlen -= take;
	}
	xwipe(prk, sizeof prk);
	xwipe(t, sizeof t);
}
