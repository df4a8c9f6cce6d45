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

#include "sample/record-int.h"

struct cp_profile *cp_recorder_cut(struct cp_recorder *r)
{
	struct cp_profile *m = r->model;
	rec_open_late_modules(r);
	cp_sample_symbolize_from(m, r->symz, r->map_modules.v, false, r->symbolized);
	r->symbolized = (uint32_t)m->locations.n;
	rec_store_code(r);

	uint64_t now = cp_now_ns();
	/* sample times count from the period's start */
	uint64_t shift = r->period_start_ns - r->start_ns;
	for (size_t i = 0; i < r->psamples.n; i++) {
		uint64_t *t = &r->psamples.v[i].time;
		*t = *t > shift ? *t - shift : 0;
	}
	struct cp_profile *p = cp_profile_subset(m, r->psamples.v, r->pvalues.v, r->psamples.n);
	p->meta.time_nanos = r->period_start_real;
	p->meta.duration_nanos = now - r->period_start_ns;
	p->meta.lost_samples = r->st.lost - r->period_lost_base;
	p->meta.exit_status = r->finished ? r->exit_status : -1;

	r->psamples.n = 0;
	r->pvalues.n = 0;
	r->period_start_ns = now;
	r->period_start_real = cp_realtime_ns();
	r->period_lost_base = r->st.lost;
	return p;
}
