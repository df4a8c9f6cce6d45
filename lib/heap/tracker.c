/* tracker.c - reading the interposer's rings and keeping the accounts:
 * live blocks, sites, the peak, temporaries, time buckets (see heap.h).
 *
 * Reading is done in rounds.  Each round first fixes a watermark: no
 * record timed before it can still appear in any ring (a ring whose
 * thread has no event in flight cannot produce one timed before now; one
 * with an event in flight, not before the moment it was last seen idle).
 * The rings' timed records up to the watermark are then merged in time
 * order, so a block freed by one thread and handed out again to another
 * is seen in that order.  The target's memory is not trusted: every
 * record is checked against the ring's bounds, a bad one ends that ring's
 * reading. */
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "heap/heap-int.h"

#define LIVE_SIZE_BITS 40

/* ---- the events' clock --------------------------------------------------- */

static uint64_t read_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* Whether the TSC can time events: constant rate, running in every
 * C-state (then the kernel keeps it in step across CPUs). */
static bool tsc_usable(void)
{
#if defined(__x86_64__)
	if (getenv("CPROF_HEAP_NO_TSC"))
		return false;
	char *info = cp_read_file("/proc/cpuinfo", NULL);
	bool ok = info && strstr(info, " constant_tsc") && strstr(info, " nonstop_tsc");
	free(info);
	return ok;
#else
	return false;
#endif
}

/* Now, in the events' unit. */
static uint64_t event_now(const struct cp_heap *h)
{
	return h->tsc ? read_tsc() : cp_now_ns();
}

/* Measure the TSC's rate against CLOCK_MONOTONIC since the start. */
static void tsc_calibrate(struct cp_heap *h)
{
	uint64_t t = read_tsc(), ns = cp_now_ns();
	if (ns - h->ns0 >= 1000000 && t > h->tsc0)
		h->ns_per_tick = (double)(ns - h->ns0) / (double)(t - h->tsc0);
}

/* An event's time in nanoseconds, CLOCK_MONOTONIC. */
static uint64_t event_ns(const struct cp_heap *h, uint64_t t)
{
	if (!h->tsc)
		return t;
	double d = ((double)t - (double)h->tsc0) * h->ns_per_tick;
	return d <= -(double)h->ns0 ? 0 : (uint64_t)((double)h->ns0 + d);
}
#define BUCKET_WIDTH0 10000000ull /* 10 ms */
#define BUCKETS_PER_DOUBLING 256

struct cp_heap *cp_heap_new(const struct cp_heap_opts *o, struct cp_error *err)
{
	struct cp_heap *h = cp_xcalloc(1, sizeof(*h));
	h->opts = *o;
	h->shm_fd = h->pipe_rd = h->pipe_wr = -1;
	h->lib = o->lib ? cp_xstrdup(o->lib) : cp_heap_find_lib(err);
	if (!h->lib || heap_shm_create(h, err)) {
		cp_heap_free(h);
		return NULL;
	}
	struct cp_record_opts ro;
	cp_record_opts_init(&ro);
	ro.output = o->live ? NULL : o->output;
	ro.periodic = o->live;
	ro.command_line = o->command_line;
	ro.code_max = 0;
	ro.debuginfod_timeout = o->debuginfod_timeout;
	ro.cache_dir = o->cache_dir;
	ro.perf.callgraph = o->frame_pointers ? CP_CG_FP : CP_CG_DWARF;
	ro.perf.freq = 0;
	ro.perf.stack_size = 0;
	h->rec = cp_recorder_new(&ro, err);
	if (!h->rec) {
		cp_heap_free(h);
		return NULL;
	}
	struct cp_profile *p = h->model = cp_recorder_model(h->rec);
	static const char *const types[HV_N][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
		{ "peak_objects", "count" },  { "peak_space", "bytes" },
		{ "temp_objects", "count" },
	};
	for (int i = 0; i < HV_N; i++)
		cp_profile_add_value_type(p, types[i][0], types[i][1]);
	p->meta.default_type = cp_profile_intern(p, "peak_space");
	p->meta.period = o->sample_interval ? o->sample_interval : 1;
	p->meta.callgraph = cp_profile_intern(p, o->frame_pointers ? "fp" : "dwarf");
	if (tsc_usable()) {
		h->tsc = true;
		h->shm->flags |= CP_HEAP_F_TSC;
		h->tsc0 = read_tsc();
		h->ns0 = cp_now_ns();
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
		tsc_calibrate(h);
	}
	h->readers = cp_xcalloc(CP_HEAP_RINGS, sizeof(*h->readers));
	cp_u64map_init(&h->site_index);
	h->unknown_stack = CP_NONE;
	h->start_ns = cp_now_ns();
	h->bucket_width = BUCKET_WIDTH0;
	h->bucket_start = h->start_ns;
	h->bucket_end = h->start_ns + BUCKET_WIDTH0;
	return h;
}

