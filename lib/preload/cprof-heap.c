/* cprof-heap.c - libcprof-heap.so, the allocation interposer `cprof heap`
 * preloads into the program it profiles.
 *
 * It does as little as it can in the target: for each allocation call it
 * takes the stack (libunwind's cached unw_backtrace, or frame pointers),
 * looks the stack up in the thread's cache of stacks already sent, and
 * writes a record into the thread's own ring (lib/heap/ring.h).  No lock
 * is shared between threads; everything else (stacks, live blocks, peak,
 * leaks, symbols) happens in cprof.  In sampled mode an allocation is
 * recorded when the thread's byte countdown runs out (exponential
 * intervals, as tcmalloc and Go do), and a free is recorded only when its
 * block was sampled: one probe of a table of sampled blocks.
 *
 * Reentrancy: the first dlsym() of the real functions may allocate (served
 * from a static buffer), and so may libunwind: a thread inside the
 * interposer calls straight through.  Forks: the child follows with
 * CP_HEAP_F_FOLLOW (new rings), else it calls through and never records.
 * When cprof is gone (its pipe hangs up) or asks to stop, everything calls
 * through.  Nothing here calls exit or prints.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "heap/ring.h"
#include "preload/preload.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- the real functions ---------------------------------------------------- */

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

/* dlsym may allocate before the real functions are known */
static char boot_buf[64 << 10] __attribute__((aligned(16)));
static size_t boot_used;

static bool in_boot(const void *p)
{
	return (const char *)p >= boot_buf && (const char *)p < boot_buf + sizeof(boot_buf);
}

static void *boot_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot_buf))
		return NULL;
	void *p = boot_buf + boot_used;
	boot_used += n;
	return p;
}

static int resolving;

static void resolve(void)
{
	if (real_malloc || resolving)
		return;
	resolving = 1;
	real_free = dlsym(RTLD_NEXT, "free");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	void *m = dlsym(RTLD_NEXT, "malloc");
	__atomic_store_n(&real_malloc, m, __ATOMIC_RELEASE);
	resolving = 0;
}

/* ---- process state --------------------------------------------------------- */

static struct cp_heap_shm *shm;  /* NULL: not recording */
static int pipe_fd = -1;         /* hangs up when cprof is gone */
static volatile int off;         /* call through, record nothing */
static uint64_t interval;        /* sampled mode: mean bytes between samples */
static bool use_fp;
static uintptr_t self_lo, self_hi; /* this library's code: frames skipped */
static pthread_key_t exit_key;

/* sampled mode: the blocks that were sampled (open addressing; 1 marks a
 * deleted entry) */
#define SAMPLED_BITS 18
#define SAMPLED_SIZE (1u << SAMPLED_BITS)
static _Atomic uintptr_t *sampled;
static _Atomic long sampled_live;

struct tstate {
	struct cp_heap_ring *ring;
	int busy;       /* inside the interposer: call through */
	int dead;       /* the thread's exit was sent */
	int64_t left;   /* sampled mode: bytes until the next sample */
	uint64_t rng;
	uint64_t tail_seen; /* the ring's tail when last read */
	struct cp_heap_ring *tail_ring;
	uint32_t tid;
};
static TLS struct tstate ts;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static bool use_tsc;

/* The time of an event: the TSC where it is constant and runs through
 * sleep states (cprof converts), else CLOCK_MONOTONIC.  lfence: not read
 * before the announcement of the event is visible. */
static inline uint64_t event_time(void)
{
	if (LIKELY(use_tsc)) {
		uint32_t lo, hi;
		__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
		return (uint64_t)hi << 32 | lo;
	}
	return now_ns();
}

static bool cprof_gone(int wait_ms)
{
	struct pollfd p = { .fd = pipe_fd, .events = POLLIN };
	int n = poll(&p, 1, wait_ms);
	return n > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLIN));
}

static bool recording(void)
{
	if (UNLIKELY(off) || !shm)
		return false;
	if (UNLIKELY(atomic_load_explicit(&shm->stop, memory_order_relaxed))) {
		off = 1;
		return false;
	}
	return true;
}

