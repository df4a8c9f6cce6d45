/* test_profile.c - the profile model: interning, deduplication, stacks,
 * samples, unknown-frame names and structural equality. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "profile/profile.h"

static void test_new_defaults(void **state)
{
	struct cp_profile *p = cp_profile_new();
	assert_non_null(p);
	assert_string_equal(p->meta.command, "");
	assert_string_equal(p->meta.event, "");
	assert_string_equal(p->meta.sampler, "");
	assert_string_equal(p->meta.callgraph, "");
	assert_string_equal(p->meta.hostname, "");
	assert_string_equal(p->meta.os_release, "");
	assert_string_equal(p->meta.arch, "");
	assert_string_equal(p->meta.cprof_version, "");
	assert_int_equal(p->meta.exit_status, -1);
	assert_int_equal(p->samples.n, 0);
	assert_false(p->truncated);
	cp_profile_free(p);
	cp_profile_free(NULL);
}

static void test_intern(void **state)
{
	struct cp_profile *p = cp_profile_new();
	char buf[16];
	strcpy(buf, "main");
	const char *a = cp_profile_intern(p, buf);
	strcpy(buf, "xxxx");
	assert_string_equal(a, "main");
	assert_ptr_equal(a, cp_profile_intern(p, "main"));
	assert_ptr_equal(a, cp_profile_intern_n(p, "mainly", 4));
	assert_ptr_not_equal(a, cp_profile_intern(p, "mainly"));
	assert_string_equal(cp_profile_intern(p, NULL), "");
	/* pointers stay valid while the table grows */
	for (int i = 0; i < 5000; i++) {
		char s[32];
		snprintf(s, sizeof(s), "s%d", i);
		cp_profile_intern(p, s);
	}
	assert_string_equal(a, "main");
	assert_ptr_equal(a, cp_profile_intern(p, "main"));
	cp_profile_free(p);
}

static void test_functions_dedup(void **state)
{
	struct cp_profile *p = cp_profile_new();
	uint32_t f0 = cp_profile_add_function(p, "main", "main", "a.c", 10);
	uint32_t f1 = cp_profile_add_function(p, "foo", "_Z3foov", "a.c", 20);
	assert_int_equal(f0, 0);
	assert_int_equal(f1, 1);
	assert_int_equal(cp_profile_add_function(p, "main", "main", "a.c", 10), f0);
	assert_int_equal(cp_profile_add_function(p, "main", "main", "a.c", 11), 2);
	assert_int_equal(cp_profile_add_function(p, "main", "main", "b.c", 10), 3);
	assert_int_equal(cp_profile_add_function(p, "main", NULL, "a.c", 10), 4);
	assert_int_equal(p->functions.n, 5);
	assert_string_equal(p->functions.v[1].system_name, "_Z3foov");
	assert_string_equal(p->functions.v[4].system_name, "");
	cp_profile_free(p);
}

static void test_mapping_and_unknown_name(void **state)
{
	struct cp_profile *p = cp_profile_new();
	char path[64];
	strcpy(path, "/usr/lib/libc.so.6");
	struct cp_profile_mapping m = { .path = path,
					.build_id = NULL,
					.start = 0x1000,
					.limit = 0x2000,
					.offset = 0,
					.flags = 0 };
	uint32_t mi = cp_profile_add_mapping(p, &m);
	strcpy(path, "changed");
	assert_string_equal(p->mappings.v[mi].path, "/usr/lib/libc.so.6");
	assert_string_equal(p->mappings.v[mi].build_id, "");
	uint32_t l0 = cp_profile_add_location(p, mi, 0x1234, NULL, 0);
	uint32_t l1 = cp_profile_add_location(p, CP_NONE, 0xffff0000, NULL, 0);
	char buf[64];
	assert_string_equal(cp_profile_unknown_name(p, l0, buf, sizeof(buf)), "libc.so.6+0x1234");
	assert_string_equal(cp_profile_unknown_name(p, l1, buf, sizeof(buf)), "0xffff0000");
	cp_profile_free(p);
}

