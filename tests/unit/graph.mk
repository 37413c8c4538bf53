# unit tests for this part are listed here (unit_tests += ...)
unit_tests += tests/unit/test_graph_throttle tests/unit/test_graph_retry \
	tests/unit/test_graph_jwt tests/unit/test_graph_errors tests/unit/test_graph_http
tests_unit_test_graph_throttle_LDADD = $(UNIT_LDADD)
tests_unit_test_graph_retry_LDADD = $(UNIT_LDADD)
tests_unit_test_graph_jwt_LDADD = $(UNIT_LDADD)
tests_unit_test_graph_errors_LDADD = $(UNIT_LDADD)
tests_unit_test_graph_http_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/fake_http.py