/* ---- rings ------------------------------------------------------------------ */

static void thread_name(uint64_t w[2])
{
	char name[17] = "";
	prctl(PR_GET_NAME, name, 0, 0, 0);
	memcpy(w, name, 16);
}

static void lock_overflow(void)
{
	while (atomic_exchange_explicit(&shm->overflow_lock, 1, memory_order_acquire))
		sched_yield();
}

static void unlock_overflow(void)
{
	atomic_store_explicit(&shm->overflow_lock, 0, memory_order_release);
}

static bool shared_ring(const struct cp_heap_ring *r)
{
	return r == &shm->rings[0];
}

/* Room for `words` contiguous words at the head, after a PAD record when
 * the tail of the ring is too short.  Waits (idle, so cprof can order
 * everyone else's records) while cprof catches up; false when cprof is
 * gone or asked to stop. */
static bool reserve(struct cp_heap_ring *r, unsigned words)
{
	const uint64_t size = CP_HEAP_RING_BYTES;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* the last tail seen: reading cprof's cache line on every record
	 * would cost a cache miss each time */
	if (head + (uint64_t)words * 8 + 8 <= ts.tail_seen + size - 8 &&
	    (head % size) + (uint64_t)words * 8 <= size && ts.tail_ring == r)
		return true;
	ts.tail_ring = r;
	for (int spins = 0;; spins++) {
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		ts.tail_seen = tail;
		uint64_t at = head % size;
		uint64_t to_end = size - at;
		uint64_t need = (uint64_t)words * 8;
		if (to_end < need)
			need += to_end;
		if (size - (head - tail) >= need) {
			if (to_end < (uint64_t)words * 8) {
				r->data[at / 8] = CP_HEAP_HDR(CP_HEAP_REC_PAD, 0, 0);
				atomic_store_explicit(&r->head, head + to_end, memory_order_release);
			}
			return true;
		}
		if (!recording())
			return false;
		if (spins < 64) {
			sched_yield();
			continue;
		}
		if (cprof_gone(1)) {
			off = 1;
			return false;
		}
	}
}

static uint64_t *slot_at(struct cp_heap_ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	return &r->data[(head % CP_HEAP_RING_BYTES) / 8];
}

static void publish(struct cp_heap_ring *r, unsigned words)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	atomic_store_explicit(&r->head, head + (uint64_t)words * 8, memory_order_release);
}

/* A record without a time (stack, thread) */
static bool put(struct cp_heap_ring *r, uint64_t hdr, const uint64_t *w, unsigned n)
{
	if (!reserve(r, n + 1))
		return false;
	uint64_t *d = slot_at(r);
	d[0] = hdr;
	memcpy(d + 1, w, n * 8);
	publish(r, n + 1);
	return true;
}

static void release_ring(struct cp_heap_ring *r)
{
	uint64_t w[2];
	thread_name(w);
	put(r, CP_HEAP_HDR(CP_HEAP_REC_THREAD_END, 3, ts.tid), w, 2);
	atomic_store_explicit(&r->closed, 1, memory_order_release);
}

/* THREAD record: the name, then the process */
static bool put_thread(struct cp_heap_ring *r)
{
	uint64_t w[3];
	thread_name(w);
	w[2] = (uint64_t)getpid();
	return put(r, CP_HEAP_HDR(CP_HEAP_REC_THREAD, 4, ts.tid), w, 3);
}

/* The overflow ring says whose records follow when that changes. */
static void overflow_switch(struct cp_heap_ring *r)
{
	if (!ts.tid)
		ts.tid = (uint32_t)syscall(SYS_gettid);
	if (atomic_load_explicit(&r->owner, memory_order_relaxed) == ts.tid)
		return;
	if (put_thread(r))
		atomic_store_explicit(&r->owner, ts.tid, memory_order_relaxed);
}

