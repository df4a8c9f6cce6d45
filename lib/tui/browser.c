/* browser.c - the report browser's model: the screen stack, cursors,
 * expansion of the call tree, sorting, search, filters and what each key
 * does.  It aggregates the profile once per filter (cp_view_top and
 * cp_view_tree without a percent limit) and answers every other key from
 * those tables.  It draws nothing: screen.c shows its rows with curses,
 * and the unit tests drive it with keys.  What the rows say is in rows.c.
 */
#include "tui/tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/browser-int.h"

/* ---- aggregation ------------------------------------------------------------ */

static void tree_release(struct tree_state *ts)
{
	cp_view_tree_free(ts->t);
	free(ts->open);
	CP_VEC_FREE(ts->vis);
	memset(ts, 0, sizeof(*ts));
	ts->root = CP_NONE;
}

static bool has_children(const struct cp_view_tree *t, uint32_t i)
{
	return i + 1 < t->n && t->nodes[i + 1].parent == i;
}

/* Recompute the visible nodes: pre-order, skipping closed subtrees. */
static void tree_layout(struct tree_state *ts)
{
	const struct cp_view_tree *t = ts->t;
	ts->vis.n = 0;
	for (size_t i = 0; i < t->n;) {
		CP_VEC_PUSH(ts->vis, (uint32_t)i);
		uint32_t d = t->nodes[i].depth;
		i++;
		if (!ts->open[i - 1])
			while (i < t->n && t->nodes[i].depth > d)
				i++;
	}
}

/* Open the hottest path: from the heaviest root down its heaviest
 * children while they hold at least half of everything. */
static void tree_open_hot(struct tree_state *ts)
{
	const struct cp_view_tree *t = ts->t;
	for (uint32_t i = 0; i < t->n && has_children(t, i);) {
		ts->open[i] = true;
		if (t->nodes[i + 1].total * 2 < t->total)
			break;
		i++;
	}
}

static void tree_init(struct tree_state *ts, struct cp_view_tree *t)
{
	ts->t = t;
	ts->open = cp_xcalloc(t->n ? t->n : 1, sizeof(bool));
	ts->root = CP_NONE;
	tree_open_hot(ts);
	tree_layout(ts);
}

static void drop_aggregates(struct cp_tui_browser *b)
{
	cp_annotate_free(b->an);
	b->an = NULL;
	cp_view_peek_free(b->pk);
	b->pk = NULL;
	b->prows.n = 0;
	tree_release(&b->tree[0]);
	tree_release(&b->tree[1]);
	cp_view_top_free(b->top);
	b->top = NULL;
	cp_view_free(b->v);
	b->v = NULL;
}

struct sort_ctx {
	const struct cp_view_row *rows;
	enum sort_mode sort;
};

static int row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *ctx = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct cp_view_row *a = &ctx->rows[ia], *b = &ctx->rows[ib];
	int c = 0;
	/* ties keep cp_view_top's order: self, total, function, module */
	if (ctx->sort == SORT_TOTAL && a->total != b->total)
		return a->total > b->total ? -1 : 1;
	if (ctx->sort == SORT_NAME &&
	    ((c = strcmp(a->name, b->name)) || (c = strcmp(a->module, b->module))))
		return c;
	return ia < ib ? -1 : ia > ib;
}

/* The top rows shown: those of the module filter, in the sort order. */
static void build_order(struct cp_tui_browser *b)
{
	b->order.n = 0;
	for (size_t i = 0; i < b->top->nrows; i++)
		if (!b->module || !strcmp(b->top->rows[i].module, b->module))
			CP_VEC_PUSH(b->order, i);
	struct sort_ctx ctx = { b->top->rows, b->sort };
	if (b->order.n)
		qsort_r(b->order.v, b->order.n, sizeof(size_t), row_cmp, &ctx);
}

static int aggregate(struct cp_tui_browser *b, struct cp_error *err)
{
	struct cp_view_opts vo = b->base;
	vo.nkeys = 0;
	if (b->has_tid) {
		vo.filter.tids = &b->tid;
		vo.filter.ntids = 1;
	}
	if (b->has_pid) {
		vo.filter.pids = &b->pid;
		vo.filter.npids = 1;
	}
	b->v = cp_view_new(b->p, &vo, err);
	if (!b->v)
		return err && err->code ? err->code : CP_E_FAIL;
	b->top = cp_view_top(b->v, 0);
	tree_init(&b->tree[0], cp_view_tree(b->v, false, 0));
	b->inverted = false;
	build_order(b);
	return 0;
}

