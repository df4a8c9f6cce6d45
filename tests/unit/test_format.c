/* test_format.c - lib/format text renderers: the report header and table,
 * the call tree and folded stacks, compared with their exact text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "format/format.h"
#include "profile/profile.h"

struct fx {
	struct cp_profile *p;
	uint32_t l_main, l_run, l_sixty, l_thirty, l_ten, l_odd;
};

static uint32_t loc(struct cp_profile *p, uint32_t map, uint64_t addr, const char *name,
		    bool inl_into_next, const char *real)
{
	const char *src = "/src/cpu_split.c";
	struct cp_profile_line l[2];
	uint32_t n = 0;
	l[n++] = (struct cp_profile_line){
		.function = cp_profile_add_function(p, name, name, src, 0),
		.line = (int64_t)addr,
		.inlined = inl_into_next,
	};
	if (real)
		l[n++] = (struct cp_profile_line){
			.function = cp_profile_add_function(p, real, real, src, 0),
			.line = (int64_t)addr + 1,
		};
	return cp_profile_add_location(p, map, addr, l, n);
}

static void add(struct cp_profile *p, const uint32_t *locs, uint32_t n, uint32_t pid,
		const char *comm, uint32_t flags, uint64_t need, int count)
{
	uint32_t st = cp_profile_add_stack(p, locs, n);
	for (int i = 0; i < count; i++) {
		struct cp_profile_sample s = { .stack = st,
					       .pid = pid,
					       .tid = pid,
					       .comm = cp_profile_intern(p, comm),
					       .flags = flags,
					       .stack_need = need };
		int64_t v[2] = { 1, 1000000 };
		cp_profile_add_sample(p, &s, v);
	}
}

/* main -> run_rounds -> {hot_sixty 6, hot_thirty 3, hot_ten[inl helper] 1} */
static void fx_build(struct fx *x)
{
	struct cp_profile *p = x->p = cp_profile_new();
	struct cp_profile_meta *m = &p->meta;
	m->command = cp_profile_intern(p, "./cpu_split_nofp 700");
	m->event = cp_profile_intern(p, "cpu-clock");
	m->sampler = cp_profile_intern(p, "perf_event");
	m->callgraph = cp_profile_intern(p, "dwarf");
	m->hostname = cp_profile_intern(p, "HOST");
	m->os_release = cp_profile_intern(p, "6.18.44");
	m->arch = cp_profile_intern(p, "x86_64");
	m->time_nanos = 1795301401000000000ull; /* 2026-11-21 22:50:01 UTC */
	m->duration_nanos = 1480000000;
	m->freq = 999;
	m->stack_size = 8192;
	m->exit_status = 0;
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	struct cp_profile_mapping mp = { .path = "/tmp/x/cpu_split_nofp", .build_id = "" };
	uint32_t map = cp_profile_add_mapping(p, &mp);
	x->l_main = loc(p, map, 0x10, "main", false, NULL);
	x->l_run = loc(p, map, 0x20, "run_rounds", false, NULL);
	x->l_sixty = loc(p, map, 0x30, "hot_sixty", false, NULL);
	x->l_thirty = loc(p, map, 0x40, "hot_thirty", false, NULL);
	x->l_ten = loc(p, map, 0x50, "helper", true, "hot_ten");
	x->l_odd = loc(p, map, 0x60, "operator;\nodd", false, NULL);
	uint32_t s1[] = { x->l_sixty, x->l_run, x->l_main };
	uint32_t s2[] = { x->l_thirty, x->l_run, x->l_main };
	uint32_t s3[] = { x->l_ten, x->l_run, x->l_main };
	add(p, s1, 3, 100, "cpu_split_nofp", 0, 0, 6);
	add(p, s2, 3, 100, "cpu_split_nofp", 0, 0, 3);
	add(p, s3, 3, 100, "cpu_split_nofp", CP_SAMPLE_SPLICED, 0, 1);
}

