/* rows.c - what the report browser's screens say: the text of each row,
 * the header, the column titles, key hints and the help screen, plus the
 * row lists of the peek screen and the pickers.  Pure text from the
 * aggregated tables (browser.c owns them and the cursor); no curses. */
#include "tui/tui.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/browser-int.h"

#define NAME_WIDTH 34 /* function column of the top table, in display cells (80 columns fit) */

/* ---- text width ------------------------------------------------------------------ */

static int cell_width(int32_t c)
{
	if (c < 0)
		return 1;
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || c == 0xfeff)
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

size_t rows_text_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int32_t c;
		p += cp_utf8_next(p, &c);
		w += (size_t)cell_width(c);
	}
	return w;
}

/* Append s padded with blanks to `width` display cells. */
static void put_padded(char *buf, size_t size, const char *s, size_t width)
{
	size_t len = strlen(buf);
	size_t w = rows_text_width(s);
	snprintf(buf + len, size - len, "%s%*s", s, w < width ? (int)(width - w) : 0, "");
}

static double pct(int64_t part, int64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* ---- peek and picker row lists ---------------------------------------------------- */

static void prow(struct cp_tui_browser *b, enum peek_kind k, size_t idx)
{
	struct peek_row r = { k, idx };
	CP_VEC_PUSH(b->prows, r);
}

void rows_build_peek(struct cp_tui_browser *b)
{
	const struct cp_view_peek *pk = b->pk;
	b->prows.n = 0;
	prow(b, PR_HEAD_CALLERS, 0);
	for (size_t i = 0; i < pk->ncallers; i++)
		prow(b, PR_CALLER, i);
	if (pk->root)
		prow(b, PR_ROOT, 0);
	prow(b, PR_FUNCTION, 0);
	prow(b, PR_HEAD_CALLEES, 0);
	if (pk->self)
		prow(b, PR_SELF, 0);
	for (size_t i = 0; i < pk->ncallees; i++)
		prow(b, PR_CALLEE, i);
}

static int pick_cmp(const void *pa, const void *pb)
{
	const struct pick *a = pa, *b = pb;
	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	if (a->label != b->label) {
		int c = strcmp(a->label, b->label);
		if (c)
			return c;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Threads or processes of the samples that pass the base filter and the
 * browser's other filter (the thread picker lists the chosen process's
 * threads), with their sample counts. */
static void picks_ids(struct cp_tui_browser *b, bool threads)
{
	const struct cp_profile *p = b->p;
	struct cp_u64map idx;
	cp_u64map_init(&idx);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cp_profile_sample *s = &p->samples.v[i];
		if (!cp_view_sample_matches(&b->base.filter, s) ||
		    (threads && b->has_pid && s->pid != b->pid) ||
		    (!threads && b->has_tid && s->tid != b->tid))
			continue;
		uint32_t id = threads ? s->tid : s->pid;
		bool added;
		uint64_t *slot = cp_u64map_upsert(&idx, id, b->picks.n, &added);
		if (added) {
			struct pick pk = { .id = id, .label = s->comm ? s->comm : "" };
			CP_VEC_PUSH(b->picks, pk);
		}
		struct pick *pk = &b->picks.v[*slot];
		pk->samples++;
		/* a process is named after its main thread */
		if (!threads && s->tid == s->pid && s->comm)
			pk->label = s->comm;
	}
	cp_u64map_release(&idx);
}

/* Modules of the top table, with the self samples of their functions. */
static void picks_modules(struct cp_tui_browser *b)
{
	const struct cp_view_top *t = b->top;
	for (size_t i = 0; i < t->nrows; i++) {
		size_t j = 1;
		while (j < b->picks.n && strcmp(b->picks.v[j].label, t->rows[i].module))
			j++;
		if (j == b->picks.n) {
			struct pick pk = { .label = t->rows[i].module };
			CP_VEC_PUSH(b->picks, pk);
		}
		b->picks.v[j].samples += t->rows[i].self_samples;
	}
}

void rows_build_picker(struct cp_tui_browser *b, enum pick_kind k)
{
	struct pick all = { .label = "all" };
	b->picks.n = 0;
	b->pkind = k;
	CP_VEC_PUSH(b->picks, all);
	if (k == PICK_MODULE)
		picks_modules(b);
	else
		picks_ids(b, k == PICK_THREAD);
	uint64_t sum = 0;
	for (size_t i = 1; i < b->picks.n; i++)
		sum += b->picks.v[i].samples;
	b->picks.v[0].samples = sum;
	if (b->picks.n > 2)
		qsort(b->picks.v + 1, b->picks.n - 1, sizeof(struct pick), pick_cmp);
}

/* ---- rows ---------------------------------------------------------------------------- */

size_t rows_count(const struct cp_tui_browser *b, enum cp_tui_screen s)
{
	switch (s) {
	case CP_TUI_TOP:
		return b->order.n;
	case CP_TUI_TREE:
		return b->tree[b->inverted].vis.n;
	case CP_TUI_PEEK:
		return b->prows.n;
	case CP_TUI_ANNOTATE:
		return b->an ? b->an->n : 0;
	case CP_TUI_HELP:
		return rows_help_count();
	case CP_TUI_PICKER:
		return b->picks.n;
	}
	return 0;
}

static const char *top_row(const struct cp_tui_browser *b, size_t i, char *buf, size_t size,
			   enum cp_tui_style *style)
{
	const struct cp_view_top *t = b->top;
	const struct cp_view_row *r = &t->rows[b->order.v[i]];
	double self = pct(r->self, t->total);
	snprintf(buf, size, "%6.2f  %6.2f  %8" PRIu64 "  ", self, pct(r->total, t->total),
		 r->self_samples);
	put_padded(buf, size, r->name, NAME_WIDTH);
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "  %s", r->module);
	*style = self >= 10 ? CP_TUI_STYLE_HOT : CP_TUI_STYLE_NORMAL;
	return buf;
}

