# Fuzz targets (TESTING.md, layer 6): every parser of outside input. make
# check runs each one with the standalone driver over its seed corpus and
# 20,000 mutated inputs (FUZZ_RUNS in the environment changes that).
# ./configure --enable-fuzzing CC=clang builds them for libFuzzer instead, to
# run by hand for as long as one likes (doc/architecture.md, "Testing").
fuzz_targets = tests/fuzz/fuzz_html tests/fuzz/fuzz_message tests/fuzz/fuzz_identity tests/fuzz/fuzz_record
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/check.c

if ENABLE_FUZZING
noinst_PROGRAMS = $(fuzz_targets)
FUZZ_DRIVER =
FUZZ_MAIN_FLAGS = -fsanitize=fuzzer
else
check_PROGRAMS += $(fuzz_targets)
TESTS += $(fuzz_targets)
FUZZ_DRIVER = tests/fuzz/driver.c
FUZZ_MAIN_FLAGS =
endif

tests_fuzz_fuzz_html_SOURCES = tests/fuzz/fuzz_html.c $(FUZZ_COMMON) $(FUZZ_DRIVER)
tests_fuzz_fuzz_html_LDADD = $(UNIT_LDADD)
tests_fuzz_fuzz_html_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_MAIN_FLAGS)
tests_fuzz_fuzz_message_SOURCES = tests/fuzz/fuzz_message.c $(FUZZ_COMMON) $(FUZZ_DRIVER)
tests_fuzz_fuzz_message_LDADD = $(UNIT_LDADD)
tests_fuzz_fuzz_message_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_MAIN_FLAGS)
tests_fuzz_fuzz_identity_SOURCES = tests/fuzz/fuzz_identity.c $(FUZZ_COMMON) $(FUZZ_DRIVER)
tests_fuzz_fuzz_identity_LDADD = $(UNIT_LDADD)
tests_fuzz_fuzz_identity_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_MAIN_FLAGS)
tests_fuzz_fuzz_record_SOURCES = tests/fuzz/fuzz_record.c $(FUZZ_COMMON) $(FUZZ_DRIVER)
tests_fuzz_fuzz_record_LDADD = $(UNIT_LDADD)
tests_fuzz_fuzz_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_MAIN_FLAGS)

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/make-corpus.py
CLEANFILES += fuzz_html.crash fuzz_message.crash fuzz_identity.crash fuzz_record.crash
