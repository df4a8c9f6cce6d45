/* test_readers.c - lib/format text readers (folded, perf script), the
 * folded writer's escapes, annotations and root frames, and input format
 * detection.  The perf-script golden files in tests/data/perfscript (made
 * with FlameGraph's stackcollapse-perf.pl, see the README there) are read
 * from $CPROF_TEST_DATA/perfscript, by default tests/data/perfscript under
 * the current directory (tests run from the repository root). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "profile/profile.h"

static char *fold(const struct cp_profile *p, const struct cp_folded_opts *fo, uint32_t value)
{
	struct cp_error err = { 0 };
	struct cp_view_opts o = { .value_index = value };
	struct cp_view *v = cp_view_new(p, &o, &err);
	assert_non_null(v);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_folded_write(f, v, fo, "test", &err), 0);
	fclose(f);
	cp_view_free(v);
	return buf;
}

static struct cp_profile *read_folded(const char *text)
{
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	int r = cp_format_folded_read(text, strlen(text), "t", &p, &err);
	if (r)
		fail_msg("folded read failed: %s", err.msg);
	return p;
}

static uint32_t fn_loc(struct cp_profile *p, uint32_t map, const char *name)
{
	struct cp_profile_line l = { .function = cp_profile_add_function(p, name, name, "", 0) };
	return cp_profile_add_location(p, map, 0x10, &l, 1);
}

static void add_samples(struct cp_profile *p, const uint32_t *locs, uint32_t n, const char *comm,
			uint32_t pid, uint32_t tid, int64_t count)
{
	struct cp_profile_sample s = {
		.stack = cp_profile_add_stack(p, locs, n),
		.comm = cp_profile_intern(p, comm),
		.pid = pid,
		.tid = tid,
	};
	for (int64_t i = 0; i < count; i++) {
		int64_t v = 1;
		cp_profile_add_sample(p, &s, &v);
	}
}

/* Names with every character the format uses, inline chains, kernel and
 * JIT frames: model -> folded -> model -> folded is byte-identical. */
