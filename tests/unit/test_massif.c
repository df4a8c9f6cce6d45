/* test_massif.c - heap profiles in lib/format: the exact massif text of a
 * small heap profile (snapshot sequence, the peak and the end trees,
 * written to $CPROF_TEST_OUT/unit.massif too when that is set,
 * allocator frames taken off, massif's 1% threshold), snapshots merged
 * evenly past 100, filters, non-heap profiles refused; and the same
 * profile as pprof in Go's heap layout (cp_format_pprof_heap_opts), also
 * at the peak, read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "profile/profile.h"

#define MS 1000000ull

enum { AO, AS, IO, IS, PO, PS, TO, NV };

struct heap_fx {
	struct cp_profile *p;
	uint32_t s_big, s_leak, s_tiny, s_new, s_small, s_alloc_only;
};

static uint32_t fn(struct cp_profile *p, const char *name, const char *sys, const char *file,
		   int64_t line)
{
	return cp_profile_add_function(p, name, sys ? sys : name, file, line);
}

static uint32_t loc(struct cp_profile *p, uint32_t map, uint64_t addr, uint32_t f, int64_t line)
{
	struct cp_profile_line l = { .function = f, .line = line };
	return cp_profile_add_location(p, map, addr, &l, 1);
}

static void sample(struct cp_profile *p, uint32_t stack, uint32_t tid, uint64_t time,
		   const int64_t v[NV])
{
	struct cp_profile_sample s = {
		.stack = stack,
		.pid = 10,
		.tid = tid,
		.comm = cp_profile_intern(p, tid == 10 ? "app" : "worker"),
		.time = time,
	};
	cp_profile_add_sample(p, &s, v);
}

static struct cp_profile *new_heap_profile(void)
{
	static const char *const types[NV][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
		{ "peak_objects", "count" },  { "peak_space", "bytes" },
		{ "temp_objects", "count" },
	};
	struct cp_profile *p = cp_profile_new();
	for (size_t i = 0; i < NV; i++)
		cp_profile_add_value_type(p, types[i][0], types[i][1]);
	p->meta.event = cp_profile_intern(p, "malloc");
	p->meta.default_type = cp_profile_intern(p, "peak_space");
	p->meta.period = 1;
	return p;
}

/* Stacks, leaf first, each under the interposer's hook and malloc:
 *   big    (app.c:31) <- work (app.c:21) <- main (app.c:11)
 *   leak   (app.c:41) <- main (app.c:12)
 *   tiny   (app.c:51) <- work (app.c:22) <- main (app.c:11)
 *   new:   operator new (libstdc++) <- vec_grow (app.cc:61) <- main (app.c:13)
 *   small  (app.c:71) <- main (app.c:14)
 * Timeline (ms; inuse deltas):
 *    0  big +4000000, leak +64000, tiny +5000 (tid 11), small +500
 *   10  new +1000000, tiny -2000 (tid 11: 5000 more allocated, 7000 freed)
 *   15  the peak: big 4000000, leak 64000, tiny 8000, new 1000000,
 *       small 500 = 5072500
 *   20  big -4000000, new -1000000, small -500
 * so the heap is 4069500, 5067500, (peak 5072500), 67000, and at the end
 * (30 ms) leak 64000 + tiny 3000 are live. */
