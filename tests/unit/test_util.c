/* Unit tests for src/util: the sanitiser, strict ISO 8601, encodings, buffers,
 * the cJSON arena, errors, file checks. */
#include "config.h"

#include "tap.h"
#include "util/buf.h"
#include "util/encode.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *san(const char *s, size_t n, unsigned flags)
{
	struct buf b = BUF_INIT;

	sanitize_append(&b, s, n, flags);
	return buf_steal(&b);
}

static int has_byte_below_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

static void test_sanitize(void)
{
	static const char osc[] = "\x1b]0;pwned\x07title";
	static const char csi_c1[] = "a\xc2\x9b" "31mb";
	static const char bidi[] = "abc\xe2\x80\xae" "fdp.exe";
	static const char bad[] = "ok\xff\xfe\xc3";
	static const char cjk[] = "\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80";
	char *s;

	s = san(osc, sizeof osc - 1, 0);
	is_str(s, "^[]0;pwned^Gtitle", "OSC title sequence becomes caret text");
	ok(!has_byte_below_space(s), "no control bytes survive");
	free(s);

	s = san(csi_c1, sizeof csi_c1 - 1, 0);
	is_str(s, "a<U+009B>31mb", "C1 CSI shown by code point");
	free(s);

	s = san(bidi, sizeof bidi - 1, 0);
	is_str(s, "abc<U+202E>fdp.exe", "RLO override made visible");
	free(s);

	s = san("a\xe2\x80\x8b" "b\xe2\x80\x8d" "c\xe2\x81\xa0" "d", 13, 0);
	is_str(s, "a<U+200B>b<U+200D>c<U+2060>d", "zero-width characters made visible");
	free(s);

	s = san(bad, sizeof bad - 1, 0);
	is_str(s, "ok\\xFF\\xFE\\xC3", "invalid and truncated UTF-8 shown as hex");
	free(s);

	s = san(cjk, sizeof cjk - 1, 0);
	is_str(s, cjk, "CJK and emoji pass through in UTF-8 mode");
	free(s);

	s = san(cjk, sizeof cjk - 1, SAN_ASCII);
	is_str(s, "?? ?", "non-ASCII becomes ? in ASCII mode");
	free(s);

	s = san("l1\r\nl2\nl3", 9, SAN_KEEP_NEWLINES);
	is_str(s, "l1\nl2\nl3", "newlines kept on request, CR of CRLF dropped");
	free(s);

	s = san("l1\nl2", 5, 0);
	is_str(s, "l1^Jl2", "newline made visible on one-line output (no forged log lines)");
	free(s);

	s = san("a\0b", 3, 0);
	is_str(s, "a^@b", "NUL made visible");
	free(s);

	s = san("\xed\xa0\x80", 3, 0);
	is_str(s, "\\xED\\xA0\\x80", "UTF-8 encoded surrogate rejected");
	free(s);

	s = san("\xc0\xaf", 2, 0);
	is_str(s, "\\xC0\\xAF", "overlong encoding rejected");
	free(s);
}

static void test_time(void)
{
	int64_t ms = 0;
	char out[ISO8601_LEN];

	ok(time_parse_iso8601("2021-03-28T20:48:29.832Z", &ms) == 0, "Graph timestamp parses");
	is_int(ms, 1616964509832LL, "to the right millisecond");
	time_format_iso8601(ms, out, sizeof out);
	is_str(out, "2021-03-28T20:48:29.832Z", "formats back identically");
	ok(time_parse_iso8601("2021-03-1706:47:05.123Z", &ms) != 0,
	   "the malformed timestamp from Graph's own example is rejected");
	ok(time_parse_iso8601("2024-02-30T00:00:00Z", &ms) != 0, "impossible date rejected");
	ok(time_parse_iso8601("2024-01-01T01:00:00+01:00", &ms) == 0 && ms == 1704067200000LL,
	   "offset applied");
	ok(time_parse_iso8601("2024-01-01T00:00:00.1234567Z", &ms) == 0 && ms == 1704067200123LL,
	   "seven fraction digits truncated to milliseconds");
	ok(time_parse_iso8601("2024-01-01T00:00:00", &ms) != 0, "missing zone rejected");
	ok(time_parse_date("2024-02-29", &ms) == 0 && ms == 1709164800000LL, "leap day date");
	ok(time_parse_date("2023-02-29", &ms) != 0, "non-leap 29 Feb rejected");
	/* .NET's DateTime.MinValue, which Graph sends for "never" */
	ok(time_parse_iso8601("0001-01-01T00:00:00Z", &ms) == 0, "0001-01-01 parses");
	time_format_iso8601(ms, out, sizeof out);
	is_str(out, "0001-01-01T00:00:00.000Z", "and formats back");
	/* found by fuzz_identity: an offset that leaves years 0000-9999 would
	 * format as a time that does not parse back */
	ok(time_parse_iso8601("0000-01-01T00:00:00+05:00", &ms) != 0, "an offset before year 0000 is rejected");
	ok(time_parse_iso8601("9999-12-31T23:00:00-05:00", &ms) != 0, "an offset past year 9999 is rejected");
	ok(time_parse_iso8601("9999-12-31T23:59:59.999Z", &ms) == 0, "the last millisecond of 9999 parses");
}

