/* ptrace.c - the ptrace sampler, for where perf_event is not allowed
 * (container seccomp profiles, perf_event_paranoid 3) and for wall-clock
 * profiles.
 *
 * Every thread of the target is seized (PTRACE_SEIZE: nothing stops, no
 * signal is sent); threads and, with inherit, child processes created later
 * are traced automatically (PTRACE_O_TRACECLONE/FORK/VFORK).  A timerfd in
 * cprof ticks at the sampling frequency.  On a tick the threads to sample
 * are chosen from /proc (on-CPU mode: those on a CPU, found cheaply, see
 * tick_oncpu; wall mode: every thread, blocked ones marked off-CPU with
 * their syscall from /proc/PID/task/TID/syscall), interrupted together
 * (PTRACE_INTERRUPT),
 * and each one, as its stop arrives, has its registers and the top of its
 * stack copied (PTRACE_GETREGS, process_vm_readv) and is let go at once.
 * Unwinding happens afterwards, in the recorder, from the copy: the target
 * is stopped only for the copy.
 *
 * Leaving the target unchanged: signal-delivery stops are continued with
 * their signal; group stops (SIGSTOP, SIGTSTP...) are kept with
 * PTRACE_LISTEN; blocking syscalls interrupted by our stop restart
 * transparently, except those the kernel ends with EINTR after any stop
 * (epoll_wait, semtimedop, sigtimedwait, io_getevents): a thread blocked in
 * one of those is never interrupted, its sample is built from
 * /proc/PID/task/TID/syscall's stack and instruction pointers instead (or
 * repeats its previous sample when it has not run since).  cp_ptrace_close
 * detaches every thread, except those blocked in such a call: they stay
 * traced, untouched, until cprof exits and the kernel detaches them (which
 * wakes nothing).  If cprof dies, the kernel detaches every thread and
 * they run on.
 *
 * Stops are collected with waitpid(-1, __WALL | WNOHANG) whenever SIGCHLD
 * arrives (a signalfd), never blocking: a thread that cannot stop now (a
 * vfork parent, uninterruptible sleep) is sampled when it does.
 */
#include "sample/sample.h"

#include <asm/perf_regs.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc/proc.h"

#define FP_MAX 512
#define WAIT_ROUND_NS 5000000ULL /* how long a tick waits for its stops */

enum thr_state {
	T_NEW,    /* seized or created, first stop not seen yet */
	T_RUN,    /* running (or blocked) under trace */
	T_LISTEN, /* in a group stop (SIGSTOP...), kept with PTRACE_LISTEN */
};

struct thr {
	pid_t tid, pid;
	enum thr_state st;
	bool exec_wait;   /* our spawned child before its exec: not sampled */
	uint64_t want_since; /* when the interrupt we wait for was sent */
	bool want;        /* interrupted for a sample, stop not seen yet */
	bool detaching;   /* close: interrupted to detach */
	bool offcpu;      /* state read at the tick */
	int32_t syscall;
	int32_t restart_of; /* the syscall our last stop interrupted (restart_syscall) */
	uint32_t cpu;
	char comm[16];      /* thread name as last reported */
	char name[16];      /* thread name read at the tick */
	/* on-CPU mode: CPU time used since the last sample is its weight */
	bool have_runtime;
	uint64_t runtime, weight; /* run time at the last sample; the sample's weight */
	uint64_t seen;            /* run time at the last look */
	bool hot;                 /* on a CPU at the last look: looked at every tick */
	int statfd, sysfd, schedfd;
	/* read at the tick: where a blocked thread is */
	uint64_t tick_sp, tick_pc, tick_pcount;
	/* the last sample, repeated while the thread stays blocked where it was */
	bool have_last;
	int32_t last_sys;
	uint64_t last_sp, last_pc, last_pcount;
	uint64_t last_regs[PERF_REG_X86_64_MAX];
	uint8_t *last_stack;
	uint64_t last_len;
};

/* one record to deliver, with the data it points to */
struct qrec {
	struct cp_perf_event ev;
	struct cp_perf_sample s;
	uint8_t *buf; /* stack copy, opts.stack_size bytes, reused */
	uint64_t chain[FP_MAX];
	char comm[32];
};

struct cp_ptrace {
	struct cp_ptrace_opts o;
	int timerfd, sigfd;
	unsigned long options;
	CP_VEC(struct thr *) thrs;
	struct cp_u64map index; /* tid -> position in thrs */
	CP_VEC(struct qrec *) q;
	size_t nq;
	struct cp_u64map reaped; /* pid -> wait status (our own children) */
	uint64_t period_ns;
	uint64_t round_ns; /* time the current round's samples stand for */
	size_t rr;         /* on-CPU: where the next tick's look at idle threads starts */
};

static long pt(int req, pid_t tid, unsigned long addr, unsigned long data)
{
	return ptrace((enum __ptrace_request)req, tid, (void *)addr, (void *)data);
}

/* ---- threads ------------------------------------------------------------ */

