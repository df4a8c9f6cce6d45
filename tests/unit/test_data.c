/* test_data.c - the cprof.data writer and reader: round trips, truncation,
 * corruption, bad headers, the .old rename and write errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "data/data.h"

static char tmpdir[256];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cprof-test-data-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tpath(const char *name)
{
	return cp_xasprintf("%s/%s", tmpdir, name);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	char *b = cp_read_file(path, len);
	assert_non_null(b);
	return (uint8_t *)b;
}

static void spit(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Add a sample to the model (for comparison) and to the writer. */
static void add(struct cp_data_writer *w, struct cp_profile *m, const struct cp_profile_sample *s,
		const int64_t *v)
{
	struct cp_error err = { 0 };
	cp_profile_add_sample(m, s, v);
	assert_int_equal(cp_data_writer_add_sample(w, s, v, &err), 0);
}

/* A profile that exercises every record kind: several mappings (one
 * kernel, locations without a mapping), functions with inline chains,
 * shared and distinct stacks, pid/tid/comm/cpu/flag changes, CUT samples,
 * OFFCPU samples with and without a syscall (some also CUT), two value
 * types, definitions added after a flush, and meta set late. */
static struct cp_profile *write_rich(const char *path, int nsamples)
{
	struct cp_error err = { 0 };
	struct cp_profile *m = cp_profile_new();
	m->meta.command = cp_profile_intern(m, "./app --fast input.txt");
	m->meta.event = cp_profile_intern(m, "cpu-clock");
	m->meta.sampler = cp_profile_intern(m, "perf_event");
	m->meta.callgraph = cp_profile_intern(m, "dwarf");
	m->meta.time_nanos = 1700000000123456789ULL;
	m->meta.freq = 999;
	m->meta.period = 1001001;
	m->meta.stack_size = 8192;
	cp_profile_add_value_type(m, "samples", "count");
	cp_profile_add_value_type(m, "cpu", "nanoseconds");
	struct cp_data_writer *w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);

	struct cp_profile_mapping maps[] = {
		{ "/usr/bin/app", "0123abcd", 0x555555554000, 0x555555600000, 0x1000, 0 },
		{ "/usr/lib/x86_64-linux-gnu/libc.so.6", "", 0x7ffff7d80000, 0x7ffff7f00000, 0, 0 },
		{ "[kernel.kallsyms]", "", 0xffffffff81000000, 0xffffffff83000000, 0,
		  CP_MAP_KERNEL },
	};
	for (size_t i = 0; i < 3; i++)
		cp_profile_add_mapping(m, &maps[i]);
	uint32_t loc[12];
	for (uint32_t i = 0; i < 10; i++)
		loc[i] = cp_profile_add_location(m, i % 3,
						 (i % 3 == 2 ? 0xffffffff81001000 : 0x1000) +
							 i * 0x40 - (i == 7 ? 0x900 : 0),
						 NULL, 0);
	loc[10] = cp_profile_add_location(m, CP_NONE, 0xdeadbeef, NULL, 0);
	uint32_t st[6];
	uint32_t a[] = { loc[0], loc[3], loc[6], loc[9] }, b[] = { loc[1], loc[4], loc[0] },
		 c[] = { loc[2], loc[5], loc[8], loc[3], loc[6], loc[9] }, d[] = { loc[10] };
	st[0] = cp_profile_add_stack(m, a, 4);
	st[1] = cp_profile_add_stack(m, b, 3);
	st[2] = cp_profile_add_stack(m, c, 6);
	st[3] = cp_profile_add_stack(m, d, 1);
	st[4] = cp_profile_add_stack(m, NULL, 0);

	const char *comm[] = { cp_profile_intern(m, "app"), cp_profile_intern(m, "worker-1"),
			       NULL };
	/* off-CPU syscalls: interned, unknown as NULL and "", and a literal */
	const char *sys[] = { cp_profile_intern(m, "nanosleep"), cp_profile_intern(m, "futex"),
			      NULL, "", "epoll_wait" };
	uint64_t t = 1000;
	for (int i = 0; i < nsamples; i++) {
		if (i == nsamples / 2) {
			assert_int_equal(cp_data_writer_flush(w, &err), 0);
			loc[11] = cp_profile_add_location(m, 1, 0x2222, NULL, 0);
			uint32_t e[] = { loc[11], loc[1] };
			st[5] = cp_profile_add_stack(m, e, 2);
		}
		struct cp_profile_sample s = {
			.stack = st[(i * 7) % (i >= nsamples / 2 ? 6 : 5)],
			.pid = 100 + (i / 50) % 2,
			.tid = 100 + (i / 10) % 4,
			.comm = comm[(i / 10) % 3],
			.time = t,
			.flags = ((i % 13 == 0) ? CP_SAMPLE_CUT : CP_SAMPLE_COMPLETE) |
				 ((i % 7 == 2) ? CP_SAMPLE_OFFCPU : 0),
			.cpu = (uint32_t)(i / 20) % 2,
			.stack_need = (i % 13 == 0) ? 12345 + (uint64_t)i : 0,
			.syscall = (i % 7 == 2) ? sys[(i / 7) % 5] : NULL,
		};
		int64_t v[2] = { 1, (i % 5 == 0) ? 2000000 : 1000000 };
		if (i % 17 == 3)
			v[1] = -5;
		add(w, m, &s, v);
		t += (i % 9 == 0) ? 0 : 1000000 + (uint64_t)(i % 3);
		if (i % 11 == 10)
			t -= 500; /* out-of-order timestamps across CPUs */
	}
	/* symbolization at the end: functions and inline chains */
	uint32_t fmain = cp_profile_add_function(m, "main", "main", "app.c", 10);
	uint32_t fwork = cp_profile_add_function(m, "work(int)", "_Z4worki", "work.cc", 20);
	uint32_t finl = cp_profile_add_function(m, "std::vector<int>::size",
						"_ZNKSt6vectorIiE4sizeEv",
						"/usr/include/c++/12/bits/stl_vector.h", 0);
	uint32_t fk = cp_profile_add_function(m, "do_syscall_64", "do_syscall_64", "", 0);
	/* a stripped function, named after its start: its flag round-trips */
	uint32_t fun = cp_profile_add_function(m, "app+0x1250", "app+0x1250", "", 0);
	cp_profile_set_function_flags(m, fun, CP_FUNC_UNNAMED);
	struct cp_profile_line l4[] = { { fun, 0, false } };
	cp_profile_set_location_lines(m, loc[1], l4, 1);
	struct cp_profile_line l1[] = { { finl, 988, true },
					{ fwork, 25, true },
					{ fmain, 12, false } };
	struct cp_profile_line l2[] = { { fmain, 14, false } };
	struct cp_profile_line l3[] = { { fk, -1, false } };
	cp_profile_set_location_lines(m, loc[0], l1, 3);
	cp_profile_set_location_lines(m, loc[3], l2, 1);
	cp_profile_set_location_lines(m, loc[2], l3, 1);
	cp_profile_set_location_lines(m, loc[0], l1 + 1, 2); /* re-symbolized */
	m->meta.duration_nanos = t;
	m->meta.lost_samples = 3;
	m->meta.lost_records = 1;
	m->meta.exit_status = 137;
	m->meta.hostname = cp_profile_intern(m, "buildhost");
	m->meta.os_release = "6.1.0-13-amd64"; /* not interned: the writer must cope */
	m->meta.arch = cp_profile_intern(m, "x86_64");
	m->meta.cprof_version = cp_profile_intern(m, CP_VERSION);
	uint64_t before = cp_data_writer_bytes(w);
	assert_true(before > 64);
	assert_int_equal(cp_data_writer_finish(w, &err), 0);
	return m;
}