static const char *tree_row(const struct cp_tui_browser *b, size_t i, char *buf, size_t size,
			    enum cp_tui_style *style)
{
	const struct tree_state *ts = &b->tree[b->inverted];
	uint32_t n = ts->vis.v[i];
	const struct cp_view_node *nd = &ts->t->nodes[n];
	int64_t whole = ts->root == CP_NONE ? ts->t->total : ts->t->nodes[ts->root].total;
	bool kids = n + 1 < ts->t->n && ts->t->nodes[n + 1].parent == n;
	double total = pct(nd->total, whole);
	snprintf(buf, size, "%6.2f  %6.2f  %*s%s %s%s  %s", total, pct(nd->self, whole),
		 (int)CP_MIN(nd->depth, 60) * 2, "", kids ? (ts->open[n] ? "-" : "+") : " ",
		 nd->name, nd->inlined ? " (inlined)" : "", nd->module);
	*style = pct(nd->self, ts->t->total) >= 10 ? CP_TUI_STYLE_HOT : CP_TUI_STYLE_NORMAL;
	return buf;
}

static const char *peek_row(const struct cp_tui_browser *b, size_t i, char *buf, size_t size,
			    enum cp_tui_style *style)
{
	const struct cp_view_peek *pk = b->pk;
	const struct peek_row *r = &b->prows.v[i];
	const struct cp_view_peek_entry *e = NULL;
	*style = CP_TUI_STYLE_NORMAL;
	switch (r->kind) {
	case PR_HEAD_CALLERS:
	case PR_HEAD_CALLEES:
		*style = CP_TUI_STYLE_DIM;
		snprintf(buf, size, "%s of %s:", r->kind == PR_HEAD_CALLERS ? "callers" : "callees",
			 pk->name);
		return buf;
	case PR_ROOT:
		snprintf(buf, size, "%6.2f%%  %8s    [no caller: the stack starts here]",
			 pct(pk->root, pk->total), "");
		return buf;
	case PR_SELF:
		snprintf(buf, size, "%6.2f%%  %8" PRIu64 "    [self: running its own code]",
			 pct(pk->self, pk->total), pk->self_samples);
		return buf;
	case PR_FUNCTION:
		*style = CP_TUI_STYLE_CURRENT;
		snprintf(buf, size,
			 "%6.2f%%  %8" PRIu64 "  %s  %s  (total %.2f%%, self %.2f%% of all)", 100.0,
			 pk->total_samples, pk->name, pk->module, pct(pk->total, pk->view_total),
			 pct(pk->self, pk->view_total));
		return buf;
	case PR_CALLER:
		e = &pk->callers[r->idx];
		break;
	case PR_CALLEE:
		e = &pk->callees[r->idx];
		break;
	}
	snprintf(buf, size, "%6.2f%%  %8" PRIu64 "    %s  %s", pct(e->weight, pk->total),
		 e->samples, e->name, e->module);
	return buf;
}