/* ---- accounts ---------------------------------------------------------------- */

static struct heap_site *site_of(struct cp_heap *h, uint32_t stack, const struct heap_reader *rd,
				 uint32_t *idx)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&h->site_index, stack | (uint64_t)rd->tid << 32, 0, &added);
	if (added) {
		struct heap_site s = { .stack = stack, .pid = rd->pid, .tid = rd->tid,
				       .comm = rd->comm, .snap_for = UINT64_MAX };
		*v = h->sites.n;
		CP_VEC_PUSH(h->sites, s);
	}
	*idx = (uint32_t)*v;
	return &h->sites.v[*v];
}

static void mark_dirty(struct cp_heap *h, struct heap_site *s, uint32_t idx)
{
	if (s->dirty || h->opts.live)
		return;
	s->dirty = true;
	s->next_dirty = h->dirty_head;
	h->dirty_head = idx + 1;
}

/* Change a site's live memory; a site's value at the latest peak is saved
 * the first time it changes after that peak. */
static void change_live(struct cp_heap *h, struct heap_site *s, double dn, double db, uint64_t ts)
{
	h->seq++;
	if (s->last_mod <= h->peak_seq && s->snap_for != h->peak_seq) {
		s->snap_n = s->live_n;
		s->snap_b = s->live_b;
		s->snap_for = h->peak_seq;
	}
	s->live_n += dn;
	s->live_b += db;
	s->last_mod = h->seq;
	s->acc[HV_INUSE_N] += dn;
	s->acc[HV_INUSE_B] += db;
	h->total_n += dn;
	h->total_b += db;
	if (db > 0 && h->total_b > h->peak_b) {
		h->peak_b = h->total_b;
		h->peak_n = h->total_n;
		h->peak_seq = h->seq;
		h->peak_ts = ts;
	}
}

/* A block of `size` bytes stands for this many allocations: 1, or in
 * sampled mode 1 / P(sampled) = 1 / (1 - exp(-size / interval)). */
static double weight(const struct cp_heap *h, uint64_t size)
{
	if (!h->opts.sample_interval)
		return 1;
	double r = (double)h->opts.sample_interval;
	return 1.0 / -expm1(-(double)(size ? size : 1) / r);
}

static int write_sample(struct cp_heap *h, struct heap_site *s, uint64_t time, const int64_t *vals,
			struct cp_error *err)
{
	struct cp_profile_sample ps = {
		.stack = s->stack, .pid = s->pid, .tid = s->tid, .comm = s->comm, .time = time,
		.flags = CP_SAMPLE_COMPLETE,
	};
	return cp_recorder_add_sample(h->rec, &ps, vals, err);
}

/* Write the current bucket: each changed site's values since the last
 * one it was written in (rounded so the running sums stay exact). */
static int flush_bucket(struct cp_heap *h, struct cp_error *err)
{
	uint64_t time = h->bucket_start - h->start_ns;
	int rc = 0;
	while (h->dirty_head) {
		uint32_t idx = h->dirty_head - 1;
		struct heap_site *s = &h->sites.v[idx];
		h->dirty_head = s->next_dirty;
		s->dirty = false;
		int64_t vals[HV_N] = { 0 };
		bool any = false;
		for (int k = 0; k < HV_N; k++) {
			if (k == HV_PEAK_N || k == HV_PEAK_B)
				continue;
			vals[k] = llround(s->acc[k]) - s->written[k];
			s->written[k] += vals[k];
			any |= vals[k] != 0;
		}
		if (any && !rc && h->started)
			rc = write_sample(h, s, time, vals, err);
	}
	return rc;
}