struct cp_tui_browser *cp_tui_browser_new(const struct cp_profile *p, const struct cp_view_opts *vo,
					  const char *input, struct cp_error *err)
{
	struct cp_tui_browser *b = cp_xcalloc(1, sizeof(*b));
	b->p = p;
	if (vo)
		b->base = *vo;
	else
		b->base.value_index = CP_NONE;
	b->input = input ? input : "cprof.data";
	b->tree[0].root = b->tree[1].root = CP_NONE;
	cp_view_stats(p, &b->st);
	cp_format_filter_desc(&b->base.filter, b->base_filter, sizeof(b->base_filter));
	b->stack[0].kind = CP_TUI_TOP;
	b->depth = 1;
	b->height = 20;
	if (aggregate(b, err) < 0) {
		cp_tui_browser_free(b);
		return NULL;
	}
	return b;
}

void cp_tui_browser_free(struct cp_tui_browser *b)
{
	if (!b)
		return;
	drop_aggregates(b);
	CP_VEC_FREE(b->order);
	CP_VEC_FREE(b->prows);
	CP_VEC_FREE(b->picks);
	free(b->module);
	free(b);
}

/* ---- cursor and screens --------------------------------------------------------- */

static void set_cursor(struct cp_tui_browser *b, size_t pos)
{
	struct screen *s = cur_screen(b);
	size_t n = rows_count(b, s->kind);
	size_t h = (size_t)b->height;
	s->cur = n == 0 ? 0 : CP_MIN(pos, n - 1);
	if (s->cur < s->first)
		s->first = s->cur;
	else if (s->cur >= s->first + h)
		s->first = s->cur - h + 1;
	if (n <= h)
		s->first = 0;
	else if (s->first > n - h)
		s->first = n - h;
}

static void push(struct cp_tui_browser *b, enum cp_tui_screen kind)
{
	if (cur_screen(b)->kind != kind && b->depth < MAX_SCREENS)
		b->depth++;
	struct screen *s = cur_screen(b);
	s->kind = kind;
	s->cur = s->first = 0;
}

/* q / Esc: back one screen; true when leaving the top table. */
static bool pop(struct cp_tui_browser *b)
{
	if (b->depth == 1)
		return true;
	b->depth--;
	set_cursor(b, cur_screen(b)->cur);
	return false;
}

static bool nav_key(struct cp_tui_browser *b, int key)
{
	struct screen *s = cur_screen(b);
	size_t h = (size_t)b->height, n = rows_count(b, s->kind);
	switch (key) {
	case CP_TUI_KEY_UP:
	case 'k':
		set_cursor(b, s->cur ? s->cur - 1 : 0);
		return true;
	case CP_TUI_KEY_DOWN:
	case 'j':
		set_cursor(b, s->cur + 1);
		return true;
	case CP_TUI_KEY_PGUP:
		s->first = s->first > h ? s->first - h : 0;
		set_cursor(b, s->cur > h ? s->cur - h : 0);
		return true;
	case CP_TUI_KEY_PGDN:
		s->first += h;
		set_cursor(b, s->cur + h);
		return true;
	case CP_TUI_KEY_HOME:
	case 'g':
		set_cursor(b, 0);
		return true;
	case CP_TUI_KEY_END:
	case 'G':
		set_cursor(b, n ? n - 1 : 0);
		return true;
	}
	return false;
}

void cp_tui_browser_set_height(struct cp_tui_browser *b, int rows)
{
	b->height = rows < 1 ? 1 : rows;
	for (int i = 0; i < b->depth; i++) {
		struct screen *s = &b->stack[i];
		if (s->cur >= s->first + (size_t)b->height)
			s->first = s->cur - (size_t)b->height + 1;
	}
}

/* ---- the call tree ------------------------------------------------------------- */

static size_t tree_pos_of(const struct tree_state *ts, uint32_t node)
{
	for (size_t i = 0; i < ts->vis.n; i++)
		if (ts->vis.v[i] == node)
			return i;
	return 0;
}

static uint32_t tree_cur_node(struct cp_tui_browser *b)
{
	struct tree_state *ts = cur_tree(b);
	size_t cur = 0;
	for (int i = b->depth - 1; i >= 0; i--)
		if (b->stack[i].kind == CP_TUI_TREE) {
			cur = b->stack[i].cur;
			break;
		}
	return cur < ts->vis.n ? ts->vis.v[cur] : CP_NONE;
}