/* Render with a callback into a string the caller frees. */
static char *render_view(struct cp_view *v, int what, double limit)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cp_error err = { 0 };
	if (what == 0) {
		struct cp_report_header h = { .input = "cprof.data" };
		assert_int_equal(cp_format_report_header(f, v, &h, "test", &err), 0);
		struct cp_view_top *t = cp_view_top(v, limit);
		assert_int_equal(cp_format_top_text(f, t, 0, "test", &err), 0);
		cp_view_top_free(t);
	} else if (what == 1 || what == 2) {
		struct cp_view_tree *t = cp_view_tree(v, what == 2, limit);
		assert_int_equal(cp_format_tree_text(f, t, limit, "test", &err), 0);
		cp_view_tree_free(t);
	} else {
		assert_int_equal(cp_format_folded_write(f, v, NULL, "test", &err), 0);
	}
	fclose(f);
	return buf;
}

static char *render(struct cp_profile *p, const struct cp_view_opts *o, int what, double limit)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, o, &err);
	assert_non_null(v);
	char *s = render_view(v, what, limit);
	cp_view_free(v);
	return s;
}

static void test_report_text(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	char *s = render(x.p, NULL, 0, 0);
	const char *want =
		"# cprof report: cprof.data\n"
		"# command: ./cpu_split_nofp 700\n"
		"# recorded: 2026-11-21 22:50:01 UTC on HOST (Linux 6.18.44, x86_64), duration 1.48 s\n"
		"# event: cpu-clock at 999 Hz, call graph: dwarf (stack copy 8192 bytes), sampler: "
		"perf_event\n"
		"# samples: 10 (lost 0), processes: 1, threads: 1, exit status: 0\n"
		"# stacks: 100.0% unwound completely (to _start/main/thread start), 1 spliced with "
		"frame pointers\n"
		"#\n"
		"#  Self%  Total%  Samples  Function                                 Module\n"
		"   60.00   60.00        6  hot_sixty                                cpu_split_nofp\n"
		"   30.00   30.00        3  hot_thirty                               cpu_split_nofp\n"
		"   10.00   10.00        1  hot_ten                                  cpu_split_nofp\n"
		"    0.00  100.00        0  main                                     cpu_split_nofp\n"
		"    0.00  100.00        0  run_rounds                               cpu_split_nofp\n"
		"    0.00   10.00        0  helper                                   cpu_split_nofp\n";
	assert_string_equal(s, want);
	free(s);
	cp_profile_free(x.p);
}