static const char *annotate_row(const struct cp_tui_browser *b, size_t i, char *buf, size_t size,
				enum cp_tui_style *style)
{
	const struct cp_annotate *an = b->an;
	const struct cp_annotate_line *l = &an->lines[i];
	if (l->kind == CP_ANNOTATE_SOURCE) {
		*style = CP_TUI_STYLE_DIM;
		snprintf(buf, size, "%7s  %8s  %s:%" PRId64 "%s%s", "", "",
			 l->file[0] ? cp_basename(l->file) : "??", l->line, l->text[0] ? "  " : "",
			 l->text);
		return buf;
	}
	double share = pct(l->weight, an->total);
	char p[16] = "";
	if (l->weight)
		snprintf(p, sizeof(p), "%6.2f", share);
	snprintf(buf, size, "%7s  %8" PRIx64 "  %s%s%s", p, l->address, l->text,
		 l->target[0] ? "  -> " : "", l->target);
	*style = l->weight && share >= 10 ? CP_TUI_STYLE_HOT : CP_TUI_STYLE_NORMAL;
	return buf;
}

static const char *picker_row(const struct cp_tui_browser *b, size_t i, char *buf, size_t size,
			      enum cp_tui_style *style)
{
	const struct pick *pk = &b->picks.v[i];
	double share = pct((int64_t)pk->samples, (int64_t)b->picks.v[0].samples);
	*style = CP_TUI_STYLE_NORMAL;
	if (i == 0) {
		snprintf(buf, size, "all (clear this filter)");
	} else if (b->pkind == PICK_MODULE) {
		snprintf(buf, size, "%6.2f%%  %s", share, pk->label);
	} else {
		snprintf(buf, size, "%7" PRIu32 "  ", pk->id);
		put_padded(buf, size, pk->label[0] ? pk->label : "?", 16);
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "  %6.2f%%", share);
	}
	if ((b->pkind == PICK_THREAD && (i ? b->has_tid && pk->id == b->tid : !b->has_tid)) ||
	    (b->pkind == PICK_PROCESS && (i ? b->has_pid && pk->id == b->pid : !b->has_pid)) ||
	    (b->pkind == PICK_MODULE &&
	     (i ? b->module && !strcmp(b->module, pk->label) : !b->module)))
		*style = CP_TUI_STYLE_CURRENT;
	return buf;
}

const char *cp_tui_browser_row(struct cp_tui_browser *b, size_t i, char *buf, size_t size,
			       enum cp_tui_style *style)
{
	enum cp_tui_style st = CP_TUI_STYLE_NORMAL;
	buf[0] = 0;
	if (i < cp_tui_browser_nrows(b)) {
		switch (cp_tui_browser_screen(b)) {
		case CP_TUI_TOP:
			top_row(b, i, buf, size, &st);
			break;
		case CP_TUI_TREE:
			tree_row(b, i, buf, size, &st);
			break;
		case CP_TUI_PEEK:
			peek_row(b, i, buf, size, &st);
			break;
		case CP_TUI_ANNOTATE:
			annotate_row(b, i, buf, size, &st);
			break;
		case CP_TUI_HELP:
			snprintf(buf, size, "%s", rows_help(i, &st));
			break;
		case CP_TUI_PICKER:
			picker_row(b, i, buf, size, &st);
			break;
		}
	}
	if (style)
		*style = st;
	return buf;
}

