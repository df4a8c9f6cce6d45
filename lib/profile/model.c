/* model.c - the in-memory profile model: construction, interning and
 * structural comparison.
 *
 * Everything a profile refers to is owned by it: strings live in one
 * intern table (so equal strings share one pointer and pointers stay valid
 * until cp_profile_free), stacks are interned arrays of location indices,
 * functions are deduplicated on their identity.  This file does not
 * aggregate, filter or build call trees; those work over the finished
 * model elsewhere in lib/profile.
 */
#include "profile/profile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct cp_profile *cp_profile_new(void)
{
	struct cp_profile *p = cp_xcalloc(1, sizeof(*p));
	cp_intern_init(&p->strings_);
	cp_intern_init(&p->stack_index_);
	cp_intern_init(&p->function_index_);
	const char *e = cp_profile_intern(p, "");
	struct cp_profile_meta *m = &p->meta;
	m->command = m->event = m->sampler = m->callgraph = e;
	m->hostname = m->os_release = m->arch = m->cprof_version = m->default_type = e;
	m->exit_status = -1;
	/* keep the arrays non-NULL so pointer arithmetic on empty ones is defined */
	CP_VEC_RESERVE(p->stack_locs, 16);
	CP_VEC_RESERVE(p->values, 16);
	CP_VEC_RESERVE(p->lines, 16);
	return p;
}

void cp_profile_free(struct cp_profile *p)
{
	if (!p)
		return;
	CP_VEC_FREE(p->value_types);
	CP_VEC_FREE(p->mappings);
	CP_VEC_FREE(p->functions);
	CP_VEC_FREE(p->lines);
	CP_VEC_FREE(p->locations);
	CP_VEC_FREE(p->stacks);
	CP_VEC_FREE(p->stack_locs);
	CP_VEC_FREE(p->samples);
	CP_VEC_FREE(p->values);
	CP_VEC_FREE(p->code);
	CP_VEC_FREE(p->code_bytes);
	CP_VEC_FREE(p->code_lines);
	cp_intern_release(&p->strings_);
	cp_intern_release(&p->stack_index_);
	cp_intern_release(&p->function_index_);
	cp_u64map_release(&p->code_index_);
	free(p);
}

const char *cp_profile_intern_n(struct cp_profile *p, const char *s, size_t n)
{
	if (!s)
		s = "", n = 0;
	uint32_t id = cp_intern_add(&p->strings_, s, n, NULL);
	return cp_intern_get(&p->strings_, id);
}

const char *cp_profile_intern(struct cp_profile *p, const char *s)
{
	return cp_profile_intern_n(p, s, s ? strlen(s) : 0);
}

uint32_t cp_profile_add_value_type(struct cp_profile *p, const char *type, const char *unit)
{
	struct cp_profile_value_type vt = {
		.type = cp_profile_intern(p, type),
		.unit = cp_profile_intern(p, unit),
	};
	CP_VEC_PUSH(p->value_types, vt);
	return (uint32_t)(p->value_types.n - 1);
}

uint32_t cp_profile_value_index(const struct cp_profile *p, const char *type)
{
	for (size_t i = 0; i < p->value_types.n; i++)
		if (!strcmp(p->value_types.v[i].type, type))
			return (uint32_t)i;
	return CP_NONE;
}

uint32_t cp_profile_add_mapping(struct cp_profile *p, const struct cp_profile_mapping *m)
{
	struct cp_profile_mapping c = *m;
	c.path = cp_profile_intern(p, m->path);
	c.build_id = cp_profile_intern(p, m->build_id);
	CP_VEC_PUSH(p->mappings, c);
	return (uint32_t)(p->mappings.n - 1);
}

/* Interned strings are unique per content, so the pointers themselves are a
 * content key for the function identity. */
struct function_key {
	const char *name, *system_name, *filename;
	int64_t start_line;
};

uint32_t cp_profile_add_function(struct cp_profile *p, const char *name, const char *system_name,
				 const char *filename, int64_t start_line)
{
	struct function_key k;
	memset(&k, 0, sizeof(k));
	k.name = cp_profile_intern(p, name);
	k.system_name = cp_profile_intern(p, system_name);
	k.filename = cp_profile_intern(p, filename);
	k.start_line = start_line;
	bool added;
	uint32_t id = cp_intern_add(&p->function_index_, &k, sizeof(k), &added);
	if (added) {
		struct cp_profile_function f = {
			.name = k.name,
			.system_name = k.system_name,
			.filename = k.filename,
			.start_line = start_line,
		};
		CP_VEC_PUSH(p->functions, f);
	}
	return id;
}

void cp_profile_set_function_flags(struct cp_profile *p, uint32_t function, uint32_t flags)
{
	if (function < p->functions.n)
		p->functions.v[function].flags |= flags;
}

