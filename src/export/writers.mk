# Export writers beyond json (html, csv, eml, pdf) and the Teams body
# parser/sanitiser they share.
libchatvault_a_SOURCES += \
	src/export/htmltext.c src/export/htmltext.h \
	src/export/html.c \
	src/export/csv.c \
	src/export/eml.c \
	src/export/pdf.c
