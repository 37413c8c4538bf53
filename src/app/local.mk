libchatvault_a_SOURCES += \
	src/app/app.c src/app/app.h \
	src/app/schedule.c src/app/schedule.h \
	src/app/view.c src/app/view.h
