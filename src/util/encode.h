/* Byte encodings used on the wire and in files: base64, base64url, hex and
 * percent-encoding. Results are appended to a struct buf. */
#ifndef CV_UTIL_ENCODE_H
#define CV_UTIL_ENCODE_H

#include <stddef.h>

struct buf;

void b64_encode(struct buf *out, const void *data, size_t n);
/* RFC 4648 §5 alphabet, no padding (JWT, Graph share ids). */
void b64url_encode(struct buf *out, const void *data, size_t n);
/* Decodes both alphabets, padding optional, whitespace skipped. 0 or -1. */
int b64_decode(struct buf *out, const char *s, size_t n);
void hex_encode(struct buf *out, const void *data, size_t n);
/* Percent-encode everything but RFC 3986 unreserved characters. */
void url_escape(struct buf *out, const char *s);

#endif
