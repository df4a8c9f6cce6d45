/* app.c - `cprof serve -- command`: the program the server runs itself,
 * with libcprof-heap.so preloaded in sampled mode (lib/heap, live: no
 * file).  The main thread reads the interposer's rings until the program
 * exits; request threads take its running totals as heap profiles.  One
 * lock serializes the two, since the tracker and its recorder are not
 * thread-safe; a condition tells waiting delta profiles that the program
 * is gone. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap/heap.h"
#include "proc/proc.h"
#include "serve/serve-int.h"

struct cp_serve_app {
	struct cp_heap *h;
	struct cp_child child;
	char **argv;
	pid_t pid;
	bool released, exited;
	pthread_mutex_t lock;
	pthread_cond_t done;
};

struct cp_serve_app *cp_serve_app_spawn(char **argv, const char *command_line,
					uint64_t sample_interval, const char *cache_dir,
					struct cp_error *err)
{
	if (cp_proc_check_exec(argv[0], err))
		return NULL;
	char *path = cp_proc_find_exec(argv[0]);
	int crc = path ? cp_heap_check_program(path, err) : 0;
	free(path);
	if (crc)
		return NULL;
	struct cp_heap_opts o;
	cp_heap_opts_init(&o);
	o.live = true;
	o.sample_interval = sample_interval;
	o.cache_dir = cache_dir;
	o.debuginfod_timeout = 0; /* symbols come at request time: no waiting on a network */
	struct cp_serve_app *a = cp_xcalloc(1, sizeof(*a));
	a->child = (struct cp_child){ .pid = -1, .go_fd = -1, .err_fd = -1, .pidfd = -1 };
	a->argv = argv;
	pthread_mutex_init(&a->lock, NULL);
	cp_cond_init(&a->done);
	o.command_line = command_line;
	a->h = cp_heap_new(&o, err);
	if (!a->h || cp_heap_env_set(a->h, err)) {
		cp_serve_app_free(a);
		return NULL;
	}
	int src = cp_proc_spawn(argv, &a->child, err);
	cp_heap_env_restore(a->h);
	if (src) {
		cp_serve_app_free(a);
		return NULL;
	}
	a->pid = a->child.pid;
	return a;
}

pid_t cp_serve_app_pid(const struct cp_serve_app *a)
{
	return a ? a->pid : 0;
}

int cp_serve_app_run(struct cp_serve_app *a, int sigfd, struct cp_error *err)
{
	a->released = true;
	if (cp_proc_release(&a->child, a->argv, err)) {
		pthread_mutex_lock(&a->lock);
		a->exited = true;
		pthread_cond_broadcast(&a->done);
		pthread_mutex_unlock(&a->lock);
		return 127;
	}
	int status = 0, idle = 0, rc = 0;
	for (;;) {
		struct pollfd fds[2] = { { .fd = sigfd, .events = POLLIN },
					 { .fd = a->child.pidfd, .events = POLLIN } };
		/* records flow: every millisecond (a sampled program writes few);
		 * none for a while: every 10 ms */
		poll(fds, a->child.pidfd >= 0 ? 2 : 1, idle < 100 ? 1 : 10);
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			/* signals sent to cprof (kill, systemd) go on to the program;
			 * a terminal's Ctrl-C reaches it by itself */
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_pid != 0)
					kill(a->pid, (int)si.ssi_signo);
		}
		pthread_mutex_lock(&a->lock);
		long n = rc ? 0 : cp_heap_process(a->h, err);
		pthread_mutex_unlock(&a->lock);
		if (n < 0) {
			cp_log(CP_LOG_ERROR, "heap: %s", err->msg);
			rc = 1; /* no more heap records; the program runs on */
		}
		idle = n > 0 ? 0 : idle + 1;
		if (cp_proc_try_wait(&a->child, &status))
			break;
	}
	int code = cp_proc_exit_code(status);
	pthread_mutex_lock(&a->lock);
	struct cp_error ferr;
	if (cp_heap_finish(a->h, code, &ferr) && ferr.code != CP_E_UNSUPPORTED)
		cp_log(CP_LOG_ERROR, "heap: %s", ferr.msg);
	a->exited = true;
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->lock);
	return code;
}

/* Wait until deadline (CLOCK_MONOTONIC ns) or the program's exit. */
static void wait_until(struct cp_serve_app *a, uint64_t deadline)
{
	pthread_mutex_lock(&a->lock);
	while (!a->exited && cp_cond_wait_until(&a->done, &a->lock, deadline))
		;
	pthread_mutex_unlock(&a->lock);
}

struct cp_profile *cp_serve_app_heap(struct cp_serve_app *a, long seconds, struct cp_error *err)
{
	struct cp_heap_totals base = { 0 }, now = { 0 };
	pthread_mutex_lock(&a->lock);
	struct cp_heap_stats st;
	cp_heap_stats(a->h, &st);
	if (!st.started) {
		pthread_mutex_unlock(&a->lock);
		cp_error_set(err, CP_E_NOENT,
			     "process %d has not loaded libcprof-heap.so (yet): no allocation seen",
			     (int)a->pid);
		return NULL;
	}
	if (seconds > 0) {
		cp_heap_totals(a->h, &base);
		pthread_mutex_unlock(&a->lock);
		wait_until(a, base.ns + (uint64_t)seconds * 1000000000ull);
		pthread_mutex_lock(&a->lock);
	}
	cp_heap_totals(a->h, &now);
	struct cp_profile *p = cp_heap_profile(a->h, &now, seconds > 0 ? &base : NULL);
	pthread_mutex_unlock(&a->lock);
	cp_heap_totals_release(&base);
	cp_heap_totals_release(&now);
	return p;
}

void cp_serve_app_free(struct cp_serve_app *a)
{
	if (!a)
		return;
	if (!a->released && a->child.pid > 0) {
		/* held before its exec: still a copy of cprof, not the program */
		kill(a->child.pid, SIGKILL);
		while (waitpid(a->child.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	cp_proc_close(&a->child);
	cp_heap_free(a->h);
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
