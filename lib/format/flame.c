/* flame.c - the interactive flame graph: one self-contained SVG.
 *
 * The tree is never built in full.  A profile of 200,000 distinct stacks
 * has millions of distinct call paths, and all but a few thousand of them
 * are far narrower than a pixel.  Instead the view's stacks are
 * partitioned lazily, widest frame first: expanding a frame sorts the
 * stacks under it by their next frame, and each run of equal frames is a
 * child.  The expansion stops when the next frame is narrower than
 * minwidth, or when the graph holds FLAME_MAX_FRAMES frames; what is left
 * becomes one "(N more)" frame per parent, so the totals stay exact and
 * the SVG stays small enough for a browser.  The same happens twice: merged
 * from the root (callers below callees) and merged from the leaves; the
 * starting one is written as SVG elements (so the picture shows without
 * script, as an <img>), the other as compact data the script (flame.js,
 * embedded at build time) renders on demand.
 *
 * This file does not read any input format and does not choose what the
 * weights are: filters, values and inline handling are the view's.
 */
#include "format/format.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the SVG's script, lib/format/flame.js as one C string */
static const char flame_js[] =
#include "gen/flame_js.h"
	;

/* Frames (visible ones plus "(N more)") of both trees together, half each.
 * Each frame is three or four SVG elements, so a graph stays under
 * ~40,000 static elements; minwidth usually stops the expansion first
 * (48 MB of synthetic stacks at 1200 px give 16,700 frames). */
#define FLAME_MAX_FRAMES 24000

#define XPAD 10

/* ---- colour palettes ---------------------------------------------------- */

static const char *const palette_names[] = {
	[CP_FLAME_HOT] = "hot",       [CP_FLAME_MEM] = "mem",   [CP_FLAME_IO] = "io",
	[CP_FLAME_WAKEUP] = "wakeup", [CP_FLAME_LANG] = "lang",
};

int cp_flame_parse_palette(const char *s, enum cp_flame_palette *out, struct cp_error *err)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(palette_names); i++) {
		if (s && !strcmp(s, palette_names[i])) {
			*out = (enum cp_flame_palette)i;
			return 0;
		}
	}
	return cp_error_set(err, CP_E_USAGE,
			    "unknown colour palette '%s' (supported: hot, mem, io, wakeup, lang)",
			    s ? s : "");
}

/* What kind of code a frame is, for the lang palette. */
enum frame_kind { KIND_MAIN, KIND_LIB, KIND_KERNEL, KIND_JIT };

/* ---- distinct frames by text ------------------------------------------------
 *
 * Frames are compared by (name, module) text: frame ids differ between
 * two views (and two functions of one name in one module look alike). */
struct canon {
	const char *name, *module; /* into the intern table's copies */
	uint8_t kind;
};

struct canon_tab {
	struct cp_intern keys; /* "name\0module" */
	CP_VEC(struct canon) v;
	struct cp_buf scratch;
};

/* Where the stacks of one view come from, and how frame ids map to canons. */
struct src {
	struct cp_view *v;
	const struct cp_view_group *g;
	size_t ng;
	uint32_t *cmap; /* cp_view_frame id -> canon, CP_NONE unset */
	size_t ncmap;
	struct cp_u64map mapflags; /* mapping path pointer -> CP_MAP_* */
	double scale;              /* weight multiplier (the normalised base) */
	int64_t total;
};

static bool has_so_suffix(const char *m)
{
	const char *so = strstr(m, ".so");
	return so && (so[3] == 0 || so[3] == '.');
}

static uint8_t frame_kind(const struct src *s, const struct cp_view_frame *f)
{
	uint64_t *fl = cp_u64map_find(&s->mapflags, (uint64_t)(uintptr_t)f->path);
	uint32_t flags = fl ? (uint32_t)*fl : 0;
	const char *m = f->module;
	if ((flags & CP_MAP_KERNEL) || !strncmp(m, "[kernel", 7) || !strcmp(m, "[vmlinux]"))
		return KIND_KERNEL;
	if ((flags & CP_MAP_JIT) || !strcmp(m, "[jit]") || !strncmp(m, "perf-", 5))
		return KIND_JIT;
	if ((flags & CP_MAP_VDSO) || has_so_suffix(m) || !strcmp(m, "[vdso]"))
		return KIND_LIB;
	return KIND_MAIN;
}

static uint32_t canon_of(struct canon_tab *ct, struct src *s, uint32_t frame)
{
	if (frame >= s->ncmap) {
		size_t n = CP_MAX(s->ncmap * 2, (size_t)frame + 64);
		s->cmap = cp_xrealloc(s->cmap, n * sizeof(*s->cmap));
		memset(s->cmap + s->ncmap, 0xff, (n - s->ncmap) * sizeof(*s->cmap));
		s->ncmap = n;
	}
	if (s->cmap[frame] != CP_NONE)
		return s->cmap[frame];
	const struct cp_view_frame *f = cp_view_frame(s->v, frame);
	struct cp_buf *b = &ct->scratch;
	b->len = 0;
	cp_buf_add(b, f->name, strlen(f->name) + 1);
	cp_buf_add(b, f->module, strlen(f->module));
	bool added;
	uint32_t id = cp_intern_add(&ct->keys, b->p, b->len, &added);
	if (added) {
		const char *k = cp_intern_get(&ct->keys, id);
		struct canon c = { .name = k,
				   .module = k + strlen(k) + 1,
				   .kind = frame_kind(s, f) };
		CP_VEC_PUSH(ct->v, c);
	}
	s->cmap[frame] = id;
	return id;
}