const char *cp_tui_browser_row_name(const struct cp_tui_browser *b, size_t i)
{
	enum cp_tui_screen s = cp_tui_browser_screen(b);
	if (i >= cp_tui_browser_nrows(b))
		return "";
	if (s == CP_TUI_TOP)
		return b->top->rows[b->order.v[i]].name;
	if (s == CP_TUI_TREE) {
		const struct tree_state *ts = &b->tree[b->inverted];
		return ts->t->nodes[ts->vis.v[i]].name;
	}
	if (s == CP_TUI_PEEK) {
		const struct peek_row *r = &b->prows.v[i];
		if (r->kind == PR_CALLER)
			return b->pk->callers[r->idx].name;
		if (r->kind == PR_CALLEE)
			return b->pk->callees[r->idx].name;
		if (r->kind == PR_FUNCTION)
			return b->pk->name;
	}
	return "";
}

/* ---- header, columns, hints --------------------------------------------------------- */

static void add(char *buf, size_t size, const char *fmt, ...) CP_PRINTF(3, 4);
static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	if (len < size)
		vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void header_filters(const struct cp_tui_browser *b, char *buf, size_t size)
{
	size_t start = strlen(buf);
	add(buf, size, "  |  filter: ");
	size_t mark = strlen(buf);
	if (b->has_tid)
		add(buf, size, "thread %" PRIu32 " (%s)", b->tid, b->tid_comm);
	if (b->has_pid)
		add(buf, size, "%sprocess %" PRIu32 " (%s)", strlen(buf) > mark ? ", " : "", b->pid,
		    b->pid_comm);
	if (b->module)
		add(buf, size, "%smodule %s", strlen(buf) > mark ? ", " : "", b->module);
	if (b->base_filter[0])
		add(buf, size, "%s%s", strlen(buf) > mark ? ", " : "", b->base_filter);
	if (strlen(buf) == mark)
		buf[start] = 0;
	else
		add(buf, size, " (%" PRIu64 " samples)", cp_view_total_samples(b->v));
}

static void header_title(const struct cp_tui_browser *b, char *buf, size_t size)
{
	static const char *const sorts[NSORT] = { "self", "total", "name" };
	const struct tree_state *ts = &b->tree[b->inverted];
	switch (cp_tui_browser_screen(b)) {
	case CP_TUI_TOP:
		add(buf, size, "Top functions, sorted by %s", sorts[b->sort]);
		break;
	case CP_TUI_TREE:
		add(buf, size, "Call tree%s, %% of %s",
		    b->inverted ? ", inverted (callees above callers)" : " (callers above callees)",
		    ts->root == CP_NONE ? "all" : ts->t->nodes[ts->root].name);
		break;
	case CP_TUI_PEEK:
		add(buf, size, "Callers and callees of %s (%% of its total)", b->pk->name);
		break;
	case CP_TUI_ANNOTATE:
		add(buf, size,
		    "Annotate %s (%s) 0x%" PRIx64 "-0x%" PRIx64 ", %" PRIu64
		    " samples (%.2f%% of all)",
		    b->an->function, b->an->module, b->an->start, b->an->start + b->an->size,
		    b->an->total_samples, pct(b->an->total, b->an->view_total));
		break;
	case CP_TUI_HELP:
		add(buf, size, "Keys");
		break;
	case CP_TUI_PICKER:
		add(buf, size, "Show only one %s (Enter picks, \"all\" clears)",
		    b->pkind == PICK_THREAD  ? "thread" :
		    b->pkind == PICK_PROCESS ? "process" :
					       "module");
		break;
	}
}

