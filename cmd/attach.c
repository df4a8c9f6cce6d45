/* attach.c - `cprof attach -p PID[,PID...]`: sample processes that are
 * already running, until Ctrl-C, -d, or they exit.  The processes are
 * never stopped or signalled: perf_event counters are attached and closed,
 * which leaves them exactly as they were (also when cprof is killed). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "core/core.h"
#include "proc/proc.h"
#include "sample/sample.h"

static const char *const usage[] = {
	"cprof attach -p <pid>[,<pid>...] [--tid <tid>] [-d <seconds>] [options]",
	"cprof attach -a [-d <seconds>] [options]",
	NULL,
};

static struct sampling_args args = SAMPLING_ARGS_INIT;
static struct cp_strlist pids;
static long tid;

static const struct cp_option options[] = {
	CP_OPT_LIST_('p', "pid", "PID,...", "the processes to sample (all their threads)", &pids,
		     "pid"),
	CP_OPT_LONG_(0, "tid", "TID", "sample only this thread (of the one -p process)", &tid, 1,
		     0x7fffffff),
	CP_OPT_LONG_('d', "duration", "SECONDS", "stop after SECONDS (default: Ctrl-C or exit)",
		     &args.duration, 1, 31536000),
	SAMPLING_OPTIONS(args),
	CP_OPT_END_,
};

/* "PID: the command line" for the file's meta. */
static char *describe(pid_t pid)
{
	char *c = cmd_proc_cmdline(pid);
	char *s = c ? cp_xasprintf("pid %d: %s", (int)pid, c) : cp_xasprintf("pid %d", (int)pid);
	free(c);
	return s;
}

static int check_targets(pid_t *out, int *n)
{
	if (args.all_cpus) {
		if (pids.n || tid) {
			cp_die_usage("attach", usage, options,
				     "-a samples every process: no -p or --tid with it");
			return 2;
		}
		*n = 0;
		return 0;
	}
	if (pids.n == 0) {
		cp_die_usage("attach", usage, options, "no process given (-p PID, or -a for all)");
		return 2;
	}
	if (pids.n > 64) {
		cp_die_usage("attach", usage, options, "at most 64 processes");
		return 2;
	}
	for (int i = 0; i < pids.n; i++) {
		long v;
		if (cp_parse_long(pids.v[i], 1, 0x7fffffff, &v)) {
			cp_die_usage("attach", usage, options, "-p: '%s' is not a process id",
				     pids.v[i]);
			return 2;
		}
		out[i] = (pid_t)v;
	}
	*n = pids.n;
	if (tid && *n != 1) {
		cp_die_usage("attach", usage, options, "--tid takes exactly one -p process");
		return 2;
	}
	return 0;
}

struct run {
	struct cp_recorder *rec;
	struct periodic P;
	int sigfd;
	pid_t pid[64];
	int pidfd[64];
	bool gone[64];
	int n;
};

