/* massif.c - heap profiles in the text format of valgrind's massif, which
 * ms_print and massif-visualizer read: the heap over time as a series of
 * snapshots, with two detailed ones, at the heap peak and at the end (what
 * was never freed), each a tree of allocation sites and their callers.
 *
 * The samples come from the profile (filtered as the view filters them):
 * the series needs them in time order, which views do not keep; the trees'
 * frames are the view's (inline frames included, unless the view drops
 * them).  Both readers are strict (massif-visualizer rejects a blank line,
 * ms_print a node bigger than its snapshot), so every number written
 * follows from the ones before it: a detailed snapshot's size is its
 * tree's root, and each node is the sum of what went into it.
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLAIN 98 /* plain snapshots; with the peak and the end, massif's 100 */
#define MAX_DEPTH 64 /* tree levels below the root */
#define MAX_LABEL 1000
#define ROOT_LABEL "(heap allocation functions) malloc/new/new[], --alloc-fns, etc."

/* ---- what a heap profile is ---------------------------------------------- */

int cp_format_heap_check(const struct cp_profile *p, struct cp_error *err)
{
	static const char *const need[] = {
		"peak_space",    "peak_objects", "inuse_space",
		"inuse_objects", "alloc_space",  "alloc_objects",
	};
	for (size_t i = 0; i < CP_ARRAY_SIZE(need); i++) {
		if (cp_profile_value_index(p, need[i]) != CP_NONE)
			continue;
		struct cp_buf b = { 0 };
		for (size_t j = 0; j < p->value_types.n; j++) {
			if (j)
				cp_buf_add(&b, ", ", 2);
			cp_buf_add(&b, p->value_types.v[j].type, strlen(p->value_types.v[j].type));
		}
		cp_buf_add_u8(&b, 0);
		int rc = cp_error_set(err, CP_E_USAGE,
				      "not a heap profile: it has no %s sample type (it has: %s)",
				      need[i], p->value_types.n ? (const char *)b.p : "none");
		cp_buf_release(&b);
		return rc;
	}
	return 0;
}

/* ---- allocation functions -------------------------------------------------- */

/* ' '-separated, with one at each end */
#define ALLOC_NAMES                                                                                \
	" malloc calloc realloc reallocarray free cfree memalign posix_memalign aligned_alloc "    \
	"valloc pvalloc malloc_usable_size __libc_malloc __libc_calloc __libc_realloc "            \
	"__libc_free __libc_memalign __libc_valloc __libc_pvalloc __posix_memalign "               \
	"__builtin_new __builtin_vec_new __builtin_delete __builtin_vec_delete "

/* Frames that are the allocator itself, not a place that allocates: the
 * standard allocation functions, C++'s operators, glibc's internal names
 * for them, and anything in cprof's interposer. */
static bool alloc_frame(const struct cp_profile *p, const struct cp_view_frame *f)
{
	if (!strncmp(f->module, "libcprof-heap", 13))
		return true;
	static const char names[] = ALLOC_NAMES;
	size_t len = strlen(f->name);
	for (const char *s = strstr(names, f->name); len && s; s = strstr(s + 1, f->name))
		if (s > names && s[-1] == ' ' && s[len] == ' ')
			return true;
	if (!strncmp(f->name, "operator new", 12) || !strncmp(f->name, "operator delete", 15))
		return true;
	if (f->function != CP_NONE && f->function < p->functions.n) {
		/* mangled, when nothing demangled it: _Znwm, _Znam, _ZdlPv, _ZdaPv */
		const char *sys = p->functions.v[f->function].system_name;
		if (sys && (!strncmp(sys, "_Znw", 4) || !strncmp(sys, "_Zna", 4) ||
			    !strncmp(sys, "_Zdl", 4) || !strncmp(sys, "_Zda", 4)))
			return true;
	}
	return false;
}

/* ---- trees ----------------------------------------------------------------- */

struct node {
	uint32_t frame; /* view frame id (the root: CP_NONE) */
	uint32_t loc;   /* location of the first occurrence merged here */
	int64_t line;
	int64_t bytes;
	uint32_t parent;
	uint32_t first, nchildren; /* children: order[first .. first + nchildren) */
};

struct node_key {
	uint32_t parent, frame;
	int64_t line;
};

