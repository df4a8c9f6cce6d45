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
	const char *input; /* the input's name as the user gave it (header) */
	bool color;        /* false: monochrome (NO_COLOR, or no colours on the terminal) */
	/* NULL, or a function to open straight into the annotate screen of
	 * (display or raw name; the module where it has most samples) */
	const char *annotate;
};

/* Run the browser on the controlling terminal (stdin and stdout must be
 * terminals) until the user quits; restores the terminal on return, also
 * after SIGINT/SIGTERM/SIGHUP.  The view options (filter, value, inline)
 * are the starting point: the browser's own filters (threads, processes,
 * modules) narrow them; the top table is always keyed by function and
 * module (vo->keys are ignored).  p is borrowed.  Returns 0 when the user
 * quit; the signal number (> 0) when SIGINT, SIGTERM or SIGHUP ended it
 * (the terminal is restored: the caller may re-raise it); a negative
 * CP_E_* with err set when the terminal cannot be used (CP_E_USAGE: stdin
 * or stdout is not a terminal) or o->annotate fails (cp_annotate_new's
 * error, before the terminal is touched). */
int cp_tui_run(const struct cp_profile *p, const struct cp_view_opts *vo,
	       const struct cp_tui_opts *o, struct cp_error *err);

/* ---- the browser model (browser.c): screens, rows and keys, no curses ----
 *
 * Screens form a stack whose bottom is always the top-functions table; a
 * key acts on the screen at the top of the stack, `q`/Esc pops it (and
 * quits from the table).  Every screen is a list of text rows with a
 * cursor; the drawing code shows rows [first, first + height) and
 * highlights the cursor's.  Rows are built from tables aggregated once per
 * filter (cp_view_top, cp_view_tree with no percent limit), so a key never
 * aggregates samples again, except a filter change and the first `i`
 * (which builds the inverted tree once and keeps it). */
enum cp_tui_screen {
	CP_TUI_TOP,      /* top functions */
	CP_TUI_TREE,     /* call tree, callers above callees or inverted */
	CP_TUI_PEEK,     /* callers and callees of one function */
	CP_TUI_ANNOTATE, /* one function's instructions */
	CP_TUI_HELP,     /* the keys */
	CP_TUI_PICKER,   /* thread, process or module filter choice */
};

/* How a row is drawn. */
enum cp_tui_style {
	CP_TUI_STYLE_NORMAL,
	CP_TUI_STYLE_DIM,     /* source lines, headings, help section titles */
	CP_TUI_STYLE_HOT,     /* heavy rows (>= 10% of what the screen measures) */
	CP_TUI_STYLE_CURRENT, /* the focused function on the peek screen; active picker entry */
};

/* Keys that are not characters (characters are their byte value; Enter is
 * '\n', Esc 27, Tab '\t', Backspace 127). */
enum {
	CP_TUI_KEY_UP = 0x100,
	CP_TUI_KEY_DOWN,
	CP_TUI_KEY_LEFT,
	CP_TUI_KEY_RIGHT,
	CP_TUI_KEY_PGUP,
	CP_TUI_KEY_PGDN,
	CP_TUI_KEY_HOME,
	CP_TUI_KEY_END,
	CP_TUI_KEY_BTAB, /* shift-Tab */
};

struct cp_tui_browser;

/* A browser over p (borrowed) with view options vo (copied; the filter's
 * arrays are borrowed and must outlive the browser); input names the
 * profile in the header.  NULL with err set when the view cannot be built
 * (cp_view_new's errors). */
struct cp_tui_browser *cp_tui_browser_new(const struct cp_profile *p, const struct cp_view_opts *vo,
					  const char *input, struct cp_error *err);
void cp_tui_browser_free(struct cp_tui_browser *b);

/* Handle one key; returns true when the browser is done (q or Esc on the
 * top-functions table). */
bool cp_tui_browser_key(struct cp_tui_browser *b, int key);
/* Rows the screen has room for (PgUp/PgDn, scrolling); at least 1. */
void cp_tui_browser_set_height(struct cp_tui_browser *b, int rows);
/* Open the annotate screen of function `name` in `module` (NULL: where it
 * has most self samples) on top of the current screen.  cp_annotate_new's
 * errors (CP_E_NOENT, CP_E_UNSUPPORTED) are returned with err set, and
 * the screen stays as it was. */
int cp_tui_browser_annotate(struct cp_tui_browser *b, const char *name, const char *module,
			    struct cp_error *err);

enum cp_tui_screen cp_tui_browser_screen(const struct cp_tui_browser *b);
/* The number of rows of the current screen, the cursor's row and the
 * first row shown (scrolling keeps the cursor in [first, first+height)). */
size_t cp_tui_browser_nrows(const struct cp_tui_browser *b);
size_t cp_tui_browser_cursor(const struct cp_tui_browser *b);
size_t cp_tui_browser_first(const struct cp_tui_browser *b);
/* Row i's text (no trailing newline, may be wider than the terminal)
 * written into buf, which is returned; *style (nullable) says how to draw
 * it.  i must be below cp_tui_browser_nrows. */
const char *cp_tui_browser_row(struct cp_tui_browser *b, size_t i, char *buf, size_t size,
			       enum cp_tui_style *style);
/* The function (display name) of row i on the top, tree and peek screens,
 * "" on rows that are no function and on the other screens.  Borrowed,
 * valid until the next key. */
const char *cp_tui_browser_row_name(const struct cp_tui_browser *b, size_t i);
/* Header line i (0..CP_TUI_HEADER_LINES-1) into buf: the input and the
 * recorded command; duration, samples, lost samples, sampler and event;
 * the screen's title with its sort order / root, and the active filters. */
#define CP_TUI_HEADER_LINES 3
const char *cp_tui_browser_header(struct cp_tui_browser *b, int i, char *buf, size_t size);
/* The column titles of the current screen ("" when it has none). */
const char *cp_tui_browser_columns(const struct cp_tui_browser *b);
/* The status line: the search prompt while typing one ("/text"), else the
 * last message ("no match for 'x'", an annotate error), else "" (the
 * drawing code then shows key hints, cp_tui_browser_hints). */
const char *cp_tui_browser_status(const struct cp_tui_browser *b);
const char *cp_tui_browser_hints(const struct cp_tui_browser *b);
/* Whether a search text is being typed (the status line holds it). */
bool cp_tui_browser_searching(const struct cp_tui_browser *b);

#endif