static void assert_equal_profiles(const struct cp_profile *a, const struct cp_profile *b)
{
	char why[256];
	bool eq = cp_profile_equal(a, b, why, sizeof(why));
	if (!eq)
		fail_msg("profiles differ: %s", why);
}

static void test_round_trip(void **state)
{
	char *path = tpath("rt.data");
	struct cp_profile *m = write_rich(path, 1000);
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	int rc = cp_data_read(path, &r, &err);
	if (rc)
		fail_msg("read failed: %s", err.msg);
	assert_false(r->truncated);
	assert_string_equal(r->truncated_why, "");
	assert_equal_profiles(m, r);
	assert_int_equal(r->samples.n, 1000);
	assert_string_equal(r->meta.os_release, "6.1.0-13-amd64");
	assert_int_equal(r->meta.exit_status, 137);
	assert_int_equal(r->locations.v[0].nlines, 2);
	assert_true(r->samples.v[0].flags & CP_SAMPLE_CUT);
	assert_int_equal(r->samples.v[0].stack_need, 12345);
	/* sample 2 is off-CPU in nanosleep, 9 in futex, 16 unknown (NULL), 23
	 * unknown (""), 30 in epoll_wait (a literal the writer interned), 65 off-CPU
	 * and cut; sample 1 is on-CPU */
	assert_int_equal(r->samples.v[2].flags, CP_SAMPLE_COMPLETE | CP_SAMPLE_OFFCPU);
	assert_string_equal(r->samples.v[2].syscall, "nanosleep");
	assert_string_equal(r->samples.v[9].syscall, "futex");
	assert_string_equal(r->samples.v[16].syscall, "");
	assert_string_equal(r->samples.v[23].syscall, "");
	assert_string_equal(r->samples.v[30].syscall, "epoll_wait");
	assert_int_equal(r->samples.v[65].flags, CP_SAMPLE_CUT | CP_SAMPLE_OFFCPU);
	assert_int_equal(r->samples.v[65].stack_need, 12345 + 65);
	assert_string_equal(r->samples.v[65].syscall, "epoll_wait");
	assert_false(r->samples.v[1].flags & CP_SAMPLE_OFFCPU);
	assert_string_equal(r->samples.v[1].syscall, "");
	cp_profile_free(r);

	/* the same through cp_data_read_mem */
	size_t len;
	uint8_t *buf = slurp(path, &len);
	assert_true(cp_data_sniff(buf, len));
	assert_false(cp_data_sniff(buf, 4));
	assert_int_equal(cp_data_read_mem(buf, len, "mem", &r, &err), 0);
	assert_equal_profiles(m, r);
	cp_profile_free(r);
	free(buf);
	cp_profile_free(m);
	free(path);
}

