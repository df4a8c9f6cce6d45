/* test_pprof.c - lib/format/pprof.c: model -> pprof -> model round trips
 * (gzipped and raw), sample merging, filters and no_inline in the writer,
 * a hand-encoded message in the style of Go's encoder, and malformed
 * inputs, each of which must give CP_E_FORMAT with a byte offset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/format.h"
#include "profile/profile.h"

/* ---- helpers ------------------------------------------------------------ */

/* Write a view's pprof into memory. */
static uint8_t *write_view(struct cp_view *v, int level, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct cp_pprof_opts o = { .level = level };
	struct cp_error err = { 0 };
	assert_int_equal(cp_format_pprof_write(f, v, &o, "test", &err), 0);
	fclose(f);
	return (uint8_t *)buf;
}

static uint8_t *write_profile(const struct cp_profile *p, const struct cp_view_opts *vo, int level,
			      size_t *len)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, vo, &err);
	assert_non_null(v);
	uint8_t *b = write_view(v, level, len);
	cp_view_free(v);
	return b;
}

static struct cp_profile *read_ok(const void *buf, size_t len)
{
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	int rc = cp_format_pprof_read(buf, len, "t.pb", &p, &err);
	if (rc)
		fail_msg("read failed: %s", err.msg);
	assert_non_null(p);
	return p;
}

static const char *fn_name(const struct cp_profile *p, uint32_t loc, uint32_t line)
{
	const struct cp_profile_location *l = &p->locations.v[loc];
	return p->functions.v[p->lines.v[l->line_start + line].function].name;
}

/* ---- the hand-built profile --------------------------------------------- *
 * Built in the order the writer assigns ids (locations and functions by
 * first use in the samples, pseudo mappings last), so that the profile
 * read back is structurally equal. */
static struct cp_profile *build(void)
{
	struct cp_profile *p = cp_profile_new();
	struct cp_profile_meta *m = &p->meta;
	m->command = cp_profile_intern(p, "./app --flag 3");
	m->event = cp_profile_intern(p, "cpu-clock");
	m->sampler = cp_profile_intern(p, "perf_event");
	m->cprof_version = cp_profile_intern(p, "9.8.7");
	m->default_type = cp_profile_intern(p, "cpu");
	m->time_nanos = 1795301401000000000ull;
	m->duration_nanos = 1480000000;
	m->period = 1001001;
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "alloc", "bytes");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");

	struct cp_profile_mapping exe = { .path = "/usr/bin/app",
					  .build_id = "47aee3fab1acec2a",
					  .start = 0x555555554000,
					  .limit = 0x555555600000,
					  .offset = 0x1000 };
	struct cp_profile_mapping libc = { .path = "/lib/libc.so.6",
					   .build_id = "00ff",
					   .start = 0x7f0000000000,
					   .limit = 0x7f0000100000 };
	struct cp_profile_mapping kern = { .path = "[kernel.kallsyms]",
					   .build_id = "",
					   .start = 0xffffffff81000000,
					   .limit = 0xffffffff82000000,
					   .flags = CP_MAP_KERNEL };
	uint32_t mexe = cp_profile_add_mapping(p, &exe);
	uint32_t mlibc = cp_profile_add_mapping(p, &libc);
	uint32_t mk = cp_profile_add_mapping(p, &kern);

	uint32_t f_leaf =
		cp_profile_add_function(p, "inner_helper", "_Z12inner_helperv", "a.c", 10);
	uint32_t f_mid = cp_profile_add_function(p, "middle", "middle", "a.c", 20);
	uint32_t f_work = cp_profile_add_function(p, "work", "work", "a.c", 30);
	uint32_t f_main = cp_profile_add_function(p, "main", "main", "main.c", 1);
	uint32_t f_k = cp_profile_add_function(p, "do_syscall_64", "do_syscall_64", "", 0);
	uint32_t f_read = cp_profile_add_function(p, "read", "read", "", 0);

	/* a 3-deep inline chain: inner_helper inlined into middle inlined into work */
	struct cp_profile_line chain[3] = { { f_leaf, 11, true },
					    { f_mid, 22, true },
					    { f_work, 33, false } };
	struct cp_profile_line lmain = { f_main, 5, false };
	struct cp_profile_line lread = { f_read, 0, false };
	struct cp_profile_line lk = { f_k, 0, false };
	uint32_t l_chain = cp_profile_add_location(p, mexe, 0x1234, chain, 3);
	uint32_t l_main = cp_profile_add_location(p, mexe, 0x1100, &lmain, 1);
	uint32_t l_k = cp_profile_add_location(p, mk, 0xffffffff81001234, &lk, 1);
	uint32_t l_read = cp_profile_add_location(p, mlibc, 0x9999, &lread, 1);
	uint32_t l_unsym = cp_profile_add_location(p, mlibc, 0x4242, NULL, 0);

	uint32_t s_cpu[] = { l_chain, l_main };
	uint32_t s_kern[] = { l_k, l_read, l_main };
	uint32_t s_unsym[] = { l_unsym, l_main };
	uint32_t st[] = { cp_profile_add_stack(p, s_cpu, 2), cp_profile_add_stack(p, s_kern, 3),
			  cp_profile_add_stack(p, s_unsym, 2) };
	struct cp_profile_sample s = {
		.stack = st[0], .pid = 10, .tid = 10, .comm = cp_profile_intern(p, "app")
	};
	int64_t v1[3] = { 5, 0, 5005005 };
	cp_profile_add_sample(p, &s, v1);
	s.tid = 11;
	s.comm = cp_profile_intern(p, "worker thread");
	int64_t v2[3] = { 2, 4096, 2002002 };
	cp_profile_add_sample(p, &s, v2);
	s.stack = st[1];
	s.flags = CP_SAMPLE_OFFCPU;
	s.syscall = cp_profile_intern(p, "read");
	int64_t v3[3] = { 7, 0, 70000000 };
	cp_profile_add_sample(p, &s, v3);
	s.stack = st[2];
	s.syscall = cp_profile_intern(p, ""); /* off-CPU, syscall unknown */
	int64_t v4[3] = { 1, -3, 1001001 };
	cp_profile_add_sample(p, &s, v4);
	s.flags = 0;
	s.pid = s.tid = 0;
	s.comm = NULL;
	int64_t v5[3] = { 1, 0, 1001001 };
	cp_profile_add_sample(p, &s, v5);
	return p;
}

