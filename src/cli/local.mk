chatvault_SOURCES += \
	src/cli/main.c