static void test_encode(void)
{
	struct buf b = BUF_INIT;
	static const unsigned char thumb[] = {0x84, 0xE0, 0x5C, 0x1D, 0x98, 0xBC, 0xE3, 0xA5, 0x42, 0x1D,
					      0x22, 0x5B, 0x14, 0x0B, 0x36, 0xE8, 0x6A, 0x3D, 0x55, 0x34};

	/* The example from Microsoft's certificate-credentials page. */
	b64url_encode(&b, thumb, sizeof thumb);
	is_str(buf_str(&b), "hOBcHZi846VCHSJbFAs26Go9VTQ", "x5t example from the identity docs");
	buf_reset(&b);
	b64_encode(&b, "foob", 4);
	is_str(buf_str(&b), "Zm9vYg==", "RFC 4648 base64 vector");
	buf_reset(&b);
	ok(b64_decode(&b, "Zm9vYmFy", 8) == 0, "decode ok");
	is_str(buf_str(&b), "foobar", "RFC 4648 decode vector");
	buf_reset(&b);
	ok(b64_decode(&b, "Zm9v!", 5) != 0, "invalid base64 rejected");
	buf_reset(&b);
	url_escape(&b, "19:a@thread.v2 x");
	is_str(buf_str(&b), "19%3Aa%40thread.v2%20x", "percent-encoding of a chat id");
	buf_free(&b);
}

static void test_buf(void)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	ok(b.len == 3890, "buf grows across many appends (%zu)", b.len);
	buf_truncate(&b, 4);
	is_str(buf_str(&b), "0,1,", "truncate");
	buf_free(&b);
	is_str(buf_str(&b), "", "freed buffer reads as empty");
}

/* A page-like document: n messages, one of them with a body of big bytes. */
static char *page_text(int n, size_t big)
{
	struct buf b = BUF_INIT;
	int i;

	buf_append_str(&b, "{\"value\":[");
	for (i = 0; i < n; i++) {
		buf_printf(&b, "%s{\"id\":\"%d\",\"body\":{\"content\":\"", i ? "," : "", i);
		if (i == n / 2)
			for (size_t k = 0; k < big; k++)
				buf_append_char(&b, 'x');
		else
			buf_printf(&b, "hello %d", i);
		buf_append_str(&b, "\"}}");
	}
	buf_append_str(&b, "]}");
	return buf_steal(&b);
}

static int page_ok(const cJSON *page, int n, size_t big)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(page, "value");
	const char *mid;

	if (cJSON_GetArraySize(v) != n)
		return 0;
	mid = json_str(cJSON_GetArrayItem(v, n / 2), "body/content");
	return mid && strlen(mid) == big && json_str(cJSON_GetArrayItem(v, n - 1), "id") &&
	       atoi(json_str(cJSON_GetArrayItem(v, n - 1), "id")) == n - 1;
}

static void test_json_arena(void)
{
	struct json_arena a = JSON_ARENA_INIT;
	char *small = page_text(50, 10), *large = page_text(2000, 300 * 1024);
	cJSON *before = json_parse(small, strlen(small)), *p;
	struct buf out = BUF_INIT;
	const struct json_chunk *kept;

	json_arena_enter(&a);
	p = json_parse(large, strlen(large));
	ok(page_ok(p, 2000, 300 * 1024), "a tree larger than a chunk, with a string larger than a chunk, parses whole");
	json_append(&out, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "value"), 3));
	is_str(out.data, "{\"id\":\"3\",\"body\":{\"content\":\"hello 3\"}}", "printing inside the arena");
	cJSON_Delete(p);
	cJSON_Delete(before); /* malloc'd before the enter: freed for real */
	json_arena_leave(&a);
	kept = a.chunks;
