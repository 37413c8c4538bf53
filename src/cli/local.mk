chatvault_SOURCES += \
	src/cli/cli.h \
	src/cli/cmd_accounts.c \
	src/cli/cmd_console.c \
	src/cli/cmd_download.c \
	src/cli/cmd_jobs.c \
	src/cli/cmd_store.c \
	src/cli/cmd_tenant.c \
	src/cli/common.c \
	src/cli/main.c