static struct thr *find(struct cp_ptrace *t, pid_t tid)
{
	uint64_t *v = cp_u64map_find(&t->index, (uint64_t)tid);
	return v ? t->thrs.v[*v] : NULL;
}

static int open_task_file(pid_t pid, pid_t tid, const char *name)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void close_files(struct thr *th)
{
	if (th->statfd >= 0)
		close(th->statfd);
	if (th->sysfd >= 0)
		close(th->sysfd);
	if (th->schedfd >= 0)
		close(th->schedfd);
	th->statfd = th->sysfd = th->schedfd = -1;
}

static struct thr *add_thr(struct cp_ptrace *t, pid_t tid, pid_t pid)
{
	struct thr *th = cp_xcalloc(1, sizeof(*th));
	th->tid = tid;
	th->pid = pid;
	th->st = T_NEW;
	th->statfd = th->sysfd = th->schedfd = -1;
	th->restart_of = -1;
	cp_u64map_put(&t->index, (uint64_t)tid, t->thrs.n);
	CP_VEC_PUSH(t->thrs, th);
	return th;
}

static void drop_thr(struct cp_ptrace *t, pid_t tid)
{
	uint64_t *v = cp_u64map_find(&t->index, (uint64_t)tid);
	if (!v)
		return;
	size_t i = *v;
	struct thr *th = t->thrs.v[i];
	cp_u64map_del(&t->index, (uint64_t)tid);
	size_t last = t->thrs.n - 1;
	if (i != last) {
		t->thrs.v[i] = t->thrs.v[last];
		cp_u64map_put(&t->index, (uint64_t)t->thrs.v[i]->tid, i);
	}
	t->thrs.n--;
	close_files(th);
	free(th->last_stack);
	free(th);
}

/* The process (thread group) a task belongs to. */
static pid_t tgid_of(pid_t tid)
{
	long v;
	return cp_proc_status_field(tid, "Tgid", false, &v) ? (pid_t)v : tid;
}

/* ---- the record queue ---------------------------------------------------- */

static struct qrec *qpush(struct cp_ptrace *t, enum cp_perf_rec kind, pid_t pid, pid_t tid)
{
	if (t->nq == t->q.n) {
		struct qrec *r = cp_xcalloc(1, sizeof(*r));
		CP_VEC_PUSH(t->q, r);
	}
	struct qrec *r = t->q.v[t->nq++];
	memset(&r->ev, 0, sizeof(r->ev));
	memset(&r->s, 0, sizeof(r->s));
	r->ev.kind = kind;
	r->ev.pid = (uint32_t)pid;
	r->ev.tid = (uint32_t)tid;
	r->ev.time = cp_now_ns();
	return r;
}

/* ---- /proc reads at a tick ------------------------------------------------ */

