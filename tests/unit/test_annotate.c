/* test_annotate.c - lib/format/annotate.c: choosing the function, the
 * capstone disassembly of stored code (x86-64 and AArch64), per-instruction
 * shares, source lines, branch targets, the error messages and the text
 * output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/format.h"

/* x86-64 code of "hot" at 0x1000:
 *   1000 55                push rbp          a.c:10
 *   1001 48 89 e5          mov rbp, rsp      a.c:10
 *   1004 48 83 c0 01       add rax, 1        a.c:11
 *   1008 eb fa             jmp 0x1004        a.c:11 (a second row, same line)
 *   100a e8 f1 00 00 00    call 0x1100       b.h:3
 *   100f 06                (bad)             a.c:12
 *   1010 c3                ret               no line
 * and of "leaf" at 0x1100: c3 (ret). */
static const uint8_t hot_code[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xc0, 0x01, 0xeb,
				    0xfa, 0xe8, 0xf1, 0x00, 0x00, 0x00, 0x06, 0xc3 };
static const uint8_t leaf_code[] = { 0xc3 };

struct fx {
	struct cp_profile *p;
	uint32_t prog, libc, kern;
	uint32_t f_main, f_hot, f_leaf, f_mix, f_unused, f_dup, f_kfn, f_cold;
	char dir[64];
	char src[96];
};

static uint32_t loc(struct fx *x, uint32_t map, uint64_t addr, uint32_t fn)
{
	struct cp_profile_line l = { .function = fn, .line = 10 };
	return cp_profile_add_location(x->p, map, addr, &l, 1);
}

static void add(struct fx *x, const uint32_t *locs, uint32_t n, int64_t cpu, int count)
{
	uint32_t st = cp_profile_add_stack(x->p, locs, n);
	for (int i = 0; i < count; i++) {
		struct cp_profile_sample s = { .stack = st, .pid = 1, .tid = 1 };
		int64_t vals[2] = { 1, cpu };
		cp_profile_add_sample(x->p, &s, vals);
	}
}