/* Open node's ancestors, lay out again and put the cursor on it. */
static void tree_reveal(struct cp_tui_browser *b, uint32_t node)
{
	struct tree_state *ts = cur_tree(b);
	for (uint32_t a = ts->t->nodes[node].parent; a != CP_NONE; a = ts->t->nodes[a].parent)
		ts->open[a] = true;
	tree_layout(ts);
	set_cursor(b, tree_pos_of(ts, node));
}

/* The heaviest node of function (name, module) in the current tree. */
static uint32_t tree_find(const struct tree_state *ts, const char *name, const char *module)
{
	uint32_t best = CP_NONE;
	for (uint32_t i = 0; i < ts->t->n; i++) {
		const struct cp_view_node *nd = &ts->t->nodes[i];
		if (strcmp(nd->name, name) || (module && strcmp(nd->module, module)))
			continue;
		if (best == CP_NONE || nd->total > ts->t->nodes[best].total)
			best = i;
	}
	return best;
}

static void tree_focus(struct cp_tui_browser *b, const char *name, const char *module)
{
	struct tree_state *ts = cur_tree(b);
	uint32_t node = name ? tree_find(ts, name, module) : CP_NONE;
	if (node != CP_NONE)
		tree_reveal(b, node);
	else
		set_cursor(b, 0);
}

static void tree_set_open(struct cp_tui_browser *b, uint32_t node, bool open)
{
	struct tree_state *ts = cur_tree(b);
	ts->open[node] = open;
	tree_layout(ts);
	set_cursor(b, tree_pos_of(ts, node));
}

static void tree_all(struct cp_tui_browser *b, bool open)
{
	struct tree_state *ts = cur_tree(b);
	uint32_t node = tree_cur_node(b);
	for (size_t i = 0; i < ts->t->n; i++)
		ts->open[i] = open;
	tree_layout(ts);
	if (node != CP_NONE && !open)
		while (ts->t->nodes[node].parent != CP_NONE)
			node = ts->t->nodes[node].parent;
	set_cursor(b, node == CP_NONE ? 0 : tree_pos_of(ts, node));
}

static void tree_invert(struct cp_tui_browser *b)
{
	uint32_t node = tree_cur_node(b);
	const char *name = NULL, *module = NULL;
	if (node != CP_NONE) {
		name = cur_tree(b)->t->nodes[node].name;
		module = cur_tree(b)->t->nodes[node].module;
	}
	b->inverted = !b->inverted;
	if (!b->tree[b->inverted].t)
		tree_init(&b->tree[b->inverted], cp_view_tree(b->v, b->inverted, 0));
	tree_focus(b, name, module);
}

static bool tree_key(struct cp_tui_browser *b, int key)
{
	struct tree_state *ts = cur_tree(b);
	uint32_t node = tree_cur_node(b);
	bool kids = node != CP_NONE && has_children(ts->t, node);
	switch (key) {
	case '\n':
	case '\r':
		if (kids)
			tree_set_open(b, node, !ts->open[node]);
		return true;
	case CP_TUI_KEY_RIGHT:
		if (kids && !ts->open[node])
			tree_set_open(b, node, true);
		else if (kids)
			set_cursor(b, cur_screen(b)->cur + 1);
		return true;
	case CP_TUI_KEY_LEFT:
		if (kids && ts->open[node])
			tree_set_open(b, node, false);
		else if (node != CP_NONE && ts->t->nodes[node].parent != CP_NONE)
			set_cursor(b, tree_pos_of(ts, ts->t->nodes[node].parent));
		return true;
	case '+':
	case '*':
		tree_all(b, true);
		return true;
	case '-':
		tree_all(b, false);
		return true;
	case 'i':
		tree_invert(b);
		return true;
	case '%':
		ts->root = ts->root == CP_NONE ? node : CP_NONE;
		if (ts->root != CP_NONE)
			snprintf(b->status, sizeof(b->status),
				 "percentages of %s's total (%% again: of all)",
				 ts->t->nodes[node].name);
		return true;
	case 'T':
		b->depth = 1;
		set_cursor(b, cur_screen(b)->cur);
		return true;
	}
	return false;
}

/* ---- peek, annotate, pickers ----------------------------------------------------- */

