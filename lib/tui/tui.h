/* tui.h - the interactive report browser (`cprof report` on a terminal).
 *
 * ncurses screens over one profile: top functions, call tree (callers
 * above callees, or inverted), callers/callees of a function (pprof's
 * peek), annotate (lib/format's cp_annotate) and help.  The profile is
 * aggregated once per filter; navigation works on the aggregated tables,
 * so every key answers at once.
 *
 * The key handling and what each screen shows (the browser model) live
 * apart from the curses drawing, so tests drive the model with keys and
 * check its rows without a terminal (see cp_tui_browser_* below).
 */
#ifndef CPROF_TUI_H
#define CPROF_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core.h"
#include "profile/profile.h"

struct cp_tui_opts {
	const char *input;  /* the input's name as the user gave it (header) */
	bool color;         /* false: monochrome (NO_COLOR, or no colours on the terminal) */
};

/* Run the browser on the controlling terminal (stdin and stdout must be
 * terminals) until the user quits; restores the terminal on return, also
 * after SIGINT/SIGTERM/SIGHUP.  The view options (filter, value, inline)
 * are the starting point: the browser's own filters (threads, processes,
 * modules) narrow them.  p is borrowed.  Returns 0, or a negative CP_E_*
 * with err set when the terminal cannot be used. */
int cp_tui_run(const struct cp_profile *p, const struct cp_view_opts *vo,
	       const struct cp_tui_opts *o, struct cp_error *err);

#endif