static void write_source(struct fx *x)
{
	strcpy(x->dir, "/tmp/cprof-annotate-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->src, sizeof(x->src), "%s/a.c", x->dir);
	FILE *f = fopen(x->src, "w");
	assert_non_null(f);
	for (int i = 1; i <= 12; i++) {
		if (i == 10)
			fputs("\tint hot(void) {  \n", f);
		else if (i == 11)
			fputs("    for (;;) x++;\r\n", f);
		else if (i == 12)
			fputs("\t\tleaf();", f); /* no newline at the end */
		else
			fprintf(f, "/* %d */\n", i);
	}
	fclose(f);
}

static void fx_build(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	write_source(x);
	struct cp_profile *p = x->p = cp_profile_new();
	p->meta.sampler = cp_profile_intern(p, "perf_event");
	p->meta.arch = cp_profile_intern(p, "x86_64");
	p->meta.code_max = 1 << 20;
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	struct cp_profile_mapping m = { .path = "/usr/bin/prog", .build_id = "" };
	x->prog = cp_profile_add_mapping(p, &m);
	m.path = "/lib/libc.so.6";
	x->libc = cp_profile_add_mapping(p, &m);
	m.path = "[kernel.kallsyms]";
	m.flags = CP_MAP_KERNEL;
	x->kern = cp_profile_add_mapping(p, &m);
	x->f_main = cp_profile_add_function(p, "main", "main", "a.c", 1);
	x->f_hot = cp_profile_add_function(p, "hot", "_Z3hotv", "a.c", 10);
	x->f_leaf = cp_profile_add_function(p, "leaf", "leaf", "a.c", 20);
	x->f_mix = cp_profile_add_function(p, "mix", "mix", "b.h", 1);
	x->f_unused = cp_profile_add_function(p, "unused", "unused", "a.c", 30);
	x->f_dup = cp_profile_add_function(p, "dup", "dup", "a.c", 40);
	x->f_kfn = cp_profile_add_function(p, "do_syscall", "do_syscall", "", 0);
	x->f_cold = cp_profile_add_function(p, "cold", "cold", "a.c", 50);

	struct cp_profile_code_line rows[] = {
		{ 0x1000, x->src, 10 }, { 0x1004, x->src, 11 },
		{ 0x1008, x->src, 11 }, { 0x100a, "/nonexistent/b.h", 3 },
		{ 0x100f, x->src, 12 }, { 0x1010, x->src, 0 },
	};
	cp_profile_add_code(p, x->prog, x->f_hot, 0x1000, hot_code, sizeof(hot_code), rows,
			    CP_ARRAY_SIZE(rows));
	struct cp_profile_code_line lrow = { 0x1100, x->src, 20 };
	cp_profile_add_code(p, x->prog, x->f_leaf, 0x1100, leaf_code, 1, &lrow, 1);
	/* "dup" is stored in libc only */
	cp_profile_add_code(p, x->libc, x->f_dup, 0x5000, leaf_code, 1, NULL, 0);

	uint32_t l_main = loc(x, x->prog, 0x800, x->f_main);
	struct cp_profile_line chain[2] = {
		{ .function = x->f_mix, .line = 3, .inlined = true },
		{ .function = x->f_hot, .line = 11 },
	};
	uint32_t l_add = cp_profile_add_location(p, x->prog, 0x1004, chain, 2);
	uint32_t l_add2 = loc(x, x->prog, 0x1005, x->f_hot);
	uint32_t l_jmp = loc(x, x->prog, 0x1008, x->f_hot);
	uint32_t l_call = loc(x, x->prog, 0x100a, x->f_hot);
	uint32_t l_callret = loc(x, x->prog, 0x100e, x->f_hot); /* return address - 1 */
	uint32_t l_out = loc(x, x->prog, 0x1050, x->f_hot);     /* past the stored code */
	uint32_t l_leaf = loc(x, x->prog, 0x1100, x->f_leaf);
	uint32_t l_libc = loc(x, x->libc, 0x1004, x->f_hot); /* same address, other module */
	uint32_t l_dup_prog = loc(x, x->prog, 0x3000, x->f_dup);
	uint32_t l_dup_libc = loc(x, x->libc, 0x5000, x->f_dup);
	uint32_t l_kern = loc(x, x->kern, 0xffffffff81000000ull, x->f_kfn);
	uint32_t l_cold = loc(x, x->prog, 0x4000, x->f_cold);

	uint32_t s[][3] = {
		{ l_add, l_main },  { l_add2, l_main }, { l_jmp, l_main },
		{ l_call, l_main }, { l_out, l_main },  { l_leaf, l_callret, l_main },
		{ l_libc, l_main },
	};
	add(x, s[0], 2, 1000, 6);
	add(x, s[1], 2, 1000, 1);
	add(x, s[2], 2, 1000, 2);
	add(x, s[3], 2, 1000, 2);
	add(x, s[4], 2, 1000, 1);
	add(x, s[5], 3, 1000, 3);
	add(x, s[6], 2, 1000, 1);
	uint32_t d1[] = { l_dup_prog, l_main }, d2[] = { l_dup_libc, l_main };
	uint32_t k[] = { l_kern, l_main }, c[] = { l_cold, l_main };
	add(x, d1, 2, 1000, 2);
	add(x, d2, 2, 1000, 4);
	add(x, k, 2, 1000, 1);
	add(x, c, 2, 1000, 1);
}

static void fx_free(struct fx *x)
{
	cp_profile_free(x->p);
	unlink(x->src);
	rmdir(x->dir);
}

static const struct cp_annotate_line *insn_at(const struct cp_annotate *a, uint64_t addr)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->lines[i].kind == CP_ANNOTATE_INSN && a->lines[i].address == addr)
			return &a->lines[i];
	return NULL;
}

static struct cp_annotate *annotate(struct fx *x, const char *name, const char *module,
				    struct cp_view **vp, struct cp_error *err)
{
	struct cp_error e2;
	*vp = cp_view_new(x->p, NULL, &e2);
	assert_non_null(*vp);
	memset(err, 0, sizeof(*err));
	return cp_annotate_new(*vp, name, module, err);
}

