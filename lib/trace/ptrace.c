/* ptrace.c - the decode engine of cprof strace-lite: PTRACE_SEIZE, a
 * syscall stop at each entry and exit (PTRACE_GET_SYSCALL_INFO), the
 * arguments read from the tracee (process_vm_readv) and decoded
 * (decode.c), one call delivered to the sink at its exit.
 *
 * A command started with a subset of calls (-e trace=) gets a seccomp-bpf
 * filter before its exec: the kernel stops it only at the chosen calls
 * (SECCOMP_RET_TRACE; the tracee runs under PTRACE_CONT and is stepped to
 * the exit of a stopped call with PTRACE_SYSCALL), as strace
 * --seccomp-bpf.  The filter is a list of equality checks on the number,
 * which the kernel can cache.
 *
 * Signals are passed on as they came, group stops are kept (PTRACE_LISTEN),
 * threads are always followed (PTRACE_O_TRACECLONE), child processes with
 * -f.  On the end of tracing (Ctrl-C of -p, -d) every tracee is
 * interrupted and detached, a pending signal re-injected: nothing is left
 * stopped.  The exec by a thread other than the leader turns the thread
 * into the leader (PTRACE_GETEVENTMSG gives the old tid). */
#include "trace/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "proc/proc.h"
#include "sample/sample.h"

struct tracee {
	pid_t tid, pid;
	bool in_call;     /* between an entry (or seccomp) stop and its exit */
	bool before_exec; /* the spawned child, not yet exec'd: its calls are ours */
	bool report;      /* the call in progress is reported */
	uint64_t stime_ns; /* rusage system time at entry */
	struct cp_trace_call call;
};

struct cp_trace_ptrace {
	struct cp_trace_opts o;
	struct cp_trace_decoder *dec;
	struct cp_u64map tids; /* tid -> struct tracee * */
	unsigned long options;
	bool seccomp;
	pid_t child;       /* spawned: our child */
	int ep_fd;         /* spawned: its exec errno comes here, EOF on exec */
	int exec_errno;    /* the child could not exec: why */
	int child_status;  /* its wait status, -1 while it runs */
	long execve_nr, execveat_nr;
	const struct cp_trace_sink *sink;
};

static ssize_t mem_read(void *arg, uint32_t tid, uint64_t addr, void *buf, size_t len)
{
	(void)arg;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv((pid_t)tid, &local, 1, &remote, 1, 0);
	if (n >= 0 || errno != ENOSYS)
		return n;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/mem", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, (off_t)addr);
	close(fd);
	return n;
}

static const struct cp_trace_mem tracee_mem = { mem_read, NULL };

static struct tracee *find(struct cp_trace_ptrace *t, pid_t tid)
{
	uint64_t *v = cp_u64map_find(&t->tids, (uint64_t)tid);
	return v ? (struct tracee *)(uintptr_t)*v : NULL;
}

static struct tracee *add_tracee(struct cp_trace_ptrace *t, pid_t tid, pid_t pid)
{
	struct tracee *tr = find(t, tid);
	if (tr)
		return tr;
	tr = cp_xcalloc(1, sizeof(*tr));
	tr->tid = tid;
	tr->pid = pid;
	cp_u64map_put(&t->tids, (uint64_t)tid, (uint64_t)(uintptr_t)tr);
	return tr;
}

static void drop_tracee(struct cp_trace_ptrace *t, pid_t tid)
{
	struct tracee *tr = find(t, tid);
	if (!tr)
		return;
	if (t->dec)
		cp_trace_decode_forget(t->dec, (uint32_t)tid);
	cp_u64map_del(&t->tids, (uint64_t)tid);
	free(tr);
}

static pid_t tgid_of(pid_t tid)
{
	long tg;
	return cp_proc_status_field(tid, "Tgid", false, &tg) ? (pid_t)tg : tid;
}

static int trace_seccomp_filter(const struct cp_trace_set *set)
{
	/* load arch; not ours: allow.  load nr; nr == each chosen: trace. */
	struct sock_filter f[CP_TRACE_MAX_NR + 8];
	int n = 0, count = cp_trace_set_count(set);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
#if defined(__x86_64__)
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
#elif defined(__aarch64__)
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64, 1, 0);
#else
	return -1;