static void test_report_header_variants(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_profile *p = x.p;
	/* unknown facts are left out */
	p->meta.exit_status = -1;
	p->meta.hostname = p->meta.os_release = p->meta.arch = cp_profile_intern(p, "");
	p->meta.command = p->meta.hostname;
	/* cut samples: need 9000 -> 9216 */
	uint32_t s[] = { x.l_sixty };
	add(p, s, 1, 200, "worker", CP_SAMPLE_CUT, 9000, 2);
	p->truncated = true;
	snprintf(p->truncated_why, sizeof(p->truncated_why), "no end record");
	uint32_t pid = 200;
	struct cp_view_opts o = { .value_index = CP_NONE };
	o.filter.pids = &pid;
	o.filter.npids = 1;
	char fd[128];
	cp_format_filter_desc(&o.filter, fd, sizeof(fd));
	assert_string_equal(fd, "pid=200");

	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, &o, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cp_report_header h = { .input = "x.data", .filter = fd };
	assert_int_equal(cp_format_report_header(f, v, &h, "test", &err), 0);
	fclose(f);
	const char *want =
		"# cprof report: x.data\n"
		"# recorded: 2026-11-21 22:50:01 UTC, duration 1.48 s\n"
		"# event: cpu-clock at 999 Hz, call graph: dwarf (stack copy 8192 bytes), sampler: "
		"perf_event\n"
		"# samples: 12 (lost 0), processes: 2, threads: 2\n"
		"# stacks: 83.3% unwound completely (to _start/main/thread start), 1 spliced with "
		"frame pointers\n"
		"# stacks cut at the end of the 8192-byte stack copy: 16.7%; --stack-size=9216 would "
		"have kept them\n"
		"# warning: recording is truncated: no end record\n"
		"# filter: pid=200\n"
		"#\n";
	assert_string_equal(buf, want);
	free(buf);
	cp_view_free(v);

	/* a need beyond the kernel's maximum; a filter matching nothing */
	add(p, s, 1, 200, "worker", CP_SAMPLE_CUT, 70000, 1);
	uint32_t tids[] = { 7, 8 };
	const char *comms[] = { "a b", "c" };
	o.filter.tids = tids;
	o.filter.ntids = 2;
	o.filter.comms = comms;
	o.filter.ncomms = 2;
	cp_format_filter_desc(&o.filter, fd, sizeof(fd));
	assert_string_equal(fd, "pid=200, tid=7,8, comm=a b,c");
	v = cp_view_new(p, &o, &err);
	f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_report_header(f, v, &h, "test", &err), 0);
	fclose(f);
	assert_non_null(strstr(buf,
			       "# stacks cut at the end of the 8192-byte stack copy: 23.1% need "
			       "more than the kernel's 65528-byte maximum; frame pointers "
			       "(-fno-omit-frame-pointer) let cprof splice them\n"));
	assert_non_null(strstr(buf, "# filter: pid=200, tid=7,8, comm=a b,c\n"
				    "# no samples match the filter\n#\n"));
	free(buf);
	cp_view_free(v);
	cp_profile_free(p);
}

static void test_report_keys(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view_opts o = { .value_index = CP_NONE };
	struct cp_error err = { 0 };
	assert_int_equal(cp_view_parse_keys("pid,comm,sym", o.keys, &o.nkeys, &err), 0);
	struct cp_view *v = cp_view_new(x.p, &o, &err);
	struct cp_view_top *t = cp_view_top(v, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_top_text(f, t, 2, "test", &err), 0);
	fclose(f);
	const char *want = "#  Self%  Total%  Samples  Command               Pid  Function\n"
			   "   60.00   60.00        6  cpu_split_nofp        100  hot_sixty\n"
			   "   30.00   30.00        3  cpu_split_nofp        100  hot_thirty\n";
	assert_string_equal(buf, want);
	free(buf);
	cp_view_top_free(t);
	cp_view_free(v);

	/* srcline: the innermost line of the leaf, between Function and Module */
	assert_int_equal(cp_view_parse_keys("sym,srcline,dso", o.keys, &o.nkeys, &err), 0);
	v = cp_view_new(x.p, &o, &err);
	t = cp_view_top(v, 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_top_text(f, t, 3, "test", &err), 0);
	fclose(f);
	const char *want2 =
		"#  Self%  Total%  Samples  Function                                 Source:Line     "
		"Module\n"
		"   60.00   60.00        6  hot_sixty                                cpu_split.c:48  "
		"cpu_split_nofp\n"
		"   30.00   30.00        3  hot_thirty                               cpu_split.c:64  "
		"cpu_split_nofp\n"
		"   10.00   10.00        1  hot_ten                                  cpu_split.c:80  "
		"cpu_split_nofp\n";
	assert_string_equal(buf, want2);
	free(buf);
	cp_view_top_free(t);
	cp_view_free(v);
	cp_profile_free(x.p);
}

