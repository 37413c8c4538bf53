/* Locale and message catalog set-up. */
#include "config.h"

#include "util/i18n.h"

#include <locale.h>
#include <stdlib.h>

void i18n_init(void)
{
	setlocale(LC_ALL, "");
#ifdef ENABLE_NLS
	{
		const char *dir = getenv("CHATVAULT_LOCALEDIR");

		bindtextdomain(PACKAGE, dir && *dir ? dir : LOCALEDIR);
		bind_textdomain_codeset(PACKAGE, "UTF-8");
		textdomain(PACKAGE);
	}
#endif
}