static void test_locations_lines(void **state)
{
	struct cp_profile *p = cp_profile_new();
	uint32_t fa = cp_profile_add_function(p, "inner", "inner", "x.c", 1);
	uint32_t fb = cp_profile_add_function(p, "outer", "outer", "x.c", 5);
	struct cp_profile_line ls[2] = { { fa, 3, true }, { fb, 8, false } };
	uint32_t l = cp_profile_add_location(p, CP_NONE, 0x10, NULL, 0);
	assert_int_equal(p->locations.v[l].nlines, 0);
	cp_profile_set_location_lines(p, l, ls, 2);
	assert_int_equal(p->locations.v[l].nlines, 2);
	const struct cp_profile_line *got = &p->lines.v[p->locations.v[l].line_start];
	assert_int_equal(got[0].function, fa);
	assert_int_equal(got[0].line, 3);
	assert_true(got[0].inlined);
	assert_int_equal(got[1].function, fb);
	assert_false(got[1].inlined);
	uint32_t l2 = cp_profile_add_location(p, CP_NONE, 0x20, ls + 1, 1);
	assert_int_equal(p->lines.v[p->locations.v[l2].line_start].line, 8);
	cp_profile_free(p);
}

static void test_stacks(void **state)
{
	struct cp_profile *p = cp_profile_new();
	for (int i = 0; i < 4; i++)
		cp_profile_add_location(p, CP_NONE, 0x100 + i, NULL, 0);
	uint32_t a[] = { 0, 1, 2 }, b[] = { 0, 1, 3 }, c[] = { 0, 1 };
	uint32_t sa = cp_profile_add_stack(p, a, 3);
	uint32_t sb = cp_profile_add_stack(p, b, 3);
	uint32_t sc = cp_profile_add_stack(p, c, 2);
	uint32_t se = cp_profile_add_stack(p, NULL, 0);
	assert_int_equal(sa, 0);
	assert_int_equal(sb, 1);
	assert_int_equal(sc, 2);
	assert_int_equal(se, 3);
	uint32_t copy[] = { 0, 1, 2 };
	assert_int_equal(cp_profile_add_stack(p, copy, 3), sa);
	assert_int_equal(cp_profile_add_stack(p, NULL, 0), se);
	assert_int_equal(p->stacks.n, 4);
	assert_int_equal(p->stack_locs.n, 8);
	uint32_t n;
	const uint32_t *l = cp_profile_stack_locs(p, sb, &n);
	assert_int_equal(n, 3);
	assert_int_equal(l[2], 3);
	cp_profile_stack_locs(p, se, &n);
	assert_int_equal(n, 0);
	cp_profile_free(p);
}

static void test_samples(void **state)
{
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	uint32_t l = cp_profile_add_location(p, CP_NONE, 1, NULL, 0);
	uint32_t st = cp_profile_add_stack(p, &l, 1);
	struct cp_profile_sample s = { .stack = st, .pid = 7, .tid = 8, .comm = NULL, .time = 5 };
	int64_t v[2] = { 1, 1000000 };
	cp_profile_add_sample(p, &s, v);
	v[1] = 2000000;
	s.comm = cp_profile_intern(p, "worker");
	cp_profile_add_sample(p, &s, v);
	assert_int_equal(p->samples.n, 2);
	assert_int_equal(p->values.n, 4);
	assert_string_equal(p->samples.v[0].comm, "");
	assert_string_equal(p->samples.v[1].comm, "worker");
	assert_int_equal(cp_profile_sample_values(p, 1)[1], 2000000);
	assert_int_equal(cp_profile_sample_values(p, 0)[1], 1000000);
	cp_profile_free(p);
}

static struct cp_profile *build(int variant)
{
	struct cp_profile *p = cp_profile_new();
	p->meta.command = cp_profile_intern(p, "./app -x");
	p->meta.freq = 999;
	cp_profile_add_value_type(p, "samples", "count");
	struct cp_profile_mapping m = {
		.path = "/bin/app", .build_id = "abcd", .start = 0x400000, .limit = 0x500000
	};
	uint32_t mi = cp_profile_add_mapping(p, &m);
	uint32_t f = cp_profile_add_function(p, "main", "main", "app.c", 3);
	struct cp_profile_line ln = { f, 10, false };
	uint32_t l0 = cp_profile_add_location(p, mi, 0x1000, &ln, 1);
	uint32_t l1 = cp_profile_add_location(p, mi, 0x2000, NULL, 0);
	uint32_t locs[] = { l1, l0 };
	uint32_t st = cp_profile_add_stack(p, locs, 2);
	struct cp_profile_sample s = {
		.stack = st, .pid = 1, .tid = 1, .time = 100, .comm = cp_profile_intern(p, "app")
	};
	int64_t v = 1;
	cp_profile_add_sample(p, &s, &v);
	if (variant == 1)
		p->meta.exit_status = 3;
	if (variant == 2) {
		s.time = 200;
		cp_profile_add_sample(p, &s, &v);
	}
	if (variant == 3)
		cp_profile_set_location_lines(p, l1, &ln, 1);
	if (variant == 4) {
		v = 2;
		cp_profile_add_sample(p, &s, &v);
	}
	return p;
}

