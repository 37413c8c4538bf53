# unit tests for this part are listed here (unit_tests += ...)