static void test_x86_lines(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(&x, "hot", NULL, &v, &err);
	assert_non_null(a);
	assert_string_equal(a->function, "hot");
	assert_string_equal(a->module, "prog");
	assert_string_equal(a->arch, "x86_64");
	assert_int_equal(a->start, 0x1000);
	assert_int_equal(a->size, sizeof(hot_code));

	/* SOURCE a.c:10, push, mov, SOURCE a.c:11, add, jmp, SOURCE b.h:3,
	 * call, SOURCE a.c:12, (bad), ret */
	static const struct {
		enum cp_annotate_kind kind;
		uint64_t address;
		const char *text;
		int64_t line;
	} want[] = {
		{ CP_ANNOTATE_SOURCE, 0x1000, "int hot(void) {", 10 },
		{ CP_ANNOTATE_INSN, 0x1000, "push rbp", 10 },
		{ CP_ANNOTATE_INSN, 0x1001, "mov rbp, rsp", 10 },
		{ CP_ANNOTATE_SOURCE, 0x1004, "for (;;) x++;", 11 },
		{ CP_ANNOTATE_INSN, 0x1004, "add rax, 1", 11 },
		{ CP_ANNOTATE_INSN, 0x1008, "jmp 0x1004", 11 },
		{ CP_ANNOTATE_SOURCE, 0x100a, "", 3 },
		{ CP_ANNOTATE_INSN, 0x100a, "call 0x1100", 3 },
		{ CP_ANNOTATE_SOURCE, 0x100f, "leaf();", 12 },
		{ CP_ANNOTATE_INSN, 0x100f, "(bad)", 12 },
		{ CP_ANNOTATE_INSN, 0x1010, "ret", 0 },
	};
	assert_int_equal(a->n, CP_ARRAY_SIZE(want));
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->lines[i].kind, want[i].kind);
		assert_int_equal(a->lines[i].address, want[i].address);
		assert_string_equal(a->lines[i].text, want[i].text);
		assert_int_equal(a->lines[i].line, want[i].line);
	}
	assert_string_equal(a->lines[1].file, x.src);
	assert_string_equal(a->lines[6].file, "/nonexistent/b.h");
	assert_string_equal(a->lines[7].file, "/nonexistent/b.h");
	assert_string_equal(a->lines[10].file, "");

	/* direct branch targets name the stored function holding them */
	assert_string_equal(insn_at(a, 0x1008)->target, "hot+0x4");
	assert_string_equal(insn_at(a, 0x100a)->target, "leaf");
	assert_string_equal(insn_at(a, 0x1004)->target, "");
	assert_string_equal(insn_at(a, 0x1010)->target, "");

	cp_annotate_free(a);
	cp_view_free(v);
	fx_free(&x);
}

static void test_x86_weights(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(&x, "_Z3hotv", NULL, &v, &err); /* the raw name */
	assert_non_null(a);
	/* 0x1004 and 0x1005 both fall into "add rax, 1"; libc's 0x1004 and
	 * the caller frame at 0x100e do not count */
	assert_int_equal(insn_at(a, 0x1004)->weight, 7000);
	assert_int_equal(insn_at(a, 0x1004)->samples, 7);
	assert_int_equal(insn_at(a, 0x1008)->samples, 2);
	assert_int_equal(insn_at(a, 0x100a)->samples, 2);
	assert_int_equal(insn_at(a, 0x1000)->samples, 0);
	assert_int_equal(a->total, 11000);
	assert_int_equal(a->total_samples, 11);
	assert_int_equal(a->outside, 1000);
	assert_int_equal(a->outside_samples, 1);
	assert_int_equal(a->view_total, 24000);
	/* SOURCE lines sum their instructions */
	assert_int_equal(a->lines[3].samples, 9);
	assert_int_equal(a->lines[0].samples, 0);
	/* hottest = add; Tab order: add, then jmp and call (equal) by address */
	assert_int_equal(a->hottest, 4);
	assert_int_equal(a->nhot, 3);
	assert_int_equal(a->hot[0], 4);
	assert_int_equal(a->hot[1], 5);
	assert_int_equal(a->hot[2], 7);
	cp_annotate_free(a);
	cp_view_free(v);
	fx_free(&x);
}

static void test_text(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(&x, "hot", "prog", &v, &err);
	assert_non_null(a);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_annotate_text(f, a, "stdout", &err), 0);
	fclose(f);
	const char *want = "# annotate: hot (prog), 0x1000-0x1011, 11 samples (45.83% of all)\n"
			   "# outside the stored code: 1 sample (4.17% of all)\n"
			   " Percent  Samples  Address  Instruction\n"
			   "                            a.c:10  int hot(void) {\n"
			   "                      1000  push rbp\n"
			   "                      1001  mov rbp, rsp\n"
			   "                            a.c:11  for (;;) x++;\n"
			   ">  63.64        7     1004  add rax, 1\n"
			   "   18.18        2     1008  jmp 0x1004  <hot+0x4>\n"
			   "                            b.h:3\n"
			   "   18.18        2     100a  call 0x1100  <leaf>\n"
			   "                            a.c:12  leaf();\n"
			   "                      100f  (bad)\n"
			   "                      1010  ret\n";
	assert_string_equal(buf, want);
	free(buf);
	cp_annotate_free(a);
	cp_view_free(v);
	fx_free(&x);
}