static int run_loop(struct run *R, bool show)
{
	struct cp_error err;
	uint64_t start = cp_now_ns(), last_progress = 0;
	uint64_t stop_at = args.duration ? start + (uint64_t)args.duration * 1000000000ULL : 0;
	for (;;) {
		struct pollfd fds[400];
		int n = cp_recorder_pollfds(R->rec, fds, 300);
		fds[n].fd = R->sigfd;
		fds[n].events = POLLIN;
		int sig_i = n++;
		int first_pid = n;
		for (int i = 0; i < R->n; i++) {
			fds[n].fd = R->gone[i] ? -1 : R->pidfd[i];
			fds[n].events = POLLIN;
			n++;
		}
		/* the rings wake us only when a watermark fills: until the
		 * first sample is stored look often, so it is there at once */
		struct cp_record_stats st;
		cp_recorder_stats(R->rec, &st);
		int pr = poll(fds, (nfds_t)n, periodic_timeout(&R->P, st.samples ? 100 : 2));
		if (pr < 0 && errno != EINTR)
			return 1;
		if (cp_recorder_process(R->rec, &err)) {
			cmd_error("attach", "%s", err.msg);
			return 1;
		}
		uint64_t now = cp_now_ns();
		if (show && now - last_progress >= 250000000ULL) {
			last_progress = now;
			sampling_progress("attach", R->rec, start, false);
		}
		bool stop = false;
		if (pr > 0 && (fds[sig_i].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(R->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGUSR2)
					R->P.cut_now = true; /* ignored without --every */
				else
					stop = true;
			}
		}
		if (stop)
			break;
		periodic_tick(&R->P, R->rec);
		if (stop_at && now >= stop_at)
			break;
		int alive = 0;
		for (int i = 0; i < R->n; i++) {
			if (!R->gone[i] && R->pidfd[i] >= 0 && pr > 0 &&
			    (fds[first_pid + i].revents & POLLIN))
				R->gone[i] = true;
			/* without pidfds (old kernels), ask every round */
			if (R->pidfd[i] < 0 && !cp_proc_exists(R->pid[i]))
				R->gone[i] = true;
			alive += !R->gone[i];
		}
		if (!alive && R->n) {
			cp_log(CP_LOG_INFO, "every attached process has exited");
			break;
		}
	}
	if (show)
		sampling_progress("attach", R->rec, start, true);
	return 0;
}

int cmd_attach(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("attach", usage, options, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (first < argc) {
		cp_die_usage("attach", usage, options, "unexpected argument '%s'", argv[first]);
		return 2;
	}
	pid_t targets[64];
	int nt = 0;
	if ((rc = check_targets(targets, &nt)) || (rc = sampling_check("attach", usage, options, &args)))
		return rc;
	if (args.quiet)
		cp_log_set_level(CP_LOG_WARN);

	struct cp_record_opts o;
	cp_record_opts_init(&o);
	sampling_fill(&args, &o);
	o.perf.attach = true;
	o.perf.enable_on_exec = false;
	o.perf.only_tid = (pid_t)tid;
	char *desc = nt ? describe(targets[0]) : cp_xstrdup("system-wide (-a)");
	o.command_line = desc;

	sigset_t set;
	sampling_block_signals(&set);

	struct run R = { .sigfd = -1, .n = nt };
	struct cp_error err;
	rc = 1;
	for (int i = 0; i < nt; i++) {
		R.pid[i] = targets[i];
		R.pidfd[i] = (int)syscall(SYS_pidfd_open, targets[i], 0);
		if (R.pidfd[i] < 0 && errno == ESRCH) {
			cmd_error("attach", "process %d does not exist", (int)targets[i]);
			goto out;
		}
	}
	if (periodic_start("attach", &args, &R.P))
		goto out;
	R.rec = cp_recorder_new(&o, &err);
	if (args.all_cpus && cp_recorder_add_target(R.rec, -1, &err)) {
		cmd_error("attach", "%s", err.msg);
		goto out;
	}
	for (int i = 0; i < nt; i++) {
		if (cp_recorder_add_target(R.rec, targets[i], &err)) {
			cmd_error("attach", "%s", err.msg);
			goto out;
		}
	}
	periodic_anchor(&R.P, R.rec);
	R.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	bool show = !args.quiet && cp_stderr_is_tty();
	int lrc = run_loop(&R, show);
	if (cp_recorder_finish(R.rec, -1, &err)) {
		cmd_error("attach", "%s", err.msg);
		lrc = 1;
	}
	sampling_summary("attach", R.rec, &args);
	if (periodic_finish("attach", &R.P, R.rec, &args))
		lrc = 1;
	rc = lrc;
out:
	periodic_finish("attach", &R.P, NULL, &args); /* a failed start: stop the writer */
	for (int i = 0; i < nt; i++)
		if (R.pidfd[i] >= 0)
			close(R.pidfd[i]);
	if (R.sigfd >= 0)
		close(R.sigfd);
	cp_recorder_free(R.rec);
	cp_strlist_release(&pids);
	free(desc);
	return rc;
}