static void src_init(struct src *s, struct cp_view *v, struct canon_tab *ct)
{
	memset(s, 0, sizeof(*s));
	s->v = v;
	s->scale = 1;
	s->total = cp_view_total(v);
	cp_u64map_init(&s->mapflags);
	const struct cp_profile *p = cp_view_profile(v);
	for (size_t i = 0; i < p->mappings.n; i++) {
		const struct cp_profile_mapping *m = &p->mappings.v[i];
		uint64_t *fl =
			cp_u64map_upsert(&s->mapflags, (uint64_t)(uintptr_t)m->path, 0, NULL);
		*fl |= m->flags;
	}
	s->g = cp_view_groups(v, &s->ng);
	/* expand every stack once and name its frames */
	for (size_t i = 0; i < s->ng; i++) {
		uint32_t n;
		const struct cp_view_stack_frame *fr = cp_view_stack_frames(v, s->g[i].stack, &n);
		for (uint32_t k = 0; k < n; k++) {
			if (fr[k].frame < s->ncmap && s->cmap[fr[k].frame] != CP_NONE)
				continue;
			canon_of(ct, s, fr[k].frame);
			/* canon_of did not call cp_view_stack_frames: fr is still valid */
		}
	}
}

static void src_release(struct src *s)
{
	free(s->cmap);
	cp_u64map_release(&s->mapflags);
}

/* ---- the lazy tree ---------------------------------------------------------- */

#define KCACHE 6 /* positions item_key fetches at once */

#define CANON_ALL (CP_NONE - 1)  /* the root frame "all" */
#define CANON_MORE (CP_NONE - 2) /* "(N more)" */

/* A frame of the graph. */
struct fnode {
	uint32_t parent;  /* CP_NONE for the root */
	uint32_t canon;   /* a canon, CANON_ALL or CANON_MORE */
	uint32_t depth;   /* 0 for the root */
	uint32_t nmore;   /* CANON_MORE: how many frames it stands for */
	bool inl;         /* every occurrence merged here is an inlined call */
	double w, x;      /* layout width and position, in weight units */
	double val, base; /* weight in the new profile, in the (scaled) base */
	/* narrow children merged so far (become a CANON_MORE node) */
	uint32_t more_n;
	double more_w, more_val, more_base;
};

/* A range of stacks waiting to be expanded into a frame. */
struct pending {
	uint32_t lo, hi; /* range in items */
	uint32_t parent; /* accepted fnode */
	uint32_t canon;
	uint32_t seq; /* tie break: first pushed, first taken */
	bool inl;
	double w, val, base;
};

struct tree {
	bool reverse; /* merged from the leaves */
	CP_VEC(struct fnode) nodes;
	CP_VEC(struct pending) heap;
	uint32_t seq;
	uint32_t maxdepth;
	uint32_t *order; /* pre-order of nodes, children sorted by name */
};

struct build {
	struct canon_tab *ct;
	struct src *src; /* [0] the new view, [1] the base (diff) */
	size_t nsrc;
	bool diff;
	uint32_t *items; /* item i < src[0].ng: group i of src[0], else of src[1] */
	uint32_t nitems;
	uint32_t nfirst; /* groups of src[0] in items' numbering */
	uint64_t *keys, *tmp;
	double *weight; /* per item: its group's weight (scaled for the base) */
	struct kcache {
		uint32_t base; /* position of k[0], CP_NONE when empty */
		uint32_t k[KCACHE];
	} * kc;
	double minw; /* minimum width in weight units */
};

static bool pend_less(const struct pending *a, const struct pending *b)
{
	if (a->w != b->w)
		return a->w < b->w;
	return a->seq > b->seq;
}

static void heap_push(struct tree *t, struct pending p)
{
	p.seq = t->seq++;
	CP_VEC_PUSH(t->heap, p);
	size_t i = t->heap.n - 1;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!pend_less(&t->heap.v[up], &t->heap.v[i]))
			break;
		struct pending tmp = t->heap.v[up];
		t->heap.v[up] = t->heap.v[i];
		t->heap.v[i] = tmp;
		i = up;
	}
}

static struct pending heap_pop(struct tree *t)
{
	struct pending top = t->heap.v[0];
	t->heap.v[0] = t->heap.v[--t->heap.n];
	size_t i = 0, n = t->heap.n;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && pend_less(&t->heap.v[m], &t->heap.v[l]))
			m = l;
		if (r < n && pend_less(&t->heap.v[m], &t->heap.v[r]))
			m = r;
		if (m == i)
			break;
		struct pending tmp = t->heap.v[m];
		t->heap.v[m] = t->heap.v[i];
		t->heap.v[i] = tmp;
		i = m;
	}
	return top;
}

/* Sort keys (key in the high 32 bits, item in the low) by key: LSD radix
 * with 8-bit digits over the bits the keys use, insertion sort when few. */
