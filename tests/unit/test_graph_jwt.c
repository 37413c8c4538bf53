/* Unit tests for src/graph/jwt.c: client assertions built from a key and
 * certificate made by the openssl CLI at test time, verified with libgcrypt
 * and with openssl itself, for PS256 (x5t#S256) and RS256 (x5t), from PKCS#8
 * and PKCS#1 keys; and clean refusals of unusable keys. */
#include "config.h"

#include "tap.h"
#include "graph/graph.h"
#include "graph/jwt.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdarg.h>
#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/cv-jwt-XXXXXX";

/* Run argv (no shell), capture stdout into out (may be NULL). Exit status. */
static int run(char *const argv[], struct buf *out)
{
	int fd[2], st = -1;
	pid_t pid;
	char tmp[4096];
	ssize_t n;

	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(fd[1], 1);
		dup2(devnull, 2);
		close(fd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], tmp, sizeof tmp)) > 0)
		if (out != NULL)
			buf_append(out, tmp, (size_t)n);
	close(fd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *path(const char *name)
{
	return fs_join(dir, name);
}

static char *slurp(const char *name)
{
	struct buf b = BUF_INIT;
	char *p = path(name);

	fs_read_file(p, 1 << 20, &b, NULL);
	free(p);
	return buf_steal(&b);
}

/* openssl with a NULL-terminated argument list; stdout into out. */
static int ossl(struct buf *out, ...)
{
	char *argv[24];
	va_list ap;
	int n = 0;

	argv[n++] = "openssl";
	va_start(ap, out);
	while (n < 23 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, out);
}

/* "SHA1 Fingerprint=84:E0:..." -> bytes */
static size_t fingerprint(const char *digest, unsigned char *outb, size_t max)
{
	struct buf o = BUF_INIT;
	char *cert = path("cert.pem");
	const char *p;
	size_t n = 0;

	ossl(&o, "x509", "-in", cert, "-noout", "-fingerprint", digest, NULL);
	p = strchr(buf_str(&o), '=');
	for (p = p ? p + 1 : ""; p[0] && p[1] && n < max; p += 3) {
		char h[3] = {p[0], p[1], 0};

		outb[n++] = (unsigned char)strtoul(h, NULL, 16);
		if (p[2] != ':')
			break;
	}
	buf_free(&o);
	free(cert);
	return n;
}

static cJSON *decode_part(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	cJSON *j = NULL;

	if (b64_decode(&b, s, n) == 0)
		j = cJSON_ParseWithLength(buf_str(&b), b.len);
	buf_free(&b);
	return j;
}

static int is_guid(const char *s)
{
	int i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return 0;
		}
	}
	return s[14] == '4';
}

static gcry_sexp_t public_key(void)
{
	struct buf o = BUF_INIT;
	char *key = path("key8.pem");
	gcry_mpi_t n = NULL, e = gcry_mpi_set_ui(NULL, 65537);
	gcry_sexp_t pk = NULL;
	const char *hex;

	ossl(&o, "rsa", "-in", key, "-noout", "-modulus", NULL);
	hex = strchr(buf_str(&o), '=');
	if (hex != NULL) {
		struct buf h = BUF_INIT;

		buf_append(&h, hex + 1, strcspn(hex + 1, "\r\n"));
		gcry_mpi_scan(&n, GCRYMPI_FMT_HEX, buf_str(&h), 0, NULL);
		buf_free(&h);
		gcry_sexp_build(&pk, NULL, "(public-key(rsa(n%m)(e%m)))", n, e);
	}
	gcry_mpi_release(n);
	gcry_mpi_release(e);
	buf_free(&o);
	free(key);
	return pk;
}

