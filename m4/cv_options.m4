dnl CV_ARG_ENABLE(NAME, HELP): a plain --enable-NAME switch defaulting to no.
AC_DEFUN([CV_ARG_ENABLE], [
  AC_ARG_ENABLE([$1], [AS_HELP_STRING([--enable-$1], [$2])],
                [enable_]m4_translit([$1], [-], [_])[=$enableval],
                [enable_]m4_translit([$1], [-], [_])[=no])
])

dnl AX_PTHREAD_LITE: POSIX threads through -pthread, which every compiler
dnl we build with (gcc, clang) understands.
AC_DEFUN([AX_PTHREAD_LITE], [
  PTHREAD_CFLAGS="-pthread"
  PTHREAD_LIBS="-pthread"
  AC_SUBST([PTHREAD_CFLAGS])
  AC_SUBST([PTHREAD_LIBS])
])
