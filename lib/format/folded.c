/* folded.c - folded stacks, the input of FlameGraph's flamegraph.pl (and of
 * `cprof flame`): "root;caller;leaf COUNT" per distinct stack.
 *
 * The writer takes stacks from a view (filters, inline handling and
 * weights are the view's); it renders frame names with escapes and
 * annotations, merges stacks whose text is equal and sorts the lines.
 * The reader turns such lines back into a profile: one location per
 * distinct frame (or run of inlined frames), one sample per line.  It is
 * built for big inputs: one pass over the buffer, frame texts looked up in
 * a reader-local hash table that points into the input, no allocation per
 * frame.  Neither side knows about any other format.
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ------------------------------------------------------------------ */

/* Escape a name so that cp_format_folded_read gives it back. */
static void add_name(struct cp_buf *b, const char *s)
{
	size_t n = strlen(s);
	cp_buf_reserve(b, 2 * n);
	uint8_t *o = b->p + b->len;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' || c == ';') {
			*o++ = '\\';
		} else if (c == '\n' || c == '\r') {
			c = ' ';
		}
		*o++ = (uint8_t)c;
	}
	b->len = (size_t)(o - b->p);
}

/* The thread frame stackcollapse-perf.pl puts first: "comm", "comm-PID" or
 * "comm-PID/TID", spaces in the name turned into '_'.  A pid of 0 is
 * unknown (perf script's default output has only the tid) and written "?"
 * as stackcollapse-perf.pl does. */
static void add_root(struct cp_buf *b, const struct cp_view_group *g, enum cp_folded_root root)
{
	const char *comm = g->comm && g->comm[0] ? g->comm : "[unknown]";
	for (const char *s = comm; *s; s++) {
		char c = *s;
		if (c == ' ' || c == '\n' || c == '\r')
			c = '_';
		else if (c == '\\' || c == ';')
			cp_buf_add_u8(b, '\\');
		cp_buf_add_u8(b, (uint8_t)c);
	}
	if (root == CP_FOLDED_ROOT_COMM)
		return;
	char num[32];
	int n;
	if (g->pid)
		n = snprintf(num, sizeof(num), "-%" PRIu32, g->pid);
	else
		n = snprintf(num, sizeof(num), "-?");
	cp_buf_add(b, num, (size_t)n);
	if (root == CP_FOLDED_ROOT_TID) {
		n = snprintf(num, sizeof(num), "/%" PRIu32, g->tid);
		cp_buf_add(b, num, (size_t)n);
	}
}

struct folded_line {
	uint64_t samples;
	int64_t weight;
};

static int line_cmp(const void *pa, const void *pb, void *arg)
{
	const struct cp_intern *texts = arg;
	return strcmp(cp_intern_get(texts, *(const uint32_t *)pa),
		      cp_intern_get(texts, *(const uint32_t *)pb));
}

/* Annotation flags of each mapping path (pointers are interned, so the
 * pointer is the key). */
static void mapping_flags(const struct cp_profile *p, struct cp_u64map *m)
{
	for (size_t i = 0; i < p->mappings.n; i++) {
		uint32_t f = p->mappings.v[i].flags & (CP_MAP_KERNEL | CP_MAP_JIT);
		if (!f || !p->mappings.v[i].path[0])
			continue;
		bool added;
		uint64_t *slot = cp_u64map_upsert(m, (uint64_t)(uintptr_t)p->mappings.v[i].path, 0,
						  &added);
		*slot |= f;
	}
}

static const char *frame_mark(struct cp_view *v, const struct cp_view_stack_frame *sf,
			      const struct cp_u64map *flags)
{
	if (sf->inlined)
		return "_[i]";
	if (!flags->n)
		return NULL;
	const struct cp_view_frame *f = cp_view_frame(v, sf->frame);
	if (!f->path || !f->path[0])
		return NULL;
	const uint64_t *fl = cp_u64map_find(flags, (uint64_t)(uintptr_t)f->path);
	if (!fl)
		return NULL;
	if (*fl & CP_MAP_KERNEL)
		return "_[k]";
	if (*fl & CP_MAP_JIT)
		return "_[j]";
	return NULL;
}

/* A view like v whose groups carry the thread fields the root frame needs. */
static struct cp_view *root_view(struct cp_view *v, enum cp_folded_root root,
				 struct cp_error *err)
{
	struct cp_view_opts o = *cp_view_options(v);
	o.nkeys = 0;
	o.keys[o.nkeys++] = CP_VIEW_KEY_COMM;
	if (root != CP_FOLDED_ROOT_COMM)
		o.keys[o.nkeys++] = CP_VIEW_KEY_PID;
	if (root == CP_FOLDED_ROOT_TID)
		o.keys[o.nkeys++] = CP_VIEW_KEY_TID;
	o.keys[o.nkeys++] = CP_VIEW_KEY_FUNCTION;
	return cp_view_new(cp_view_profile(v), &o, err);
}