static int to_bucket(struct cp_heap *h, uint64_t ts, struct cp_error *err)
{
	if (ts < h->bucket_end || h->opts.live)
		return 0;
	int rc = flush_bucket(h, err);
	if (++h->nbuckets % BUCKETS_PER_DOUBLING == 0)
		h->bucket_width *= 2;
	uint64_t k = (ts - h->bucket_end) / h->bucket_width;
	h->bucket_start = h->bucket_end + k * h->bucket_width;
	h->bucket_end = h->bucket_start + h->bucket_width;
	return rc;
}

static void free_block(struct cp_heap *h, uint64_t *slot, uint64_t ts)
{
	uint64_t v = *slot;
	heap_live_del(&h->live, slot);
	uint64_t size = v & ((1ull << LIVE_SIZE_BITS) - 1);
	uint32_t idx = (uint32_t)(v >> LIVE_SIZE_BITS);
	struct heap_site *s = &h->sites.v[idx];
	double w = weight(h, size);
	change_live(h, s, -w, -w * (double)size, ts);
	mark_dirty(h, s, idx);
}

static int on_alloc(struct cp_heap *h, struct heap_reader *rd, uint64_t arg, uint64_t ts,
		    uint64_t ptr, uint64_t size, struct cp_error *err)
{
	int rc = to_bucket(h, ts, err);
	uint32_t slot = (uint32_t)(arg & 0xffff);
	uint32_t stack = slot < CP_HEAP_SLOTS ? rd->stacks[slot] : 0;
	if (!stack) {
		if (h->unknown_stack == CP_NONE)
			h->unknown_stack = cp_recorder_user_stack(h->rec, rd->pid, NULL, 0);
		stack = h->unknown_stack + 1;
	}
	uint64_t *old = heap_live_find(&h->live, ptr);
	if (old) /* its free was not seen: it cannot be live twice */
		free_block(h, old, ts);
	uint32_t idx;
	struct heap_site *s;
	if (slot < CP_HEAP_SLOTS && rd->sites[slot]) {
		idx = rd->sites[slot] - 1;
		s = &h->sites.v[idx];
	} else {
		s = site_of(h, stack - 1, rd, &idx);
		if (slot < CP_HEAP_SLOTS && rd->stacks[slot])
			rd->sites[slot] = idx + 1;
	}
	s->comm = rd->comm;
	if (size >= 1ull << LIVE_SIZE_BITS)
		size = (1ull << LIVE_SIZE_BITS) - 1;
	double w = weight(h, size);
	s->acc[HV_ALLOC_N] += w;
	s->acc[HV_ALLOC_B] += w * (double)size;
	change_live(h, s, w, w * (double)size, ts);
	mark_dirty(h, s, idx);
	if (ptr)
		heap_live_put(&h->live, ptr, (uint64_t)idx << LIVE_SIZE_BITS | size);
	rd->last_ptr = ptr;
	rd->last_valid = true;
	h->st.allocs++;
	return rc;
}

static int on_free(struct cp_heap *h, struct heap_reader *rd, uint64_t arg, uint64_t ts,
		   uint64_t ptr, struct cp_error *err)
{
	int rc = to_bucket(h, ts, err);
	unsigned kind = (unsigned)(arg >> 16) & 0xf;
	h->st.frees++;
	uint64_t *slot = ptr ? heap_live_find(&h->live, ptr) : NULL;
	if (!slot) {
		h->st.unknown_frees++;
		rd->last_valid = false;
		return rc;
	}
	uint32_t idx = (uint32_t)(*slot >> LIVE_SIZE_BITS);
	/* freed by the thread that allocated it, before anything else: a
	 * temporary (a realloc that moves is not one).  Only in full mode:
	 * sampled mode does not see the allocations in between */
	if (!h->opts.sample_interval && rd->last_valid && rd->last_ptr == ptr && kind != CP_HEAP_K_REALLOC &&
	    h->sites.v[idx].tid == rd->tid) {
		uint64_t size = *slot & ((1ull << LIVE_SIZE_BITS) - 1);
		h->sites.v[idx].acc[HV_TEMP_N] += weight(h, size);
	}
	rd->last_valid = false;
	free_block(h, slot, ts);
	return rc;
}

