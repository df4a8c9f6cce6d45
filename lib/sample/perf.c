/* perf.c - the perf_event sampler: one event per online CPU for a target
 * (per-CPU because the kernel refuses to mmap inherited per-task events),
 * ring buffers, and a time-ordered merge of their records.
 *
 * Records are decoded in place; only one that wraps around the end of a
 * ring is copied.  Each read round snapshots every ring's head and merges
 * what is there by timestamp, so an mmap seen on one CPU is applied
 * before a sample taken later on another.  It does not aggregate, unwind
 * or symbolize: that is the recorder's job.
 */
#include "sample/sample.h"

#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <asm/perf_regs.h>

#include "proc/proc.h"

/* user registers sampled for DWARF unwinding: the general purpose set */
#define REGS_MASK                                                                                  \
	((1ULL << PERF_REG_X86_AX) | (1ULL << PERF_REG_X86_BX) | (1ULL << PERF_REG_X86_CX) |      \
	 (1ULL << PERF_REG_X86_DX) | (1ULL << PERF_REG_X86_SI) | (1ULL << PERF_REG_X86_DI) |      \
	 (1ULL << PERF_REG_X86_BP) | (1ULL << PERF_REG_X86_SP) | (1ULL << PERF_REG_X86_IP) |      \
	 (1ULL << PERF_REG_X86_R8) | (1ULL << PERF_REG_X86_R9) | (1ULL << PERF_REG_X86_R10) |     \
	 (1ULL << PERF_REG_X86_R11) | (1ULL << PERF_REG_X86_R12) | (1ULL << PERF_REG_X86_R13) |   \
	 (1ULL << PERF_REG_X86_R14) | (1ULL << PERF_REG_X86_R15))

struct ring {
	int fd;
	int cpu;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size; /* data area, power of two */
	uint64_t head; /* snapshot for this round */
	uint64_t pos;  /* next record to deliver */
	uint8_t *scratch; /* for records that wrap */
	size_t scratch_cap;
	const struct perf_event_header *cur; /* the record at cur_pos, once peeked */
	uint64_t cur_pos;
};

struct cp_perf {
	struct ring *rings;
	int nrings;
	CP_VEC(int) extra; /* attach: events of further threads, output redirected to the rings */
	struct perf_event_attr attr;
	bool attach;
	size_t map_len;
	const char *event;
	uint64_t period_ns;
	uint64_t sample_type;
	uint32_t stack_size;
	bool dwarf;
	bool syscalls;
	uint64_t enter_id;         /* syscalls: sys_enter's tracepoint id */
	struct perf_event_attr exit_attr; /* syscalls: sys_exit's, sharing the rings */
	struct cp_u64map exit_ids;        /* syscalls: the ids of the sys_exit events */
	const char *filter;
	struct cp_perf_sample s; /* decoded sample, reused */
};

static long perf_event_open(struct perf_event_attr *a, pid_t pid, int cpu, int group,
			    unsigned long flags)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, group, flags);
}

static int online_cpus(int *cpus, int max)
{
	char *s = cp_read_file("/sys/devices/system/cpu/online", NULL);
	int n = 0;
	if (!s) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		for (int i = 0; i < c && n < max; i++)
			cpus[n++] = i;
		return n;
	}
	/* "0-3,5,7-8" */
	char *p = s;
	while (*p && *p != '\n' && n < max) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p)
			break;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long i = a; i <= b && n < max; i++)
			cpus[n++] = (int)i;
		if (*p == ',')
			p++;
	}
	free(s);
	return n;
}

/* EACCES/EPERM from perf_event_open: another user's process (when
 * attaching to pid, 0 otherwise), or the sysctl / a seccomp filter. */
static int perm_error(struct cp_error *err, int e, pid_t pid)
{
	if (pid > 0 && cp_proc_check_owner(pid, err))
		return err ? err->code : CP_E_PERM;
	long paranoid = cp_read_long_file("/proc/sys/kernel/perf_event_paranoid", -99);
	if (pid < 0)
		return cp_error_set(err, CP_E_PERM,
				    "perf_event_open: %s (kernel.perf_event_paranoid=%ld): sampling "
				    "every process (-a) needs root, CAP_PERFMON, or "
				    "'sysctl kernel.perf_event_paranoid=0'",
				    strerror(e), paranoid);
	return cp_error_set(err, CP_E_PERM,
			    "perf_event_open: %s (kernel.perf_event_paranoid=%ld): run as root, "
			    "lower it with 'sysctl kernel.perf_event_paranoid=1', or allow "
			    "perf_event_open in the container's seccomp profile",
			    strerror(e), paranoid);
}

/* What every event shares: started disabled; threads always followed,
 * other processes only with inherit (a CPU-wide event sees every task
 * anyway); with records, the address-space records the unwinder needs;
 * CLOCK_MONOTONIC times; the reader woken when a quarter of the ring is
 * used. */