static void sort_keys(uint64_t *a, uint64_t *tmp, uint32_t n, uint32_t maxkey)
{
	if (n < 48) {
		for (uint32_t i = 1; i < n; i++) {
			uint64_t x = a[i];
			uint32_t j = i;
			while (j > 0 && a[j - 1] > x) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		return;
	}
	uint64_t *from = a, *to = tmp;
	for (unsigned shift = 32; shift < 64 && (maxkey >> (shift - 32)); shift += 8) {
		uint32_t count[257] = { 0 };
		for (uint32_t i = 0; i < n; i++)
			count[((from[i] >> shift) & 0xff) + 1]++;
		for (int d = 0; d < 256; d++)
			count[d + 1] += count[d];
		for (uint32_t i = 0; i < n; i++)
			to[count[(from[i] >> shift) & 0xff]++] = from[i];
		uint64_t *x = from;
		from = to;
		to = x;
	}
	if (from != a)
		memcpy(a, from, n * sizeof(*a));
}

static double item_val(const struct build *b, uint32_t it)
{
	return it < b->nfirst ? b->weight[it] : 0;
}

static double item_base(const struct build *b, uint32_t it)
{
	return it < b->nfirst ? 0 : b->weight[it];
}

/* The key of an item's frame at `pos` (0 = root or leaf side): canon + 1
 * shifted, with the occurrence's inlined bit; 0 when the stack is shorter.
 * Expanding a frame reads one position of every stack under it, and the
 * frames of 200,000 stacks are far apart in memory: each read fetches
 * the keys of the next few positions too. */
static uint32_t item_key(struct build *b, const struct tree *t, uint32_t it, uint32_t pos)
{
	struct kcache *c = &b->kc[it];
	if (c->base != CP_NONE && pos >= c->base && pos - c->base < KCACHE)
		return c->k[pos - c->base];
	struct src *s = it < b->nfirst ? &b->src[0] : &b->src[1];
	uint32_t gi = it < b->nfirst ? it : it - b->nfirst;
	uint32_t n;
	const struct cp_view_stack_frame *fr = cp_view_stack_frames(s->v, s->g[gi].stack, &n);
	c->base = pos;
	for (uint32_t j = 0; j < KCACHE; j++) {
		uint32_t at = pos + j;
		if (at >= n) {
			c->k[j] = 0;
			continue;
		}
		const struct cp_view_stack_frame *f = t->reverse ? &fr[at] : &fr[n - 1 - at];
		c->k[j] = ((s->cmap[f->frame] + 1) << 1) | f->inlined;
	}
	return c->k[0];
}

static uint32_t accept(struct tree *t, const struct pending *p)
{
	struct fnode n = {
		.parent = p->parent,
		.canon = p->canon,
		.inl = p->inl,
		.w = p->w,
		.val = p->val,
		.base = p->base,
	};
	n.depth = p->parent == CP_NONE ? 0 : t->nodes.v[p->parent].depth + 1;
	if (n.depth > t->maxdepth)
		t->maxdepth = n.depth;
	CP_VEC_PUSH(t->nodes, n);
	return (uint32_t)t->nodes.n - 1;
}

static void add_more(struct fnode *parent, const struct pending *c)
{
	parent->more_n++;
	parent->more_w += c->w;
	parent->more_val += c->val;
	parent->more_base += c->base;
}

/* Split an accepted frame's stacks by their next frame; wide enough runs
 * wait in the heap, the others merge into the frame's "(N more)". */
static void expand(struct build *b, struct tree *t, uint32_t id, uint32_t lo, uint32_t hi)
{
	uint32_t pos = t->nodes.v[id].depth; /* the root's children are at position 0 */
	uint32_t n = hi - lo, maxkey = 0;
	uint64_t *k = b->keys + lo;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t it = b->items[lo + i];
		uint32_t key = item_key(b, t, it, pos);
		if (key > maxkey)
			maxkey = key;
		k[i] = (uint64_t)key << 32 | it;
	}
	sort_keys(k, b->tmp, n, maxkey);
	for (uint32_t i = 0; i < n; i++)
		b->items[lo + i] = (uint32_t)k[i];
	CP_VEC(struct pending) kids = { 0 };
	double rawsum = 0;
	for (uint32_t i = 0; i < n;) {
		uint32_t key = (uint32_t)(k[i] >> 33) << 1, j = i;
		struct pending c = { .lo = lo + i, .parent = id, .inl = true };
		for (; j < n && ((uint32_t)(k[j] >> 33) << 1) == key; j++) {
			uint32_t it = (uint32_t)k[j];
			c.val += item_val(b, it);
			c.base += item_base(b, it);
			c.inl &= (k[j] >> 32) & 1;
		}
		c.hi = lo + j;
		i = j;
		if (!key)
			continue; /* stacks that end in this frame: its self weight */
		c.canon = (key >> 1) - 1;
		c.w = CP_MAX(c.val, c.base);
		rawsum += c.w;
		CP_VEC_PUSH(kids, c);
	}
	/* a differential frame is as wide as the larger of its two weights;
	 * children that grow and children that vanish together may not fit,
	 * so they shrink in proportion */
	double pw = t->nodes.v[id].w, f = rawsum > pw && rawsum > 0 ? pw / rawsum : 1;
	for (size_t i = 0; i < kids.n; i++) {
		struct pending *c = &kids.v[i];
		if (f != 1)
			c->w *= f;
		if (c->w > 0 && c->w >= b->minw)
			heap_push(t, *c);
		else
			add_more(&t->nodes.v[id], c);
	}
	CP_VEC_FREE(kids);
}

static void tree_grow(struct build *b, struct tree *t, const struct pending *root)
{
	heap_push(t, *root);
	while (t->heap.n) {
		struct pending p = heap_pop(t);
		if (t->nodes.n >= FLAME_MAX_FRAMES / 2 && p.parent != CP_NONE) {
			add_more(&t->nodes.v[p.parent], &p);
			continue;
		}
		uint32_t id = accept(t, &p);
		expand(b, t, id, p.lo, p.hi);
	}
	/* the merged remainders become frames of their own */
	size_t n = t->nodes.n;
	for (size_t i = 0; i < n; i++) {
		struct fnode *pn = &t->nodes.v[i];
		if (!pn->more_n)
			continue;
		struct pending m = {
			.parent = (uint32_t)i,
			.canon = CANON_MORE,
			.w = pn->more_w,
			.val = pn->more_val,
			.base = pn->more_base,
		};
		uint32_t id = accept(t, &m);
		t->nodes.v[id].nmore = t->nodes.v[i].more_n;
	}
	CP_VEC_FREE(t->heap);
}

/* ---- layout: children by name, "(N more)" last -------------------------- */

static int node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct build *b = ((const void **)arg)[0];
	const struct tree *t = ((const void **)arg)[1];
	const struct fnode *x = &t->nodes.v[*(const uint32_t *)pa];
	const struct fnode *y = &t->nodes.v[*(const uint32_t *)pb];
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if ((x->canon == CANON_MORE) != (y->canon == CANON_MORE))
		return x->canon == CANON_MORE ? 1 : -1;
	if (x->canon == CANON_MORE)
		return 0;
	const struct canon *cx = &b->ct->v.v[x->canon], *cy = &b->ct->v.v[y->canon];
	int c = strcmp(cx->name, cy->name);
	if (!c)
		c = strcmp(cx->module, cy->module);
	return c;
}