/* The syscall is stored with OFFCPU samples only: a stale one on an on-CPU
 * sample does not reach the file, and one that changes between off-CPU
 * samples of the same record is not taken from the previous sample. */
/* A profile with stored code: small functions with rows, one without
 * rows, and one of 1.5 MiB that needs a chunk of its own.  `bad` forges
 * one broken entry behind the model API's back (0: none). */
static struct cp_profile *write_code(const char *path, int bad)
{
	struct cp_error err = { 0 };
	struct cp_profile *m = cp_profile_new();
	cp_profile_add_value_type(m, "samples", "count");
	struct cp_data_writer *w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);
	struct cp_profile_mapping maps[] = {
		{ "/usr/bin/app", "0123abcd", 0x555555554000, 0x555555600000, 0x1000, 0 },
		{ "[vdso]", "", 0x7ffff7fc1000, 0x7ffff7fc3000, 0, CP_MAP_VDSO },
	};
	cp_profile_add_mapping(m, &maps[0]);
	cp_profile_add_mapping(m, &maps[1]);
	uint32_t loc = cp_profile_add_location(m, 0, 0x1130, NULL, 0);
	uint32_t st = cp_profile_add_stack(m, &loc, 1);
	struct cp_profile_sample s = { .stack = st, .pid = 1, .tid = 1, .time = 5 };
	int64_t v = 1;
	add(w, m, &s, &v);
	uint32_t f0 = cp_profile_add_function(m, "hot", "hot", "/src/app.c", 10);
	uint32_t f1 = cp_profile_add_function(m, "main", "main", "/src/app.c", 30);
	uint32_t f2 = cp_profile_add_function(m, "__vdso_clock_gettime", "__vdso_clock_gettime",
					      "", 0);
	uint32_t f3 = cp_profile_add_function(m, "huge", "huge", "/src/gen.c", 1);
	struct cp_profile_line ln = { f0, 12, false };
	cp_profile_set_location_lines(m, loc, &ln, 1);
	uint8_t code[64];
	for (size_t i = 0; i < sizeof(code); i++)
		code[i] = (uint8_t)(0x90 + i);
	struct cp_profile_code_line rows[] = {
		{ 0x1120, "/src/app.c", 11 },
		{ 0x1128, "/usr/include/x86_64-linux-gnu/bits/stdio2.h", 105 },
		{ 0x1130, "/src/app.c", 12 },
		{ 0x1150, "", 0 },
	};
	cp_profile_add_code(m, 0, f0, 0x1120, code, 64, rows, 4);
	cp_profile_add_code(m, 0, f1, 0x1040, code, 16, rows, 0);
	cp_profile_add_code(m, 1, f2, 0xa00, code + 3, 40, NULL, 0);
	size_t hs = (3u << 20) / 2;
	uint8_t *huge = cp_xmalloc(hs);
	for (size_t i = 0; i < hs; i++)
		huge[i] = (uint8_t)(i * 2654435761u >> 13);
	struct cp_profile_code_line hrows[] = { { 0x400000, "/src/gen.c", 2 },
						{ 0x400000 + hs - 1, "/src/gen.c", 900 } };
	cp_profile_add_code(m, 0, f3, 0x400000, huge, (uint32_t)hs, hrows, 2);
	free(huge);
	m->meta.code_max = 8u << 20;
	m->meta.code_skipped = 3;
	struct cp_profile_code forged = m->code.v[0];
	switch (bad) {
	case 1: /* a mapping that does not exist */
		forged.mapping = 9;
		CP_VEC_PUSH(m->code, forged);
		break;
	case 2: /* a row past the function's end */
		m->code_lines.v[1].address = 0x1120 + 64;
		break;
	case 3: /* the same function twice in one module */
		CP_VEC_PUSH(m->code, forged);
		break;
	}
	assert_int_equal(cp_data_writer_finish(w, &err), 0);
	return m;
}

