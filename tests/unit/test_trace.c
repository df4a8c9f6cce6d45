/* test_trace.c - lib/trace: strace's syscall classes (members and
 * non-members checked against strace's own table) and -e trace=
 * expressions: names, %classes, /regex, all, none, ? and !, and the one-line
 * errors naming the bad item; the BTF reader of in-kernel counting on a
 * small blob (members found, kflag bit offsets, a string without its NUL,
 * a section past the end) and on the running kernel's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <linux/btf.h>

#include "proc/proc.h"
#include "trace/trace.h"

static void test_classes(void **state)
{
	(void)state;
	assert_int_equal(cp_trace_classes("openat"), CP_TC_FILE | CP_TC_DESC);
	assert_int_equal(cp_trace_classes("read"), CP_TC_DESC);
	assert_int_equal(cp_trace_classes("stat"), CP_TC_FILE);
	assert_int_equal(cp_trace_classes("mmap"), CP_TC_DESC | CP_TC_MEMORY);
	assert_int_equal(cp_trace_classes("kill"), CP_TC_SIGNAL | CP_TC_PROCESS);
	assert_int_equal(cp_trace_classes("sendfile"), CP_TC_DESC | CP_TC_NETWORK);
	assert_int_equal(cp_trace_classes("execve"), CP_TC_FILE | CP_TC_PROCESS);
	assert_int_equal(cp_trace_classes("exit_group"), CP_TC_PROCESS);
	assert_int_equal(cp_trace_classes("shmat"), CP_TC_IPC | CP_TC_MEMORY);
	assert_int_equal(cp_trace_classes("setresuid"), CP_TC_CREDS);
	assert_int_equal(cp_trace_classes("clock_gettime"), CP_TC_CLOCK);
	assert_int_equal(cp_trace_classes("signalfd4"), CP_TC_DESC | CP_TC_SIGNAL);
	/* in no class, as in strace */
	assert_int_equal(cp_trace_classes("getpid"), 0);
	assert_int_equal(cp_trace_classes("nanosleep"), 0);
	assert_int_equal(cp_trace_classes("futex"), 0);
	assert_int_equal(cp_trace_classes("close_range"), 0);
	/* not names */
	assert_int_equal(cp_trace_classes(""), 0);
	assert_int_equal(cp_trace_classes("read write"), 0);
	assert_int_equal(cp_trace_classes("rea"), 0);
	assert_int_equal(cp_trace_class_by_name("%file"), CP_TC_FILE);
	assert_int_equal(cp_trace_class_by_name("file"), 0);
}

static struct cp_trace_set parse_ok(const char *expr)
{
	struct cp_trace_set s;
	struct cp_error err = { 0 };
	if (cp_trace_set_parse(expr, &s, &err))
		fail_msg("'%s': %s", expr, err.msg);
	return s;
}