static void test_tree_text(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	char *s = render(x.p, NULL, 1, 0);
	const char *want = "# call tree: callers above callees, percent of the total weight\n"
			   "#\n"
			   "# Total%  Function\n"
			   " 100.00  main (cpu_split_nofp)\n"
			   " 100.00    run_rounds\n"
			   "  60.00      hot_sixty  self 60.00%\n"
			   "  30.00      hot_thirty  self 30.00%\n"
			   "  10.00      hot_ten\n"
			   "  10.00        helper [inlined]  self 10.00%\n";
	assert_string_equal(s, want);
	free(s);

	s = render(x.p, NULL, 1, 35.0);
	assert_non_null(strstr(s, "; 2 nodes below 35.00% hidden\n"));
	assert_non_null(strstr(s, "  60.00      hot_sixty  self 60.00%\n"));
	assert_null(strstr(s, "hot_thirty"));
	assert_null(strstr(s, "helper"));
	free(s);

	s = render(x.p, NULL, 2, 0);
	const char *inv = "# call tree: callees above callers (inverted), percent of the total "
			  "weight\n"
			  "#\n"
			  "# Total%  Function\n"
			  "  60.00  hot_sixty (cpu_split_nofp)\n"
			  "  60.00    run_rounds\n"
			  "  60.00      main\n"
			  "  30.00  hot_thirty (cpu_split_nofp)\n"
			  "  30.00    run_rounds\n"
			  "  30.00      main\n"
			  "  10.00  helper [inlined] (cpu_split_nofp)\n"
			  "  10.00    hot_ten\n"
			  "  10.00      run_rounds\n"
			  "  10.00        main\n";
	assert_string_equal(s, inv);
	free(s);
	cp_profile_free(x.p);
}

