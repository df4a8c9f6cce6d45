/* cut.c - the periods of a continuous recording.  The recorder keeps its
 * model, symbolizer, modules and unwinder for the whole run; each period
 * only owns its samples.  At a cut the locations that appeared since the
 * last cut are symbolized (nothing is resolved twice), the code of newly
 * sampled functions is stored, and the period's samples leave as a
 * self-contained profile with the definitions they use.
 *
 * Not here: when to cut (the command's loop), writing the period's files
 * (lib/period).
 */
#include "sample/sample.h"

#include <stdlib.h>
#include <string.h>

#include "sample/record-int.h"

/* Symbolize the locations that appeared since the last call and store
 * the code of newly sampled functions. */
static void symbolize_new(struct cp_recorder *r)
{
	struct cp_profile *m = r->model;
	rec_open_late_modules(r);
	cp_sample_symbolize_from(m, r->symz, r->map_modules.v, false, r->symbolized);
	r->symbolized = (uint32_t)m->locations.n;
	rec_store_code(r);
}

struct cp_profile *cp_recorder_snapshot(struct cp_recorder *r,
					const struct cp_profile_sample *samples,
					const int64_t *values, size_t n)
{
	symbolize_new(r);
	struct cp_profile *p = cp_profile_subset(r->model, samples, values, n);
	p->meta.time_nanos = r->start_ns + (cp_realtime_ns() - cp_now_ns());
	p->meta.duration_nanos = cp_now_ns() - r->start_ns;
	p->meta.exit_status = r->finished ? r->exit_status : -1;
	return p;
}

struct cp_profile *cp_recorder_cut(struct cp_recorder *r, uint64_t boundary_ns)
{
	uint64_t t0 = cp_now_ns();
	uint32_t new_locs = (uint32_t)r->model->locations.n - r->symbolized;
	struct cp_profile *m = r->model;
	symbolize_new(r);

	uint64_t now = cp_now_ns();
	if (!boundary_ns || boundary_ns > now)
		boundary_ns = now;
	if (boundary_ns < r->period_start_ns)
		boundary_ns = r->period_start_ns;
	/* samples taken before the boundary are this period's (their times
	 * count from the recorder's start); later ones wait for the next */
	uint64_t end = boundary_ns - r->start_ns, shift = r->period_start_ns - r->start_ns;
	size_t n = 0, carry = 0;
	for (size_t i = 0; i < r->psamples.n; i++)
		n += r->psamples.v[i].time < end;
	struct cp_profile_sample *mine = cp_xmalloc((n + 1) * sizeof(*mine));
	int64_t *vals = cp_xmalloc((n + 1) * 2 * sizeof(*vals));
	for (size_t i = 0, k = 0; i < r->psamples.n; i++) {
		struct cp_profile_sample s = r->psamples.v[i];
		if (s.time < end) {
			s.time = s.time > shift ? s.time - shift : 0;
			mine[k] = s;
			memcpy(vals + 2 * k, r->pvalues.v + 2 * i, 2 * sizeof(*vals));
			k++;
		} else {
			r->psamples.v[carry] = s;
			memmove(r->pvalues.v + 2 * carry, r->pvalues.v + 2 * i, 2 * sizeof(*vals));
			carry++;
		}
	}
	struct cp_profile *p = cp_profile_subset(m, mine, vals, n);
	free(mine);
	free(vals);
	/* wall-clock time of the period's start, through the clocks' offset
	 * now (which follows any adjustment of the wall clock) */
	uint64_t offset = cp_realtime_ns() - cp_now_ns();
	p->meta.time_nanos = r->period_start_ns + offset;
	p->meta.duration_nanos = boundary_ns - r->period_start_ns;
	p->meta.lost_samples = r->st.lost - r->period_lost_base;
	p->meta.exit_status = r->finished ? r->exit_status : -1;

	r->psamples.n = carry;
	r->pvalues.n = 2 * carry;
	r->period_start_ns = boundary_ns;
	r->period_lost_base = r->st.lost;
	cp_log(CP_LOG_DEBUG, "period cut in %.2f ms: %zu samples, %u new locations of %zu",
	       (double)(cp_now_ns() - t0) / 1e6, p->samples.n, new_locs, m->locations.n);
	return p;
}