struct tree {
	struct cp_view *v;
	CP_VEC(struct node) nodes;
	struct cp_intern index; /* node_key -> node id - 1 (the root is 0) */
	uint32_t *order;        /* node ids grouped by parent, biggest first */
};

static uint32_t child_of(struct tree *t, uint32_t parent, const struct cp_view_stack_frame *sf)
{
	struct node_key k;
	memset(&k, 0, sizeof(k));
	k.parent = parent;
	k.frame = sf->frame;
	k.line = sf->line;
	bool added;
	uint32_t id = cp_intern_add(&t->index, &k, sizeof(k), &added) + 1;
	if (added) {
		struct node n = {
			.frame = sf->frame,
			.loc = sf->loc,
			.line = sf->line,
			.parent = parent,
		};
		CP_VEC_PUSH(t->nodes, n);
	}
	return id;
}

/* Add a stack's bytes: from its allocation site out to its root. */
static void tree_add(struct tree *t, const struct cp_profile *p, uint32_t stack, int64_t bytes)
{
	uint32_t n;
	const struct cp_view_stack_frame *fr = cp_view_stack_frames(t->v, stack, &n);
	t->nodes.v[0].bytes += bytes;
	if (!n)
		return;
	uint32_t k = 0;
	while (k < n && alloc_frame(p, cp_view_frame(t->v, fr[k].frame)))
		k++;
	if (k == n) /* nothing but the allocator: keep its outermost frame */
		k = n - 1;
	uint32_t at = 0;
	for (uint32_t d = 0; k < n && d < MAX_DEPTH; k++, d++) {
		at = child_of(t, at, &fr[k]);
		t->nodes.v[at].bytes += bytes;
	}
}

