# unit tests for this part are listed here (unit_tests += ...)
unit_tests += tests/unit/test_vault
tests_unit_test_vault_LDADD = $(UNIT_LDADD)
unit_tests += tests/unit/test_catalog
tests_unit_test_catalog_LDADD = $(UNIT_LDADD)
