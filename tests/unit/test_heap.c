/* test_heap.c - lib/heap's tracker on rings written by hand: records of two
 * threads merged in time order (a block freed by one thread after the
 * other allocated it, the record of the free sitting in an earlier ring),
 * the peak's breakdown, temporaries, leaks, an event still in flight
 * holding the order back, and damaged rings (records that do not fit, an
 * impossible write position) skipped without a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "heap/heap-int.h"
#include "profile/profile.h"

struct fx {
	char path[64];
	struct cp_heap *h;
};

static struct cp_heap *new_heap(struct fx *f)
{
	snprintf(f->path, sizeof(f->path), "/tmp/cprof-test-heap-%d.data", (int)getpid());
	struct cp_heap_opts o;
	cp_heap_opts_init(&o);
	o.output = f->path;
	o.lib = "/nonexistent/libcprof-heap.so"; /* nothing is spawned */
	o.debuginfod_timeout = 0;
	setenv("CPROF_HEAP_NO_TSC", "1", 1); /* times below are nanoseconds */
	struct cp_error err;
	f->h = cp_heap_new(&o, &err);
	assert_non_null(f->h);
	atomic_store(&f->h->shm->processes, 1);
	return f->h;
}

static void put(struct cp_heap_ring *r, const uint64_t *w, unsigned n)
{
	uint64_t head = atomic_load(&r->head);
	for (unsigned i = 0; i < n; i++)
		r->data[(head / 8 + i) % (CP_HEAP_RING_BYTES / 8)] = w[i];
	atomic_store(&r->head, head + n * 8ull);
}

static struct cp_heap_ring *ring(struct cp_heap *h, uint32_t i, uint32_t tid, const char *name)
{
	struct cp_heap_ring *r = &h->shm->rings[i];
	atomic_store(&r->owner, tid);
	if (atomic_load(&h->shm->nclaimed) < i)
		atomic_store(&h->shm->nclaimed, i);
	uint64_t w[4] = { CP_HEAP_HDR(CP_HEAP_REC_THREAD, 4, tid), 0, 0, (uint64_t)getpid() };
	memcpy(&w[1], name, strlen(name) < 16 ? strlen(name) : 15);
	put(r, w, 4);
	return r;
}

/* a stack of one made-up return address in slot `slot` */
static void stack(struct cp_heap_ring *r, unsigned slot, uint64_t pc)
{
	uint64_t w[2] = { CP_HEAP_HDR(CP_HEAP_REC_STACK, 2, slot | 1u << 16), pc };
	put(r, w, 2);
}

static void alloc(struct cp_heap_ring *r, unsigned slot, uint64_t t, uint64_t ptr, uint64_t size)
{
	uint64_t w[4] = { CP_HEAP_HDR(CP_HEAP_REC_ALLOC, 4, slot), t, ptr, size };
	put(r, w, 4);
}

static void release(struct cp_heap_ring *r, uint64_t t, uint64_t ptr)
{
	uint64_t w[3] = { CP_HEAP_HDR(CP_HEAP_REC_FREE, 3, 0), t, ptr };
	put(r, w, 3);
}

/* sum of value `type` over samples whose leaf location has address pc-1 */
static int64_t sum(const struct cp_profile *p, const char *type, uint64_t pc)
{
	uint32_t vi = cp_profile_value_index(p, type);
	int64_t s = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		uint32_t n;
		const uint32_t *locs = cp_profile_stack_locs(p, p->samples.v[i].stack, &n);
		if (n && p->locations.v[locs[0]].address == pc - 1)
			s += cp_profile_sample_values(p, i)[vi];
	}
	return s;
}

static struct cp_profile *finish(struct fx *f)
{
	struct cp_error err;
	assert_int_equal(cp_heap_finish(f->h, 0, &err), 0);
	cp_heap_free(f->h);
	f->h = NULL;
	struct cp_profile *p = NULL;
	assert_int_equal(cp_data_read(f->path, &p, &err), 0);
	unlink(f->path);
	return p;
}

