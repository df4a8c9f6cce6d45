/* session.c - a profiling job in its own thread (see session.h): a
 * recorder in continuous mode attached to the processes, read until the
 * end time, a stop request or the processes' exit, then cut into one
 * self-contained profile. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "proc/proc.h"
#include "sample/sample.h"
#include "session/session.h"

struct cp_session {
	struct cp_session_opts opts;
	struct cp_recorder *rec;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	atomic_bool stop;
	bool done, joined;
	enum cp_session_state state;
	char error[512];
	uint64_t started_ns, ends_ns, first_sample_ns, samples;
	struct cp_profile *profile;
};

static bool all_gone(const struct cp_session *s)
{
	if (s->opts.system_wide)
		return false;
	for (int i = 0; i < s->opts.npids; i++)
		if (cp_proc_exists(s->opts.pids[i]))
			return false;
	return true;
}

/* Sessions that end together symbolize one after another beyond one per
 * CPU: symbolizing is CPU-bound, so more at once would finish no sooner
 * and hold every one's symbol tables in memory at the same time. */
static pthread_mutex_t symbolizing_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t symbolizing_cv = PTHREAD_COND_INITIALIZER;
static long symbolizing;

static void symbolize_slot(bool take)
{
	static long max;
	pthread_mutex_lock(&symbolizing_lock);
	if (!max) {
		max = sysconf(_SC_NPROCESSORS_ONLN);
		if (max < 1)
			max = 1;
	}
	if (take) {
		while (symbolizing >= max)
			pthread_cond_wait(&symbolizing_cv, &symbolizing_lock);
		symbolizing++;
	} else {
		symbolizing--;
		pthread_cond_signal(&symbolizing_cv);
	}
	pthread_mutex_unlock(&symbolizing_lock);
}

static void *run(void *arg)
{
	struct cp_session *s = arg;
	struct cp_error err = { 0 };
	bool failed = false;
	while (!atomic_load(&s->stop) && cp_now_ns() < s->ends_ns) {
		struct pollfd fds[256];
		int n = cp_recorder_pollfds(s->rec, fds, 256);
		poll(fds, (nfds_t)n, 10);
		if (cp_recorder_process(s->rec, &err)) {
			failed = true;
			break;
		}
		struct cp_record_stats st;
		cp_recorder_stats(s->rec, &st);
		pthread_mutex_lock(&s->lock);
		s->samples = st.samples;
		if (st.samples && !s->first_sample_ns)
			s->first_sample_ns = st.first_sample_ns ? st.first_sample_ns : 1;
		pthread_mutex_unlock(&s->lock);
		if (all_gone(s))
			break;
	}
	struct cp_profile *p = NULL;
	if (!failed && cp_recorder_finish(s->rec, -1, &err) == 0) {
		symbolize_slot(true);
		p = cp_recorder_cut(s->rec, 0);
		cp_recorder_free(s->rec);
		s->rec = NULL;
		symbolize_slot(false);
	}
	/* the profile stands alone: the counters, their buffers and the
	 * symbol tables go now, not when the finished session is forgotten */
	cp_recorder_free(s->rec);
	s->rec = NULL;
	if (p && s->opts.done)
		s->opts.done(s->opts.done_arg, p);
	pthread_mutex_lock(&s->lock);
	s->profile = p;
	s->state = p ? CP_SESSION_DONE : CP_SESSION_FAILED;
	if (!p)
		snprintf(s->error, sizeof(s->error), "%s", err.msg[0] ? err.msg : "recording failed");
	if (p)
		s->samples = p->samples.n;
	s->done = true;
	pthread_cond_broadcast(&s->done_cv);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct cp_session *cp_session_start(const struct cp_session_opts *o, struct cp_error *err)
{
	if (o->system_wide ? o->npids != 0 : o->npids < 1 || o->npids > CP_SESSION_MAX_PIDS) {
		cp_error_set(err, CP_E_USAGE, "a session takes 1 to %d processes", CP_SESSION_MAX_PIDS);
		return NULL;
	}
	struct cp_session *s = cp_xcalloc(1, sizeof(*s));
	s->opts = *o;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	struct cp_record_opts ro;
	cp_record_opts_init(&ro);
	ro.periodic = true;
	ro.sampler = CP_SAMPLER_PERF; /* ptrace sampling needs the tracer thread: not here */
	ro.perf.attach = !o->system_wide;
	ro.perf.system_wide = o->system_wide;
	ro.perf.freq = o->freq;
	ro.perf.inherit = !o->system_wide;
	ro.cache_dir = o->cache_dir;
	ro.debuginfod_timeout = 0;
	ro.command_line = "";
	s->rec = cp_recorder_new(&ro, err);
	if (!s->rec)
		goto fail;
	if (o->system_wide && cp_recorder_add_target(s->rec, -1, err))
		goto fail;
	for (int i = 0; i < o->npids; i++) {
		if (!cp_proc_exists(o->pids[i])) {
			cp_error_set(err, CP_E_NOENT, "no process %d", (int)o->pids[i]);
			goto fail;
		}
		if (cp_recorder_add_target(s->rec, o->pids[i], err))
			goto fail;
	}
	s->started_ns = cp_now_ns();
	s->ends_ns = s->started_ns + o->duration_ns;
	s->state = CP_SESSION_RUNNING;
	/* the job's thread takes no signals: the server's main thread does */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, run, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		cp_error_errno(err, CP_E_FAIL, rc, "cannot start a session thread");
		goto fail;
	}
	return s;
fail:
	cp_recorder_free(s->rec);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->done_cv);
	free(s);
	return NULL;
}

void cp_session_status(struct cp_session *s, struct cp_session_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->state = s->state;
	st->samples = s->samples;
	st->started_ns = s->started_ns;
	st->ends_ns = s->ends_ns;
	st->first_sample_ns = s->first_sample_ns;
	memcpy(st->error, s->error, sizeof(st->error));
	pthread_mutex_unlock(&s->lock);
}

bool cp_session_wait(struct cp_session *s, uint64_t timeout_ns)
{
	pthread_mutex_lock(&s->lock);
	if (timeout_ns) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + timeout_ns;
		ts.tv_sec = (time_t)(t / 1000000000ull);
		ts.tv_nsec = (long)(t % 1000000000ull);
		while (!s->done && pthread_cond_timedwait(&s->done_cv, &s->lock, &ts) != ETIMEDOUT)
			;
	} else {
		while (!s->done)
			pthread_cond_wait(&s->done_cv, &s->lock);
	}
	bool done = s->done;
	pthread_mutex_unlock(&s->lock);
	return done;
}

void cp_session_stop(struct cp_session *s)
{
	atomic_store(&s->stop, true);
}

const struct cp_profile *cp_session_profile(struct cp_session *s)
{
	pthread_mutex_lock(&s->lock);
	const struct cp_profile *p = s->done ? s->profile : NULL;
	pthread_mutex_unlock(&s->lock);
	return p;
}

void cp_session_free(struct cp_session *s)
{
	if (!s)
		return;
	cp_session_stop(s);
	pthread_join(s->thread, NULL);
	cp_recorder_free(s->rec);
	cp_profile_free(s->profile);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->done_cv);
	free(s);
}
