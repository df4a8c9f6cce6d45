/* callgrind.c - the callgrind format (valgrind's callgrind_annotate and
 * KCachegrind read it) of a view, as `pprof -callgrind` writes a profile:
 * one block per function with its self cost per source line and, per call
 * site, the inclusive cost of the calls it made.
 *
 * Functions are the view's frames (inline frames are functions of their
 * own, called from the line they were inlined at); costs are the view's
 * weights.  A sample counts for the call into a function only where the
 * function first appears from the root: readers add up the calls into a
 * function to get its inclusive cost, so with recursion (f -> f, or
 * f -> g -> f) counting every call would count a sample twice.  (Callgrind
 * itself gives recursion levels names of their own, f'2; pprof counts
 * each caller -> callee pair once per sample, which still counts f's
 * samples twice in f -> g -> f.)  This file only writes: callgrind files
 * are not read.
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A self cost (callee CP_NONE) or a call edge of one function at one line. */
struct cost {
	uint32_t frame;  /* the function (the caller of an edge) */
	uint32_t callee; /* CP_NONE for self cost */
	int64_t line;    /* source line of the cost (the call site of an edge) */
	int64_t cost;
	uint64_t calls; /* edges: samples through the edge */
};

struct cost_key {
	uint32_t frame, callee;
	int64_t line;
};

struct cg {
	struct cp_view *v;
	const struct cp_profile *p;
	struct cp_intern index; /* cost_key -> index in costs */
	CP_VEC(struct cost) costs;
	CP_VEC(size_t) stamp;        /* per view frame id: group + 1 that last counted it */
	CP_VEC(uint8_t) used;        /* per view frame id: has a block */
	CP_VEC(char *) names;        /* per view frame id: fn name (disambiguated) */
	struct cp_intern fl, fn, ob; /* name compression tables: id + 1 */
};

static void add_cost(struct cg *c, uint32_t frame, uint32_t callee, int64_t line, int64_t w,
		     uint64_t samples)
{
	struct cost_key k;
	memset(&k, 0, sizeof(k));
	k.frame = frame;
	k.callee = callee;
	k.line = line > 0 ? line : 0;
	bool added;
	uint32_t i = cp_intern_add(&c->index, &k, sizeof(k), &added);
	if (added) {
		struct cost nc = { .frame = frame, .callee = callee, .line = k.line };
		CP_VEC_PUSH(c->costs, nc);
	}
	c->costs.v[i].cost += w;
	c->costs.v[i].calls += samples;
}

static void mark_used(struct cg *c, uint32_t frame)
{
	if (frame >= c->used.n) {
		size_t old = c->used.n;
		CP_VEC_RESERVE(c->used, (size_t)frame + 1);
		CP_VEC_RESERVE(c->stamp, (size_t)frame + 1);
		memset(c->used.v + old, 0, (size_t)frame + 1 - old);
		memset(c->stamp.v + old, 0, ((size_t)frame + 1 - old) * sizeof(*c->stamp.v));
		c->used.n = c->stamp.n = (size_t)frame + 1;
	}
	c->used.v[frame] = 1;
}

/* Whether this group is the first to reach the frame (marked used). */
static bool first_in_group(struct cg *c, uint32_t frame, size_t group)
{
	mark_used(c, frame);
	if (c->stamp.v[frame] == group + 1)
		return false;
	c->stamp.v[frame] = group + 1;
	return true;
}

static void collect(struct cg *c)
{
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(c->v, &ng);
	for (size_t i = 0; i < ng; i++) {
		/* callgrind costs are counts: nothing to draw for <= 0 */
		if (g[i].weight <= 0)
			continue;
		uint32_t n;
		const struct cp_view_stack_frame *fr = cp_view_stack_frames(c->v, g[i].stack, &n);
		if (!n)
			continue;
		add_cost(c, fr[0].frame, CP_NONE, fr[0].line, g[i].weight, g[i].samples);
		mark_used(c, fr[0].frame);
		/* from the outermost frame in: the call into a function counts
		 * where it first appears */
		first_in_group(c, fr[n - 1].frame, i);
		for (uint32_t k = n - 1; k > 0; k--) {
			if (!first_in_group(c, fr[k - 1].frame, i))
				continue;
			add_cost(c, fr[k].frame, fr[k - 1].frame, fr[k].line, g[i].weight,
				 g[i].samples ? g[i].samples : 1);
		}
	}
}