static struct heap_fx build(void)
{
	struct heap_fx x;
	struct cp_profile *p = x.p = new_heap_profile();
	p->meta.command = cp_profile_intern(p, "./app --big");
	p->meta.duration_nanos = 30 * MS;
	struct cp_profile_mapping m_app = { .path = "/bin/app", .build_id = "" };
	struct cp_profile_mapping m_heap = { .path = "/usr/lib/cprof/libcprof-heap.so",
					     .build_id = "" };
	struct cp_profile_mapping m_cxx = { .path = "/usr/lib/libstdc++.so.6", .build_id = "" };
	uint32_t app = cp_profile_add_mapping(p, &m_app);
	uint32_t heap = cp_profile_add_mapping(p, &m_heap);
	uint32_t cxx = cp_profile_add_mapping(p, &m_cxx);
	uint32_t f_main = fn(p, "main", NULL, "/src/app.c", 10);
	uint32_t f_work = fn(p, "work", NULL, "/src/app.c", 20);
	uint32_t l_hook = loc(p, heap, 0x1100, fn(p, "cprof_heap_record", NULL, "", 0), 0);
	uint32_t l_malloc = loc(p, heap, 0x1200, fn(p, "malloc", NULL, "", 0), 0);
	uint32_t l_new = loc(p, cxx, 0x2200, fn(p, "operator new(unsigned long)", "_Znwm", "", 0),
			     0);
	uint32_t l_big = loc(p, app, 0x1300, fn(p, "big", NULL, "/src/app.c", 30), 31);
	uint32_t l_work21 = loc(p, app, 0x1400, f_work, 21);
	uint32_t l_work22 = loc(p, app, 0x1404, f_work, 22);
	uint32_t l_main11 = loc(p, app, 0x1500, f_main, 11);
	uint32_t l_main12 = loc(p, app, 0x1504, f_main, 12);
	uint32_t l_main13 = loc(p, app, 0x1508, f_main, 13);
	uint32_t l_main14 = loc(p, app, 0x150c, f_main, 14);
	uint32_t l_leak = loc(p, app, 0x1600, fn(p, "leak", NULL, "/src/app.c", 40), 41);
	uint32_t l_tiny = loc(p, app, 0x1700, fn(p, "tiny", NULL, "/src/app.c", 50), 51);
	uint32_t l_vec = loc(p, app, 0x1800, fn(p, "vec_grow", NULL, "/src/app.cc", 60), 61);
	uint32_t l_small = loc(p, app, 0x1900, fn(p, "small", NULL, "/src/app.c", 70), 71);
	uint32_t big[] = { l_hook, l_malloc, l_big, l_work21, l_main11 };
	uint32_t leak[] = { l_hook, l_malloc, l_leak, l_main12 };
	uint32_t tiny[] = { l_hook, l_malloc, l_tiny, l_work22, l_main11 };
	uint32_t nw[] = { l_hook, l_malloc, l_new, l_vec, l_main13 };
	uint32_t small[] = { l_hook, l_malloc, l_small, l_main14 };
	uint32_t alloc_only[] = { l_hook, l_malloc };
	x.s_big = cp_profile_add_stack(p, big, 5);
	x.s_leak = cp_profile_add_stack(p, leak, 4);
	x.s_tiny = cp_profile_add_stack(p, tiny, 5);
	x.s_new = cp_profile_add_stack(p, nw, 5);
	x.s_small = cp_profile_add_stack(p, small, 4);
	x.s_alloc_only = cp_profile_add_stack(p, alloc_only, 2);
	/* out of time order on purpose */
	sample(p, x.s_big, 10, 20 * MS, (int64_t[NV]){ 0, 0, -100, -4000000, 0, 0, 0 });
	sample(p, x.s_big, 10, 0, (int64_t[NV]){ 100, 4000000, 100, 4000000, 0, 0, 0 });
	sample(p, x.s_leak, 10, 0, (int64_t[NV]){ 10, 64000, 10, 64000, 0, 0, 0 });
	sample(p, x.s_tiny, 11, 0, (int64_t[NV]){ 50, 5000, 50, 5000, 0, 0, 40 });
	sample(p, x.s_small, 10, 0, (int64_t[NV]){ 5, 500, 5, 500, 0, 0, 0 });
	sample(p, x.s_new, 10, 10 * MS, (int64_t[NV]){ 20, 1000000, 20, 1000000, 0, 0, 0 });
	sample(p, x.s_tiny, 11, 10 * MS, (int64_t[NV]){ 50, 5000, -20, -2000, 0, 0, 45 });
	sample(p, x.s_big, 10, 15 * MS, (int64_t[NV]){ 0, 0, 0, 0, 100, 4000000, 0 });
	sample(p, x.s_leak, 10, 15 * MS, (int64_t[NV]){ 0, 0, 0, 0, 10, 64000, 0 });
	sample(p, x.s_tiny, 11, 15 * MS, (int64_t[NV]){ 0, 0, 0, 0, 80, 8000, 0 });
	sample(p, x.s_new, 10, 15 * MS, (int64_t[NV]){ 0, 0, 0, 0, 20, 1000000, 0 });
	sample(p, x.s_small, 10, 15 * MS, (int64_t[NV]){ 0, 0, 0, 0, 5, 500, 0 });
	sample(p, x.s_new, 10, 20 * MS, (int64_t[NV]){ 0, 0, -20, -1000000, 0, 0, 0 });
	sample(p, x.s_small, 10, 20 * MS, (int64_t[NV]){ 0, 0, -5, -500, 0, 0, 0 });
	return x;
}

static char *write_massif(const struct cp_profile *p, const struct cp_view_opts *vo, int *rc,
			  struct cp_error *err)
{
	struct cp_view *v = cp_view_new(p, vo, err);
	assert_non_null(v);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*rc = cp_format_massif_write(f, v, "test", err);
	fclose(f);
	cp_view_free(v);
	return buf;
}