static uint32_t append_lines(struct cp_profile *p, const struct cp_profile_line *lines, uint32_t n)
{
	uint32_t start = (uint32_t)p->lines.n;
	if (n) {
		CP_VEC_RESERVE(p->lines, p->lines.n + n);
		memcpy(p->lines.v + p->lines.n, lines, n * sizeof(*lines));
		p->lines.n += n;
	}
	return start;
}

uint32_t cp_profile_add_location(struct cp_profile *p, uint32_t mapping, uint64_t address,
				 const struct cp_profile_line *lines, uint32_t n)
{
	struct cp_profile_location l = {
		.mapping = mapping,
		.address = address,
		.line_start = append_lines(p, lines, n),
		.nlines = n,
	};
	CP_VEC_PUSH(p->locations, l);
	return (uint32_t)(p->locations.n - 1);
}

void cp_profile_set_location_lines(struct cp_profile *p, uint32_t loc,
				   const struct cp_profile_line *lines, uint32_t n)
{
	uint32_t start = append_lines(p, lines, n);
	p->locations.v[loc].line_start = start;
	p->locations.v[loc].nlines = n;
}

uint32_t cp_profile_add_stack(struct cp_profile *p, const uint32_t *locs, uint32_t n)
{
	static const uint32_t empty;
	bool added;
	if (!n)
		locs = &empty; /* the hash reads through the pointer even for 0 bytes */
	uint32_t id = cp_intern_add(&p->stack_index_, locs, (size_t)n * sizeof(*locs), &added);
	if (added) {
		struct cp_profile_stack st = { .start = (uint32_t)p->stack_locs.n, .len = n };
		CP_VEC_RESERVE(p->stack_locs, p->stack_locs.n + n);
		if (n)
			memcpy(p->stack_locs.v + p->stack_locs.n, locs, n * sizeof(*locs));
		p->stack_locs.n += n;
		CP_VEC_PUSH(p->stacks, st);
	}
	return id;
}

void cp_profile_add_sample(struct cp_profile *p, const struct cp_profile_sample *s,
			   const int64_t *values)
{
	struct cp_profile_sample c = *s;
	if (!c.comm)
		c.comm = cp_profile_intern(p, "");
	if (!c.syscall)
		c.syscall = cp_profile_intern(p, "");
	CP_VEC_PUSH(p->samples, c);
	size_t nv = p->value_types.n;
	if (nv) {
		CP_VEC_RESERVE(p->values, p->values.n + nv);
		memcpy(p->values.v + p->values.n, values, nv * sizeof(*values));
		p->values.n += nv;
	}
}

const char *cp_profile_unknown_name(const struct cp_profile *p, uint32_t loc, char *buf,
				    size_t size)
{
	const struct cp_profile_location *l = &p->locations.v[loc];
	if (l->mapping != CP_NONE && l->mapping < p->mappings.n &&
	    p->mappings.v[l->mapping].path[0])
		snprintf(buf, size, "%s+0x%" PRIx64, cp_basename(p->mappings.v[l->mapping].path),
			 l->address);
	else
		snprintf(buf, size, "0x%" PRIx64, l->address);
	return buf;
}

/* ---- stored machine code ---------------------------------------------- */

uint32_t cp_profile_add_code(struct cp_profile *p, uint32_t mapping, uint32_t function,
			     uint64_t address, const uint8_t *bytes, uint32_t size,
			     const struct cp_profile_code_line *rows, uint32_t nrows)
{
	const char *path = mapping < p->mappings.n ? p->mappings.v[mapping].path : NULL;
	if (path) {
		/* an index rather than cp_profile_find_code's scan: readers add
		 * thousands of entries */
		uint32_t sid = cp_intern_add(&p->strings_, path, strlen(path), NULL);
		uint64_t key = (uint64_t)sid << 32 | function;
		bool added;
		uint64_t *slot = cp_u64map_upsert(&p->code_index_, key, p->code.n, &added);
		if (!added)
			return (uint32_t)*slot;
	}
	struct cp_profile_code c = {
		.mapping = mapping,
		.function = function,
		.address = address,
		.size = size,
		.bytes_start = p->code_bytes.n,
		.line_start = (uint32_t)p->code_lines.n,
		.nlines = nrows,
	};
	CP_VEC_RESERVE(p->code_bytes, p->code_bytes.n + size);
	if (size)
		memcpy(p->code_bytes.v + p->code_bytes.n, bytes, size);
	p->code_bytes.n += size;
	for (uint32_t i = 0; i < nrows; i++) {
		struct cp_profile_code_line r = rows[i];
		r.file = cp_profile_intern(p, rows[i].file);
		CP_VEC_PUSH(p->code_lines, r);
	}
	CP_VEC_PUSH(p->code, c);
	return (uint32_t)(p->code.n - 1);
}