static void common_attr(struct perf_event_attr *a, const struct cp_perf_opts *o, bool records,
			uint32_t watermark)
{
	a->disabled = 1;
	a->inherit = o->system_wide ? 0 : 1;
	a->inherit_thread = o->inherit || o->system_wide ? 0 : 1;
	a->enable_on_exec = o->enable_on_exec && !o->attach && !o->system_wide ? 1 : 0;
	a->exclude_hv = 1;
	if (records) {
		a->mmap = 1;
		a->mmap2 = 1;
		a->comm = 1;
		a->comm_exec = 1;
		a->task = 1;
		a->build_id = 1;
	}
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->watermark = 1;
	a->wakeup_watermark = watermark;
}

static void fill_attr(struct perf_event_attr *a, const struct cp_perf_opts *o, bool hw,
		      uint64_t period_ns, bool kernel, uint32_t watermark)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	if (hw) {
		a->type = PERF_TYPE_HARDWARE;
		a->config = PERF_COUNT_HW_CPU_CYCLES;
		a->freq = 1;
		a->sample_freq = (uint64_t)o->freq;
	} else {
		a->type = PERF_TYPE_SOFTWARE;
		a->config = (o->event && !strcmp(o->event, "task-clock")) ? PERF_COUNT_SW_TASK_CLOCK
									    : PERF_COUNT_SW_CPU_CLOCK;
		a->sample_period = period_ns;
	}
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			 PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN;
	if (o->callgraph == CP_CG_DWARF) {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = REGS_MASK;
		a->sample_stack_user = o->stack_size;
	}
	a->exclude_kernel = kernel && !o->user_only ? 0 : 1;
	a->exclude_callchain_kernel = a->exclude_kernel;
	a->exclude_idle = 1;
	common_attr(a, o, true, watermark);
}

/* raw_syscalls:sys_enter (enter) or sys_exit: every call, no sampling
 * period, the raw record; registers and stack only on the enter side. */
static void fill_tp_attr(struct perf_event_attr *a, const struct cp_perf_opts *o, uint64_t id,
			 bool enter, uint32_t watermark)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_TRACEPOINT;
	a->config = id;
	a->sample_period = 1;
	/* IDENTIFIER (which event), TID and TIME first: the merge reads the
	 * time at the same offset as in sampled records (after IP and TID).
	 * Every byte counts: the traced program writes one record per edge
	 * of every call. */
	a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
	/* the number on an enter with a stack, too: a lost exit then cannot
	 * pair a stack with another call's exit */
	if (!enter || o->syscall_args || o->callgraph == CP_CG_DWARF)
		a->sample_type |= PERF_SAMPLE_RAW;
	if (enter && o->callgraph == CP_CG_DWARF) {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = REGS_MASK;
		a->sample_stack_user = o->stack_size;
	}
	/* the records that keep the unwinder's view of the address spaces
	 * come with the enter event only */
	common_attr(a, o, enter, watermark);
}

static void close_rings(struct cp_perf *p)
{
	for (size_t i = 0; i < p->extra.n; i++)
		close(p->extra.v[i]);
	CP_VEC_FREE(p->extra);
	for (int i = 0; i < p->nrings; i++) {
		struct ring *r = &p->rings[i];
		if (r->meta)
			munmap(r->meta, p->map_len);
		if (r->fd >= 0)
			close(r->fd);
		free(r->scratch);
	}
	free(p->rings);
	p->rings = NULL;
	p->nrings = 0;
	cp_u64map_release(&p->exit_ids);
}

/* Open one event per CPU with attr; returns 0 or -errno of the first failure. */
static int open_all(struct cp_perf *p, struct perf_event_attr *a, pid_t pid, const int *cpus,
		    int ncpu)
{
	p->rings = cp_xcalloc((size_t)ncpu, sizeof(struct ring));
	p->nrings = 0;
	for (int i = 0; i < ncpu; i++) {
		long fd = perf_event_open(a, pid, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			close_rings(p);
			return -e;
		}
		p->rings[p->nrings].fd = (int)fd;
		p->rings[p->nrings].cpu = cpus[i];
		p->nrings++;
	}
	return 0;
}

static int map_rings(struct cp_perf *p, int pages, struct cp_error *err)
{
	long psz = sysconf(_SC_PAGESIZE);
	for (;;) {
		p->map_len = (size_t)(pages + 1) * (size_t)psz;
		int i;
		for (i = 0; i < p->nrings; i++) {
			void *m = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
				       p->rings[i].fd, 0);
			if (m == MAP_FAILED)
				break;
			p->rings[i].meta = m;
			p->rings[i].data = (uint8_t *)m + psz;
			p->rings[i].size = (uint64_t)pages * (uint64_t)psz;
		}
		if (i == p->nrings)
			return 0;
		int e = errno;
		for (int k = 0; k < i; k++) {
			munmap(p->rings[k].meta, p->map_len);
			p->rings[k].meta = NULL;
		}
		if ((e == EPERM || e == ENOMEM) && pages > 8) {
			pages /= 2;
			continue;
		}
		return cp_error_errno(err, CP_E_FAIL, e,
				      "cannot map the perf ring buffer (%d pages; see "
				      "kernel.perf_event_mlock_kb and --mmap-pages)",
				      pages);
	}
}

