libchatvault_a_SOURCES += \
	src/util/buf.c src/util/buf.h \
	src/util/encode.c src/util/encode.h \
	src/util/err.c src/util/err.h \
	src/util/fsutil.c src/util/fsutil.h \
	src/util/i18n.c src/util/i18n.h \
	src/util/json.c src/util/json.h \
	src/util/log.c src/util/log.h \
	src/util/sanitize.c src/util/sanitize.h \
	src/util/timeutil.c src/util/timeutil.h \
	src/util/xalloc.c src/util/xalloc.h