const char *cp_tui_browser_header(struct cp_tui_browser *b, int i, char *buf, size_t size)
{
	const struct cp_profile_meta *m = &b->p->meta;
	buf[0] = 0;
	if (i == 0) {
		add(buf, size, "cprof report: %s", b->input);
		if (m->command[0])
			add(buf, size, "  command: %s", m->command);
	} else if (i == 1) {
		add(buf, size, "samples: %" PRIu64 " (lost %" PRIu64 ")", b->st.samples,
		    m->lost_samples);
		if (m->duration_nanos)
			add(buf, size, ", duration: %.2f s", (double)m->duration_nanos / 1e9);
		if (m->sampler[0])
			add(buf, size, ", sampler: %s", m->sampler);
		if (m->event[0])
			add(buf, size, ", event: %s", m->event);
		if (b->p->truncated)
			add(buf, size, ", truncated");
	} else if (i == 2) {
		header_title(b, buf, size);
		uint32_t vi = cp_view_options(b->v)->value_index;
		if (vi != CP_NONE && b->p->value_types.n > 1)
			add(buf, size, "  |  %s", b->p->value_types.v[vi].type);
		header_filters(b, buf, size);
	}
	return buf;
}

const char *cp_tui_browser_columns(const struct cp_tui_browser *b)
{
	switch (cp_tui_browser_screen(b)) {
	case CP_TUI_TOP:
		return " Self%  Total%   Samples  Function                            Module";
	case CP_TUI_TREE:
		return "Total%   Self%  Function  Module";
	case CP_TUI_PEEK:
		return "  Share   Samples    Function  Module";
	case CP_TUI_ANNOTATE:
		return "Percent   Address  Instruction";
	case CP_TUI_PICKER:
		return b->pkind == PICK_MODULE ? "Samples  Module" :
		       b->pkind == PICK_THREAD ? "    Tid  Command           Samples" :
						 "    Pid  Command           Samples";
	case CP_TUI_HELP:
		break;
	}
	return "";
}

const char *cp_tui_browser_hints(const struct cp_tui_browser *b)
{
	/* each fits in 80 columns */
	switch (cp_tui_browser_screen(b)) {
	case CP_TUI_TOP:
		return "Enter tree  c callers  a annotate  s sort  / find  t p m filter  ? help  q quit";
	case CP_TUI_TREE:
		return "Enter open/close  +/- all  i invert  % root  c callers  T table  ? help  q back";
	case CP_TUI_PEEK:
		return "Enter peek at that function  a annotate  / search  ? help  q back";
	case CP_TUI_ANNOTATE:
		return "Tab next hot spot  shift-Tab previous  / search  ? help  q back";
	case CP_TUI_HELP:
		return "q back";
	case CP_TUI_PICKER:
		return "Enter pick  / search  q cancel";
	}
	return "";
}

/* ---- help --------------------------------------------------------------------------- */

static const char *const help[] = {
	"Everywhere",
	"  Up Down j k      move                 PgUp PgDn   a page",
	"  Home g End G     first, last row",
	"  /TEXT Enter      next row whose function contains TEXT (Esc cancels)",
	"  n N              next, previous match",
	"  ? h              this help",
	"  q Esc            back one screen; quit on the top functions",
	"Top functions",
	"  s                sort by self, total, name (cycles)",
	"  Enter            call tree, at the heaviest call of the function",
	"  T                call tree (T again: back to the table)",
	"  c                callers and callees of the function",
	"  a                annotate the function's instructions",
	"  t p m            show one thread, process or module (\"all\" clears)",
	"  v                the next value type (cpu, samples; a heap profile's",
	"                   alloc_space, inuse_space, peak_space...)",
	"Call tree",
	"  Enter            open or close the node",
	"  Right Left       open; close or go to the caller",
	"  + * -            open all, close all",
	"  i                callers above callees <-> inverted (callees above callers)",
	"  %                percentages of the selected node <-> of all",
	"  c a t p m v T    as on the top functions",
	"Callers and callees",
	"  Enter            callers and callees of the function under the cursor",
	"  a                annotate it",
	"Annotate",
	"  Tab shift-Tab    next, previous hot spot (heaviest first)",
	"Pickers",
	"  Enter            show only the entry (the first, \"all\", clears the filter)",
};

size_t rows_help_count(void)
{
	return CP_ARRAY_SIZE(help);
}

const char *rows_help(size_t i, enum cp_tui_style *style)
{
	*style = help[i][0] == ' ' ? CP_TUI_STYLE_NORMAL : CP_TUI_STYLE_DIM;
	return help[i];
}