static void check_round_trip(int level)
{
	struct cp_profile *p = build();
	size_t len;
	struct cp_view_opts vo = { .value_index = CP_NONE };
	uint8_t *b = write_profile(p, &vo, level, &len);
	assert_true(len > 20);
	if (level)
		assert_true(b[0] == 0x1f && b[1] == 0x8b);
	else
		assert_false(b[0] == 0x1f && b[1] == 0x8b);
	struct cp_profile *q = read_ok(b, len);
	char why[256];
	if (!cp_profile_equal(p, q, why, sizeof(why)))
		fail_msg("round trip (level %d) differs: %s", level, why);
	/* inline flags come back from the Line order */
	const struct cp_profile_location *l = &q->locations.v[0];
	assert_int_equal(l->nlines, 3);
	assert_true(q->lines.v[l->line_start].inlined);
	assert_true(q->lines.v[l->line_start + 1].inlined);
	assert_false(q->lines.v[l->line_start + 2].inlined);
	assert_string_equal(q->samples.v[2].syscall, "read");
	assert_true(q->samples.v[3].flags & CP_SAMPLE_OFFCPU);
	assert_string_equal(q->samples.v[3].syscall, "");
	assert_string_equal(q->mappings.v[0].build_id, "47aee3fab1acec2a");
	assert_int_equal(q->mappings.v[2].flags, CP_MAP_KERNEL);

	/* and the result writes byte for byte the same message */
	size_t len2;
	uint8_t *b2 = write_profile(q, &vo, level, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(b, b2, len);
	free(b2);
	free(b);
	cp_profile_free(q);
	cp_profile_free(p);
}

static void test_round_trip_gzip(void **state)
{
	(void)state;
	check_round_trip(-1);
	check_round_trip(1);
	check_round_trip(9);
}

static void test_round_trip_raw(void **state)
{
	(void)state;
	check_round_trip(0);
}

static void test_bad_level(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, NULL, &err);
	struct cp_pprof_opts o = { .level = 10 };
	FILE *f = fopen("/dev/null", "w");
	assert_int_equal(cp_format_pprof_write(f, v, &o, "x", &err), CP_E_USAGE);
	fclose(f);
	/* a stream that cannot be written */
	f = fopen("/dev/null", "r");
	o.level = 0;
	assert_int_equal(cp_format_pprof_write(f, v, &o, "'out.pb'", &err), CP_E_IO);
	assert_string_equal(err.msg, "cannot write to 'out.pb'");
	fclose(f);
	cp_view_free(v);
	cp_profile_free(p);
}