#ifndef __SANITIZE_ADDRESS__
	ok(kept != NULL, "the arena keeps one chunk after a leave");
#endif
	p = json_parse(small, strlen(small));
	ok(page_ok(p, 50, 10) && a.chunks == kept, "outside the arena, cJSON allocates from malloc");
	cJSON_Delete(p);
	for (int round = 0; round < 3; round++) {
		json_arena_enter(&a);
		p = json_parse(small, strlen(small));
		ok(page_ok(p, 50, 10), "round %d: a page parses in the arena", round);
		json_arena_drop(p); /* the leave frees it; under ASan, cJSON_Delete */
		json_arena_leave(&a);
		ok(a.chunks == kept, "round %d: a steady loop reuses the kept chunk", round);
	}
	json_arena_free(&a);
	ok(a.chunks == NULL, "freed, the arena holds nothing");
	buf_free(&out);
	free(small);
	free(large);
}

/* json_append writes what cJSON_PrintUnformatted writes, byte for byte. */
static void same_as_cjson(const char *json, const char *what)
{
	cJSON *doc = json_parse(json, strlen(json));
	struct buf out = BUF_INIT;
	char *want;

	if (doc == NULL) {
		ok(0, "%s: the test document parses", what);
		return;
	}
	want = cJSON_PrintUnformatted(doc);
	json_append(&out, doc);
	is_str(out.data ? out.data : "", want, "%s: serialised as cJSON does", what);
	cJSON_free(want);
	cJSON_Delete(doc);
	buf_free(&out);
}

static void test_json_append(void)
{
	char controls[32 * 6 + 3], *p = controls;
	cJSON *d;
	struct buf out = BUF_INIT;

	*p++ = '"';
	for (int c = 1; c < 32; c++)
		p += sprintf(p, "\\u%04x", c);
	*p++ = '"';
	*p = '\0';
	same_as_cjson(controls, "every control character");
	same_as_cjson("\"quote \\\" backslash \\\\ slash \\/ del \x7f caf\xc3\xa9 \xf0\x9f\x98\x80\"",
		      "quotes, backslashes, UTF-8");
	same_as_cjson("{\"a\\nb\":[],\"\":{},\"t\":true,\"f\":false,\"n\":null,\"x\":[[1,[2]],{\"y\":{}}]}",
		      "nesting, empty containers, literals, an escaped key");
	same_as_cjson("[0,1,-1,2147483647,2147483648,-2147483649,999999999999999,1e15,1e16,"
		      "123456789012345678,0.1,0.3333333333333333,1e-300,-2.5e-10,3.14159,1.7976931348623157e308]",
		      "integers and doubles at the edges");
	d = cJSON_CreateNumber(-0.0);
	json_append(&out, d);
	is_str(out.data, "-0", "negative zero keeps its sign");
	cJSON_Delete(d);
	buf_reset(&out);
	d = cJSON_CreateNumber(NAN);
	json_append(&out, d);
	is_str(out.data, "null", "NaN is written as null");
	cJSON_Delete(d);
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL) {
		buf_reset(&out);
		d = cJSON_CreateNumber(2.5);
		json_append(&out, d);
		is_str(out.data, "2.5", "a decimal comma locale still writes a point");
		cJSON_Delete(d);
		setlocale(LC_NUMERIC, "C");
	}
	buf_free(&out);
}

/* A message longer than its buffer is cut on a character boundary and says
 * so; one that fits is kept whole. */
static int valid_utf8(const char *s)
{
	size_t i = 0, n = strlen(s), k;
	unsigned cp;

	for (; i < n; i += k)
		if ((k = utf8_decode((const unsigned char *)s + i, n - i, &cp)) == 0)
			return 0;
	return 1;
}

