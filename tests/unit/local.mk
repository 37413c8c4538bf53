unit_tests = \
	tests/unit/test_util

check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_test_util_LDADD = $(UNIT_LDADD)
