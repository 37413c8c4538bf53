# sources of src/graph are listed here
libchatvault_a_SOURCES += \
	src/graph/graph.c src/graph/graph.h \
	src/graph/auth.c src/graph/auth.h \
	src/graph/errors.c src/graph/errors.h \
	src/graph/http.c src/graph/http.h \
	src/graph/jwt.c src/graph/jwt.h \
	src/graph/retry.c src/graph/retry.h \
	src/graph/throttle.c src/graph/throttle.h \
	src/graph/wait.c src/graph/wait.h