static void open_peek(struct cp_tui_browser *b, const char *name, const char *module)
{
	uint32_t f = cp_view_find_frame(b->v, name, module);
	if (f == CP_NONE) {
		snprintf(b->status, sizeof(b->status), "no calls of '%s' in this view", name);
		return;
	}
	struct cp_view_peek *pk = cp_view_peek(b->v, f);
	cp_view_peek_free(b->pk);
	b->pk = pk;
	rows_build_peek(b);
	push(b, CP_TUI_PEEK);
	for (size_t i = 0; i < b->prows.n; i++)
		if (b->prows.v[i].kind == PR_FUNCTION)
			set_cursor(b, i);
}

int cp_tui_browser_annotate(struct cp_tui_browser *b, const char *name, const char *module,
			    struct cp_error *err)
{
	struct cp_error e = { 0 };
	struct cp_annotate *an = cp_annotate_new(b->v, name, module, &e);
	if (!an) {
		if (err)
			*err = e;
		return e.code ? e.code : CP_E_FAIL;
	}
	cp_annotate_free(b->an);
	b->an = an;
	b->hot_pos = 0;
	push(b, CP_TUI_ANNOTATE);
	set_cursor(b, an->hottest);
	return 0;
}

static void try_annotate(struct cp_tui_browser *b, const char *name, const char *module)
{
	struct cp_error err = { 0 };
	if (b->an && cur_screen(b)->kind == CP_TUI_ANNOTATE)
		return;
	if (cp_tui_browser_annotate(b, name, module, &err) < 0)
		snprintf(b->status, sizeof(b->status), "%s", err.msg);
}

static void annotate_hot(struct cp_tui_browser *b, int dir)
{
	struct cp_annotate *an = b->an;
	if (!an->nhot) {
		snprintf(b->status, sizeof(b->status), "no samples in this function's code");
		return;
	}
	b->hot_pos = (b->hot_pos + an->nhot + (size_t)(dir > 0 ? 1 : -1)) % an->nhot;
	/* the first Tab from the hottest line goes to the second hot spot */
	set_cursor(b, an->hot[b->hot_pos]);
}

static void open_picker(struct cp_tui_browser *b, enum pick_kind k)
{
	rows_build_picker(b, k);
	push(b, CP_TUI_PICKER);
	size_t sel = 0;
	for (size_t i = 1; i < b->picks.n; i++) {
		const struct pick *pk = &b->picks.v[i];
		if ((k == PICK_THREAD && b->has_tid && pk->id == b->tid) ||
		    (k == PICK_PROCESS && b->has_pid && pk->id == b->pid) ||
		    (k == PICK_MODULE && b->module && !strcmp(pk->label, b->module)))
			sel = i;
	}
	set_cursor(b, sel);
}

/* The options changed (a filter, the value type): aggregate again (only
 * re-order the table when recompute is false), keep the tree's direction,
 * and go back to the top table or the tree (the only screens that survive
 * a new aggregation), cursors at the top.  The options worked before with
 * a narrower filter or another valid value index: a failure to aggregate
 * is a broken invariant. */
static void reaggregate(struct cp_tui_browser *b, bool recompute)
{
	if (!recompute) {
		build_order(b);
	} else {
		bool tree_was_inverted = b->inverted;
		drop_aggregates(b);
		if (aggregate(b, NULL) < 0)
			abort();
		if (tree_was_inverted)
			tree_invert(b);
	}
	while (b->depth > 1 && cur_screen(b)->kind != CP_TUI_TREE)
		b->depth--;
	for (int d = 0; d < b->depth; d++)
		b->stack[d].cur = b->stack[d].first = 0;
}

/* Apply the picker entry under the cursor and aggregate again. */
static void pick(struct cp_tui_browser *b)
{
	size_t i = cur_screen(b)->cur;
	const struct pick *pk = i < b->picks.n ? &b->picks.v[i] : NULL;
	if (!pk)
		return;
	switch (b->pkind) {
	case PICK_THREAD:
		b->has_tid = i > 0;
		b->tid = pk->id;
		b->tid_comm = pk->label;
		break;
	case PICK_PROCESS:
		b->has_pid = i > 0;
		b->pid = pk->id;
		b->pid_comm = pk->label;
		break;
	case PICK_MODULE:
		free(b->module);
		b->module = i > 0 ? cp_xstrdup(pk->label) : NULL;
		break;
	}
	b->depth--;
	reaggregate(b, b->pkind != PICK_MODULE);
	if (cur_screen(b)->kind == CP_TUI_TREE)
		tree_focus(b, NULL, NULL);
}

/* ---- search ------------------------------------------------------------------------ */