/* Module-relative mappings (start = limit = 0, as the recorder writes them)
 * get a limit covering their addresses; addresses stay as they are. */
static void test_relative_mapping(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	struct cp_profile_mapping m = { .path = "/bin/x", .build_id = "" };
	uint32_t mi = cp_profile_add_mapping(p, &m);
	uint32_t f = cp_profile_add_function(p, "f", "f", "", 0);
	struct cp_profile_line ln = { f, 0, false };
	uint32_t l1 = cp_profile_add_location(p, mi, 0x1234, &ln, 1);
	uint32_t l2 = cp_profile_add_location(p, mi, 0x2000, &ln, 1);
	uint32_t locs[] = { l1, l2 };
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, locs, 2) };
	int64_t one = 1;
	cp_profile_add_sample(p, &s, &one);
	size_t len;
	uint8_t *b = write_profile(p, NULL, 0, &len);
	struct cp_profile *q = read_ok(b, len);
	assert_int_equal(q->mappings.v[0].start, 0);
	assert_int_equal(q->mappings.v[0].limit, 0x2001);
	assert_int_equal(q->mappings.v[0].offset, 0);
	assert_int_equal(q->locations.v[0].address, 0x1234);
	assert_int_equal(q->locations.v[1].address, 0x2000);
	/* no default type in the model: the view's (the only one) is written */
	assert_string_equal(q->meta.default_type, "samples");
	free(b);
	cp_profile_free(q);
	cp_profile_free(p);
}

/* Equal (stack, pid, tid, comm, state) merge with summed values; the
 * view's filter and no_inline apply. */
static void test_merge_filter_no_inline(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	/* a copy of sample 0 and of sample 2 (off-CPU in read) */
	struct cp_profile_sample s0 = p->samples.v[0], s2 = p->samples.v[2];
	int64_t v0[3] = { 1, 10, 1000 }, v2[3] = { 1, 0, 1 };
	cp_profile_add_sample(p, &s0, v0);
	cp_profile_add_sample(p, &s2, v2);
	size_t len;
	uint8_t *b = write_profile(p, &(struct cp_view_opts){ .value_index = 1 }, 0, &len);
	struct cp_profile *q = read_ok(b, len);
	assert_int_equal(q->samples.n, 5);
	const int64_t *v = cp_profile_sample_values(q, 0);
	assert_int_equal(v[0], 6);
	assert_int_equal(v[1], 10);
	assert_int_equal(v[2], 5006005);
	v = cp_profile_sample_values(q, 2);
	assert_int_equal(v[0], 8);
	assert_int_equal(v[2], 70000001);
	assert_string_equal(q->meta.default_type, "alloc");
	free(b);
	cp_profile_free(q);

	/* off-CPU only, without inline frames */
	struct cp_view_opts vo = { .value_index = CP_NONE, .no_inline = true };
	vo.filter.cpu_state = CP_VIEW_OFF_CPU;
	b = write_profile(p, &vo, 6, &len);
	q = read_ok(b, len);
	assert_int_equal(q->samples.n, 2);
	for (size_t i = 0; i < q->samples.n; i++)
		assert_true(q->samples.v[i].flags & CP_SAMPLE_OFFCPU);
	/* only what those samples use: main, read, kernel, the unsymbolized one */
	assert_int_equal(q->locations.n, 4);
	assert_int_equal(q->functions.n, 3);
	for (size_t i = 0; i < q->locations.n; i++)
		assert_true(q->locations.v[i].nlines <= 1);
	free(b);
	cp_profile_free(q);

	vo.filter.cpu_state = CP_VIEW_ON_CPU;
	b = write_profile(p, &vo, 0, &len);
	q = read_ok(b, len);
	assert_int_equal(q->samples.n, 3);
	/* the inline chain collapsed to its real function */
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(q, q->samples.v[0].stack, &n);
	assert_int_equal(n, 2);
	assert_int_equal(q->locations.v[locs[0]].nlines, 1);
	assert_string_equal(fn_name(q, locs[0], 0), "work");
	assert_false(q->lines.v[q->locations.v[locs[0]].line_start].inlined);
	free(b);
	cp_profile_free(q);
	cp_profile_free(p);
}