static void test_folded_round_trip(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	struct cp_profile_mapping km = { .path = "[kernel.kallsyms]", .flags = CP_MAP_KERNEL };
	struct cp_profile_mapping jm = { .path = "/tmp/perf-1.map", .flags = CP_MAP_JIT };
	struct cp_profile_mapping um = { .path = "/usr/bin/app" };
	uint32_t kmap = cp_profile_add_mapping(p, &km), jmap = cp_profile_add_mapping(p, &jm);
	uint32_t umap = cp_profile_add_mapping(p, &um);
	uint32_t l_main = fn_loc(p, umap, "main");
	uint32_t l_op = fn_loc(p, umap, "operator;(a\\b)");
	uint32_t l_sp = fn_loc(p, umap, "std::map<int, int>::find");
	uint32_t l_k = fn_loc(p, kmap, "do_syscall_64");
	uint32_t l_j = fn_loc(p, jmap, "Lfoo;bar");
	uint32_t l_w = fn_loc(p, umap, "wake_[w]");
	struct cp_profile_line chain[3] = {
		{ .function = cp_profile_add_function(p, "inner", "inner", "", 0), .inlined = true },
		{ .function = cp_profile_add_function(p, "mid;dle", "mid;dle", "", 0),
		  .inlined = true },
		{ .function = cp_profile_add_function(p, "outer", "outer", "", 0) },
	};
	uint32_t l_inl = cp_profile_add_location(p, umap, 0x20, chain, 3);
	uint32_t s1[] = { l_op, l_main };
	uint32_t s2[] = { l_k, l_sp, l_main };
	uint32_t s3[] = { l_j, l_inl, l_main };
	uint32_t s4[] = { l_w, l_inl, l_main };
	add_samples(p, s1, 2, "my app", 10, 11, 3);
	add_samples(p, s2, 3, "my app", 10, 12, 2);
	add_samples(p, s3, 3, "jit;x", 20, 20, 1);
	add_samples(p, s4, 3, "", 0, 21, 4);

	struct cp_folded_opts fo = { .weights = true, .mark_inline = true };
	char *a = fold(p, &fo, CP_NONE);
	assert_string_equal(a, "main;operator\\;(a\\\\b) 3\n"
			       "main;outer;mid\\;dle_[i];inner_[i];Lfoo\\;bar_[j] 1\n"
			       "main;outer;mid\\;dle_[i];inner_[i];wake_[w] 4\n"
			       "main;std::map<int, int>::find;do_syscall_64_[k] 2\n");
	struct cp_profile *q = read_folded(a);
	char *b = fold(q, &fo, CP_NONE);
	assert_string_equal(a, b);
	/* the reader rebuilt the inline chain and the special mappings */
	bool kernel = false, jit = false, inl = false;
	for (size_t i = 0; i < q->mappings.n; i++) {
		kernel |= q->mappings.v[i].flags == CP_MAP_KERNEL &&
			  !strcmp(q->mappings.v[i].path, "[kernel.kallsyms]");
		jit |= q->mappings.v[i].flags == CP_MAP_JIT && !strcmp(q->mappings.v[i].path, "[jit]");
	}
	for (size_t i = 0; i < q->locations.n; i++)
		inl |= q->locations.v[i].nlines == 3;
	assert_true(kernel && jit && inl);
	free(b);
	cp_profile_free(q);

	/* without annotations, inline frames are plain frames */
	struct cp_folded_opts plain = { 0 };
	b = fold(p, &plain, CP_NONE);
	assert_string_equal(b, "main;operator\\;(a\\\\b) 3\n"
			       "main;outer;mid\\;dle;inner;Lfoo\\;bar 1\n"
			       "main;outer;mid\\;dle;inner;wake_[w] 4\n"
			       "main;std::map<int, int>::find;do_syscall_64 2\n");
	free(b);

	/* root frames: comm, comm-PID, comm-PID/TID; unknown pid "?", no comm */
	struct cp_folded_opts rc = { .root = CP_FOLDED_ROOT_COMM };
	b = fold(p, &rc, CP_NONE);
	assert_string_equal(b, "[unknown];main;outer;mid\\;dle;inner;wake_[w] 4\n"
			       "jit\\;x;main;outer;mid\\;dle;inner;Lfoo\\;bar 1\n"
			       "my_app;main;operator\\;(a\\\\b) 3\n"
			       "my_app;main;std::map<int, int>::find;do_syscall_64 2\n");
	/* and the root frame survives a round trip as an ordinary frame */
	q = read_folded(b);
	char *c = fold(q, &plain, CP_NONE);
	assert_string_equal(b, c);
	free(c);
	cp_profile_free(q);
	free(b);
	struct cp_folded_opts rp = { .root = CP_FOLDED_ROOT_PID };
	b = fold(p, &rp, CP_NONE);
	assert_non_null(strstr(b, "my_app-10;main;operator\\;(a\\\\b) 3\n"));
	assert_non_null(strstr(b, "[unknown]-?;main;"));
	free(b);
	struct cp_folded_opts rt = { .root = CP_FOLDED_ROOT_TID };
	b = fold(p, &rt, CP_NONE);
	assert_non_null(strstr(b, "my_app-10/11;main;operator\\;(a\\\\b) 3\n"));
	assert_non_null(strstr(b, "my_app-10/12;main;std::map<int, int>::find;do_syscall_64 2\n"));
	assert_non_null(strstr(b, "[unknown]-?/21;main;"));
	free(b);
	free(a);
	cp_profile_free(p);
}

/* Newlines in names become spaces; stacks of weight 0 are left out;
 * weights versus sample counts. */
static void test_folded_write_weights(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	uint32_t a = fn_loc(p, CP_NONE, "a\nb\rc"), z = fn_loc(p, CP_NONE, "zero");
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, &a, 1) };
	int64_t v = 250;
	cp_profile_add_sample(p, &s, &v);
	cp_profile_add_sample(p, &s, &v);
	s.stack = cp_profile_add_stack(p, &z, 1);
	v = 0;
	cp_profile_add_sample(p, &s, &v);
	struct cp_folded_opts w = { .weights = true }, c = { 0 };
	char *t = fold(p, &w, CP_NONE);
	assert_string_equal(t, "a b c 500\n");
	free(t);
	t = fold(p, &c, CP_NONE);
	assert_string_equal(t, "a b c 2\n");
	free(t);
	cp_profile_free(p);
}

