/*
 * Client assertion JWT (certificate-credentials.md, graph-facts.md §1.2):
 * header {alg, typ, x5t#S256 | x5t}, claims aud/iss/sub/jti/nbf/iat/exp,
 * signed PS256 ("Use PSS padding", current page) or RS256 (older tenants).
 * The DER reader below knows just enough ASN.1 for X.509's public key and
 * PKCS#1 / PKCS#8 RSA private keys; nothing it reads is trusted further than
 * the bounds it checks.
 */
#include "config.h"

#include "graph/jwt.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/i18n.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>

/* ---- DER ------------------------------------------------------------- */

struct der {
	const unsigned char *p;
	size_t n;
};

enum { DER_INT = 0x02, DER_BITS = 0x03, DER_OCTETS = 0x04, DER_OID = 0x06, DER_SEQ = 0x30 };

/* Take the next element of d; 0 with *tag and *val set, -1 if malformed. */
static int der_any(struct der *d, unsigned *tag, struct der *val)
{
	size_t len, i, k;

	if (d->n < 2)
		return -1;
	*tag = d->p[0];
	if ((d->p[0] & 0x1f) == 0x1f)
		return -1; /* multi-byte tags: none in what we read */
	len = d->p[1];
	i = 2;
	if (len & 0x80) {
		k = len & 0x7f;
		if (k == 0 || k > 4 || d->n < 2 + k)
			return -1;
		for (len = 0; k > 0; k--)
			len = (len << 8) | d->p[i++];
	}
	if (len > d->n - i)
		return -1;
	val->p = d->p + i;
	val->n = len;
	d->p += i + len;
	d->n -= i + len;
	return 0;
}

static int der_take(struct der *d, unsigned want, struct der *val)
{
	unsigned tag;

	if (der_any(d, &tag, val) != 0 || tag != want)
		return -1;
	return 0;
}

/* INTEGER -> mpi (in secure memory when the DER is). Negative: refuse. */
static int der_mpi(struct der *d, gcry_mpi_t *out)
{
	struct der v;

	if (der_take(d, DER_INT, &v) != 0 || v.n == 0 || (v.p[0] & 0x80))
		return -1;
	return gcry_mpi_scan(out, GCRYMPI_FMT_USG, v.p, v.n, NULL) == 0 ? 0 : -1;
}

