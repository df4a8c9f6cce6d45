/* heap.h - allocation profiling: the tracker in the cprof process.
 *
 * libcprof-heap.so (lib/preload) runs in the target and writes one record
 * per allocation call into per-thread rings in shared memory (ring.h).
 * The tracker reads them, puts the threads' records in time order, and
 * keeps everything else here: the stacks (each sent once per thread and
 * stack slot), the live blocks, the peak with what each stack held live at
 * that moment (tracked online: a site's value is saved lazily the first
 * time it changes after a new peak), temporary allocations (freed by the
 * same thread before it allocated anything else), and in sampled mode the
 * unbiased estimates (Go's formula: a sample of size s taken with mean
 * interval r stands for 1 / (1 - exp(-s/r)) allocations).
 *
 * The result is a profile (lib/profile) streamed to cprof.data through the
 * recorder (lib/sample), which also symbolizes at the end.  Its samples
 * are per (stack, thread, time bucket) with these values, in this order:
 *
 *   alloc_objects/count, alloc_space/bytes   allocations made in the bucket
 *   inuse_objects/count, inuse_space/bytes   net change of live memory in
 *       the bucket (allocated minus freed, of the blocks the stack and
 *       thread allocated): summed over the run, what is live at the end
 *       (leaks); summed up to a time, the heap at that time
 *   peak_objects/count, peak_space/bytes     only in samples at the time of
 *       the peak: what each stack held live at the heap's peak
 *   temp_objects/count                        temporary allocations
 *
 * Buckets start 10 ms wide and double every 256 buckets, so a long run
 * keeps a timeline of a few hundred points.
 */
#ifndef CPROF_HEAP_H
#define CPROF_HEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

struct cp_heap_opts {
	const char *output;        /* "cprof.data" default, "-" stdout */
	const char *command_line;  /* for the file's meta */
	uint64_t sample_interval;  /* mean bytes between samples; 0: every allocation */
	uint64_t seed;             /* of the sampling intervals; 0: from the clock */
	bool frame_pointers;       /* walk frame pointers instead of unwinding */
	bool follow;               /* children (fork, exec) too */
	const char *lib;           /* libcprof-heap.so; NULL: cp_heap_find_lib() */
	pid_t attach;              /* a running process to attach to (cp_heap_attach), 0 none */
	double debuginfod_timeout; /* as cp_record_opts */
	const char *cache_dir;     /* as cp_record_opts */
	/* No data file (output is ignored): the caller takes the running
	 * totals as profiles, cp_heap_totals() and cp_heap_profile()
	 * (cprof serve -- command).  No time buckets, no peak. */
	bool live;
};
void cp_heap_opts_init(struct cp_heap_opts *o);

/* The interposer: $CPROF_HEAP_LIB, else libcprof-heap.so next to the
 * running cprof, else ../lib/cprof/libcprof-heap.so from it (installed).
 * A malloc'ed path, or NULL with CP_E_NOENT saying where it looked. */
char *cp_heap_find_lib(struct cp_error *err);

/* Whether the program at path (already found in $PATH) can have the
 * interposer preloaded: CP_E_UNSUPPORTED with the reason for a static
 * binary ("'x' is statically linked: ...") or one that runs setuid or
 * setgid as another user (the loader ignores LD_PRELOAD there). */
int cp_heap_check_program(const char *path, struct cp_error *err);

struct cp_heap;

/* The shared memory and the session; no file is written before the first
 * process loads the interposer. */
struct cp_heap *cp_heap_new(const struct cp_heap_opts *o, struct cp_error *err);
/* Put LD_PRELOAD and $CPROF_HEAP_FD in this process's environment for the
 * child about to be spawned (it inherits the descriptors); take them out
 * again with cp_heap_env_restore() once it is spawned. */
int cp_heap_env_set(struct cp_heap *h, struct cp_error *err);
void cp_heap_env_restore(struct cp_heap *h);
/* cprof heap -p: load the interposer into the running process o.attach
 * and redirect its allocation calls to it (see attach.c).  Its earlier
 * allocations are unknown: their frees are counted apart (unknown_frees).
 * CP_E_PERM when it may not be traced, CP_E_UNSUPPORTED when it cannot
 * take the library (another mount namespace, no glibc >= 2.34). */
int cp_heap_attach(struct cp_heap *h, pid_t pid, struct cp_error *err);
/* Stop recording and put its allocation calls back (nothing when it has
 * exited).  The process keeps running in either case. */
int cp_heap_detach(struct cp_heap *h, struct cp_error *err);
/* Read what the rings hold.  Returns the number of records read, or a
 * negative code when the data file cannot be written. */
long cp_heap_process(struct cp_heap *h, struct cp_error *err);
/* Read everything left (the target has exited), add the peak, write the
 * symbols and the end record.  CP_E_UNSUPPORTED when no process ever
 * loaded the interposer (nothing is written then). */
int cp_heap_finish(struct cp_heap *h, int exit_status, struct cp_error *err);

struct cp_heap_stats {
	uint64_t records;
	uint64_t allocs, frees;     /* calls recorded (sampled mode: sampled ones) */
	uint64_t unknown_frees;     /* of blocks allocated before the interposer saw them */
	uint64_t dropped;           /* records the interposer could not write */
	uint64_t processes, threads;
	double peak_bytes, peak_objects;
	double leaked_bytes, leaked_objects; /* live at the end */
	double alloc_bytes, alloc_objects;
	double temp_objects;
	uint64_t peak_time_ns;      /* since the start */
	uint64_t bytes;             /* of the data file */
	bool started;               /* a process loaded the interposer */
};
void cp_heap_stats(const struct cp_heap *h, struct cp_heap_stats *st);

/* Live mode (opts.live): every (stack, thread)'s running totals since the
 * start, as Go's heap profile counts them: alloc_objects, alloc_space,
 * inuse_objects, inuse_space (sampled mode: the estimates), 4 per site in
 * a row.  Sites only ever get added, so two takes can be subtracted. */
struct cp_heap_totals {
	int64_t *v;
	size_t n;    /* sites */
	uint64_t ns; /* when, CLOCK_MONOTONIC */
};
void cp_heap_totals(const struct cp_heap *h, struct cp_heap_totals *t);
void cp_heap_totals_release(struct cp_heap_totals *t);
/* The profile of now (minus base when not NULL: what happened between the
 * two takes, Go's heap?seconds=N), symbolized and self-contained, with
 * the value types of the file (peak and temp are 0) and inuse_space as the
 * default.  The caller frees it.  Not thread-safe against the other calls
 * on h: the caller serializes them. */
struct cp_profile *cp_heap_profile(struct cp_heap *h, const struct cp_heap_totals *now,
				   const struct cp_heap_totals *base);
void cp_heap_free(struct cp_heap *h);

#endif
