/*
 * The standalone driver: a fuzz target without libFuzzer, for make check.
 * It runs every seed in tests/fuzz/corpus/<target>/ (or the directory given
 * as the first argument), then $FUZZ_RUNS inputs (default 20,000) made from the
 * seeds by a small mutator seeded with $FUZZ_SEED (default 1), so that a
 * failure replays exactly. A crash or a broken promise writes the input to
 * <target>.crash in the working directory; to replay it, pass a directory
 * holding that file, or hand it to the libFuzzer build. Prints TAP.
 */
#include "config.h"

#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { INPUT_MAX = 64 * 1024, SEEDS_MAX = 256 };

struct input {
	uint8_t *data;
	size_t len;
};

static struct input seeds[SEEDS_MAX];
static size_t nseeds;

/* The input being run, for the crash handler. */
static const uint8_t *current;
static size_t current_len;
static char crash_path[256];

static void on_crash(int sig)
{
	int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd >= 0) {
		ssize_t w = write(fd, current, current_len);

		(void)w;
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *data, size_t len)
{
	current = data;
	current_len = len;
	LLVMFuzzerTestOneInput(data, len);
}

static int load_seed(const char *path)
{
	struct stat st;
	FILE *f;
	struct input *in = &seeds[nseeds];

	if (nseeds == SEEDS_MAX || stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > INPUT_MAX)
		return 0;
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	in->data = malloc((size_t)st.st_size + 1);
	in->len = in->data ? fread(in->data, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (in->data == NULL)
		return 0;
	nseeds++;
	return 1;
}

/* xorshift64*: deterministic, and good enough to pick mutations. */
static uint64_t rng_state;

static uint64_t rnd(uint64_t below)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return below ? (rng_state * 0x2545F4914F6CDD1DULL) % below : 0;
}

/* Bytes and tokens that parsers of JSON, HTML, URLs and times treat
 * specially; the mutator inserts or overwrites with them. */
static const char *const tokens[] = {
	"<", ">", "\"", "'", "&", ";", ":", "/", "\\", "{", "}", "[", "]", ",", "\n", "\r", "\t", " ", "=",
	"\xc0", "\xe2\x80\xae", "\xe2\x81\xa6", "\xc2\x9b", "\x1b[2J", "\xf4\x90\x80\x80", "\xed\xa0\x80",
	"\\u0000", "\\ud800", "\\u202e", "\\\"", "null", "true", "[]", "{}", "\"\"", "1e309", "-0",
	"99999999999999999999", "<script>", "</script>", "javascript:", "java\tscript:", "&#106;", "&#x3c;",
	"&lt;", "<img src=\"", "<a href=\"", "<at id=\"0\">", "</at>", "<emoji alt=\"", "<table><tr><td colspan=\"",
	"<!--", "-->", "<![CDATA[", "<svg onload=", " onerror=", "<div>", "</div>", "<p>", "</", "data:",
	"/hostedContents/", "/$value", "2024-02-29T23:59:60.999Z", "0000-00-00T00:00:00Z", "+14:00", "Z",
	"AADSTS7000215", "error_codes", "\"error\":", "\"access_token\":", "\"expires_in\":", "Bearer",
};

static size_t mutate(uint8_t *buf, size_t len)
{
	int steps = 1 + (int)rnd(4);

	while (steps-- > 0) {
		size_t at = len ? (size_t)rnd(len) : 0, n;

		switch (rnd(7)) {
		case 0: /* flip a bit */
			if (len)
				buf[at] ^= (uint8_t)(1u << rnd(8));
			break;
		case 1:
		case 2: { /* a token, inserted or written over what is there */
			const char *t = tokens[rnd(sizeof tokens / sizeof tokens[0])];

			n = strlen(t);
			if (len + n > INPUT_MAX)
				break;
			if (rnd(2)) {
				memmove(buf + at + n, buf + at, len - at);
				len += n;
			} else if (at + n > len) {
				len = at + n;
			}
			memcpy(buf + at, t, n);
			break;
		}
		case 3: /* delete a run */
			n = 1 + (size_t)rnd(16);
			if (at + n > len)
				n = len - at;
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
			break;
		case 4: { /* repeat a run: deep nesting, long names */
			size_t from = len ? (size_t)rnd(len) : 0, times = 1 + (size_t)rnd(64);

			n = 1 + (size_t)rnd(12);
			if (from + n > len)
				n = len - from;
			while (n && times-- && len + n <= INPUT_MAX) {
				memmove(buf + at + n, buf + at, len - at);
				memmove(buf + at, buf + from + (from >= at ? n : 0), n);
				len += n;
			}
			break;
		}
		case 5: { /* splice: our head, another seed's tail */
			const struct input *o = &seeds[rnd(nseeds)];
			size_t from = o->len ? (size_t)rnd(o->len) : 0;

			n = o->len - from;
			if (at + n > INPUT_MAX)
				n = INPUT_MAX - at;
			memcpy(buf + at, o->data + from, n);
			len = at + n;
			break;
		}
		default: /* truncate */
			len = at;
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *env_runs = getenv("FUZZ_RUNS"), *env_seed = getenv("FUZZ_SEED");
	long runs = env_runs ? atol(env_runs) : 20000, i;
	char dir[1024];
	uint8_t *buf;
	DIR *d;
	struct dirent *de;
	static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};

	if (strncmp(name, "lt-", 3) == 0)
		name += 3;
	if (argc > 1)
		snprintf(dir, sizeof dir, "%s", argv[1]);
	else
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", getenv("CV_SRCDIR") ? getenv("CV_SRCDIR") : ".",
			 name);
	snprintf(crash_path, sizeof crash_path, "%s.crash", name);
	rng_state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(env_seed ? atoll(env_seed) : 1);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
		signal(sigs[k], on_crash);

	printf("1..1\n");
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char path[2048];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			load_seed(path);
		}
		closedir(d);
	}
	if (nseeds == 0) {
		printf("not ok 1 - %s: no seeds in %s\n", name, dir);
		return 1;
	}
	for (size_t k = 0; k < nseeds; k++)
		run(seeds[k].data, seeds[k].len);
	if ((buf = malloc(INPUT_MAX)) == NULL)
		return 1;
	for (i = 0; i < runs; i++) {
		const struct input *s = &seeds[rnd(nseeds)];
		size_t len;

		memcpy(buf, s->data, s->len);
		len = mutate(buf, s->len);
		run(buf, len);
	}
	free(buf);
	for (size_t k = 0; k < nseeds; k++)
		free(seeds[k].data);
	printf("ok 1 - %s: %zu seeds and %ld mutated inputs kept every promise\n", name, nseeds, runs);
	return 0;
}
