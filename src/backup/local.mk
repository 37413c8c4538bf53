libchatvault_a_SOURCES += \
	src/backup/backup.c src/backup/backup.h src/backup/internal.h \
	src/backup/bulk.c src/backup/bulk.h \
	src/backup/files.c src/backup/files.h