static int gcry_check(gcry_sexp_t pk, enum graph_jwt_alg alg, const char *input, size_t n, const struct buf *sig)
{
	unsigned char digest[32];
	gcry_sexp_t data = NULL, s = NULL;
	int rc;

	gcry_md_hash_buffer(GCRY_MD_SHA256, digest, input, n);
	if (alg == GRAPH_JWT_PS256)
		gcry_sexp_build(&data, NULL, "(data(flags pss)(hash sha256 %b)(salt-length %u))", 32, digest, 32u);
	else
		gcry_sexp_build(&data, NULL, "(data(flags pkcs1)(hash sha256 %b))", 32, digest);
	gcry_sexp_build(&s, NULL, "(sig-val(rsa(s%b)))", (int)sig->len, sig->data);
	rc = gcry_pk_verify(s, data, pk) == 0;
	gcry_sexp_release(data);
	gcry_sexp_release(s);
	return rc;
}

static int openssl_check(enum graph_jwt_alg alg, const char *input, size_t n, const struct buf *sig)
{
	char *in = path("in.txt"), *sg = path("sig.bin"), *pub = path("pub.pem");
	int rc;

	fs_write_atomic(in, input, n, 0600, NULL);
	fs_write_atomic(sg, sig->data, sig->len, 0600, NULL);
	if (alg == GRAPH_JWT_PS256)
		rc = ossl(NULL, "dgst", "-sha256", "-verify", pub, "-signature", sg, "-sigopt",
			  "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", in, NULL);
	else
		rc = ossl(NULL, "dgst", "-sha256", "-verify", pub, "-signature", sg, in, NULL);
	free(in);
	free(sg);
	free(pub);
	return rc == 0;
}

static void check_assertion(const char *label, const char *keyfile, enum graph_jwt_alg alg, gcry_sexp_t pk)
{
	char *cert = slurp("cert.pem"), *key = slurp(keyfile);
	struct buf jwt = BUF_INIT, sig = BUF_INIT, thumb = BUF_INIT;
	struct cv_err e = {0, ""};
	const char *aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
	const char *cid = "535fb089-9ff3-47b6-9bfb-4f1264799865";
	unsigned char fp[32];
	size_t fpn;
	const char *s, *d1, *d2;
	cJSON *hdr = NULL, *cl = NULL;
	int rc;

	rc = jwt_client_assertion(cert, key, alg, aud, cid, 1601519114, &jwt, &e);
	is_int(rc, 0, "%s: assertion built (%s)", label, e.msg);
	s = buf_str(&jwt);
	d1 = strchr(s, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	ok(d2 != NULL && strchr(d2 + 1, '.') == NULL, "%s: three parts", label);
	if (d2 == NULL)
		goto out;
	ok(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == jwt.len,
	   "%s: base64url only, no padding", label);
	hdr = decode_part(s, (size_t)(d1 - s));
	cl = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	ok(hdr != NULL && cl != NULL, "%s: header and claims are JSON", label);
	if (hdr == NULL || cl == NULL)
		goto out;
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "alg")), alg == GRAPH_JWT_PS256 ? "PS256" : "RS256",
	       "%s: alg", label);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "typ")), "JWT", "%s: typ", label);
	fpn = fingerprint(alg == GRAPH_JWT_PS256 ? "-sha256" : "-sha1", fp, sizeof fp);
	b64url_encode(&thumb, fp, fpn);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(hdr, alg == GRAPH_JWT_PS256 ? "x5t#S256" : "x5t")),
	       buf_str(&thumb), "%s: thumbprint matches openssl x509 -fingerprint", label);
	ok(cJSON_GetObjectItem(hdr, alg == GRAPH_JWT_PS256 ? "x5t" : "x5t#S256") == NULL, "%s: only one thumbprint",
	   label);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "aud")), aud, "%s: aud is the token endpoint", label);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "iss")), cid, "%s: iss is the client id", label);
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "sub")), cid, "%s: sub = iss", label);
	ok(is_guid(cJSON_GetStringValue(cJSON_GetObjectItem(cl, "jti"))), "%s: jti is a v4 GUID", label);
	is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(cl, "nbf")), 1601519114, "%s: nbf = now", label);
	is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(cl, "iat")), 1601519114, "%s: iat = now", label);
	is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(cl, "exp")), 1601519114 + 600, "%s: exp = now + 600", label);

	ok(b64_decode(&sig, d2 + 1, strlen(d2 + 1)) == 0 && sig.len == 256, "%s: 256-byte signature", label);
	ok(gcry_check(pk, alg, s, (size_t)(d2 - s), &sig), "%s: gcry_pk_verify accepts it", label);
	ok(openssl_check(alg, s, (size_t)(d2 - s), &sig), "%s: openssl dgst -verify accepts it", label);
	ok(!gcry_check(pk, alg == GRAPH_JWT_PS256 ? GRAPH_JWT_RS256 : GRAPH_JWT_PS256, s, (size_t)(d2 - s), &sig),
	   "%s: and the other padding does not", label);
	ok(!gcry_check(pk, alg, s, (size_t)(d2 - s) - 1, &sig), "%s: a changed input fails", label);
