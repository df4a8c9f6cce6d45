/* test_view.c - lib/profile views: frames, filters, top table, call tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

/* A small cpu_split-like profile:
 *   main -> run_rounds -> hot_sixty   6 samples
 *   main -> run_rounds -> hot_thirty  3 samples (pid 2, comm "other")
 *   main -> run_rounds -> hot_ten -> mix (inlined into hot_ten)  1 sample
 *   main -> rec -> rec -> rec         2 samples (recursion)
 *   an unsymbolized address in the binary, and one without a mapping
 * Weights (cpu ns) are 1000 per sample, except the hot_ten sample: 5000. */
struct fx {
	struct cp_profile *p;
	uint32_t map, libc;
	uint32_t f_main, f_run, f_sixty, f_thirty, f_ten, f_mix, f_rec, f_memcpy;
	uint32_t l_main, l_run, l_sixty, l_thirty, l_tenmix, l_rec1, l_rec2, l_unk, l_nomap,
		l_memcpy;
};

static uint32_t loc1(struct fx *x, uint32_t map, uint64_t addr, uint32_t fn)
{
	struct cp_profile_line l = { .function = fn, .line = 10 };
	return cp_profile_add_location(x->p, map, addr, &l, 1);
}

static void add(struct fx *x, const uint32_t *locs, uint32_t n, uint32_t pid, uint32_t tid,
		const char *comm, int64_t cpu, int count)
{
	uint32_t st = cp_profile_add_stack(x->p, locs, n);
	for (int i = 0; i < count; i++) {
		struct cp_profile_sample s = {
			.stack = st,
			.pid = pid,
			.tid = tid,
			.comm = cp_profile_intern(x->p, comm),
		};
		int64_t vals[2] = { 1, cpu };
		cp_profile_add_sample(x->p, &s, vals);
	}
}

static void fx_build(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	struct cp_profile *p = x->p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	struct cp_profile_mapping m = { .path = "/usr/bin/cpu_split_nofp", .build_id = "" };
	x->map = cp_profile_add_mapping(p, &m);
	m.path = "/lib/x86_64-linux-gnu/libc.so.6";
	x->libc = cp_profile_add_mapping(p, &m);
	x->f_main = cp_profile_add_function(p, "main", "main", "a.c", 1);
	x->f_run = cp_profile_add_function(p, "run_rounds", "run_rounds", "a.c", 2);
	x->f_sixty = cp_profile_add_function(p, "hot_sixty", "hot_sixty", "a.c", 3);
	x->f_thirty = cp_profile_add_function(p, "hot_thirty", "hot_thirty", "a.c", 4);
	x->f_ten = cp_profile_add_function(p, "hot_ten", "hot_ten", "a.c", 5);
	x->f_mix = cp_profile_add_function(p, "mix", "mix", "a.c", 6);
	x->f_rec = cp_profile_add_function(p, "rec", "rec", "a.c", 7);
	x->f_memcpy = cp_profile_add_function(p, "memcpy", "memcpy", "", 0);
	x->l_main = loc1(x, x->map, 0x1000, x->f_main);
	x->l_run = loc1(x, x->map, 0x1100, x->f_run);
	x->l_sixty = loc1(x, x->map, 0x1200, x->f_sixty);
	x->l_thirty = loc1(x, x->map, 0x1300, x->f_thirty);
	struct cp_profile_line chain[2] = {
		{ .function = x->f_mix, .line = 60, .inlined = true },
		{ .function = x->f_ten, .line = 50 },
	};
	x->l_tenmix = cp_profile_add_location(p, x->map, 0x1400, chain, 2);
	x->l_rec1 = loc1(x, x->map, 0x1500, x->f_rec);
	x->l_rec2 = loc1(x, x->map, 0x1510, x->f_rec);
	x->l_unk = cp_profile_add_location(p, x->map, 0xbeef, NULL, 0);
	x->l_nomap = cp_profile_add_location(p, CP_NONE, 0xdead, NULL, 0);
	x->l_memcpy = loc1(x, x->libc, 0x9000, x->f_memcpy);

	uint32_t s1[] = { x->l_sixty, x->l_run, x->l_main };
	uint32_t s2[] = { x->l_thirty, x->l_run, x->l_main };
	uint32_t s3[] = { x->l_tenmix, x->l_run, x->l_main };
	uint32_t s4[] = { x->l_rec2, x->l_rec1, x->l_rec2, x->l_main };
	add(x, s1, 3, 1, 1, "split", 1000, 6);
	add(x, s2, 3, 2, 2, "other", 1000, 3);
	add(x, s3, 3, 1, 3, "split", 5000, 1);
	add(x, s4, 4, 1, 1, "split", 1000, 2);
}