static void test_code_round_trip(void **state)
{
	char *path = tpath("code.data");
	struct cp_profile *m = write_code(path, 0);
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	if (cp_data_read(path, &r, &err))
		fail_msg("read failed: %s", err.msg);
	assert_equal_profiles(m, r);
	assert_int_equal(r->code.n, 4);
	assert_int_equal(r->meta.code_max, 8u << 20);
	assert_int_equal(r->meta.code_skipped, 3);
	const struct cp_profile_code *c = cp_profile_find_code(r, 0, "/usr/bin/app");
	assert_non_null(c);
	assert_int_equal(c->address, 0x1120);
	assert_int_equal(c->nlines, 4);
	assert_string_equal(r->code_lines.v[c->line_start + 1].file,
			    "/usr/include/x86_64-linux-gnu/bits/stdio2.h");
	assert_int_equal(r->code_bytes.v[c->bytes_start + 5], 0x95);
	cp_profile_free(r);
	/* no chunk grows far past the writer's target: the big function went
	 * into a chunk of its own */
	size_t len;
	uint8_t *b = slurp(path, &len);
	int chunks = 0;
	for (size_t off = 64; off + 24 <= len; chunks++) {
		uint32_t csize = b[off + 8] | b[off + 9] << 8 | b[off + 10] << 16 |
				 (uint32_t)b[off + 11] << 24;
		uint32_t rsize = b[off + 12] | b[off + 13] << 8 | b[off + 14] << 16 |
				 (uint32_t)b[off + 15] << 24;
		assert_true(rsize < (3u << 20) / 2 + (64u << 10));
		off += 24 + csize;
	}
	assert_true(chunks >= 4); /* data, symbols, the big function, end */
	free(b);
	cp_profile_free(m);

	/* a profile without code reads back with nothing stored (old files) */
	m = write_rich(path, 10);
	assert_int_equal(cp_data_read(path, &r, &err), 0);
	assert_int_equal(r->code.n, 0);
	assert_int_equal(r->meta.code_max, 0);
	assert_int_equal(r->meta.code_skipped, 0);
	cp_profile_free(r);
	cp_profile_free(m);
	free(path);
}

static void test_code_corrupt(void **state)
{
	static const char *const want[] = {
		NULL,
		"code entry 4 references undefined mapping 9",
		"code entry 0 row 1 at 0x1160 outside the function",
		"code entry 4 repeats entry 0",
	};
	for (int bad = 1; bad <= 3; bad++) {
		char *path = tpath("badcode.data");
		struct cp_profile *m = write_code(path, bad);
		struct cp_profile *r = NULL;
		struct cp_error err = { 0 };
		assert_int_equal(cp_data_read(path, &r, &err), CP_E_FORMAT);
		assert_null(r);
		if (!strstr(err.msg, want[bad]) || !strstr(err.msg, "in chunk at offset "))
			fail_msg("unexpected message: %s", err.msg);
		cp_profile_free(m);
		free(path);
	}
}