out:
	cJSON_Delete(hdr);
	cJSON_Delete(cl);
	buf_free(&jwt);
	buf_free(&sig);
	buf_free(&thumb);
	free(cert);
	free(key);
}

static void test_refusals(void)
{
	char *cert = slurp("cert.pem"), *other = slurp("other.pem"), *enc = slurp("enc.pem"), *ec = slurp("ec.pem");
	char *key = slurp("key8.pem");
	struct buf jwt = BUF_INIT;
	struct cv_err e = {0, ""};
	char *broken;
	size_t mid;

	is_int(jwt_client_assertion(cert, other, GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
	       "a key of another certificate is refused");
	ok(strstr(e.msg, "does not belong") != NULL, "  and said so: %s", e.msg);
	is_int(jwt_client_assertion(cert, enc, GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
	       "an encrypted key is refused");
	ok(strstr(e.msg, "password") != NULL, "  with a hint: %s", e.msg);
	is_int(jwt_client_assertion(cert, ec, GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
	       "an EC key is refused: %s", e.msg);
	is_int(jwt_client_assertion("not a pem", key, GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
	       "a bad certificate is refused: %s", e.msg);
	is_int(jwt_client_assertion(cert, NULL, GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
	       "a missing key is refused");

	/* damage the middle of the key: DER bounds or the key test must catch it */
	broken = xstrdup(key);
	mid = strlen(broken) / 2;
	broken[mid] = broken[mid] == 'A' ? 'B' : 'A';
	broken[mid + 40] = broken[mid + 40] == 'A' ? 'B' : 'A';
	is_int(jwt_client_assertion(cert, broken, GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
	       "a damaged key is refused: %s", e.msg);
	{
		/* cut short inside the DER */
		char *cut = xstrdup(key), *end = strstr(cut, "-----END");
		struct buf t = BUF_INIT;

		if (end != NULL) {
			buf_append(&t, cut, (size_t)(strstr(cut, "\n") - cut) + 1);
			buf_append(&t, cut + t.len, 200);
			buf_append_str(&t, "\n-----END PRIVATE KEY-----\n");
		}
		is_int(jwt_client_assertion(cert, buf_str(&t), GRAPH_JWT_PS256, "a", "c", 1, &jwt, &e), CV_EINVAL,
		       "a truncated key is refused");
		buf_free(&t);
		free(cut);
	}
	is_int(jwt.len, 0, "nothing was appended on failure");
	free(broken);
	free(cert);
	free(other);
	free(enc);
	free(ec);
	free(key);
	buf_free(&jwt);
}

static void test_thumbprints(void)
{
	/* certificate-credentials.md: SHA-1 84E05C1D... -> x5t hOBcHZi846VCHSJbFAs26Go9VTQ */
	static const unsigned char doc[20] = {0x84, 0xE0, 0x5C, 0x1D, 0x98, 0xBC, 0xE3, 0xA5, 0x42, 0x1D,
					      0x22, 0x5B, 0x14, 0x0B, 0x36, 0xE8, 0x6A, 0x3D, 0x55, 0x34};
	struct buf b = BUF_INIT;
	unsigned char s1[20], s256[32], fp1[20], fp256[32];
	char *cert = slurp("cert.pem");

	b64url_encode(&b, doc, sizeof doc);
	is_str(buf_str(&b), "hOBcHZi846VCHSJbFAs26Go9VTQ", "the documentation's x5t example");
	is_int(jwt_cert_thumbprints(cert, s1, s256, NULL), 0, "thumbprints of the test certificate");
	ok(fingerprint("-sha1", fp1, 20) == 20 && memcmp(fp1, s1, 20) == 0, "SHA-1 = openssl's");
	ok(fingerprint("-sha256", fp256, 32) == 32 && memcmp(fp256, s256, 32) == 0, "SHA-256 = openssl's");
	buf_free(&b);
	free(cert);
}

int main(void)
{
	char *k8, *k1, *crt, *pub, *oth, *enc, *ec;
	gcry_sexp_t pk;

	graph_global_init();
	if (mkdtemp(dir) == NULL)
		return 1;
	k8 = path("key8.pem");
	k1 = path("key1.pem");
	crt = path("cert.pem");
	pub = path("pub.pem");
	oth = path("other.pem");
	enc = path("enc.pem");
	ec = path("ec.pem");
	if (ossl(NULL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", k8, "-out", crt, "-days", "2",
		 "-subj", "/CN=chatvault-test", NULL) != 0) {
		printf("1..0 # SKIP openssl CLI not usable\n");
		return 0;
	}
	ossl(NULL, "rsa", "-in", k8, "-traditional", "-out", k1, NULL);
	ossl(NULL, "rsa", "-in", k8, "-pubout", "-out", pub, NULL);
	ossl(NULL, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", oth,
	     NULL);
	ossl(NULL, "pkey", "-in", k8, "-aes256", "-passout", "pass:x", "-out", enc, NULL);
	ossl(NULL, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec,
	     NULL);
	{
		char *k1s = slurp("key1.pem"), *k8s = slurp("key8.pem");

		ok(strstr(k8s, "BEGIN PRIVATE KEY") != NULL, "openssl made a PKCS#8 key");
		ok(strstr(k1s, "BEGIN RSA PRIVATE KEY") != NULL, "and its PKCS#1 form");
		free(k1s);
		free(k8s);
	}
	pk = public_key();
	ok(pk != NULL, "public key read back from openssl");

	test_thumbprints();
	check_assertion("PS256/PKCS#8", "key8.pem", GRAPH_JWT_PS256, pk);
	check_assertion("RS256/PKCS#8", "key8.pem", GRAPH_JWT_RS256, pk);
	check_assertion("PS256/PKCS#1", "key1.pem", GRAPH_JWT_PS256, pk);
	check_assertion("RS256/PKCS#1", "key1.pem", GRAPH_JWT_RS256, pk);
	{
		char *cert = slurp("cert.pem"), *key = slurp("key8.pem");
		struct buf a = BUF_INIT, b = BUF_INIT;

		jwt_client_assertion(cert, key, GRAPH_JWT_PS256, "x", "y", 5, &a, NULL);
		jwt_client_assertion(cert, key, GRAPH_JWT_PS256, "x", "y", 5, &b, NULL);
		ok(a.len > 0 && strcmp(buf_str(&a), buf_str(&b)) != 0, "two assertions differ (jti, PSS salt)");
		buf_free(&a);
		buf_free(&b);
		free(cert);
		free(key);
	}
	test_refusals();
	gcry_sexp_release(pk);

	{
		char *argv[] = {"rm", "-rf", dir, NULL};

		run(argv, NULL);
	}
	free(k8);
	free(k1);
	free(crt);
	free(pub);
	free(oth);
	free(enc);
	free(ec);
	graph_global_cleanup();
	return tap_done();
}
