/* test_trace_decode.c - lib/trace/decode.c: arguments as strace shows
 * them, read from a fake tracee memory (a local buffer at a made-up
 * address): openat's flags and path, read's buffer at exit with -s
 * truncation, mmap's hex return, a poll array, a signal set, futex ops,
 * a stat structure, execve's argv, -y on a returned fd; and without
 * memory (the event engine) pointers in hex, numbers still decoded; the
 * summary table's columns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc/proc.h"
#include "trace/trace.h"

#define BASE 0x10000ull
static uint8_t mem[4096];

static ssize_t fake_read(void *arg, uint32_t tid, uint64_t addr, void *buf, size_t len)
{
	(void)arg;
	(void)tid;
	if (addr < BASE || addr >= BASE + sizeof(mem))
		return -1;
	size_t off = (size_t)(addr - BASE);
	if (len > sizeof(mem) - off)
		len = sizeof(mem) - off;
	memcpy(buf, mem + off, len);
	return (ssize_t)len;
}

static const struct cp_trace_mem fake = { fake_read, NULL };

static struct cp_trace_call call(const char *name, uint64_t a0, uint64_t a1, uint64_t a2,
				 uint64_t a3, uint64_t a4, uint64_t a5, int64_t ret)
{
	struct cp_trace_call c = { .pid = (uint32_t)getpid(), .tid = 7, .ret = ret, .returned = true };
	c.nr = (int)cp_syscall_number(name);
	uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };
	memcpy(c.args, a, sizeof(a));
	return c;
}

/* The arguments as one line: "a, b, c" (strings quoted). */
static const char *line(const struct cp_trace_call *c)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < c->nargs; i++) {
		const struct cp_trace_arg *a = &c->dargs[i];
		if (a->kind == CP_TA_STR)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%.*s\"%s", i ? ", " : "",
					      (int)a->len, a->s, a->truncated ? "..." : "");
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", a->text);
	}
	return buf;
}

static const char *decode(struct cp_trace_decoder *d, struct cp_trace_call *c,
			  const struct cp_trace_mem *m)
{
	cp_trace_decode_enter(d, c, m);
	cp_trace_decode_exit(d, c, m);
	return line(c);
}

static void test_files(void **state)
{
	(void)state;
	struct cp_trace_opts o;
	cp_trace_opts_init(&o);
	struct cp_trace_decoder *d = cp_trace_decoder_new(&o);
	strcpy((char *)mem, "/dev/null");
	struct cp_trace_call c = call("openat", (uint64_t)AT_FDCWD, BASE, O_RDONLY | O_CLOEXEC, 0, 0,
				      0, 3);
	assert_string_equal(decode(d, &c, &fake), "AT_FDCWD, \"/dev/null\", O_RDONLY|O_CLOEXEC");
	assert_int_equal(c.nargs, 3);
	c = call("openat", 5, BASE, O_WRONLY | O_CREAT | O_TRUNC, 0644, 0, 0, 4);
	assert_string_equal(decode(d, &c, &fake), "5, \"/dev/null\", O_WRONLY|O_CREAT|O_TRUNC, 0644");
	cp_trace_decoder_free(d);

	/* read: the buffer at exit, only the returned bytes, cut at -s */
	o.strsize = 8;
	d = cp_trace_decoder_new(&o);
	memcpy(mem, "hello, world\n", 13);
	c = call("read", 4, BASE, 64, 0, 0, 0, 13);
	assert_string_equal(decode(d, &c, &fake), "4, \"hello, w\"..., 64");
	c = call("read", 4, BASE, 64, 0, 0, 0, 5);
	assert_string_equal(decode(d, &c, &fake), "4, \"hello\", 64");
	/* a failed read shows the pointer */
	c = call("read", 4, BASE, 64, 0, 0, 0, -9);
	assert_string_equal(decode(d, &c, &fake), "4, 0x10000, 64");

	/* stat at exit */
	struct stat st = { .st_mode = S_IFREG | 0644, .st_size = 1234 };
	memcpy(mem, &st, sizeof(st));
	c = call("fstat", 3, BASE, 0, 0, 0, 0, 0);
	assert_string_equal(decode(d, &c, &fake), "3, {st_mode=S_IFREG|0644, st_size=1234, ...}");
	cp_trace_decoder_free(d);
}

