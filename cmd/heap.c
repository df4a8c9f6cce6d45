/* heap.c - `cprof heap [options] [--] command [args...]`: run a command
 * with the allocation interposer preloaded and write its heap profile to
 * cprof.data.  Options, signals, the progress line, the summary and the
 * exit status live here; the work is lib/heap's. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "core/core.h"
#include "heap/heap.h"
#include "proc/proc.h"

static const char *const usage[] = {
	"cprof heap [options] [--] <command> [<args>...]",
	"cprof heap [options] -p <pid> [-d <seconds>]",
	NULL,
};

static const char *output, *sample, *callgraph = "dwarf", *seed_arg;
static bool follow, quiet;
static long debuginfod_timeout = 30, pid_arg, duration;

static const struct cp_option options[] = {
	CP_OPT_STR_('o', "output", "FILE",
		    "write the profile to FILE (default cprof.data, - for stdout)", &output, "file"),
	CP_OPT_STR_(0, "sample", "SIZE",
		    "sample one allocation per SIZE bytes on average (K, M, G suffixes; "
		    "e.g. 512K) instead of recording every one",
		    &sample, NULL),
	CP_OPT_STR_(0, "seed", "N", "seed of the sampling intervals (default: from the clock)",
		    &seed_arg, NULL),
	CP_OPT_STR_(0, "call-graph", "MODE",
		    "dwarf (default: unwind with the binaries' CFI) or fp (frame pointers)",
		    &callgraph, "dwarf|fp"),
	CP_OPT_LONG_('p', "pid", "PID",
		     "attach to a running process: load the interposer into it and record its "
		     "allocations from now on, until -d, Ctrl-C or its exit",
		     &pid_arg, 1, 4194304),
	CP_OPT_LONG_('d', "duration", "SECONDS", "with -p: stop after SECONDS", &duration, 1,
		     31536000),
	CP_OPT_FLAG_('f', "follow", "follow child processes (fork and exec); default: "
		     "the command's own process only", &follow),
	CP_OPT_LONG_(0, "debuginfod-timeout", "SECONDS",
		     "with DEBUGINFOD_URLS set, fetch missing debug files for at most SECONDS "
		     "at the end (default 30, 0 = never)",
		     &debuginfod_timeout, 0, 3600),
	CP_OPT_FLAG_('q', "quiet", "no progress line or summary", &quiet),
	CP_OPT_END_,
};

static void progress(struct cp_heap *h, uint64_t start, bool final)
{
	struct cp_heap_stats st;
	cp_heap_stats(h, &st);
	char b[32];
	fprintf(stderr, "\rcprof heap: %.1f s, %llu allocations, %s live\033[K",
		(double)(cp_now_ns() - start) / 1e9, (unsigned long long)st.allocs,
		cp_format_bytes(st.leaked_bytes, b, sizeof(b)));
	if (final)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

static void summary(struct cp_heap *h)
{
	struct cp_heap_stats st;
	cp_heap_stats(h, &st);
	char a[32], p[32], l[32];
	fprintf(stderr,
		"cprof heap: %s%.0f allocations (%s), peak %s at %.3f s, %s in %.0f blocks "
		"live at exit, written to %s\n",
		sample ? "~" : "", st.alloc_objects, cp_format_bytes(st.alloc_bytes, a, sizeof(a)),
		cp_format_bytes(st.peak_bytes, p, sizeof(p)), (double)st.peak_time_ns / 1e9,
		cp_format_bytes(st.leaked_bytes, l, sizeof(l)), st.leaked_objects,
		!output ? "cprof.data" : strcmp(output, "-") ? output : "standard output");
	if (pid_arg)
		fprintf(stderr, "cprof heap: allocations made before cprof attached are unknown: "
				"%llu frees of such blocks not counted\n",
			(unsigned long long)st.unknown_frees);
	if (st.dropped)
		cmd_warning("heap", "%llu records lost (cprof could not keep up or was stopped)",
			    (unsigned long long)st.dropped);
}

/* How long to wait for the next round: while records flow, 100 us (a
 * round then reads a batch, and reading in batches disturbs the program
 * less than reading each record the moment it is written), none when the
 * last round read many (a ring fills in about a millisecond at full
 * speed); when nothing comes, 1 ms, then 10 ms. */