static void test_equal(void **state)
{
	struct cp_profile *a = build(0), *b = build(0);
	char why[256];
	assert_true(cp_profile_equal(a, b, why, sizeof(why)));
	assert_string_equal(why, "");
	assert_true(cp_profile_equal(a, a, NULL, 0));
	/* orphaned lines from set_location_lines do not matter */
	struct cp_profile_line ln = a->lines.v[0];
	cp_profile_set_location_lines(a, 0, &ln, 1);
	assert_true(cp_profile_equal(a, b, why, sizeof(why)));

	struct cp_profile *c = build(1);
	assert_false(cp_profile_equal(b, c, why, sizeof(why)));
	assert_non_null(strstr(why, "exit_status"));
	cp_profile_free(c);
	c = build(2);
	assert_false(cp_profile_equal(b, c, why, sizeof(why)));
	assert_non_null(strstr(why, "sample count"));
	cp_profile_free(c);
	c = build(3);
	assert_false(cp_profile_equal(b, c, why, sizeof(why)));
	assert_non_null(strstr(why, "location 1"));
	cp_profile_free(c);
	c = build(4);
	struct cp_profile *d = build(2);
	assert_false(cp_profile_equal(c, d, why, sizeof(why)));
	assert_non_null(strstr(why, "sample 1"));
	assert_false(cp_profile_equal(c, d, NULL, 0));
	cp_profile_free(d);
	cp_profile_free(c);
	cp_profile_free(a);
	cp_profile_free(b);
}

/* A period's profile out of a recorder's model: only what its samples use,
 * renumbered; all samples give back the same profile. */
static void test_subset(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	p->meta.command = cp_profile_intern(p, "./app 1");
	p->meta.time_nanos = 42;
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	struct cp_profile_mapping ma = { .path = "/bin/app", .build_id = "ab" };
	struct cp_profile_mapping mb = { .path = "/lib/libc.so.6", .build_id = "cd" };
	uint32_t m0 = cp_profile_add_mapping(p, &ma), m1 = cp_profile_add_mapping(p, &mb);
	/* created in the order the samples first use them, leaf first, so
	 * that the subset of all samples numbers them the same */
	uint32_t fhot = cp_profile_add_function(p, "hot", "hot", "app.c", 9);
	uint32_t fmain = cp_profile_add_function(p, "main", "main", "app.c", 3);
	uint32_t fun = cp_profile_add_function(p, "libc.so.6+0x100", "libc.so.6+0x100", "", 0);
	cp_profile_set_function_flags(p, fun, CP_FUNC_UNNAMED);
	struct cp_profile_line lmain = { fmain, 4, false }, lhot = { fhot, 10, false },
			       lun = { fun, 0, false };
	uint32_t l1 = cp_profile_add_location(p, m0, 0x1100, &lhot, 1);
	uint32_t l0 = cp_profile_add_location(p, m0, 0x1010, &lmain, 1);
	uint32_t l2 = cp_profile_add_location(p, m1, 0x120, &lun, 1);
	uint32_t s0[] = { l1, l0 }, s1[] = { l2, l0 };
	uint32_t st0 = cp_profile_add_stack(p, s0, 2), st1 = cp_profile_add_stack(p, s1, 2);
	uint8_t code[4] = { 0x90, 0x90, 0xc3, 0 };
	struct cp_profile_code_line row = { 0x1100, "app.c", 10 };
	cp_profile_add_code(p, m0, fhot, 0x1100, code, 3, &row, 1);
	const char *comm = cp_profile_intern(p, "app");
	struct cp_profile_sample smp[3] = {
		{ .stack = st0, .pid = 7, .tid = 7, .comm = comm, .time = 1 },
		{ .stack = st1, .pid = 7, .tid = 8, .comm = comm, .time = 2 },
		{ .stack = st0, .pid = 7, .tid = 7, .comm = comm, .time = 3 },
	};
	int64_t vals[6] = { 1, 1000, 1, 2000, 1, 3000 };
	for (int i = 0; i < 3; i++)
		cp_profile_add_sample(p, &smp[i], vals + 2 * i);

	struct cp_profile *all = cp_profile_subset(p, smp, vals, 3);
	char why[200];
	if (!cp_profile_equal(p, all, why, sizeof(why)))
		fail_msg("subset of all samples differs: %s", why);
	assert_int_equal(all->code.n, 1);
	cp_profile_free(all);

	/* the second sample only: libc's unnamed function, main; no code */
	struct cp_profile *one = cp_profile_subset(p, smp + 1, vals + 2, 1);
	assert_int_equal(one->samples.n, 1);
	assert_int_equal(one->mappings.n, 2);
	assert_int_equal(one->locations.n, 2);
	assert_int_equal(one->functions.n, 2);
	assert_int_equal(one->stacks.n, 1);
	assert_int_equal(one->code.n, 0);
	assert_string_equal(one->meta.command, "./app 1");
	assert_int_equal(one->meta.time_nanos, 42);
	uint32_t leaf = one->stack_locs.v[one->stacks.v[one->samples.v[0].stack].start];
	const struct cp_profile_function *f =
		&one->functions.v[one->lines.v[one->locations.v[leaf].line_start].function];
	assert_string_equal(f->name, "libc.so.6+0x100");
	assert_int_equal(f->flags, CP_FUNC_UNNAMED);
	assert_string_equal(one->mappings.v[one->locations.v[leaf].mapping].path, "/lib/libc.so.6");
	assert_int_equal(cp_profile_sample_values(one, 0)[1], 2000);
	assert_int_equal(one->samples.v[0].tid, 8);
	cp_profile_free(one);
	cp_profile_free(p);
}