static void test_memory_and_process(void **state)
{
	(void)state;
	struct cp_trace_opts o;
	cp_trace_opts_init(&o);
	struct cp_trace_decoder *d = cp_trace_decoder_new(&o);
	struct cp_trace_call c = call("mmap", 0, 8192, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0, 0x7f0000001000);
	assert_string_equal(decode(d, &c, &fake),
			    "NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0");
	assert_non_null(c.dret);
	assert_string_equal(c.dret->text, "0x7f0000001000");

	struct pollfd p[2] = { { 3, POLLIN, 0 }, { 5, POLLIN | POLLOUT, 0 } };
	memcpy(mem, p, sizeof(p));
	c = call("poll", BASE, 2, 100, 0, 0, 0, 1);
	assert_string_equal(decode(d, &c, &fake),
			    "[{fd=3, events=POLLIN}, {fd=5, events=POLLIN|POLLOUT}], 2, 100");

	uint64_t set = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
	memcpy(mem, &set, 8);
	c = call("rt_sigprocmask", SIG_BLOCK, BASE, 0, 8, 0, 0, 0);
	assert_string_equal(decode(d, &c, &fake), "SIG_BLOCK, [INT TERM], NULL, 8");

	c = call("futex", BASE, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 2, 0, 0, 0, 0);
	assert_string_equal(decode(d, &c, &fake), "0x10000, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0");

	c = call("kill", 42, SIGTERM, 0, 0, 0, 0, 0);
	assert_string_equal(decode(d, &c, &fake), "42, SIGTERM");

	/* execve: argv strings */
	uint64_t argv[3] = { BASE + 256, BASE + 264, 0 };
	memset(mem, 0, sizeof(mem));
	strcpy((char *)mem + 16, "/bin/ls");
	memcpy(mem + 128, argv, sizeof(argv));
	strcpy((char *)mem + 256, "ls");
	strcpy((char *)mem + 264, "-l");
	uint64_t envp[1] = { 0 };
	memcpy(mem + 512, envp, sizeof(envp));
	c = call("execve", BASE + 16, BASE + 128, BASE + 512, 0, 0, 0, 0);
	cp_trace_decode_enter(d, &c, &fake);
	cp_trace_decode_exit(d, &c, NULL); /* after the exec the old memory is gone */
	assert_string_equal(line(&c), "\"/bin/ls\", [\"ls\", \"-l\"], 0x10200 /* 0 vars */");

	/* the exit of a call never returned */
	c = call("exit_group", 0, 0, 0, 0, 0, 0, 0);
	c.returned = false;
	assert_string_equal(decode(d, &c, &fake), "0");
	cp_trace_decoder_free(d);
}

static void test_no_memory(void **state)
{
	(void)state;
	struct cp_trace_opts o;
	cp_trace_opts_init(&o);
	struct cp_trace_decoder *d = cp_trace_decoder_new(&o);
	struct cp_trace_call c = call("openat", (uint64_t)AT_FDCWD, BASE, O_RDONLY, 0, 0, 0, 3);
	assert_string_equal(decode(d, &c, NULL), "AT_FDCWD, 0x10000, O_RDONLY");
	c = call("write", 1, BASE, 16, 0, 0, 0, 16);
	assert_string_equal(decode(d, &c, NULL), "1, 0x10000, 16");
	/* not in the table: raw, trailing zeros left out */
	c = call("getcpu", 0x10, 0x20, 0, 0, 0, 0, 0);
	assert_string_equal(decode(d, &c, NULL), "0x10, 0x20");
	char nb[32];
	assert_string_equal(cp_trace_syscall_name(999, nb, sizeof(nb)), "syscall_999");
	assert_string_equal(cp_trace_errno_name(2), "ENOENT");
	assert_string_equal(cp_trace_signame(SIGCHLD, nb, sizeof(nb)), "SIGCHLD");
	cp_trace_decoder_free(d);
}