/* Give every frame its x and put the frames in pre-order. */
static void tree_layout(const struct build *b, struct tree *t)
{
	size_t n = t->nodes.n;
	uint32_t *sorted = cp_xmalloc(n * sizeof(*sorted));
	uint32_t *start = cp_xcalloc(n + 1, sizeof(*start));
	uint32_t *count = cp_xcalloc(n + 1, sizeof(*count));
	size_t ns = 0;
	for (size_t i = 1; i < n; i++)
		sorted[ns++] = (uint32_t)i;
	const void *arg[2] = { b, t };
	qsort_r(sorted, ns, sizeof(*sorted), node_cmp, (void *)arg);
	t->nodes.v[0].x = 0;
	/* parents are accepted before their children, so sorted by parent
	 * each parent has its x before its children are placed */
	for (size_t i = 0; i < ns;) {
		uint32_t p = t->nodes.v[sorted[i]].parent;
		double x = t->nodes.v[p].x;
		start[p] = (uint32_t)i;
		for (; i < ns && t->nodes.v[sorted[i]].parent == p; i++) {
			t->nodes.v[sorted[i]].x = x;
			x += t->nodes.v[sorted[i]].w;
			count[p]++;
		}
	}
	t->order = cp_xmalloc(n * sizeof(*t->order));
	uint32_t *stack = cp_xmalloc(n * sizeof(*stack));
	size_t sp = 0, on = 0;
	stack[sp++] = 0;
	while (sp) {
		uint32_t id = stack[--sp];
		t->order[on++] = id;
		for (uint32_t c = count[id]; c-- > 0;)
			stack[sp++] = sorted[start[id] + c];
	}
	free(stack);
	free(sorted);
	free(start);
	free(count);
}

static void tree_build(struct build *b, struct tree *t, bool reverse, double minwidth_px,
		       unsigned plot_px)
{
	memset(t, 0, sizeof(*t));
	t->reverse = reverse;
	/* the same start for both trees: items in order */
	memcpy(b->items, b->items + b->nitems, b->nitems * sizeof(*b->items));
	for (uint32_t i = 0; i < b->nitems; i++)
		b->kc[b->items[i]].base = CP_NONE;
	struct pending root = { .lo = 0, .hi = b->nitems, .parent = CP_NONE, .canon = CANON_ALL };
	for (uint32_t i = 0; i < b->nitems; i++) {
		root.val += item_val(b, b->items[i]);
		root.base += item_base(b, b->items[i]);
	}
	root.w = CP_MAX(root.val, root.base);
	if (!(root.w > 0))
		root.w = 1; /* nothing to show: an empty "all" still spans the graph */
	b->minw = minwidth_px * root.w / plot_px;
	tree_grow(b, t, &root);
	tree_layout(b, t);
}

static void tree_release(struct tree *t)
{
	CP_VEC_FREE(t->nodes);
	CP_VEC_FREE(t->heap);
	free(t->order);
}

/* ---- text output ---------------------------------------------------------- */

static void add_str(struct cp_buf *b, const char *s)
{
	cp_buf_add(b, s, strlen(s));
}

/* One character at s (cp_utf8_next), *cp -1 also for the characters XML
 * 1.0 does not allow: controls other than tab and newlines, U+FFFE, U+FFFF.
 * Returns the bytes it spans (to drop when *cp is -1). */
static size_t utf8_next(const unsigned char *s, int32_t *cp)
{
	size_t n = cp_utf8_next(s, cp);
	if ((*cp >= 0 && *cp < 0x20 && *cp != '\t' && *cp != '\n' && *cp != '\r') ||
	    *cp == 0xfffe || *cp == 0xffff)
		*cp = -1;
	return n;
}

/* Append at most maxchars characters of s (all when SIZE_MAX), escaped for
 * XML text and attributes, dropping what XML cannot hold; tab and newlines
 * become spaces.  Returns the number of characters written. */
static const char *const xml_entities[128] = {
	['&'] = "&amp;",   ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
	['\''] = "&apos;", ['\t'] = " ",   ['\n'] = " ",   ['\r'] = " ",
};

static size_t add_xml(struct cp_buf *b, const char *s, size_t maxchars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t nc = 0;
	while (*p && nc < maxchars) {
		int32_t cp;
		size_t len = utf8_next(p, &cp);
		if (cp >= 0 && cp < 128 && xml_entities[cp]) {
			add_str(b, xml_entities[cp]);
			nc++;
		} else if (cp >= 0) {
			cp_buf_add(b, p, len);
			nc++;
		}
		p += len;
	}
	return nc;
}

/* Characters of s that add_xml keeps. */
static size_t xml_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t nc = 0;
	while (*p) {
		int32_t cp;
		p += utf8_next(p, &cp);
		nc += cp >= 0;
	}
	return nc;
}

/* A JSON string that is also safe inside an XML CDATA section. */
static void add_json(struct cp_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	cp_buf_add_u8(b, '"');
	while (*p) {
		int32_t cp;
		size_t len = utf8_next(p, &cp);
		if (cp == '"' || cp == '\\') {
			cp_buf_add_u8(b, '\\');
			cp_buf_add_u8(b, (uint8_t)cp);
		} else if (cp == '<' || cp == '>' || cp == '&') {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", (unsigned)cp);
			add_str(b, e);
		} else if (cp == '\t' || cp == '\n' || cp == '\r') {
			cp_buf_add_u8(b, ' ');
		} else if (cp >= 0) {
			cp_buf_add(b, p, len);
		}
		p += len;
	}
	cp_buf_add_u8(b, '"');
}

static void add_u64(struct cp_buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	cp_buf_add(b, tmp + i, sizeof(tmp) - i);
}

/* A number with up to `dec` decimals, trailing zeros dropped (coordinates). */
static void add_num(struct cp_buf *b, double v, int dec)
{
	static const double pow10[] = { 1, 10, 100, 1000 };
	if (v < 0) {
		cp_buf_add_u8(b, '-');
		v = -v;
	}
	if (v >= 1e15) {
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "%.0f", v);
		add_str(b, tmp);
		return;
	}
	uint64_t f = (uint64_t)llround(v * pow10[dec]);
	uint64_t ip = f / (uint64_t)pow10[dec], fp = f % (uint64_t)pow10[dec];
	add_u64(b, ip);
	if (!fp)
		return;
	char d[4];
	int nd = dec;
	while (fp % 10 == 0) {
		fp /= 10;
		nd--;
	}
	for (int i = nd; i-- > 0;) {
		d[i] = (char)('0' + fp % 10);
		fp /= 10;
	}
	cp_buf_add_u8(b, '.');
	cp_buf_add(b, d, (size_t)nd);
}