static void test_offcpu_syscall(void **state)
{
	char *path = tpath("offcpu.data");
	struct cp_error err = { 0 };
	struct cp_profile *m = cp_profile_new();
	cp_profile_add_value_type(m, "samples", "count");
	struct cp_data_writer *w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);
	uint32_t loc = cp_profile_add_location(m, CP_NONE, 0x1000, NULL, 0);
	uint32_t st = cp_profile_add_stack(m, &loc, 1);
	const char *nano = cp_profile_intern(m, "nanosleep");
	struct cp_profile_sample s[] = {
		{ .stack = st, .tid = 1, .flags = CP_SAMPLE_OFFCPU, .syscall = nano },
		{ .stack = st, .tid = 1, .flags = CP_SAMPLE_OFFCPU, .syscall = nano },
		{ .stack = st, .tid = 1, .flags = 0, .syscall = nano },
		{ .stack = st, .tid = 1, .flags = CP_SAMPLE_OFFCPU },
		{ .stack = st, .tid = 2, .flags = CP_SAMPLE_OFFCPU, .syscall = "read" },
	};
	int64_t one = 1;
	for (size_t i = 0; i < CP_ARRAY_SIZE(s); i++) {
		cp_profile_add_sample(m, &s[i], &one);
		assert_int_equal(cp_data_writer_add_sample(w, &s[i], &one, &err), 0);
	}
	assert_int_equal(cp_data_writer_finish(w, &err), 0);
	struct cp_profile *r = NULL;
	if (cp_data_read(path, &r, &err))
		fail_msg("read failed: %s", err.msg);
	assert_equal_profiles(m, r);
	assert_int_equal(r->samples.n, 5);
	const char *want[] = { "nanosleep", "nanosleep", "", "", "read" };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(r->samples.v[i].flags, s[i].flags);
		assert_string_equal(r->samples.v[i].syscall, want[i]);
	}
	cp_profile_free(r);

	/* equality looks at the syscall of off-CPU samples only */
	struct cp_profile *m2 = cp_profile_new();
	cp_profile_add_value_type(m2, "samples", "count");
	uint32_t loc2 = cp_profile_add_location(m2, CP_NONE, 0x1000, NULL, 0);
	uint32_t st2 = cp_profile_add_stack(m2, &loc2, 1);
	for (size_t i = 0; i < CP_ARRAY_SIZE(s); i++) {
		struct cp_profile_sample c = s[i];
		c.stack = st2;
		c.syscall = i == 2 ? "other" : c.syscall;
		cp_profile_add_sample(m2, &c, &one);
	}
	assert_true(cp_profile_equal(m, m2, NULL, 0));
	m2->samples.v[4].syscall = cp_profile_intern(m2, "write");
	char why[256];
	assert_false(cp_profile_equal(m, m2, why, sizeof(why)));
	assert_non_null(strstr(why, "syscall"));
	cp_profile_free(m2);
	cp_profile_free(m);
	free(path);
}

static void test_many_samples_multi_chunk(void **state)
{
	char *path = tpath("big.data");
	struct cp_profile *m = write_rich(path, 300000);
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	if (cp_data_read(path, &r, &err))
		fail_msg("read failed: %s", err.msg);
	assert_false(r->truncated);
	assert_equal_profiles(m, r);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	/* a few bytes per sample at most */
	assert_true((size_t)st.st_size < 300000 * 4);
	cp_profile_free(r);
	cp_profile_free(m);
	free(path);
}

/* Every prefix reads as a truncated prefix of the samples or fails with a
 * clear message, and never crashes. */