/* ---- reading the rings -------------------------------------------------- */

static struct heap_reader *reader_of(struct cp_heap *h, uint32_t i)
{
	if (!h->readers[i]) {
		h->readers[i] = cp_xcalloc(1, sizeof(struct heap_reader));
		h->readers[i]->comm = "";
		h->readers[i]->pos = atomic_load(&h->shm->rings[i].tail);
	}
	return h->readers[i];
}

static const uint64_t *rec_at(const struct cp_heap_ring *r, uint64_t pos)
{
	return &r->data[(pos % CP_HEAP_RING_BYTES) / 8];
}

static bool timed(unsigned type)
{
	return type == CP_HEAP_REC_ALLOC || type == CP_HEAP_REC_FREE;
}

static void bad_ring(struct cp_heap *h, struct heap_reader *rd, uint32_t i, const char *why)
{
	cp_log(CP_LOG_WARN, "heap: ring %u of thread %u: %s at byte %llu; its records are skipped",
	       i, rd->tid, why, (unsigned long long)rd->pos);
	h->st.dropped++;
	rd->pos = rd->head;
}

/* The record at the cursor: its header, or 0 when the ring holds no more
 * whole, valid record. */
static uint64_t peek(struct cp_heap *h, uint32_t i, struct heap_reader *rd)
{
	const struct cp_heap_ring *r = &h->shm->rings[i];
	while (rd->pos < rd->head) {
		uint64_t hdr = *(const volatile uint64_t *)rec_at(r, rd->pos);
		unsigned type = CP_HEAP_HDR_TYPE(hdr), words = CP_HEAP_HDR_WORDS(hdr);
		uint64_t at = rd->pos % CP_HEAP_RING_BYTES;
		if (type == CP_HEAP_REC_PAD) {
			rd->pos += CP_HEAP_RING_BYTES - at;
			continue;
		}
		if (words == 0 || at + words * 8ull > CP_HEAP_RING_BYTES ||
		    rd->pos + words * 8ull > rd->head) {
			bad_ring(h, rd, i, "a record that does not fit");
			return 0;
		}
		return hdr;
	}
	return 0;
}

static void on_stack(struct cp_heap *h, struct heap_reader *rd, const uint64_t *w, uint64_t arg,
		     unsigned words)
{
	uint32_t slot = (uint32_t)(arg & 0xffff), n = (uint32_t)((arg >> 16) & 0xff);
	if (slot >= CP_HEAP_SLOTS || n > CP_HEAP_MAX_FRAMES || n + 1 != words)
		return;
	uint64_t pcs[CP_HEAP_MAX_FRAMES];
	memcpy(pcs, w + 1, n * 8);
	rd->stacks[slot] = cp_recorder_user_stack(h->rec, rd->pid, pcs, n) + 1;
	rd->sites[slot] = 0;
}

static void on_thread(struct cp_heap *h, struct heap_reader *rd, uint32_t i, const uint64_t *w,
		      uint64_t arg, unsigned type, unsigned words)
{
	char name[17] = "";
	if (words >= 3)
		memcpy(name, w + 1, 16);
	name[16] = '\0';
	if (type == CP_HEAP_REC_THREAD) {
		if (i != 0 && rd->tid != (uint32_t)arg) /* a new owner: new slots */
			memset(rd->stacks, 0, sizeof(rd->stacks));
		if (rd->tid != (uint32_t)arg) /* sites are per thread */
			memset(rd->sites, 0, sizeof(rd->sites));
		if (words >= 4)
			rd->pid = (uint32_t)w[3];
		if (rd->tid != (uint32_t)arg)
			h->st.threads++;
		rd->tid = (uint32_t)arg;
		rd->last_valid = false;
	}
	rd->comm = cp_profile_intern(h->model, name);
}

