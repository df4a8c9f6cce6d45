/* record.c - `cprof record [options] [--] command [args...]`: run a command
 * under the sampler and write cprof.data.  Options, signals, the progress
 * line and the exit status live here; the session is lib/sample. */
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
#include "sample/sample.h"

static const char *const usage[] = {
	"cprof record [options] [--] <command> [<args>...]",
	NULL,
};

static struct sampling_args args = SAMPLING_ARGS_INIT;
static long grace = 2;
static bool no_inherit;

static const struct cp_option options[] = {
	SAMPLING_OPTIONS(args),
	CP_OPT_LONG_('d', "duration", "SECONDS",
		     "stop after SECONDS: SIGINT to the command, SIGKILL after --grace",
		     &args.duration, 1, 31536000),
	CP_OPT_LONG_(0, "grace", "SECONDS", "seconds between SIGINT and SIGKILL when stopping (default 2)",
		     &grace, 0, 3600),
	CP_OPT_FLAG_(0, "no-inherit", "do not follow child processes (threads are still followed)",
		     &no_inherit),
	CP_OPT_END_,
};

struct run {
	struct cp_recorder *rec;
	struct cp_child child;
	int sigfd;
	int status;
	bool exited;
	bool no_command; /* -a without a command: until Ctrl-C or -d */
	struct periodic P;
};

/* The main loop: drain the rings, watch the child, handle Ctrl-C and -d. */
static int run_loop(struct run *R, bool show)
{
	struct cp_error err;
	uint64_t start = cp_now_ns(), last_progress = 0, kill_at = 0;
	uint64_t stop_at = args.duration ? start + (uint64_t)args.duration * 1000000000ULL : 0;
	bool stopping = false;
	int rc = 0;
	while (!R->exited) {
		struct pollfd fds[260];
		int n = cp_recorder_pollfds(R->rec, fds, 256);
		fds[n].fd = R->sigfd;
		fds[n].events = POLLIN;
		int sig_i = n++;
		int pid_i = -1;
		if (R->child.pidfd >= 0) {
			fds[n].fd = R->child.pidfd;
			fds[n].events = POLLIN;
			pid_i = n++;
		}
		int pr = poll(fds, (nfds_t)n, periodic_timeout(&R->P, 100));
		if (pr < 0 && errno != EINTR)
			break;
		if (rc == 0 && cp_recorder_process(R->rec, &err)) {
			cmd_error("record", "%s", err.msg);
			rc = 1; /* keep waiting for the command, stop recording */
		}
		uint64_t now = cp_now_ns();
		if (pr > 0 && (fds[sig_i].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(R->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGUSR2) {
					R->P.cut_now = true; /* ignored without --every */
					continue;
				}
				/* a terminal's Ctrl-C already reached the command
				 * (same process group); a kill(1) did not */
				if (si.ssi_pid != 0 && R->child.pid > 0)
					kill(R->child.pid, SIGINT);
				if (!stopping) {
					stopping = true;
					kill_at = now + (uint64_t)grace * 1000000000ULL;
				} else if (R->child.pid > 0) {
					kill(R->child.pid, SIGKILL);
				}
			}
		}
		if (R->no_command && stopping)
			break;
		if (stop_at && !stopping && now >= stop_at) {
			stopping = true;
			if (R->child.pid > 0)
				kill(R->child.pid, SIGINT);
			kill_at = now + (uint64_t)grace * 1000000000ULL;
		}
		if (stopping && kill_at && now >= kill_at && R->child.pid > 0) {
			kill(R->child.pid, SIGKILL);
			kill_at = 0;
		}
		if (R->no_command) {
			if (stop_at && now >= stop_at)
				break;
		} else if (R->child.pid > 0 &&
			   cp_recorder_reaped(R->rec, R->child.pid, &R->status)) {
			/* the ptrace sampler collected the exit status */
			R->child.pid = -1;
			R->exited = true;
		} else if (pid_i < 0 || (pr > 0 && (fds[pid_i].revents & POLLIN))) {
			if (cp_proc_try_wait(&R->child, &R->status))
				R->exited = true;
		}
		if (rc == 0)
			periodic_tick(&R->P, R->rec);
		if (show && now - last_progress >= 250000000ULL) {
			last_progress = now;
			sampling_progress("record", R->rec, start, false);
		}
	}
	if (show)
		sampling_progress("record", R->rec, start, true);
	return rc;
}

int cmd_record(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("record", usage, options, argc, argv, true, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (first >= argc && !args.all_cpus) {
		cp_die_usage("record", usage, options, "no command given (or -a for the whole machine)");
		return 2;
	}
	if ((rc = sampling_check("record", usage, options, &args)))
		return rc;
	if (args.quiet)
		cp_log_set_level(CP_LOG_WARN);
	char **cmdv = argv + first;
	bool no_command = first >= argc;
	struct cp_record_opts o;
	cp_record_opts_init(&o);
	sampling_fill(&args, &o);
	o.perf.inherit = !no_inherit;
	char *cmdline = no_command ? cp_xstrdup("system-wide (-a)") : cmd_join_args(cmdv);
	o.command_line = cmdline;

	sigset_t set;
	sampling_block_signals(&set);

	struct run R = { .sigfd = -1, .no_command = no_command };
	R.child.pid = -1;
	R.child.pidfd = R.child.go_fd = R.child.err_fd = -1;
	struct cp_error err;
	rc = 1;
	if (!no_command && cp_proc_check_exec(cmdv[0], &err)) {
		cmd_error("record", "%s", err.msg);
		rc = 127;
		goto out;
	}
	if (periodic_start("record", &args, &R.P))
		goto out;
	if (!no_command && cp_proc_spawn(cmdv, &R.child, &err)) {
		cmd_error("record", "%s", err.msg);
		goto out;
	}
	R.rec = cp_recorder_new(&o, &err);
	if (!R.rec || cp_recorder_add_target(R.rec, args.all_cpus ? -1 : R.child.pid, &err)) {
		cmd_error("record", "%s", err.msg);
		/* the command never ran: kill the waiting child */
		if (R.child.pid > 0) {
			kill(R.child.pid, SIGKILL);
			waitpid(R.child.pid, NULL, 0);
		}
		cp_proc_close(&R.child);
		goto out;
	}
	periodic_anchor(&R.P, R.rec);
	R.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!no_command && cp_proc_release(&R.child, cmdv, &err)) {
		cmd_error("record", "%s", err.msg);
		cp_recorder_finish(R.rec, 127, NULL);
		rc = 127;
		goto out;
	}
	bool show = !args.quiet && cp_stderr_is_tty();
	int lrc = run_loop(&R, show);
	int code = R.exited ? cp_proc_exit_code(R.status) : no_command ? 0 : -1;
	if (cp_recorder_finish(R.rec, code, &err)) {
		cmd_error("record", "%s", err.msg);
		lrc = 1;
	}
	sampling_summary("record", R.rec, &args);
	if (periodic_finish("record", &R.P, R.rec, &args))
		lrc = 1;
	rc = lrc ? lrc : code;
out:
	periodic_finish("record", &R.P, NULL, &args); /* a failed start: stop the writer */
	if (R.sigfd >= 0)
		close(R.sigfd);
	cp_proc_close(&R.child);
	cp_recorder_free(R.rec);
	free(cmdline);
	return rc;
}
