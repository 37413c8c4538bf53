# Integration tests: the real binary against the Graph simulator.
TESTS += \
	tests/graphsim/test_graphsim.py \
	tests/integration/test_backup_depth.py \
	tests/integration/test_backup_exact.py \
	tests/integration/test_cli_contract.py \
	tests/integration/test_credentials.py \
	tests/integration/test_downloads.py \
	tests/integration/test_export_path.py \
	tests/integration/test_schedule.py \
	tests/integration/test_store.py

EXTRA_DIST += \
	tests/lib/cvtest.py tests/lib/eml_parts.pl \
	tests/graphsim/README.md \
	tests/graphsim/graphsim.py tests/graphsim/tenant.py tests/graphsim/identity.py \
	tests/graphsim/throttle.py tests/graphsim/hostile.py tests/graphsim/media.py \
	tests/graphsim/util.py tests/graphsim/test_graphsim.py \
	tests/integration/test_backup_depth.py \
	tests/integration/test_backup_exact.py tests/integration/test_credentials.py \
	tests/integration/test_cli_contract.py \
	tests/integration/test_store.py tests/integration/test_downloads.py \
	tests/integration/test_schedule.py tests/integration/test_export_path.py \
	scripts/demo.sh

demo: chatvault
	CHATVAULT='$(abs_top_builddir)/chatvault' CV_SRCDIR='$(abs_top_srcdir)' $(SHELL) $(top_srcdir)/scripts/demo.sh

.PHONY: demo