static struct cp_view *view_with(struct fx *x, const struct cp_view_opts *o)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(x->p, o, &err);
	assert_non_null(v);
	return v;
}

static const struct cp_view_row *row(const struct cp_view_top *t, const char *name)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (!strcmp(t->rows[i].name, name))
			return &t->rows[i];
	return NULL;
}

static void test_default_value(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	assert_int_equal(cp_view_default_value(p), CP_NONE);
	cp_profile_add_value_type(p, "samples", "count");
	assert_int_equal(cp_view_default_value(p), 0);
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	assert_int_equal(cp_view_default_value(p), 1);
	cp_profile_add_value_type(p, "alloc", "bytes");
	assert_int_equal(cp_view_default_value(p), 0);
	cp_profile_free(p);
}

static void test_top_self_total(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v = view_with(&x, NULL);
	assert_int_equal(cp_view_total(v), 16000);
	assert_int_equal(cp_view_total_samples(v), 12);
	struct cp_view_top *t = cp_view_top(v, 0);
	/* by self: hot_sixty 6000, then hot_ten 5000: the inlined mix is its
	 * code, so (as in perf) the time is hot_ten's own */
	assert_string_equal(t->rows[0].name, "hot_sixty");
	assert_string_equal(t->rows[0].module, "cpu_split_nofp");
	assert_int_equal(t->rows[0].self, 6000);
	assert_int_equal(t->rows[0].total, 6000);
	assert_int_equal(t->rows[0].self_samples, 6);
	assert_string_equal(t->rows[1].name, "hot_ten");
	assert_int_equal(t->rows[1].self, 5000);
	assert_int_equal(t->rows[1].total, 5000);
	const struct cp_view_row *r = row(t, "main");
	assert_non_null(r);
	assert_int_equal(r->self, 0);
	assert_int_equal(r->total, 16000);
	r = row(t, "run_rounds");
	assert_int_equal(r->total, 14000);
	/* inline expansion: the inlined mix frame is a row with a total only */
	r = row(t, "mix");
	assert_non_null(r);
	assert_int_equal(r->self, 0);
	assert_int_equal(r->total, 5000);
	/* recursion: rec appears three times in its stack, counted once */
	r = row(t, "rec");
	assert_int_equal(r->self, 2000);
	assert_int_equal(r->total, 2000);
	assert_int_equal(r->total_samples, 2);
	/* rows with equal self are ordered by total, then by name */
	for (size_t i = 1; i < t->nrows; i++) {
		const struct cp_view_row *a = &t->rows[i - 1], *b = &t->rows[i];
		assert_true(a->self > b->self || (a->self == b->self && a->total > b->total) ||
			    (a->self == b->self && a->total == b->total &&
			     strcmp(a->name, b->name) <= 0));
	}
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_no_inline(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view_opts o = { .value_index = CP_NONE, .no_inline = true };
	struct cp_view *v = view_with(&x, &o);
	struct cp_view_top *t = cp_view_top(v, 0);
	assert_null(row(t, "mix"));
	const struct cp_view_row *r = row(t, "hot_ten");
	assert_non_null(r);
	assert_int_equal(r->self, 5000);
	assert_int_equal(r->total, 5000);
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_frames(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	uint32_t s[] = { x.l_unk, x.l_nomap, x.l_tenmix, x.l_memcpy };
	uint32_t st = cp_profile_add_stack(x.p, s, 4);
	uint32_t r1[] = { x.l_rec1 }, r2[] = { x.l_rec2 };
	uint32_t st1 = cp_profile_add_stack(x.p, r1, 1), st2 = cp_profile_add_stack(x.p, r2, 1);
	struct cp_view *v = view_with(&x, NULL);
	uint32_t n;
	const struct cp_view_stack_frame *f = cp_view_stack_frames(v, st, &n);
	assert_int_equal(n, 5);
	assert_string_equal(cp_view_frame(v, f[0].frame)->name, "cpu_split_nofp+0xbeef");
	assert_string_equal(cp_view_frame(v, f[0].frame)->module, "cpu_split_nofp");
	assert_int_equal(cp_view_frame(v, f[0].frame)->function, CP_NONE);
	assert_string_equal(cp_view_frame(v, f[1].frame)->name, "[unknown]");
	assert_string_equal(cp_view_frame(v, f[1].frame)->module, "[unknown]");
	assert_string_equal(cp_view_frame(v, f[2].frame)->name, "mix");
	assert_true(f[2].inlined);
	assert_string_equal(cp_view_frame(v, f[3].frame)->name, "hot_ten");
	assert_false(f[3].inlined);
	assert_string_equal(cp_view_frame(v, f[4].frame)->name, "memcpy");
	assert_string_equal(cp_view_frame(v, f[4].frame)->module, "libc.so.6");
	/* each occurrence says which location it comes from: both frames of
	 * the inline chain are l_tenmix's */
	assert_int_equal(f[0].loc, x.l_unk);
	assert_int_equal(f[1].loc, x.l_nomap);
	assert_int_equal(f[2].loc, x.l_tenmix);
	assert_int_equal(f[3].loc, x.l_tenmix);
	assert_int_equal(f[4].loc, x.l_memcpy);
	/* a function without any name is shown like an unsymbolized address */
	cp_view_free(v);
	struct cp_profile_line nameless = { .function =
						    cp_profile_add_function(x.p, "", "", "", 0) };
	uint32_t l = cp_profile_add_location(x.p, x.map, 0x777, &nameless, 1);
	uint32_t st3 = cp_profile_add_stack(x.p, &l, 1);
	v = view_with(&x, NULL);
	f = cp_view_stack_frames(v, st3, &n);
	assert_int_equal(n, 1);
	assert_string_equal(cp_view_frame(v, f[0].frame)->name, "cpu_split_nofp+0x777");
	/* the same function at two addresses is one frame */
	uint32_t a = cp_view_stack_frames(v, st1, &n)[0].frame;
	uint32_t b = cp_view_stack_frames(v, st2, &n)[0].frame;
	assert_int_equal(a, b);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_filters(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	uint32_t pid2 = 2, tid3 = 3;
	const char *split = "split";
	struct cp_view_opts o = { .value_index = CP_NONE };
	o.filter.pids = &pid2;
	o.filter.npids = 1;
	assert_true(cp_view_filter_any(x.p, &o.filter));
	struct cp_view *v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 3);
	struct cp_view_top *t = cp_view_top(v, 0);
	assert_string_equal(t->rows[0].name, "hot_thirty");
	assert_int_equal(t->rows[0].self, t->total);
	cp_view_top_free(t);
	cp_view_free(v);

	memset(&o.filter, 0, sizeof(o.filter));
	o.filter.comms = &split;
	o.filter.ncomms = 1;
	v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 9);
	cp_view_free(v);

	/* every given list must match: comm split and tid 3 */
	o.filter.tids = &tid3;
	o.filter.ntids = 1;
	assert_true(cp_view_filter_any(x.p, &o.filter));
	v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 1);
	/* pid 2 has no thread 3: nothing matches */
	o.filter.pids = &pid2;
	o.filter.npids = 1;
	assert_false(cp_view_filter_any(x.p, &o.filter));
	o.filter.pids = NULL;
	o.filter.npids = 0;
	assert_int_equal(cp_view_total(v), 5000);
	cp_view_free(v);

	/* comm is matched exactly, not as a prefix */
	const char *spl = "spl";
	memset(&o.filter, 0, sizeof(o.filter));
	o.filter.comms = &spl;
	o.filter.ncomms = 1;
	v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 0);
	t = cp_view_top(v, 0);
	assert_int_equal(t->nrows, 0);
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_value_index(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view_opts o = { .value_index = 0 };
	struct cp_view *v = view_with(&x, &o);
	assert_int_equal(cp_view_total(v), 12);
	cp_view_free(v);
	struct cp_error err = { 0 };
	o.value_index = 7;
	assert_null(cp_view_new(x.p, &o, &err));
	assert_int_equal(err.code, CP_E_USAGE);
	cp_profile_free(x.p);
}

