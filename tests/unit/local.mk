# Unit tests: one TAP program per module. Each part of the tree adds its own
# programs in a fragment below.
unit_tests = tests/unit/test_util
tests_unit_test_util_LDADD = $(UNIT_LDADD)

include tests/unit/store.mk
include tests/unit/graph.mk
include tests/unit/core.mk
include tests/unit/export.mk

check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)