int cp_format_folded_write(FILE *out, struct cp_view *v, const struct cp_folded_opts *o,
			   const char *what, struct cp_error *err)
{
	static const struct cp_folded_opts defaults = { 0 };
	if (!o)
		o = &defaults;
	struct cp_view *rv = NULL;
	if (o->root != CP_FOLDED_ROOT_NONE) {
		rv = root_view(v, o->root, err);
		if (!rv)
			return err ? err->code : CP_E_FAIL;
		v = rv;
	}
	struct cp_u64map flags;
	cp_u64map_init(&flags);
	if (o->mark_inline)
		mapping_flags(cp_view_profile(v), &flags);

	struct cp_intern texts;
	CP_VEC(struct folded_line) lines = { 0 };
	struct cp_buf b = { 0 };
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	cp_intern_init(&texts);
	for (size_t i = 0; i < ng; i++) {
		uint32_t n;
		const struct cp_view_stack_frame *fr = cp_view_stack_frames(v, g[i].stack, &n);
		b.len = 0;
		if (rv) {
			add_root(&b, &g[i], o->root);
			cp_buf_add_u8(&b, ';');
		}
		for (uint32_t k = n; k-- > 0;) {
			add_name(&b, cp_view_frame(v, fr[k].frame)->name);
			if (o->mark_inline) {
				const char *mark = frame_mark(v, &fr[k], &flags);
				if (mark)
					cp_buf_add(&b, mark, 4);
			}
			if (k)
				cp_buf_add_u8(&b, ';');
		}
		bool added;
		uint32_t id = cp_intern_add(&texts, b.p, b.len, &added);
		if (added) {
			struct folded_line l = { 0 };
			CP_VEC_PUSH(lines, l);
		}
		lines.v[id].samples += g[i].samples;
		lines.v[id].weight += g[i].weight;
	}
	uint32_t *order = cp_xmalloc((lines.n + 1) * sizeof(*order));
	size_t nout = 0;
	for (size_t i = 0; i < lines.n; i++)
		if (lines.v[i].weight != 0)
			order[nout++] = (uint32_t)i;
	qsort_r(order, nout, sizeof(*order), line_cmp, &texts);
	bool weights = o->weights;
	for (size_t i = 0; i < nout; i++) {
		const struct folded_line *l = &lines.v[order[i]];
		fputs(cp_intern_get(&texts, order[i]), out);
		if (weights)
			fprintf(out, " %" PRId64 "\n", l->weight);
		else
			fprintf(out, " %" PRIu64 "\n", l->samples);
	}
	free(order);
	CP_VEC_FREE(lines);
	cp_buf_release(&b);
	cp_intern_release(&texts);
	cp_u64map_release(&flags);
	cp_view_free(rv);
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}

/* ---- reader ------------------------------------------------------------------ */

/* Reader-local table: raw frame text (as in the input, escapes and
 * annotations included) -> location.  Keys point into the input buffer. */
struct frame_slot {
	const char *key; /* NULL = empty */
	uint64_t hash;
	uint64_t head; /* the first 8 bytes, zero-padded */
	uint32_t len;
	uint32_t loc;
};

struct folded_reader {
	struct cp_profile *p;
	struct frame_slot *slots;
	size_t nslots, n;
	uint32_t kernel_map, jit_map; /* CP_NONE until needed */
	CP_VEC(uint32_t) locs;        /* the line's locations, root first */
	CP_VEC(struct cp_profile_line) chain;
	struct cp_buf name; /* unescaped name scratch */
	const char *limit;  /* end of the input */
};

/* The bytes s[0..n) (n <= 8) as a little word, zero-padded; one load when
 * the input has 8 bytes from s. */
static inline uint64_t load_word(const char *s, size_t n, const char *limit)
{
	uint64_t w = 0;
	if (limit - s >= 8) {
		memcpy(&w, s, 8);
		if (n < 8)
			w &= (UINT64_C(1) << (8 * n)) - 1;
	} else {
		for (size_t i = 0; i < n; i++)
			w |= (uint64_t)(uint8_t)s[i] << (8 * i);
	}
	return w;
}

