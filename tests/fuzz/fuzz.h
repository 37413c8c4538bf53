/*
 * Fuzz targets for every parser of outside input (TESTING.md, layer 6). Each
 * target defines LLVMFuzzerTestOneInput and checks what its parser promises,
 * not only that it does not crash: a broken promise calls fuzz_fail(), which
 * aborts, so libFuzzer and the standalone driver both report it as a crash.
 *
 * Built two ways (tests/fuzz/local.mk):
 *   make check           each target with driver.c: its seed corpus, then a
 *                        bounded number of inputs mutated from it;
 *   --enable-fuzzing     with clang's libFuzzer (coverage-guided, for as long
 *                        as you let it run); see doc/architecture.md.
 */
#ifndef CV_TESTS_FUZZ_H
#define CV_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: a target that needs set-up defines it (libFuzzer's name). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Report a broken promise and abort. */
__attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...);

/* s[0..n) is valid UTF-8 without NUL. */
void fuzz_check_utf8(const char *what, const char *s, size_t n);
/* s[0..n) is what util/sanitize.h promises a person may see: valid UTF-8,
 * no control byte (but \n when newlines is set), no DEL, no C1 control, no
 * bidi override or invisible line separator. */
void fuzz_check_inert(const char *what, const char *s, size_t n, int newlines);
/* s[0..n) is HTML the export allow-list could have written: known elements
 * and attributes only, every "<" starts one of them, quoted attribute
 * values without "<" or ">", href only http(s) or mailto and src only a
 * data: image, with no character reference before the scheme's colon. */
void fuzz_check_html(const char *what, const char *s, size_t n);

/* A NUL-terminated copy of data[0..size) (the caller frees it). */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif
