/* heap-int.h - the tracker's state, shared by the files of lib/heap:
 * setup.c (shared memory, environment) and tracker.c (reading the rings,
 * accounting).  Not for other modules: they use heap.h. */
#ifndef CPROF_HEAP_INT_H
#define CPROF_HEAP_INT_H

#include "heap/heap.h"
#include "heap/ring.h"

#include "profile/profile.h"
#include "sample/sample.h"

/* value indices, in the order of heap.h */
enum { HV_ALLOC_N, HV_ALLOC_B, HV_INUSE_N, HV_INUSE_B, HV_PEAK_N, HV_PEAK_B, HV_TEMP_N, HV_N };

/* live.c: address -> value, keys and values side by side */
struct heap_live_ent {
	uint64_t key, val;
};
struct heap_live {
	struct heap_live_ent *e;
	size_t n, cap;
	unsigned shift;
};
/* The value slot of key, NULL when absent (valid until the next put). */
uint64_t *heap_live_find(struct heap_live *m, uint64_t key);
void heap_live_put(struct heap_live *m, uint64_t key, uint64_t val); /* key != 0 */
/* Remove the entry whose value slot heap_live_find returned. */
void heap_live_del(struct heap_live *m, uint64_t *val);
void heap_live_release(struct heap_live *m);

/* One (stack, thread): what it allocated, what it holds, its value at the
 * latest peak, and the cumulative values already written. */
struct heap_site {
	uint32_t stack, pid, tid;
	const char *comm;
	double live_n, live_b;
	double snap_n, snap_b; /* live at the peak numbered snap_for */
	uint64_t snap_for, last_mod;
	double acc[HV_N];      /* cumulative true values */
	int64_t written[HV_N]; /* cumulative values written (rounded) */
	uint32_t next_dirty;   /* list of sites changed in the current bucket */
	bool dirty;
};

/* The reader's state of one ring. */
struct heap_reader {
	uint32_t stacks[CP_HEAP_SLOTS]; /* slot -> model stack + 1, 0 none */
	uint32_t sites[CP_HEAP_SLOTS];  /* slot -> its site (stack, this thread) + 1, 0 unknown */
	uint32_t tid, pid;
	const char *comm;
	uint64_t last_ptr; /* the thread's last allocation, for temporaries */
	bool last_valid;
	bool ack_exit;     /* answer the EXIT record after this round */
	uint64_t seen_inflight, lb; /* see heap_watermark() */
	uint64_t pos, head, next_ts; /* this round: cursor, end, time of the next timed record */
};

struct cp_heap {
	struct cp_heap_opts opts;
	char *lib;
	struct cp_heap_shm *shm;
	size_t shm_size;
	int shm_fd, pipe_rd, pipe_wr;
	char *saved_preload;
	char *attach_dir;  /* cprof heap -p: the shared files' directory */
	pid_t attached;    /* the process attached to, 0 none */
	uint64_t detach_fn; /* cprof_heap_detach in it */

	struct cp_recorder *rec;
	struct cp_profile *model;
	bool started, finished;
	uint64_t start_ns;

	/* the events' clock: TSC ticks (converted with the rate measured
	 * since tsc0, ns0) or CLOCK_MONOTONIC */
	bool tsc;
	uint64_t tsc0, ns0;
	double ns_per_tick;

	struct heap_reader **readers; /* per ring, made on first use */
	uint64_t prev_T;

	CP_VEC(struct heap_site) sites;
	struct cp_u64map site_index; /* stack | tid << 32 -> site */
	uint32_t dirty_head;         /* first dirty site + 1, 0 none */
	struct heap_live live;       /* block address -> site << 40 | size */

	/* peak */
	uint64_t seq, peak_seq;
	double total_n, total_b, peak_n, peak_b;
	uint64_t peak_ts;

	/* time buckets (target clock, CLOCK_MONOTONIC) */
	uint64_t bucket_start, bucket_end, bucket_width;
	uint32_t nbuckets;

	struct cp_heap_stats st;
	uint32_t unknown_stack; /* model stack for records naming an undefined slot */
};

int heap_shm_create(struct cp_heap *h, struct cp_error *err);
void heap_shm_release(struct cp_heap *h);
/* cprof heap -p: remove the shared files once the target has them open. */
void heap_attach_dir_remove(struct cp_heap *h);

#endif