static int add_process(struct cp_perf *p, pid_t pid, pid_t skip_tid, struct cp_error *err);
static int open_syscalls(struct cp_perf *p, const struct cp_perf_opts *o, pid_t first,
			 const int *cpus, int ncpu, uint32_t wm, struct cp_error *err);
static int add_exit_events(struct cp_perf *p, pid_t first, struct cp_error *err);

int cp_perf_open(pid_t pid, const struct cp_perf_opts *o, struct cp_perf **out,
		 struct cp_error *err)
{
	int cpus[1024];
	int ncpu = online_cpus(cpus, (int)CP_ARRAY_SIZE(cpus));
	if (ncpu <= 0)
		return cp_error_set(err, CP_E_FAIL, "cannot find the online CPUs");
	long max_rate = cp_read_long_file("/proc/sys/kernel/perf_event_max_sample_rate", 100000);
	if (!o->syscalls && o->freq > max_rate)
		return cp_error_set(err, CP_E_USAGE,
				    "-F %d is above kernel.perf_event_max_sample_rate=%ld", o->freq,
				    max_rate);
	struct cp_perf *p = cp_xcalloc(1, sizeof(*p));
	p->attach = o->attach;
	pid_t first = o->system_wide ? -1 : o->attach && o->only_tid ? o->only_tid : pid;
	p->dwarf = o->callgraph == CP_CG_DWARF;
	p->period_ns = o->freq > 0 ? 1000000000ULL / (uint64_t)o->freq : 0;
	long paranoid = cp_read_long_file("/proc/sys/kernel/perf_event_paranoid", 2);
	bool kernel = geteuid() == 0 || paranoid < 2;
	bool want_hw = !o->event || !strcmp(o->event, "cycles");
	int pages = o->mmap_pages;
	if (pages <= 0)
		pages = p->dwarf ? 4096 : o->syscalls ? 1024 : 512; /* 16 MiB holds ~250 full 64 KiB stack samples */
	long psz = sysconf(_SC_PAGESIZE);
	struct cp_perf_opts oo = *o;
	if (geteuid() != 0) {
		/* unprivileged rings are capped by kernel.perf_event_mlock_kb */
		long kb = cp_read_long_file("/proc/sys/kernel/perf_event_mlock_kb", 516);
		int cap = 1;
		while ((long)cap * 2 * psz <= kb * 1024 - psz)
			cap *= 2;
		if (pages > cap)
			pages = cap;
	}
	/* Every sample reserves the whole stack copy in the ring.  A ring that
	 * holds fewer than 32 of them overflows as soon as the reader is late,
	 * so unless the user chose the size, shrink the copy to fit. */
	uint64_t ring = (uint64_t)pages * (uint64_t)psz;
	if (p->dwarf && !o->stack_size_set && (uint64_t)o->stack_size * 32 > ring) {
		oo.stack_size = (uint32_t)(ring / 32) & ~7u;
		if (oo.stack_size < 1024)
			oo.stack_size = 1024;
		cp_log(CP_LOG_NOTICE,
		       "the ring buffer is limited to %llu KiB per CPU (kernel.perf_event_mlock_kb); "
		       "copying %u bytes of stack per sample instead of %u (run as root for deep stacks)",
		       (unsigned long long)(ring / 1024), oo.stack_size, o->stack_size);
	}
	o = &oo;
	p->stack_size = p->dwarf ? o->stack_size : 0;
	uint32_t wm = (uint32_t)((uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE) / 4);
	if (o->syscalls) {
		int rc = open_syscalls(p, o, first, cpus, ncpu, wm, err);
		if (!rc)
			rc = map_rings(p, pages, err);
		if (!rc)
			rc = add_exit_events(p, first, err);
		if (!rc && o->attach && !o->only_tid && !o->system_wide)
			rc = add_process(p, pid, pid, err);
		if (rc) {
			close_rings(p);
			free(p);
			return rc;
		}
		p->period_ns = 0;
		*out = p;
		return 0;
	}
	struct perf_event_attr a;
	int rc = -ENOENT;
	if (want_hw) {
		fill_attr(&a, o, true, 0, kernel, wm);
		rc = open_all(p, &a, first, cpus, ncpu);
		if (rc == -EINVAL) { /* older kernel: no build ids in MMAP2 */
			a.build_id = 0;
			rc = open_all(p, &a, first, cpus, ncpu);
		}
		if (rc == 0) {
			p->event = "cycles";
			p->period_ns = 0;
		} else if (rc == -EACCES || rc == -EPERM) {
			free(p);
			return perm_error(err, -rc, o->attach || o->system_wide ? first : 0);
		} else if (rc == -ESRCH) {
			free(p);
			return cp_error_set(err, CP_E_NOENT, "process %d does not exist", (int)pid);
		} else {
			/* ENOENT/ENODEV/EOPNOTSUPP: no PMU, as in most VMs */
			if (rc == -ENOENT || rc == -ENODEV || rc == -EOPNOTSUPP)
				cp_log(CP_LOG_NOTICE, "no hardware cycle counter on this machine "
						      "(a virtual machine?); sampling cpu-clock instead");
			else
				cp_log(CP_LOG_NOTICE, "cannot sample cycles (%s); sampling cpu-clock "
						      "instead",
				       strerror(-rc));
		}
	}
	if (rc != 0) {
		fill_attr(&a, o, false, p->period_ns, kernel, wm);
		rc = open_all(p, &a, first, cpus, ncpu);
		if (rc == -EINVAL) {
			a.build_id = 0;
			rc = open_all(p, &a, first, cpus, ncpu);
		}
		if (rc == -EACCES || rc == -EPERM) {
			free(p);
			return perm_error(err, -rc, o->attach || o->system_wide ? first : 0);
		}
		if (rc == -ESRCH) {
			free(p);
			return cp_error_set(err, CP_E_NOENT, "%s %d does not exist",
					    o->only_tid ? "thread" : "process", (int)first);
		}
		if (rc) {
			free(p);
			return cp_error_errno(err, CP_E_UNSUPPORTED, -rc,
					      "perf_event_open (%s) failed",
					      o->event ? o->event : "cpu-clock");
		}
		p->event = a.config == PERF_COUNT_SW_TASK_CLOCK ? "task-clock" : "cpu-clock";
	}
	p->sample_type = a.sample_type;
	p->attr = a;
	rc = map_rings(p, pages, err);
	if (rc == 0 && o->attach && !o->only_tid && !o->system_wide)
		rc = add_process(p, pid, pid, err);
	if (rc) {
		close_rings(p);
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* One more event (attr) for tid on the CPU of ring i, writing into that
 * ring, with the tracepoint filter when there is one. */
static int add_redirected(struct cp_perf *p, struct perf_event_attr *attr, pid_t tid, int i)
{
	long fd = perf_event_open(attr, tid, p->rings[i].cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	CP_VEC_PUSH(p->extra, (int)fd);
	if (ioctl((int)fd, PERF_EVENT_IOC_SET_OUTPUT, p->rings[i].fd) < 0)
		return -errno;
	if (p->filter && ioctl((int)fd, PERF_EVENT_IOC_SET_FILTER, p->filter) < 0)
		return -errno;
	uint64_t id;
	if (attr == &p->exit_attr) {
		if (ioctl((int)fd, PERF_EVENT_IOC_ID, &id) < 0)
			return -errno;
		cp_u64map_put(&p->exit_ids, id, 1);
	}
	return 0;
}

/* Open the events of one thread on every CPU, writing into the rings. */
static int add_thread(struct cp_perf *p, pid_t tid)
{
	for (int i = 0; i < p->nrings; i++) {
		int rc = add_redirected(p, &p->attr, tid, i);
		if (!rc && p->syscalls)
			rc = add_redirected(p, &p->exit_attr, tid, i);
		if (rc)
			return rc;
	}
	return 0;
}

/* Where tracefs may be: mounted by systemd, or the old debugfs path. */
static const char *const tracefs_dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

static long read_tp_id(const char *dir, const char *system, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, system, name);
	return cp_read_long_file(path, -1);
}

int cp_perf_tracepoint_id(const char *system, const char *name, struct cp_error *err)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(tracefs_dirs); i++) {
		long id = read_tp_id(tracefs_dirs[i], system, name);
		if (id >= 0)
			return (int)id;
	}
	if (geteuid() != 0)
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "tracepoint %s:%s: tracefs is not readable here "
				    "(mount it: 'mount -t tracefs nodev /sys/kernel/tracing', "
				    "or run as root)",
				    system, name);
	/* Not mounted: mount it in a child's own mount namespace, read the
	 * id there and let the namespace go with the child.  Ours (and the
	 * system's) stay as they were. */
	int fds[2];
	if (pipe(fds) < 0)
		return cp_error_errno(err, CP_E_FAIL, errno, "pipe");
	pid_t c = fork();
	if (c < 0) {
		close(fds[0]);
		close(fds[1]);
		return cp_error_errno(err, CP_E_FAIL, errno, "fork");
	}
	if (c == 0) {
		close(fds[0]);
		long id = -1;
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("nodev", tracefs_dirs[0], "tracefs", 0, NULL) == 0)
			id = read_tp_id(tracefs_dirs[0], system, name);
		cp_write_all(fds[1], &id, sizeof(id));
		_exit(0);
	}
	close(fds[1]);
	long id = -1;
	ssize_t n;
	do
		n = read(fds[0], &id, sizeof(id));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(id) || id < 0)
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "tracepoint %s:%s: tracefs is not mounted and cannot be "
				    "(no /sys/kernel/tracing, or no tracefs in this kernel)",
				    system, name);
	return (int)id;
}