static void test_choose_module(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_view *v;
	struct cp_error err;
	/* "dup" has more self samples in libc, where its code is stored */
	struct cp_annotate *a = annotate(&x, "dup", NULL, &v, &err);
	assert_non_null(a);
	assert_string_equal(a->module, "libc.so.6");
	assert_int_equal(a->total_samples, 4);
	assert_int_equal(a->n, 1);
	assert_string_equal(a->lines[0].text, "ret");
	cp_annotate_free(a);
	cp_view_free(v);
	a = annotate(&x, "dup", "/lib/libc.so.6", &v, &err);
	assert_non_null(a);
	assert_string_equal(a->module, "libc.so.6");
	cp_annotate_free(a);
	cp_view_free(v);
	/* in prog it was not stored: the binary was unreadable */
	a = annotate(&x, "dup", "prog", &v, &err);
	assert_null(a);
	assert_int_equal(err.code, CP_E_UNSUPPORTED);
	assert_string_equal(err.msg, "cannot annotate 'dup': '/usr/bin/prog' was not "
				     "readable when the recording ended");
	cp_view_free(v);
	a = annotate(&x, "dup", "libfoo.so", &v, &err);
	assert_null(a);
	assert_int_equal(err.code, CP_E_NOENT);
	assert_string_equal(err.msg, "'dup' has no samples in module 'libfoo.so'");
	cp_view_free(v);
	fx_free(&x);
}

static void expect_error(struct fx *x, const char *name, int code, const char *msg)
{
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(x, name, NULL, &v, &err);
	assert_null(a);
	assert_int_equal(err.code, code);
	assert_string_equal(err.msg, msg);
	cp_view_free(v);
}

static void test_errors(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	expect_error(&x, "nope", CP_E_NOENT, "no function 'nope' in the profile");
	expect_error(&x, "ea", CP_E_NOENT,
		     "no function 'ea' in the profile (did you mean 'leaf'?)");
	expect_error(&x, "unused", CP_E_NOENT, "'unused' has no samples in the view");
	expect_error(&x, "main", CP_E_NOENT, "'main' has no self samples");
	expect_error(&x, "mix", CP_E_NOENT,
		     "'mix' has no self samples: it only runs inlined into its callers");
	expect_error(&x, "do_syscall", CP_E_UNSUPPORTED,
		     "cannot annotate 'do_syscall': kernel code is not stored in recordings");
	expect_error(&x, "cold", CP_E_UNSUPPORTED,
		     "cannot annotate 'cold': '/usr/bin/prog' was not readable when "
		     "the recording ended");
	x.p->meta.code_skipped = 3;
	expect_error(&x, "cold", CP_E_UNSUPPORTED,
		     "cannot annotate 'cold': its code was left out at the size cap (3 sampled "
		     "functions left out); record again with a larger --code-max");
	x.p->meta.arch = cp_profile_intern(x.p, "mips");
	expect_error(&x, "hot", CP_E_UNSUPPORTED, "cannot disassemble mips code of 'hot'");
	fx_free(&x);
}

/* Profiles without stored code: the reasons differ by where they came from. */
static void test_no_code(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	x.p->code.n = 0;
	x.p->meta.code_max = 0;
	expect_error(&x, "hot", CP_E_UNSUPPORTED,
		     "cannot annotate 'hot': the input holds no machine code (only recordings "
		     "made by cprof record or attach do, not pprof, perf script or folded "
		     "stacks)");
	x.p->meta.code_skipped = 2;
	expect_error(&x, "hot", CP_E_UNSUPPORTED,
		     "cannot annotate 'hot': the recording was made with --code-max 0 (no "
		     "machine code stored)");
	x.p->meta.code_skipped = 0;
	x.p->truncated = true;
	expect_error(&x, "hot", CP_E_UNSUPPORTED,
		     "cannot annotate 'hot': the recording was cut short before machine code "
		     "was stored");
	x.p->meta.sampler = cp_profile_intern(x.p, "");
	expect_error(&x, "hot", CP_E_UNSUPPORTED,
		     "cannot annotate 'hot': the input is not a cprof recording (only those "
		     "store machine code)");
	fx_free(&x);
}

/* Shares follow the view's weight, not the sample count. */
static void test_weight_not_samples(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	uint32_t l[] = { loc(&x, x.prog, 0x1001, x.f_hot) };
	add(&x, l, 1, 20000, 1);
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(&x, "hot", NULL, &v, &err);
	assert_non_null(a);
	assert_int_equal(a->total, 31000);
	assert_int_equal(a->total_samples, 12);
	/* mov (20000 in 1 sample) outweighs add (7000 in 7) */
	assert_int_equal(a->lines[a->hottest].address, 0x1001);
	assert_int_equal(a->nhot, 4);
	assert_int_equal(a->lines[a->hot[0]].address, 0x1001);
	assert_int_equal(a->lines[a->hot[1]].address, 0x1004);
	assert_int_equal(a->lines[0].weight, 20000); /* SOURCE a.c:10 */
	cp_annotate_free(a);
	cp_view_free(v);
	fx_free(&x);
}

/* Two static functions of one name in one module: the one with more self
 * weight; an empty name and JIT code. */
static void test_static_and_misc(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	struct cp_profile *p = x.p;
	uint32_t s1 = cp_profile_add_function(p, "helper", "helper", "a.c", 60);
	uint32_t s2 = cp_profile_add_function(p, "helper", "helper", "b.c", 70);
	static const uint8_t nop_ret[] = { 0x90, 0xc3 };
	cp_profile_add_code(p, x.prog, s1, 0x6000, nop_ret, 2, NULL, 0);
	cp_profile_add_code(p, x.prog, s2, 0x7000, nop_ret, 2, NULL, 0);
	uint32_t l1[] = { loc(&x, x.prog, 0x6001, s1) }, l2[] = { loc(&x, x.prog, 0x7000, s2) };
	add(&x, l1, 1, 1000, 1);
	add(&x, l2, 1, 1000, 2);
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(&x, "helper", NULL, &v, &err);
	assert_non_null(a);
	assert_int_equal(a->start, 0x7000);
	assert_int_equal(a->total_samples, 2);
	assert_int_equal(a->lines[a->hottest].address, 0x7000);
	assert_string_equal(a->lines[a->hottest].text, "nop");
	cp_annotate_free(a);
	cp_view_free(v);

	/* samples outside the stored code only; empty code */
	uint32_t s3 = cp_profile_add_function(p, "gone", "gone", "a.c", 80);
	cp_profile_add_code(p, x.prog, s3, 0x8000, nop_ret, 0, NULL, 0);
	uint32_t l3[] = { loc(&x, x.prog, 0x8010, s3) };
	add(&x, l3, 1, 1000, 2);
	a = annotate(&x, "gone", NULL, &v, &err);
	assert_non_null(a);
	assert_int_equal(a->n, 0);
	assert_int_equal(a->nhot, 0);
	assert_int_equal(a->total, 0);
	assert_int_equal(a->outside_samples, 2);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_annotate_text(f, a, "stdout", &err), 0);
	fclose(f);
	assert_string_equal(buf,
			    "# annotate: gone (prog), 0x8000-0x8000, 0 samples (0.00% of all)\n"
			    "# outside the stored code: 2 samples (6.90% of all)\n"
			    " Percent  Samples  Address  Instruction\n");
	free(buf);
	cp_annotate_free(a);
	cp_view_free(v);

	a = annotate(&x, "", NULL, &v, &err);
	assert_null(a);
	assert_int_equal(err.code, CP_E_USAGE);
	cp_view_free(v);

	struct cp_profile_mapping m = { .path = "[jit]", .build_id = "", .flags = CP_MAP_JIT };
	uint32_t jit = cp_profile_add_mapping(p, &m);
	uint32_t fj = cp_profile_add_function(p, "jitted", "jitted", "", 0);
	uint32_t lj[] = { loc(&x, jit, 0x7f0000001000ull, fj) };
	add(&x, lj, 1, 1000, 1);
	expect_error(&x, "jitted", CP_E_UNSUPPORTED,
		     "cannot annotate 'jitted': JIT code is not stored in recordings");
	fx_free(&x);
}

/* AArch64 code of "spin" at 0x2000:
 *   2000 d503201f  nop
 *   2004 91000400  add x0, x0, #1
 *   2008 9400003e  bl 0x2100
 *   200c b4ffffc0  cbz x0, 0x2004
 *   2010 ffffffff  (bad)
 *   2014 d65f03c0  ret
 *   2018 d503      (bad): a partial word */
