libchatvault_a_SOURCES += \
	src/app/app.c src/app/app.h