static char *massif_ok(const struct cp_profile *p, const struct cp_view_opts *vo)
{
	struct cp_error err = { 0 };
	int rc;
	char *out = write_massif(p, vo, &rc, &err);
	if (rc)
		fail_msg("massif failed: %s", err.msg);
	return out;
}

#define SNAP(n, t, b, tree)                                                                        \
	"#-----------\nsnapshot=" #n "\n#-----------\ntime=" #t "\nmem_heap_B=" #b                  \
	"\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=" tree "\n"
#define ROOT "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n"

static const char expected[] =
	"desc: cprof heap, every allocation, converted by cprof " CP_VERSION "\n"
	"cmd: ./app --big\n"
	"time_unit: ms\n" SNAP(0, 0, 4069500, "empty") SNAP(1, 10, 5067500, "empty")
	/* the peak: at 15 ms, in place of the plain snapshot there */
	SNAP(2, 15, 5072500, "peak")
	"n4: 5072500 " ROOT
	" n1: 4000000 0x1300: big (app.c:31)\n"
	"  n1: 4000000 0x1400: work (app.c:21)\n"
	"   n0: 4000000 0x1500: main (app.c:11)\n"
	/* operator new, in another library, is an allocation function too */
	" n1: 1000000 0x1800: vec_grow (app.cc:61)\n"
	"  n0: 1000000 0x1508: main (app.c:13)\n"
	" n1: 64000 0x1600: leak (app.c:41)\n"
	"  n0: 64000 0x1504: main (app.c:12)\n"
	/* tiny (8000) and small (500) are below 1% of 5072500 */
	" n0: 8500 in 2 places, all below massif's threshold (1.00%)\n" SNAP(3, 20, 67000, "empty")
	/* the end: what was never freed */
	SNAP(4, 30, 67000, "detailed")
	"n2: 67000 " ROOT
	" n1: 64000 0x1600: leak (app.c:41)\n"
	"  n0: 64000 0x1504: main (app.c:12)\n"
	" n1: 3000 0x1700: tiny (app.c:51)\n"
	"  n1: 3000 0x1404: work (app.c:22)\n"
	"   n0: 3000 0x1500: main (app.c:11)\n";

static void test_exact(void **state)
{
	(void)state;
	struct heap_fx x = build();
	char *out = massif_ok(x.p, NULL);
	assert_string_equal(out, expected);
	/* for tests/e2e/3080, which reads it with ms_print */
	const char *dir = getenv("CPROF_TEST_OUT");
	if (dir) {
		char *path = cp_xasprintf("%s/unit.massif", dir);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(out, f);
		assert_int_equal(fclose(f), 0);
		free(path);
	}
	free(out);
	cp_profile_free(x.p);
}

/* Filters apply; a stack of nothing but allocator frames keeps its
 * outermost one; one insignificant child says "1 place,". */
static void test_filter_and_edges(void **state)
{
	(void)state;
	struct heap_fx x = build();
	/* thread 11 alone: tiny */
	uint32_t tid = 11;
	struct cp_view_opts vo = { .value_index = CP_NONE };
	vo.filter.tids = &tid;
	vo.filter.ntids = 1;
	char *out = massif_ok(x.p, &vo);
	static const char want11[] =
		"time_unit: ms\n" SNAP(0, 0, 5000, "empty") SNAP(1, 10, 3000, "empty")
			SNAP(2, 15, 8000, "peak") "n1: 8000 " ROOT
		" n1: 8000 0x1700: tiny (app.c:51)\n"
		"  n1: 8000 0x1404: work (app.c:22)\n"
		"   n0: 8000 0x1500: main (app.c:11)\n" SNAP(3, 30, 3000, "detailed");
	assert_non_null(strstr(out, want11));
	free(out);

	sample(x.p, x.s_alloc_only, 10, 20 * MS, (int64_t[NV]){ 1, 100, 1, 100, 0, 0, 0 });
	out = massif_ok(x.p, NULL);
	/* (libcprof-heap's malloc: the outermost allocator frame stays) */
	assert_null(strstr(out, "cprof_heap_record"));
	static const char want_end[] =
		SNAP(4, 30, 67100, "detailed") "n3: 67100 " ROOT
		" n1: 64000 0x1600: leak (app.c:41)\n"
		"  n0: 64000 0x1504: main (app.c:12)\n"
		" n1: 3000 0x1700: tiny (app.c:51)\n"
		"  n1: 3000 0x1404: work (app.c:22)\n"
		"   n0: 3000 0x1500: main (app.c:11)\n"
		" n0: 100 in 1 place, below massif's threshold (1.00%)\n";
	assert_non_null(strstr(out, want_end));
	assert_int_equal(strlen(strstr(out, want_end)), strlen(want_end));
	free(out);
	cp_profile_free(x.p);
}