static const unsigned char oid_rsa[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const unsigned char oid_rsa_pss[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};

static int oid_is_rsa(const struct der *oid)
{
	return (oid->n == sizeof oid_rsa && memcmp(oid->p, oid_rsa, oid->n) == 0) ||
	       (oid->n == sizeof oid_rsa_pss && memcmp(oid->p, oid_rsa_pss, oid->n) == 0);
}

/* ---- PEM ------------------------------------------------------------- */

/* Find "-----BEGIN label-----" ... "-----END label-----" and decode it into
 * out (grown once up front, so a secret leaves no stale copy). */
static int pem_block(const char *pem, const char *label, struct buf *out)
{
	struct buf begin = BUF_INIT, end = BUF_INIT;
	const char *b, *e;
	int rc = -1;

	buf_printf(&begin, "-----BEGIN %s-----", label);
	buf_printf(&end, "-----END %s-----", label);
	b = strstr(pem, buf_str(&begin));
	if (b != NULL) {
		b += begin.len;
		e = strstr(b, buf_str(&end));
		if (e != NULL) {
			buf_grow(out, (size_t)(e - b));
			rc = b64_decode(out, b, (size_t)(e - b));
		}
	}
	buf_free(&begin);
	buf_free(&end);
	return rc;
}

/* ---- certificate --------------------------------------------------------- */

/* Certificate ::= SEQ { tbs SEQ { [0] version?, serial, sigalg, issuer,
 * validity, subject, spki SEQ { alg SEQ { oid, ... }, BIT STRING } ... } } */
static int cert_modulus(const struct buf *der_buf, gcry_mpi_t *n)
{
	struct der d = {(const unsigned char *)der_buf->data, der_buf->len}, cert, tbs, x, spki, alg, oid,
		   bits, rsa;
	unsigned tag;
	int i;

	if (der_take(&d, DER_SEQ, &cert) || der_take(&cert, DER_SEQ, &tbs))
		return -1;
	if (tbs.n > 0 && tbs.p[0] == 0xa0 && der_any(&tbs, &tag, &x))
		return -1;
	for (i = 0; i < 5; i++) /* serial, signature, issuer, validity, subject */
		if (der_any(&tbs, &tag, &x))
			return -1;
	if (der_take(&tbs, DER_SEQ, &spki) || der_take(&spki, DER_SEQ, &alg) ||
	    der_take(&alg, DER_OID, &oid) || !oid_is_rsa(&oid) || der_take(&spki, DER_BITS, &bits) ||
	    bits.n < 1 || bits.p[0] != 0)
		return -1;
	bits.p++;
	bits.n--;
	if (der_take(&bits, DER_SEQ, &rsa) || der_mpi(&rsa, n))
		return -1;
	return 0;
}

static int cert_der(const char *cert_pem, struct buf *der, struct cv_err *e)
{
	if (cert_pem == NULL || pem_block(cert_pem, "CERTIFICATE", der) != 0 || der->len == 0)
		return err_set(e, CV_EINVAL,
			       _("the certificate is not in PEM form (expected a block starting "
				 "with -----BEGIN CERTIFICATE-----)"));
	return 0;
}

int jwt_cert_thumbprints(const char *cert_pem, unsigned char sha1[20], unsigned char sha256[32],
			 struct cv_err *e)
{
	struct buf der = BUF_INIT;
	int rc = cert_der(cert_pem, &der, e);

	if (rc == 0) {
		gcry_md_hash_buffer(GCRY_MD_SHA1, sha1, der.data, der.len);
		gcry_md_hash_buffer(GCRY_MD_SHA256, sha256, der.data, der.len);
	}
	buf_free(&der);
	return rc;
}

/* ---- private key --------------------------------------------------------- */

/* RSAPrivateKey ::= SEQ { version, n, e, d, p, q, dP, dQ, qInv } into a
 * libgcrypt key. libgcrypt wants p < q and u = p^-1 mod q, the opposite of
 * PKCS#1's qInv, so u is computed here. */
static int rsa_key_sexp(struct der d, gcry_sexp_t *key)
{
	struct der seq;
	gcry_mpi_t v = NULL, n = NULL, ex = NULL, dd = NULL, p = NULL, q = NULL, u = NULL;
	int rc = -1;

	if (der_take(&d, DER_SEQ, &seq) || der_mpi(&seq, &v) || der_mpi(&seq, &n) ||
	    der_mpi(&seq, &ex) || der_mpi(&seq, &dd) || der_mpi(&seq, &p) || der_mpi(&seq, &q))
		goto out;
	if (gcry_mpi_cmp(p, q) > 0)
		gcry_mpi_swap(p, q);
	u = gcry_mpi_snew(gcry_mpi_get_nbits(q));
	if (!gcry_mpi_invm(u, p, q))
		goto out;
	if (gcry_sexp_build(key, NULL, "(private-key(rsa(n%m)(e%m)(d%m)(p%m)(q%m)(u%m)))", n, ex, dd, p,
			    q, u) != 0)
		goto out;
	rc = 0;
out:
	gcry_mpi_release(v);
	gcry_mpi_release(n);
	gcry_mpi_release(ex);
	gcry_mpi_release(dd);
	gcry_mpi_release(p);
	gcry_mpi_release(q);
	gcry_mpi_release(u);
	return rc;
}

/* PrivateKeyInfo ::= SEQ { version, alg SEQ { oid, params }, OCTET STRING } */
static int pkcs8_inner(struct der d, struct der *inner)
{
	struct der seq, x, alg, oid;

	if (der_take(&d, DER_SEQ, &seq) || der_take(&seq, DER_INT, &x) || der_take(&seq, DER_SEQ, &alg) ||
	    der_take(&alg, DER_OID, &oid) || !oid_is_rsa(&oid) || der_take(&seq, DER_OCTETS, inner))
		return -1;
	return 0;
}

static int load_key(const char *key_pem, gcry_sexp_t *key, struct cv_err *e)
{
	struct buf der = BUF_INIT;
	unsigned char *sec = NULL;
	int pkcs8, rc;
	struct der d, inner;

	if (key_pem == NULL)
		key_pem = "";
	if (strstr(key_pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL)
		return err_set(e, CV_EINVAL,
			       _("the private key is protected by a password; store it unencrypted "
				 "(for example: openssl pkey -in key.pem -out plain.pem) — chatvault "
				 "encrypts it in its own store"));
	pkcs8 = pem_block(key_pem, "PRIVATE KEY", &der) == 0;
	if (!pkcs8) {
		buf_free_secret(&der);
		if (pem_block(key_pem, "RSA PRIVATE KEY", &der) != 0) {
			buf_free_secret(&der);
			return err_set(e, CV_EINVAL,
				       _("the private key is not an RSA key in PEM form (expected -----BEGIN "
					 "PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"));
		}
	}
	/* From here the key is parsed from secure memory, so the mpis and the
	 * S-expression libgcrypt builds from them are secure too. */
	sec = gcry_malloc_secure(der.len ? der.len : 1);
	if (sec == NULL) {
		buf_free_secret(&der);
		return err_set(e, CV_EFAIL, _("out of secure memory for the private key"));
	}
	memcpy(sec, der.data, der.len);
	d.p = sec;
	d.n = der.len;
	buf_free_secret(&der);
	rc = 0;
	if (pkcs8 && pkcs8_inner(d, &inner) != 0)
		rc = -1;
	else if (rsa_key_sexp(pkcs8 ? inner : d, key) != 0)
		rc = -1;
	else if (gcry_pk_testkey(*key) != 0) {
		gcry_sexp_release(*key);
		*key = NULL;
		rc = -1;
	}
	xwipe(sec, d.n);
	gcry_free(sec);
	if (rc != 0)
		return err_set(e, CV_EINVAL, _("the private key could not be read: it is damaged or not an "
					       "RSA key"));
	return 0;
}

/* ---- the JWT ------------------------------------------------------------- */

static void b64url_json(struct buf *out, cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);

	if (s == NULL)
		xfatal("out of memory");
	b64url_encode(out, s, strlen(s));
	cJSON_free(s);
}

static void random_guid(char out[37])
{
	unsigned char r[16];
	struct buf hex = BUF_INIT;
	const char *h;

	gcry_create_nonce(r, sizeof r);
	r[6] = (r[6] & 0x0f) | 0x40; /* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	hex_encode(&hex, r, sizeof r);
	h = buf_str(&hex);
	memcpy(out, h, 8);
	out[8] = '-';
	memcpy(out + 9, h + 8, 4);
	out[13] = '-';
	memcpy(out + 14, h + 12, 4);
	out[18] = '-';
	memcpy(out + 19, h + 16, 4);
	out[23] = '-';
	memcpy(out + 24, h + 20, 12);
	out[36] = '\0';
	buf_free(&hex);
}

static int sign(gcry_sexp_t key, enum graph_jwt_alg alg, const struct buf *input, struct buf *out)
{
	unsigned char digest[32];
	gcry_sexp_t data = NULL, sig = NULL, s = NULL;
	gcry_mpi_t m = NULL;
	size_t klen = (gcry_pk_get_nbits(key) + 7) / 8, mlen = 0;
	unsigned char *raw = NULL;
	int rc = -1;

	gcry_md_hash_buffer(GCRY_MD_SHA256, digest, input->data, input->len);
	if (alg == GRAPH_JWT_RS256)
		rc = gcry_sexp_build(&data, NULL, "(data(flags pkcs1)(hash sha256 %b))", 32, digest);
	else /* PS256: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt = hash length (RFC 7518 §3.5) */
		rc = gcry_sexp_build(&data, NULL, "(data(flags pss)(hash sha256 %b)(salt-length %u))", 32,
				     digest, 32u);
	if (rc != 0 || gcry_pk_sign(&sig, data, key) != 0)
		goto out;
	rc = -1;
	s = gcry_sexp_find_token(sig, "s", 0);
	if (s == NULL || (m = gcry_sexp_nth_mpi(s, 1, GCRYMPI_FMT_USG)) == NULL)
		goto out;
	raw = xcalloc(1, klen);
	/* the signature is exactly the modulus length: left-pad with zeros */
	if (gcry_mpi_print(GCRYMPI_FMT_USG, NULL, 0, &mlen, m) != 0 || mlen > klen ||
	    gcry_mpi_print(GCRYMPI_FMT_USG, raw + (klen - mlen), mlen, NULL, m) != 0)
		goto out;
	b64url_encode(out, raw, klen);
	rc = 0;
out:
	free(raw);
	gcry_mpi_release(m);
	gcry_sexp_release(s);
	gcry_sexp_release(sig);
	gcry_sexp_release(data);
	return rc;
}

int jwt_client_assertion(const char *cert_pem, const char *key_pem, enum graph_jwt_alg alg,
			 const char *aud, const char *client_id, int64_t now, struct buf *out,
			 struct cv_err *e)
{
	struct buf der = BUF_INIT, thumb = BUF_INIT, input = BUF_INIT, sig = BUF_INIT;
	unsigned char sha1[20], sha256[32];
	gcry_sexp_t key = NULL, npart = NULL;
	gcry_mpi_t cert_n = NULL, key_n = NULL;
	cJSON *hdr = NULL, *claims = NULL;
	char jti[37];
	int rc;

	rc = cert_der(cert_pem, &der, e);
	if (rc != 0)
		goto out;
	gcry_md_hash_buffer(GCRY_MD_SHA1, sha1, der.data, der.len);
	gcry_md_hash_buffer(GCRY_MD_SHA256, sha256, der.data, der.len);
	if (cert_modulus(&der, &cert_n) != 0) {
		rc = err_set(e, CV_EINVAL, _("the certificate could not be read, or its key is not RSA"));
		goto out;
	}
	rc = load_key(key_pem, &key, e);
	if (rc != 0)
		goto out;
	npart = gcry_sexp_find_token(key, "n", 0);
	key_n = npart ? gcry_sexp_nth_mpi(npart, 1, GCRYMPI_FMT_USG) : NULL;
	if (key_n == NULL || gcry_mpi_cmp(key_n, cert_n) != 0) {
		rc = err_set(e, CV_EINVAL, _("the private key does not belong to the certificate"));
		goto out;
	}

	hdr = cJSON_CreateObject();
	cJSON_AddStringToObject(hdr, "alg", alg == GRAPH_JWT_RS256 ? "RS256" : "PS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	if (alg == GRAPH_JWT_RS256) {
		b64url_encode(&thumb, sha1, sizeof sha1);
		cJSON_AddStringToObject(hdr, "x5t", buf_str(&thumb));
	} else {
		b64url_encode(&thumb, sha256, sizeof sha256);
		cJSON_AddStringToObject(hdr, "x5t#S256", buf_str(&thumb));
	}
	random_guid(jti);
	claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "aud", aud);
	cJSON_AddStringToObject(claims, "iss", client_id);
	cJSON_AddStringToObject(claims, "sub", client_id);
	cJSON_AddStringToObject(claims, "jti", jti);
	cJSON_AddNumberToObject(claims, "nbf", (double)now);
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + JWT_LIFETIME_S));

	b64url_json(&input, hdr);
	buf_append_char(&input, '.');
	b64url_json(&input, claims);
	buf_append_char(&sig, '.');
	if (sign(key, alg, &input, &sig) != 0) {
		rc = err_set(e, CV_EFAIL, _("signing the client assertion failed"));
		goto out;
	}
	buf_append(out, input.data, input.len);
	buf_append(out, sig.data, sig.len);
	rc = 0;
out:
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	gcry_mpi_release(cert_n);
	gcry_mpi_release(key_n);
	gcry_sexp_release(npart);
	gcry_sexp_release(key);
	buf_free(&der);
	buf_free(&thumb);
	buf_free(&input);
	buf_free(&sig);
	return rc;
}
