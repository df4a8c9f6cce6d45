/* test_callgrind.c - lib/format/callgrind.c: the exact callgrind text of a
 * small profile (name compression, self cost per line, inline frames as
 * functions, call edges with inclusive cost, a sample counted only in the
 * outermost call into a function under recursion (direct and mutual),
 * cob=/cfl= only when they change, same-named functions told
 * apart, stacks of weight 0 left out), the event named after the view's
 * value, and filters. */
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

static uint32_t fn(struct cp_profile *p, const char *name, const char *file, int64_t line)
{
	return cp_profile_add_function(p, name, name, file, line);
}

static uint32_t loc(struct cp_profile *p, uint32_t map, uint64_t addr, uint32_t f, int64_t line)
{
	struct cp_profile_line l = { .function = f, .line = line };
	return cp_profile_add_location(p, map, addr, &l, 1);
}

static void sample(struct cp_profile *p, const uint32_t *locs, uint32_t n, uint32_t tid,
		   int64_t cpu)
{
	struct cp_profile_sample s = {
		.stack = cp_profile_add_stack(p, locs, n),
		.pid = 10,
		.tid = tid,
	};
	int64_t v[2] = { 1, cpu };
	cp_profile_add_sample(p, &s, v);
}

/* main (app.c:10) calls
 *   work (app.c:20), at line 12, with helper (app.h:5) inlined at line 22:
 *     3000 + 1000 (tid 11) in helper's line 6;
 *   rec (rec.c:30) at line 13, which calls itself at line 32 twice
 *     before its own line 35: 2000;
 *   dup (app.c:40) and another dup (app.c:50): 500 each, at line 14 and 15;
 *   and a stack of weight 0 through "ghost", left out. */
static struct cp_profile *build(void)
{
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	p->meta.command = cp_profile_intern(p, "./app --fast");
	struct cp_profile_mapping m = { .path = "/bin/app", .build_id = "" };
	struct cp_profile_mapping lm = { .path = "/lib/librec.so", .build_id = "" };
	uint32_t map = cp_profile_add_mapping(p, &m);
	uint32_t lib = cp_profile_add_mapping(p, &lm);
	uint32_t f_main = fn(p, "main", "/src/app.c", 10);
	uint32_t f_work = fn(p, "work", "/src/app.c", 20);
	uint32_t f_help = fn(p, "helper", "/src/app.h", 5);
	uint32_t f_rec = fn(p, "rec", "/src/rec.c", 30);
	uint32_t f_dup1 = fn(p, "dup", "/src/app.c", 40);
	uint32_t f_dup2 = fn(p, "dup", "/src/app.c", 50);
	uint32_t f_ghost = fn(p, "ghost", "", 0);
	struct cp_profile_line inl[2] = {
		{ .function = f_help, .line = 6, .inlined = true },
		{ .function = f_work, .line = 22 },
	};
	uint32_t l_work = cp_profile_add_location(p, map, 0x200, inl, 2);
	uint32_t l_main12 = loc(p, map, 0x100, f_main, 12);
	uint32_t l_main13 = loc(p, map, 0x104, f_main, 13);
	uint32_t l_main14 = loc(p, map, 0x108, f_main, 14);
	uint32_t l_main15 = loc(p, map, 0x10c, f_main, 15);
	uint32_t l_main16 = loc(p, map, 0x110, f_main, 16);
	uint32_t l_rec32 = loc(p, lib, 0x300, f_rec, 32);
	uint32_t l_rec35 = loc(p, lib, 0x310, f_rec, 35);
	uint32_t l_dup1 = loc(p, map, 0x400, f_dup1, 41);
	uint32_t l_dup2 = loc(p, map, 0x500, f_dup2, 51);
	uint32_t l_ghost = loc(p, map, 0x600, f_ghost, 0);
	uint32_t s_work[] = { l_work, l_main12 };
	uint32_t s_rec[] = { l_rec35, l_rec32, l_rec32, l_main13 };
	uint32_t s_dup1[] = { l_dup1, l_main14 }, s_dup2[] = { l_dup2, l_main15 };
	uint32_t s_ghost[] = { l_ghost, l_main16 };
	sample(p, s_work, 2, 10, 3000);
	sample(p, s_rec, 4, 10, 2000);
	sample(p, s_dup1, 2, 10, 500);
	sample(p, s_work, 2, 11, 1000);
	sample(p, s_dup2, 2, 10, 500);
	sample(p, s_ghost, 2, 10, 0);
	return p;
}

static char *write_cg(const struct cp_profile *p, const struct cp_view_opts *vo)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, vo, &err);
	assert_non_null(v);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_callgrind_write(f, v, "test", &err), 0);
	fclose(f);
	cp_view_free(v);
	return buf;
}

