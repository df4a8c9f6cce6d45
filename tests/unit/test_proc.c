/* test_proc.c - lib/proc: where a process's files are (its root and the
 * paths of its /proc/PID/maps).  The namespaces and chroots themselves are
 * made by tests/e2e/1320; here are this process and the path rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"

static void test_root_self(void **state)
{
	(void)state;
	struct cp_proc_root r;
	cp_proc_root_get(getpid(), &r);
	assert_false(r.foreign);
	assert_string_equal(r.prefix, "");
	assert_true(r.nspid > 0);
	/* ours: maps paths are used as they are */
	const char *p = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	assert_ptr_equal(cp_proc_root_maps_path(&r, p), p);
}

static void test_root_gone(void **state)
{
	(void)state;
	struct cp_proc_root r;
	/* pid_max is at most 2^22: this pid never exists */
	cp_proc_root_get(1 << 23, &r);
	assert_false(r.foreign);
	assert_int_equal(r.nspid, 1 << 23);
}

static void test_maps_path_prefix(void **state)
{
	(void)state;
	struct cp_proc_root r = { .foreign = true };
	snprintf(r.prefix, sizeof(r.prefix), "/var/tmp/root");
	assert_string_equal(cp_proc_root_maps_path(&r, "/var/tmp/root/usr/bin/app"), "/usr/bin/app");
	assert_string_equal(cp_proc_root_maps_path(&r, "/var/tmp/root/app"), "/app");
	/* a longer name that merely starts with the prefix is not under it */
	assert_null(cp_proc_root_maps_path(&r, "/var/tmp/rootless/app"));
	assert_null(cp_proc_root_maps_path(&r, "/var/tmp/root"));
	assert_null(cp_proc_root_maps_path(&r, "/usr/bin/app"));
	/* another namespace with its root at its own "/": nothing to take off */
	r.prefix[0] = '\0';
	assert_string_equal(cp_proc_root_maps_path(&r, "/usr/bin/app"), "/usr/bin/app");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_self),
		cmocka_unit_test(test_root_gone),
		cmocka_unit_test(test_maps_path_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
