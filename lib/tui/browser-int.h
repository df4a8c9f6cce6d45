/* browser-int.h - private state of the report browser model, shared by
 * browser.c (keys, cursor, search, aggregation) and rows.c (what each
 * screen's rows, header and hints say).  Not for use outside lib/tui. */
#ifndef CPROF_TUI_BROWSER_INT_H
#define CPROF_TUI_BROWSER_INT_H

#include "tui/tui.h"
#include "format/format.h"

/* One call tree with its expansion state. */
struct tree_state {
	struct cp_view_tree *t;
	bool *open;           /* per node */
	CP_VEC(uint32_t) vis; /* visible node indices, in order */
	uint32_t root;        /* percentages relative to this node; CP_NONE: the whole */
};

enum sort_mode { SORT_SELF, SORT_TOTAL, SORT_NAME, NSORT };
enum pick_kind { PICK_THREAD, PICK_PROCESS, PICK_MODULE };

/* A picker entry; entry 0 of every picker is "all". */
struct pick {
	uint32_t id;       /* tid or pid */
	const char *label; /* comm (interned in the profile) or module (owned by the view) */
	uint64_t samples;
};

/* Rows of the peek screen. */
enum peek_kind {
	PR_HEAD_CALLERS,
	PR_CALLER,
	PR_ROOT,
	PR_FUNCTION,
	PR_HEAD_CALLEES,
	PR_CALLEE,
	PR_SELF
};
struct peek_row {
	enum peek_kind kind;
	size_t idx; /* into callers / callees */
};

struct screen {
	enum cp_tui_screen kind;
	size_t cur, first;
};

#define MAX_SCREENS 8

struct cp_tui_browser {
	const struct cp_profile *p;
	struct cp_view_opts base; /* as given; filter arrays borrowed */
	const char *input;
	struct cp_view_stats st;
	char base_filter[256]; /* cp_format_filter_desc of base */

	/* the browser's own filters */
	bool has_tid, has_pid;
	uint32_t tid, pid;
	const char *tid_comm, *pid_comm; /* interned in the profile */
	char *module;                    /* NULL: every module */

	/* aggregated once per filter */
	struct cp_view *v;
	struct cp_view_top *top;
	CP_VEC(size_t) order; /* top rows shown, in the sort order */
	enum sort_mode sort;
	struct tree_state tree[2]; /* [0] callers above callees, [1] inverted (built on demand) */
	bool inverted;
	struct cp_view_peek *pk;
	CP_VEC(struct peek_row) prows;
	struct cp_annotate *an;
	size_t hot_pos;
	enum pick_kind pkind;
	CP_VEC(struct pick) picks;

	struct screen stack[MAX_SCREENS];
	int depth; /* screens on the stack, >= 1 */
	int height;
	char status[600];
	bool searching;
	char query[128], last[128];
};

static inline struct screen *cur_screen(struct cp_tui_browser *b)
{
	return &b->stack[b->depth - 1];
}

static inline struct tree_state *cur_tree(struct cp_tui_browser *b)
{
	return &b->tree[b->inverted];
}

/* rows.c */
size_t rows_count(const struct cp_tui_browser *b, enum cp_tui_screen s);
void rows_build_peek(struct cp_tui_browser *b);
void rows_build_picker(struct cp_tui_browser *b, enum pick_kind k);
const char *rows_help(size_t i, enum cp_tui_style *style);
size_t rows_help_count(void);
/* Display width of UTF-8 text (wide characters count 2, combining marks 0). */
size_t rows_text_width(const char *s);

#endif