static void test_folded_read(void **state)
{
	(void)state;
	/* unsorted, repeated, CRLF, comments, no final newline, count 0 */
	const char *in = "# a comment\r\n"
			 "b;c 2\r\n"
			 "\n"
			 "a;b 3\n"
			 "b;c 5\n"
			 "k_[k];x_[w] 0\n"
			 "my frame;with spaces 7";
	struct cp_profile *p = read_folded(in);
	assert_int_equal(p->samples.n, 5);
	assert_int_equal(p->value_types.n, 1);
	assert_string_equal(p->value_types.v[0].type, "samples");
	assert_string_equal(p->value_types.v[0].unit, "count");
	assert_string_equal(p->meta.event, "");
	/* leaf first: the stack of "a;b" ends in the location of a */
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(p, p->samples.v[1].stack, &n);
	assert_int_equal(n, 2);
	const struct cp_profile_location *l = &p->locations.v[locs[1]];
	assert_string_equal(p->functions.v[p->lines.v[l->line_start].function].name, "a");
	assert_int_equal(l->mapping, CP_NONE);
	struct cp_folded_opts fo = { .weights = true, .mark_inline = true };
	char *t = fold(p, &fo, CP_NONE);
	assert_string_equal(t, "a;b 3\nb;c 7\nmy frame;with spaces 7\n");
	free(t);
	struct cp_folded_opts counts = { 0 };
	t = fold(p, &counts, CP_NONE);
	assert_string_equal(t, "a;b 3\nb;c 7\nmy frame;with spaces 7\n");
	/* the zero-count line is a sample: "x_[w]" kept its suffix */
	bool found = false;
	for (size_t i = 0; i < p->functions.n; i++)
		found |= !strcmp(p->functions.v[i].name, "x_[w]");
	assert_true(found);
	free(t);
	cp_profile_free(p);

	/* an empty input is an empty profile */
	p = read_folded("");
	assert_int_equal(p->samples.n, 0);
	cp_profile_free(p);
}

static void expect_folded_error(const char *in, const char *msg)
{
	struct cp_profile *p = (struct cp_profile *)1;
	struct cp_error err = { 0 };
	assert_int_equal(cp_format_folded_read(in, strlen(in), "x.folded", &p, &err), CP_E_FORMAT);
	assert_null(p);
	assert_string_equal(err.msg, msg);
}

static void test_folded_errors(void **state)
{
	(void)state;
	expect_folded_error("a;b 1\n#\n\nc;d\n", "'x.folded' line 4: missing count after the stack");
	expect_folded_error("a;b 1\na;b \n", "'x.folded' line 2: missing count after the stack");
	expect_folded_error("a;b x\n", "'x.folded' line 1: count 'x' is not a number");
	expect_folded_error("a;b -3\n", "'x.folded' line 1: count '-3' is not a number");
	expect_folded_error("a;b 99999999999999999999\n",
			    "'x.folded' line 1: count '99999999999999999999' is not a number");
	expect_folded_error("a 1\n 12\n", "'x.folded' line 2: empty stack");
	expect_folded_error("a 9223372036854775807\nb 1\n",
			    "'x.folded' line 2: counts add up to more than 2^63");
}

/* ---- perf script ---------------------------------------------------------------- */

static struct cp_profile *read_ps(const char *text, size_t len)
{
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	int r = cp_format_perfscript_read(text, len, "t", &p, &err);
	if (r)
		fail_msg("perf script read failed: %s", err.msg);
	return p;
}

static char *fold_ps(const struct cp_profile *p, enum cp_folded_root root)
{
	struct cp_folded_opts fo = { .weights = true, .root = root };
	return fold(p, &fo, cp_profile_value_index(p, p->meta.default_type));
}

static const char *data_dir(void)
{
	const char *d = getenv("CPROF_TEST_DATA");
	return d && d[0] ? d : "tests/data";
}

static char *slurp(const char *path, size_t *len)
{
	char *s = cp_read_file(path, len);
	return s;
}

/* Every NAME.txt folds to NAME.folded (and NAME.pid.folded,
 * NAME.tid.folded when present) byte for byte. */
static void test_perfscript_golden(void **state)
{
	(void)state;
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/perfscript", data_dir());
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open '%s' (run from the repository root or set CPROF_TEST_DATA)",
			 dir);
	int checked = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		if (nl < 5 || strcmp(e->d_name + nl - 4, ".txt"))
			continue;
		char path[1024];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *in = slurp(path, &len);
		assert_non_null(in);
		struct cp_profile *p = read_ps(in, len);
		static const char *const suffix[] = { "folded", "pid.folded", "tid.folded" };
		static const enum cp_folded_root roots[] = { CP_FOLDED_ROOT_COMM, CP_FOLDED_ROOT_PID,
							     CP_FOLDED_ROOT_TID };
		for (int k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "%s/%.*s.%s", dir, (int)(nl - 4), e->d_name,
				 suffix[k]);
			size_t wl;
			char *want = slurp(path, &wl);
			if (!want) {
				if (k == 0)
					fail_msg("missing golden '%s'", path);
				continue;
			}
			char *got = fold_ps(p, roots[k]);
			if (strcmp(got, want))
				fail_msg("%s differs:\n--- got\n%s--- want\n%s", path, got, want);
			checked++;
			free(got);
			free(want);
		}
		cp_profile_free(p);
		free(in);
	}
	closedir(d);
	assert_true(checked >= 6);
}

