libchatvault_a_SOURCES += \
	src/store/accounts.c src/store/accounts.h \
	src/store/blobs.c src/store/blobs.h \
	src/store/catalog.c src/store/catalog.h src/store/schema.sql.h \
	src/store/files.c src/store/files.h \
	src/store/messages.c src/store/messages.h \
	src/store/snapshots.c src/store/snapshots.h \
	src/store/store.c src/store/store.h \
	src/store/tenants.c src/store/tenants.h