/* An exact weight for the script: integers as such, others to 17 digits. */
static void add_weight(struct cp_buf *b, double v)
{
	if (v == floor(v) && fabs(v) < 9e15) {
		if (v < 0) {
			cp_buf_add_u8(b, '-');
			v = -v;
		}
		add_u64(b, (uint64_t)v);
		return;
	}
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%.17g", v);
	add_str(b, tmp);
}

/* "1,234,567" */
static void add_count(struct cp_buf *b, double v)
{
	char tmp[32], out[48];
	if (v < 0)
		cp_buf_add_u8(b, '-');
	snprintf(tmp, sizeof(tmp), "%.0f", fabs(v));
	size_t n = strlen(tmp), o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	cp_buf_add(b, out, o);
}

static void add_fmt(struct cp_buf *b, const char *fmt, ...) CP_PRINTF(2, 3);
static void add_fmt(struct cp_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		cp_buf_add(b, tmp, CP_MIN((size_t)n, sizeof(tmp) - 1));
}

/* ---- colours ---------------------------------------------------------------- */

struct flame {
	struct cp_buf b;
	FILE *out;
	struct canon_tab ct;
	struct src src[2];
	struct build bd;
	struct tree t[2]; /* [0] the starting tree (written as SVG), [1] the other */
	enum cp_flame_palette palette;
	bool hash, diff, inverted;
	unsigned width, fh, fs, height, ypad1, ypad2;
	double minwidth;
	const char *title, *subtitle, *countname;
	bool default_title;
	bool hold; /* collecting data to write later: no flushing */
	char countbuf[160];
	struct cp_intern colours;
	struct cp_intern names;
	uint32_t *canon_name; /* canon -> names id, CP_NONE until used */
	uint32_t *canon_colour;
};

