/* test_trace.c - lib/trace: strace's syscall classes (members and
 * non-members checked against strace's own table) and -e trace=
 * expressions: names, %classes, /regex, all, none, ? and !, and the one-line
 * errors naming the bad item. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