static void test_truncated(void **state)
{
	char *path = tpath("tr.data");
	struct cp_profile *m = write_rich(path, 3000);
	size_t len;
	uint8_t *buf = slurp(path, &len);
	int ok = 0, errors = 0;
	for (size_t cut = 0; cut < len; cut += 97) {
		struct cp_profile *r = NULL;
		struct cp_error err = { 0 };
		int rc = cp_data_read_mem(buf, cut, "cut", &r, &err);
		if (rc) {
			assert_null(r);
			assert_int_equal(rc, CP_E_FORMAT);
			assert_true(cut < 64);
			assert_true(strstr(err.msg, "empty") || strstr(err.msg, "header"));
			errors++;
			continue;
		}
		ok++;
		assert_true(r->truncated);
		assert_true(r->truncated_at <= cut);
		assert_non_null(strstr(r->truncated_why, "interrupted"));
		assert_true(r->samples.n <= m->samples.n);
		for (size_t i = 0; i < r->samples.n; i++) {
			assert_int_equal(r->samples.v[i].time, m->samples.v[i].time);
			assert_int_equal(r->samples.v[i].tid, m->samples.v[i].tid);
			assert_int_equal(r->samples.v[i].flags, m->samples.v[i].flags);
			assert_non_null(r->samples.v[i].syscall);
			if (m->samples.v[i].flags & CP_SAMPLE_OFFCPU)
				assert_string_equal(r->samples.v[i].syscall,
						    m->samples.v[i].syscall);
		}
		cp_profile_free(r);
	}
	assert_true(ok > 10);
	assert_true(errors >= 1);

	/* cut exactly at the end of the header: no chunks, no end chunk */
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	assert_int_equal(cp_data_read_mem(buf, 64, "hdr", &r, &err), 0);
	assert_true(r->truncated);
	assert_int_equal(r->truncated_at, 64);
	assert_non_null(strstr(r->truncated_why, "without an end chunk"));
	cp_profile_free(r);
	/* cut inside the first chunk's header */
	assert_int_equal(cp_data_read_mem(buf, 70, "hdr", &r, &err), 0);
	assert_true(r->truncated);
	assert_string_equal(r->truncated_why,
			    "file ends inside chunk at offset 64 (the recording was interrupted)");
	cp_profile_free(r);
	/* one byte short of complete */
	assert_int_equal(cp_data_read_mem(buf, len - 1, "short", &r, &err), 0);
	assert_true(r->truncated);
	assert_int_equal(r->samples.n, m->samples.n);
	assert_int_equal(r->functions.n, m->functions.n);
	cp_profile_free(r);

	free(buf);
	cp_profile_free(m);
	free(path);
}

/* Corrupting any byte after the file header gives CP_E_FORMAT naming an
 * offset, except when a size field grows past the end of the file, which
 * is indistinguishable from an interrupted write. */