/* FNV-1a: stable across releases and machines, so --hash colours are too. */
static uint32_t fnv1a(const char *s, uint32_t basis)
{
	uint32_t h = basis;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Three numbers in [0,1) that pick a colour within a palette's range. */
static void name_mix(const struct flame *F, const struct canon *c, double v[3])
{
	if (F->hash) {
		uint32_t a = fnv1a(c->name, 2166136261u),
			 b = fnv1a(c->name, 0x811c9dc5u ^ 0x5bd1e995u);
		v[0] = (a & 0xffff) / 65536.0;
		v[1] = (a >> 16) / 65536.0;
		v[2] = (b & 0xffff) / 65536.0;
		return;
	}
	size_t nl = strlen(c->name), ml = strlen(c->module);
	uint64_t h = cp_hash_bytes(c->name, nl, 0x9e3779b97f4a7c15ULL) ^
		     cp_hash_u64(cp_hash_bytes(c->module, ml, 17));
	h = cp_hash_u64(h);
	v[0] = (double)(h & 0xffff) / 65536.0;
	v[1] = (double)((h >> 16) & 0xffff) / 65536.0;
	v[2] = (double)((h >> 32) & 0xffff) / 65536.0;
}

struct range {
	uint8_t lo[3], span[3];
};

/* r, g, b ranges; each palette varies the channels with the name's mix */
static const struct range palettes[] = {
	[CP_FLAME_HOT] = { { 200, 40, 0 }, { 55, 190, 55 } },
	[CP_FLAME_MEM] = { { 0, 180, 20 }, { 50, 60, 120 } },
	[CP_FLAME_IO] = { { 70, 90, 190 }, { 60, 60, 60 } },
	[CP_FLAME_WAKEUP] = { { 30, 180, 180 }, { 80, 70, 70 } },
	[CP_FLAME_LANG] = { { 210, 50, 40 }, { 45, 60, 40 } },
};
/* lang: user code red, libraries yellow, kernel orange, JIT green, inlined aqua */
static const struct range lang[] = {
	[KIND_MAIN] = { { 210, 50, 40 }, { 45, 60, 40 } },
	[KIND_LIB] = { { 195, 190, 40 }, { 45, 45, 50 } },
	[KIND_KERNEL] = { { 235, 130, 0 }, { 20, 50, 40 } },
	[KIND_JIT] = { { 40, 175, 40 }, { 60, 60, 60 } },
};
static const struct range lang_inline = { { 40, 200, 200 }, { 60, 45, 45 } };

static void palette_rgb(const struct flame *F, const struct canon *c, bool inl, int rgb[3])
{
	const struct range *r = &palettes[F->palette];
	if (F->palette == CP_FLAME_LANG)
		r = inl ? &lang_inline : &lang[c->kind];
	double v[3];
	name_mix(F, c, v);
	/* io and wakeup keep red and green together so the hue stays */
	if (F->palette == CP_FLAME_IO || F->palette == CP_FLAME_WAKEUP)
		v[1] = v[0];
	if (F->palette == CP_FLAME_WAKEUP)
		v[2] = v[1];
	for (int i = 0; i < 3; i++)
		rgb[i] = r->lo[i] + (int)(r->span[i] * v[(i + 2) % 3]);
}

/* Differential: red grown, blue shrunk, by the change relative to the
 * larger weight; light grey unchanged; hatched when gone. */
static void diff_colour(const struct fnode *n, char *buf, size_t size)
{
	if (n->val <= 0 && n->base > 0) {
		snprintf(buf, size, "url(#hatch)");
		return;
	}
	double m = CP_MAX(n->val, n->base);
	double rel = m > 0 ? (n->val - n->base) / m : 0;
	int lvl = (int)lround(225 * (1 - fabs(rel)));
	if (fabs(rel) < 0.005)
		snprintf(buf, size, "rgb(235,235,235)");
	else if (rel > 0)
		snprintf(buf, size, "rgb(255,%d,%d)", lvl, lvl);
	else
		snprintf(buf, size, "rgb(%d,%d,255)", lvl, lvl);
}

static uint32_t node_colour(struct flame *F, const struct fnode *n)
{
	char buf[40];
	if (n->canon == CANON_MORE) {
		snprintf(buf, sizeof(buf), "rgb(190,190,190)");
	} else if (F->diff) {
		diff_colour(n, buf, sizeof(buf));
	} else {
		bool plain = !(F->palette == CP_FLAME_LANG && n->inl);
		if (n->canon != CANON_ALL && plain && F->canon_colour[n->canon] != CP_NONE)
			return F->canon_colour[n->canon];
		struct canon all = { .name = "all", .module = "", .kind = KIND_MAIN };
		const struct canon *c = n->canon == CANON_ALL ? &all : &F->ct.v.v[n->canon];
		int rgb[3];
		palette_rgb(F, c, n->inl, rgb);
		snprintf(buf, sizeof(buf), "rgb(%d,%d,%d)", rgb[0], rgb[1], rgb[2]);
		uint32_t id = cp_intern_add(&F->colours, buf, strlen(buf), NULL);
		if (n->canon != CANON_ALL && plain)
			F->canon_colour[n->canon] = id;
		return id;
	}
	return cp_intern_add(&F->colours, buf, strlen(buf), NULL);
}

/* The frame's display name, as an index into the names table. */
static uint32_t node_name(struct flame *F, const struct fnode *n)
{
	char buf[40];
	if (n->canon == CANON_ALL)
		return cp_intern_add(&F->names, "all", 3, NULL);
	if (n->canon == CANON_MORE) {
		int len = snprintf(buf, sizeof(buf), "(%u more)", n->nmore);
		return cp_intern_add(&F->names, buf, (size_t)len, NULL);
	}
	if (F->canon_name[n->canon] == CP_NONE) {
		const char *s = F->ct.v.v[n->canon].name;
		F->canon_name[n->canon] = cp_intern_add(&F->names, s, strlen(s), NULL);
	}
	return F->canon_name[n->canon];
}

/* ---- the SVG ---------------------------------------------------------------- */

static void add_percent(struct cp_buf *b, double part, double whole)
{
	double pct = whole > 0 ? part * 100 / whole : 0;
	add_fmt(b, "%.2f%%", pct);
}

/* "name (1,234 samples, 5.67%)", or for a diff
 * "name (before 1,000, after 1,234, +234 / +23.40%)" */
static void add_tooltip(struct flame *F, const struct tree *t, const struct fnode *n,
			const char *name)
{
	struct cp_buf *b = &F->b;
	add_xml(b, name, SIZE_MAX);
	if (!F->diff) {
		add_str(b, " (");
		add_count(b, n->val);
		cp_buf_add_u8(b, ' ');
		add_xml(b, F->countname, SIZE_MAX);
		add_str(b, ", ");
		add_percent(b, n->val, t->nodes.v[0].val);
		cp_buf_add_u8(b, ')');
		return;
	}
	double before = round(n->base), after = n->val, d = after - before;
	add_str(b, " (before ");
	add_count(b, before);
	add_str(b, ", after ");
	add_count(b, after);
	add_str(b, ", ");
	add_str(b, d >= 0 ? "+" : "");
	add_count(b, d);
	add_str(b, " / ");
	if (before > 0) {
		add_str(b, d >= 0 ? "+" : "");
		add_percent(b, d, before);
	} else {
		add_str(b, "new");
	}
	cp_buf_add_u8(b, ')');
}

static double frame_y(const struct flame *F, uint32_t depth, bool inverted)
{
	if (inverted)
		return F->ypad1 + (double)depth * F->fh;
	return F->height - F->ypad2 - (double)(depth + 1) * F->fh;
}

static void flush_some(struct flame *F)
{
	if (!F->hold && F->b.len >= (1u << 20)) {
		fwrite(F->b.p, 1, F->b.len, F->out);
		F->b.len = 0;
	}
}

/* One frame: <g><title/><rect/><text/></g>, the text only when it fits. */
static void write_frame(struct flame *F, const struct tree *t, const struct fnode *n, double scale)
{
	struct cp_buf *b = &F->b;
	const char *name = cp_intern_get(&F->names, node_name(F, n));
	double x = XPAD + n->x * scale, w = n->w * scale;
	double y = frame_y(F, n->depth, F->inverted);
	add_str(b, "<g><title>");
	add_tooltip(F, t, n, name);
	add_str(b, "</title><rect x=\"");
	add_num(b, x, 2);
	add_str(b, "\" y=\"");
	add_num(b, y, 1);
	add_str(b, "\" width=\"");
	add_num(b, w, 2);
	add_str(b, "\" height=\"");
	add_u64(b, F->fh - 1);
	add_str(b, "\" fill=\"");
	add_str(b, cp_intern_get(&F->colours, node_colour(F, n)));
	add_str(b, "\" rx=\"2\" ry=\"2\"/>");
	/* flamegraph.pl's estimate of a character's width in Verdana */
	double fit = (w - 6) / (F->fs * 0.59);
	if (fit >= 3) {
		size_t nc = xml_chars(name), keep = (size_t)fit;
		add_str(b, "<text x=\"");
		add_num(b, x + 3, 2);
		add_str(b, "\" y=\"");
		add_num(b, y + (F->fh + F->fs * 0.7) / 2, 1);
		add_str(b, "\">");
		if (nc <= keep) {
			add_xml(b, name, SIZE_MAX);
		} else {
			add_xml(b, name, keep - 2);
			add_str(b, "..");
		}
		add_str(b, "</text>");
	}
	add_str(b, "</g>\n");
	flush_some(F);
}

/* A tree as data for the script: per frame depth, x, width, name and colour
 * (and for a diff the new and the base weight). */
static void write_tree_data(struct flame *F, const struct tree *t)
{
	struct cp_buf *b = &F->b;
	add_str(b, "{\"reverse\":");
	add_str(b, t->reverse ? "true" : "false");
	add_str(b, ",\"total\":");
	add_weight(b, t->nodes.v[0].val);
	add_str(b, ",\"f\":[");
	for (size_t i = 0; i < t->nodes.n; i++) {
		const struct fnode *n = &t->nodes.v[t->order[i]];
		if (i)
			cp_buf_add_u8(b, ',');
		add_u64(b, n->depth);
		cp_buf_add_u8(b, ',');
		add_weight(b, n->x);
		cp_buf_add_u8(b, ',');
		add_weight(b, n->w);
		cp_buf_add_u8(b, ',');
		add_u64(b, node_name(F, n));
		cp_buf_add_u8(b, ',');
		add_u64(b, node_colour(F, n));
		if (F->diff) {
			cp_buf_add_u8(b, ',');
			add_weight(b, n->val);
			cp_buf_add_u8(b, ',');
			add_weight(b, n->base);
		}
		if (i % 64 == 63) {
			cp_buf_add_u8(b, '\n');
			flush_some(F);
		}
	}
	add_str(b, "]}");
}

static void write_json_table(struct flame *F, const char *key, const struct cp_intern *tab)
{
	struct cp_buf *b = &F->b;
	add_fmt(b, ",\n\"%s\":[", key);
	for (size_t i = 0; i < tab->n; i++) {
		if (i)
			cp_buf_add_u8(b, ',');
		add_json(b, cp_intern_get(tab, (uint32_t)i));
		flush_some(F);
	}
	cp_buf_add_u8(b, ']');
}

static void write_script(struct flame *F)
{
	struct cp_buf *b = &F->b;
	/* names and colours are interned while the data is written */
	struct cp_buf head = F->b;
	F->b = (struct cp_buf){ 0 };
	F->hold = true;
	write_tree_data(F, &F->t[0]);
	add_str(&F->b, ",\n");
	write_tree_data(F, &F->t[1]);
	F->hold = false;
	struct cp_buf data = F->b;
	F->b = head;
	add_str(b, "<script type=\"text/ecmascript\"><![CDATA[\nvar cpflame = {");
	add_fmt(b,
		"\"width\":%u,\"fh\":%u,\"fs\":%u,\"xpad\":%d,\"ypad1\":%u,\"ypad2\":%u,"
		"\"height\":%u,\"inverted\":%s,\"diff\":%s,\"countname\":",
		F->width, F->fh, F->fs, XPAD, F->ypad1, F->ypad2, F->height,
		F->inverted ? "true" : "false", F->diff ? "true" : "false");
	add_json(b, F->countname);
	add_str(b, ",\"titles\":");
	if (F->default_title) {
		add_str(b, F->diff ?
				   "[\"Differential Flame Graph\",\"Differential Icicle Graph\"]" :
				   "[\"Flame Graph\",\"Icicle Graph\"]");
	} else {
		add_str(b, "null");
	}
	write_json_table(F, "names", &F->names);
	write_json_table(F, "colors", &F->colours);
	add_str(b, ",\n\"trees\":[");
	flush_some(F);
	fwrite(F->b.p, 1, F->b.len, F->out);
	F->b.len = 0;
	fwrite(data.p, 1, data.len, F->out);
	cp_buf_release(&data);
	add_str(b, "]};\n");
	add_str(b, flame_js);
	add_str(b, "]]></script>\n");
}

static const char svg_style[] =
	"<style type=\"text/css\">\n"
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; fill: rgb(0,0,0); }\n"
	"#title { text-anchor: middle; }\n"
	"#subtitle { text-anchor: middle; fill: rgb(110,110,110); }\n"
	"#search, #orient, #merge, #matched { text-anchor: end; }\n"
	".btn { cursor: pointer; opacity: 0.9; }\n"
	".btn:hover { opacity: 0.6; }\n"
	".hide { display: none; }\n"
	".frames > g { cursor: pointer; }\n"
	".frames > g:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }\n"
	".frames text { pointer-events: none; }\n"
	".frames > g.dim { opacity: 0.5; }\n"
	"</style>\n";

