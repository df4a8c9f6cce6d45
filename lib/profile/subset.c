/* subset.c - a profile of some samples: a new, self-contained profile with
 * only the mappings, functions, locations, stacks and stored code those
 * samples use, renumbered densely, and the samples themselves.  This is
 * how one period of a continuous recording leaves the recorder's model,
 * which keeps every definition of the run.
 *
 * Work is proportional to the source's definition counts (one index
 * array each) plus what the samples use.
 */
#include "profile/profile.h"

#include <stdlib.h>
#include <string.h>

struct remap {
	const struct cp_profile *src;
	struct cp_profile *dst;
	uint32_t *map, *fn, *loc; /* src index -> dst index, CP_NONE not yet */
	CP_VEC(struct cp_profile_line) lines;
	CP_VEC(uint32_t) locs;
};

static const char *str(struct remap *R, const char *s)
{
	return cp_profile_intern(R->dst, s);
}

static uint32_t map_of(struct remap *R, uint32_t m)
{
	if (m == CP_NONE || m >= R->src->mappings.n)
		return CP_NONE;
	if (R->map[m] == CP_NONE)
		R->map[m] = cp_profile_add_mapping(R->dst, &R->src->mappings.v[m]);
	return R->map[m];
}

static uint32_t fn_of(struct remap *R, uint32_t f)
{
	if (R->fn[f] == CP_NONE) {
		const struct cp_profile_function *x = &R->src->functions.v[f];
		R->fn[f] = cp_profile_add_function(R->dst, x->name, x->system_name, x->filename,
						   x->start_line);
		if (x->flags)
			cp_profile_set_function_flags(R->dst, R->fn[f], x->flags);
	}
	return R->fn[f];
}

static uint32_t loc_of(struct remap *R, uint32_t l)
{
	if (R->loc[l] != CP_NONE)
		return R->loc[l];
	const struct cp_profile_location *x = &R->src->locations.v[l];
	R->lines.n = 0;
	CP_VEC_RESERVE(R->lines, x->nlines);
	for (uint32_t i = 0; i < x->nlines; i++) {
		struct cp_profile_line ln = R->src->lines.v[x->line_start + i];
		ln.function = fn_of(R, ln.function);
		R->lines.v[i] = ln;
	}
	R->loc[l] = cp_profile_add_location(R->dst, map_of(R, x->mapping), x->address, R->lines.v,
					    x->nlines);
	return R->loc[l];
}

static void copy_meta(struct remap *R)
{
	const struct cp_profile_meta *s = &R->src->meta;
	struct cp_profile_meta *d = &R->dst->meta;
	*d = *s;
	d->command = str(R, s->command);
	d->event = str(R, s->event);
	d->sampler = str(R, s->sampler);
	d->callgraph = str(R, s->callgraph);
	d->hostname = str(R, s->hostname);
	d->os_release = str(R, s->os_release);
	d->arch = str(R, s->arch);
	d->cprof_version = str(R, s->cprof_version);
	d->default_type = str(R, s->default_type);
}

/* The stored code of the functions the samples use. */
static void copy_code(struct remap *R)
{
	const struct cp_profile *s = R->src;
	CP_VEC(struct cp_profile_code_line) rows = { 0 };
	for (size_t i = 0; i < s->code.n; i++) {
		const struct cp_profile_code *c = &s->code.v[i];
		if (c->function >= s->functions.n || R->fn[c->function] == CP_NONE)
			continue;
		CP_VEC_RESERVE(rows, c->nlines);
		for (uint32_t j = 0; j < c->nlines; j++)
			rows.v[j] = s->code_lines.v[c->line_start + j];
		cp_profile_add_code(R->dst, map_of(R, c->mapping), R->fn[c->function], c->address,
				    s->code_bytes.v + c->bytes_start, c->size, rows.v, c->nlines);
	}
	CP_VEC_FREE(rows);
}

