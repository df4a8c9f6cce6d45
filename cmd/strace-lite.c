/* strace-lite.c - `cprof strace-lite [options] [--] command [args...]` or
 * `-p PID`: system call tracing.  Options (strace's letters), the choice
 * of engine, signals and the exit status live here; the engines and the
 * output are lib/trace.
 *
 * The event engine (tracepoints through perf_event, the program never
 * stops) serves -c, --latency, -k and --record; the decode engine (ptrace)
 * the lines with decoded arguments.  --engine overrides; when the event
 * engine is not available (tracefs, perf_event refused) the ptrace engine
 * takes over with one notice, except for what only events can do (-k,
 * --record). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "core/core.h"
#include "proc/proc.h"
#include "trace/trace.h"

static const char *const usage[] = {
	"cprof strace-lite [options] [--] <command> [<args>...]",
	"cprof strace-lite [options] -p <pid>[,<pid>...]",
	NULL,
};

static bool summary_only, summary_too, follow, durations, decode_fds, stacks, latency, json,
	record, wall, per_thread, per_process, quiet;
static int timestamps;
static long strsize = 32, stack_size = 8192, duration, mmap_pages;
static const char *output, *sort_key, *engine = "auto";
static struct cp_strlist exprs, pids;

static const struct cp_option options[] = {
	CP_OPT_FLAG_('c', "summary-only", "count calls, errors and time per syscall; print the table at the end",
		     &summary_only),
	CP_OPT_FLAG_('C', "summary", "lines and, at the end, the -c table", &summary_too),
	CP_OPT_STR_('S', "summary-sort-by", "KEY",
		    "sort the table by time (default), calls, errors, name, avg-time, min-time, "
		    "max-time or nothing",
		    &sort_key, "time|calls|errors|name|avg-time|min-time|max-time|nothing"),
	CP_OPT_FLAG_('w', "summary-wall-clock",
		     "decode engine: the table's time is wall time from entry to exit (the "
		     "event engine's always is)",
		     &wall),
	CP_OPT_FLAG_(0, "per-thread", "a table per thread, then the total", &per_thread),
	CP_OPT_FLAG_(0, "per-process", "a table per process, then the total", &per_process),
	CP_OPT_FLAG_(0, "latency", "per-syscall latency: p50, p90, p99, max and a histogram",
		     &latency),
	CP_OPT_LIST_('e', "expr", "trace=SET",
		     "which calls: names, %file %desc %network %process %memory %signal %ipc "
		     "%creds %clock, /regex, all, none, ! to negate",
		     &exprs, NULL),
	CP_OPT_FLAG_('f', "follow-forks", "trace child processes too (threads always are)", &follow),
	CP_OPT_COUNT_('t', "timestamps", "-t time of day, -tt with microseconds, -ttt seconds since the epoch",
		      &timestamps),
	CP_OPT_FLAG_('T', "syscall-times", "the time spent in each call, <seconds> at the line's end",
		     &durations),
	CP_OPT_FLAG_('y', "decode-fds", "file descriptors with their paths: 3</dev/null>",
		     &decode_fds),
	CP_OPT_LONG_('s', "string-limit", "N", "bytes of each string shown (default 32)", &strsize,
		     0, 1 << 20),
	CP_OPT_FLAG_('k', "stack-trace", "each call's user stack, symbolized, after its line",
		     &stacks),
	CP_OPT_LONG_(0, "stack-size", "BYTES",
		     "bytes of user stack copied per call for -k and --record (default 8192)",
		     &stack_size, 256, 65528),
	CP_OPT_FLAG_(0, "record",
		     "write a profile (-o, default cprof.data): time inside syscalls by stack",
		     &record),
	CP_OPT_FLAG_(0, "json", "one JSON object per call (with -c, --latency: per table)", &json),
	CP_OPT_STR_('o', "output", "FILE",
		    "write the trace there instead of stderr (--record: the profile)", &output,
		    "file"),
	CP_OPT_LIST_('p', "attach", "PID", "trace running processes (never stopped by the event engine)",
		     &pids, "pid"),
	CP_OPT_LONG_('d', "duration", "SECONDS",
		     "stop tracing after SECONDS (a command runs on; cprof waits for it)", &duration,
		     1, 31536000),
	CP_OPT_STR_(0, "engine", "ENGINE",
		    "auto (default), bpf (plain -c counted in the kernel), events (tracepoints, "
		    "no stops) or ptrace (decodes arguments)",
		    &engine, "auto|bpf|events|ptrace"),
	CP_OPT_LONG_(0, "mmap-pages", "N", "event engine: ring buffer pages per CPU (power of two)",
		     &mmap_pages, 1, 1 << 20),
	CP_OPT_FLAG_('q', "quiet", "no notices", &quiet),
	CP_OPT_END_,
};

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t forward_to;

static void on_stop_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* a terminal's Ctrl-C already reached a command we started (same
	 * process group); a kill(1) is passed on */
	if (forward_to > 0 && si && si->si_pid != 0)
		kill((pid_t)forward_to, sig == SIGTERM ? SIGTERM : SIGINT);
	if (forward_to <= 0)
		stop_flag = 1;
}