static void test_flipped_bytes(void **state)
{
	char *path = tpath("flip.data");
	struct cp_profile *m = write_rich(path, 200);
	size_t len;
	uint8_t *buf = slurp(path, &len);
	int format_errors = 0, truncations = 0;
	for (size_t pos = 64; pos < len; pos++) {
		for (int bit = 0; bit < 8; bit += 3) {
			buf[pos] ^= (uint8_t)(1u << bit);
			struct cp_profile *r = NULL;
			struct cp_error err = { 0 };
			int rc = cp_data_read_mem(buf, len, "flip", &r, &err);
			if (rc) {
				assert_int_equal(rc, CP_E_FORMAT);
				if (!strstr(err.msg, "offset"))
					fail_msg("no offset in '%s'", err.msg);
				assert_null(r);
				format_errors++;
			} else {
				if (!r->truncated)
					fail_msg("flip at %zu bit %d went unnoticed", pos, bit);
				truncations++;
				cp_profile_free(r);
			}
			buf[pos] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(format_errors > 50 * truncations);

	/* the exact message for a checksum error */
	buf[64 + 24 + 5] ^= 0xff;
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	assert_int_equal(cp_data_read_mem(buf, len, "x.data", &r, &err), CP_E_FORMAT);
	assert_string_equal(err.msg, "'x.data': bad chunk checksum at offset 64");
	free(buf);
	cp_profile_free(m);
	free(path);
}

static void test_bad_headers(void **state)
{
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	char *path = tpath("empty.data");
	spit(path, "", 0);
	assert_int_equal(cp_data_read(path, &r, &err), CP_E_FORMAT);
	assert_null(r);
	assert_non_null(strstr(err.msg, "is empty"));
	free(path);

	path = tpath("text.data");
	const char *txt = "this is not a profile at all, just some text\n";
	spit(path, txt, strlen(txt));
	assert_int_equal(cp_data_read(path, &r, &err), CP_E_FORMAT);
	char *want = cp_xasprintf("'%s' is not a cprof data file", path);
	assert_string_equal(err.msg, want);
	free(want);
	free(path);

	uint8_t h[64] = "CPROFDAT";
	h[8] = 2;
	h[12] = 64;
	assert_int_equal(cp_data_read_mem(h, sizeof(h), "v2", &r, &err), CP_E_FORMAT);
	assert_string_equal(err.msg, "'v2': unsupported data file version 2 (this cprof reads 1)");
	h[8] = 1;
	h[12] = 8;
	assert_int_equal(cp_data_read_mem(h, sizeof(h), "hs", &r, &err), CP_E_FORMAT);
	assert_non_null(strstr(err.msg, "header size"));
	assert_int_equal(cp_data_read_mem(h, 20, "short", &r, &err), CP_E_FORMAT);
	assert_int_equal(cp_data_read_mem("CPRO", 4, "tiny", &r, &err), CP_E_FORMAT);
	assert_non_null(strstr(err.msg, "inside the header"));

	/* garbage after a good header */
	uint8_t g[100];
	memset(g, 'x', sizeof(g));
	h[12] = 64;
	memcpy(g, h, 64);
	assert_int_equal(cp_data_read_mem(g, sizeof(g), "g", &r, &err), CP_E_FORMAT);
	assert_string_equal(err.msg, "'g': bad chunk magic at offset 64");

	path = tpath("does-not-exist.data");
	assert_int_equal(cp_data_read(path, &r, &err), CP_E_NOENT);
	assert_non_null(strstr(err.msg, "does-not-exist.data"));
	free(path);
}

/* A chunk whose stack references an undefined location is rejected with
 * the chunk offset and record number. */
static void test_bad_reference(void **state)
{
	char *path = tpath("ref.data");
	struct cp_error err = { 0 };
	struct cp_profile *m = cp_profile_new();
	struct cp_data_writer *w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);
	cp_profile_add_location(m, CP_NONE, 0x10, NULL, 0);
	/* bypass the model API to forge a stack pointing at location 5 */
	uint32_t bogus = 5;
	cp_profile_add_stack(m, &bogus, 1);
	assert_int_equal(cp_data_writer_finish(w, &err), 0);
	struct cp_profile *r = NULL;
	assert_int_equal(cp_data_read(path, &r, &err), CP_E_FORMAT);
	assert_non_null(strstr(err.msg, "undefined location 5"));
	assert_non_null(strstr(err.msg, "chunk at offset 64, record"));
	cp_profile_free(m);
	free(path);
}

static void test_old_rename(void **state)
{
	char *path = tpath("ren.data");
	char *old = tpath("ren.data.old");
	spit(path, "previous", 8);
	struct cp_error err = { 0 };
	struct cp_profile *m = cp_profile_new();
	struct cp_data_writer *w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);
	assert_int_equal(cp_data_writer_finish(w, &err), 0);
	size_t len;
	uint8_t *b = slurp(old, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(b, "previous", 8);
	free(b);
	struct cp_profile *r = NULL;
	assert_int_equal(cp_data_read(path, &r, &err), 0);
	assert_false(r->truncated);
	assert_int_equal(r->samples.n, 0);
	assert_equal_profiles(m, r);
	cp_profile_free(r);
	/* a second recording replaces the .old file */
	w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);
	cp_data_writer_abort(w);
	b = slurp(old, &len);
	assert_true(cp_data_sniff(b, len));
	free(b);
	/* an aborted recording has no end chunk: truncated */
	assert_int_equal(cp_data_read(path, &r, &err), 0);
	assert_true(r->truncated);
	cp_profile_free(r);
	cp_profile_free(m);
	free(path);
	free(old);
}

