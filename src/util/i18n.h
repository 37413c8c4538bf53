/* gettext glue: every user-visible string goes through _() or N_(). */
#ifndef CV_UTIL_I18N_H
#define CV_UTIL_I18N_H

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) gettext(s)
#define P_(s, p, n) ngettext((s), (p), (n))
#else
#define _(s) (s)
#define P_(s, p, n) ((n) == 1 ? (s) : (p))
#endif
#define N_(s) (s)

/* setlocale + bindtextdomain; call once at start. */
void i18n_init(void);

#endif