/* A linear scan: there is one entry per sampled function (hundreds, a few
 * thousand at most) and it runs once per annotate request. */
const struct cp_profile_code *cp_profile_find_code(const struct cp_profile *p, uint32_t function,
						   const char *path)
{
	for (size_t i = 0; i < p->code.n; i++) {
		const struct cp_profile_code *c = &p->code.v[i];
		if (c->function != function)
			continue;
		if (!path || (c->mapping < p->mappings.n &&
			      !strcmp(p->mappings.v[c->mapping].path, path)))
			return c;
	}
	return NULL;
}

/* ---- equality ---------------------------------------------------------- */

#define DIFF(...)                                                                                  \
	do {                                                                                       \
		if (why && why_size)                                                               \
			snprintf(why, why_size, __VA_ARGS__);                                      \
		return false;                                                                      \
	} while (0)

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool meta_equal(const struct cp_profile_meta *a, const struct cp_profile_meta *b, char *why,
		       size_t why_size)
{
#define MSTR(f)                                                                                    \
	if (!str_eq(a->f, b->f))                                                                   \
	DIFF("meta." #f " differs: '%s' vs '%s'", a->f ? a->f : "", b->f ? b->f : "")
#define MNUM(f)                                                                                    \
	if (a->f != b->f)                                                                          \
	DIFF("meta." #f " differs: %lld vs %lld", (long long)a->f, (long long)b->f)
	MSTR(command);
	MSTR(event);
	MSTR(sampler);
	MSTR(callgraph);
	MSTR(hostname);
	MSTR(os_release);
	MSTR(arch);
	MSTR(cprof_version);
	MSTR(default_type);
	MNUM(time_nanos);
	MNUM(duration_nanos);
	MNUM(period);
	MNUM(freq);
	MNUM(stack_size);
	MNUM(lost_samples);
	MNUM(lost_records);
	MNUM(exit_status);
	MNUM(code_max);
	MNUM(code_skipped);
#undef MSTR
#undef MNUM
	return true;
}

static bool code_equal(const struct cp_profile *a, const struct cp_profile *b, char *why,
		       size_t why_size)
{
	if (a->code.n != b->code.n)
		DIFF("code entry count differs: %zu vs %zu", a->code.n, b->code.n);
	for (size_t i = 0; i < a->code.n; i++) {
		const struct cp_profile_code *x = &a->code.v[i], *y = &b->code.v[i];
		if (x->mapping != y->mapping || x->function != y->function ||
		    x->address != y->address || x->size != y->size || x->nlines != y->nlines)
			DIFF("code entry %zu differs", i);
		if (memcmp(a->code_bytes.v + x->bytes_start, b->code_bytes.v + y->bytes_start,
			   x->size))
			DIFF("code entry %zu bytes differ", i);
		for (uint32_t j = 0; j < x->nlines; j++) {
			const struct cp_profile_code_line *lx = &a->code_lines.v[x->line_start + j];
			const struct cp_profile_code_line *ly = &b->code_lines.v[y->line_start + j];
			if (lx->address != ly->address || lx->line != ly->line ||
			    !str_eq(lx->file, ly->file))
				DIFF("code entry %zu row %u differs", i, j);
		}
	}
	return true;
}

static bool defs_equal(const struct cp_profile *a, const struct cp_profile *b, char *why,
		       size_t why_size)
{
	if (a->value_types.n != b->value_types.n)
		DIFF("value type count differs: %zu vs %zu", a->value_types.n, b->value_types.n);
	for (size_t i = 0; i < a->value_types.n; i++) {
		const struct cp_profile_value_type *x = &a->value_types.v[i],
						   *y = &b->value_types.v[i];
		if (!str_eq(x->type, y->type) || !str_eq(x->unit, y->unit))
			DIFF("value type %zu differs: %s/%s vs %s/%s", i, x->type, x->unit, y->type,
			     y->unit);
	}
	if (a->mappings.n != b->mappings.n)
		DIFF("mapping count differs: %zu vs %zu", a->mappings.n, b->mappings.n);
	for (size_t i = 0; i < a->mappings.n; i++) {
		const struct cp_profile_mapping *x = &a->mappings.v[i], *y = &b->mappings.v[i];
		if (!str_eq(x->path, y->path) || !str_eq(x->build_id, y->build_id) ||
		    x->start != y->start || x->limit != y->limit || x->offset != y->offset ||
		    x->flags != y->flags)
			DIFF("mapping %zu differs ('%s' vs '%s')", i, x->path, y->path);
	}
	if (a->functions.n != b->functions.n)
		DIFF("function count differs: %zu vs %zu", a->functions.n, b->functions.n);
	for (size_t i = 0; i < a->functions.n; i++) {
		const struct cp_profile_function *x = &a->functions.v[i], *y = &b->functions.v[i];
		if (!str_eq(x->name, y->name) || !str_eq(x->system_name, y->system_name) ||
		    !str_eq(x->filename, y->filename) || x->start_line != y->start_line ||
		    x->flags != y->flags)
			DIFF("function %zu differs ('%s' vs '%s')", i, x->name, y->name);
	}
	if (a->locations.n != b->locations.n)
		DIFF("location count differs: %zu vs %zu", a->locations.n, b->locations.n);
	for (size_t i = 0; i < a->locations.n; i++) {
		const struct cp_profile_location *x = &a->locations.v[i], *y = &b->locations.v[i];
		if (x->mapping != y->mapping || x->address != y->address)
			DIFF("location %zu differs: mapping %u addr 0x%" PRIx64
			     " vs mapping %u addr 0x%" PRIx64,
			     i, x->mapping, x->address, y->mapping, y->address);
		if (x->nlines != y->nlines)
			DIFF("location %zu line count differs: %u vs %u", i, x->nlines, y->nlines);
		for (uint32_t j = 0; j < x->nlines; j++) {
			const struct cp_profile_line *lx = &a->lines.v[x->line_start + j];
			const struct cp_profile_line *ly = &b->lines.v[y->line_start + j];
			if (lx->function != ly->function || lx->line != ly->line ||
			    lx->inlined != ly->inlined)
				DIFF("location %zu line %u differs", i, j);
		}
	}
	if (a->stacks.n != b->stacks.n)
		DIFF("stack count differs: %zu vs %zu", a->stacks.n, b->stacks.n);
	for (uint32_t i = 0; i < a->stacks.n; i++) {
		uint32_t nx, ny;
		const uint32_t *x = cp_profile_stack_locs(a, i, &nx);
		const uint32_t *y = cp_profile_stack_locs(b, i, &ny);
		if (nx != ny)
			DIFF("stack %u depth differs: %u vs %u", i, nx, ny);
		for (uint32_t j = 0; j < nx; j++)
			if (x[j] != y[j])
				DIFF("stack %u frame %u differs: location %u vs %u", i, j, x[j],
				     y[j]);
	}
	return code_equal(a, b, why, why_size);
}

static bool samples_equal(const struct cp_profile *a, const struct cp_profile *b, char *why,
			  size_t why_size)
{
	if (a->samples.n != b->samples.n)
		DIFF("sample count differs: %zu vs %zu", a->samples.n, b->samples.n);
	size_t nv = a->value_types.n;
	for (size_t i = 0; i < a->samples.n; i++) {
		const struct cp_profile_sample *x = &a->samples.v[i], *y = &b->samples.v[i];
		if (x->stack != y->stack)
			DIFF("sample %zu stack differs: %u vs %u", i, x->stack, y->stack);
		if (x->pid != y->pid || x->tid != y->tid)
			DIFF("sample %zu pid/tid differs: %u/%u vs %u/%u", i, x->pid, x->tid,
			     y->pid, y->tid);
		if (!str_eq(x->comm, y->comm))
			DIFF("sample %zu comm differs: '%s' vs '%s'", i, x->comm ? x->comm : "",
			     y->comm ? y->comm : "");
		if (x->time != y->time)
			DIFF("sample %zu time differs: %" PRIu64 " vs %" PRIu64, i, x->time,
			     y->time);
		if (x->flags != y->flags || x->cpu != y->cpu || x->stack_need != y->stack_need)
			DIFF("sample %zu flags/cpu/stack_need differ", i);
		if ((x->flags & CP_SAMPLE_OFFCPU) && !str_eq(x->syscall, y->syscall))
			DIFF("sample %zu syscall differs: '%s' vs '%s'", i,
			     x->syscall ? x->syscall : "", y->syscall ? y->syscall : "");
		const int64_t *vx = a->values.v + i * nv, *vy = b->values.v + i * nv;
		for (size_t j = 0; j < nv; j++)
			if (vx[j] != vy[j])
				DIFF("sample %zu value %zu differs: %lld vs %lld", i, j,
				     (long long)vx[j], (long long)vy[j]);
	}
	return true;
}

/* Compares content, not pointers, so profiles built independently (a
 * writer's model and the reader's result) compare equal.  The truncation
 * fields describe how the input was read, not the profile, and are not
 * compared. */
bool cp_profile_equal(const struct cp_profile *a, const struct cp_profile *b, char *why,
		      size_t why_size)
{
	if (why && why_size)
		why[0] = '\0';
	return meta_equal(&a->meta, &b->meta, why, why_size) && defs_equal(a, b, why, why_size) &&
	       samples_equal(a, b, why, why_size);
}