/* The syscall tracepoints on every CPU: the rings carry sys_enter, and
 * a sys_exit event per CPU writes into the same ring. */
static int open_syscalls(struct cp_perf *p, const struct cp_perf_opts *o, pid_t first,
			 const int *cpus, int ncpu, uint32_t wm, struct cp_error *err)
{
	int enter = cp_perf_tracepoint_id("raw_syscalls", "sys_enter", err);
	if (enter < 0)
		return enter;
	int exit = cp_perf_tracepoint_id("raw_syscalls", "sys_exit", err);
	if (exit < 0)
		return exit;
	p->syscalls = true;
	p->enter_id = (uint64_t)enter;
	p->filter = o->filter;
	fill_tp_attr(&p->attr, o, (uint64_t)enter, true, wm);
	fill_tp_attr(&p->exit_attr, o, (uint64_t)exit, false, wm);
	int rc = open_all(p, &p->attr, first, cpus, ncpu);
	if (rc == -EINVAL) { /* older kernel: no build ids in MMAP2 */
		p->attr.build_id = 0;
		rc = open_all(p, &p->attr, first, cpus, ncpu);
	}
	for (int i = 0; !rc && i < p->nrings; i++)
		if (p->filter && ioctl(p->rings[i].fd, PERF_EVENT_IOC_SET_FILTER, p->filter) < 0)
			rc = -errno;
	p->event = "raw_syscalls";
	p->sample_type = p->attr.sample_type;
	if (rc == 0 || rc == -EINVAL)
		return rc == 0 ? 0
			       : cp_error_errno(err, CP_E_UNSUPPORTED, EINVAL,
						"perf_event_open (raw_syscalls:sys_enter%s%s) refused",
						p->filter ? ", filter " : "", p->filter ? p->filter : "");
	if (rc == -EACCES || rc == -EPERM)
		return perm_error(err, -rc, o->attach || o->system_wide ? first : 0);
	if (rc == -ESRCH)
		return cp_error_set(err, CP_E_NOENT, "process %d does not exist", (int)first);
	return cp_error_errno(err, CP_E_UNSUPPORTED, -rc, "perf_event_open (raw_syscalls) failed");
}