static const char expected[] =
	"# callgrind format\n"
	"version: 1\n"
	"creator: cprof " CP_VERSION "\n"
	"cmd: ./app --fast\n"
	"positions: line\n"
	"event: cpu : cpu (nanoseconds)\n"
	"events: cpu\n"
	"summary: 7000\n"
	/* helper: inlined, but a function with its own self cost */
	"\n"
	"ob=(1) /bin/app\n"
	"fl=(1) /src/app.h\n"
	"fn=(1) helper\n"
	"6 4000\n"
	"\n"
	"ob=(1)\n"
	"fl=(2) /src/app.c\n"
	"fn=(2) work\n"
	"cfl=(1)\n"
	"cfn=(1)\n"
	"calls=2 5\n"
	"22 4000\n"
	"\n"
	"ob=(1)\n"
	"fl=(2)\n"
	"fn=(3) main\n"
	"cfn=(2)\n"
	"calls=2 20\n"
	"12 4000\n"
	"cob=(2) /lib/librec.so\n"
	"cfl=(3) /src/rec.c\n"
	"cfn=(4) rec\n"
	"calls=1 30\n"
	"13 2000\n"
	"cfn=(5) dup [1/2]\n"
	"calls=1 40\n"
	"14 500\n"
	"cfn=(6) dup [2/2]\n"
	"calls=1 50\n"
	"15 500\n"
	/* rec calls itself, twice: its cost is counted in main's call */
	"\n"
	"ob=(2)\n"
	"fl=(3)\n"
	"fn=(4)\n"
	"35 2000\n"
	"\n"
	"ob=(1)\n"
	"fl=(2)\n"
	"fn=(5)\n"
	"41 500\n"
	"\n"
	"ob=(1)\n"
	"fl=(2)\n"
	"fn=(6)\n"
	"51 500\n";

static void test_exact(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	char *out = write_cg(p, &(struct cp_view_opts){ .value_index = 1 });
	assert_string_equal(out, expected);
	free(out);
	cp_profile_free(p);
}

/* The event is the view's value type; filters apply. */
static void test_value_and_filter(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	struct cp_view_opts vo = { .value_index = 0 };
	uint32_t tid = 11;
	vo.filter.tids = &tid;
	vo.filter.ntids = 1;
	char *out = write_cg(p, &vo);
	assert_non_null(strstr(out, "\nevent: samples : samples (count)\nevents: samples\n"
				    "summary: 1\n"));
	assert_non_null(strstr(out, "fn=(1) helper\n6 1\n"));
	assert_null(strstr(out, "rec"));
	assert_null(strstr(out, "ghost"));
	free(out);
	/* with no_inline, helper's cost is work's, at work's line */
	vo = (struct cp_view_opts){ .value_index = 1, .no_inline = true };
	out = write_cg(p, &vo);
	assert_null(strstr(out, "helper"));
	assert_non_null(strstr(out, "fn=(1) work\n22 4000\n"));
	free(out);
	cp_profile_free(p);
}

/* main -> a -> b -> a -> b: the inner b -> a and a -> b count nothing, so
 * the calls into a and into b add up to their inclusive costs. */
static void test_mutual_recursion(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	uint32_t m = loc(p, CP_NONE, 0x10, fn(p, "main", "m.c", 1), 2);
	uint32_t a = loc(p, CP_NONE, 0x20, fn(p, "a", "m.c", 10), 11);
	uint32_t b = loc(p, CP_NONE, 0x30, fn(p, "b", "m.c", 20), 21);
	uint32_t locs[] = { b, a, b, a, m };
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, locs, 5) };
	int64_t one = 7;
	cp_profile_add_sample(p, &s, &one);
	char *out = write_cg(p, NULL);
	static const char want[] = "summary: 7\n"
				   "\n"
				   "ob=(1) [unknown]\n"
				   "fl=(1) m.c\n"
				   "fn=(1) b\n"
				   "21 7\n"
				   "\n"
				   "ob=(1)\n"
				   "fl=(1)\n"
				   "fn=(2) a\n"
				   "cfn=(1)\n"
				   "calls=7 20\n"
				   "11 7\n"
				   "\n"
				   "ob=(1)\n"
				   "fl=(1)\n"
				   "fn=(3) main\n"
				   "cfn=(2)\n"
				   "calls=7 10\n"
				   "2 7\n";
	assert_non_null(strstr(out, want));
	assert_int_equal(strlen(strstr(out, want)), strlen(want));
	free(out);
	cp_profile_free(p);
}

/* Names stay on one line; a profile without value types counts samples. */
static void test_odd_names(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	uint32_t f = fn(p, "a\nb", "", 0);
	uint32_t l = loc(p, CP_NONE, 0x10, f, 0);
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, &l, 1) };
	cp_profile_add_sample(p, &s, NULL);
	cp_profile_add_sample(p, &s, NULL);
	char *out = write_cg(p, NULL);
	assert_non_null(strstr(out, "events: samples\nsummary: 2\n\nob=(1) [unknown]\n"
				    "fl=(1) ???\nfn=(1) a b\n0 2\n"));
	assert_null(strstr(out, "cmd:"));
	free(out);
	cp_profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_value_and_filter),
		cmocka_unit_test(test_mutual_recursion),
		cmocka_unit_test(test_odd_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