static void test_perfscript_model(void **state)
{
	(void)state;
	const char *in = "# header comment\n"
			 "my app 10/11 [003] 100.500000:     250000 cpu-clock:pppH: \n"
			 "\t    1217 hot+0x27 (/usr/bin/app)\n"
			 "\tffffffff81000000 irq_exit+0x10 ([kernel.kallsyms])\n"
			 "\t    109b main+0x2b (/usr/bin/app)\n"
			 "\n"
			 "my app 10/12 [001] 100.500250:         77 page-faults: \n"
			 "\t    1219 hot+0x29 (/usr/bin/app)\n"
			 "\n"
			 "  other 13  100.600000:     250000 cpu-clock:pppH:      4005d0 leaf+0x1 (/bin/o)\n"
			 "  other 13  100.600250:     250000 cpu-clock:pppH:      4005d0 leaf+0x1 (/bin/o)\n"
			 "\n"
			 "two 14 cpu-clock:pppH: \n"
			 "\t  4005d0 f->g+0x3 (/bin/two)\n"
			 "\t  4005e0 nodso_sym\n";
	struct cp_profile *p = read_ps(in, strlen(in));
	assert_int_equal(p->value_types.n, 2);
	assert_string_equal(p->value_types.v[0].type, "cpu-clock:pppH");
	assert_string_equal(p->value_types.v[0].unit, "count");
	assert_string_equal(p->value_types.v[1].type, "page-faults");
	assert_string_equal(p->meta.default_type, "cpu-clock:pppH");
	assert_int_equal(p->samples.n, 5);
	const struct cp_profile_sample *s = p->samples.v;
	assert_string_equal(s[0].comm, "my app");
	assert_int_equal(s[0].pid, 10);
	assert_int_equal(s[0].tid, 11);
	assert_int_equal(s[0].cpu, 3);
	assert_int_equal(s[0].time, 0);
	assert_int_equal(s[1].time, 250000);
	assert_int_equal(s[2].time, 100000000);
	assert_int_equal(s[2].pid, 0); /* only the tid is known */
	assert_int_equal(s[2].tid, 13);
	assert_int_equal(cp_profile_sample_values(p, 0)[0], 250000);
	assert_int_equal(cp_profile_sample_values(p, 0)[1], 0);
	assert_int_equal(cp_profile_sample_values(p, 1)[0], 0);
	assert_int_equal(cp_profile_sample_values(p, 1)[1], 77);
	assert_int_equal(cp_profile_sample_values(p, 4)[0], 1); /* no period: 1 */
	/* hot+0x27 and hot+0x29 are one location, at the first address */
	uint32_t n0, n1;
	const uint32_t *l0 = cp_profile_stack_locs(p, s[0].stack, &n0);
	const uint32_t *l1 = cp_profile_stack_locs(p, s[1].stack, &n1);
	assert_int_equal(n0, 3);
	assert_int_equal(l0[0], l1[0]);
	assert_int_equal(p->locations.v[l0[0]].address, 0x1217);
	assert_int_equal(p->mappings.v[p->locations.v[l0[1]].mapping].flags, CP_MAP_KERNEL);
	assert_string_equal(p->mappings.v[p->locations.v[l0[0]].mapping].path, "/usr/bin/app");
	/* "f->g": g inlined into f */
	uint32_t n4;
	const uint32_t *l4 = cp_profile_stack_locs(p, s[4].stack, &n4);
	assert_int_equal(n4, 2);
	assert_int_equal(p->locations.v[l4[0]].nlines, 2);

	struct cp_folded_opts fo = { .weights = true, .mark_inline = true,
				     .root = CP_FOLDED_ROOT_TID };
	char *t = fold(p, &fo, 0);
	assert_string_equal(t, "my_app-10/11;main;irq_exit_[k];hot 250000\n"
			       "other-?/13;leaf 500000\n"
			       "two-?/14;nodso_sym;f;g_[i] 1\n");
	free(t);
	cp_profile_free(p);
}

static void expect_ps_error(const char *in, const char *msg)
{
	struct cp_profile *p = (struct cp_profile *)1;
	struct cp_error err = { 0 };
	assert_int_equal(cp_format_perfscript_read(in, strlen(in), "p.txt", &p, &err),
			 CP_E_FORMAT);
	assert_null(p);
	assert_string_equal(err.msg, msg);
}