/* Allocation functions by name, wherever they are (libc's calloc, glibc's
 * __libc_malloc, a mangled operator new[]), are not allocation sites. */
static void test_alloc_names(void **state)
{
	(void)state;
	struct cp_profile *p = new_heap_profile();
	struct cp_profile_mapping m_libc = { .path = "/lib/libc.so.6", .build_id = "" };
	uint32_t libc = cp_profile_add_mapping(p, &m_libc);
	uint32_t l_calloc = loc(p, libc, 0x10, fn(p, "calloc", NULL, "", 0), 0);
	uint32_t l_libc = loc(p, libc, 0x20, fn(p, "__libc_malloc", NULL, "", 0), 0);
	uint32_t l_znam = loc(p, libc, 0x30, fn(p, "_Znam", "_Znam", "", 0), 0);
	uint32_t l_mallocx = loc(p, libc, 0x40, fn(p, "mallocx", NULL, "", 0), 0);
	uint32_t l_site = loc(p, CP_NONE, 0x50, fn(p, "site", NULL, "s.c", 1), 2);
	uint32_t s1[] = { l_calloc, l_libc, l_znam, l_site }, s2[] = { l_mallocx, l_site };
	sample(p, cp_profile_add_stack(p, s1, 4), 10, 0,
	       (int64_t[NV]){ 1, 100, 1, 100, 1, 100, 0 });
	sample(p, cp_profile_add_stack(p, s2, 2), 10, 0, (int64_t[NV]){ 1, 50, 1, 50, 1, 50, 0 });
	char *out = massif_ok(p, NULL);
	/* a name that only starts like one (mallocx) is a site of its own */
	assert_non_null(strstr(out, "heap_tree=detailed\nn2: 150 " ROOT
				    " n0: 100 0x50: site (s.c:2)\n"
				    " n1: 50 0x40: mallocx (in /lib/libc.so.6)\n"
				    "  n0: 50 0x50: site (s.c:2)\n"));
	free(out);
	cp_profile_free(p);
}

/* More than 98 distinct times: merged evenly into 98 plain snapshots (each
 * the heap at the end of its run), plus the peak and the end. */
static void test_merge(void **state)
{
	(void)state;
	struct heap_fx x = build();
	struct cp_profile *p = new_heap_profile();
	cp_profile_free(x.p);
	uint32_t l = cp_profile_add_location(p, CP_NONE, 0x10, NULL, 0);
	uint32_t st = cp_profile_add_stack(p, &l, 1);
	for (uint64_t i = 0; i < 500; i++)
		sample(p, st, 10, i * MS, (int64_t[NV]){ 1, 1000, 1, 1000, 0, 0, 0 });
	sample(p, st, 10, 250 * MS + 500, (int64_t[NV]){ 0, 0, 0, 0, 251, 251000, 0 });
	char *out = massif_ok(p, NULL);
	size_t n = 0, peaks = 0, detailed = 0;
	double last_time = -1;
	long long last_bytes = 0;
	for (const char *s = out; (s = strstr(s, "\nsnapshot=")); s++) {
		n++;
		double t;
		long long b;
		const char *q = strstr(s, "time=");
		assert_int_equal(sscanf(q, "time=%lf\nmem_heap_B=%lld", &t, &b), 2);
		assert_true(t >= last_time);
		last_time = t;
		const char *tree = strstr(s, "heap_tree=") + 10;
		if (!strncmp(tree, "peak", 4)) {
			peaks++;
			assert_true(t == 250);
			assert_int_equal(b, 251000);
		} else if (!strncmp(tree, "detailed", 8)) {
			detailed++;
		} else {
			last_bytes = b;
		}
	}
	assert_int_equal(n, 100);
	assert_int_equal(peaks, 1);
	assert_int_equal(detailed, 1);
	/* the last plain snapshot is the last time's heap */
	assert_int_equal(last_bytes, 500000);
	assert_true(last_time == 499);
	assert_non_null(strstr(out, "snapshot=98\n#-----------\ntime=499\nmem_heap_B=500000\n"));
	free(out);
	cp_profile_free(p);
}

