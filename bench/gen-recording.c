/* gen-recording.c - `make bench` helper: make a large recording out of a
 * small real one, for the convert benchmarks.
 *
 *   gen-recording IN.cprof OUT.cprof NSAMPLES
 *
 * Writes NSAMPLES samples drawn at random (a fixed seed) from IN's samples
 * (their stacks, threads and values), times advanced by the recording's
 * period with jitter, so the file compresses like a real one, with
 * IN's mappings, locations and symbols, through the same data writer
 * `cprof record` uses. */
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"
#include "data/data.h"
#include "profile/profile.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: gen-recording IN OUT NSAMPLES\n");
		return 2;
	}
	long n = 0;
	if (cp_parse_long(argv[3], 1, 100000000L, &n)) {
		fprintf(stderr, "gen-recording: bad sample count '%s'\n", argv[3]);
		return 2;
	}
	struct cp_error err = { 0 };
	struct cp_profile *p = NULL;
	if (cp_data_read(argv[1], &p, &err) < 0 || !p->samples.n) {
		fprintf(stderr, "gen-recording: %s\n", err.msg[0] ? err.msg : "no samples");
		return 1;
	}
	size_t have = p->samples.n;
	struct cp_profile_sample *src = cp_xmalloc(have * sizeof(*src));
	int64_t *vals = cp_xmalloc(have * p->value_types.n * sizeof(*vals) + 1);
	for (size_t i = 0; i < have; i++) {
		src[i] = p->samples.v[i];
		for (size_t k = 0; k < p->value_types.n; k++)
			vals[i * p->value_types.n + k] = cp_profile_sample_values(p, i)[k];
	}
	p->samples.n = 0;
	p->values.n = 0;
	struct cp_data_writer *w = cp_data_writer_open(argv[2], p, &err);
	if (!w) {
		fprintf(stderr, "gen-recording: %s\n", err.msg);
		return 1;
	}
	uint64_t step = p->meta.freq ? 1000000000ull / p->meta.freq : 1000000;
	uint64_t rnd = 2024, t = 0;
	for (long i = 0; i < n; i++) {
		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t k = (size_t)(rnd >> 33) % have;
		struct cp_profile_sample s = src[k];
		t += step - step / 8 + (rnd >> 20) % (step / 4 + 1);
		s.time = t;
		if (cp_data_writer_add_sample(w, &s, vals + k * p->value_types.n, &err) < 0) {
			fprintf(stderr, "gen-recording: %s\n", err.msg);
			cp_data_writer_abort(w);
			return 1;
		}
	}
	p->meta.duration_nanos = t;
	if (cp_data_writer_finish(w, &err) < 0) {
		fprintf(stderr, "gen-recording: %s\n", err.msg);
		return 1;
	}
	free(src);
	free(vals);
	cp_profile_free(p);
	return 0;
}
