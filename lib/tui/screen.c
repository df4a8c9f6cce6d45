/* screen.c - the report browser on a terminal: ncursesw setup and
 * teardown, drawing the browser model's rows (browser.c, rows.c) and
 * feeding it keys.  It decides nothing about what a key does or what a
 * row says; it only draws, maps curses keys to the model's, handles
 * resizes, a terminal too small to draw on, colours (or their absence)
 * and the signals that must restore the terminal before cprof exits.
 */
#include "tui/tui.h"

#include <curses.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#define MIN_COLS 80
#define MIN_LINES 24
#define FIXED_LINES (CP_TUI_HEADER_LINES + 2) /* header, column titles, status */

enum { PAIR_TITLE = 1, PAIR_HOT, PAIR_DIM, PAIR_CURRENT, PAIR_CURSOR, PAIR_STATUS };

struct term {
	bool color;
	attr_t title, hot, dim, current, cursor, status;
};

/* The only process-wide state: which signal asked us to leave. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void setup_colors(struct term *t, bool want)
{
	t->color = want && has_colors();
	if (!t->color) {
		t->title = A_BOLD | A_UNDERLINE;
		t->hot = A_BOLD;
		t->dim = A_DIM;
		t->current = A_BOLD;
		t->cursor = A_REVERSE;
		t->status = A_BOLD;
		return;
	}
	start_color();
	use_default_colors();
	init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_HOT, COLOR_RED, -1);
	init_pair(PAIR_DIM, COLOR_BLUE, -1);
	init_pair(PAIR_CURRENT, COLOR_GREEN, -1);
	init_pair(PAIR_CURSOR, COLOR_BLACK, COLOR_GREEN);
	init_pair(PAIR_STATUS, COLOR_YELLOW, -1);
	t->title = COLOR_PAIR(PAIR_TITLE);
	t->hot = COLOR_PAIR(PAIR_HOT) | A_BOLD;
	t->dim = COLOR_PAIR(PAIR_DIM);
	t->current = COLOR_PAIR(PAIR_CURRENT) | A_BOLD;
	t->cursor = COLOR_PAIR(PAIR_CURSOR);
	t->status = COLOR_PAIR(PAIR_STATUS) | A_BOLD;
}

/* Draw UTF-8 text at row y, cut at the window's width in display cells
 * (invalid bytes show as '?'); fill pads the row with blanks, so a
 * highlighted row spans the window. */
static void draw_text(int y, const char *s, attr_t attr, bool fill)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	int col = 0;
	size_t left = strlen(s);
	move(y, 0);
	attrset(attr);
	while (left) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, s, left, &st);
		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&st, 0, sizeof(st));
			wc = L'?';
			r = 1;
		}
		int w = wcwidth(wc);
		if (w < 0) {
			wc = L'?';
			w = 1;
		}
		if (col + w > COLS)
			break;
		addnwstr(&wc, 1);
		col += w;
		s += r;
		left -= r;
	}
	for (; fill && col < COLS; col++)
		addch(' ');
	attrset(A_NORMAL);
}

static void draw_too_small(void)
{
	char msg[160];
	snprintf(msg, sizeof(msg),
		 "terminal too small: %dx%d, cprof report needs %dx%d; enlarge it or use --stdio "
		 "(q quits)",
		 COLS, LINES, MIN_COLS, MIN_LINES);
	erase();
	/* word-wrap to the width */
	int y = 0;
	const char *p = msg;
	while (*p && y < LINES) {
		int n = (int)strlen(p);
		if (n > COLS) {
			n = COLS;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = COLS;
		}
		mvaddnstr(y++, 0, p, n);
		p += n;
		while (*p == ' ')
			p++;
	}
	refresh();
}

static attr_t row_attr(const struct term *t, enum cp_tui_style st)
{
	switch (st) {
	case CP_TUI_STYLE_DIM:
		return t->dim;
	case CP_TUI_STYLE_HOT:
		return t->hot;
	case CP_TUI_STYLE_CURRENT:
		return t->current;
	case CP_TUI_STYLE_NORMAL:
		break;
	}
	return A_NORMAL;
}