/* The -e expressions: "trace=SET" or a bare SET (as strace). */
static int parse_exprs(struct cp_trace_opts *o)
{
	if (exprs.n == 0)
		return 0;
	struct cp_buf all = { 0 };
	for (int i = 0; i < exprs.n; i++) {
		const char *e = exprs.v[i];
		const char *eq = strchr(e, '=');
		/* "trace=" (or strace's "t="); items after the first of a
		 * "trace=a,b" come split at the commas, without it */
		if (eq && !strchr("!%/?", e[0])) {
			size_t k = (size_t)(eq - e);
			if (!(k == 5 && !strncmp(e, "trace", 5)) && !(k == 1 && e[0] == 't')) {
				cmd_error("strace-lite",
					  "-e %.*s=: only trace= is supported (not strace's signal=, "
					  "abbrev=, verbose=, raw=, read=, write=...)",
					  (int)k, e);
				cp_buf_release(&all);
				return 2;
			}
			e = eq + 1;
		}
		if (all.len)
			cp_buf_add_u8(&all, ',');
		cp_buf_add_str(&all, e);
	}
	cp_buf_add_u8(&all, 0);
	struct cp_error err;
	int rc = cp_trace_set_parse((const char *)all.p, &o->set, &err);
	cp_buf_release(&all);
	if (rc) {
		cmd_error("strace-lite", "%s", err.msg);
		return 2;
	}
	o->subset = false;
	for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++)
		if (cp_syscall_name(nr) && !cp_trace_set_has(&o->set, nr))
			o->subset = true;
	return 0;
}

struct run {
	struct cp_trace_opts o;
	struct cp_trace_out *out;
	const struct cp_trace_sink *sink;
	char **cmdv;
	pid_t *pids;
	int npids;
	struct cp_child child;
	int status;
	bool exited;
};


/* The event engine: start, read until the command ends (or Ctrl-C, -d),
 * finish.  Returns 0, 1 (failed: err says why) or 3 (not available here:
 * err says why, nothing was started). */