static struct cp_heap_ring *claim_ring(void)
{
	if (!ts.tid)
		ts.tid = (uint32_t)syscall(SYS_gettid);
	for (uint32_t i = 1; i < shm->nrings; i++) {
		struct cp_heap_ring *r = &shm->rings[i];
		uint32_t zero = 0;
		if (atomic_load_explicit(&r->owner, memory_order_relaxed) ||
		    !atomic_compare_exchange_strong(&r->owner, &zero, ts.tid))
			continue;
		uint32_t n = atomic_load(&shm->nclaimed);
		while (n < i && !atomic_compare_exchange_weak(&shm->nclaimed, &n, i))
			;
		r->pid = (uint32_t)getpid();
		atomic_store(&r->closed, 0);
		atomic_store(&r->exit_ack, 0);
		memset(r->cache, 0, sizeof(r->cache));
		put_thread(r);
		/* the thread's exit gives the ring back */
		pthread_setspecific(exit_key, r);
		return r;
	}
	return &shm->rings[0];
}

static void thread_exit(void *arg)
{
	struct cp_heap_ring *r = arg;
	if (!shm || ts.ring != r || shared_ring(r))
		return;
	ts.busy++;
	release_ring(r);
	ts.ring = NULL;
	ts.dead = 1;
	ts.busy--;
}

/* ---- stacks ----------------------------------------------------------------- */

static int frames_fp(uint64_t *pcs, int max)
{
	uintptr_t *fp = __builtin_frame_address(0);
	int n = 0;
	while (fp && n < max) {
		uintptr_t ret = fp[1];
		uintptr_t *next = (uintptr_t *)fp[0];
		if (!ret)
			break;
		pcs[n++] = ret;
		if (next <= fp || (uintptr_t)next - (uintptr_t)fp > (8u << 20) || ((uintptr_t)next & 7))
			break;
		fp = next;
	}
	return n;
}

/* The caller's stack, return addresses, innermost first, without this
 * library's frames. */
static int take_stack(uint64_t *pcs, int max)
{
	void *buf[CP_HEAP_MAX_FRAMES + 8];
	int n;
	if (use_fp)
		n = frames_fp((uint64_t *)buf, CP_HEAP_MAX_FRAMES + 8);
	else
		n = unw_backtrace(buf, CP_HEAP_MAX_FRAMES + 8);
	int i = 0;
	while (i < n && (uintptr_t)buf[i] >= self_lo && (uintptr_t)buf[i] < self_hi)
		i++;
	int k = 0;
	for (; i < n && k < max; i++)
		pcs[k++] = (uint64_t)(uintptr_t)buf[i];
	return k;
}