#endif
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	int left = count;
	for (int nr = 0; nr < CP_TRACE_MAX_NR; nr++) {
		if (!cp_trace_set_has(set, nr))
			continue;
		/* equal: jump over the rest to the TRACE at the end */
		left--;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr,
						      (unsigned char)(left + 1), 0);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	struct sock_fprog prog = { (unsigned short)n, f };
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static struct cp_trace_ptrace *new_tracer(const struct cp_trace_opts *o)
{
	struct cp_trace_ptrace *t = cp_xcalloc(1, sizeof(*t));
	t->o = *o;
	cp_u64map_init(&t->tids);
	t->child_status = -1;
	t->ep_fd = -1;
	t->execve_nr = cp_syscall_number("execve");
	t->execveat_nr = cp_syscall_number("execveat");
	if (o->decode)
		t->dec = cp_trace_decoder_new(o);
	t->options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACECLONE;
	if (o->follow)
		t->options |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	return t;
}

/* Continue tid: to its next chosen call (seccomp) or its next stop. */
static void resume(struct cp_trace_ptrace *t, struct tracee *tr, int sig)
{
	int req = t->seccomp && !(tr && tr->in_call) ? PTRACE_CONT : PTRACE_SYSCALL;
	ptrace(req, tr ? tr->tid : 0, 0, (void *)(long)sig);
}

int cp_trace_ptrace_spawn(const struct cp_trace_opts *o, char *const argv[],
			  struct cp_trace_ptrace **out, struct cp_error *err)
{
	char *path = cp_proc_find_exec(argv[0]);
	if (!path)
		return cp_error_set(err, CP_E_NOENT, "cannot run '%s': No such file or directory",
				    argv[0]);
	int go[2], ep[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		free(path);
		return cp_error_errno(err, CP_E_FAIL, errno, "pipe");
	}
	struct cp_trace_ptrace *t = new_tracer(o);
	t->seccomp = o->subset && cp_trace_set_count(&o->set) < 200;
	if (t->seccomp)
		t->options |= PTRACE_O_TRACESECCOMP;
	pid_t c = fork();
	if (c < 0) {
		free(path);
		cp_trace_ptrace_free(t);
		return cp_error_errno(err, CP_E_FAIL, errno, "fork");
	}
	if (c == 0) {
		close(go[1]);
		close(ep[0]);
		char b;
		/* wait until the tracer holds us */
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		int e = 0;
		if (t->seccomp && trace_seccomp_filter(&o->set) < 0)
			e = errno;
		if (!e) {
			execv(path, argv);
			e = errno;
		}
		cp_write_all(ep[1], &e, sizeof(e));
		_exit(127);
	}
	close(go[0]);
	close(ep[1]);
	t->child = c;
	int rc = 0;
	if (ptrace(PTRACE_SEIZE, c, 0, (void *)t->options) < 0 ||
	    ptrace(PTRACE_INTERRUPT, c, 0, 0) < 0) {
		rc = cp_error_errno(err, CP_E_PERM, errno, "cannot trace the command (ptrace)");
	} else {
		/* stopped (PTRACE_EVENT_STOP) in its read: from here it steps */
		int st;
		while (waitpid(c, &st, __WALL) < 0 && errno == EINTR)
			;
		struct tracee *tr = add_tracee(t, c, c);
		tr->before_exec = true;
		resume(t, tr, 0);
	}
	close(go[1]); /* go: it runs to its exec under trace (the run loop) */
	free(path);
	if (rc) {
		close(ep[0]);
		kill(c, SIGKILL);
		while (waitpid(c, NULL, __WALL) < 0 && errno == EINTR)
			;
		t->child = 0;
		cp_trace_ptrace_free(t);
		return rc;
	}
	t->ep_fd = ep[0];
	*out = t;
	return 0;
}

int cp_trace_ptrace_attach(const struct cp_trace_opts *o, pid_t pid, struct cp_trace_ptrace **tp,
			   struct cp_error *err)
{
	if (!*tp)
		*tp = new_tracer(o);
	struct cp_trace_ptrace *t = *tp;
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	/* threads started while seizing are followed from their creator
	 * (TRACECLONE); rescan until a pass finds none new */
	for (int pass = 0; pass < 16; pass++) {
		DIR *d = opendir(dir);
		if (!d)
			return pass ? 0 : cp_error_set(err, CP_E_NOENT, "process %d does not exist", (int)pid);
		int added = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			long tid;
			if (cp_parse_long(de->d_name, 1, INT32_MAX, &tid) || find(t, (pid_t)tid))
				continue;
			if (ptrace(PTRACE_SEIZE, (pid_t)tid, 0, (void *)t->options) < 0) {
				int e = errno;
				if (e == ESRCH)
					continue;
				closedir(d);
				return cp_ptrace_seize_error(pid, e, err);
			}
			add_tracee(t, (pid_t)tid, pid);
			/* a stop, from which it is stepped to its syscalls */
			ptrace(PTRACE_INTERRUPT, (pid_t)tid, 0, 0);
			added++;
		}
		closedir(d);
		if (!added)
			break;
	}
	return 0;
}