/* ---- a hand-encoded message, as Go's encoder writes it ---------------------- */

static void key(struct cp_buf *b, uint32_t num, uint32_t wt)
{
	cp_buf_add_uvarint(b, (uint64_t)num << 3 | wt);
}

static void vint(struct cp_buf *b, uint32_t num, uint64_t v)
{
	key(b, num, 0);
	cp_buf_add_uvarint(b, v);
}

static void bytes(struct cp_buf *b, uint32_t num, const void *p, size_t len)
{
	key(b, num, 2);
	cp_buf_add_uvarint(b, len);
	cp_buf_add(b, p, len);
}

static void sub(struct cp_buf *b, uint32_t num, struct cp_buf *s)
{
	bytes(b, num, s->p, s->len);
	s->len = 0;
}

static void str(struct cp_buf *b, const char *s)
{
	bytes(b, 6, s, strlen(s));
}

/* strings: 0 "", 1 samples, 2 count, 3 cpu, 4 nanoseconds, 5 /bin/go-app,
 * 6 main.main, 7 main.go, 8 runtime.inlined, 9 pid, 10 thread_id, 11 comm,
 * 12 gothread, 13 ABCDEF01, 14 command: go-app -x, 15 unknown comment */
static const char *const go_strings[] = {
	"",
	"samples",
	"count",
	"cpu",
	"nanoseconds",
	"/bin/go-app",
	"main.main",
	"main.go",
	"runtime.inlined",
	"pid",
	"thread_id",
	"comm",
	"gothread",
	"ABCDEF01",
	"command: go-app -x",
	"something else",
};

static void go_message(struct cp_buf *b, bool with_default)
{
	struct cp_buf s = { 0 }, t = { 0 };
	/* samples first, before the tables they refer to */
	vint(&s, 1, 9999999999); /* location ids unpacked, leaf first */
	vint(&s, 1, 3);
	vint(&s, 2, 4); /* values unpacked */
	vint(&s, 2, 40000000);
	vint(&t, 1, 9);
	vint(&t, 3, 4242);
	sub(&s, 3, &t);
	vint(&t, 1, 10);
	vint(&t, 3, 4243);
	vint(&t, 4, 4); /* num_unit */
	sub(&s, 3, &t);
	vint(&t, 1, 11);
	vint(&t, 2, 12);
	sub(&s, 3, &t);
	sub(b, 2, &s);
	vint(&s, 1, 3);
	key(&s, 2, 2); /* values packed */
	cp_buf_add_uvarint(&s, 2);
	cp_buf_add_u8(&s, 1);
	cp_buf_add_u8(&s, 100);
	sub(b, 2, &s);
	/* unknown top-level fields of every wire type */
	vint(b, 99, 12345);
	key(b, 98, 1);
	cp_buf_add(b, "\1\2\3\4\5\6\7\10", 8);
	bytes(b, 97, "junk", 4);
	key(b, 96, 5);
	cp_buf_add(b, "\1\2\3\4", 4);
	/* sample types */
	vint(&s, 1, 1);
	vint(&s, 2, 2);
	sub(b, 1, &s);
	vint(&s, 1, 3);
	vint(&s, 2, 4);
	sub(b, 1, &s);
	/* locations: 3 (inline chain of two), 9999999999 (no mapping, no lines) */
	vint(&s, 1, 3);
	vint(&s, 2, 77);
	vint(&s, 3, 0x401234);
	vint(&t, 1, 5);
	vint(&t, 2, 7);
	sub(&s, 4, &t);
	vint(&t, 1, 1000);
	vint(&t, 2, 12);
	vint(&t, 3, 8); /* Line.column, newer pprof */
	sub(&s, 4, &t);
	sub(b, 4, &s);
	vint(&s, 1, 9999999999);
	vint(&s, 3, 0xdead);
	sub(b, 4, &s);
	/* functions 1000 main.main, 5 runtime.inlined */
	vint(&s, 1, 1000);
	vint(&s, 2, 6);
	vint(&s, 3, 6);
	vint(&s, 4, 7);
	vint(&s, 5, 10);
	sub(b, 5, &s);
	vint(&s, 1, 5);
	vint(&s, 2, 8);
	sub(b, 5, &s);
	/* mapping 77 */
	vint(&s, 1, 77);
	vint(&s, 2, 0x400000);
	vint(&s, 3, 0x500000);
	vint(&s, 4, 0x1000);
	vint(&s, 5, 5);
	vint(&s, 6, 13);
	vint(&s, 7, 1);
	sub(b, 3, &s);
	for (size_t i = 0; i < sizeof(go_strings) / sizeof(go_strings[0]); i++)
		str(b, go_strings[i]);
	vint(b, 9, 1700000000000000000);
	vint(b, 10, 10000000000);
	vint(&s, 1, 3);
	vint(&s, 2, 4);
	sub(b, 11, &s);
	vint(b, 12, 10000000);
	vint(b, 13, 14);
	vint(b, 13, 15);
	if (with_default)
		vint(b, 14, 1);
	cp_buf_release(&s);
	cp_buf_release(&t);
}