static void remap_init(struct remap *R, const struct cp_profile *src, struct cp_profile *dst)
{
	*R = (struct remap){ .src = src, .dst = dst };
	R->map = cp_xmalloc((src->mappings.n + 1) * sizeof(uint32_t));
	R->fn = cp_xmalloc((src->functions.n + 1) * sizeof(uint32_t));
	R->loc = cp_xmalloc((src->locations.n + 1) * sizeof(uint32_t));
	memset(R->map, 0xff, (src->mappings.n + 1) * sizeof(uint32_t));
	memset(R->fn, 0xff, (src->functions.n + 1) * sizeof(uint32_t));
	memset(R->loc, 0xff, (src->locations.n + 1) * sizeof(uint32_t));
}

static void remap_release(struct remap *R)
{
	free(R->map);
	free(R->fn);
	free(R->loc);
	CP_VEC_FREE(R->lines);
	CP_VEC_FREE(R->locs);
}

/* Add n samples of R->src (values in rows of src's value count) to R->dst. */
static void append(struct remap *R, const struct cp_profile_sample *samples, const int64_t *values,
		   size_t n)
{
	const struct cp_profile *src = R->src;
	size_t nv = src->value_types.n;
	for (size_t i = 0; i < n; i++) {
		struct cp_profile_sample s = samples[i];
		if (s.stack < src->stacks.n) {
			uint32_t len;
			const uint32_t *locs = cp_profile_stack_locs(src, s.stack, &len);
			R->locs.n = 0;
			CP_VEC_RESERVE(R->locs, len);
			for (uint32_t j = 0; j < len; j++)
				R->locs.v[j] = loc_of(R, locs[j]);
			s.stack = cp_profile_add_stack(R->dst, R->locs.v, len);
		}
		s.comm = str(R, s.comm);
		s.syscall = str(R, s.syscall);
		cp_profile_add_sample(R->dst, &s, values + i * nv);
	}
	copy_code(R);
}

struct cp_profile *cp_profile_subset(const struct cp_profile *src,
				     const struct cp_profile_sample *samples, const int64_t *values,
				     size_t n)
{
	struct remap R;
	remap_init(&R, src, cp_profile_new());
	copy_meta(&R);
	for (size_t i = 0; i < src->value_types.n; i++)
		cp_profile_add_value_type(R.dst, src->value_types.v[i].type,
					  src->value_types.v[i].unit);
	append(&R, samples, values, n);
	remap_release(&R);
	return R.dst;
}

int cp_profile_merge(struct cp_profile *dst, const struct cp_profile *src, struct cp_error *err)
{
	bool empty = !dst->value_types.n;
	if (!empty) {
		bool same = dst->value_types.n == src->value_types.n;
		for (size_t i = 0; same && i < src->value_types.n; i++)
			same = !strcmp(dst->value_types.v[i].type, src->value_types.v[i].type) &&
			       !strcmp(dst->value_types.v[i].unit, src->value_types.v[i].unit);
		if (!same)
			return cp_error_set(err, CP_E_USAGE,
					    "profiles of different types cannot be merged (%s/%s "
					    "and %s/%s)",
					    dst->value_types.v[0].type, dst->value_types.v[0].unit,
					    src->value_types.n ? src->value_types.v[0].type : "none",
					    src->value_types.n ? src->value_types.v[0].unit : "none");
	}
	struct remap R;
	remap_init(&R, src, dst);
	if (empty) {
		copy_meta(&R);
		for (size_t i = 0; i < src->value_types.n; i++)
			cp_profile_add_value_type(dst, src->value_types.v[i].type,
						  src->value_types.v[i].unit);
	} else {
		/* the time covered: from the earliest start to the latest end */
		struct cp_profile_meta *d = &dst->meta;
		const struct cp_profile_meta *s = &src->meta;
		uint64_t end = d->time_nanos + d->duration_nanos, send = s->time_nanos + s->duration_nanos;
		if (s->time_nanos && (!d->time_nanos || s->time_nanos < d->time_nanos))
			d->time_nanos = s->time_nanos;
		if (send > end)
			end = send;
		d->duration_nanos = end > d->time_nanos ? end - d->time_nanos : 0;
		d->lost_samples += s->lost_samples;
	}
	append(&R, src->samples.v, src->values.v, src->samples.n);
	remap_release(&R);
	return 0;
}
