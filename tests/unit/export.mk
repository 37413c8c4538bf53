# Export writers: html, csv, eml, pdf and the shared body sanitiser. The test
# hands its files to export_check.py (python3), qpdf and pdftotext.
unit_tests += tests/unit/test_export
tests_unit_test_export_LDADD = $(UNIT_LDADD)
tests_unit_test_export_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSRCDIR_GUESS='"$(abs_top_srcdir)/tests/unit/export_check.py"'
EXTRA_DIST += tests/unit/export_check.py