static void test_order_peak_temp(void **state)
{
	struct fx f;
	struct cp_heap *h = new_heap(&f);
	uint64_t t0 = cp_now_ns();
	struct cp_heap_ring *a = ring(h, 1, 101, "worker-a");
	struct cp_heap_ring *b = ring(h, 2, 102, "worker-b");
	stack(a, 5, 0x1000);
	stack(b, 7, 0x2000);
	/* b frees 0x50 (allocated by a at t0+1) at t0+2, then gets the same
	 * block at t0+3: ring b is read first, the order must still hold */
	release(b, t0 + 2, 0x50);
	alloc(b, 7, t0 + 3, 0x50, 100);
	alloc(a, 5, t0 + 1, 0x50, 40);
	/* a: two temporaries (each freed before anything else was allocated) */
	alloc(a, 5, t0 + 4, 0x60, 8);
	release(a, t0 + 5, 0x60);
	alloc(a, 5, t0 + 6, 0x70, 1000);
	release(a, t0 + 7, 0x70);
	struct cp_error err;
	assert_true(cp_heap_process(h, &err) >= 0);
	struct cp_heap_stats st;
	cp_heap_stats(h, &st);
	assert_int_equal(st.unknown_frees, 0);
	struct cp_profile *p = finish(&f);
	assert_int_equal(sum(p, "alloc_objects", 0x1000), 3);
	assert_int_equal(sum(p, "alloc_space", 0x1000), 1048);
	assert_int_equal(sum(p, "inuse_space", 0x1000), 0);
	assert_int_equal(sum(p, "inuse_space", 0x2000), 100); /* b's block leaks */
	assert_int_equal(sum(p, "temp_objects", 0x1000), 2); /* 0x60 and 0x70 */
	/* the peak: b's 100 and a's 1000 live together (t0+6) */
	assert_int_equal(sum(p, "peak_space", 0x1000), 1000);
	assert_int_equal(sum(p, "peak_space", 0x2000), 100);
	cp_profile_free(p);
}

static void test_inflight_holds_order(void **state)
{
	struct fx f;
	struct cp_heap *h = new_heap(&f);
	uint64_t t0 = cp_now_ns();
	struct cp_heap_ring *a = ring(h, 1, 201, "a");
	struct cp_heap_ring *b = ring(h, 2, 202, "b");
	stack(a, 1, 0x3000);
	stack(b, 1, 0x4000);
	atomic_store(&a->inflight, 1); /* a has an event in flight */
	struct cp_error err;
	cp_heap_process(h, &err); /* first sight of a's event: its time is not known */
	alloc(b, 1, cp_now_ns() + 1000000000ull, 0x90, 10); /* later than anything a has */
	cp_heap_process(h, &err);
	struct cp_heap_stats st;
	cp_heap_stats(h, &st);
	assert_int_equal(st.allocs, 0); /* held back */
	alloc(a, 1, t0 + 10, 0x90, 20);
	release(a, t0 + 11, 0x90);
	atomic_store(&a->inflight, 2);
	struct cp_profile *p = finish(&f);
	/* a's block came and went first; b's is live at the end */
	assert_int_equal(sum(p, "inuse_space", 0x3000), 0);
	assert_int_equal(sum(p, "inuse_space", 0x4000), 10);
	cp_profile_free(p);
}

static void test_damaged_rings(void **state)
{
	struct fx f;
	struct cp_heap *h = new_heap(&f);
	uint64_t t0 = cp_now_ns();
	struct cp_heap_ring *a = ring(h, 1, 301, "a");
	struct cp_heap_ring *b = ring(h, 2, 302, "b");
	struct cp_heap_ring *c = ring(h, 3, 303, "c");
	stack(a, 1, 0x5000);
	alloc(a, 1, t0 + 1, 0xa0, 64);
	uint64_t junk[2] = { CP_HEAP_HDR(CP_HEAP_REC_STACK, 200, 1 | 127u << 16), 0 };
	put(a, junk, 2); /* claims 200 words: runs past the head */
	alloc(b, 4095, t0 + 2, 0xb0, 8); /* a slot never defined: unknown stack */
	uint64_t zero[1] = { CP_HEAP_HDR(CP_HEAP_REC_ALLOC, 0, 0) };
	put(b, zero, 1);
	atomic_store(&c->head, 1ull << 40); /* impossible */
	struct cp_error err;
	assert_true(cp_heap_process(h, &err) >= 0);
	struct cp_profile *p = finish(&f);
	assert_int_equal(sum(p, "alloc_space", 0x5000), 64);
	cp_profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_peak_temp),
		cmocka_unit_test(test_inflight_holds_order),
		cmocka_unit_test(test_damaged_rings),
	};
	cp_log_set_level(CP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