static void test_parse_keys(void **state)
{
	(void)state;
	enum cp_view_key k[CP_VIEW_MAX_KEYS];
	size_t n = 0;
	struct cp_error err = { 0 };
	assert_int_equal(cp_view_parse_keys("comm,pid,sym,dso,srcline", k, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_int_equal(k[4], CP_VIEW_KEY_SRCLINE);
	assert_int_equal(k[0], CP_VIEW_KEY_COMM);
	assert_int_equal(k[1], CP_VIEW_KEY_PID);
	assert_int_equal(k[2], CP_VIEW_KEY_FUNCTION);
	assert_int_equal(k[3], CP_VIEW_KEY_MODULE);
	assert_int_equal(cp_view_parse_keys("function,tid,module", k, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(k[1], CP_VIEW_KEY_TID);
	assert_int_equal(cp_view_parse_keys("function,bogus", k, &n, &err), CP_E_USAGE);
	assert_non_null(strstr(err.msg, "'bogus'"));
	assert_int_equal(cp_view_parse_keys("sym,function", k, &n, &err), CP_E_USAGE);
	assert_int_equal(cp_view_parse_keys("", k, &n, &err), CP_E_USAGE);
	assert_string_equal(cp_view_key_name(CP_VIEW_KEY_MODULE), "module");
}

static void test_sort_keys(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view_opts o = { .value_index = CP_NONE };
	struct cp_error err = { 0 };
	assert_int_equal(cp_view_parse_keys("comm,pid", o.keys, &o.nkeys, &err), 0);
	struct cp_view *v = view_with(&x, &o);
	struct cp_view_top *t = cp_view_top(v, 0);
	assert_int_equal(t->nrows, 2);
	assert_string_equal(t->rows[0].comm, "split");
	assert_int_equal(t->rows[0].pid, 1);
	assert_int_equal(t->rows[0].self, 13000);
	assert_int_equal(t->rows[0].total, 13000);
	assert_string_equal(t->rows[1].comm, "other");
	assert_int_equal(t->rows[1].pid, 2);
	assert_string_equal(t->rows[1].name, "");
	cp_view_top_free(t);
	cp_view_free(v);

	/* module only: the binary is in every stack; libc in none */
	uint32_t s[] = { x.l_memcpy, x.l_main };
	add(&x, s, 2, 1, 1, "split", 4000, 1);
	assert_int_equal(cp_view_parse_keys("dso", o.keys, &o.nkeys, &err), 0);
	v = view_with(&x, &o);
	t = cp_view_top(v, 0);
	assert_int_equal(t->nrows, 2);
	assert_string_equal(t->rows[0].module, "cpu_split_nofp");
	assert_int_equal(t->rows[0].self, 16000);
	assert_int_equal(t->rows[0].total, 20000);
	assert_string_equal(t->rows[1].module, "libc.so.6");
	assert_int_equal(t->rows[1].self, 4000);
	assert_int_equal(t->rows[1].total, 4000);
	cp_view_top_free(t);
	cp_view_free(v);

	/* function,tid splits a function by thread */
	assert_int_equal(cp_view_parse_keys("tid,function", o.keys, &o.nkeys, &err), 0);
	v = view_with(&x, &o);
	t = cp_view_top(v, 0);
	int mains = 0;
	for (size_t i = 0; i < t->nrows; i++)
		mains += !strcmp(t->rows[i].name, "main");
	assert_int_equal(mains, 3); /* tids 1, 2, 3 */
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_srcline(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view_opts o = { .value_index = CP_NONE };
	struct cp_error err = { 0 };
	assert_int_equal(cp_view_parse_keys("function,srcline", o.keys, &o.nkeys, &err), 0);
	struct cp_view *v = view_with(&x, &o);
	struct cp_view_top *t = cp_view_top(v, 0);
	/* self of the inlined code: hot_ten at mix's line (the innermost one) */
	assert_string_equal(t->rows[1].name, "hot_ten");
	assert_string_equal(t->rows[1].srcline, "a.c:60");
	assert_int_equal(t->rows[1].self, 5000);
	assert_int_equal(t->rows[1].total, 5000);
	bool mix_line = false, ten_call = false;
	for (size_t i = 0; i < t->nrows; i++) {
		const struct cp_view_row *r = &t->rows[i];
		mix_line |= !strcmp(r->name, "mix") && !strcmp(r->srcline, "a.c:60") &&
			    r->total == 5000 && r->self == 0;
		ten_call |= !strcmp(r->name, "hot_ten") && !strcmp(r->srcline, "a.c:50") &&
			    r->total == 5000 && r->self == 0;
		assert_true(r->self <= r->total);
	}
	assert_true(mix_line);
	assert_true(ten_call);
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_percent_limit(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v = view_with(&x, NULL);
	/* totals: rec 12.5%, hot_thirty 18.75%, the rest higher */
	struct cp_view_top *t = cp_view_top(v, 15.0);
	assert_null(row(t, "rec"));
	assert_non_null(row(t, "hot_thirty"));
	assert_int_equal(t->hidden, 1);
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static const struct cp_view_node *child(const struct cp_view_tree *t, uint32_t parent,
					const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].parent == parent && !strcmp(t->nodes[i].name, name))
			return &t->nodes[i];
	return NULL;
}

static uint32_t idx(const struct cp_view_tree *t, const struct cp_view_node *n)
{
	return (uint32_t)(n - t->nodes);
}

static void test_tree(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v = view_with(&x, NULL);
	struct cp_view_tree *t = cp_view_tree(v, false, 0);
	assert_false(t->inverted);
	assert_string_equal(t->nodes[0].name, "main");
	assert_int_equal(t->nodes[0].depth, 0);
	assert_int_equal(t->nodes[0].total, 16000);
	assert_int_equal(t->nodes[0].self, 0);
	const struct cp_view_node *run = child(t, 0, "run_rounds");
	assert_non_null(run);
	assert_int_equal(idx(t, run), 1); /* the biggest child comes first */
	assert_int_equal(run->total, 14000);
	assert_int_equal(run->depth, 1);
	const struct cp_view_node *six = child(t, idx(t, run), "hot_sixty");
	assert_int_equal(six->total, 6000);
	assert_int_equal(six->self, 6000);
	assert_int_equal(six->depth, 2);
	assert_int_equal(idx(t, six), 2);
	/* children sorted by total: hot_sixty 6000, hot_ten 5000, hot_thirty 3000 */
	const struct cp_view_node *ten = child(t, idx(t, run), "hot_ten");
	const struct cp_view_node *thirty = child(t, idx(t, run), "hot_thirty");
	assert_true(idx(t, six) < idx(t, ten) && idx(t, ten) < idx(t, thirty));
	const struct cp_view_node *mix = child(t, idx(t, ten), "mix");
	assert_non_null(mix);
	assert_true(mix->inlined);
	assert_false(ten->inlined);
	assert_int_equal(mix->self, 5000);
	assert_int_equal(ten->self, 0);
	/* recursion: three nested rec nodes */
	const struct cp_view_node *r1 = child(t, 0, "rec");
	const struct cp_view_node *r2 = child(t, idx(t, r1), "rec");
	const struct cp_view_node *r3 = child(t, idx(t, r2), "rec");
	assert_non_null(r3);
	assert_int_equal(r1->total, 2000);
	assert_int_equal(r3->self, 2000);
	assert_int_equal(r3->depth, 3);
	/* pre-order: each node's parent comes before it */
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].parent != CP_NONE) {
			assert_true(t->nodes[i].parent < i);
			assert_int_equal(t->nodes[i].depth, t->nodes[t->nodes[i].parent].depth + 1);
		}
	assert_int_equal(t->n, 9);
	cp_view_tree_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_tree_inverted(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v = view_with(&x, NULL);
	struct cp_view_tree *t = cp_view_tree(v, true, 0);
	assert_true(t->inverted);
	/* roots are the leaves, by total */
	assert_string_equal(t->nodes[0].name, "hot_sixty");
	assert_int_equal(t->nodes[0].total, 6000);
	const struct cp_view_node *mix = child(t, CP_NONE, "mix");
	assert_int_equal(mix->total, 5000);
	const struct cp_view_node *ten = child(t, idx(t, mix), "hot_ten");
	const struct cp_view_node *run = child(t, idx(t, ten), "run_rounds");
	const struct cp_view_node *mainn = child(t, idx(t, run), "main");
	assert_non_null(mainn);
	assert_int_equal(mainn->total, 5000);
	assert_int_equal(mainn->depth, 3);
	assert_null(child(t, CP_NONE, "main"));
	cp_view_tree_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_tree_prune(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v = view_with(&x, NULL);
	/* 20%: hot_thirty (18.75%) and the rec chain (12.5%) go, totals stay */
	struct cp_view_tree *t = cp_view_tree(v, false, 20.0);
	assert_int_equal(t->nodes[0].total, 16000);
	const struct cp_view_node *run = child(t, 0, "run_rounds");
	assert_int_equal(run->total, 14000);
	assert_null(child(t, idx(t, run), "hot_thirty"));
	assert_null(child(t, 0, "rec"));
	assert_non_null(child(t, idx(t, run), "hot_ten"));
	assert_int_equal(t->hidden, 2); /* hot_thirty, the outer rec (with its subtree) */
	assert_int_equal(t->n, 5);
	cp_view_tree_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_stats(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	/* one CUT sample whose stack ends in rec (not a start function) */
	uint32_t s[] = { x.l_rec1 };
	uint32_t st = cp_profile_add_stack(x.p, s, 1);
	struct cp_profile_sample smp = {
		.stack = st, .pid = 5, .tid = 6, .flags = CP_SAMPLE_CUT, .stack_need = 9000
	};
	int64_t vals[2] = { 1, 1000 };
	cp_profile_add_sample(x.p, &smp, vals);
	smp.flags = CP_SAMPLE_COMPLETE | CP_SAMPLE_SPLICED;
	cp_profile_add_sample(x.p, &smp, vals);
	struct cp_view_stats sts;
	cp_view_stats(x.p, &sts);
	assert_int_equal(sts.samples, 14);
	assert_int_equal(sts.complete, 13); /* 12 end in main, one flagged */
	assert_int_equal(sts.spliced, 1);
	assert_int_equal(sts.cut, 1);
	assert_int_equal(sts.cut_need_max, 9000);
	assert_int_equal(sts.offcpu, 0);
	assert_int_equal(sts.processes, 3);
	assert_int_equal(sts.threads, 4);
	assert_true(cp_view_is_outermost_name("__libc_start_call_main"));
	assert_false(cp_view_is_outermost_name("rec"));
	cp_profile_free(x.p);
}

/* Wall-clock samples of blocked threads: `count` off-CPU samples in
 * syscall sc (NULL: unknown) with a cpu weight of 1000 each. */
static void add_off(struct fx *x, const uint32_t *locs, uint32_t n, const char *sc, int count)
{
	uint32_t st = cp_profile_add_stack(x->p, locs, n);
	for (int i = 0; i < count; i++) {
		struct cp_profile_sample s = {
			.stack = st,
			.pid = 1,
			.tid = 4,
			.comm = cp_profile_intern(x->p, "split"),
			.flags = CP_SAMPLE_COMPLETE | CP_SAMPLE_OFFCPU,
			.syscall = sc ? cp_profile_intern(x->p, sc) : NULL,
		};
		int64_t vals[2] = { 1, 1000 };
		cp_profile_add_sample(x->p, &s, vals);
	}
}

/* fx plus 7 off-CPU samples: hot_sixty in nanosleep (4) and in an unknown
 * syscall (1), hot_thirty in futex (2). */
static void fx_build_wall(struct fx *x)
{
	fx_build(x);
	uint32_t s1[] = { x->l_sixty, x->l_run, x->l_main };
	uint32_t s2[] = { x->l_thirty, x->l_run, x->l_main };
	add_off(x, s1, 3, "nanosleep", 4);
	add_off(x, s2, 3, "futex", 2);
	add_off(x, s1, 3, NULL, 1);
}

static void test_state_text(void **state)
{
	(void)state;
	char buf[64];
	struct cp_profile_sample s = { .flags = CP_SAMPLE_COMPLETE };
	assert_string_equal(cp_view_sample_state(&s, buf, sizeof(buf)), "on-cpu");
	s.syscall = "read"; /* ignored without OFFCPU */
	assert_string_equal(cp_view_sample_state(&s, buf, sizeof(buf)), "on-cpu");
	s.flags |= CP_SAMPLE_OFFCPU;
	assert_string_equal(cp_view_sample_state(&s, buf, sizeof(buf)), "off-cpu:read");
	s.syscall = "";
	assert_string_equal(cp_view_sample_state(&s, buf, sizeof(buf)), "off-cpu");
	s.syscall = NULL;
	assert_string_equal(cp_view_sample_state(&s, buf, sizeof(buf)), "off-cpu");

	enum cp_view_key k[CP_VIEW_MAX_KEYS];
	size_t n = 0;
	struct cp_error err = { 0 };
	assert_int_equal(cp_view_parse_keys("state,function", k, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(k[0], CP_VIEW_KEY_STATE);
	assert_string_equal(cp_view_key_name(CP_VIEW_KEY_STATE), "state");
	assert_int_equal(cp_view_parse_keys("comm,pid,tid,state,sym,dso,srcline", k, &n, &err), 0);
	assert_int_equal(n, CP_VIEW_MAX_KEYS);
	assert_int_equal(cp_view_parse_keys("state,State", k, &n, &err), CP_E_USAGE);
	assert_non_null(strstr(err.msg, "srcline, state)"));
	assert_int_equal(cp_view_parse_keys("state,state", k, &n, &err), CP_E_USAGE);
	assert_non_null(strstr(err.msg, "twice"));
}

static const struct cp_view_row *state_row(const struct cp_view_top *t, const char *st,
					   const char *name)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (!strcmp(t->rows[i].state, st) && !strcmp(t->rows[i].name, name))
			return &t->rows[i];
	return NULL;
}

static void test_state_key(void **state)
{
	(void)state;
	struct fx x;
	fx_build_wall(&x);
	struct cp_view_opts o = { .value_index = CP_NONE };
	struct cp_error err = { 0 };

	/* state alone: one row per state, self = total, sorted by weight */
	assert_int_equal(cp_view_parse_keys("state", o.keys, &o.nkeys, &err), 0);
	struct cp_view *v = view_with(&x, &o);
	assert_int_equal(cp_view_total(v), 23000);
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	assert_int_equal(ng, 7); /* 4 on-CPU stacks, then 3 (stack, state) pairs */
	assert_string_equal(g[0].state, "on-cpu");
	assert_string_equal(g[4].state, "off-cpu:nanosleep");
	struct cp_view_top *t = cp_view_top(v, 0);
	assert_int_equal(t->nrows, 4);
	const char *want[] = { "on-cpu", "off-cpu:nanosleep", "off-cpu:futex", "off-cpu" };
	const int64_t wself[] = { 16000, 4000, 2000, 1000 };
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(t->rows[i].state, want[i]);
		assert_string_equal(t->rows[i].name, "");
		assert_string_equal(t->rows[i].comm, "");
		assert_int_equal(t->rows[i].self, wself[i]);
		assert_int_equal(t->rows[i].total, wself[i]);
	}
	assert_int_equal(t->rows[1].self_samples, 4);
	cp_view_top_free(t);
	cp_view_free(v);

	/* state,function splits a function by where its time went */
	assert_int_equal(cp_view_parse_keys("state,function", o.keys, &o.nkeys, &err), 0);
	v = view_with(&x, &o);
	t = cp_view_top(v, 0);
	const struct cp_view_row *r = state_row(t, "on-cpu", "hot_sixty");
	assert_non_null(r);
	assert_int_equal(r->self, 6000);
	r = state_row(t, "off-cpu:nanosleep", "hot_sixty");
	assert_non_null(r);
	assert_int_equal(r->self, 4000);
	r = state_row(t, "off-cpu", "hot_sixty");
	assert_non_null(r);
	assert_int_equal(r->self, 1000);
	r = state_row(t, "off-cpu:futex", "hot_thirty");
	assert_non_null(r);
	assert_int_equal(r->self, 2000);
	assert_null(state_row(t, "off-cpu:futex", "hot_sixty"));
	r = state_row(t, "off-cpu:futex", "main");
	assert_non_null(r);
	assert_int_equal(r->self, 0);
	assert_int_equal(r->total, 2000);
	r = state_row(t, "on-cpu", "main");
	assert_int_equal(r->total, 16000);
	/* equal weights order by the keys' text: state first */
	for (size_t i = 1; i < t->nrows; i++)
		if (t->rows[i].self == t->rows[i - 1].self &&
		    t->rows[i].total == t->rows[i - 1].total)
			assert_true(strcmp(t->rows[i - 1].state, t->rows[i].state) <= 0);
	cp_view_top_free(t);
	cp_view_free(v);

	/* without the key, samples are not split and rows carry "" */
	o.nkeys = 0;
	v = view_with(&x, &o);
	g = cp_view_groups(v, &ng);
	assert_int_equal(ng, 4);
	assert_string_equal(g[0].state, "");
	t = cp_view_top(v, 0);
	assert_string_equal(t->rows[0].name, "hot_sixty");
	assert_int_equal(t->rows[0].self, 11000);
	assert_string_equal(t->rows[0].state, "");
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_state_filter(void **state)
{
	(void)state;
	struct fx x;
	fx_build_wall(&x);
	struct cp_view_opts o = { .value_index = CP_NONE };
	assert_true(cp_view_filter_empty(&o.filter));
	o.filter.cpu_state = CP_VIEW_OFF_CPU;
	assert_false(cp_view_filter_empty(&o.filter));
	struct cp_view *v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 7);
	assert_int_equal(cp_view_total(v), 7000);
	struct cp_view_top *t = cp_view_top(v, 0);
	assert_string_equal(t->rows[0].name, "hot_sixty");
	assert_int_equal(t->rows[0].self, 5000);
	assert_null(row(t, "hot_ten"));
	cp_view_top_free(t);
	cp_view_free(v);

	o.filter.cpu_state = CP_VIEW_ON_CPU;
	v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 12);
	assert_int_equal(cp_view_total(v), 16000);
	cp_view_free(v);

	/* combined with the other filters: off-CPU and tid 1 is nothing */
	uint32_t tid1 = 1;
	o.filter.cpu_state = CP_VIEW_OFF_CPU;
	o.filter.tids = &tid1;
	o.filter.ntids = 1;
	v = view_with(&x, &o);
	assert_int_equal(cp_view_total_samples(v), 0);
	cp_view_free(v);

	struct cp_view_filter f = { .cpu_state = CP_VIEW_ON_CPU };
	struct cp_profile_sample s = { .flags = CP_SAMPLE_OFFCPU, .syscall = "poll" };
	assert_false(cp_view_sample_matches(&f, &s));
	f.cpu_state = CP_VIEW_OFF_CPU;
	assert_true(cp_view_sample_matches(&f, &s));
	s.flags = CP_SAMPLE_COMPLETE;
	assert_false(cp_view_sample_matches(&f, &s));
	f.cpu_state = 0;
	assert_true(cp_view_sample_matches(&f, &s));

	struct cp_view_stats sts;
	cp_view_stats(x.p, &sts);
	assert_int_equal(sts.samples, 19);
	assert_int_equal(sts.offcpu, 7);
	cp_profile_free(x.p);
}

/* The empty stack still counts, as an unknown frame. */
static void test_empty_stack(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	add(&x, NULL, 0, 1, 1, "split", 4000, 1);
	struct cp_view *v = view_with(&x, NULL);
	struct cp_view_top *t = cp_view_top(v, 0);
	const struct cp_view_row *r = row(t, "[unknown]");
	assert_non_null(r);
	assert_int_equal(r->self, 4000);
	assert_string_equal(r->module, "[unknown]");
	int64_t sum = 0;
	for (size_t i = 0; i < t->nrows; i++)
		sum += t->rows[i].self;
	assert_int_equal(sum, t->total);
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static const struct cp_view_peek_entry *entry(const struct cp_view_peek_entry *e, size_t n,
					      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

static struct cp_view_peek *peek_of(struct cp_view *v, const char *name)
{
	uint32_t f = cp_view_find_frame(v, name, "cpu_split_nofp");
	assert_int_not_equal(f, CP_NONE);
	return cp_view_peek(v, f);
}

static void test_peek(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v = view_with(&x, NULL);
	/* frames exist once stacks were expanded */
	assert_int_equal(cp_view_find_frame(v, "run_rounds", NULL), CP_NONE);
	cp_view_top_free(cp_view_top(v, 0));
	assert_int_equal(cp_view_find_frame(v, "run_rounds", "libc.so.6"), CP_NONE);

	struct cp_view_peek *pk = peek_of(v, "run_rounds");
	assert_int_equal(pk->total, 14000);
	assert_int_equal(pk->total_samples, 10);
	assert_int_equal(pk->self, 0);
	assert_int_equal(pk->root, 0);
	assert_int_equal(pk->view_total, 16000);
	assert_int_equal(pk->ncallers, 1);
	assert_string_equal(pk->callers[0].name, "main");
	assert_int_equal(pk->callers[0].weight, 14000);
	assert_int_equal(pk->ncallees, 3);
	/* heaviest first; mix is inlined into hot_ten, so hot_ten is the callee */
	assert_string_equal(pk->callees[0].name, "hot_sixty");
	assert_int_equal(pk->callees[0].weight, 6000);
	assert_string_equal(pk->callees[1].name, "hot_ten");
	assert_int_equal(pk->callees[1].weight, 5000);
	assert_int_equal(pk->callees[1].samples, 1);
	assert_string_equal(pk->callees[2].name, "hot_thirty");
	cp_view_peek_free(pk);

	/* recursion: each edge counts once per sample */
	pk = peek_of(v, "rec");
	assert_int_equal(pk->total, 2000);
	assert_int_equal(pk->self, 2000);
	assert_int_equal(pk->ncallers, 2);
	assert_int_equal(entry(pk->callers, pk->ncallers, "rec")->weight, 2000);
	assert_int_equal(entry(pk->callers, pk->ncallers, "main")->weight, 2000);
	assert_int_equal(pk->ncallees, 1);
	assert_int_equal(entry(pk->callees, pk->ncallees, "rec")->samples, 2);
	cp_view_peek_free(pk);

	pk = peek_of(v, "main");
	assert_int_equal(pk->root, 16000);
	assert_int_equal(pk->total, 16000);
	assert_int_equal(pk->ncallers, 0);
	assert_non_null(entry(pk->callees, pk->ncallees, "run_rounds"));
	cp_view_peek_free(pk);

	pk = peek_of(v, "mix");
	assert_int_equal(pk->self, 5000);
	assert_int_equal(pk->ncallers, 1);
	assert_string_equal(pk->callers[0].name, "hot_ten");
	assert_int_equal(pk->ncallees, 0);
	cp_view_peek_free(pk);
	cp_view_free(v);
	cp_profile_free(x.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_value), cmocka_unit_test(test_top_self_total),
		cmocka_unit_test(test_no_inline),     cmocka_unit_test(test_frames),
		cmocka_unit_test(test_filters),       cmocka_unit_test(test_value_index),
		cmocka_unit_test(test_parse_keys),    cmocka_unit_test(test_sort_keys),
		cmocka_unit_test(test_srcline),       cmocka_unit_test(test_percent_limit),
		cmocka_unit_test(test_tree),          cmocka_unit_test(test_tree_inverted),
		cmocka_unit_test(test_tree_prune),    cmocka_unit_test(test_stats),
		cmocka_unit_test(test_empty_stack),   cmocka_unit_test(test_state_text),
		cmocka_unit_test(test_state_key),     cmocka_unit_test(test_state_filter),
		cmocka_unit_test(test_peek),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