/* Handle the untimed records at the cursor; leave it at the next timed
 * one.  Returns the records handled, and sets rd->next_ts (UINT64_MAX
 * when the ring has nothing more now). */
static long untimed(struct cp_heap *h, uint32_t i, struct heap_reader *rd)
{
	const struct cp_heap_ring *r = &h->shm->rings[i];
	long n = 0;
	uint64_t hdr;
	while ((hdr = peek(h, i, rd))) {
		unsigned type = CP_HEAP_HDR_TYPE(hdr), words = CP_HEAP_HDR_WORDS(hdr);
		const uint64_t *w = rec_at(r, rd->pos);
		if (timed(type)) {
			if (words < (type == CP_HEAP_REC_ALLOC ? 4u : 3u)) {
				bad_ring(h, rd, i, "a short record");
				break;
			}
			rd->next_ts = w[1];
			return n;
		}
		uint64_t arg = CP_HEAP_HDR_ARG(hdr);
		switch (type) {
		case CP_HEAP_REC_STACK:
			on_stack(h, rd, w, arg, words);
			break;
		case CP_HEAP_REC_THREAD:
		case CP_HEAP_REC_THREAD_END:
			on_thread(h, rd, i, w, arg, type, words);
			break;
		case CP_HEAP_REC_EXIT:
			rd->ack_exit = true;
			break;
		default:
			break;
		}
		rd->pos += words * 8ull;
		n++;
	}
	rd->next_ts = UINT64_MAX;
	return n;
}

static int timed_record(struct cp_heap *h, uint32_t i, struct heap_reader *rd,
			struct cp_error *err)
{
	const uint64_t *w = rec_at(&h->shm->rings[i], rd->pos);
	uint64_t hdr = w[0];
	unsigned type = CP_HEAP_HDR_TYPE(hdr), words = CP_HEAP_HDR_WORDS(hdr);
	int rc;
	uint64_t ns = event_ns(h, w[1]);
	if (type == CP_HEAP_REC_ALLOC)
		rc = on_alloc(h, rd, CP_HEAP_HDR_ARG(hdr), ns, w[2], w[3], err);
	else
		rc = on_free(h, rd, CP_HEAP_HDR_ARG(hdr), ns, w[2], err);
	rd->pos += words * 8ull;
	return rc;
}

/* The time before which every record is visible (see the top). */
static uint64_t watermark(struct cp_heap *h, uint32_t nrings, bool final)
{
	atomic_thread_fence(memory_order_seq_cst);
	uint64_t T = event_now(h);
	atomic_thread_fence(memory_order_seq_cst);
	uint64_t wm = final ? UINT64_MAX : T;
	for (uint32_t i = 0; i < nrings; i++) {
		struct heap_reader *rd = reader_of(h, i);
		uint64_t v = atomic_load(&h->shm->rings[i].inflight);
		uint64_t lb = !(v & 1) ? T : v == rd->seen_inflight ? rd->lb : h->prev_T;
		rd->seen_inflight = v;
		rd->lb = lb;
		if (!final && lb < wm)
			wm = lb;
	}
	h->prev_T = T;
	return wm;
}

/* min-heap of ring indices by next_ts */
static void heap_sift(uint32_t *q, size_t n, size_t i, struct heap_reader **rs)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && rs[q[l]]->next_ts < rs[q[m]]->next_ts)
			m = l;
		if (l + 1 < n && rs[q[l + 1]]->next_ts < rs[q[m]]->next_ts)
			m = l + 1;
		if (m == i)
			return;
		uint32_t t = q[i];
		q[i] = q[m];
		q[m] = t;
		i = m;
	}
}

