/* The console: the only entry point the rest of chatvault sees of ui/. */
#ifndef CV_UI_TUI_H
#define CV_UI_TUI_H

struct app;

/* Run the console on an open app (its engine already started) until the
 * user quits or a terminating signal arrives. Restores the terminal on
 * every path. Returns 0, or 1 if the console could not start. */
int tui_run(struct app *a);

#endif