static void test_not_heap(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	struct cp_error err = { 0 };
	int rc;
	char *out = write_massif(p, NULL, &rc, &err);
	assert_int_equal(rc, CP_E_USAGE);
	assert_string_equal(err.msg,
			    "not a heap profile: it has no peak_space sample type (it has: samples, "
			    "cpu)");
	assert_string_equal(out, "");
	free(out);
	struct cp_pprof_heap_columns cols;
	struct cp_pprof_opts o;
	assert_int_equal(cp_format_pprof_heap_opts(p, false, NULL, &cols, &o, &err), CP_E_USAGE);
	cp_profile_add_value_type(p, "peak_space", "bytes");
	assert_int_equal(cp_format_heap_check(p, &err), CP_E_USAGE);
	assert_string_equal(err.msg, "not a heap profile: it has no peak_objects sample type (it "
				     "has: samples, cpu, peak_space)");
	cp_profile_free(p);
}

/* ---- Go's heap layout ---------------------------------------------------- */

static struct cp_profile *go_round_trip(const struct cp_profile *p, bool at_peak)
{
	struct cp_error err = { 0 };
	struct cp_pprof_heap_columns cols;
	struct cp_pprof_opts o;
	assert_int_equal(cp_format_pprof_heap_opts(p, at_peak, NULL, &cols, &o, &err), 0);
	struct cp_view *v = cp_view_new(p, NULL, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_pprof_write(f, v, &o, "test", &err), 0);
	fclose(f);
	cp_view_free(v);
	struct cp_profile *q = NULL;
	if (cp_format_pprof_read(buf, len, "t.pb.gz", &q, &err))
		fail_msg("read failed: %s", err.msg);
	free(buf);
	return q;
}

/* The values of q's sample whose leaf-most frame other than the
 * allocator's is `fn`. */
static const int64_t *values_of(const struct cp_profile *q, const char *name)
{
	for (size_t i = 0; i < q->samples.n; i++) {
		uint32_t n;
		const uint32_t *locs = cp_profile_stack_locs(q, q->samples.v[i].stack, &n);
		const struct cp_profile_location *l = &q->locations.v[locs[2]];
		const struct cp_profile_line *ln = &q->lines.v[l->line_start];
		if (l->nlines && !strcmp(q->functions.v[ln->function].name, name))
			return cp_profile_sample_values(q, i);
	}
	fail_msg("no sample for %s", name);
	return NULL;
}

static void test_go_layout(void **state)
{
	(void)state;
	struct heap_fx x = build();
	for (int at_peak = 0; at_peak < 2; at_peak++) {
		struct cp_profile *q = go_round_trip(x.p, at_peak);
		static const char *const want[4][2] = {
			{ "alloc_objects", "count" },
			{ "alloc_space", "bytes" },
			{ "inuse_objects", "count" },
			{ "inuse_space", "bytes" },
		};
		assert_int_equal(q->value_types.n, 4);
		for (size_t i = 0; i < 4; i++) {
			assert_string_equal(q->value_types.v[i].type, want[i][0]);
			assert_string_equal(q->value_types.v[i].unit, want[i][1]);
		}
		assert_string_equal(q->meta.default_type, "inuse_space");
		assert_int_equal(q->meta.period, 1);
		/* one sample per stack, threads and times merged, no labels */
		assert_int_equal(q->samples.n, 5);
		for (size_t i = 0; i < q->samples.n; i++) {
			assert_int_equal(q->samples.v[i].pid, 0);
			assert_int_equal(q->samples.v[i].tid, 0);
			assert_string_equal(q->samples.v[i].comm, "");
		}
		const int64_t *t = values_of(q, "tiny");
		assert_int_equal(t[0], 100);
		assert_int_equal(t[1], 10000);
		assert_int_equal(t[2], at_peak ? 80 : 30);
		assert_int_equal(t[3], at_peak ? 8000 : 3000);
		const int64_t *b = values_of(q, "big");
		assert_int_equal(b[1], 4000000);
		assert_int_equal(b[3], at_peak ? 4000000 : 0);
		const int64_t *nw = values_of(q, "operator new(unsigned long)");
		assert_int_equal(nw[0], 20);
		assert_int_equal(nw[2], at_peak ? 20 : 0);
		cp_profile_free(q);
	}
	/* a stack whose four values are all 0 is left out */
	sample(x.p, x.s_alloc_only, 10, 15 * MS, (int64_t[NV]){ 0, 0, 0, 0, 0, 0, 9 });
	struct cp_profile *q = go_round_trip(x.p, false);
	assert_int_equal(q->samples.n, 5);
	cp_profile_free(q);
	cp_profile_free(x.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),	    cmocka_unit_test(test_filter_and_edges),
		cmocka_unit_test(test_alloc_names), cmocka_unit_test(test_merge),
		cmocka_unit_test(test_not_heap),
		cmocka_unit_test(test_go_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
