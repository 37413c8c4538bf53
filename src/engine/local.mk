libchatvault_a_SOURCES += \
	src/engine/engine.c src/engine/engine.h \
	src/engine/queue.c src/engine/queue.h