static int order_cmp(const void *pa, const void *pb, void *arg)
{
	const struct tree *t = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	const struct node *a = &t->nodes.v[ia], *b = &t->nodes.v[ib];
	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	int c = strcmp(cp_view_frame(t->v, a->frame)->name, cp_view_frame(t->v, b->frame)->name);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static void tree_finish(struct tree *t)
{
	size_t n = t->nodes.n;
	t->order = cp_xmalloc(n * sizeof(*t->order));
	size_t m = 0;
	for (size_t i = 1; i < n; i++)
		t->order[m++] = (uint32_t)i;
	if (m)
		qsort_r(t->order, m, sizeof(*t->order), order_cmp, t);
	for (size_t i = 0; i < m; i++) {
		struct node *parent = &t->nodes.v[t->nodes.v[t->order[i]].parent];
		if (!parent->nchildren++)
			parent->first = (uint32_t)i;
	}
}

static void tree_init(struct tree *t, struct cp_view *v)
{
	memset(t, 0, sizeof(*t));
	t->v = v;
	cp_intern_init(&t->index);
	struct node root = { .frame = CP_NONE, .loc = CP_NONE, .parent = CP_NONE };
	CP_VEC_PUSH(t->nodes, root);
}

static void tree_release(struct tree *t)
{
	CP_VEC_FREE(t->nodes);
	cp_intern_release(&t->index);
	free(t->order);
	t->order = NULL;
}

/* massif's threshold: 1% of the snapshot (everything counts in an empty one) */
static bool significant(int64_t bytes, int64_t total)
{
	return total <= 0 || bytes >= total / 100 + (total % 100 != 0);
}

static void put_label(FILE *out, const struct tree *t, const struct node *n)
{
	const struct cp_profile *p = cp_view_profile(t->v);
	const struct cp_view_frame *f = cp_view_frame(t->v, n->frame);
	uint64_t addr =
		n->loc != CP_NONE && n->loc < p->locations.n ? p->locations.v[n->loc].address : 0;
	const char *file = "";
	if (f->function != CP_NONE && f->function < p->functions.n)
		file = p->functions.v[f->function].filename;
	char *text;
	if (file && file[0] && n->line > 0)
		text = cp_xasprintf("0x%" PRIX64 ": %s (%s:%" PRId64 ")", addr, f->name,
				    cp_basename(file), n->line);
	else if (file && file[0])
		text = cp_xasprintf("0x%" PRIX64 ": %s (%s)", addr, f->name, cp_basename(file));
	else
		text = cp_xasprintf("0x%" PRIX64 ": %s (in %s)", addr, f->name,
				    f->path && f->path[0] ? f->path : f->module);
	/* one line, and short enough for massif-visualizer's line buffer */
	size_t len = strlen(text);
	if (len > MAX_LABEL)
		len = MAX_LABEL;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';
	fwrite(text, 1, len, out);
	free(text);
}

static void put_node(FILE *out, const struct tree *t, uint32_t id, uint32_t depth, int64_t total)
{
	const struct node *n = &t->nodes.v[id];
	uint32_t nsig = 0;
	while (nsig < n->nchildren &&
	       significant(t->nodes.v[t->order[n->first + nsig]].bytes, total))
		nsig++;
	uint32_t ninsig = n->nchildren - nsig;
	fprintf(out, "%*sn%" PRIu32 ": %" PRId64 " ", (int)depth, "", nsig + (ninsig > 0),
		n->bytes);
	if (id)
		put_label(out, t, n);
	else
		fputs(ROOT_LABEL, out);
	fputc('\n', out);
	for (uint32_t i = 0; i < nsig; i++)
		put_node(out, t, t->order[n->first + i], depth + 1, total);
	if (ninsig) {
		int64_t rest = 0;
		for (uint32_t i = nsig; i < n->nchildren; i++)
			rest += t->nodes.v[t->order[n->first + i]].bytes;
		fprintf(out,
			"%*sn0: %" PRId64 " in %" PRIu32 " place%s below massif's threshold "
			"(1.00%%)\n",
			(int)depth + 1, "", rest, ninsig, ninsig == 1 ? "," : "s, all");
	}
}

/* ---- the series ------------------------------------------------------------ */

struct point {
	uint64_t time;
	int64_t delta;
};

struct snapshot {
	uint64_t time; /* ns */
	int64_t bytes;
	int tree; /* 0 none, 1 peak, 2 end */
};

struct heap {
	struct cp_view *v;
	const struct cp_profile *p;
	uint32_t inuse, peak;
	CP_VEC(struct point) points;
	int64_t *stack_inuse, *stack_peak; /* per stack */
	bool have_peak;
	uint64_t peak_time, last_time;
	CP_VEC(struct snapshot) snaps;
};

static int point_cmp(const void *pa, const void *pb)
{
	const struct point *a = pa, *b = pb;
	return a->time < b->time ? -1 : a->time > b->time;
}

static void gather(struct heap *h)
{
	const struct cp_profile *p = h->p;
	const struct cp_view_filter *f = &cp_view_options(h->v)->filter;
	size_t nv = p->value_types.n;
	/* no sum over the samples can overflow (as the view clamps) */
	int64_t lim = INT64_MAX / (int64_t)(p->samples.n + 1);
	h->stack_inuse = cp_xcalloc(p->stacks.n + 1, sizeof(int64_t));
	h->stack_peak = cp_xcalloc(p->stacks.n + 1, sizeof(int64_t));
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cp_profile_sample *s = &p->samples.v[i];
		if (s->stack >= p->stacks.n || !cp_view_sample_matches(f, s))
			continue;
		const int64_t *val = p->values.v + i * nv;
		int64_t in = CP_MAX(CP_MIN(val[h->inuse], lim), -lim);
		int64_t pk = CP_MAX(CP_MIN(val[h->peak], lim), -lim);
		struct point pt = { s->time, in };
		CP_VEC_PUSH(h->points, pt);
		h->stack_inuse[s->stack] += in;
		h->stack_peak[s->stack] += pk;
		if (pk && (!h->have_peak || s->time < h->peak_time)) {
			h->have_peak = true;
			h->peak_time = s->time;
		}
		h->last_time = CP_MAX(h->last_time, s->time);
	}
	if (h->points.n)
		qsort(h->points.v, h->points.n, sizeof(*h->points.v), point_cmp);
}

static void add_snapshot(struct heap *h, uint64_t time, int64_t bytes, int tree)
{
	struct snapshot s = { time, bytes < 0 ? 0 : bytes, tree };
	CP_VEC_PUSH(h->snaps, s);
}

/* The plain snapshots: the running heap size at each distinct time (at
 * the last time of each run when runs of times merge), the peak's in its
 * place. */