static void test_write_errors(void **state)
{
	struct cp_error err = { 0 };
	struct cp_profile *m = cp_profile_new();
	struct cp_data_writer *w = cp_data_writer_open("/dev/full", m, &err);
	assert_null(w);
	assert_int_equal(err.code, CP_E_IO);
	assert_non_null(strstr(err.msg, "'/dev/full'"));
	assert_non_null(strstr(err.msg, "No space left on device"));

	char *path = tpath("no/such/dir.data");
	w = cp_data_writer_open(path, m, &err);
	assert_null(w);
	assert_non_null(strstr(err.msg, "cannot create"));
	free(path);

	/* a stack index the model doesn't have is a usage error */
	path = tpath("usage.data");
	w = cp_data_writer_open(path, m, &err);
	assert_non_null(w);
	struct cp_profile_sample s = { .stack = 3 };
	assert_int_equal(cp_data_writer_add_sample(w, &s, NULL, &err), CP_E_USAGE);
	cp_data_writer_abort(w);
	free(path);
	cp_profile_free(m);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A chunk with an empty payload is valid (and found by the fuzzer to
 * exercise an empty decode buffer); an empty END chunk lacks its totals. */
static void test_empty_chunks(void **state)
{
	uint8_t f[256] = "CPROFDAT";
	put32(f + 8, 1);
	put32(f + 12, 64);
	uint8_t z[64];
	size_t zl = ZSTD_compress(z, sizeof(z), "", 0, 3);
	assert_false(ZSTD_isError(zl));
	uint8_t *c = f + 64;
	memcpy(c, "CCHK", 4);
	put32(c + 4, 1);
	put32(c + 8, (uint32_t)zl);
	put32(c + 12, 0);
	put32(c + 16, (uint32_t)crc32(0, z, (uInt)zl));
	put32(c + 20, 0);
	memcpy(c + 24, z, zl);
	size_t len = 64 + 24 + zl;
	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	assert_int_equal(cp_data_read_mem(f, len, "e", &r, &err), 0);
	assert_true(r->truncated);
	assert_int_equal(r->truncated_at, len);
	cp_profile_free(r);
	put32(c + 4, 3); /* END without TOTALS */
	assert_int_equal(cp_data_read_mem(f, len, "e", &r, &err), CP_E_FORMAT);
	assert_string_equal(err.msg, "'e': end chunk without totals in chunk at offset 64");
	put32(c + 4, 77); /* unknown chunk types are skipped */
	assert_int_equal(cp_data_read_mem(f, len, "e", &r, &err), 0);
	assert_true(r->truncated);
	cp_profile_free(r);
}

/* A writer killed with SIGKILL leaves every flushed chunk readable: the
 * writer does no user-space buffering past a flush. */
static void test_sigkill(void **state)
{
	char *path = tpath("killed.data");
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cp_error err = { 0 };
		struct cp_profile *m = cp_profile_new();
		m->meta.command = cp_profile_intern(m, "victim");
		struct cp_data_writer *w = cp_data_writer_open(path, m, &err);
		if (!w)
			_exit(1);
		uint32_t loc = cp_profile_add_location(m, CP_NONE, 0x1234, NULL, 0);
		struct cp_profile_sample s = { .stack = cp_profile_add_stack(m, &loc, 1) };
		for (int i = 0; i < 5000; i++) {
			s.time = (uint64_t)i * 1000;
			if (cp_data_writer_add_sample(w, &s, NULL, &err))
				_exit(1);
			if (i % 1000 == 999 && cp_data_writer_flush(w, &err))
				_exit(1);
		}
		/* 5000 flushed; these 10 are still buffered when we die */
		for (int i = 0; i < 10; i++)
			cp_data_writer_add_sample(w, &s, NULL, &err);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	struct cp_profile *r = NULL;
	struct cp_error err = { 0 };
	if (cp_data_read(path, &r, &err))
		fail_msg("read failed: %s", err.msg);
	assert_true(r->truncated);
	assert_non_null(strstr(r->truncated_why, "without an end chunk"));
	assert_int_equal(r->samples.n, 5000);
	assert_int_equal(r->samples.v[4999].time, 4999000);
	assert_string_equal(r->meta.command, "victim");
	cp_profile_free(r);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_code_round_trip),
		cmocka_unit_test(test_code_corrupt),
		cmocka_unit_test(test_many_samples_multi_chunk),
		cmocka_unit_test(test_offcpu_syscall),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_reference),
		cmocka_unit_test(test_old_rename),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_sigkill),
		cmocka_unit_test(test_empty_chunks),
	};
	return cmocka_run_group_tests_name("data", tests, setup, teardown);
}