/* Frame names are short: hash them a word at a time. */
static inline uint64_t hash_text(const char *s, size_t n, const char *limit, uint64_t *head)
{
	uint64_t w = load_word(s, CP_MIN(n, 8), limit);
	*head = w;
	uint64_t h = (w ^ n) * 0x9e3779b97f4a7c15ULL;
	for (size_t i = 8; i < n; i += 8) {
		w = load_word(s + i, CP_MIN(n - i, 8), limit);
		h = (h ^ (h >> 29) ^ w) * 0xbf58476d1ce4e5b9ULL;
	}
	return h ^ (h >> 32);
}

static void table_grow(struct folded_reader *r)
{
	size_t ns = r->nslots ? r->nslots * 2 : 1024;
	struct frame_slot *s = cp_xcalloc(ns, sizeof(*s));
	for (size_t i = 0; i < r->nslots; i++) {
		if (!r->slots[i].key)
			continue;
		size_t j = r->slots[i].hash & (ns - 1);
		while (s[j].key)
			j = (j + 1) & (ns - 1);
		s[j] = r->slots[i];
	}
	free(r->slots);
	r->slots = s;
	r->nslots = ns;
}

static inline bool ends_with_mark(const char *s, size_t n, char c)
{
	return n >= 4 && s[n - 4] == '_' && s[n - 3] == '[' && s[n - 2] == c && s[n - 1] == ']';
}

/* A frame's name without its annotation, unescaped, NUL-terminated. */
static const char *frame_name(struct folded_reader *r, const char *s, size_t n)
{
	if (ends_with_mark(s, n, 'i') || ends_with_mark(s, n, 'k') || ends_with_mark(s, n, 'j'))
		n -= 4;
	r->name.len = 0;
	cp_buf_reserve(&r->name, n + 1);
	uint8_t *o = r->name.p;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '\\' || s[i + 1] == ';'))
			i++;
		*o++ = (uint8_t)s[i];
	}
	*o = 0;
	return (const char *)r->name.p;
}

static uint32_t special_mapping(struct folded_reader *r, bool kernel)
{
	uint32_t *m = kernel ? &r->kernel_map : &r->jit_map;
	if (*m == CP_NONE) {
		struct cp_profile_mapping mp = {
			.path = kernel ? "[kernel.kallsyms]" : "[jit]",
			.build_id = "",
			.flags = kernel ? CP_MAP_KERNEL : CP_MAP_JIT,
		};
		*m = cp_profile_add_mapping(r->p, &mp);
	}
	return *m;
}

/* Create the location of a run of frames: frames[0] the real function,
 * frames[1..] inlined into the one before (root first). */
static uint32_t new_location(struct folded_reader *r, const char *run, size_t len)
{
	struct cp_profile *p = r->p;
	r->chain.n = 0;
	const char *end = run + len, *s = run;
	uint32_t mapping = CP_NONE;
	bool first = true;
	while (s <= end) {
		const char *e = s;
		while (e < end && *e != ';')
			e += *e == '\\' && e + 1 < end ? 2 : 1;
		size_t n = (size_t)(e - s);
		if (first) {
			if (ends_with_mark(s, n, 'k'))
				mapping = special_mapping(r, true);
			else if (ends_with_mark(s, n, 'j'))
				mapping = special_mapping(r, false);
		}
		const char *name = frame_name(r, s, n);
		struct cp_profile_line l = {
			.function = cp_profile_add_function(p, name, name, "", 0),
			.inlined = !first,
		};
		CP_VEC_PUSH(r->chain, l);
		first = false;
		s = e + 1;
	}
	/* innermost first: reverse the root-first run; the real function
	 * (last after reversing) is not an inlined call */
	size_t n = r->chain.n;
	for (size_t i = 0; i < n / 2; i++) {
		struct cp_profile_line t = r->chain.v[i];
		r->chain.v[i] = r->chain.v[n - 1 - i];
		r->chain.v[n - 1 - i] = t;
	}
	for (size_t i = 0; i < n; i++)
		r->chain.v[i].inlined = i + 1 < n;
	return cp_profile_add_location(p, mapping, 0, r->chain.v, (uint32_t)n);
}

static uint32_t run_location(struct folded_reader *r, const char *run, size_t len)
{
	if ((r->n + 1) * 2 > r->nslots)
		table_grow(r);
	uint64_t head;
	uint64_t h = hash_text(run, len, r->limit, &head);
	size_t mask = r->nslots - 1, i = h & mask;
	for (;;) {
		struct frame_slot *s = &r->slots[i];
		if (!s->key)
			break;
		if (s->hash == h && s->head == head && s->len == len &&
		    (len <= 8 || !memcmp(s->key + 8, run + 8, len - 8)))
			return s->loc;
		i = (i + 1) & mask;
	}
	uint32_t loc = new_location(r, run, len);
	r->slots[i] = (struct frame_slot){
		.key = run, .hash = h, .head = head, .len = (uint32_t)len, .loc = loc
	};
	r->n++;
	return loc;
}

