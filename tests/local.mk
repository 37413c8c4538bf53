# Test layers: unit tests (TAP, one program per module), the Graph simulator's
# self-test, integration tests against the simulator, console tests in tmux,
# fuzz targets.

TEST_EXTENSIONS = .py .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
PY_LOG_COMPILER = $(PYTHON3)
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	CHATVAULT='$(abs_top_builddir)/chatvault'; export CHATVAULT; \
	GRAPHSIM='$(abs_top_srcdir)/tests/graphsim/graphsim.py'; export GRAPHSIM; \
	CV_SRCDIR='$(abs_top_srcdir)'; export CV_SRCDIR; \
	CV_BUILDDIR='$(abs_top_builddir)'; export CV_BUILDDIR; \
	PYTHONPATH='$(abs_top_srcdir)/tests/lib'; export PYTHONPATH; \
	PYTHONDONTWRITEBYTECODE=1; export PYTHONDONTWRITEBYTECODE; \
	CHATVAULT_LOCALEDIR='$(abs_top_builddir)/tests/locale'; export CHATVAULT_LOCALEDIR;

UNIT_LDADD = libchatvault.a $(CV_LIBS)
EXTRA_DIST += tests/unit/tap.h build-aux/tap-driver.sh tests/valgrind/chatvault.supp

# The German catalogue where the uninstalled binary finds it
# ($CHATVAULT_LOCALEDIR), for the console's translation test.
check_DATA = tests/locale/de/LC_MESSAGES/chatvault.mo
tests/locale/de/LC_MESSAGES/chatvault.mo: $(top_srcdir)/po/de.po
	$(MKDIR_P) tests/locale/de/LC_MESSAGES
	$(MSGFMT) -c -o $@ $(top_srcdir)/po/de.po
CLEANFILES += tests/locale/de/LC_MESSAGES/chatvault.mo

include tests/unit/local.mk
include tests/integration/local.mk
include tests/ui/local.mk
include tests/fuzz/local.mk

# Benchmarks: figures, not pass/fail (doc/benchmarks.md records them).
bench: chatvault
	CHATVAULT='$(abs_top_builddir)/chatvault' $(PYTHON3) $(top_srcdir)/tests/bench/bench_export.py
	CHATVAULT='$(abs_top_builddir)/chatvault' $(PYTHON3) $(top_srcdir)/tests/bench/bench_backup.py

EXTRA_DIST += tests/bench/bench_export.py tests/bench/bench_backup.py
.PHONY: bench