static long round_(struct cp_heap *h, bool final, struct cp_error *err)
{
	struct cp_heap_shm *s = h->shm;
	uint32_t nrings = atomic_load(&s->nclaimed) + 1;
	if (nrings > s->nrings)
		nrings = s->nrings;
	uint64_t wm = watermark(h, nrings, final);
	uint32_t q[CP_HEAP_RINGS];
	size_t nq = 0;
	long n = 0;
	int rc = 0;
	for (uint32_t i = 0; i < nrings; i++) {
		struct heap_reader *rd = h->readers[i];
		rd->head = atomic_load_explicit(&s->rings[i].head, memory_order_acquire);
		if (rd->head - rd->pos > CP_HEAP_RING_BYTES) /* not a head this ring can have */
			bad_ring(h, rd, i, "a write position out of range");
		n += untimed(h, i, rd);
		if (rd->next_ts != UINT64_MAX)
			q[nq++] = i;
	}
	for (size_t k = nq / 2; k-- > 0;)
		heap_sift(q, nq, k, h->readers);
	while (nq && h->readers[q[0]]->next_ts < wm) {
		uint32_t i = q[0];
		struct heap_reader *rd = h->readers[i];
		if (!rc)
			rc = timed_record(h, i, rd, err);
		else
			rd->pos += CP_HEAP_HDR_WORDS(*rec_at(&s->rings[i], rd->pos)) * 8ull;
		n += 1 + untimed(h, i, rd);
		if (rd->next_ts == UINT64_MAX)
			q[0] = q[--nq];
		heap_sift(q, nq, 0, h->readers);
	}
	for (uint32_t i = 0; i < nrings; i++) {
		struct heap_reader *rd = h->readers[i];
		struct cp_heap_ring *r = &s->rings[i];
		atomic_store_explicit(&r->tail, rd->pos, memory_order_release);
		if (rd->ack_exit) {
			rd->ack_exit = false;
			atomic_store_explicit(&r->exit_ack, 1, memory_order_release);
		}
		/* a thread that has exited: its ring is free again once read */
		if (i && atomic_load_explicit(&r->closed, memory_order_acquire) &&
		    rd->pos == atomic_load(&r->head) && atomic_load(&r->owner)) {
			atomic_store(&r->closed, 0);
			atomic_store_explicit(&r->owner, 0, memory_order_release);
		}
	}
	h->st.records += (uint64_t)n;
	return rc ? rc : n;
}

static int start(struct cp_heap *h, struct cp_error *err)
{
	if (h->started || !atomic_load(&h->shm->processes))
		return 0;
	int rc = cp_recorder_start_external(h->rec, h->opts.attach ? "attach" : "preload", "malloc",
					    err);
	if (rc == 0)
		h->started = true;
	return rc;
}

long cp_heap_process(struct cp_heap *h, struct cp_error *err)
{
	int rc = start(h, err);
	if (rc)
		return rc;
	if (h->tsc)
		tsc_calibrate(h);
	long n = round_(h, false, err);
	if (n < 0)
		return n;
	if (h->started && (rc = cp_recorder_process(h->rec, err)))
		return rc;
	return n;
}

int cp_heap_finish(struct cp_heap *h, int exit_status, struct cp_error *err)
{
	if (h->finished)
		return 0;
	h->finished = true;
	int rc = start(h, err);
	if (rc)
		return rc;
	long n;
	while ((n = round_(h, true, err)) > 0)
		;
	if (n < 0)
		return (int)n;
	if (!h->started)
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "the program never loaded libcprof-heap.so, so no allocation "
				    "was seen (a static binary started by a script, or an allocator "
				    "other than malloc?)");
	if (h->opts.live) /* no file: the caller has taken what it wanted */
		return cp_recorder_finish(h->rec, exit_status, err);
	if ((rc = flush_bucket(h, err)))
		return rc;
	/* what every site held at the peak, at the time of the peak */
	uint64_t at = h->peak_ts > h->start_ns ? h->peak_ts - h->start_ns : 0;
	for (size_t i = 0; i < h->sites.n; i++) {
		struct heap_site *s = &h->sites.v[i];
		double pn, pb;
		if (s->last_mod <= h->peak_seq) {
			pn = s->live_n;
			pb = s->live_b;
		} else if (s->snap_for == h->peak_seq) {
			pn = s->snap_n;
			pb = s->snap_b;
		} else {
			continue;
		}
		int64_t vals[HV_N] = { 0 };
		vals[HV_PEAK_N] = llround(pn);
		vals[HV_PEAK_B] = llround(pb);
		if ((vals[HV_PEAK_N] || vals[HV_PEAK_B]) && (rc = write_sample(h, s, at, vals, err)))
			return rc;
	}
	struct cp_profile_meta *m = &h->model->meta;
	h->st.dropped += atomic_load(&h->shm->dropped);
	m->lost_records = h->st.dropped;
	return cp_recorder_finish(h->rec, exit_status, err);
}