/* cp_profile_merge: every sample of each, definitions shared where
 * equal, the time range of both; other value types refused */
static struct cp_profile *one_sample(const char *leaf, int64_t cpu, uint64_t t0, uint64_t dur)
{
	struct cp_profile *p = cp_profile_new();
	p->meta.time_nanos = t0;
	p->meta.duration_nanos = dur;
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	struct cp_profile_mapping m = { .path = "/bin/app", .build_id = "ab" };
	uint32_t map = cp_profile_add_mapping(p, &m);
	uint32_t fmain = cp_profile_add_function(p, "main", "main", "app.c", 3);
	uint32_t fleaf = cp_profile_add_function(p, leaf, leaf, "app.c", 9);
	struct cp_profile_line lm = { fmain, 4, false }, ll = { fleaf, 10, false };
	uint32_t locs[2] = { cp_profile_add_location(p, map, 0x1100 + strlen(leaf), &ll, 1),
			     cp_profile_add_location(p, map, 0x1010, &lm, 1) };
	struct cp_profile_sample smp = { .stack = cp_profile_add_stack(p, locs, 2), .pid = 7,
					 .tid = 7, .comm = cp_profile_intern(p, "app") };
	int64_t v[2] = { 1, cpu };
	cp_profile_add_sample(p, &smp, v);
	return p;
}

static void test_merge(void **state)
{
	(void)state;
	struct cp_profile *a = one_sample("hot", 1000, 100, 50);
	struct cp_profile *b = one_sample("cold", 300, 120, 80);
	struct cp_profile *m = cp_profile_new();
	struct cp_error err = { 0 };
	assert_int_equal(cp_profile_merge(m, a, &err), 0);
	assert_int_equal(cp_profile_merge(m, b, &err), 0);
	assert_int_equal(cp_profile_merge(m, a, &err), 0);
	assert_int_equal(m->samples.n, 3);
	int64_t cpu = 0;
	for (size_t i = 0; i < m->samples.n; i++)
		cpu += cp_profile_sample_values(m, i)[1];
	assert_int_equal(cpu, 2300);
	assert_int_equal(m->meta.time_nanos, 100);
	assert_int_equal(m->meta.duration_nanos, 100); /* 100 .. 200 */
	assert_int_equal(m->value_types.n, 2);
	struct cp_profile *h = cp_profile_new();
	cp_profile_add_value_type(h, "inuse_space", "bytes");
	assert_int_equal(cp_profile_merge(m, h, &err), CP_E_USAGE);
	assert_non_null(strstr(err.msg, "different types"));
	cp_profile_free(h);
	cp_profile_free(a);
	cp_profile_free(b);
	cp_profile_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_defaults),
		cmocka_unit_test(test_intern),
		cmocka_unit_test(test_functions_dedup),
		cmocka_unit_test(test_mapping_and_unknown_name),
		cmocka_unit_test(test_locations_lines),
		cmocka_unit_test(test_stacks),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_subset),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