pid_t cp_trace_ptrace_pid(const struct cp_trace_ptrace *t)
{
	return t ? t->child : 0;
}

static bool wanted(struct cp_trace_ptrace *t, struct tracee *tr, long nr)
{
	if (tr->before_exec && nr != t->execve_nr && nr != t->execveat_nr)
		return false;
	return !t->o.subset || cp_trace_set_has(&t->o.set, nr);
}

static uint64_t stime_of(const struct rusage *ru)
{
	return (uint64_t)ru->ru_stime.tv_sec * 1000000000ull + (uint64_t)ru->ru_stime.tv_usec * 1000ull;
}

/* A call that will never return (the thread is gone, or exec'd away). */
static void unfinished(struct cp_trace_ptrace *t, struct tracee *tr)
{
	if (!tr->in_call)
		return;
	tr->in_call = false;
	if (!tr->report)
		return;
	tr->call.returned = false;
	tr->call.exit_ns = 0;
	if (t->dec)
		cp_trace_decode_exit(t->dec, &tr->call, NULL);
	t->sink->call(t->sink->arg, &tr->call);
}

static void on_syscall_stop(struct cp_trace_ptrace *t, struct tracee *tr, const struct rusage *ru)
{
	struct __ptrace_syscall_info info;
	memset(&info, 0, sizeof(info));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tr->tid, (void *)sizeof(info), &info) <= 0) {
		resume(t, tr, 0);
		return;
	}
	if (info.op == PTRACE_SYSCALL_INFO_ENTRY || info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
		long nr = (long)info.entry.nr;
		struct cp_trace_call *c = &tr->call;
		memset(c, 0, sizeof(*c));
		c->pid = (uint32_t)tr->pid;
		c->tid = (uint32_t)tr->tid;
		c->nr = (int)nr;
		memcpy(c->args, info.op == PTRACE_SYSCALL_INFO_ENTRY ? info.entry.args
								     : info.seccomp.args,
		       sizeof(c->args));
		c->nargs = -1;
		c->stack = UINT32_MAX;
		c->enter_ns = cp_now_ns();
		tr->stime_ns = stime_of(ru);
		tr->in_call = true;
		tr->report = wanted(t, tr, nr);
		if (tr->report && t->dec)
			cp_trace_decode_enter(t->dec, c, &tracee_mem);
	} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && tr->in_call) {
		struct cp_trace_call *c = &tr->call;
		c->exit_ns = cp_now_ns();
		c->ret = info.exit.rval;
		c->returned = true;
		uint64_t st = stime_of(ru);
		c->sys_ns = st > tr->stime_ns ? st - tr->stime_ns : 0;
		tr->in_call = false;
		if (tr->report) {
			if (t->dec)
				cp_trace_decode_exit(t->dec, c, &tracee_mem);
			t->sink->call(t->sink->arg, c);
		}
	}
	resume(t, tr, 0);
}

static void on_exit_status(struct cp_trace_ptrace *t, pid_t tid, int status)
{
	struct tracee *tr = find(t, tid);
	if (tr) {
		unfinished(t, tr);
		if (tr->pid == tid && t->sink->exit)
			t->sink->exit(t->sink->arg, (uint32_t)tid, status, cp_now_ns());
	}
	if (tid == t->child) {
		t->child_status = status;
		if (tr && tr->before_exec && t->ep_fd >= 0) {
			int e = 0;
			if (read(t->ep_fd, &e, sizeof(e)) == (ssize_t)sizeof(e))
				t->exec_errno = e;
		}
	}
	drop_tracee(t, tid);
}