static int run_events(struct run *R, struct cp_error *err)
{
	struct cp_trace_events *ev = NULL;
	int rc = cp_trace_events_open(&R->o, R->sink, &ev, err);
	if (rc)
		return 1;
	if (cp_trace_events_fallback(ev) && !quiet)
		cmd_notice("strace-lite", "%s; counting through the tracepoint rings instead",
			   cp_trace_events_fallback(ev));
	cp_log(CP_LOG_INFO, "counting through the %s engine", cp_trace_events_engine(ev));
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sigfd = -1;
	bool spawned = false;
	if (R->npids) {
		for (int i = 0; i < R->npids; i++)
			if ((rc = cp_trace_events_add(ev, R->pids[i], err))) {
				cp_trace_events_free(ev);
				return rc == CP_E_UNSUPPORTED ? 3 : 1;
			}
	} else {
		if (cp_proc_spawn(R->cmdv, &R->child, err)) {
			cp_trace_events_free(ev);
			return 1;
		}
		spawned = true;
		if ((rc = cp_trace_events_add(ev, R->child.pid, err))) {
			/* the command never ran: the waiting child goes */
			kill(R->child.pid, SIGKILL);
			waitpid(R->child.pid, NULL, 0);
			cp_proc_close(&R->child);
			R->child.pid = -1;
			cp_trace_events_free(ev);
			return rc == CP_E_UNSUPPORTED || rc == CP_E_PERM ? 3 : 1;
		}
	}
	cp_trace_out_set_model(R->out, cp_trace_events_model(ev));
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (spawned && cp_proc_release(&R->child, R->cmdv, err)) {
		cp_trace_events_free(ev);
		close(sigfd);
		R->child.pid = -1;
		return 127;
	}
	uint64_t stop_at = duration ? cp_now_ns() + (uint64_t)duration * 1000000000ull : 0;
	bool stopping = false;
	int result = 0;
	while (!R->exited && !stopping) {
		struct pollfd fds[260];
		int n = cp_trace_events_pollfds(ev, fds, 256);
		fds[n].fd = sigfd;
		fds[n].events = POLLIN;
		int sig_i = n++;
		int pid_i = -1;
		if (spawned && R->child.pidfd >= 0) {
			fds[n].fd = R->child.pidfd;
			fds[n].events = POLLIN;
			pid_i = n++;
		}
		int pr = poll(fds, (nfds_t)n, 200);
		if (pr < 0 && errno != EINTR)
			break;
		if (cp_trace_events_read(ev, err)) {
			result = 1;
			break;
		}
		if (pr > 0 && (fds[sig_i].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (spawned && si.ssi_pid != 0)
					kill(R->child.pid, (int)si.ssi_signo);
				if (!spawned)
					stopping = true;
			}
		}
		if (stop_at && cp_now_ns() >= stop_at)
			stopping = true;
		if (spawned && (pid_i < 0 || (pr > 0 && (fds[pid_i].revents & POLLIN))))
			if (cp_proc_try_wait(&R->child, &R->status))
				R->exited = true;
	}
	/* the command's end: its last records are in the rings already */
	int code = R->exited ? cp_proc_exit_code(R->status) : -1;
	struct cp_error ferr;
	if (cp_trace_events_finish(ev, R->exited ? code : -1, &ferr) && !result) {
		*err = ferr;
		result = 1;
	}
	if (R->exited && R->sink->exit)
		R->sink->exit(R->sink->arg, (uint32_t)R->child.pid, R->status, cp_now_ns());
	if (spawned && !R->exited) {
		/* -d: tracing stopped; the command runs on and we wait for it */
		while (waitpid(R->child.pid, &R->status, 0) < 0 && errno == EINTR)
			;
		R->exited = true;
	}
	if (!result && cp_trace_out_finish(R->out, cp_trace_events_lost(ev),
					   cp_trace_events_dropped(ev), cp_trace_events_dropped_why(ev),
					   err))
		result = 1;
	if (!result && record && !quiet)
		fprintf(stderr, "cprof strace-lite: %llu calls recorded in %s%s\n",
			(unsigned long long)cp_trace_out_calls(R->out), R->o.record,
			cp_trace_events_lost(ev) ? " (events were lost: see above)" : "");
	cp_trace_events_free(ev);
	close(sigfd);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return result;
}