static void write_text(struct flame *F, const char *id, const char *cls, double x, double y,
		       unsigned size, const char *text)
{
	struct cp_buf *b = &F->b;
	add_fmt(b, "<text id=\"%s\"", id);
	if (cls)
		add_fmt(b, " class=\"%s\"", cls);
	add_str(b, " x=\"");
	add_num(b, x, 2);
	add_str(b, "\" y=\"");
	add_num(b, y, 2);
	add_fmt(b, "\" font-size=\"%u\">", size);
	add_xml(b, text, SIZE_MAX);
	add_str(b, "</text>\n");
}

static void write_svg(struct flame *F)
{
	struct cp_buf *b = &F->b;
	/* no DOCTYPE: its DTD is a URL some XML tools would fetch */
	add_str(b, "<?xml version=\"1.0\" standalone=\"yes\"?>\n");
	add_fmt(b,
		"<svg version=\"1.1\" width=\"%u\" height=\"%u\" onload=\"init(evt)\" "
		"viewBox=\"0 0 %u %u\" xmlns=\"http://www.w3.org/2000/svg\" "
		"xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n",
		F->width, F->height, F->width, F->height);
	add_str(b, "<!-- Flame graph written by cprof " CP_VERSION ". Frames are sorted by name;"
		   " the script needs no network access. -->\n");
	add_str(b, "<defs>\n<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
		   "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
		   "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient>\n"
		   "<pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
		   "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" "
		   "fill=\"rgb(215,225,255)\"/><rect width=\"2.5\" height=\"6\" "
		   "fill=\"rgb(60,90,210)\"/></pattern>\n</defs>\n");
	add_str(b, svg_style);
	write_script(F);
	add_str(b, "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" "
		   "fill=\"url(#background)\"/>\n");
	double cw = F->fs * 0.59, top = F->fs * 2, bottom = F->height - F->ypad2 / 2.0;
	write_text(F, "title", NULL, F->width / 2.0, top, F->fs + 5, F->title);
	if (F->subtitle)
		write_text(F, "subtitle", NULL, F->width / 2.0, F->fs * 4, F->fs, F->subtitle);
	write_text(F, "details", NULL, XPAD, bottom, F->fs, " ");
	write_text(F, "unzoom", "btn hide", XPAD, top, F->fs, "Reset Zoom");
	double right = F->width - XPAD;
	write_text(F, "search", "btn", right, top, F->fs, "Search");
	write_text(F, "orient", "btn", right - 14 * cw, top, F->fs,
		   F->inverted ? "Flame" : "Icicle");
	write_text(F, "merge", "btn", right - 22 * cw, top, F->fs,
		   F->t[0].reverse ? "From root" : "From leaves");
	write_text(F, "matched", NULL, right, bottom, F->fs, " ");
	add_fmt(b, "<g id=\"frames0\" class=\"frames\" font-size=\"%u\">\n", F->fs);
	const struct tree *t = &F->t[0];
	double scale = (F->width - 2.0 * XPAD) / t->nodes.v[0].w;
	for (size_t i = 0; i < t->nodes.n; i++)
		write_frame(F, t, &t->nodes.v[t->order[i]], scale);
	add_str(b, "</g>\n</svg>\n");
	fwrite(b->p, 1, b->len, F->out);
	b->len = 0;
}