static void on_stop(struct cp_trace_ptrace *t, pid_t tid, int status, const struct rusage *ru)
{
	struct tracee *tr = find(t, tid);
	if (!tr) /* a new thread or child, stopped before its creator's event */
		tr = add_tracee(t, tid, tgid_of(tid));
	int sig = WSTOPSIG(status);
	int event = (unsigned)status >> 16;
	if (sig == (SIGTRAP | 0x80)) {
		on_syscall_stop(t, tr, ru);
		return;
	}
	switch (event) {
	case 0:
		break;
	case PTRACE_EVENT_SECCOMP:
		on_syscall_stop(t, tr, ru);
		return;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE: {
		unsigned long msg = 0;
		ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg);
		if (msg)
			add_tracee(t, (pid_t)msg, event == PTRACE_EVENT_CLONE ? tgid_of((pid_t)msg)
									: (pid_t)msg);
		resume(t, tr, 0);
		return;
	}
	case PTRACE_EVENT_EXEC: {
		unsigned long old = 0;
		ptrace(PTRACE_GETEVENTMSG, tid, 0, &old);
		if ((pid_t)old != tid) {
			/* a thread exec'd: it is the leader now, with the
			 * leader's tid; the leader's own call never returns */
			struct tracee *o = find(t, (pid_t)old);
			unfinished(t, tr);
			if (o) {
				tr->call = o->call;
				tr->call.tid = (uint32_t)tid;
				tr->in_call = o->in_call;
				tr->report = o->report;
				tr->stime_ns = o->stime_ns;
				o->in_call = false;
				drop_tracee(t, (pid_t)old);
			}
		}
		tr->before_exec = false;
		/* other threads vanished in the exec: their calls never return */
		resume(t, tr, 0);
		return;
	}
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			/* a group stop: keep it, and hear when it ends */
			ptrace(PTRACE_LISTEN, tid, 0, 0);
			return;
		}
		resume(t, tr, 0); /* our PTRACE_INTERRUPT, or a new task's first stop */
		return;
	default:
		resume(t, tr, 0);
		return;
	}
	/* a signal for the tracee: say so, deliver it unchanged */
	siginfo_t si;
	char text[256] = "";
	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0) {
		cp_trace_siginfo(&si, text, sizeof(text));
		if (!tr->before_exec && t->sink->signal)
			t->sink->signal(t->sink->arg, (uint32_t)tr->pid, (uint32_t)tid, sig, text,
					cp_now_ns());
	}
	resume(t, tr, sig);
}

/* Detach from every tracee, leaving it running (or stopped if a signal
 * stopped it), its pending signal delivered. */
static void detach_all(struct cp_trace_ptrace *t)
{
	for (size_t i = 0; i < t->tids.cap; i++)
		if (t->tids.used && t->tids.used[i])
			ptrace(PTRACE_INTERRUPT, (pid_t)t->tids.keys[i], 0, 0);
	uint64_t until = cp_now_ns() + 2000000000ull;
	while (t->tids.n && cp_now_ns() < until) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			break;
		if (tid == 0) {
			usleep(1000);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			on_exit_status(t, tid, status);
			continue;
		}
		int sig = WSTOPSIG(status), event = (unsigned)status >> 16;
		/* a signal on its way in is handed back on the detach */
		int pass = event == 0 && sig != (SIGTRAP | 0x80) ? sig : 0;
		ptrace(PTRACE_DETACH, tid, 0, (void *)(long)pass);
		drop_tracee(t, tid);
	}
	/* any left (exited meanwhile, or never stopped): detach blindly */
	for (size_t i = 0; i < t->tids.cap; i++)
		if (t->tids.used && t->tids.used[i])
			ptrace(PTRACE_DETACH, (pid_t)t->tids.keys[i], 0, 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

int cp_trace_ptrace_run(struct cp_trace_ptrace *t, const struct cp_trace_sink *sink,
			volatile sig_atomic_t *stop, uint64_t deadline_ns, int *exit_status,
			struct cp_error *err)
{
	t->sink = sink;
	/* a periodic SIGALRM wakes the blocking wait to look at stop and the
	 * deadline (the caller's signal handlers do too) */
	struct sigaction sa = { 0 }, old;
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } }, oit;
	setitimer(ITIMER_REAL, &it, &oit);
	while (t->tids.n) {
		if ((stop && *stop) || (deadline_ns && cp_now_ns() >= deadline_ns)) {
			detach_all(t);
			break;
		}
		int status;
		struct rusage ru;
		pid_t tid = wait4(-1, &status, __WALL, &ru);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nothing left */
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			on_exit_status(t, tid, status);
		else if (WIFSTOPPED(status))
			on_stop(t, tid, status, &ru);
	}
	setitimer(ITIMER_REAL, &oit, NULL);
	sigaction(SIGALRM, &old, NULL);
	*exit_status = t->child_status;
	if (t->exec_errno)
		return cp_error_errno(err, t->exec_errno == ENOENT ? CP_E_NOENT : CP_E_PERM,
				      t->exec_errno, "cannot run the command");
	return 0;
}

void cp_trace_ptrace_free(struct cp_trace_ptrace *t)
{
	if (!t)
		return;
	if (t->tids.n)
		detach_all(t);
	for (size_t i = 0; i < t->tids.cap; i++)
		if (t->tids.used && t->tids.used[i])
			free((void *)(uintptr_t)t->tids.vals[i]);
	cp_u64map_release(&t->tids);
	cp_trace_decoder_free(t->dec);
	if (t->ep_fd >= 0)
		close(t->ep_fd);
	free(t);
}