void cp_heap_stats(const struct cp_heap *h, struct cp_heap_stats *st)
{
	*st = h->st;
	st->processes = atomic_load(&h->shm->processes);
	st->peak_bytes = h->peak_b;
	st->peak_objects = h->peak_n;
	st->peak_time_ns = h->peak_ts > h->start_ns ? h->peak_ts - h->start_ns : 0;
	st->leaked_bytes = h->total_b + 0.0; /* never -0 */
	st->leaked_objects = h->total_n + 0.0;
	for (size_t i = 0; i < h->sites.n; i++) {
		st->alloc_objects += h->sites.v[i].acc[HV_ALLOC_N];
		st->alloc_bytes += h->sites.v[i].acc[HV_ALLOC_B];
		st->temp_objects += h->sites.v[i].acc[HV_TEMP_N];
	}
	struct cp_record_stats rs;
	cp_recorder_stats(h->rec, &rs);
	st->bytes = rs.bytes;
	st->started = h->started;
}

/* ---- live mode ------------------------------------------------------------- */

static const int totals_of[4] = { HV_ALLOC_N, HV_ALLOC_B, HV_INUSE_N, HV_INUSE_B };

void cp_heap_totals(const struct cp_heap *h, struct cp_heap_totals *t)
{
	t->n = h->sites.n;
	t->ns = cp_now_ns();
	t->v = cp_xmalloc((t->n + 1) * 4 * sizeof(*t->v));
	for (size_t i = 0; i < t->n; i++)
		for (int k = 0; k < 4; k++)
			t->v[4 * i + k] = llround(h->sites.v[i].acc[totals_of[k]]);
}

void cp_heap_totals_release(struct cp_heap_totals *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

struct cp_profile *cp_heap_profile(struct cp_heap *h, const struct cp_heap_totals *now,
				   const struct cp_heap_totals *base)
{
	size_t n = now->n <= h->sites.n ? now->n : h->sites.n, k = 0;
	struct cp_profile_sample *ss = cp_xcalloc(n + 1, sizeof(*ss));
	int64_t *vals = cp_xcalloc((n + 1) * HV_N, sizeof(*vals));
	for (size_t i = 0; i < n; i++) {
		int64_t *v = vals + k * HV_N;
		bool any = false;
		for (int j = 0; j < 4; j++) {
			int64_t b = base && i < base->n ? base->v[4 * i + j] : 0;
			v[totals_of[j]] = now->v[4 * i + j] - b;
			any |= v[totals_of[j]] != 0;
		}
		if (!any)
			continue;
		const struct heap_site *s = &h->sites.v[i];
		ss[k++] = (struct cp_profile_sample){ .stack = s->stack, .pid = s->pid,
						      .tid = s->tid, .comm = s->comm,
						      .flags = CP_SAMPLE_COMPLETE };
	}
	struct cp_profile *p = cp_recorder_snapshot(h->rec, ss, vals, k);
	free(ss);
	free(vals);
	p->meta.default_type = cp_profile_intern(p, "inuse_space");
	if (base) {
		uint64_t offset = cp_realtime_ns() - cp_now_ns();
		p->meta.time_nanos = base->ns + offset;
		p->meta.duration_nanos = now->ns - base->ns;
	}
	return p;
}

void cp_heap_free(struct cp_heap *h)
{
	if (!h)
		return;
	if (h->readers)
		for (uint32_t i = 0; i < CP_HEAP_RINGS; i++)
			free(h->readers[i]);
	free(h->readers);
	heap_shm_release(h);
	cp_recorder_free(h->rec);
	CP_VEC_FREE(h->sites);
	cp_u64map_release(&h->site_index);
	heap_live_release(&h->live);
	free(h->lib);
	free(h->saved_preload);
	free(h);
}