static void test_go_style(void **state)
{
	(void)state;
	struct cp_buf b = { 0 };
	go_message(&b, true);
	struct cp_profile *p = read_ok(b.p, b.len);
	assert_int_equal(p->value_types.n, 2);
	assert_string_equal(p->value_types.v[1].type, "cpu");
	assert_string_equal(p->value_types.v[1].unit, "nanoseconds");
	assert_string_equal(p->meta.default_type, "samples");
	assert_string_equal(p->meta.command, "go-app -x");
	assert_string_equal(p->meta.event, "cpu-clock");
	assert_int_equal(p->meta.period, 10000000);
	assert_int_equal(p->meta.time_nanos, 1700000000000000000);
	assert_int_equal(p->meta.duration_nanos, 10000000000);
	assert_int_equal(p->mappings.n, 1);
	assert_string_equal(p->mappings.v[0].path, "/bin/go-app");
	assert_string_equal(p->mappings.v[0].build_id, "abcdef01");
	assert_int_equal(p->mappings.v[0].start, 0x400000);
	assert_int_equal(p->samples.n, 2);
	const struct cp_profile_sample *s = &p->samples.v[0];
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->tid, 4243);
	assert_string_equal(s->comm, "gothread");
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(p, s->stack, &n);
	assert_int_equal(n, 2);
	/* leaf: the unmapped location */
	assert_int_equal(p->locations.v[locs[0]].mapping, CP_NONE);
	assert_int_equal(p->locations.v[locs[0]].address, 0xdead);
	assert_int_equal(p->locations.v[locs[0]].nlines, 0);
	/* caller: runtime address made module-relative, inline chain kept */
	const struct cp_profile_location *l = &p->locations.v[locs[1]];
	assert_int_equal(l->mapping, 0);
	assert_int_equal(l->address, 0x401234 - 0x400000 + 0x1000);
	assert_int_equal(l->nlines, 2);
	assert_string_equal(fn_name(p, locs[1], 0), "runtime.inlined");
	assert_true(p->lines.v[l->line_start].inlined);
	assert_int_equal(p->lines.v[l->line_start].line, 7);
	assert_string_equal(fn_name(p, locs[1], 1), "main.main");
	assert_false(p->lines.v[l->line_start + 1].inlined);
	assert_int_equal(p->functions.v[p->lines.v[l->line_start + 1].function].start_line, 10);
	assert_string_equal(p->functions.v[p->lines.v[l->line_start + 1].function].filename,
			    "main.go");
	assert_int_equal(cp_profile_sample_values(p, 0)[1], 40000000);
	assert_int_equal(cp_profile_sample_values(p, 1)[0], 1);
	assert_int_equal(cp_profile_sample_values(p, 1)[1], 100);

	/* written back (ids renumbered by first use), the runtime address is
	 * restored, and writing that again is a fixed point */
	size_t len, len2;
	uint8_t *w = write_profile(p, NULL, 0, &len);
	struct cp_profile *q = read_ok(w, len);
	assert_int_equal(q->locations.v[1].address, 0x2234);
	assert_int_equal(q->mappings.v[0].start, 0x400000);
	assert_int_equal(q->mappings.v[0].offset, 0x1000);
	uint8_t *w2 = write_profile(q, NULL, 0, &len2);
	struct cp_profile *r = read_ok(w2, len2);
	char why[256];
	if (!cp_profile_equal(q, r, why, sizeof(why)))
		fail_msg("go-style profile written back differs: %s", why);
	assert_int_equal(len, len2);
	assert_memory_equal(w, w2, len);
	free(w);
	free(w2);
	cp_profile_free(r);
	cp_profile_free(q);
	cp_profile_free(p);

	/* without default_sample_type: pprof's rule, the last sample type */
	b.len = 0;
	go_message(&b, false);
	p = read_ok(b.p, b.len);
	assert_string_equal(p->meta.default_type, "cpu");
	cp_profile_free(p);

	/* gzipped, by zlib's own gzip writer */
	uLong bound = compressBound(b.len) + 64;
	uint8_t *gz = malloc(bound);
	z_stream z = { 0 };
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	z.next_in = b.p;
	z.avail_in = (uInt)b.len;
	z.next_out = gz;
	z.avail_out = (uInt)bound;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t gzlen = z.total_out;
	deflateEnd(&z);
	p = read_ok(gz, gzlen);
	assert_int_equal(p->samples.n, 2);
	cp_profile_free(p);

	/* truncated gzip: an error naming the compressed offset */
	struct cp_error err = { 0 };
	p = (struct cp_profile *)&err;
	assert_int_equal(cp_format_pprof_read(gz, gzlen - 9, "t.pb.gz", &p, &err), CP_E_FORMAT);
	assert_null(p);
	assert_non_null(strstr(err.msg, "'t.pb.gz': byte "));
	assert_non_null(strstr(err.msg, "gzip data ends early"));
	/* corrupt deflate data */
	gz[12] ^= 0xff;
	gz[13] ^= 0xff;
	gz[14] ^= 0xff;
	assert_int_equal(cp_format_pprof_read(gz, gzlen, "t.pb.gz", &p, &err), CP_E_FORMAT);
	assert_null(p);
	free(gz);
	cp_buf_release(&b);
}