static void test_err(void)
{
	struct cv_err e = {0};
	char long_text[2000];
	size_t len;

	memset(long_text, 0, sizeof long_text);
	for (size_t i = 0; i + 2 < sizeof long_text; i += 2)
		memcpy(long_text + i, "\xC3\xA9", 2); /* é, two bytes each */
	for (int shift = 0; shift < 4; shift++) {
		err_set(&e, CV_EPROTO, "%.*s%s", shift, "xyz", long_text);
		len = strlen(e.msg);
		ok(valid_utf8(e.msg), "err_set: a cut message is valid UTF-8 (shifted by %d)", shift);
		ok(len < sizeof e.msg && len >= sizeof e.msg - 8 && strcmp(e.msg + len - 3, "\xE2\x80\xA6") == 0,
		   "err_set: the cut is marked with an ellipsis and keeps the buffer full (%zu bytes)", len);
		err_prefix(&e, "reading chat %s", "\xE4\xB8\xAD");
		ok(valid_utf8(e.msg) && strncmp(e.msg, "reading chat \xE4\xB8\xAD: ", 18) == 0,
		   "err_prefix: the prefixed, cut message is valid UTF-8 (shifted by %d)", shift);
	}
	err_set(&e, CV_EPROTO, "short %s", "\xC3\xA9");
	is_str(e.msg, "short \xC3\xA9", "err_set: a message that fits is kept whole");
	err_prefix(&e, "p");
	is_str(e.msg, "p: short \xC3\xA9", "err_prefix: a prefixed message that fits is kept whole");
	err_prefix(&e, "%s", long_text);
	ok(valid_utf8(e.msg) && strlen(e.msg) < sizeof e.msg, "err_prefix: an over-long prefix is cut on a boundary");
	is_int(e.code, CV_EPROTO, "err_prefix keeps the code");
}

/* A destination checked before a long export, rather than after it. */
static void test_absolute(void)
{
	char *cwd = getcwd(NULL, 0), *want, *got;

	got = fs_absolute("/srv/store");
	is_str(got, "/srv/store", "an absolute path stays as it is");
	free(got);
	want = xasprintf("%s/store/sub", cwd);
	got = fs_absolute("store/sub");
	is_str(got, want, "a relative path is taken from the current directory");
	free(got);
	got = fs_absolute("./store/sub");
	is_str(got, want, "without its ./");
	free(got);
	free(want);
	got = fs_absolute(".");
	is_str(got, cwd, "the current directory itself");
	free(got);
	free(cwd);
}

static void test_check_writable_file(void)
{
	char dir[] = "/tmp/cv-util-XXXXXX";
	char *sub, *file, *in_sub, *under_file, *missing, *slash, *locked;
	struct cv_err e = {0};
	FILE *f;

	if (mkdtemp(dir) == NULL)
		xfatal("mkdtemp: %s", strerror(errno));
	sub = fs_join(dir, "dl");
	file = fs_join(dir, "a.zip");
	in_sub = fs_join(sub, "b.zip");
	under_file = fs_join(file, "c.zip");
	missing = fs_join(dir, "nowhere/d.zip");
	slash = xasprintf("%s/new/", dir);
	locked = fs_join(dir, "locked");
	if (mkdir(sub, 0700) != 0 || mkdir(locked, 0500) != 0 || (f = fopen(file, "w")) == NULL)
		xfatal("test setup: %s", strerror(errno));
	fclose(f);

	is_int(fs_check_writable_file(in_sub, &e), 0, "a new file in a writable directory");
	is_int(fs_check_writable_file(file, &e), 0, "an existing file, to be replaced");
	is_int(fs_check_writable_file("cv-relative.zip", &e), 0, "a bare name: the current directory");
	is_int(fs_check_writable_file(sub, &e), CV_EINVAL, "a directory is refused");
	ok(strstr(e.msg, sub) && strstr(e.msg, "directory"), "  and named: %s", e.msg);
	is_int(fs_check_writable_file(slash, &e), CV_EINVAL, "a name ending in / is refused: %s", e.msg);
	is_int(fs_check_writable_file(missing, &e), CV_ENOTFOUND, "a missing directory is refused");
	ok(strstr(e.msg, "nowhere") != NULL, "  and named: %s", e.msg);
	is_int(fs_check_writable_file(under_file, &e), CV_EINVAL, "a file in place of the directory is refused: %s",
	       e.msg);
	if (geteuid() != 0) {
		char *in_locked = fs_join(locked, "e.zip");

		is_int(fs_check_writable_file(in_locked, &e), CV_EPERMS, "a directory we cannot write is refused: %s",
		       e.msg);
		free(in_locked);
	} else {
		ok(1, "# SKIP root writes everywhere: no unwritable directory to try");
	}

	unlink(file);
	rmdir(sub);
	rmdir(locked);
	rmdir(dir);
	free(sub);
	free(file);
	free(in_sub);
	free(under_file);
	free(missing);
	free(slash);
	free(locked);
}

int main(void)
{
	test_sanitize();
	test_time();
	test_encode();
	test_buf();
	test_json_arena();
	test_json_append();
	test_err();
	test_check_writable_file();
	test_absolute();
	return tap_done();
}