static void test_paths(void **state)
{
	(void)state;
	struct cp_trace_opts o;
	cp_trace_opts_init(&o);
	o.paths = true;
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	struct cp_trace_decoder *d = cp_trace_decoder_new(&o);
	struct cp_trace_call c = call("close", (uint64_t)fd, 0, 0, 0, 0, 0, 0);
	decode(d, &c, NULL);
	assert_string_equal(c.dargs[0].path, "/dev/null");
	c = call("dup", (uint64_t)fd, 0, 0, 0, 0, 0, fd);
	decode(d, &c, NULL);
	assert_non_null(c.dret);
	assert_string_equal(c.dret->path, "/dev/null");
	close(fd);
	cp_trace_decoder_free(d);
}

static void test_table(void **state)
{
	(void)state;
	struct cp_trace_stats *st = cp_trace_stats_new(true);
	struct cp_trace_call c = call("read", 0, 0, 0, 0, 0, 0, 10);
	for (int i = 0; i < 100; i++) {
		c.enter_ns = 1000;
		c.exit_ns = 1000 + 1000000 + (uint64_t)i * 100;
		c.ret = i < 3 ? -2 : 10;
		cp_trace_stats_add(st, &c, false);
	}
	c.returned = false; /* never counted */
	cp_trace_stats_add(st, &c, false);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cp_trace_stats_table(st, f, NULL, false, false);
	cp_trace_stats_latency(st, f, true);
	fclose(f);
	assert_non_null(strstr(buf, "% time     seconds  usecs/call     calls    errors syscall\n"));
	assert_non_null(strstr(buf, "100.00    0.100495        1004       100         3 read\n"));
	assert_non_null(strstr(buf, "100.00    0.100495        1004       100         3 total\n"));
	/* p50 within 3% of 1.005 ms; max exact */
	const char *p = strstr(buf, "\"p50_ns\":");
	assert_non_null(p);
	long p50 = strtol(p + 9, NULL, 10);
	assert_true(p50 > 975000 && p50 < 1035000);
	assert_non_null(strstr(buf, "\"max_ns\":1009900"));
	free(buf);
	cp_trace_stats_free(st);
}

/* totals from the kernel merge with calls seen one by one: sums add, min
 * and max are the lowest and highest of both, JSON shows them */
static void test_totals(void **state)
{
	(void)state;
	struct cp_trace_stats *st = cp_trace_stats_new(false);
	struct cp_trace_call c = call("read", 0, 0, 0, 0, 0, 0, 10);
	c.enter_ns = 1000;
	c.exit_ns = 6000; /* 5 us */
	cp_trace_stats_add(st, &c, false);
	struct cp_trace_totals tt = {
		.nr = c.nr, .calls = 9, .errors = 2, .total_ns = 45000, .min_ns = 100, .max_ns = 20000,
	};
	cp_trace_stats_add_totals(st, &tt);
	struct cp_trace_totals none = { .nr = 1, .min_ns = UINT64_MAX };
	cp_trace_stats_add_totals(st, &none); /* no calls: no row */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cp_trace_stats_table(st, f, NULL, true, false);
	fclose(f);
	assert_non_null(strstr(buf, "{\"syscall\":\"read\",\"calls\":10,\"errors\":2,"
				    "\"seconds\":0.000050,\"usecs_per_call\":5,\"percent\":100.00,"
				    "\"min_ns\":100,\"max_ns\":20000}"));
	assert_null(strstr(buf, "\"write\""));
	free(buf);
	cp_trace_stats_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_memory_and_process),
		cmocka_unit_test(test_no_memory),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_totals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