static void series(struct heap *h, int64_t peak_bytes)
{
	CP_VEC(struct snapshot) all = { 0 };
	int64_t sum = 0;
	for (size_t i = 0; i < h->points.n; i++) {
		sum += h->points.v[i].delta;
		if (i + 1 < h->points.n && h->points.v[i + 1].time == h->points.v[i].time)
			continue;
		struct snapshot s = { h->points.v[i].time, sum, 0 };
		CP_VEC_PUSH(all, s);
	}
	size_t n = all.n, m = CP_MIN(n, (size_t)MAX_PLAIN);
	bool peak_done = !h->have_peak;
	for (size_t k = 0; k < m; k++) {
		/* the last of the k-th of m even runs */
		size_t i = ((k + 1) * n + m - 1) / m - 1;
		const struct snapshot *s = &all.v[i];
		if (!peak_done && s->time >= h->peak_time) {
			add_snapshot(h, h->peak_time, peak_bytes, 1);
			peak_done = true;
			if (s->time == h->peak_time)
				continue;
		}
		add_snapshot(h, s->time, s->bytes, 0);
	}
	if (!peak_done)
		add_snapshot(h, h->peak_time, peak_bytes, 1);
	CP_VEC_FREE(all);
}

static void build_tree(struct tree *t, struct heap *h, const int64_t *per_stack)
{
	tree_init(t, h->v);
	for (size_t st = 0; st < h->p->stacks.n; st++)
		if (per_stack[st] > 0)
			tree_add(t, h->p, (uint32_t)st, per_stack[st]);
	tree_finish(t);
}

static void put_snapshot(FILE *out, const struct snapshot *s, size_t num, const struct tree *t)
{
	fprintf(out,
		"#-----------\nsnapshot=%zu\n#-----------\ntime=%" PRIu64 "\nmem_heap_B=%" PRId64
		"\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=%s\n",
		num, s->time / 1000000, s->bytes,
		s->tree == 1 ? "peak" :
		s->tree == 2 ? "detailed" :
			       "empty");
	if (t)
		put_node(out, t, 0, 0, s->bytes);
}

static void put_header(FILE *out, const struct cp_profile *p)
{
	if (p->meta.period > 1)
		fprintf(out,
			"desc: cprof heap, sampled every %" PRIu64 " bytes (estimates), converted "
			"by cprof " CP_VERSION "\n",
			p->meta.period);
	else
		fprintf(out,
			"desc: cprof heap, every allocation, converted by cprof " CP_VERSION "\n");
	char *cmd = cp_xstrdup(p->meta.command && p->meta.command[0] ? p->meta.command : "???");
	for (char *q = cmd; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	fprintf(out, "cmd: %s\ntime_unit: ms\n", cmd);
	free(cmd);
}

int cp_format_massif_write(FILE *out, struct cp_view *v, const char *what, struct cp_error *err)
{
	struct heap h;
	memset(&h, 0, sizeof(h));
	h.v = v;
	h.p = cp_view_profile(v);
	int rc = cp_format_heap_check(h.p, err);
	if (rc < 0)
		return rc;
	h.inuse = cp_profile_value_index(h.p, "inuse_space");
	h.peak = cp_profile_value_index(h.p, "peak_space");
	gather(&h);
	struct tree peak, end;
	build_tree(&peak, &h, h.stack_peak);
	build_tree(&end, &h, h.stack_inuse);
	series(&h, peak.nodes.v[0].bytes);
	uint64_t end_time = CP_MAX(h.p->meta.duration_nanos, h.last_time);
	add_snapshot(&h, h.have_peak ? CP_MAX(end_time, h.peak_time) : end_time,
		     end.nodes.v[0].bytes, 2);
	put_header(out, h.p);
	for (size_t i = 0; i < h.snaps.n; i++) {
		const struct snapshot *s = &h.snaps.v[i];
		put_snapshot(out, s, i, s->tree == 1 ? &peak : s->tree == 2 ? &end : NULL);
	}
	tree_release(&peak);
	tree_release(&end);
	CP_VEC_FREE(h.points);
	CP_VEC_FREE(h.snaps);
	free(h.stack_inuse);
	free(h.stack_peak);
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}