static void test_folded(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	uint32_t s4[] = { x.l_odd, x.l_main };
	add(x.p, s4, 2, 101, "other", 0, 0, 2);
	/* an unsymbolized address, and a stack that renders like s1 through
	 * another address of hot_sixty: merged into one line */
	struct cp_profile_line l = { .function = cp_profile_add_function(x.p, "hot_sixty",
									 "hot_sixty", "", 0) };
	uint32_t other_sixty = cp_profile_add_location(x.p, 0, 0x31, &l, 1);
	uint32_t s5[] = { other_sixty, x.l_run, x.l_main };
	add(x.p, s5, 3, 100, "cpu_split_nofp", 0, 0, 4);
	uint32_t unk = cp_profile_add_location(x.p, 0, 0xabc, NULL, 0);
	uint32_t s6[] = { unk, x.l_main };
	add(x.p, s6, 2, 100, "cpu_split_nofp", 0, 0, 1);

	char *s = render(x.p, NULL, 3, 0);
	const char *want = "main;cpu_split_nofp+0xabc 1\n"
			   "main;operator\\; odd 2\n"
			   "main;run_rounds;hot_sixty 10\n"
			   "main;run_rounds;hot_ten;helper 1\n"
			   "main;run_rounds;hot_thirty 3\n";
	assert_string_equal(s, want);
	free(s);

	/* no inline frames; filter by pid */
	uint32_t pid = 100;
	struct cp_view_opts o = { .value_index = CP_NONE, .no_inline = true };
	o.filter.pids = &pid;
	o.filter.npids = 1;
	s = render(x.p, &o, 3, 0);
	const char *want2 = "main;cpu_split_nofp+0xabc 1\n"
			    "main;run_rounds;hot_sixty 10\n"
			    "main;run_rounds;hot_ten 1\n"
			    "main;run_rounds;hot_thirty 3\n";
	assert_string_equal(s, want2);
	free(s);

	/* weights instead of counts */
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(x.p, &o, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cp_folded_opts fo = { .weights = true };
	assert_int_equal(cp_format_folded_write(f, v, &fo, "test", &err), 0);
	fclose(f);
	assert_non_null(strstr(buf, "main;run_rounds;hot_sixty 10000000\n"));
	free(buf);
	cp_view_free(v);
	cp_profile_free(x.p);
}

/* fx plus wall-clock samples of blocked threads: hot_sixty in nanosleep
 * (6), hot_thirty in futex (3), hot_sixty in an unknown syscall (1). */
static void add_off(struct cp_profile *p, const uint32_t *locs, uint32_t n, const char *sc,
		    int count)
{
	uint32_t st = cp_profile_add_stack(p, locs, n);
	for (int i = 0; i < count; i++) {
		struct cp_profile_sample s = { .stack = st,
					       .pid = 100,
					       .tid = 101,
					       .comm = cp_profile_intern(p, "cpu_split_nofp"),
					       .flags = CP_SAMPLE_OFFCPU,
					       .syscall = sc ? cp_profile_intern(p, sc) : NULL };
		int64_t v[2] = { 1, 1000000 };
		cp_profile_add_sample(p, &s, v);
	}
}

static void test_report_wall(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	uint32_t s1[] = { x.l_sixty, x.l_run, x.l_main };
	uint32_t s2[] = { x.l_thirty, x.l_run, x.l_main };
	add_off(x.p, s1, 3, "nanosleep", 6);
	add_off(x.p, s2, 3, "futex", 3);
	add_off(x.p, s1, 3, NULL, 1);
	x.p->meta.event = cp_profile_intern(x.p, "wall-clock");

	struct cp_view_opts o = { .value_index = CP_NONE };
	struct cp_error err = { 0 };
	assert_int_equal(cp_view_parse_keys("state,function", o.keys, &o.nkeys, &err), 0);
	char *s = render(x.p, &o, 0, 0);
	const char *want =
		"# cprof report: cprof.data\n"
		"# command: ./cpu_split_nofp 700\n"
		"# recorded: 2026-11-21 22:50:01 UTC on HOST (Linux 6.18.44, x86_64), duration 1.48 s\n"
		"# event: wall-clock at 999 Hz, call graph: dwarf (stack copy 8192 bytes), sampler: "
		"perf_event\n"
		"# samples: 20 (lost 0), processes: 1, threads: 2, exit status: 0\n"
		"# stacks: 100.0% unwound completely (to _start/main/thread start), 1 spliced with "
		"frame pointers\n"
		"# wall-clock: 50.0% of samples off-CPU (blocked); --off-cpu/--on-cpu select them, "
		"--sort state,function splits them\n"
		"#\n"
		"#  Self%  Total%  Samples  State              Function\n"
		"   30.00   30.00        6  off-cpu:nanosleep  hot_sixty\n"
		"   30.00   30.00        6  on-cpu             hot_sixty\n"
		"   15.00   15.00        3  off-cpu:futex      hot_thirty\n"
		"   15.00   15.00        3  on-cpu             hot_thirty\n"
		"    5.00    5.00        1  off-cpu            hot_sixty\n"
		"    5.00    5.00        1  on-cpu             hot_ten\n"
		"    0.00   50.00        0  on-cpu             main\n"
		"    0.00   50.00        0  on-cpu             run_rounds\n"
		"    0.00   30.00        0  off-cpu:nanosleep  main\n"
		"    0.00   30.00        0  off-cpu:nanosleep  run_rounds\n"
		"    0.00   15.00        0  off-cpu:futex      main\n"
		"    0.00   15.00        0  off-cpu:futex      run_rounds\n"
		"    0.00    5.00        0  off-cpu            main\n"
		"    0.00    5.00        0  off-cpu            run_rounds\n"
		"    0.00    5.00        0  on-cpu             helper\n";
	assert_string_equal(s, want);
	free(s);

	/* the off-CPU filter, described in the header; the table keeps its
	 * default keys, without a State column */
	o.nkeys = 0;
	o.filter.cpu_state = CP_VIEW_OFF_CPU;
	char fd[64];
	assert_string_equal(cp_format_filter_desc(&o.filter, fd, sizeof(fd)), "off-cpu");
	{
		struct cp_view *v = cp_view_new(x.p, &o, &err);
		assert_non_null(v);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct cp_report_header h = { .input = "w.data", .filter = fd };
		assert_int_equal(cp_format_report_header(f, v, &h, "test", &err), 0);
		struct cp_view_top *t = cp_view_top(v, 0);
		assert_int_equal(cp_format_top_text(f, t, 2, "test", &err), 0);
		cp_view_top_free(t);
		fclose(f);
		assert_non_null(strstr(buf, "# wall-clock: 50.0% of samples off-CPU"));
		assert_non_null(strstr(
			buf, "# filter: off-cpu\n"
			     "#\n"
			     "#  Self%  Total%  Samples  Function                                 "
			     "Module\n"
			     "   70.00   70.00        7  hot_sixty                                "
			     "cpu_split_nofp\n"
			     "   30.00   30.00        3  hot_thirty                               "
			     "cpu_split_nofp\n"));
		free(buf);
		cp_view_free(v);
	}
	o.filter.cpu_state = CP_VIEW_ON_CPU;
	uint32_t pid = 100;
	o.filter.pids = &pid;
	o.filter.npids = 1;
	assert_string_equal(cp_format_filter_desc(&o.filter, fd, sizeof(fd)), "pid=100, on-cpu");

	/* folded stacks: off-CPU samples are ordinary stacks */
	s = render(x.p, NULL, 3, 0);
	assert_string_equal(s, "main;run_rounds;hot_sixty 13\n"
			       "main;run_rounds;hot_ten;helper 1\n"
			       "main;run_rounds;hot_thirty 6\n");
	free(s);
	cp_profile_free(x.p);
}

/* A profile written with the data writer and read back renders exactly as
 * the original: views depend on nothing a reader does not rebuild. */
static void test_data_round_trip(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	char path[] = "/tmp/cprof-test-format.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	struct cp_error err = { 0 };
	struct cp_data_writer *w = cp_data_writer_open(path, x.p, &err);
	assert_non_null(w);
	for (size_t i = 0; i < x.p->samples.n; i++)
		assert_int_equal(cp_data_writer_add_sample(w, &x.p->samples.v[i],
							   cp_profile_sample_values(x.p, i), &err),
				 0);
	assert_int_equal(cp_data_writer_finish(w, &err), 0);
	struct cp_profile *q = NULL;
	assert_int_equal(cp_data_read(path, &q, &err), 0);
	unlink(path);
	for (int what = 0; what < 4; what++) {
		char *a = render(x.p, NULL, what, 0), *b = render(q, NULL, what, 0);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	cp_profile_free(q);
	cp_profile_free(x.p);
}

/* core's JSON string writer (the store's list rows): exact text, and
 * whatever the bytes, text that a JSON parser takes back */
static void json_str(const char *in, const char *want)
{
	struct cp_buf b = { 0 };
	cp_buf_add_json_str(&b, in);
	cp_buf_add_u8(&b, 0);
	assert_string_equal((char *)b.p, want);
	cp_buf_release(&b);
}

static void test_json_str(void **state)
{
	(void)state;
	json_str("", "\"\"");
	json_str("env=prod,host=h1", "\"env=prod,host=h1\"");
	json_str("a\"b\\c", "\"a\\\"b\\\\c\"");
	json_str("t\tn\n\x01\x1f", "\"t\\u0009n\\u000a\\u0001\\u001f\"");
	json_str("caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"");
	json_str("bad\xff\xc3(end", "\"bad\\ufffd\\ufffd(end\"");
	json_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	struct cp_buf b = { 0 };
	cp_buf_add_i64(&b, INT64_MIN);
	cp_buf_add_u8(&b, ' ');
	cp_buf_add_i64(&b, 0);
	cp_buf_add_u8(&b, ' ');
	cp_buf_add_i64(&b, 1796421450615604553ll);
	cp_buf_add_u8(&b, 0);
	assert_string_equal((char *)b.p, "-9223372036854775808 0 1796421450615604553");
	cp_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_text), cmocka_unit_test(test_report_header_variants),
		cmocka_unit_test(test_report_keys), cmocka_unit_test(test_tree_text),
		cmocka_unit_test(test_folded),      cmocka_unit_test(test_data_round_trip),
		cmocka_unit_test(test_report_wall), cmocka_unit_test(test_json_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
