libchatvault_a_SOURCES += \
	src/export/attach.c src/export/attach.h \
	src/export/export.c src/export/export.h \
	src/export/job.c src/export/job.h \
	src/export/json.c \
	src/export/names.c src/export/names.h \
	src/export/output.c src/export/output.h \
	src/export/stream.c src/export/stream.h