static ssize_t pread_file(int *fd, pid_t pid, pid_t tid, const char *name, char *buf, size_t size)
{
	if (*fd < 0 && (*fd = open_task_file(pid, tid, name)) < 0)
		return -1;
	ssize_t n = pread(*fd, buf, size - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* State letter and last CPU from /proc/PID/task/TID/stat; 0 when gone. */
static char read_state(struct thr *th)
{
	char buf[1024];
	if (pread_file(&th->statfd, th->pid, th->tid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	const char *p = strrchr(buf, ')');
	const char *o = strchr(buf, '(');
	if (!p || !o || o > p || !p[1] || !p[2])
		return 0;
	size_t len = (size_t)(p - o - 1);
	if (len >= sizeof(th->name))
		len = sizeof(th->name) - 1;
	memcpy(th->name, o + 1, len);
	th->name[len] = 0;
	char st = p[2];
	/* field 39 (processor); fields after comm start at 3 */
	int field = 3;
	for (const char *q = p + 2; *q; q++) {
		if (*q == ' ' && ++field == 39) {
			th->cpu = (uint32_t)strtoul(q + 1, NULL, 10);
			break;
		}
	}
	return st;
}

/* The syscall a blocked thread is in, with its user sp and pc. */
static int32_t read_syscall(struct thr *th, uint64_t *sp, uint64_t *pc)
{
	char buf[256];
	*sp = *pc = 0;
	if (pread_file(&th->sysfd, th->pid, th->tid, "syscall", buf, sizeof(buf)) <= 0)
		return -1;
	if (!strncmp(buf, "running", 7))
		return -1;
	char *e;
	long nr = strtol(buf, &e, 10);
	unsigned long long v[8];
	int n = 0;
	for (const char *q = e; n < 8;) {
		while (*q == ' ')
			q++;
		if (!*q || *q == '\n')
			break;
		v[n++] = strtoull(q, &e, 0);
		if (e == q)
			break;
		q = e;
	}
	if (n == 8) {
		*sp = v[6];
		*pc = v[7];
	}
	return (int32_t)nr;
}

/* CPU time in ns and the times the thread has been put on a CPU
 * (/proc/.../schedstat: run time, wait time, count). */
static bool read_sched(struct thr *th, uint64_t *runtime, uint64_t *pcount)
{
	char buf[128];
	if (pread_file(&th->schedfd, th->pid, th->tid, "schedstat", buf, sizeof(buf)) <= 0)
		return false;
	char *e;
	*runtime = strtoull(buf, &e, 10);
	strtoull(e, &e, 10);
	*pcount = strtoull(e, NULL, 10);
	return true;
}

/* ---- taking a sample ----------------------------------------------------- */

static void regs_to_perf(const struct user_regs_struct *u, uint64_t *r)
{
	memset(r, 0, PERF_REG_X86_64_MAX * sizeof(*r));
	r[PERF_REG_X86_AX] = u->rax;
	r[PERF_REG_X86_BX] = u->rbx;
	r[PERF_REG_X86_CX] = u->rcx;
	r[PERF_REG_X86_DX] = u->rdx;
	r[PERF_REG_X86_SI] = u->rsi;
	r[PERF_REG_X86_DI] = u->rdi;
	r[PERF_REG_X86_BP] = u->rbp;
	r[PERF_REG_X86_SP] = u->rsp;
	r[PERF_REG_X86_IP] = u->rip;
	r[PERF_REG_X86_FLAGS] = u->eflags;
	r[PERF_REG_X86_CS] = u->cs;
	r[PERF_REG_X86_SS] = u->ss;
	r[PERF_REG_X86_R8] = u->r8;
	r[PERF_REG_X86_R9] = u->r9;
	r[PERF_REG_X86_R10] = u->r10;
	r[PERF_REG_X86_R11] = u->r11;
	r[PERF_REG_X86_R12] = u->r12;
	r[PERF_REG_X86_R13] = u->r13;
	r[PERF_REG_X86_R14] = u->r14;
	r[PERF_REG_X86_R15] = u->r15;
}

/* Copy [sp, sp+len) of pid's memory into buf, page by page so the copy
 * ends at the first unmapped page (the top of the stack) instead of
 * failing; returns the bytes copied. */
static uint64_t copy_stack(pid_t pid, uint64_t sp, uint8_t *buf, uint64_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote[32];
	int n = 0;
	uint64_t a = sp, end = sp + len;
	while (a < end && n < 32) {
		uint64_t next = (a & ~4095ULL) + 4096;
		if (next > end || n == 31)
			next = end;
		remote[n].iov_base = (void *)(uintptr_t)a;
		remote[n].iov_len = next - a;
		n++;
		a = next;
	}
	ssize_t got = process_vm_readv(pid, &local, 1, remote, (unsigned long)n, 0);
	return got > 0 ? (uint64_t)got : 0;
}

/* Frame-pointer chain from the stack copy: ip, then return addresses. */
static uint64_t fp_walk(const uint64_t *regs, const uint8_t *stack, uint64_t len, uint64_t *out)
{
	uint64_t n = 0, sp = regs[PERF_REG_X86_SP], fp = regs[PERF_REG_X86_BP];
	out[n++] = regs[PERF_REG_X86_IP];
	while (n < FP_MAX && fp >= sp && fp + 16 <= sp + len && (fp & 7) == 0) {
		uint64_t next, ret;
		memcpy(&next, stack + (fp - sp), 8);
		memcpy(&ret, stack + (fp - sp) + 8, 8);
		if (!ret)
			break;
		out[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

static void fill_sample(struct cp_ptrace *t, struct thr *th, struct qrec *r, uint64_t stack_len)
{
	struct cp_perf_sample *s = &r->s;
	s->ip = s->regs[PERF_REG_X86_IP];
	s->pid = (uint32_t)th->pid;
	s->tid = (uint32_t)th->tid;
	s->cpu = th->cpu;
	s->time = r->ev.time;
	/* wall: the time the round stands for; on-CPU: the CPU time the
	 * thread used since its last sample */
	s->period = t->o.wall ? (t->round_ns ? t->round_ns : t->period_ns) : th->weight;
	s->regs_abi = 2; /* PERF_SAMPLE_REGS_ABI_64 */
	s->stack = r->buf;
	s->stack_size = t->o.stack_size;
	s->stack_dyn = stack_len;
	s->offcpu = th->offcpu;
	s->syscall = th->syscall;
	if (t->o.callgraph == CP_CG_FP) {
		s->nr_user = fp_walk(s->regs, r->buf, stack_len, r->chain);
		s->uchain = r->chain;
	}
	r->ev.sample = s;
}

static void remember(struct cp_ptrace *t, struct thr *th, const struct qrec *r)
{
	if (!t->o.wall)
		return;
	if (!th->last_stack)
		th->last_stack = cp_xmalloc(t->o.stack_size ? t->o.stack_size : 1);
	memcpy(th->last_regs, r->s.regs, sizeof(th->last_regs));
	th->last_sys = th->offcpu ? th->syscall : -2;
	th->last_sp = th->tick_sp;
	th->last_pc = th->tick_pc;
	th->last_pcount = th->tick_pcount;
	memcpy(th->last_stack, r->buf, r->s.stack_dyn);
	th->last_len = r->s.stack_dyn;
	th->have_last = true;
}

static struct qrec *sample_rec(struct cp_ptrace *t, struct thr *th)
{
	struct qrec *r = qpush(t, CP_PERF_SAMPLE, th->pid, th->tid);
	if (!r->buf)
		r->buf = cp_xmalloc(t->o.stack_size ? t->o.stack_size : 1);
	return r;
}

/* Syscalls that end with EINTR after any stop of the thread, even with no
 * signal handler (signal(7)): interrupting them would change the program. */
static bool eintr_after_stop(int32_t nr)
{
	switch (nr) {
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
	case 65:  /* semop */
	case 220: /* semtimedop */
	case 128: /* rt_sigtimedwait */
	case 208: /* io_getevents */
	case 333: /* io_pgetevents */
		return true;
	}
	return false;
}

/* The thread is in an interrupt stop: copy what unwinding needs. */
static void take_sample(struct cp_ptrace *t, struct thr *th)
{
	struct user_regs_struct u;
	if (pt(PTRACE_GETREGS, th->tid, 0, (unsigned long)&u) < 0)
		return;
	/* A thread that entered epoll_wait & co. between our look at /proc
	 * and the interrupt had that call ended with EINTR by our stop: put
	 * it back before the syscall instruction with its number, as the
	 * kernel does for calls it restarts itself, so it waits again */
	if ((long long)u.rax == -EINTR && eintr_after_stop((int32_t)u.orig_rax)) {
		u.rax = u.orig_rax;
		u.rip -= 2; /* the syscall instruction */
		pt(PTRACE_SETREGS, th->tid, 0, (unsigned long)&u);
	}
	if (!t->o.wall) {
		/* on-CPU: the sample weighs the CPU time since the thread's
		 * last stop.  Read now, while it is stopped: the scheduler
		 * brings a running thread's total up to date only when it
		 * leaves the CPU.  No CPU time (it waited for a CPU): no sample */
		uint64_t rt, pc;
		if (!read_sched(th, &rt, &pc))
			return;
		th->weight = th->have_runtime && rt > th->runtime ? rt - th->runtime : 0;
		th->runtime = rt;
		th->have_runtime = true;
		if (!th->weight)
			return;
	}
	struct qrec *r = sample_rec(t, th);
	regs_to_perf(&u, r->s.regs);
	if (th->offcpu && th->syscall < 0 && (long long)u.orig_rax >= 0)
		th->syscall = (int32_t)u.orig_rax;
	uint64_t len = copy_stack(th->pid, u.rsp, r->buf, t->o.stack_size);
	fill_sample(t, th, r, len);
	remember(t, th, r);
}

/* A blocked thread we do not stop: repeat its last sample when it is
 * still blocked where it was, else what /proc shows (the syscall's sp and
 * pc; no other registers, so the unwinding may stop early). */
static void sample_blocked(struct cp_ptrace *t, struct thr *th, bool same)
{
	struct qrec *r = sample_rec(t, th);
	uint64_t sp = th->tick_sp, pc = th->tick_pc;
	if (same) {
		memcpy(r->s.regs, th->last_regs, sizeof(th->last_regs));
		memcpy(r->buf, th->last_stack, th->last_len);
		fill_sample(t, th, r, th->last_len);
		return;
	}
	memset(r->s.regs, 0, sizeof(r->s.regs));
	r->s.regs[PERF_REG_X86_SP] = sp;
	r->s.regs[PERF_REG_X86_IP] = pc;
	uint64_t len = sp ? copy_stack(th->pid, sp, r->buf, t->o.stack_size) : 0;
	fill_sample(t, th, r, len);
	remember(t, th, r);
}

/* ---- stops ----------------------------------------------------------------- */

static void cont(pid_t tid, int sig)
{
	pt(PTRACE_CONT, tid, 0, (unsigned long)sig);
}

static void finish_detach(struct cp_ptrace *t, struct thr *th, int sig)
{
	pt(PTRACE_DETACH, th->tid, 0, (unsigned long)sig);
	drop_thr(t, th->tid);
}

static void on_exec(struct cp_ptrace *t, struct thr *th)
{
	unsigned long old = 0;
	pt(PTRACE_GETEVENTMSG, th->tid, 0, (unsigned long)&old);
	/* every other thread of the process is gone; the exec'ing one now
	 * has the process's id */
	for (size_t i = t->thrs.n; i-- > 0;) {
		struct thr *o = t->thrs.v[i];
		if (o != th && o->pid == th->pid)
			drop_thr(t, o->tid);
	}
	close_files(th);
	th->have_last = false;
	if (th->exec_wait) {
		th->exec_wait = false;
		pt(PTRACE_SETOPTIONS, th->tid, 0, t->options);
	}
	struct qrec *r = qpush(t, CP_PERF_COMM, th->pid, th->tid);
	cp_proc_comm(th->pid, th->tid, r->comm, sizeof(r->comm));
	r->ev.comm = r->comm;
	memcpy(th->comm, r->comm, sizeof(th->comm));
	th->comm[sizeof(th->comm) - 1] = 0;
	r->ev.comm_exec = true;
}

static void on_new_task(struct cp_ptrace *t, struct thr *th, int event)
{
	unsigned long msg = 0;
	if (pt(PTRACE_GETEVENTMSG, th->tid, 0, (unsigned long)&msg) < 0 || !msg)
		return;
	pid_t ntid = (pid_t)msg;
	pid_t npid = event == PTRACE_EVENT_CLONE ? tgid_of(ntid) : ntid;
	struct thr *n = find(t, ntid);
	if (!n)
		n = add_thr(t, ntid, npid);
	n->pid = npid;
	struct qrec *r = qpush(t, CP_PERF_FORK, npid, ntid);
	r->ev.ppid = (uint32_t)th->pid;
	r->ev.ptid = (uint32_t)th->tid;
}

static void on_status(struct cp_ptrace *t, pid_t tid, int status)
{
	struct thr *th = find(t, tid);
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (th) {
			qpush(t, CP_PERF_EXIT, th->pid, tid);
			drop_thr(t, tid);
		}
		/* when it is our own child, the caller wants the status */
		cp_u64map_put(&t->reaped, (uint64_t)tid, (uint64_t)(unsigned)status);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	if (!th) /* auto-attached before its creator's event arrived */
		th = add_thr(t, tid, tgid_of(tid));
	int sig = WSTOPSIG(status), event = (status >> 16) & 0xff;
	/* an interrupt sent while an event stop (clone, fork, exec) was
	 * pending is not reported after it: stop waiting for it */
	if (event && event != PTRACE_EVENT_STOP)
		th->want = false;
	switch (event) {
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			/* group stop: stay stopped as without us */
			th->want = false;
			if (th->detaching) {
				finish_detach(t, th, 0);
				return;
			}
			th->st = T_LISTEN;
			pt(PTRACE_LISTEN, tid, 0, 0);
			return;
		}
		if (th->detaching) {
			finish_detach(t, th, 0);
			return;
		}
		if (th->want && !th->exec_wait)
			take_sample(t, th);
		th->want = false;
		th->st = T_RUN;
		cont(tid, 0);
		return;
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		on_new_task(t, th, event);
		break;
	case PTRACE_EVENT_EXEC:
		on_exec(t, th);
		break;
	case 0:
		/* signal-delivery stop: deliver the signal unchanged */
		th->st = T_RUN;
		if (th->detaching) {
			finish_detach(t, th, sig);
			return;
		}
		cont(tid, sig);
		return;
	default:
		break;
	}
	if (th->detaching) {
		finish_detach(t, th, 0);
		return;
	}
	th->st = th->st == T_NEW ? T_RUN : th->st;
	cont(tid, 0);
}

static int drain(struct cp_ptrace *t)
{
	int n = 0;
	for (;;) {
		int status;
		pid_t r = waitpid(-1, &status, __WALL | WNOHANG);
		if (r <= 0)
			break;
		on_status(t, r, status);
		n++;
	}
	return n;
}

static void drain_sigfd(struct cp_ptrace *t)
{
	struct signalfd_siginfo si;
	while (read(t->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
}

/* Wait (bounded) until no thread has a pending wanted stop. */
static void wait_wanted(struct cp_ptrace *t, uint64_t budget_ns, bool detach)
{
	uint64_t end = cp_now_ns() + budget_ns;
	for (;;) {
		drain(t);
		bool pending = false;
		for (size_t i = 0; i < t->thrs.n && !pending; i++) {
			struct thr *th = t->thrs.v[i];
			pending = detach || th->want;
		}
		uint64_t now = cp_now_ns();
		if (!pending || now >= end)
			return;
		struct pollfd p = { .fd = t->sigfd, .events = POLLIN };
		int ms = (int)((end - now + 999999) / 1000000);
		poll(&p, 1, ms > 0 ? ms : 1);
		drain_sigfd(t);
	}
}

/* ---- a tick --------------------------------------------------------------- */

/* Report a new thread name (pthread_setname_np, prctl) read from stat. */
static void note_name(struct cp_ptrace *t, struct thr *th)
{
	if (!strcmp(th->name, th->comm))
		return;
	memcpy(th->comm, th->name, sizeof(th->comm));
	struct qrec *c = qpush(t, CP_PERF_COMM, th->pid, th->tid);
	memcpy(c->comm, th->name, sizeof(th->name));
	c->ev.comm = c->comm;
}

static bool interrupt(struct cp_ptrace *t, struct thr *th, uint64_t tnow, size_t *i)
{
	if (pt(PTRACE_INTERRUPT, th->tid, 0, 0) == 0) {
		th->want = true;
		th->want_since = tnow;
		th->restart_of = th->offcpu ? th->syscall : -1;
		return true;
	}
	if (errno == ESRCH) {
		drop_thr(t, th->tid); /* gone, reaped elsewhere */
		(*i)--;
	}
	return false;
}

/* On-CPU mode.  Looking at every thread's stat on every tick cost ~2.5 us
 * a thread, which with a pool of 150 threads at 999 Hz took a core and
 * held the sampled thread stopped while cprof read.  Instead: threads seen
 * on a CPU at the last look are looked at every tick, the others in turns,
 * an eighth of them a tick, through schedstat (~0.7 us, their CPU time)
 * and, only when that grew, their syscall file: "running" means on a CPU
 * (or waiting for one) and is interrupted and sampled; a thread blocked in
 * a syscall is not stopped: once it has used a sampling period of CPU time
 * since its last sample, one sample from where it is blocked carries all
 * that time.  Samples weigh the CPU time since the thread's previous one,
 * so threads looked at less often count in full. */
static void tick_oncpu(struct cp_ptrace *t)
{
	int interrupted = 0;
	uint64_t tnow = cp_now_ns();
	size_t n = t->thrs.n, turn = CP_MAX((size_t)8, n / 8);
	size_t start = n ? t->rr % n : 0, cold = 0;
	for (size_t k = 0; k < n && k < t->thrs.n; k++) {
		size_t i = (start + k) % t->thrs.n;
		struct thr *th = t->thrs.v[i];
		if (th->want && tnow - th->want_since > 50000000ULL)
			th->want = false; /* an interrupt whose stop never came */
		if (th->st != T_RUN || th->exec_wait || th->want)
			continue;
		if (!th->hot) {
			if (cold >= turn)
				continue;
			cold++;
			t->rr = start + k + 1;
		}
		uint64_t rt, pc;
		if (!read_sched(th, &rt, &pc))
			continue;
		if (!th->have_runtime) {
			th->runtime = th->seen = rt;
			th->have_runtime = true;
		}
		bool grew = rt != th->seen;
		th->seen = rt;
		if (!grew && !th->hot)
			continue; /* it has not run since the last look */
		th->syscall = read_syscall(th, &th->tick_sp, &th->tick_pc);
		if (th->syscall < 0) {
			/* on a CPU, or waiting for one */
			th->hot = true;
			th->offcpu = false;
			if (!read_state(th))
				continue;
			note_name(t, th);
			size_t before = i;
			if (interrupt(t, th, tnow, &i))
				interrupted++;
			else if (i != before)
				n = t->thrs.n; /* dropped */
			continue;
		}
		th->hot = false;
		if (rt - th->runtime < t->period_ns)
			continue; /* not yet a period's worth: it waits for the next */
		/* blocked: a sample from where it is, without a stop */
		if (read_state(th))
			note_name(t, th);
		th->weight = rt - th->runtime;
		th->runtime = rt;
		th->offcpu = false;
		int32_t nr = th->syscall;
		th->syscall = -1; /* an on-CPU sample: no syscall is shown */
		sample_blocked(t, th, false);
		th->syscall = nr;
	}
	if (interrupted)
		wait_wanted(t, WAIT_ROUND_NS, false);
}

static void tick(struct cp_ptrace *t)
{
	if (!t->o.wall) {
		tick_oncpu(t);
		return;
	}
	int interrupted = 0;
	uint64_t tnow = cp_now_ns();
	for (size_t i = 0; i < t->thrs.n; i++) {
		struct thr *th = t->thrs.v[i];
		/* an interrupt whose stop never came (lost to an event stop
		 * that was already pending) must not keep the thread from
		 * being sampled again */
		if (th->want && tnow - th->want_since > 50000000ULL)
			th->want = false;
		if (th->st != T_RUN || th->exec_wait || th->want)
			continue;
		char st = read_state(th);
		if (!st)
			continue;
		if (strcmp(th->name, th->comm)) {
			/* a thread (re)named itself: pthread_setname_np, prctl */
			memcpy(th->comm, th->name, sizeof(th->comm));
			struct qrec *c = qpush(t, CP_PERF_COMM, th->pid, th->tid);
			memcpy(c->comm, th->name, sizeof(th->name));
			c->ev.comm = c->comm;
		}
		bool running = st == 'R';
		if (!t->o.wall) {
			/* sample a thread that is on a CPU now and has used CPU
			 * time since its last sample; that time is its weight,
			 * so threads waiting for a CPU count what they got */
			if (!running)
				continue;
			uint64_t rt, pc;
			if (!th->have_runtime && read_sched(th, &rt, &pc)) {
				th->runtime = rt;
				th->have_runtime = true;
			}
		}
		th->offcpu = !running;
		th->syscall = -1;
		th->tick_sp = th->tick_pc = th->tick_pcount = 0;
		if (th->offcpu) {
			th->syscall = read_syscall(th, &th->tick_sp, &th->tick_pc);
			/* a sleep our last stop interrupted goes on as
			 * restart_syscall: name the syscall the program made */
			if (th->syscall == SYS_restart_syscall && th->restart_of >= 0)
				th->syscall = th->restart_of;
			uint64_t rt;
			bool known = read_sched(th, &rt, &th->tick_pcount);
			/* blocked at the same place as at its last sample, and
			 * scheduled at most the few times our own stop and the
			 * syscall's restart take: the stack has not changed */
			bool same = th->have_last && known && th->syscall == th->last_sys &&
				    th->tick_sp == th->last_sp && th->tick_pc == th->last_pc &&
				    th->tick_pcount <= th->last_pcount + 3;
			if (same || eintr_after_stop(th->syscall)) {
				sample_blocked(t, th, same);
				continue;
			}
		}
		if (pt(PTRACE_INTERRUPT, th->tid, 0, 0) == 0) {
			th->want = true;
			th->want_since = tnow;
			th->restart_of = th->offcpu ? th->syscall : -1;
			interrupted++;
		} else if (errno == ESRCH) {
			drop_thr(t, th->tid); /* gone, reaped elsewhere */
			i--;
		}
	}
	if (interrupted)
		wait_wanted(t, WAIT_ROUND_NS, false);
}

/* ---- API ------------------------------------------------------------------ */

int cp_ptrace_open(const struct cp_ptrace_opts *o, struct cp_ptrace **out, struct cp_error *err)
{
	*out = NULL;
	struct cp_ptrace *t = cp_xcalloc(1, sizeof(*t));
	t->o = *o;
	if (t->o.freq <= 0)
		t->o.freq = 99;
	if (!t->o.stack_size)
		t->o.stack_size = 8192;
	t->period_ns = 1000000000ULL / (uint64_t)t->o.freq;
	t->options = PTRACE_O_TRACEEXEC;
	if (!o->only_tid)
		t->options |= PTRACE_O_TRACECLONE;
	if (o->inherit)
		t->options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	cp_u64map_init(&t->index);
	cp_u64map_init(&t->reaped);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	t->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->sigfd < 0 || t->timerfd < 0) {
		int e = errno;
		cp_ptrace_close(t);
		return cp_error_errno(err, CP_E_IO, e, "cannot set up the ptrace sampler");
	}
	struct itimerspec its = { { 0, (long)t->period_ns }, { 0, (long)t->period_ns } };
	if (t->period_ns >= 1000000000ULL)
		its.it_interval = its.it_value = (struct timespec){ 1, 0 };
	timerfd_settime(t->timerfd, 0, &its, NULL);
	*out = t;
	return 0;
}

/* Why PTRACE_SEIZE of pid failed, as one actionable line (sample.h). */
int cp_ptrace_seize_error(pid_t pid, int e, struct cp_error *err)
{
	if (e == ESRCH)
		return cp_error_set(err, CP_E_NOENT, "process %d does not exist", (int)pid);
	long tracer = 0;
	if (cp_proc_status_field(pid, "TracerPid", false, &tracer) && tracer > 0) {
		char comm[64];
		cp_proc_comm((pid_t)tracer, (pid_t)tracer, comm, sizeof(comm));
		return cp_error_set(err, CP_E_PERM,
				    "process %d is already traced by process %ld (%s): only one "
				    "tracer at a time; stop it, or use the perf_event sampler",
				    (int)pid, tracer, *comm ? comm : "?");
	}
	if (cp_proc_check_owner(pid, err))
		return CP_E_PERM;
	long sc = cp_read_long_file("/proc/sys/kernel/yama/ptrace_scope", 0);
	if (sc == 1 && geteuid() != 0)
		return cp_error_set(err, CP_E_PERM,
				    "cannot trace process %d: kernel.yama.ptrace_scope is 1 (only "
				    "descendants); use 'cprof record', run as root, or set "
				    "kernel.yama.ptrace_scope=0",
				    (int)pid);
	if (sc == 2)
		return cp_error_set(err, CP_E_PERM,
				    "cannot trace process %d: kernel.yama.ptrace_scope is 2 (only "
				    "with CAP_SYS_PTRACE); run as root",
				    (int)pid);
	if (sc == 3)
		return cp_error_set(err, CP_E_PERM,
				    "cannot trace process %d: kernel.yama.ptrace_scope is 3 (ptrace "
				    "disabled until reboot)",
				    (int)pid);
	return cp_error_errno(err, CP_E_PERM, e,
			      "cannot trace process %d (ptrace refused: a seccomp profile or a "
			      "missing CAP_SYS_PTRACE)",
			      (int)pid);
}

static int seize_one(struct cp_ptrace *t, pid_t pid, pid_t tid, unsigned long opts)
{
	if (find(t, tid))
		return 0;
	if (pt(PTRACE_SEIZE, tid, 0, opts) < 0)
		return -errno;
	struct thr *th = add_thr(t, tid, pid);
	th->st = T_RUN;
	return 0;
}

int cp_ptrace_add(struct cp_ptrace *t, pid_t pid, bool spawned, struct cp_error *err)
{
	if (spawned) {
		/* only exec is traced until the command runs: an exec failure
		 * then ends the child as if untraced */
		int rc = seize_one(t, pid, pid, PTRACE_O_TRACEEXEC);
		if (rc)
			return cp_ptrace_seize_error(pid, -rc, err);
		find(t, pid)->exec_wait = true;
		return 0;
	}
	if (t->o.only_tid) {
		if (tgid_of(t->o.only_tid) != pid || !cp_proc_exists(t->o.only_tid))
			return cp_error_set(err, CP_E_NOENT, "thread %d is not a thread of process %d",
					    (int)t->o.only_tid, (int)pid);
		int rc = seize_one(t, pid, t->o.only_tid, t->options);
		return rc ? cp_ptrace_seize_error(pid, -rc, err) : 0;
	}
	/* seize the threads until a pass finds no new one: threads started
	 * by an already seized thread are traced by the kernel */
	for (int pass = 0; pass < 100; pass++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		DIR *d = opendir(path);
		if (!d) {
			if (pass == 0)
				return cp_error_set(err, CP_E_NOENT, "process %d does not exist",
						    (int)pid);
			return find(t, pid) ? 0
					    : cp_error_set(err, CP_E_NOENT,
							   "process %d exited while attaching",
							   (int)pid);
		}
		int added = 0, rc = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			long tid = strtol(de->d_name, NULL, 10);
			if (tid <= 0 || find(t, (pid_t)tid))
				continue;
			rc = seize_one(t, pid, (pid_t)tid, t->options);
			if (rc == -ESRCH) /* a thread that just exited */
				continue;
			if (rc)
				break;
			added++;
		}
		closedir(d);
		if (rc)
			return cp_ptrace_seize_error(pid, -rc, err);
		if (!added)
			break;
	}
	if (!find(t, pid) && !cp_proc_exists(pid))
		return cp_error_set(err, CP_E_NOENT, "process %d exited while attaching", (int)pid);
	return 0;
}

int cp_ptrace_pollfds(const struct cp_ptrace *t, struct pollfd *fds, int max)
{
	int n = 0;
	if (n < max) {
		fds[n].fd = t->timerfd;
		fds[n++].events = POLLIN;
	}
	if (n < max) {
		fds[n].fd = t->sigfd;
		fds[n++].events = POLLIN;
	}
	return n;
}

static int deliver(struct cp_ptrace *t, int (*cb)(const struct cp_perf_event *ev, void *arg),
		   void *arg)
{
	int rc = 0;
	for (size_t i = 0; i < t->nq && !rc; i++)
		rc = cb(&t->q.v[i]->ev, arg);
	t->nq = 0;
	return rc;
}

int cp_ptrace_read(struct cp_ptrace *t, int (*cb)(const struct cp_perf_event *ev, void *arg),
		   void *arg)
{
	drain_sigfd(t);
	drain(t);
	uint64_t ticks = 0;
	if (read(t->timerfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) && ticks) {
		/* expirations we were too busy to see are time too: the
		 * round's samples stand for all of it */
		t->round_ns = (ticks < 100 ? ticks : 100) * t->period_ns;
		tick(t);
	}
	return deliver(t, cb, arg);
}

bool cp_ptrace_reaped(const struct cp_ptrace *t, pid_t pid, int *status)
{
	const uint64_t *v = cp_u64map_find((struct cp_u64map *)&t->reaped, (uint64_t)pid);
	if (!v)
		return false;
	*status = (int)*v;
	return true;
}

void cp_ptrace_close(struct cp_ptrace *t)
{
	if (!t)
		return;
	/* stop every thread and detach it in its stop; a thread that cannot
	 * stop within the budget is detached by the kernel when we exit */
	for (size_t i = t->thrs.n; i-- > 0;) {
		struct thr *th = t->thrs.v[i];
		th->detaching = true;
		if (th->st == T_LISTEN) {
			finish_detach(t, th, 0);
			continue;
		}
		if (th->want || th->st != T_RUN)
			continue;
		/* stopping a thread blocked in epoll_wait & co would end the
		 * call with EINTR: leave it traced; the kernel detaches it,
		 * untouched, when cprof exits */
		uint64_t sp, pc;
		if (eintr_after_stop(read_syscall(th, &sp, &pc))) {
			drop_thr(t, th->tid);
			continue;
		}
		if (pt(PTRACE_INTERRUPT, th->tid, 0, 0) < 0 && errno == ESRCH)
			drop_thr(t, th->tid);
	}
	if (t->sigfd >= 0) {
		uint64_t end = cp_now_ns() + 2000000000ULL;
		while (t->thrs.n && cp_now_ns() < end) {
			/* threads created meanwhile get detached in their first stop */
			for (size_t i = 0; i < t->thrs.n; i++)
				t->thrs.v[i]->detaching = true;
			wait_wanted(t, 100000000ULL, true);
		}
	}
	while (t->thrs.n)
		drop_thr(t, t->thrs.v[t->thrs.n - 1]->tid);
	t->nq = 0;
	for (size_t i = 0; i < t->q.n; i++) {
		free(t->q.v[i]->buf);
		free(t->q.v[i]);
	}
	CP_VEC_FREE(t->q);
	CP_VEC_FREE(t->thrs);
	cp_u64map_release(&t->index);
	cp_u64map_release(&t->reaped);
	if (t->sigfd >= 0)
		close(t->sigfd);
	if (t->timerfd >= 0)
		close(t->timerfd);
	free(t);
}