static void test_aarch64(void **state)
{
	(void)state;
	static const uint32_t words[] = { 0xd503201f, 0x91000400, 0x9400003e,
					  0xb4ffffc0, 0xffffffff, 0xd65f03c0 };
	uint8_t bytes[sizeof(words) + 2];
	for (size_t i = 0; i < CP_ARRAY_SIZE(words); i++)
		for (int b = 0; b < 4; b++)
			bytes[i * 4 + (size_t)b] = (uint8_t)(words[i] >> (8 * b));
	bytes[24] = 0x03;
	bytes[25] = 0xd5;
	struct cp_profile *p = cp_profile_new();
	p->meta.sampler = cp_profile_intern(p, "perf_event");
	p->meta.arch = cp_profile_intern(p, "aarch64");
	struct cp_profile_mapping m = { .path = "/bin/spin", .build_id = "" };
	uint32_t map = cp_profile_add_mapping(p, &m);
	uint32_t fs = cp_profile_add_function(p, "spin", "spin", "s.c", 1);
	uint32_t fo = cp_profile_add_function(p, "other", "other", "s.c", 9);
	struct cp_profile_code_line row = { 0x2000, "s.c", 2 };
	cp_profile_add_code(p, map, fs, 0x2000, bytes, sizeof(bytes), &row, 1);
	cp_profile_add_code(p, map, fo, 0x2100, bytes + 20, 4, NULL, 0);
	struct cp_profile_line ln = { .function = fs, .line = 2 };
	uint32_t l1 = cp_profile_add_location(p, map, 0x2004, &ln, 1);
	uint32_t l2 = cp_profile_add_location(p, map, 0x200c, &ln, 1);
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, &l1, 1) };
	for (int i = 0; i < 3; i++)
		cp_profile_add_sample(p, &s, NULL);
	s.stack = cp_profile_add_stack(p, &l2, 1);
	cp_profile_add_sample(p, &s, NULL);

	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, NULL, &err);
	assert_non_null(v);
	struct cp_annotate *a = cp_annotate_new(v, "spin", NULL, &err);
	assert_non_null(a);
	assert_string_equal(a->arch, "aarch64");
	static const struct {
		uint64_t address;
		const char *text, *target;
	} want[] = {
		{ 0x2000, "nop", "" },
		{ 0x2004, "add x0, x0, #1", "" },
		{ 0x2008, "bl #0x2100", "other" },
		{ 0x200c, "cbz x0, #0x2004", "spin+0x4" },
		{ 0x2010, "(bad)", "" },
		{ 0x2014, "ret", "" },
		{ 0x2018, "(bad)", "" },
	};
	assert_int_equal(a->n, 1 + CP_ARRAY_SIZE(want));
	assert_int_equal(a->lines[0].kind, CP_ANNOTATE_SOURCE);
	assert_int_equal(a->lines[0].line, 2);
	assert_string_equal(a->lines[0].text, ""); /* s.c is not here */
	assert_int_equal(a->lines[0].samples, 4);
	for (size_t i = 0; i < CP_ARRAY_SIZE(want); i++) {
		const struct cp_annotate_line *l = &a->lines[i + 1];
		assert_int_equal(l->kind, CP_ANNOTATE_INSN);
		assert_int_equal(l->address, want[i].address);
		assert_string_equal(l->text, want[i].text);
		assert_string_equal(l->target, want[i].target);
	}
	assert_int_equal(a->lines[2].samples, 3);
	assert_int_equal(a->lines[4].samples, 1);
	assert_int_equal(a->hottest, 2);
	assert_int_equal(a->total, 4);
	assert_int_equal(a->view_total, 4);
	cp_annotate_free(a);
	cp_view_free(v);
	cp_profile_free(p);
}

/* An empty arch string is x86-64 (older recordings and other inputs). */
static void test_default_arch(void **state)
{
	(void)state;
	struct fx x;
	fx_build(&x);
	x.p->meta.arch = cp_profile_intern(x.p, "");
	struct cp_view *v;
	struct cp_error err;
	struct cp_annotate *a = annotate(&x, "leaf", NULL, &v, &err);
	assert_non_null(a);
	assert_string_equal(a->arch, "x86_64");
	assert_int_equal(a->total_samples, 3);
	assert_int_equal(a->n, 2);
	assert_string_equal(a->lines[0].text, "");
	assert_int_equal(a->lines[0].line, 20);
	assert_string_equal(a->lines[1].text, "ret");
	cp_annotate_free(a);
	cp_view_free(v);
	fx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x86_lines),
		cmocka_unit_test(test_x86_weights),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_choose_module),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_code),
		cmocka_unit_test(test_weight_not_samples),
		cmocka_unit_test(test_static_and_misc),
		cmocka_unit_test(test_aarch64),
		cmocka_unit_test(test_default_arch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
