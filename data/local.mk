dist_pkgdata_DATA += data/demo-tenant.json

# systemd units: the engine (with its built-in schedule), or a timer that
# starts one backup three times a day instead.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = data/chatvault.service data/chatvault-backup.service
dist_systemdunit_DATA = data/chatvault-backup.timer
EXTRA_DIST += data/chatvault.service.in data/chatvault-backup.service.in
CLEANFILES += data/chatvault.service data/chatvault-backup.service

data/chatvault.service data/chatvault-backup.service: Makefile
	$(MKDIR_P) data
	sed -e 's|@bindir[@]|$(bindir)|g' '$(srcdir)/$@.in' > $@.tmp && mv $@.tmp $@