/* ---- the entry point -------------------------------------------------------- */

static void resolve_opts(struct flame *F, const struct cp_flame_opts *o, struct cp_view *v)
{
	static const struct cp_flame_opts defaults = { .minwidth = -1 };
	if (!o)
		o = &defaults;
	F->palette = o->palette <= CP_FLAME_LANG ? o->palette : CP_FLAME_HOT;
	F->hash = o->hash;
	F->inverted = o->inverted;
	F->width = o->width ? o->width : 1200;
	F->width = CP_MAX(F->width, 2 * XPAD + 10);
	F->fh = o->frame_height ? o->frame_height : 16;
	F->fh = CP_MAX(F->fh, 2);
	F->fs = o->font_size ? o->font_size : 12;
	F->minwidth = o->minwidth < 0 ? 0.1 : o->minwidth;
	F->subtitle = o->subtitle && o->subtitle[0] ? o->subtitle : NULL;
	F->default_title = !o->title;
	if (o->title)
		F->title = o->title;
	else if (F->diff)
		F->title = F->inverted ? "Differential Icicle Graph" : "Differential Flame Graph";
	else
		F->title = F->inverted ? "Icicle Graph" : "Flame Graph";
	F->countname = o->countname;
	if (!F->countname) {
		const struct cp_profile *p = cp_view_profile(v);
		uint32_t vi = cp_view_options(v)->value_index;
		F->countname = "samples";
		if (vi != CP_NONE && vi < p->value_types.n) {
			const struct cp_profile_value_type *vt = &p->value_types.v[vi];
			const char *unit = !strcmp(vt->unit, "nanoseconds") ? "ns" : vt->unit;
			if (!unit[0] || !strcmp(unit, "count"))
				snprintf(F->countbuf, sizeof(F->countbuf), "%s", vt->type);
			else
				snprintf(F->countbuf, sizeof(F->countbuf), "%s %s", vt->type, unit);
			if (F->countbuf[0])
				F->countname = F->countbuf;
		}
	}
}

static void build_items(struct flame *F)
{
	struct build *b = &F->bd;
	b->ct = &F->ct;
	b->src = F->src;
	b->nsrc = F->diff ? 2 : 1;
	b->diff = F->diff;
	b->nfirst = (uint32_t)F->src[0].ng;
	size_t cap = F->src[0].ng + (F->diff ? F->src[1].ng : 0);
	b->items = cp_xmalloc((2 * cap + 1) * sizeof(*b->items)); /* and a copy */
	b->keys = cp_xmalloc((cap + 1) * sizeof(*b->keys));
	b->tmp = cp_xmalloc((cap + 1) * sizeof(*b->tmp));
	b->weight = cp_xmalloc((cap + 1) * sizeof(*b->weight));
	b->kc = cp_xmalloc((cap + 1) * sizeof(*b->kc));
	/* frames of no (or negative) weight take no room */
	for (size_t s = 0; s < b->nsrc; s++) {
		for (size_t i = 0; i < F->src[s].ng; i++) {
			uint32_t it = (uint32_t)(i + (s ? b->nfirst : 0));
			b->weight[it] = (double)F->src[s].g[i].weight * F->src[s].scale;
			if (F->src[s].g[i].weight > 0)
				b->items[b->nitems++] = it;
		}
	}
	memcpy(b->items + b->nitems, b->items, b->nitems * sizeof(*b->items));
}

int cp_format_flame_write(FILE *out, struct cp_view *v, struct cp_view *base,
			  const struct cp_flame_opts *o, const char *what, struct cp_error *err)
{
	struct flame F;
	memset(&F, 0, sizeof(F));
	F.out = out;
	F.diff = base != NULL;
	resolve_opts(&F, o, v);
	cp_intern_init(&F.ct.keys);
	cp_intern_init(&F.colours);
	cp_intern_init(&F.names);
	src_init(&F.src[0], v, &F.ct);
	if (base) {
		src_init(&F.src[1], base, &F.ct);
		if (o && o->normalize && F.src[1].total > 0 && F.src[0].total > 0)
			F.src[1].scale = (double)F.src[0].total / (double)F.src[1].total;
	}
	build_items(&F);
	F.canon_name = cp_xmalloc((F.ct.v.n + 1) * sizeof(uint32_t));
	F.canon_colour = cp_xmalloc((F.ct.v.n + 1) * sizeof(uint32_t));
	memset(F.canon_name, 0xff, (F.ct.v.n + 1) * sizeof(uint32_t));
	memset(F.canon_colour, 0xff, (F.ct.v.n + 1) * sizeof(uint32_t));
	bool reverse = o && o->reverse;
	tree_build(&F.bd, &F.t[0], reverse, F.minwidth, F.width - 2 * XPAD);
	tree_build(&F.bd, &F.t[1], !reverse, F.minwidth, F.width - 2 * XPAD);
	uint32_t levels = CP_MAX(F.t[0].maxdepth, F.t[1].maxdepth) + 1;
	F.ypad1 = F.fs * 3 + (F.subtitle ? F.fs * 2 : 0);
	F.ypad2 = F.fs * 2 + 10;
	F.height = F.ypad1 + levels * F.fh + F.ypad2;
	write_svg(&F);

	for (int i = 0; i < 2; i++)
		tree_release(&F.t[i]);
	free(F.bd.items);
	free(F.bd.keys);
	free(F.bd.tmp);
	free(F.bd.weight);
	free(F.bd.kc);
	free(F.canon_name);
	free(F.canon_colour);
	src_release(&F.src[0]);
	if (base)
		src_release(&F.src[1]);
	CP_VEC_FREE(F.ct.v);
	cp_buf_release(&F.ct.scratch);
	cp_intern_release(&F.ct.keys);
	cp_intern_release(&F.colours);
	cp_intern_release(&F.names);
	cp_buf_release(&F.b);
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}
