/* session.h - a bounded profiling job on running processes: sample them
 * (perf_event, attach mode) for a duration at a frequency, in a thread of
 * its own, and hand out the profile.  Used by cprof serve (its pprof
 * endpoints and sessions API), later by the agent.
 *
 * The job never stops or signals the processes; cancelling it (or its
 * target exiting) ends it early with what was taken so far.
 */
#ifndef CPROF_SESSION_H
#define CPROF_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

struct cp_profile;

#define CP_SESSION_MAX_PIDS 64

struct cp_session_opts {
	pid_t pids[CP_SESSION_MAX_PIDS];
	int npids;
	bool system_wide;  /* every process on every CPU (perf -a); npids 0 */
	uint64_t duration_ns;
	int freq;          /* Hz */
	const char *cache_dir; /* symbol cache, NULL none */
	/* Called in the job's thread with the finished profile, before the
	 * job shows as done (cprof serve stores it); NULL none. */
	void (*done)(void *arg, const struct cp_profile *p);
	void *done_arg;
};

enum cp_session_state { CP_SESSION_RUNNING, CP_SESSION_DONE, CP_SESSION_FAILED };

struct cp_session_status {
	enum cp_session_state state;
	uint64_t samples;
	uint64_t started_ns;      /* CLOCK_MONOTONIC */
	uint64_t ends_ns;         /* planned end */
	uint64_t first_sample_ns; /* after the start, 0 none yet */
	char error[512];          /* FAILED: why */
};

struct cp_session;

/* Start sampling (the counters are open when this returns; errors such as
 * "no process 12" or a permission problem come back here, CP_E_*). */
struct cp_session *cp_session_start(const struct cp_session_opts *o, struct cp_error *err);
void cp_session_status(struct cp_session *s, struct cp_session_status *st);
/* Wait until the job ends, at most timeout_ns (0: forever); true when it has. */
bool cp_session_wait(struct cp_session *s, uint64_t timeout_ns);
/* End it now (what was sampled is kept). */
void cp_session_stop(struct cp_session *s);
/* The finished job's profile, symbolized (borrowed: valid until
 * cp_session_free); NULL while running or when it failed. */
const struct cp_profile *cp_session_profile(struct cp_session *s);
/* Stop, join and free. */
void cp_session_free(struct cp_session *s);

#endif
