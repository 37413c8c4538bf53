# The console: the only code that calls curses. It calls src/app only.
chatvault_SOURCES += \
	ui/accounts.c ui/accounts.h \
	ui/chats.c \
	ui/command.c \
	ui/dialog.c \
	ui/draw.c \
	ui/edit.c \
	ui/forms.c \
	ui/list.c \
	ui/pager.c \
	ui/tab_dashboard.c \
	ui/tab_privchat.c \
	ui/tab_status.c \
	ui/tui.c ui/tui.h \
	ui/ui.h