static int poll_wait(struct pollfd *fds, nfds_t n, int idle, long last)
{
	if (idle >= 10)
		return poll(fds, n, idle < 100 ? 1 : 10);
	if (last >= 4000)
		return poll(fds, n, 0);
	struct timespec d = { 0, 100000 };
	return ppoll(fds, n, &d, NULL);
}

/* Read the rings until the program is done.  A command cprof started
 * (child): until it exits; Ctrl-C reaches it through the terminal, a
 * kill(1) of cprof is passed on.  A process attached to (-p, child NULL):
 * until -d, a signal to cprof (not passed on: the process is not ours) or
 * its exit, then its allocation calls are put back. */
static int drain_loop(struct cp_heap *h, struct cp_child *child, pid_t pid, int sigfd,
		      int *status)
{
	struct cp_error err;
	uint64_t start = cp_now_ns(), last_progress = 0;
	uint64_t stop_at = !child && duration ? start + (uint64_t)duration * 1000000000ULL : 0;
	bool show = !quiet && cp_stderr_is_tty();
	int pidfd = child ? child->pidfd : (int)syscall(SYS_pidfd_open, pid, 0);
	int rc = 0, idle = 0;
	long last = 0;
	for (;;) {
		struct pollfd fds[2] = { { .fd = sigfd, .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN } };
		int pr = poll_wait(fds, pidfd >= 0 ? 2 : 1, idle, last);
		if (pr < 0 && errno != EINTR)
			break;
		bool stop = false;
		if (pr > 0 && (fds[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (!child)
					stop = true;
				else if (si.ssi_pid != 0)
					kill(child->pid, (int)si.ssi_signo);
			}
		}
		long n = 0;
		if (rc == 0) {
			n = cp_heap_process(h, &err);
			if (n < 0) {
				cmd_error("heap", "%s", err.msg);
				rc = 1; /* a command: keep waiting for it */
				stop = !child;
			}
		}
		idle = n > 0 ? 0 : idle + 1;
		last = n > 0 ? n : 0;
		if (child ? cp_proc_try_wait(child, status)
			  : pidfd >= 0 ? pr > 0 && (fds[1].revents & POLLIN) : !cp_proc_exists(pid))
			break;
		uint64_t now = cp_now_ns();
		if (stop || (stop_at && now >= stop_at)) {
			if (cp_heap_detach(h, &err)) {
				cmd_error("heap", "%s", err.msg);
				rc = 1;
			}
			break;
		}
		if (show && now - last_progress >= 250000000ULL) {
			last_progress = now;
			progress(h, start, false);
		}
	}
	if (show)
		progress(h, start, true);
	if (!child && pidfd >= 0)
		close(pidfd);
	return rc;
}

static int run_attach(struct cp_heap_opts *o)
{
	struct cp_error err;
	pid_t pid = (pid_t)pid_arg;
	if (!cp_proc_exists(pid)) {
		cmd_error("heap", "no process %d", (int)pid);
		return 1;
	}
	if (cp_proc_check_owner(pid, &err)) {
		cmd_error("heap", "%s", err.msg);
		return 1;
	}
	char *cmdline = cmd_proc_cmdline(pid);
	o->command_line = cmdline ? cmdline : "";
	o->attach = pid;
	struct cp_heap *h = cp_heap_new(o, &err);
	if (!h) {
		cmd_error("heap", "%s", err.msg);
		free(cmdline);
		return 1;
	}
	sigset_t set;
	sampling_block_signals(&set);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int rc = 1;
	if (cp_heap_attach(h, pid, &err)) {
		cmd_error("heap", "%s", err.msg);
	} else {
		rc = drain_loop(h, NULL, pid, sigfd, NULL);
		if (cp_heap_finish(h, -1, &err)) {
			cmd_error("heap", "%s", err.msg);
			rc = 1;
		} else if (!quiet) {
			summary(h);
		}
	}
	if (sigfd >= 0)
		close(sigfd);
	cp_heap_free(h);
	free(cmdline);
	return rc;
}

int cmd_heap(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("heap", usage, options, argc, argv, true, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (first >= argc && !pid_arg) {
		cp_die_usage("heap", usage, options, "no command given (or -p for a running process)");
		return 2;
	}
	if (first < argc && pid_arg) {
		cp_die_usage("heap", usage, options, "-p and a command: give one or the other");
		return 2;
	}
	if (duration && !pid_arg) {
		cp_die_usage("heap", usage, options, "-d goes with -p (a command runs to its end)");
		return 2;
	}
	struct cp_heap_opts o;
	cp_heap_opts_init(&o);
	if (sample && (cmd_parse_size(sample, &o.sample_interval) || !o.sample_interval)) {
		cp_die_usage("heap", usage, options,
			     "--sample: '%s' is not a size in bytes (512K, 1M, 4096)", sample);
		return 2;
	}
	long seed = 0;
	if (seed_arg && cp_parse_long(seed_arg, 1, INT64_MAX, &seed)) {
		cp_die_usage("heap", usage, options, "--seed: '%s' is not a positive number",
			     seed_arg);
		return 2;
	}
	if (strcmp(callgraph, "dwarf") && strcmp(callgraph, "fp")) {
		cp_die_usage("heap", usage, options, "--call-graph: '%s' is not dwarf or fp",
			     callgraph);
		return 2;
	}
	if (quiet)
		cp_log_set_level(CP_LOG_WARN);
	char *cache = cp_cache_dir();
	o.output = output ? output : "cprof.data";
	o.seed = (uint64_t)seed;
	o.frame_pointers = !strcmp(callgraph, "fp");
	o.follow = follow;
	o.debuginfod_timeout = (double)debuginfod_timeout;
	o.cache_dir = cache;
	if (pid_arg) {
		rc = run_attach(&o);
		free(cache);
		return rc;
	}
	char **cmdv = argv + first;
	char *cmdline = cmd_join_args(cmdv);
	o.command_line = cmdline;

	struct cp_child child = { .pid = -1, .go_fd = -1, .err_fd = -1, .pidfd = -1 };
	struct cp_heap *h = NULL;
	struct cp_error err;
	int sigfd = -1;
	rc = 1;
	if (cp_proc_check_exec(cmdv[0], &err)) {
		cmd_error("heap", "%s", err.msg);
		rc = 127;
		goto out;
	}
	char *path = cp_proc_find_exec(cmdv[0]);
	int crc = path ? cp_heap_check_program(path, &err) : 0;
	free(path);
	if (crc) {
		cmd_error("heap", "%s", err.msg);
		goto out;
	}
	h = cp_heap_new(&o, &err);
	if (!h) {
		cmd_error("heap", "%s", err.msg);
		goto out;
	}
	sigset_t set;
	sampling_block_signals(&set);
	if (cp_heap_env_set(h, &err)) {
		cmd_error("heap", "%s", err.msg);
		goto out;
	}
	int src = cp_proc_spawn(cmdv, &child, &err);
	cp_heap_env_restore(h);
	if (src) {
		cmd_error("heap", "%s", err.msg);
		goto out;
	}
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (cp_proc_release(&child, cmdv, &err)) {
		cmd_error("heap", "%s", err.msg);
		rc = 127;
		goto out;
	}
	int status = 0;
	int lrc = drain_loop(h, &child, child.pid, sigfd, &status);
	int code = cp_proc_exit_code(status);
	if (cp_heap_finish(h, code, &err)) {
		cmd_error("heap", "%s", err.msg);
		lrc = 1;
	} else if (!quiet) {
		summary(h);
	}
	rc = lrc ? lrc : code;
out:
	if (sigfd >= 0)
		close(sigfd);
	cp_proc_close(&child);
	cp_heap_free(h);
	free(cmdline);
	free(cache);
	return rc;
}