static void test_perfscript_errors(void **state)
{
	(void)state;
	expect_ps_error("app 12 1.0: cycles: \n\t 1234 f (/x)\nhello world\n",
			"'p.txt' line 3: expected a sample header 'comm pid ...' or a stack frame");
	expect_ps_error("\t 1234 f (/x)\n", "'p.txt' line 1: stack frame without a sample header");
	expect_ps_error("# c\nnot perf\n",
			"'p.txt' line 2: expected a sample header 'comm pid ...' or a stack frame");
}

/* ---- detection --------------------------------------------------------------------- */

static void test_detect(void **state)
{
	(void)state;
	static const uint8_t gz[] = { 0x1f, 0x8b, 8, 0 };
	assert_int_equal(cp_format_detect(gz, sizeof(gz)), CP_INPUT_PPROF);
	/* sample_type {type: 1, unit: 2}, then string_table "" "samples" */
	static const uint8_t pb[] = { 0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32, 0x00,
				      0x32, 0x07, 's',	'a',  'm',  'p',  'l',	'e',
				      's' };
	assert_int_equal(cp_format_detect(pb, sizeof(pb)), CP_INPUT_PPROF);
	static const uint8_t notpb[] = { 0x0a, 0x04, 0x08, 0x01, 0x18, 0x02 };
	assert_int_equal(cp_format_detect(notpb, sizeof(notpb)), CP_INPUT_UNKNOWN);
	const char *ps = "# comment\n\napp 1234  10.5:     250000 cpu-clock: \n"
			 "\t    55d0c0e1f1a7 main+0x17 (/usr/bin/app)\n\n";
	assert_int_equal(cp_format_detect(ps, strlen(ps)), CP_INPUT_PERFSCRIPT);
	const char *ps1 = "  app 1234  10.5:     250000 cpu-clock:  4005d0 main+0x17 (/usr/bin/app)\n"
			  "  app 1234  10.6:     250000 cpu-clock:  4005d0 main+0x17 (/usr/bin/app)\n";
	assert_int_equal(cp_format_detect(ps1, strlen(ps1)), CP_INPUT_PERFSCRIPT);
	assert_int_equal(cp_format_detect(ps1 + 2, strlen(ps1) - 2), CP_INPUT_PERFSCRIPT);
	const char *fo = "\n# folded\nmain;run 12\nmain;x 3\n";
	assert_int_equal(cp_format_detect(fo, strlen(fo)), CP_INPUT_FOLDED);
	const char *fo2 = "main 12";
	assert_int_equal(cp_format_detect(fo2, strlen(fo2)), CP_INPUT_FOLDED);
	const char *bad[] = { "", "hello\n", " main;run 12\n", "main;run\n", "12\n" };
	for (size_t i = 0; i < CP_ARRAY_SIZE(bad); i++)
		assert_int_equal(cp_format_detect(bad[i], strlen(bad[i])), CP_INPUT_UNKNOWN);

	assert_string_equal(cp_format_input_name(CP_INPUT_CPROF), "cprof");
	assert_string_equal(cp_format_input_name(CP_INPUT_PPROF), "pprof");
	assert_string_equal(cp_format_input_name(CP_INPUT_PERFSCRIPT), "perf-script");
	assert_string_equal(cp_format_input_name(CP_INPUT_FOLDED), "folded");
	assert_string_equal(cp_format_input_name(CP_INPUT_UNKNOWN), "unknown");
	enum cp_input_format f;
	struct cp_error err = { 0 };
	static const char *const names[] = { "cprof", "pprof", "perf-script", "folded" };
	static const enum cp_input_format fmts[] = { CP_INPUT_CPROF, CP_INPUT_PPROF,
						     CP_INPUT_PERFSCRIPT, CP_INPUT_FOLDED };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(cp_format_parse_input(names[i], &f, &err), 0);
		assert_int_equal(f, fmts[i]);
	}
	assert_int_equal(cp_format_parse_input("perf", &f, &err), CP_E_USAGE);
	assert_string_equal(err.msg, "unknown input format 'perf' (supported: cprof, pprof, "
				     "perf-script, folded)");
	assert_int_equal(cp_format_parse_input("unknown", &f, &err), CP_E_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_round_trip), cmocka_unit_test(test_folded_write_weights),
		cmocka_unit_test(test_folded_read),	  cmocka_unit_test(test_folded_errors),
		cmocka_unit_test(test_perfscript_golden), cmocka_unit_test(test_perfscript_model),
		cmocka_unit_test(test_perfscript_errors), cmocka_unit_test(test_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