/* The exit events of the rings' own target, once the rings are mapped. */
static int add_exit_events(struct cp_perf *p, pid_t first, struct cp_error *err)
{
	cp_u64map_init(&p->exit_ids);
	for (int i = 0; i < p->nrings; i++) {
		int rc = add_redirected(p, &p->exit_attr, first, i);
		if (rc == -EACCES || rc == -EPERM)
			return perm_error(err, -rc, first > 0 ? first : 0);
		if (rc)
			return cp_error_errno(err, CP_E_UNSUPPORTED, -rc,
					      "perf_event_open (raw_syscalls:sys_exit) failed");
	}
	return 0;
}

static bool have_tid(const struct cp_u64map *seen, pid_t tid)
{
	return cp_u64map_find(seen, (uint64_t)tid) != NULL;
}

/* Every thread of pid except skip_tid (whose events are the rings'). */
static int add_process(struct cp_perf *p, pid_t pid, pid_t skip_tid, struct cp_error *err)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	struct cp_u64map seen;
	cp_u64map_init(&seen);
	if (skip_tid)
		cp_u64map_put(&seen, (uint64_t)skip_tid, 1);
	int rc = 0;
	/* Threads started while we open events are inherited from their
	 * creator once its event exists; rescan until a pass finds none new. */
	for (int pass = 0; pass < 16; pass++) {
		DIR *d = opendir(dir);
		if (!d) {
			rc = cp_error_set(err, CP_E_NOENT, "process %d does not exist", (int)pid);
			break;
		}
		int added = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			long tid;
			if (cp_parse_long(de->d_name, 1, INT32_MAX, &tid) || have_tid(&seen, (pid_t)tid))
				continue;
			cp_u64map_put(&seen, (uint64_t)tid, 1);
			int e = add_thread(p, (pid_t)tid);
			if (e == -ESRCH)
				continue; /* the thread exited meanwhile */
			if (e == -EACCES || e == -EPERM) {
				rc = perm_error(err, -e, pid);
				break;
			}
			if (e) {
				rc = cp_error_errno(err, CP_E_FAIL, -e, "cannot sample thread %ld of %d",
						    tid, (int)pid);
				break;
			}
			added++;
		}
		closedir(d);
		if (rc || !added)
			break;
	}
	if (!rc && seen.n == 0)
		rc = cp_error_set(err, CP_E_NOENT, "process %d does not exist", (int)pid);
	cp_u64map_release(&seen);
	return rc;
}