/* The decode engine. */
static int run_ptrace(struct run *R, struct cp_error *err)
{
	struct cp_trace_ptrace *pt = NULL;
	int rc;
	if (R->npids) {
		for (int i = 0; i < R->npids; i++)
			if ((rc = cp_trace_ptrace_attach(&R->o, R->pids[i], &pt, err))) {
				cp_trace_ptrace_free(pt);
				return 1;
			}
	} else if ((rc = cp_trace_ptrace_spawn(&R->o, R->cmdv, &pt, err))) {
		return rc == CP_E_NOENT || rc == CP_E_PERM ? 127 : 1;
	}
	forward_to = R->npids ? 0 : cp_trace_ptrace_pid(pt);
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_stop_signal;
	sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: the wait returns */
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t i = 0; i < CP_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	uint64_t deadline = duration ? cp_now_ns() + (uint64_t)duration * 1000000000ull : 0;
	int status = -1;
	int result = 0;
	rc = cp_trace_ptrace_run(pt, R->sink, &stop_flag, deadline, &status, err);
	if (rc)
		result = rc == CP_E_NOENT || rc == CP_E_PERM ? 127 : 1; /* the exec failed */
	pid_t child = cp_trace_ptrace_pid(pt);
	cp_trace_ptrace_free(pt);
	if (child > 0 && status < 0) {
		/* -d: tracing stopped, the command runs on: wait for it */
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (child > 0 && status >= 0) {
		R->exited = true;
		R->status = status;
	}
	struct cp_error ferr;
	if (cp_trace_out_finish(R->out, 0, 0, NULL, &ferr) && !result) {
		*err = ferr;
		result = 1;
	}
	return result;
}

static int parse_pids(struct run *R)
{
	R->pids = cp_xcalloc((size_t)pids.n + 1, sizeof(pid_t));
	for (int i = 0; i < pids.n; i++) {
		long v;
		if (cp_parse_long(pids.v[i], 1, INT32_MAX, &v)) {
			cmd_error("strace-lite", "-p '%s': not a process id", pids.v[i]);
			return 2;
		}
		R->pids[R->npids++] = (pid_t)v;
	}
	return 0;
}

int cmd_strace_lite(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("strace-lite", usage, options, argc, argv, true, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct run R = { 0 };
	R.child.pid = -1;
	R.child.pidfd = R.child.go_fd = R.child.err_fd = -1;
	cp_trace_opts_init(&R.o);
	struct cp_error err;
	FILE *f = NULL;
	char *cmdline = NULL;
	rc = 2;
	if (first >= argc && pids.n == 0) {
		cp_die_usage("strace-lite", usage, options, "no command given (or -p PID)");
		goto out;
	}
	if (first < argc && pids.n) {
		cmd_error("strace-lite", "give a command or -p, not both");
		goto out;
	}
	if (strcmp(engine, "auto") && strcmp(engine, "bpf") && strcmp(engine, "events") &&
	    strcmp(engine, "ptrace")) {
		cmd_error("strace-lite", "--engine '%s': auto, bpf, events or ptrace", engine);
		goto out;
	}
	if (sort_key && cp_trace_sort_check(sort_key, &err)) {
		cmd_error("strace-lite", "%s", err.msg);
		goto out;
	}
	if (per_thread && per_process) {
		cmd_error("strace-lite", "--per-thread or --per-process, not both");
		goto out;
	}
	if (summary_only && summary_too) {
		cmd_error("strace-lite", "-c or -C, not both");
		goto out;
	}
	if (record && (stacks || summary_only || summary_too || latency || json)) {
		cmd_error("strace-lite", "--record writes a profile only: not with -k, -c, -C, "
					 "--latency or --json");
		goto out;
	}
	if ((parse_pids(&R)) || parse_exprs(&R.o))
		goto out;
	if (mmap_pages && (mmap_pages & (mmap_pages - 1))) {
		cmd_error("strace-lite", "--mmap-pages %ld: not a power of two", mmap_pages);
		goto out;
	}
	/* another user's process: one line, whichever engine would try */
	for (int i = 0; i < R.npids; i++) {
		if (!cp_proc_exists(R.pids[i])) {
			cmd_error("strace-lite", "-p %d: no such process", (int)R.pids[i]);
			rc = 1;
			goto out;
		}
		if (cp_proc_check_owner(R.pids[i], &err)) {
			cmd_error("strace-lite", "%s", err.msg);
			rc = 1;
			goto out;
		}
	}
	R.cmdv = argv + first;
	if (first < argc && cp_proc_check_exec(R.cmdv[0], &err)) {
		cmd_error("strace-lite", "%s", err.msg);
		rc = 127;
		goto out;
	}
	if (quiet)
		cp_log_set_level(CP_LOG_WARN);
	bool table = summary_only || summary_too;
	bool need_events = stacks || record;
	bool lines = !summary_only && !latency && !record;
	/* the engine: events unless lines with decoded arguments are wanted */
	bool use_events = !strcmp(engine, "events") || !strcmp(engine, "bpf") ||
			  (!strcmp(engine, "auto") && (need_events || !lines));
	if (need_events && !strcmp(engine, "ptrace")) {
		cmd_error("strace-lite", "-k and --record need the event engine (--engine events)");
		goto out;
	}
	/* plain counting: in the kernel when it can be */
	bool plain_count = summary_only && !latency && !per_thread && !per_process && !stacks;
	if (!strcmp(engine, "bpf") && !plain_count) {
		cmd_error("strace-lite", "--engine bpf only counts: -c, without --latency, -k, "
					 "--per-thread or --per-process");
		goto out;
	}
	R.o.bpf = !strcmp(engine, "bpf")			 ? CP_TRACE_BPF_ONLY
		  : !strcmp(engine, "auto") && plain_count ? CP_TRACE_BPF_AUTO
							   : CP_TRACE_BPF_NEVER;
	R.o.follow = follow;
	R.o.attach = R.npids > 0;
	R.o.decode = lines;
	R.o.strsize = (int)strsize;
	R.o.paths = decode_fds;
	R.o.stacks = stacks;
	R.o.stack_size = (uint32_t)stack_size;
	R.o.mmap_pages = (int)mmap_pages;
	cmdline = first < argc ? cmd_join_args(R.cmdv) : cp_xasprintf("-p %s", pids.v[0]);
	R.o.command_line = cmdline;
	if (record)
		R.o.record = output ? output : "cprof.data";
	rc = 1;
	f = stderr;
	if (output && !record) {
		f = fopen(output, "w");
		if (!f) {
			cmd_error("strace-lite", "cannot write '%s': %s", output, strerror(errno));
			goto out;
		}
	}
	struct cp_trace_out_opts oo = {
		.f = f,
		.lines = lines,
		.summary = table,
		.latency = latency,
		.json = json,
		.timestamps = timestamps > 3 ? 3 : timestamps,
		.durations = durations,
		.sort = sort_key,
		.per_thread = per_thread,
		.per_process = per_process,
		.stacks = stacks,
	};
	int result;
	for (;;) {
		oo.cpu_time = !use_events && !wall;
		R.out = cp_trace_out_new(&oo);
		R.sink = cp_trace_out_sink(R.out);
		result = use_events ? run_events(&R, &err) : run_ptrace(&R, &err);
		if (result != 3)
			break;
		/* the event engine is not available here */
		if (need_events || !strcmp(engine, "events")) {
			result = 1;
			break;
		}
		if (!quiet)
			cmd_notice("strace-lite", "%s; tracing with ptrace instead", err.msg);
		cp_trace_out_free(R.out);
		R.out = NULL;
		use_events = false;
	}
	if (result == 127) {
		cmd_error("strace-lite", "%s", err.msg);
		rc = 127;
	} else if (result) {
		cmd_error("strace-lite", "%s", err.msg);
		rc = 1;
	} else {
		rc = R.exited ? cp_proc_exit_code(R.status) : 0;
	}
out:
	if (f && f != stderr && fclose(f) && rc == 0) {
		cmd_error("strace-lite", "cannot write '%s': %s", output, strerror(errno));
		rc = 1;
	}
	cp_trace_out_free(R.out);
	cp_proc_close(&R.child);
	free(R.pids);
	free(cmdline);
	cp_strlist_release(&exprs);
	cp_strlist_release(&pids);
	return rc;
}