static bool row_matches(struct cp_tui_browser *b, size_t i, const char *q)
{
	enum cp_tui_screen k = cur_screen(b)->kind;
	if (k == CP_TUI_TOP || k == CP_TUI_PEEK)
		return strstr(cp_tui_browser_row_name(b, i), q) != NULL;
	char buf[1024];
	return strstr(cp_tui_browser_row(b, i, buf, sizeof(buf), NULL), q) != NULL;
}

/* The tree searches every node, closed subtrees too, and opens the way
 * to the match. */
static bool search_tree(struct cp_tui_browser *b, const char *q, int dir)
{
	const struct cp_view_tree *t = cur_tree(b)->t;
	uint32_t from = tree_cur_node(b);
	if (!t->n)
		return false;
	if (from == CP_NONE)
		from = dir > 0 ? (uint32_t)t->n - 1 : 0;
	for (size_t k = 1; k <= t->n; k++) {
		size_t i = (from + t->n + (dir > 0 ? k : t->n - k)) % t->n;
		if (strstr(t->nodes[i].name, q)) {
			tree_reveal(b, (uint32_t)i);
			return true;
		}
	}
	return false;
}

/* Move to the next (dir 1) or previous (-1) row after the cursor whose
 * function contains q, wrapping around. */
static void search(struct cp_tui_browser *b, const char *q, int dir)
{
	struct screen *s = cur_screen(b);
	bool found = false;
	if (!q[0]) {
		snprintf(b->status, sizeof(b->status), "no search yet: type / and a text");
		return;
	}
	if (s->kind == CP_TUI_TREE) {
		found = search_tree(b, q, dir);
	} else {
		size_t n = rows_count(b, s->kind);
		for (size_t k = 1; k <= n && !found; k++) {
			size_t i = (s->cur + (dir > 0 ? k : n * 2 - k)) % n;
			if (row_matches(b, i, q)) {
				set_cursor(b, i);
				found = true;
			}
		}
	}
	if (!found)
		snprintf(b->status, sizeof(b->status), "no match for '%s'", q);
}

static void search_key(struct cp_tui_browser *b, int key)
{
	size_t n = strlen(b->query);
	if (key == '\n' || key == '\r') {
		b->searching = false;
		if (b->query[0])
			snprintf(b->last, sizeof(b->last), "%s", b->query);
		search(b, b->last, 1);
	} else if (key == 27) {
		b->searching = false;
	} else if (key == 127 || key == 8 || key == 0x107 /* KEY_BACKSPACE */) {
		/* drop a whole UTF-8 character */
		while (n > 0 && ((unsigned char)b->query[--n] & 0xc0) == 0x80)
			;
		b->query[n] = 0;
	} else if (key >= 32 && key < 256 && key != 127 && n + 1 < sizeof(b->query)) {
		b->query[n] = (char)key;
		b->query[n + 1] = 0;
	}
}

/* ---- keys ------------------------------------------------------------------------------ */

/* The function of the row under the cursor (top, tree, peek), or NULL. */
static const char *cur_function(struct cp_tui_browser *b, const char **module)
{
	struct screen *s = cur_screen(b);
	*module = NULL;
	if (s->kind == CP_TUI_TOP && s->cur < b->order.n) {
		const struct cp_view_row *r = &b->top->rows[b->order.v[s->cur]];
		*module = r->module;
		return r->name;
	}
	if (s->kind == CP_TUI_TREE) {
		uint32_t node = tree_cur_node(b);
		if (node == CP_NONE)
			return NULL;
		*module = cur_tree(b)->t->nodes[node].module;
		return cur_tree(b)->t->nodes[node].name;
	}
	if (s->kind == CP_TUI_PEEK && s->cur < b->prows.n) {
		const struct peek_row *r = &b->prows.v[s->cur];
		const struct cp_view_peek_entry *e =
			r->kind == PR_CALLER ? &b->pk->callers[r->idx] :
			r->kind == PR_CALLEE ? &b->pk->callees[r->idx] :
					       NULL;
		*module = e ? e->module : b->pk->module;
		if (e || r->kind == PR_FUNCTION)
			return e ? e->name : b->pk->name;
	}
	return NULL;
}

static bool top_key(struct cp_tui_browser *b, int key)
{
	const char *module, *name = cur_function(b, &module);
	switch (key) {
	case 's':
		b->sort = (b->sort + 1) % NSORT;
		build_order(b);
		set_cursor(b, 0);
		return true;
	case '\n':
	case '\r':
		push(b, CP_TUI_TREE);
		tree_focus(b, name, module);
		return true;
	case 'T':
		push(b, CP_TUI_TREE);
		set_cursor(b, 0);
		return true;
	case '%':
		snprintf(b->status, sizeof(b->status),
			 "%%: percentages of a subtree work in the call tree (T)");
		return true;
	}
	return false;
}

