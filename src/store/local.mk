# sources of src/store are listed here
libchatvault_a_SOURCES += \
	src/store/kdf.c src/store/kdf.h \
	src/store/vault.c src/store/vault.h