/* The first ';' in [s, end), or end; eight bytes at a time while the
 * input lasts (the lowest flagged byte of the zero-byte test is exact). */
static inline const char *find_semicolon(const char *s, const char *end, const char *limit)
{
	while (limit - s >= 8 && s < end) {
		uint64_t w;
		memcpy(&w, s, 8);
		uint64_t x = w ^ 0x3b3b3b3b3b3b3b3bULL;
		uint64_t z = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
		if (z) {
			const char *e = s + (__builtin_ctzll(z) >> 3);
			return e < end ? e : end;
		}
		s += 8;
	}
	while (s < end && *s != ';')
		s++;
	return s < end ? s : end;
}

/* Split the stack text (root first) into frames; a frame ending in "_[i]"
 * joins the run of the frame before it. */
static void parse_stack(struct folded_reader *r, const char *s, const char *end, bool escapes)
{
	r->locs.n = 0;
	const char *run = NULL, *run_end = NULL;
	while (s <= end) {
		const char *e;
		if (!escapes) {
			e = find_semicolon(s, end, r->limit);
		} else {
			e = s;
			while (e < end && *e != ';')
				e += *e == '\\' && e + 1 < end ? 2 : 1;
		}
		if (run && ends_with_mark(s, (size_t)(e - s), 'i')) {
			run_end = e;
		} else {
			if (run)
				CP_VEC_PUSH(r->locs, run_location(r, run, (size_t)(run_end - run)));
			run = s;
			run_end = e;
		}
		s = e + 1;
	}
	if (run)
		CP_VEC_PUSH(r->locs, run_location(r, run, (size_t)(run_end - run)));
}

static int line_error(struct cp_error *err, const char *name, size_t lineno, const char *fmt, ...)
	CP_PRINTF(4, 5);
static int line_error(struct cp_error *err, const char *name, size_t lineno, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cp_error_set(err, CP_E_FORMAT, "'%s' line %zu: %s", name, lineno, what);
}

int cp_format_folded_read(const void *buf, size_t len, const char *name, struct cp_profile **out,
			  struct cp_error *err)
{
	*out = NULL;
	if (!name)
		name = "input";
	struct folded_reader r = { .kernel_map = CP_NONE, .jit_map = CP_NONE };
	r.limit = (const char *)buf + len;
	struct cp_profile *p = r.p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	const char *s = buf, *end = s + len;
	size_t lineno = 0;
	int64_t total = 0; /* views add the counts up: keep the sum in range */
	int ret = 0;
	while (s < end) {
		lineno++;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
		if (le > s && le[-1] == '\r')
			le--;
		const char *line = s;
		s = next;
		if (le == line || line[0] == '#')
			continue;
		const char *sp = memrchr(line, ' ', (size_t)(le - line));
		if (!sp || sp + 1 == le) {
			ret = line_error(err, name, lineno, "missing count after the stack");
			break;
		}
		const char *c = sp + 1;
		uint64_t count = 0;
		bool bad = false;
		for (const char *q = c; q < le; q++) {
			if (*q < '0' || *q > '9' || count > (UINT64_C(1) << 62)) {
				bad = true;
				break;
			}
			count = count * 10 + (uint64_t)(*q - '0');
		}
		if (bad || count > INT64_MAX) {
			ret = line_error(err, name, lineno, "count '%.*s' is not a number",
					 (int)CP_MIN(le - c, 64), c);
			break;
		}
		if ((int64_t)count > INT64_MAX - total) {
			ret = line_error(err, name, lineno, "counts add up to more than 2^63");
			break;
		}
		total += (int64_t)count;
		if (sp == line) {
			ret = line_error(err, name, lineno, "empty stack");
			break;
		}
		bool escapes = memchr(line, '\\', (size_t)(sp - line)) != NULL;
		parse_stack(&r, line, sp, escapes);
		/* the model's stacks are leaf first */
		uint32_t *l = r.locs.v;
		for (size_t i = 0, j = r.locs.n - 1; i < j; i++, j--) {
			uint32_t t = l[i];
			l[i] = l[j];
			l[j] = t;
		}
		struct cp_profile_sample smp = { .stack = cp_profile_add_stack(p, l,
									       (uint32_t)r.locs.n) };
		int64_t v = (int64_t)count;
		cp_profile_add_sample(p, &smp, &v);
	}
	free(r.slots);
	CP_VEC_FREE(r.locs);
	CP_VEC_FREE(r.chain);
	cp_buf_release(&r.name);
	if (ret) {
		cp_profile_free(p);
		return ret;
	}
	*out = p;
	return 0;
}
