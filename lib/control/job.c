/* job.c - what a start command runs on the agent: cpu (lib/session: the
 * listed pids, or the whole host as perf -a) or heap (lib/heap: the
 * interposer loaded into one running process, sampled, as cprof heap -p)
 * for the command's duration.  A job runs in a thread of its own and
 * wakes the agent (an eventfd) when it ends; the agent then takes its
 * profile. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "control/control-int.h"
#include "heap/heap.h"
#include "profile/profile.h"
#include "proc/proc.h"
#include "session/session.h"

struct job {
	char id[CP_UUID_LEN + 1];
	bool heap;
	struct cp_session *sess;
	struct cp_heap *h;
	pthread_t thread; /* heap mode */
	atomic_bool stop;
	pid_t pid;
	uint64_t started_ns, ends_ns;
	int wake_fd;
	pthread_mutex_t lock;
	bool done;
	struct cp_profile *profile; /* heap mode's result */
	char error[512];
};

static void wake(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the agent is awake anyway */
	}
}

static void cpu_done(void *arg, const struct cp_profile *p)
{
	(void)p;
	struct job *j = arg;
	wake(j->wake_fd);
}

static void *heap_run(void *arg)
{
	struct job *j = arg;
	struct cp_error err = { 0 };
	int failed = 0;
	while (!atomic_load(&j->stop) && cp_now_ns() < j->ends_ns && cp_proc_exists(j->pid)) {
		if (cp_heap_process(j->h, &err) < 0) {
			failed = 1;
			break;
		}
		struct timespec ts = { 0, 20000000 }; /* the rings hold seconds of records */
		nanosleep(&ts, NULL);
	}
	cp_heap_process(j->h, &err);
	struct cp_profile *p = NULL;
	if (!failed) {
		struct cp_heap_totals t;
		cp_heap_totals(j->h, &t);
		p = cp_heap_profile(j->h, &t, NULL);
		cp_heap_totals_release(&t);
	}
	struct cp_error derr = { 0 };
	cp_heap_detach(j->h, &derr); /* the process keeps running, its calls put back */
	pthread_mutex_lock(&j->lock);
	j->profile = p;
	if (!p)
		snprintf(j->error, sizeof(j->error), "%s", err.msg[0] ? err.msg : "heap profiling failed");
	j->done = true;
	pthread_mutex_unlock(&j->lock);
	wake(j->wake_fd);
	return NULL;
}

struct job *job_start(const struct cp_control_command *cmd, const struct cp_agent_opts *o,
		      int wake_fd, struct cp_error *err)
{
	struct job *j = cp_xcalloc(1, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", cmd->command_id);
	j->wake_fd = wake_fd;
	j->started_ns = cp_now_ns();
	j->ends_ns = j->started_ns + (uint64_t)cmd->duration * 1000000000ull;
	pthread_mutex_init(&j->lock, NULL);
	if (!strcmp(cmd->mode, "cpu") || !*cmd->mode) {
		struct cp_session_opts so = { .npids = cmd->npids,
					      .system_wide = cmd->npids == 0,
					      .duration_ns = (uint64_t)cmd->duration * 1000000000ull,
					      .freq = (int)cmd->frequency,
					      .cache_dir = o->cache_dir,
					      .done = cpu_done,
					      .done_arg = j };
		if (cmd->npids > CP_SESSION_MAX_PIDS) {
			cp_error_set(err, CP_E_USAGE, "at most %d pids", CP_SESSION_MAX_PIDS);
			goto fail;
		}
		for (int i = 0; i < cmd->npids; i++)
			so.pids[i] = cmd->pids[i];
		j->sess = cp_session_start(&so, err);
		if (!j->sess)
			goto fail;
		return j;
	}
	if (!strcmp(cmd->mode, "heap")) {
		j->heap = true;
		if (cmd->npids != 1) {
			cp_error_set(err, CP_E_USAGE, "heap mode takes one pid (cprof heap -p), not %d",
				     cmd->npids);
			goto fail;
		}
		j->pid = cmd->pids[0];
		if (!cp_proc_exists(j->pid)) {
			cp_error_set(err, CP_E_NOENT, "no process %d", (int)j->pid);
			goto fail;
		}
		struct cp_heap_opts ho;
		cp_heap_opts_init(&ho);
		ho.live = true;
		ho.attach = j->pid;
		ho.sample_interval = o->heap_sample ? o->heap_sample : 524288;
		ho.cache_dir = o->cache_dir;
		ho.debuginfod_timeout = 0;
		ho.command_line = "";
		j->h = cp_heap_new(&ho, err);
		if (!j->h || cp_heap_attach(j->h, j->pid, err))
			goto fail;
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int rc = pthread_create(&j->thread, NULL, heap_run, j);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc) {
			struct cp_error derr = { 0 };
			cp_heap_detach(j->h, &derr);
			cp_error_errno(err, CP_E_FAIL, rc, "cannot start a thread");
			goto fail;
		}
		return j;
	}
	cp_error_set(err, CP_E_USAGE, "unknown profiling mode '%.16s' (there are cpu and heap)",
		     cmd->mode);
fail:
	if (j->h)
		cp_heap_free(j->h);
	pthread_mutex_destroy(&j->lock);
	free(j);
	return NULL;
}

const char *job_id(const struct job *j)
{
	return j->id;
}

bool job_done(struct job *j)
{
	if (!j->heap)
		return cp_session_wait(j->sess, 1);
	pthread_mutex_lock(&j->lock);
	bool d = j->done;
	pthread_mutex_unlock(&j->lock);
	return d;
}

void job_stop(struct job *j)
{
	if (j->heap)
		atomic_store(&j->stop, true);
	else
		cp_session_stop(j->sess);
}

/* Wait for the end; the profile (borrowed until job_free) or NULL with
 * why. */
const struct cp_profile *job_finish(struct job *j, double *seconds, char *why, size_t whysz)
{
	const struct cp_profile *p = NULL;
	if (j->heap) {
		pthread_join(j->thread, NULL);
		j->thread = 0;
		p = j->profile;
		snprintf(why, whysz, "%s", j->error);
	} else {
		cp_session_wait(j->sess, 0);
		p = cp_session_profile(j->sess);
		if (!p) {
			struct cp_session_status st;
			cp_session_status(j->sess, &st);
			snprintf(why, whysz, "%s", st.error);
		}
	}
	*seconds = (double)(cp_now_ns() - j->started_ns) / 1e9;
	return p;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->heap) {
		if (j->thread) {
			atomic_store(&j->stop, true);
			pthread_join(j->thread, NULL);
		}
		cp_heap_free(j->h);
		cp_profile_free(j->profile);
	} else {
		cp_session_free(j->sess);
	}
	pthread_mutex_destroy(&j->lock);
	free(j);
}