static uint64_t hash_stack(const uint64_t *pcs, int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
	for (int i = 0; i < n; i++) {
		h ^= pcs[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h | 1;
}

/* The slot of the caller's stack in r, sending it first when the
 * thread's cache does not hold it.  -1 when nothing can be sent. */
static long stack_slot(struct cp_heap_ring *r)
{
	uint64_t pcs[CP_HEAP_MAX_FRAMES];
	int n = take_stack(pcs, CP_HEAP_MAX_FRAMES);
	uint64_t h = hash_stack(pcs, n);
	unsigned slot = (unsigned)(h >> 40) & (CP_HEAP_SLOTS - 1);
	if (r->cache[slot] == h)
		return slot;
	if (!put(r, CP_HEAP_HDR(CP_HEAP_REC_STACK, (unsigned)n + 1, slot | (unsigned)n << 16),
		 pcs, (unsigned)n))
		return -1;
	r->cache[slot] = h;
	return slot;
}

/* ---- recording ----------------------------------------------------------- */

static struct cp_heap_ring *my_ring(void)
{
	if (LIKELY(ts.ring != NULL))
		return ts.ring;
	if (ts.dead)
		return NULL; /* allocations in later thread destructors */
	ts.ring = claim_ring();
	return ts.ring;
}

/* Event timing: announce, read the clock (after the real call for an
 * allocation, before it for a free), write, publish, end. */
static void begin_event(struct cp_heap_ring *r)
{
	atomic_fetch_add_explicit(&r->inflight, 1, memory_order_seq_cst);
}

static void end_event(struct cp_heap_ring *r)
{
	/* only this thread writes it: no locked instruction needed */
	uint64_t v = atomic_load_explicit(&r->inflight, memory_order_relaxed);
	atomic_store_explicit(&r->inflight, v + 1, memory_order_release);
}

static void record_alloc(void *p, size_t size, unsigned kind)
{
	struct cp_heap_ring *r = my_ring();
	if (!r)
		return;
	bool shared = shared_ring(r);
	if (shared) {
		lock_overflow();
		overflow_switch(r);
	}
	long slot = stack_slot(r);
	if (slot >= 0 && reserve(r, 4)) {
		begin_event(r);
		uint64_t *d = slot_at(r);
		d[0] = CP_HEAP_HDR(CP_HEAP_REC_ALLOC, 4, (uint64_t)slot | (uint64_t)kind << 16);
		d[1] = event_time();
		d[2] = (uint64_t)(uintptr_t)p;
		d[3] = size;
		publish(r, 4);
		end_event(r);
	} else {
		atomic_fetch_add(&shm->dropped, 1);
	}
	if (shared)
		unlock_overflow();
}

/* Before the real free: the block may be handed out again at once. */
static void record_free(void *p, unsigned kind)
{
	struct cp_heap_ring *r = my_ring();
	if (!r)
		return;
	bool shared = shared_ring(r);
	if (shared) {
		lock_overflow();
		overflow_switch(r);
	}
	if (reserve(r, 3)) {
		begin_event(r);
		uint64_t *d = slot_at(r);
		d[0] = CP_HEAP_HDR(CP_HEAP_REC_FREE, 3, (uint64_t)kind << 16);
		d[1] = event_time();
		d[2] = (uint64_t)(uintptr_t)p;
		publish(r, 3);
		end_event(r);
	} else {
		atomic_fetch_add(&shm->dropped, 1);
	}
	if (shared)
		unlock_overflow();
}

/* ---- sampled mode ------------------------------------------------------------ */

static uint64_t rng_next(void)
{
	if (!ts.rng) {
		/* splitmix64 of (seed, the thread's number in the process):
		 * nearby seeds give unrelated streams, and a --seed run of a
		 * single-threaded program is repeatable */
		static _Atomic uint64_t threads;
		uint64_t z = (shm->seed ? shm->seed : now_ns()) +
			     (atomic_fetch_add(&threads, 1) + 1) * 0x9e3779b97f4a7c15ULL;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		ts.rng = (z ^ (z >> 31)) | 1;
	}
	uint64_t x = ts.rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	ts.rng = x;
	return x;
}

/* Bytes to the next sample: exponential with mean `interval`. */
static int64_t next_interval(void)
{
	double u = ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	double v = -log(u) * (double)interval;
	return v < 1 ? 1 : v > 4e18 ? (int64_t)4e18 : (int64_t)v;
}

static unsigned sampled_hash(uintptr_t p)
{
	return (unsigned)(((uint64_t)p >> 4) * 0x9e3779b97f4a7c15ULL >> (64 - SAMPLED_BITS));
}

static bool sampled_add(void *p)
{
	uintptr_t key = (uintptr_t)p;
	unsigned i = sampled_hash(key);
	for (unsigned k = 0; k < SAMPLED_SIZE; k++, i = (i + 1) & (SAMPLED_SIZE - 1)) {
		uintptr_t cur = atomic_load_explicit(&sampled[i], memory_order_relaxed);
		if ((cur == 0 || cur == 1) &&
		    atomic_compare_exchange_strong(&sampled[i], &cur, key)) {
			atomic_fetch_add(&sampled_live, 1);
			return true;
		}
	}
	return false;
}

/* Whether p was sampled (and forget it). */
static bool sampled_take(void *p)
{
	uintptr_t key = (uintptr_t)p;
	unsigned i = sampled_hash(key);
	for (unsigned k = 0; k < SAMPLED_SIZE; k++, i = (i + 1) & (SAMPLED_SIZE - 1)) {
		uintptr_t cur = atomic_load_explicit(&sampled[i], memory_order_relaxed);
		if (cur == 0)
			return false;
		if (cur == key && atomic_compare_exchange_strong(&sampled[i], &cur, 1)) {
			atomic_fetch_sub(&sampled_live, 1);
			return true;
		}
	}
	return false;
}

/* inside this library, the hooks by their own addresses (see HOOK_ALIAS) */
extern void *hook_malloc(size_t n) __attribute__((visibility("hidden")));
extern void *hook_realloc(void *old, size_t n) __attribute__((visibility("hidden")));

/* ---- the hooks ----------------------------------------------------------------- */

/* After an allocation: record it (every one, or when the countdown ran
 * out). */
static inline void after_alloc(void *p, size_t size, unsigned kind)
{
	if (UNLIKELY(!p) || UNLIKELY(ts.busy) || !recording())
		return;
	if (interval) {
		if (LIKELY((ts.left -= (int64_t)size) > 0))
			return;
		ts.busy++;
		/* a thread's first allocation starts its countdown */
		if (!ts.rng && (ts.left += next_interval()) > 0) {
			ts.busy--;
			return;
		}
		/* the countdown is memoryless: a new one after each sample
		 * keeps P(sampled) = 1 - exp(-size / interval) */
		ts.left = next_interval();
		if (sampled_add(p))
			record_alloc(p, size, kind);
		ts.busy--;
		return;
	}
	ts.busy++;
	record_alloc(p, size, kind);
	ts.busy--;
}

static inline void before_free(void *p, unsigned kind)
{
	if (!p || UNLIKELY(ts.busy) || !recording())
		return;
	if (interval) {
		if (LIKELY(atomic_load_explicit(&sampled_live, memory_order_relaxed) == 0))
			return;
		if (!sampled_take(p))
			return;
	}
	ts.busy++;
	record_free(p, kind);
	ts.busy--;
}

EXPORT void *malloc(size_t n)
{
	if (UNLIKELY(!real_malloc)) {
		resolve();
		if (!real_malloc)
			return boot_alloc(n);
	}
	void *p = real_malloc(n);
	after_alloc(p, n, CP_HEAP_K_MALLOC);
	return p;
}

EXPORT void free(void *p)
{
	if (UNLIKELY(in_boot(p)) || !p)
		return;
	before_free(p, CP_HEAP_K_MALLOC);
	real_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (UNLIKELY(!real_calloc)) {
		resolve();
		if (!real_calloc) {
			if (size && n > SIZE_MAX / size)
				return NULL;
			return boot_alloc(n * size); /* static memory is zeroed */
		}
	}
	void *p = real_calloc(n, size);
	after_alloc(p, n * size, CP_HEAP_K_CALLOC);
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	if (UNLIKELY(!real_realloc))
		resolve();
	if (UNLIKELY(in_boot(old))) {
		void *p = hook_malloc(n);
		size_t have = (size_t)(boot_buf + sizeof(boot_buf) - (char *)old);
		if (p)
			memcpy(p, old, n < have ? n : have);
		return p;
	}
	if (!old)
		return hook_malloc(n);
	if (UNLIKELY(ts.busy) || !recording())
		return real_realloc(old, n);
	/* the old block is given up when the call succeeds: its free is timed
	 * before the call (another thread may get it at once), and taken back
	 * by a new record when the call fails.  In sampled mode the new block
	 * is an allocation like any other, sampled by the countdown: a chain
	 * of reallocs must not inherit its first block's sample */
	bool track = true;
	if (interval)
		track = atomic_load_explicit(&sampled_live, memory_order_relaxed) &&
			sampled_take(old);
	if (track) {
		ts.busy++;
		record_free(old, CP_HEAP_K_REALLOC);
		ts.busy--;
	}
	void *p = real_realloc(old, n);
	if (!p && n) {
		/* failed: the old block is still there */
		if (track) {
			ts.busy++;
			if (interval)
				sampled_add(old);
			record_alloc(old, malloc_usable_size(old), CP_HEAP_K_REALLOC);
			ts.busy--;
		}
		return NULL;
	}
	if (interval) {
		after_alloc(p, n, CP_HEAP_K_REALLOC);
	} else if (p) {
		ts.busy++;
		record_alloc(p, n, CP_HEAP_K_REALLOC);
		ts.busy--;
	}
	return p;
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return hook_realloc(old, n * size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (UNLIKELY(!real_posix_memalign))
		resolve();
	int rc = real_posix_memalign(out, align, n);
	if (rc == 0)
		after_alloc(*out, n, CP_HEAP_K_MEMALIGN);
	return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (UNLIKELY(!real_aligned_alloc))
		resolve();
	void *p = real_aligned_alloc(align, n);
	after_alloc(p, n, CP_HEAP_K_MEMALIGN);
	return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
	if (UNLIKELY(!real_memalign))
		resolve();
	void *p = real_memalign(align, n);
	after_alloc(p, n, CP_HEAP_K_MEMALIGN);
	return p;
}

EXPORT void *valloc(size_t n)
{
	if (UNLIKELY(!real_valloc))
		resolve();
	void *p = real_valloc(n);
	after_alloc(p, n, CP_HEAP_K_MEMALIGN);
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	if (UNLIKELY(!real_pvalloc))
		resolve();
	void *p = real_pvalloc(n);
	after_alloc(p, n, CP_HEAP_K_MEMALIGN);
	return p;
}

/* The hooks' own addresses: "malloc" named from inside this library is
 * looked up in the global scope first and would be the C library's (this
 * library is loaded RTLD_LOCAL when attaching). */
#define HOOK_ALIAS(name) \
	extern __typeof(name) hook_##name \
		__attribute__((alias(#name), visibility("hidden"), copy(name)))
HOOK_ALIAS(malloc);
HOOK_ALIAS(free);
HOOK_ALIAS(calloc);
HOOK_ALIAS(realloc);
HOOK_ALIAS(reallocarray);
HOOK_ALIAS(posix_memalign);
HOOK_ALIAS(aligned_alloc);
HOOK_ALIAS(memalign);
HOOK_ALIAS(valloc);
HOOK_ALIAS(pvalloc);

/* ---- start, fork, exit ------------------------------------------------- */

static void fork_child(void)
{
	if (!shm)
		return;
	if (!(shm->flags & CP_HEAP_F_FOLLOW)) {
		off = 1;
		return;
	}
	/* this thread is the child's only one; the parent's rings are not ours */
	ts.ring = NULL;
	ts.dead = 0;
	ts.tid = 0;
	ts.rng = 0;
	atomic_store(&shm->overflow_lock, 0);
	atomic_fetch_add(&shm->processes, 1);
}

/* Take this library out of the environment: children are not followed. */
static void strip_env(void)
{
	unsetenv(CP_HEAP_ENV_FD);
	const char *pre = getenv("LD_PRELOAD");
	if (!pre)
		return;
	char *copy = strdup(pre), *out = malloc(strlen(pre) + 1);
	if (!copy || !out) {
		free(copy);
		free(out);
		return;
	}
	out[0] = '\0';
	char *save = NULL;
	for (char *tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
		if (strstr(tok, "libcprof-heap.so"))
			continue;
		if (out[0])
			strcat(out, ":");
		strcat(out, tok);
	}
	if (out[0])
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	free(copy);
	free(out);
}

static int self_range(struct dl_phdr_info *info, size_t size __attribute__((unused)), void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			self_lo = lo;
			self_hi = hi;
			return 1;
		}
	}
	return 0;
}

/* Map the shared memory and start recording.  strip: take this library
 * out of the children's environment (started by cprof heap, not
 * following).  0 or a negative errno. */
static int start_from(int fd, int pfd, bool strip)
{
	struct cp_heap_shm *h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return -errno;
	bool ok = h->magic == CP_HEAP_MAGIC && h->version == CP_HEAP_VERSION &&
		  h->ring_bytes == CP_HEAP_RING_BYTES && h->nrings > 1;
	uint32_t nrings = h->nrings, flags = h->flags;
	munmap(h, sizeof(*h));
	if (!ok)
		return -EPROTO;
	h = mmap(NULL, CP_HEAP_SHM_SIZE(nrings), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return -errno;
	if (strip && !(flags & CP_HEAP_F_FOLLOW))
		strip_env();
	dl_iterate_phdr(self_range, (void *)(uintptr_t)start_from);
	interval = h->sample_interval;
	use_fp = flags & CP_HEAP_F_FP;
	use_tsc = flags & CP_HEAP_F_TSC;
	if (interval) {
		sampled = mmap(NULL, SAMPLED_SIZE * sizeof(*sampled), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (sampled == MAP_FAILED)
			return -errno;
	}
	if (!use_fp)
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	pthread_key_create(&exit_key, thread_exit);
	pthread_atfork(NULL, NULL, fork_child);
	pipe_fd = pfd;
	atomic_fetch_add(&h->processes, 1);
	shm = h;
	return 0;
}

__attribute__((constructor)) static void heap_start(void)
{
	resolve();
	const char *env = getenv(CP_HEAP_ENV_FD);
	int fd = -1, pfd = -1;
	if (env && sscanf(env, "%d,%d", &fd, &pfd) == 2)
		start_from(fd, pfd, true);
}

/* cprof heap -p: cprof has loaded this library into the running process
 * (dlopen, called through ptrace) and calls this, with the directory
 * holding the shared memory ("shm") and the pipe that tells cprof is alive
 * ("alive").  The program's calls to the allocation functions are then
 * sent here by rewriting its modules' GOT entries.  Returns the number of
 * entries rewritten, or a negative errno. */
EXPORT int cprof_heap_attach(const char *dir)
{
	if (shm)
		return -EBUSY;
	char path[4096];
	snprintf(path, sizeof(path), "%s/shm", dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/alive", dir);
	int pfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (pfd < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	int rc = start_from(fd, pfd, false);
	close(fd);
	if (rc) {
		close(pfd);
		return rc;
	}
	static const struct got_hook hooks[] = {
		{ "malloc", (void *)hook_malloc },
		{ "free", (void *)hook_free },
		{ "calloc", (void *)hook_calloc },
		{ "realloc", (void *)hook_realloc },
		{ "reallocarray", (void *)hook_reallocarray },
		{ "posix_memalign", (void *)hook_posix_memalign },
		{ "aligned_alloc", (void *)hook_aligned_alloc },
		{ "memalign", (void *)hook_memalign },
		{ "valloc", (void *)hook_valloc },
		{ "pvalloc", (void *)hook_pvalloc },
	};
	rc = got_redirect(hooks, sizeof(hooks) / sizeof(hooks[0]), self_lo, self_hi);
	if (rc < 0)
		off = 1;
	return rc;
}

/* cprof heap -p is done: the GOT entries point to the allocator again and
 * recording stops.  The library stays loaded (a thread may still be in
 * one of its functions).  Returns the number of entries restored. */
EXPORT int cprof_heap_detach(void)
{
	int n = got_restore();
	off = 1;
	return n;
}

/* Tell cprof the process is ending and wait (a little) until it has read
 * everything: while the process exists, cprof can still read its
 * mappings to place the last stacks. */
__attribute__((destructor)) static void heap_end(void)
{
	if (!recording())
		return;
	ts.busy++;
	struct cp_heap_ring *r = my_ring();
	if (r && !shared_ring(r)) {
		if (put(r, CP_HEAP_HDR(CP_HEAP_REC_EXIT, 1, (uint32_t)getpid()), NULL, 0)) {
			uint64_t until = now_ns() + 5000000000ULL;
			while (!atomic_load_explicit(&r->exit_ack, memory_order_acquire) &&
			       recording() && now_ns() < until && !cprof_gone(1))
				;
		}
	}
	ts.busy--;
}