int cp_perf_add(struct cp_perf *p, pid_t pid, struct cp_error *err)
{
	return add_process(p, pid, 0, err);
}

void cp_perf_close(struct cp_perf *p)
{
	if (!p)
		return;
	close_rings(p);
	free(p);
}

const char *cp_perf_event_name(const struct cp_perf *p)
{
	return p->event;
}

uint32_t cp_perf_stack_size(const struct cp_perf *p)
{
	return p->stack_size;
}

uint64_t cp_perf_period_ns(const struct cp_perf *p)
{
	return p->period_ns;
}

int cp_perf_pollfds(const struct cp_perf *p, struct pollfd *fds, int max)
{
	int n = 0;
	for (int i = 0; i < p->nrings && n < max; i++) {
		fds[n].fd = p->rings[i].fd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

int cp_perf_enable(struct cp_perf *p, bool on)
{
	unsigned long req = on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE;
	int rc = 0;
	for (int i = 0; i < p->nrings; i++)
		if (ioctl(p->rings[i].fd, req, 0) < 0)
			rc = -errno;
	/* an extra event whose thread has exited may refuse: not an error */
	for (size_t i = 0; i < p->extra.n; i++)
		ioctl(p->extra.v[i], req, 0);
	return rc;
}

/* Pointer to the record at r->pos (copied to scratch when it wraps). */
/* Pointer to the record at r->pos (copied to the ring's scratch when it
 * wraps), remembered until pos moves: the merge peeks every ring once per
 * delivered record, and a wrapped 64 KiB sample must not be copied again
 * each time another ring delivers. */
static const struct perf_event_header *peek(struct ring *r)
{
	if (r->cur && r->cur_pos == r->pos)
		return r->cur;
	r->cur = NULL;
	if (r->pos >= r->head)
		return NULL;
	uint64_t off = r->pos & (r->size - 1);
	struct perf_event_header h;
	if (off + sizeof(h) <= r->size) {
		memcpy(&h, r->data + off, sizeof(h));
	} else {
		size_t first = (size_t)(r->size - off);
		memcpy(&h, r->data + off, first);
		memcpy((uint8_t *)&h + first, r->data, sizeof(h) - first);
	}
	if (h.size < sizeof(h) || r->pos + h.size > r->head)
		return NULL;
	r->cur_pos = r->pos;
	if (off + h.size <= r->size)
		return r->cur = (const struct perf_event_header *)(r->data + off);
	if (r->scratch_cap < h.size) {
		r->scratch = cp_xrealloc(r->scratch, h.size);
		r->scratch_cap = h.size;
	}
	size_t first = (size_t)(r->size - off);
	memcpy(r->scratch, r->data + off, first);
	memcpy(r->scratch + first, r->data, h.size - first);
	return r->cur = (const struct perf_event_header *)r->scratch;
}

/* The timestamp of a record: samples carry it after ip and pid/tid; other
 * records in the sample_id trailer {pid,tid}{time}{cpu,res}. */
static uint64_t rec_time(const struct perf_event_header *h)
{
	const uint8_t *b = (const uint8_t *)h;
	uint64_t t;
	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size < 32)
			return 0;
		memcpy(&t, b + 24, 8);
	} else {
		if (h->size < sizeof(*h) + 24)
			return 0;
		memcpy(&t, b + h->size - 16, 8);
	}
	return t;
}

static void trailer(const struct perf_event_header *h, struct cp_perf_event *ev)
{
	const uint8_t *end = (const uint8_t *)h + h->size;
	uint32_t pt[2];
	memcpy(pt, end - 24, 8);
	memcpy(&ev->time, end - 16, 8);
	ev->pid = pt[0];
	ev->tid = pt[1];
}

static int decode_regs_stack(const struct cp_perf *p, struct cp_rd *r, struct cp_perf_sample *s);