static void parse_bad(const char *expr, const char *msg)
{
	struct cp_trace_set s;
	struct cp_error err = { 0 };
	assert_int_equal(cp_trace_set_parse(expr, &s, &err), CP_E_USAGE);
	if (!strstr(err.msg, msg))
		fail_msg("'%s': '%s' does not say '%s'", expr, err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
}

#define NR(name) cp_syscall_number(name)

static void test_sets(void **state)
{
	(void)state;
	struct cp_trace_set s = parse_ok("openat,read");
	assert_int_equal(cp_trace_set_count(&s), 2);
	assert_true(cp_trace_set_has(&s, NR("openat")));
	assert_true(cp_trace_set_has(&s, NR("read")));
	assert_false(cp_trace_set_has(&s, NR("write")));
	s = parse_ok("%file");
	assert_true(cp_trace_set_has(&s, NR("openat")));
	assert_true(cp_trace_set_has(&s, NR("execve")));
	assert_false(cp_trace_set_has(&s, NR("read")));
	s = parse_ok("!write");
	assert_false(cp_trace_set_has(&s, NR("write")));
	assert_true(cp_trace_set_has(&s, NR("read")));
	struct cp_trace_set all = parse_ok("all");
	assert_int_equal(cp_trace_set_count(&s), cp_trace_set_count(&all) - 1);
	assert_true(cp_trace_set_count(&all) > 250);
	s = parse_ok("none");
	assert_int_equal(cp_trace_set_count(&s), 0);
	s = parse_ok("!none");
	assert_int_equal(cp_trace_set_count(&s), cp_trace_set_count(&all));
	s = parse_ok("?nosuchcall,write");
	assert_int_equal(cp_trace_set_count(&s), 1);
	s = parse_ok("/^open");
	assert_true(cp_trace_set_has(&s, NR("openat")));
	assert_false(cp_trace_set_has(&s, NR("read")));
	s = parse_ok("%network,%process");
	assert_true(cp_trace_set_has(&s, NR("connect")));
	assert_true(cp_trace_set_has(&s, NR("wait4")));
	assert_false(cp_trace_set_has(&s, NR("openat")));
	assert_false(cp_trace_set_has(&s, -1));
	assert_false(cp_trace_set_has(&s, 100000));

	parse_bad("nosuchcall", "unknown system call 'nosuchcall'");
	parse_bad("read,nosuchcall", "'nosuchcall'");
	parse_bad("%nosuch", "unknown class '%nosuch' (there are %file,");
	parse_bad("", "an empty list");
	parse_bad("!", "an empty list");
	parse_bad("read,,write", "an empty item");
	parse_bad("read,", "an empty item");
	parse_bad(",read", "an empty item");
	parse_bad("?", "an empty item");
	parse_bad("/(", "'/('");
	parse_bad("/^zzzz", "matches no system call");
	/* what glibc's regcomp would take gigabytes for (found by fuzzing) */
	parse_bad("/z++++++++++++++++++++", "nested");
	parse_bad("/(ope{2}n){9}", "bounded");
	/* control characters shown as '?': one line */
	parse_bad("/\n", "'/?'");
	parse_bad("re\nad", "unknown system call 're?ad'");
}

/* A BTF blob: struct task_struct { tgid at 12, signal at 24 } and struct
 * signal_struct { live at 4 }, with kflag member offsets. */
static size_t make_btf(uint8_t *buf)
{
	static const char strs[] = "\0task_struct\0tgid\0signal\0signal_struct\0live";
	enum { S_TASK = 1, S_TGID = 13, S_SIGNAL = 18, S_SIGSTRUCT = 25, S_LIVE = 39 };
	uint32_t types[64];
	size_t n = 0;
	types[n++] = 0; /* [1] int */
	types[n++] = BTF_KIND_INT << 24;
	types[n++] = 4;
	types[n++] = 32;
	types[n++] = S_TASK; /* [2] task_struct */
	types[n++] = 1u << 31 | BTF_KIND_STRUCT << 24 | 2;
	types[n++] = 64;
	types[n++] = S_TGID, types[n++] = 1, types[n++] = 12 * 8;
	types[n++] = S_SIGNAL, types[n++] = 1, types[n++] = 24 * 8;
	types[n++] = S_SIGSTRUCT; /* [3] signal_struct */
	types[n++] = BTF_KIND_STRUCT << 24 | 1;
	types[n++] = 16;
	types[n++] = S_LIVE, types[n++] = 1, types[n++] = 4 * 8;
	struct btf_header h = {
		.magic = BTF_MAGIC, .version = 1, .hdr_len = sizeof(h), .type_off = 0,
		.type_len = (uint32_t)(n * 4), .str_off = (uint32_t)(n * 4), .str_len = sizeof(strs),
	};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), types, n * 4);
	memcpy(buf + sizeof(h) + n * 4, strs, sizeof(strs));
	return sizeof(h) + n * 4 + sizeof(strs);
}

static void test_btf(void **state)
{
	(void)state;
	uint8_t buf[512];
	size_t len = make_btf(buf);
	struct cp_trace_btf_member want[] = {
		{ "task_struct", "tgid", -1 },
		{ "task_struct", "signal", -1 },
		{ "signal_struct", "live", -1 },
	};
	struct cp_error err;
	assert_int_equal(cp_trace_btf_offsets(buf, len, want, 3, &err), 0);
	assert_int_equal(want[0].off, 12);
	assert_int_equal(want[1].off, 24);
	assert_int_equal(want[2].off, 4);
	/* cut short: the string section ends past the data */
	assert_int_equal(cp_trace_btf_offsets(buf, len - 1, want, 3, &err), CP_E_FORMAT);
	/* the last string without its NUL: "live" is not read past the end */
	buf[len - 1] = 'x';
	assert_int_equal(cp_trace_btf_offsets(buf, len, want, 3, &err), CP_E_UNSUPPORTED);
	assert_string_equal(err.msg, "BTF: no signal_struct.live");
	assert_int_equal(cp_trace_btf_offsets(buf, 10, want, 3, &err), CP_E_FORMAT);
	buf[0] = 0;
	assert_int_equal(cp_trace_btf_offsets(buf, len, want, 3, &err), CP_E_FORMAT);
	assert_non_null(strstr(err.msg, "magic"));
	/* the running kernel's, where it has one: task_struct's tgid lies
	 * beyond its first member */
	size_t klen;
	char *k = cp_read_file("/sys/kernel/btf/vmlinux", &klen);
	if (k) {
		assert_int_equal(cp_trace_btf_offsets(k, klen, want, 3, &err), 0);
		assert_true(want[0].off > 0 && want[1].off > 0 && want[2].off >= 0);
		free(k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_btf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