static int cost_cmp(const void *pa, const void *pb)
{
	const struct cost *a = pa, *b = pb;
	if (a->frame != b->frame)
		return a->frame < b->frame ? -1 : 1;
	/* self costs first, then the calls */
	if ((a->callee == CP_NONE) != (b->callee == CP_NONE))
		return a->callee == CP_NONE ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->callee < b->callee ? -1 : a->callee > b->callee;
}

/* A name on one line: newlines would end the record. */
static char *one_line(const char *s)
{
	char *d = cp_xstrdup(s && s[0] ? s : "???");
	for (char *q = d; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	return d;
}

static const char *frame_file(const struct cg *c, uint32_t frame)
{
	const struct cp_view_frame *f = cp_view_frame(c->v, frame);
	if (f->function == CP_NONE || f->function >= c->p->functions.n)
		return "";
	return c->p->functions.v[f->function].filename;
}

static const char *frame_object(const struct cg *c, uint32_t frame)
{
	const struct cp_view_frame *f = cp_view_frame(c->v, frame);
	return f->path && f->path[0] ? f->path : f->module;
}

/* Callgrind merges functions of the same object, file and name: frames
 * that would merge (static functions of one name in one file, say) get
 * a " [i/n]" suffix, as pprof gives them. */
static void name_frames(struct cg *c)
{
	struct cp_intern keys;
	CP_VEC(uint32_t) count = { 0 };
	CP_VEC(uint32_t) key_of = { 0 };
	cp_intern_init(&keys);
	struct cp_buf b = { 0 };
	for (size_t f = 0; f < c->used.n; f++) {
		uint32_t id = CP_NONE;
		if (c->used.v[f]) {
			const char *parts[] = { frame_object(c, (uint32_t)f),
						frame_file(c, (uint32_t)f),
						cp_view_frame(c->v, (uint32_t)f)->name };
			b.len = 0;
			for (size_t i = 0; i < CP_ARRAY_SIZE(parts); i++)
				cp_buf_add(&b, parts[i], strlen(parts[i]) + 1);
			bool added;
			id = cp_intern_add(&keys, b.p, b.len, &added);
			if (added)
				CP_VEC_PUSH(count, 0);
			count.v[id]++;
		}
		CP_VEC_PUSH(key_of, id);
	}
	CP_VEC(uint32_t) seen = { 0 };
	CP_VEC_RESERVE(seen, count.n + 1);
	memset(seen.v, 0, (count.n + 1) * sizeof(*seen.v));
	for (size_t f = 0; f < c->used.n; f++) {
		char *name = NULL;
		uint32_t id = key_of.v[f];
		if (id != CP_NONE) {
			char *base = one_line(cp_view_frame(c->v, (uint32_t)f)->name);
			if (count.v[id] > 1) {
				name = cp_xasprintf("%s [%" PRIu32 "/%" PRIu32 "]", base,
						    ++seen.v[id], count.v[id]);
				free(base);
			} else {
				name = base;
			}
		}
		CP_VEC_PUSH(c->names, name);
	}
	CP_VEC_FREE(seen);
	CP_VEC_FREE(count);
	CP_VEC_FREE(key_of);
	cp_buf_release(&b);
	cp_intern_release(&keys);
}

/* "(id) name" the first time a name is written, "(id)" after that. */
static void put_name(FILE *out, const char *tag, struct cp_intern *t, const char *name)
{
	char *clean = one_line(name);
	bool added;
	uint32_t id = cp_intern_add(t, clean, strlen(clean), &added);
	if (added)
		fprintf(out, "%s=(%" PRIu32 ") %s\n", tag, id + 1, clean);
	else
		fprintf(out, "%s=(%" PRIu32 ")\n", tag, id + 1);
	free(clean);
}

static int64_t start_line(const struct cg *c, uint32_t frame)
{
	const struct cp_view_frame *f = cp_view_frame(c->v, frame);
	if (f->function == CP_NONE || f->function >= c->p->functions.n)
		return 0;
	int64_t l = c->p->functions.v[f->function].start_line;
	return l > 0 ? l : 0;
}

/* The event's name: the value type's, one word. */
static char *event_name(const struct cp_profile *p, uint32_t vi, const char **unit)
{
	const char *type = "samples";
	*unit = "count";
	if (vi != CP_NONE && vi < p->value_types.n && p->value_types.v[vi].type[0]) {
		type = p->value_types.v[vi].type;
		*unit = p->value_types.v[vi].unit;
	}
	char *e = cp_xstrdup(type);
	for (char *q = e; *q; q++)
		if (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == ':')
			*q = '_';
	return e;
}

static void write_header(FILE *out, const struct cg *c)
{
	const struct cp_profile_meta *m = &c->p->meta;
	const char *unit;
	char *ev = event_name(c->p, cp_view_options(c->v)->value_index, &unit);
	fprintf(out, "# callgrind format\nversion: 1\ncreator: cprof " CP_VERSION "\n");
	if (m->command && m->command[0]) {
		char *cmd = one_line(m->command);
		fprintf(out, "cmd: %s\n", cmd);
		free(cmd);
	}
	fprintf(out, "positions: line\n");
	if (unit && unit[0]) {
		char *u = one_line(unit);
		fprintf(out, "event: %s : %s (%s)\n", ev, ev, u);
		free(u);
	}
	fprintf(out, "events: %s\n", ev);
	free(ev);
}

static void write_blocks(FILE *out, struct cg *c, int64_t total)
{
	fprintf(out, "summary: %" PRId64 "\n", total);
	if (c->costs.n)
		qsort(c->costs.v, c->costs.n, sizeof(*c->costs.v), cost_cmp);
	uint32_t cur = CP_NONE;
	for (size_t i = 0; i < c->costs.n; i++) {
		const struct cost *k = &c->costs.v[i];
		if (k->frame != cur) {
			cur = k->frame;
			fputc('\n', out);
			put_name(out, "ob", &c->ob, frame_object(c, cur));
			put_name(out, "fl", &c->fl, frame_file(c, cur));
			put_name(out, "fn", &c->fn, c->names.v[cur]);
		}
		if (k->callee == CP_NONE) {
			if (k->cost)
				fprintf(out, "%" PRId64 " %" PRId64 "\n", k->line, k->cost);
			continue;
		}
		/* the callee's object and file only when they differ from the
		 * caller's, as callgrind writes them: callgrind_annotate takes
		 * the current directory off fl= names but not off cfl= ones,
		 * so a repeated file would name another function */
		if (strcmp(frame_object(c, k->callee), frame_object(c, cur)))
			put_name(out, "cob", &c->ob, frame_object(c, k->callee));
		if (strcmp(frame_file(c, k->callee), frame_file(c, cur)))
			put_name(out, "cfl", &c->fl, frame_file(c, k->callee));
		put_name(out, "cfn", &c->fn, c->names.v[k->callee]);
		fprintf(out, "calls=%" PRIu64 " %" PRId64 "\n", k->calls ? k->calls : 1,
			start_line(c, k->callee));
		fprintf(out, "%" PRId64 " %" PRId64 "\n", k->line, k->cost);
	}
}

int cp_format_callgrind_write(FILE *out, struct cp_view *v, const char *what, struct cp_error *err)
{
	struct cg c;
	memset(&c, 0, sizeof(c));
	c.v = v;
	c.p = cp_view_profile(v);
	cp_intern_init(&c.index);
	cp_intern_init(&c.fl);
	cp_intern_init(&c.fn);
	cp_intern_init(&c.ob);
	collect(&c);
	name_frames(&c);
	int64_t total = 0;
	for (size_t i = 0; i < c.costs.n; i++)
		if (c.costs.v[i].callee == CP_NONE)
			total += c.costs.v[i].cost;
	write_header(out, &c);
	write_blocks(out, &c, total);
	for (size_t i = 0; i < c.names.n; i++)
		free(c.names.v[i]);
	CP_VEC_FREE(c.names);
	CP_VEC_FREE(c.costs);
	CP_VEC_FREE(c.stamp);
	CP_VEC_FREE(c.used);
	cp_intern_release(&c.index);
	cp_intern_release(&c.fl);
	cp_intern_release(&c.fn);
	cp_intern_release(&c.ob);
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}
