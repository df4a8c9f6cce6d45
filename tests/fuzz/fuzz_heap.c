/* fuzz_heap.c - libFuzzer harness for the heap tracker's ring reader: the
 * rings are written by the profiled program, whose memory cprof does not
 * trust.  The input is split in two and written into rings 1 and 2 as
 * their records; any bytes must be read or skipped, never crash, hang or
 * read outside the rings.  Seeds: tests/fuzz/corpus/heap/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heap/heap-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fill(struct cp_heap_ring *r, const uint8_t *p, size_t n)
{
	n &= ~(size_t)7;
	if (n > CP_HEAP_RING_BYTES)
		n = CP_HEAP_RING_BYTES;
	memcpy(r->data, p, n);
	atomic_store(&r->owner, 1);
	atomic_store(&r->head, n);
}

static void quiet(enum cp_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		setenv("CPROF_HEAP_NO_TSC", "1", 1);
		cp_log_set_sink(quiet, NULL); /* "ring N: a record that does not fit" is expected */
		init = true;
	}
	struct cp_heap_opts o;
	cp_heap_opts_init(&o);
	o.output = "/dev/null";
	o.lib = "/nonexistent/libcprof-heap.so";
	o.debuginfod_timeout = 0;
	/* the first byte chooses sampled mode, so the estimator is fuzzed too */
	if (size && (data[0] & 1))
		o.sample_interval = 4096;
	struct cp_heap *h = cp_heap_new(&o, NULL);
	if (!h)
		return 0;
	atomic_store(&h->shm->processes, 1);
	atomic_store(&h->shm->nclaimed, 2);
	size_t half = size / 2;
	fill(&h->shm->rings[1], data, half);
	fill(&h->shm->rings[2], data + half, size - half);
	cp_heap_process(h, NULL);
	cp_heap_finish(h, 0, NULL);
	cp_heap_free(h);
	return 0;
}