/* v: the next value type ("cpu" after "samples"; a heap profile's
 * alloc_objects ... temp_objects): aggregated again, back to the table or
 * the tree. */
static void next_value(struct cp_tui_browser *b)
{
	size_t n = b->p->value_types.n;
	uint32_t cur = cp_view_options(b->v)->value_index;
	if (n < 2 || cur == CP_NONE) {
		snprintf(b->status, sizeof(b->status), "v: this profile has one value type");
		return;
	}
	b->base.value_index = (cur + 1) % (uint32_t)n;
	reaggregate(b, true);
	snprintf(b->status, sizeof(b->status), "showing %s (v: next)",
		 b->p->value_types.v[b->base.value_index].type);
}

/* Keys that work on the top table, the tree and the peek screen. */
static bool function_key(struct cp_tui_browser *b, int key)
{
	const char *module, *name = cur_function(b, &module);
	enum cp_tui_screen k = cur_screen(b)->kind;
	switch (key) {
	case 'c':
		if (name)
			open_peek(b, name, module);
		return true;
	case 'a':
		if (name)
			try_annotate(b, name, module);
		return true;
	case '\n':
	case '\r':
		if (k == CP_TUI_PEEK && name)
			open_peek(b, name, module);
		return k == CP_TUI_PEEK;
	case 'v':
		if (k == CP_TUI_PEEK)
			return false;
		next_value(b);
		return true;
	case 't':
	case 'p':
	case 'm':
		if (k == CP_TUI_PEEK)
			return false;
		open_picker(b, key == 't' ? PICK_THREAD : key == 'p' ? PICK_PROCESS : PICK_MODULE);
		return true;
	}
	return false;
}

static bool screen_key(struct cp_tui_browser *b, int key)
{
	switch (cur_screen(b)->kind) {
	case CP_TUI_TOP:
		return top_key(b, key) || function_key(b, key);
	case CP_TUI_TREE:
		return tree_key(b, key) || function_key(b, key);
	case CP_TUI_PEEK:
		return function_key(b, key);
	case CP_TUI_ANNOTATE:
		if (key == '\t' || key == CP_TUI_KEY_BTAB) {
			annotate_hot(b, key == '\t' ? 1 : -1);
			return true;
		}
		return false;
	case CP_TUI_PICKER:
		if (key == '\n' || key == '\r') {
			pick(b);
			return true;
		}
		return false;
	case CP_TUI_HELP:
		return false;
	}
	return false;
}

bool cp_tui_browser_key(struct cp_tui_browser *b, int key)
{
	if (b->searching) {
		search_key(b, key);
		if (b->searching)
			snprintf(b->status, sizeof(b->status), "/%s", b->query);
		return false;
	}
	b->status[0] = 0;
	if (nav_key(b, key) || screen_key(b, key))
		return false;
	switch (key) {
	case 'q':
	case 27:
		return pop(b);
	case '?':
	case 'h':
		if (cur_screen(b)->kind != CP_TUI_HELP)
			push(b, CP_TUI_HELP);
		return false;
	case '/':
		b->searching = true;
		b->query[0] = 0;
		snprintf(b->status, sizeof(b->status), "/");
		return false;
	case 'n':
	case 'N':
		search(b, b->last, key == 'n' ? 1 : -1);
		return false;
	}
	if (key >= 32 && key < 127)
		snprintf(b->status, sizeof(b->status),
			 "key '%c' does nothing here: ? lists the keys", key);
	return false;
}

/* ---- accessors ----------------------------------------------------------------------- */

enum cp_tui_screen cp_tui_browser_screen(const struct cp_tui_browser *b)
{
	return b->stack[b->depth - 1].kind;
}

size_t cp_tui_browser_nrows(const struct cp_tui_browser *b)
{
	return rows_count(b, cp_tui_browser_screen(b));
}

size_t cp_tui_browser_cursor(const struct cp_tui_browser *b)
{
	return b->stack[b->depth - 1].cur;
}

size_t cp_tui_browser_first(const struct cp_tui_browser *b)
{
	return b->stack[b->depth - 1].first;
}

bool cp_tui_browser_searching(const struct cp_tui_browser *b)
{
	return b->searching;
}

const char *cp_tui_browser_status(const struct cp_tui_browser *b)
{
	return b->status;
}