static void draw(struct cp_tui_browser *b, const struct term *t)
{
	char buf[2048];
	int height = LINES - FIXED_LINES;
	cp_tui_browser_set_height(b, height);
	erase();
	for (int i = 0; i < CP_TUI_HEADER_LINES; i++)
		draw_text(i, cp_tui_browser_header(b, i, buf, sizeof(buf)),
			  i == 2 ? A_BOLD : A_NORMAL, false);
	draw_text(CP_TUI_HEADER_LINES, cp_tui_browser_columns(b), t->title, true);
	size_t first = cp_tui_browser_first(b), cur = cp_tui_browser_cursor(b);
	size_t n = cp_tui_browser_nrows(b);
	for (int y = 0; y < height && first + (size_t)y < n; y++) {
		size_t i = first + (size_t)y;
		enum cp_tui_style st;
		const char *text = cp_tui_browser_row(b, i, buf, sizeof(buf), &st);
		draw_text(CP_TUI_HEADER_LINES + 1 + y, text, i == cur ? t->cursor : row_attr(t, st),
			  i == cur);
	}
	const char *status = cp_tui_browser_status(b);
	if (status[0])
		draw_text(LINES - 1, status, t->status, false);
	else
		draw_text(LINES - 1, cp_tui_browser_hints(b), t->dim, false);
	if (cp_tui_browser_searching(b)) {
		curs_set(1);
		move(LINES - 1, CP_MIN((int)strlen(status), COLS - 1));
	} else {
		curs_set(0);
	}
	refresh();
}

/* A curses key as the model's key; -1 for keys it does not know. */
static int map_key(int r, wint_t wch, unsigned char *utf8, int *nutf8)
{
	*nutf8 = 0;
	if (r == KEY_CODE_YES) {
		switch (wch) {
		case KEY_UP:
			return CP_TUI_KEY_UP;
		case KEY_DOWN:
			return CP_TUI_KEY_DOWN;
		case KEY_LEFT:
			return CP_TUI_KEY_LEFT;
		case KEY_RIGHT:
			return CP_TUI_KEY_RIGHT;
		case KEY_PPAGE:
			return CP_TUI_KEY_PGUP;
		case KEY_NPAGE:
			return CP_TUI_KEY_PGDN;
		case KEY_HOME:
			return CP_TUI_KEY_HOME;
		case KEY_END:
			return CP_TUI_KEY_END;
		case KEY_BTAB:
			return CP_TUI_KEY_BTAB;
		case KEY_ENTER:
			return '\n';
		case KEY_BACKSPACE:
			return 127;
		}
		return -1;
	}
	if (wch < 0x80)
		return wch == '\r' ? '\n' : wch == 8 ? 127 : (int)wch;
	/* a non-ASCII character: its UTF-8 bytes, one key each (search text) */
	char mb[MB_LEN_MAX];
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	size_t len = wcrtomb(mb, (wchar_t)wch, &st);
	if (len == (size_t)-1)
		return -1;
	memcpy(utf8, mb, len);
	*nutf8 = (int)len;
	return -1;
}

/* Read keys and draw until the user quits or a signal arrives. */
static void loop(struct cp_tui_browser *b, const struct term *t)
{
	bool dirty = true;
	while (!got_signal) {
		bool small = COLS < MIN_COLS || LINES < MIN_LINES;
		if (dirty)
			small ? draw_too_small() : draw(b, t);
		dirty = false;
		wint_t wch;
		int r = get_wch(&wch);
		if (r == ERR)
			continue;
		dirty = true;
		if (r == KEY_CODE_YES && wch == KEY_RESIZE)
			continue;
		unsigned char utf8[MB_LEN_MAX];
		int nutf8, key = map_key(r, wch, utf8, &nutf8);
		if (small) {
			if (key == 'q')
				return;
			continue;
		}
		for (int i = 0; i < nutf8; i++)
			cp_tui_browser_key(b, utf8[i]);
		if (key >= 0 && cp_tui_browser_key(b, key))
			return;
	}
}

int cp_tui_run(const struct cp_profile *p, const struct cp_view_opts *vo,
	       const struct cp_tui_opts *o, struct cp_error *err)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return cp_error_set(err, CP_E_USAGE,
				    "the browser needs a terminal on stdin and stdout");
	struct cp_tui_browser *b = cp_tui_browser_new(p, vo, o ? o->input : NULL, err);
	if (!b)
		return err && err->code ? err->code : CP_E_FAIL;
	int rc = 0;
	if (o && o->annotate && (rc = cp_tui_browser_annotate(b, o->annotate, NULL, err)) < 0) {
		cp_tui_browser_free(b);
		return rc;
	}
	setlocale(LC_ALL, "");
	/* ours before newterm, so ncurses leaves them alone; no SA_RESTART, so
	 * a signal ends the wait for a key at once */
	struct sigaction sa = { .sa_handler = on_signal }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	got_signal = 0;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		const char *term = getenv("TERM");
		rc = cp_error_set(err, CP_E_UNSUPPORTED, "cannot use the terminal '%s'",
				  term ? term : "");
	} else {
		struct term t;
		set_escdelay(25);
		cbreak();
		noecho();
		nonl();
		keypad(stdscr, TRUE);
		timeout(250);
		setup_colors(&t, !o || o->color);
		loop(b, &t);
		endwin();
		delscreen(scr);
		rc = got_signal;
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	cp_tui_browser_free(b);
	return rc;
}