/* ---- malformed input ------------------------------------------------------- */

static void expect_bad(const struct cp_buf *b, const char *want)
{
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	int rc = cp_format_pprof_read(b->p, b->len, "bad.pb", &p, &err);
	if (rc != CP_E_FORMAT || p || strcmp(err.msg, want))
		fail_msg("got %d '%s', want CP_E_FORMAT '%s'", rc, err.msg, want);
}

/* A small valid prefix: string table "", "samples", "count"; one value type. */
static void base(struct cp_buf *b)
{
	b->len = 0;
	str(b, "");
	str(b, "samples");
	str(b, "count");
	/* 18 bytes so far */
	bytes(b, 1, "\x08\x01\x10\x02", 4);
	/* 24 */
}

static void test_bad_inputs(void **state)
{
	(void)state;
	struct cp_buf b = { 0 }, s = { 0 };

	b.len = 0;
	expect_bad(&b, "'bad.pb': empty file, not a pprof profile");

	base(&b);
	cp_buf_add(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	expect_bad(&b, "'bad.pb': byte 24: bad varint in a field key");

	base(&b);
	key(&b, 9, 0);
	cp_buf_add(&b, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12);
	expect_bad(&b, "'bad.pb': byte 25: bad varint in field 9");

	base(&b);
	key(&b, 2, 2);
	cp_buf_add_uvarint(&b, 1000);
	cp_buf_add(&b, "abc", 3);
	expect_bad(&b, "'bad.pb': byte 25: field 2: length 1000 past the end of the message");

	base(&b);
	key(&b, 5, 3);
	expect_bad(&b, "'bad.pb': byte 24: field 5: unsupported wire type 3 (group)");

	base(&b);
	key(&b, 4, 7);
	expect_bad(&b, "'bad.pb': byte 24: field 4: bad wire type 7");

	base(&b);
	vint(&b, 1, 5); /* sample_type as a varint */
	expect_bad(&b, "'bad.pb': byte 24: Profile.sample_type: wire type 0, expected "
		       "length-delimited");

	base(&b);
	bytes(&b, 1, "\x08\x09", 2); /* ValueType.type = string 9 */
	expect_bad(&b, "'bad.pb': byte 26: string index 9 out of range (the table has 3)");

	base(&b);
	vint(&s, 1, 7);
	vint(&s, 2, 1);
	sub(&b, 2, &s); /* the sample's content starts at 26 */
	expect_bad(&b, "'bad.pb': byte 26: location id 7 not defined");

	base(&b);
	vint(&s, 2, 1);
	vint(&s, 2, 1);
	sub(&b, 2, &s);
	expect_bad(&b, "'bad.pb': byte 26: sample has 2 values, the profile has 1 sample types");

	base(&b);
	vint(&s, 1, 4);
	vint(&s, 2, 3); /* mapping 3 */
	sub(&b, 4, &s);
	expect_bad(&b, "'bad.pb': byte 28: mapping id 3 not defined");

	base(&b);
	vint(&s, 1, 4);
	bytes(&s, 4, "\x08\x05", 2); /* Line.function_id 5 */
	sub(&b, 4, &s);
	expect_bad(&b, "'bad.pb': byte 30: function id 5 not defined");

	base(&b);
	vint(&s, 1, 4);
	sub(&b, 4, &s);
	vint(&s, 1, 4);
	sub(&b, 4, &s);
	expect_bad(&b, "'bad.pb': byte 30: location id 4 defined twice");

	base(&b);
	vint(&s, 2, 1);
	sub(&b, 3, &s); /* mapping without id */
	expect_bad(&b, "'bad.pb': byte 26: mapping without an id (or id 0)");

	base(&b);
	key(&s, 1, 2);
	cp_buf_add(&s, "\x02\x01\x80", 3); /* packed list ending in a cut varint */
	sub(&b, 2, &s);
	expect_bad(&b, "'bad.pb': byte 29: Sample.location_id: bad varint in a packed list");

	b.len = 0;
	str(&b, "x");
	expect_bad(&b, "'bad.pb': byte 2: string_table[0] is not empty");

	base(&b);
	vint(&b, 13, 99);
	expect_bad(&b,
		   "'bad.pb': byte 24: comment: string index 99 out of range (the table has 3)");

	/* many sample types and many samples: an error, not a huge allocation */
	base(&b);
	for (int i = 0; i < 100000; i++)
		cp_buf_add(&b, "\x0a\x00", 2);
	for (int i = 0; i < 100000; i++)
		cp_buf_add(&b, "\x12\x00", 2);
	expect_bad(&b, "'bad.pb': byte 200026: sample has 0 values, the profile has 100001 sample "
		       "types");

	/* the same errors inside a gzipped message say so */
	base(&b);
	vint(&s, 1, 7);
	vint(&s, 2, 1);
	sub(&b, 2, &s);
	uLong bound = compressBound(b.len) + 64;
	uint8_t *gz = malloc(bound);
	z_stream z = { 0 };
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = b.p;
	z.avail_in = (uInt)b.len;
	z.next_out = gz;
	z.avail_out = (uInt)bound;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	struct cp_buf g = { 0 };
	cp_buf_add(&g, gz, z.total_out);
	deflateEnd(&z);
	expect_bad(&g, "'bad.pb': byte 26 after decompression: location id 7 not defined");
	cp_buf_release(&g);
	free(gz);

	/* every prefix of a valid message fails cleanly or parses */
	go_message(&b, true);
	for (size_t n = 1; n < b.len; n++) {
		struct cp_profile *p = NULL;
		struct cp_error err = { 0 };
		int rc = cp_format_pprof_read(b.p, n, "cut.pb", &p, &err);
		if (rc) {
			assert_int_equal(rc, CP_E_FORMAT);
			assert_null(p);
			assert_non_null(strstr(err.msg, "'cut.pb': byte "));
		} else {
			cp_profile_free(p);
		}
	}
	cp_buf_release(&b);
	cp_buf_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_gzip),
		cmocka_unit_test(test_round_trip_raw),
		cmocka_unit_test(test_bad_level),
		cmocka_unit_test(test_relative_mapping),
		cmocka_unit_test(test_merge_filter_no_inline),
		cmocka_unit_test(test_go_style),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