/* A syscall tracepoint record: IDENTIFIER TID TIME [RAW] [REGS STACK]. */
static int decode_syscall(struct cp_perf *p, const struct perf_event_header *h,
			  struct cp_perf_sample *s)
{
	struct cp_rd r = { (const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false };
	const uint8_t *q;
	uint64_t id, v;
	uint32_t pt[2];
	if (cp_rd_bytes(&r, &q, 24))
		return -1;
	memcpy(&id, q, 8);
	memcpy(&v, q + 8, 8);
	memcpy(&s->time, q + 16, 8);
	memcpy(pt, &v, 8);
	s->pid = pt[0];
	s->tid = pt[1];
	s->ip = 0;
	s->kernel_ip = false;
	s->nr_kernel = s->nr_user = 0;
	s->kchain = s->uchain = NULL;
	s->regs_abi = 0;
	s->stack = NULL;
	s->stack_size = s->stack_dyn = 0;
	s->raw = NULL;
	s->raw_size = 0;
	s->sys_enter = !cp_u64map_find(&p->exit_ids, id);
	s->sys_id = -1;
	uint64_t type = s->sys_enter ? p->attr.sample_type : p->exit_attr.sample_type;
	if (type & PERF_SAMPLE_RAW) {
		uint32_t size;
		if (cp_rd_bytes(&r, &q, 4))
			return -1;
		memcpy(&size, q, 4);
		if (cp_rd_bytes(&r, &q, size))
			return -1;
		s->raw = q;
		s->raw_size = size;
		/* u16 type, u8 flags, u8 preempt, s32 pid, then long id and
		 * (enter) 6 arguments or (exit) the return value */
		if (size < 8 + 16 || (s->sys_enter && size < 8 + 8 + 48))
			return -1;
		memcpy(&s->sys_id, q + 8, 8);
		if (s->sys_enter)
			memcpy(s->sys_args, q + 16, 48);
		else
			memcpy(&s->sys_ret, q + 16, 8);
	}
	if (s->sys_enter && p->dwarf)
		return decode_regs_stack(p, &r, s);
	return 0;
}

static int decode_sample(struct cp_perf *p, const struct perf_event_header *h,
			 struct cp_perf_sample *s)
{
	struct cp_rd r = { (const uint8_t *)(h + 1), (const uint8_t *)h + h->size, false };
	const uint8_t *q;
	uint64_t v;
#define U64(dst)                                                                                   \
	do {                                                                                       \
		if (cp_rd_bytes(&r, &q, 8))                                                        \
			return -1;                                                                 \
		memcpy(&(dst), q, 8);                                                              \
	} while (0)
	uint32_t pt[2];
	U64(s->ip);
	U64(v);
	memcpy(pt, &v, 8);
	s->pid = pt[0];
	s->tid = pt[1];
	U64(s->time);
	U64(v);
	s->cpu = (uint32_t)v;
	U64(s->period);
	s->kernel_ip = (h->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
	uint64_t nr = 0;
	q = NULL;
	if (p->sample_type & PERF_SAMPLE_CALLCHAIN) {
		U64(nr);
		if (nr > 4096 || cp_rd_bytes(&r, &q, nr * 8))
			return -1;
	}
	const uint64_t *chain = (const uint64_t *)q;
	/* split at the context markers */
	s->nr_kernel = s->nr_user = 0;
	s->kchain = s->uchain = NULL;
	uint64_t ctx = 0;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t e = chain[i];
		if (e >= (uint64_t)PERF_CONTEXT_MAX) {
			ctx = e;
			if (e == (uint64_t)PERF_CONTEXT_KERNEL)
				s->kchain = chain + i + 1;
			else if (e == (uint64_t)PERF_CONTEXT_USER)
				s->uchain = chain + i + 1;
			continue;
		}
		if (ctx == (uint64_t)PERF_CONTEXT_KERNEL)
			s->nr_kernel++;
		else if (ctx == (uint64_t)PERF_CONTEXT_USER)
			s->nr_user++;
	}
	s->regs_abi = 0;
	s->stack = NULL;
	s->stack_size = s->stack_dyn = 0;
	if (p->dwarf)
		return decode_regs_stack(p, &r, s);
#undef U64
	return 0;
}

/* PERF_SAMPLE_REGS_USER and PERF_SAMPLE_STACK_USER, at the end of a sample. */
static int decode_regs_stack(const struct cp_perf *p, struct cp_rd *r, struct cp_perf_sample *s)
{
	(void)p;
	const uint8_t *q;
	if (cp_rd_bytes(r, &q, 8))
		return -1;
	memcpy(&s->regs_abi, q, 8);
	if (s->regs_abi) {
		for (int bit = 0; bit < 24; bit++)
			if (REGS_MASK & (1ULL << bit)) {
				if (cp_rd_bytes(r, &q, 8))
					return -1;
				memcpy(&s->regs[bit], q, 8);
			}
	}
	if (cp_rd_bytes(r, &q, 8))
		return -1;
	memcpy(&s->stack_size, q, 8);
	if (s->stack_size) {
		if (cp_rd_bytes(r, &q, s->stack_size))
			return -1;
		s->stack = q;
		if (cp_rd_bytes(r, &q, 8))
			return -1;
		memcpy(&s->stack_dyn, q, 8);
		if (s->stack_dyn > s->stack_size)
			s->stack_dyn = s->stack_size;
	}
	return 0;
}

/* A NUL-terminated name at `name` that must end before the record's
 * sample_id trailer (24 bytes); NULL when it does not. */
static const char *rec_name(const uint8_t *name, const uint8_t *end)
{
	if (end - 24 <= name)
		return NULL;
	size_t maxlen = (size_t)(end - 24 - name);
	return strnlen((const char *)name, maxlen) < maxlen ? (const char *)name : NULL;
}

static int deliver(struct cp_perf *p, const struct perf_event_header *h,
		   int (*cb)(const struct cp_perf_event *ev, void *arg), void *arg)
{
	struct cp_perf_event ev;
	memset(&ev, 0, sizeof(ev));
	const uint8_t *b = (const uint8_t *)(h + 1);
	const uint8_t *end = (const uint8_t *)h + h->size;
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		if (p->syscalls ? decode_syscall(p, h, &p->s) : decode_sample(p, h, &p->s))
			return 0; /* malformed: skip */
		ev.kind = CP_PERF_SAMPLE;
		ev.time = p->s.time;
		ev.pid = p->s.pid;
		ev.tid = p->s.tid;
		ev.sample = &p->s;
		return cb(&ev, arg);
	case PERF_RECORD_MMAP2: {
		/* pid tid addr len pgoff {maj min ino ino_gen | build id} prot flags name */
		if (end - b < 64 + 24)
			return 0;
		uint32_t pt[2];
		memcpy(pt, b, 8);
		memcpy(&ev.addr, b + 8, 8);
		memcpy(&ev.len, b + 16, 8);
		memcpy(&ev.pgoff, b + 24, 8);
		if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			uint8_t n = b[32];
			if (n > 20)
				n = 20;
			for (int i = 0; i < n; i++)
				snprintf(ev.build_id + 2 * i, 3, "%02x", b[36 + i]);
		}
		memcpy(&ev.prot, b + 56, 4);
		if (!(ev.filename = rec_name(b + 64, end)))
			return 0;
		ev.kind = CP_PERF_MMAP;
		trailer(h, &ev);
		ev.pid = pt[0];
		ev.tid = pt[1];
		return cb(&ev, arg);
	}
	case PERF_RECORD_COMM: {
		if (end - b < 8 + 24)
			return 0;
		uint32_t pt[2];
		memcpy(pt, b, 8);
		if (!(ev.comm = rec_name(b + 8, end)))
			return 0;
		ev.kind = CP_PERF_COMM;
		ev.comm_exec = (h->misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
		trailer(h, &ev);
		ev.pid = pt[0];
		ev.tid = pt[1];
		return cb(&ev, arg);
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		if (end - b < 24)
			return 0;
		uint32_t f[4];
		memcpy(f, b, 16);
		ev.kind = h->type == PERF_RECORD_FORK ? CP_PERF_FORK : CP_PERF_EXIT;
		ev.pid = f[0];
		ev.ppid = f[1];
		ev.tid = f[2];
		ev.ptid = f[3];
		memcpy(&ev.time, b + 16, 8);
		return cb(&ev, arg);
	}
	case PERF_RECORD_LOST: {
		if (end - b < 16)
			return 0;
		ev.kind = CP_PERF_LOST;
		memcpy(&ev.lost, b + 8, 8);
		ev.time = rec_time(h);
		return cb(&ev, arg);
	}
	case PERF_RECORD_LOST_SAMPLES: {
		if (end - b < 8)
			return 0;
		ev.kind = CP_PERF_LOST;
		memcpy(&ev.lost, b, 8);
		ev.time = rec_time(h);
		return cb(&ev, arg);
	}
	default:
		return 0;
	}
}

int cp_perf_read(struct cp_perf *p, int (*cb)(const struct cp_perf_event *ev, void *arg),
		 void *arg)
{
	for (int i = 0; i < p->nrings; i++) {
		struct ring *r = &p->rings[i];
		r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
		r->pos = r->meta->data_tail;
		r->cur = NULL;
	}
	int rc = 0;
	for (;;) {
		/* pick the ring whose next record is oldest */
		int best = -1;
		uint64_t bt = UINT64_MAX;
		const struct perf_event_header *bh = NULL;
		for (int i = 0; i < p->nrings; i++) {
			const struct perf_event_header *h = peek(&p->rings[i]);
			if (!h)
				continue;
			uint64_t t = rec_time(h);
			if (best < 0 || t < bt) {
				best = i;
				bt = t;
				bh = h;
			}
		}
		if (best < 0)
			break;
		rc = deliver(p, bh, cb, arg);
		struct ring *r = &p->rings[best];
		r->pos += bh->size;
		__atomic_store_n(&r->meta->data_tail, r->pos, __ATOMIC_RELEASE);
		if (rc)
			break;
	}
	return rc;
}
