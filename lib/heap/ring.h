/* ring.h - the memory shared by libcprof-heap.so (in the target) and the
 * heap tracker (in cprof): a header and one ring per thread.
 *
 * This is the only header lib/preload includes: plain C11 atomics, no
 * other part of cprof.
 *
 * cprof creates the shared memory (a memfd) and passes it to the target
 * with $CPROF_HEAP_FD="SHMFD,PIPEFD": PIPEFD is the read end of a pipe
 * whose write end only cprof holds, so a target that waits for cprof can
 * tell it has died (POLLHUP) and goes on without it.
 *
 * A thread claims a free ring (owner 0 -> its tid, by CAS) on its first
 * allocation and writes records into it; only cprof reads them.  Ring 0 is
 * the overflow ring, shared under a lock, for threads that found no free
 * one.  A thread that exits writes CP_HEAP_REC_THREAD_END and sets `closed`;
 * cprof drains the ring and frees it (owner back to 0).
 *
 * Records are whole 8-byte words: word 0 is the header (type, size in
 * words, an argument), never split across the end of the ring (a PAD
 * record fills the tail).  Allocation and free records carry a
 * CLOCK_MONOTONIC time so cprof can put the threads' records in one order
 * (a block freed by one thread and handed out again to another).  A thread
 * announces an event in flight by making `inflight` odd before it reads
 * the clock and even after it published the record: cprof never orders
 * past the time of an event it cannot see yet.
 */
#ifndef CPROF_HEAP_RING_H
#define CPROF_HEAP_RING_H

#include <stdatomic.h>
#include <stdint.h>

#define CP_HEAP_MAGIC 0x31706165686f7063ULL /* "cpoheap1" */
#define CP_HEAP_VERSION 1
#define CP_HEAP_ENV_FD "CPROF_HEAP_FD"
#define CP_HEAP_ENV_LIB "CPROF_HEAP_LIB"

#define CP_HEAP_RINGS 1024          /* ring 0 is the shared overflow ring */
#define CP_HEAP_RING_BYTES (256u << 10) /* data bytes per ring, power of two */
#define CP_HEAP_SLOTS 4096          /* stack slots per ring (the thread's stack cache) */
#define CP_HEAP_MAX_FRAMES 127

/* header flags */
#define CP_HEAP_F_FP 0x1u           /* walk frame pointers instead of unwinding */
#define CP_HEAP_F_FOLLOW 0x2u       /* follow forked and executed children */
#define CP_HEAP_F_TSC 0x4u          /* times are TSC ticks (constant, nonstop), else
				     * CLOCK_MONOTONIC nanoseconds */

/* record types */
enum {
	CP_HEAP_REC_PAD = 1,     /* skip to the end of the ring */
	CP_HEAP_REC_STACK,       /* arg: slot | nframes << 16; words: return addresses, caller first... */
	CP_HEAP_REC_ALLOC,       /* arg: slot | kind << 16; words: time, ptr, size */
	CP_HEAP_REC_FREE,        /* arg: kind << 16; words: time, ptr */
	CP_HEAP_REC_THREAD,      /* arg: tid; words: name (16 bytes), pid -- whose records follow
				  * (a new owner; in ring 0, the thread that took the lock) */
	CP_HEAP_REC_THREAD_END,  /* arg: tid; words: name (16 bytes) */
	CP_HEAP_REC_EXIT,        /* arg: pid; the process is exiting: cprof answers in exit_ack */
};

/* allocation kinds (ALLOC and FREE records) */
enum {
	CP_HEAP_K_MALLOC = 0,
	CP_HEAP_K_CALLOC,
	CP_HEAP_K_REALLOC,   /* FREE: the old block of a realloc that moved */
	CP_HEAP_K_MEMALIGN,  /* posix_memalign, aligned_alloc, memalign, valloc, pvalloc */
};

#define CP_HEAP_HDR(type, words, arg) \
	((uint64_t)(type) | (uint64_t)(words) << 8 | (uint64_t)(arg) << 16)
#define CP_HEAP_HDR_TYPE(h) ((unsigned)((h) & 0xff))
#define CP_HEAP_HDR_WORDS(h) ((unsigned)(((h) >> 8) & 0xff))
#define CP_HEAP_HDR_ARG(h) ((h) >> 16)

#define CP_HEAP_CACHELINE 64

struct cp_heap_ring {
	/* claimed by the producer, set back to 0 by cprof */
	_Atomic uint32_t owner;  /* tid, 0 = free */
	uint32_t pid;            /* the owner's process */
	_Atomic uint32_t closed; /* the owner has exited (after THREAD_END) */
	_Atomic uint32_t exit_ack; /* cprof has read this process's EXIT record */
	char pad0[CP_HEAP_CACHELINE - 16];
	/* written by the producer */
	_Atomic uint64_t head;     /* bytes written, ever */
	_Atomic uint64_t inflight; /* odd while an event is timed but not published */
	char pad1[CP_HEAP_CACHELINE - 16];
	/* written by cprof */
	_Atomic uint64_t tail;     /* bytes consumed, ever */
	char pad2[CP_HEAP_CACHELINE - 8];
	uint64_t cache[CP_HEAP_SLOTS]; /* producer's: stack hash per slot */
	uint64_t data[CP_HEAP_RING_BYTES / 8];
};

struct cp_heap_shm {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;            /* CP_HEAP_F_* */
	uint64_t sample_interval;  /* mean bytes between samples; 0 = every allocation */
	uint64_t seed;             /* of the sampling intervals, 0 = from the clock */
	uint32_t nrings, ring_bytes;
	_Atomic uint32_t stop;     /* cprof asks: stop recording, call through */
	_Atomic uint32_t nclaimed; /* rings [1, nclaimed] may have owners */
	_Atomic uint32_t overflow_lock;
	_Atomic uint64_t processes; /* interposers started (constructors run) */
	_Atomic uint64_t dropped;   /* records not written: cprof gone, stopped */
	char pad[CP_HEAP_CACHELINE];
	struct cp_heap_ring rings[];
};

/* Attaching (cprof heap -p): cprof loads the interposer into the running
 * process with dlopen and calls these through ptrace.  attach: the
 * directory holding "shm" (the shared memory) and "alive" (a FIFO whose
 * writer is cprof); it redirects the program's allocation calls and
 * returns how many GOT entries it rewrote, or a negative errno.  detach:
 * puts them back, stops recording, returns how many. */
#define CP_HEAP_ATTACH_FN "cprof_heap_attach"
#define CP_HEAP_DETACH_FN "cprof_heap_detach"
int cprof_heap_attach(const char *dir);
int cprof_heap_detach(void);

#define CP_HEAP_SHM_SIZE(nrings) \
	(sizeof(struct cp_heap_shm) + (size_t)(nrings) * sizeof(struct cp_heap_ring))

#endif
