/*
 * The client assertion for certificate credentials: a JWT signed with the
 * app's RSA key, which the identity platform accepts instead of a client
 * secret (graph-facts.md §1.2). Reads PEM certificates and PKCS#1/PKCS#8 RSA
 * keys with a minimal DER reader and signs with libgcrypt.
 */
#ifndef CV_GRAPH_JWT_H
#define CV_GRAPH_JWT_H

#include <stdint.h>

#include "graph/graph.h"

struct buf;
struct cv_err;

#define JWT_LIFETIME_S 600 /* "keep it short - 5-10 minutes after nbf at most" */

/* SHA-1 and SHA-256 of the first certificate's DER encoding (the thumbprints
 * Entra shows and the JWT names). 0, or CV_EINVAL with a message. */
int jwt_cert_thumbprints(const char *cert_pem, unsigned char sha1[20], unsigned char sha256[32],
			 struct cv_err *e);

/* Build and sign the assertion for client_id at audience aud (the token
 * endpoint URL), valid from now (Unix seconds) for JWT_LIFETIME_S. Appends
 * the compact JWT to out. The private key lives only in libgcrypt's secure
 * memory and wiped buffers during the call. 0, or CV_EINVAL / CV_EFAIL. */
int jwt_client_assertion(const char *cert_pem, const char *key_pem, enum graph_jwt_alg alg,
			 const char *aud, const char *client_id, int64_t now, struct buf *out,
			 struct cv_err *e);

#endif
