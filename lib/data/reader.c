/* reader.c - the cprof.data reader: validates and decodes a whole file
 * into a new profile model.
 *
 * Every length, count and index in the input is checked against the
 * buffer and against what has been defined so far, so malformed input
 * yields CP_E_FORMAT with the byte offset of the bad chunk, never a crash
 * or an allocation sized by an unchecked field.  A file that stops inside
 * a chunk or lacks the end chunk was cut short: the reader returns the
 * complete prefix and marks the profile truncated.  Samples decode straight
 * into the model's vectors.  The format is described in man/cprof-data.5;
 * the writer is writer.c.
 */
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "data/layout.h"

struct rd {
	struct cp_profile *p;
	const char *name;
	struct cp_error *err;
	uint64_t chunk_off; /* file offset of the chunk being decoded */
	uint32_t recno;     /* 1-based record number within the chunk */

	CP_VEC(const char *) strs;  /* file string id -> interned string */
	CP_VEC(uint32_t) funcs;     /* file function index -> model index */
	CP_VEC(uint32_t) stacks;    /* file stack index -> model index */
	CP_VEC(uint64_t) last_addr; /* per mapping + 1, address delta base */
	CP_VEC(int64_t) prev_values;
	CP_VEC(uint32_t) locbuf;
	CP_VEC(struct cp_profile_line) linebuf;
	CP_VEC(struct cp_profile_code_line) codebuf;
	uint64_t nsamples; /* samples decoded */
	bool ended;

	ZSTD_DCtx *dctx;
	uint8_t *raw;
	size_t rawcap;
};

static int CP_PRINTF(2, 3) bad(struct rd *c, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->recno)
		return cp_error_set(c->err, CP_E_FORMAT, "'%s': %s in chunk at offset %" PRIu64,
				    c->name, msg, c->chunk_off);
	return cp_error_set(c->err, CP_E_FORMAT,
			    "'%s': %s in chunk at offset %" PRIu64 ", record %u", c->name, msg,
			    c->chunk_off, c->recno);
}

static int str_ref(struct rd *c, struct cp_rd *r, const char **out)
{
	uint64_t id;
	if (cp_rd_uvarint(r, &id))
		return bad(c, "record ends early");
	if (id >= c->strs.n)
		return bad(c, "reference to undefined string %" PRIu64, id);
	*out = c->strs.v[id];
	return 0;
}

static int rd_u(struct rd *c, struct cp_rd *r, uint64_t *v)
{
	if (cp_rd_uvarint(r, v))
		return bad(c, "record ends early");
	return 0;
}

static int rd_u32(struct rd *c, struct cp_rd *r, uint32_t *v)
{
	uint64_t x;
	if (cp_rd_uvarint(r, &x))
		return bad(c, "record ends early");
	if (x > UINT32_MAX)
		return bad(c, "value %" PRIu64 " out of range", x);
	*v = (uint32_t)x;
	return 0;
}

static int rd_s(struct rd *c, struct cp_rd *r, int64_t *v)
{
	if (cp_rd_svarint(r, v))
		return bad(c, "record ends early");
	return 0;
}

/* Batch records start with (first index, count); first must continue the
 * table densely and count can't exceed the bytes left (each entry takes at
 * least min_size bytes), so no count from the file sizes an allocation
 * beyond the input. */
static int batch_head(struct rd *c, struct cp_rd *r, size_t have, size_t min_size, const char *what,
		      uint64_t *count)
{
	uint64_t first;
	if (rd_u(c, r, &first) || rd_u(c, r, count))
		return -1;
	if (first != have)
		return bad(c, "%s %" PRIu64 " defined out of order (expected %zu)", what, first,
			   have);
	if (*count > (uint64_t)(r->end - r->p) / min_size)
		return bad(c, "%s count %" PRIu64 " exceeds the record", what, *count);
	if (have + *count > UINT32_MAX - 1)
		return bad(c, "too many %ss", what);
	return 0;
}

static int rec_strings(struct rd *c, struct cp_rd *r)
{
	uint64_t n;
	if (batch_head(c, r, c->strs.n, 1, "string", &n))
		return -1;
	CP_VEC_RESERVE(c->strs, c->strs.n + n);
	for (uint64_t i = 0; i < n; i++) {
		const char *s;
		size_t len;
		if (cp_rd_str(r, &s, &len))
			return bad(c, "string runs past the record");
		if (memchr(s, '\0', len))
			return bad(c, "string %zu contains a NUL byte", c->strs.n);
		c->strs.v[c->strs.n++] = cp_profile_intern_n(c->p, s, len);
	}
	return 0;
}

static int rec_value_type(struct rd *c, struct cp_rd *r)
{
	uint64_t idx;
	const char *type, *unit;
	if (rd_u(c, r, &idx) || str_ref(c, r, &type) || str_ref(c, r, &unit))
		return -1;
	if (idx != c->p->value_types.n)
		return bad(c, "value type %" PRIu64 " defined out of order", idx);
	if (c->p->samples.n)
		return bad(c, "value type defined after samples");
	if (c->p->value_types.n >= DF_MAX_VALUE_TYPES)
		return bad(c, "too many value types");
	cp_profile_add_value_type(c->p, type, unit);
	CP_VEC_PUSH(c->prev_values, 0);
	return 0;
}

static int rec_meta(struct rd *c, struct cp_rd *r)
{
	struct cp_profile_meta m;
	const char **strs[] = { &m.command,  &m.event,      &m.sampler, &m.callgraph,
				&m.hostname, &m.os_release, &m.arch,    &m.cprof_version };
	for (size_t i = 0; i < CP_ARRAY_SIZE(strs); i++)
		if (str_ref(c, r, strs[i]))
			return -1;
	uint32_t freq = 0, stack_size = 0;
	int64_t status;
	if (rd_u(c, r, &m.time_nanos) || rd_u(c, r, &m.duration_nanos) || rd_u(c, r, &m.period) ||
	    rd_u32(c, r, &freq) || rd_u32(c, r, &stack_size) || rd_u(c, r, &m.lost_samples) ||
	    rd_u(c, r, &m.lost_records) || rd_s(c, r, &status))
		return -1;
	if (status < INT32_MIN || status > INT32_MAX)
		return bad(c, "exit status %" PRId64 " out of range", status);
	m.freq = freq;
	m.stack_size = stack_size;
	m.exit_status = (int32_t)status;
	/* the default value type came later: older files end before it */
	m.default_type = c->p->meta.default_type;
	if (r->p < r->end && str_ref(c, r, &m.default_type))
		return -1;
	m.code_max = c->p->meta.code_max;         /* from the symbol section */
	m.code_skipped = c->p->meta.code_skipped;
	c->p->meta = m;
	return 0;
}

static int rec_mapping(struct rd *c, struct cp_rd *r)
{
	uint64_t idx;
	struct cp_profile_mapping m;
	if (rd_u(c, r, &idx) || str_ref(c, r, &m.path) || str_ref(c, r, &m.build_id) ||
	    rd_u(c, r, &m.start) || rd_u(c, r, &m.limit) || rd_u(c, r, &m.offset) ||
	    rd_u32(c, r, &m.flags))
		return -1;
	if (idx != c->p->mappings.n)
		return bad(c, "mapping %" PRIu64 " defined out of order", idx);
	if (c->p->mappings.n >= UINT32_MAX - 1)
		return bad(c, "too many mappings");
	cp_profile_add_mapping(c->p, &m);
	CP_VEC_PUSH(c->last_addr, 0);
	return 0;
}

static int rec_locations(struct rd *c, struct cp_rd *r)
{
	struct cp_profile *p = c->p;
	uint64_t n;
	if (batch_head(c, r, p->locations.n, 2, "location", &n))
		return -1;
	CP_VEC_RESERVE(p->locations, p->locations.n + n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t slot;
		int64_t delta;
		if (rd_u(c, r, &slot) || rd_s(c, r, &delta))
			return -1;
		if (slot > p->mappings.n)
			return bad(c, "location %zu references undefined mapping %" PRIu64,
				   p->locations.n, slot - 1);
		uint64_t addr = c->last_addr.v[slot] + (uint64_t)delta;
		c->last_addr.v[slot] = addr;
		struct cp_profile_location l = {
			.mapping = slot ? (uint32_t)(slot - 1) : CP_NONE,
			.address = addr,
			.line_start = (uint32_t)p->lines.n,
			.nlines = 0,
		};
		p->locations.v[p->locations.n++] = l;
	}
	return 0;
}

static int rec_stacks(struct rd *c, struct cp_rd *r)
{
	struct cp_profile *p = c->p;
	uint64_t n;
	if (batch_head(c, r, c->stacks.n, 1, "stack", &n))
		return -1;
	CP_VEC_RESERVE(c->stacks, c->stacks.n + n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t depth;
		if (rd_u(c, r, &depth))
			return -1;
		if (depth > (uint64_t)(r->end - r->p))
			return bad(c, "stack %zu depth %" PRIu64 " exceeds the record", c->stacks.n,
				   depth);
		CP_VEC_RESERVE(c->locbuf, depth);
		int64_t prev = 0;
		for (uint64_t j = 0; j < depth; j++) {
			int64_t d;
			if (rd_s(c, r, &d))
				return -1;
			int64_t loc = (int64_t)((uint64_t)prev + (uint64_t)d);
			if (loc < 0 || (uint64_t)loc >= p->locations.n)
				return bad(c, "stack %zu references undefined location %" PRId64,
					   c->stacks.n, loc);
			c->locbuf.v[j] = (uint32_t)loc;
			prev = loc;
		}
		c->stacks.v[c->stacks.n++] = cp_profile_add_stack(p, c->locbuf.v, (uint32_t)depth);
	}
	return 0;
}

struct sstate {
	uint64_t time;
	uint32_t stack, pid, tid, flags, cpu;
	const char *comm;
	const char *empty; /* interned "" */
};

static int one_sample(struct rd *c, struct cp_rd *r, struct sstate *st, struct cp_profile_sample *s,
		      int64_t *vals)
{
	size_t nv = c->p->value_types.n;
	uint8_t fl;
	int64_t dt;
	if (cp_rd_u8(r, &fl) || rd_s(c, r, &dt))
		return bad(c, "samples end early");
	if (fl & DF_S_RESERVED)
		return bad(c, "sample %" PRIu64 " has reserved bit set", c->nsamples);
	st->time += (uint64_t)dt;
	if (!(fl & DF_S_SAME_STACK)) {
		uint64_t sk;
		if (rd_u(c, r, &sk))
			return -1;
		if (sk >= c->stacks.n)
			return bad(c, "sample %" PRIu64 " references undefined stack %" PRIu64,
				   c->nsamples, sk);
		st->stack = c->stacks.v[sk];
	} else if (st->stack == CP_NONE) {
		return bad(c, "sample %" PRIu64 " repeats a stack with no previous sample",
			   c->nsamples);
	}
	if (((fl & DF_S_PID) && rd_u32(c, r, &st->pid)) ||
	    ((fl & DF_S_TID) && rd_u32(c, r, &st->tid)) ||
	    ((fl & DF_S_COMM) && str_ref(c, r, &st->comm)) ||
	    ((fl & DF_S_FLAGS) && rd_u32(c, r, &st->flags)) ||
	    ((fl & DF_S_CPU) && rd_u32(c, r, &st->cpu)))
		return -1;
	s->stack = st->stack;
	s->pid = st->pid;
	s->tid = st->tid;
	s->comm = st->comm;
	s->time = st->time;
	s->flags = st->flags;
	s->cpu = st->cpu;
	s->stack_need = 0;
	if ((st->flags & CP_SAMPLE_CUT) && rd_u(c, r, &s->stack_need))
		return -1;
	s->syscall = st->empty;
	if ((st->flags & CP_SAMPLE_OFFCPU) && str_ref(c, r, &s->syscall))
		return -1;
	if (!(fl & DF_S_SAME_VALUES))
		for (size_t i = 0; i < nv; i++)
			if (rd_s(c, r, &c->prev_values.v[i]))
				return -1;
	if (nv)
		memcpy(vals, c->prev_values.v, nv * sizeof(*vals));
	return 0;
}

static int rec_samples(struct rd *c, struct cp_rd *r)
{
	struct cp_profile *p = c->p;
	size_t nv = p->value_types.n;
	uint64_t n;
	if (rd_u(c, r, &n))
		return -1;
	/* each sample takes at least two bytes (field bits, time delta) */
	if (n > (uint64_t)(r->end - r->p) / 2)
		return bad(c, "sample count %" PRIu64 " exceeds the record", n);
	CP_VEC_RESERVE(p->samples, p->samples.n + n);
	struct sstate st = { .stack = CP_NONE, .comm = cp_profile_intern(p, "") };
	st.empty = st.comm;
	for (size_t i = 0; i < nv; i++)
		c->prev_values.v[i] = 0;
	for (uint64_t i = 0; i < n; i++) {
		int64_t *vals = NULL;
		if (nv) {
			CP_VEC_RESERVE(p->values, p->values.n + nv);
			vals = p->values.v + p->values.n;
		}
		if (one_sample(c, r, &st, &p->samples.v[p->samples.n], vals))
			return -1;
		p->samples.n++;
		p->values.n += nv;
		c->nsamples++;
	}
	return 0;
}

static int rec_functions(struct rd *c, struct cp_rd *r)
{
	uint64_t n;
	if (batch_head(c, r, c->funcs.n, 4, "function", &n))
		return -1;
	CP_VEC_RESERVE(c->funcs, c->funcs.n + n);
	for (uint64_t i = 0; i < n; i++) {
		const char *name, *sys, *file;
		int64_t line;
		if (str_ref(c, r, &name) || str_ref(c, r, &sys) || str_ref(c, r, &file) ||
		    rd_s(c, r, &line))
			return -1;
		c->funcs.v[c->funcs.n++] = cp_profile_add_function(c->p, name, sys, file, line);
	}
	return 0;
}

static int rec_func_flags(struct rd *c, struct cp_rd *r)
{
	uint64_t n;
	if (rd_u(c, r, &n))
		return -1;
	if (n > (uint64_t)(r->end - r->p) / 2)
		return bad(c, "function flag count %" PRIu64 " exceeds the record", n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t f, flags;
		if (rd_u(c, r, &f) || rd_u(c, r, &flags))
			return -1;
		if (f >= c->funcs.n)
			return bad(c, "flags for undefined function %" PRIu64, f);
		if (flags > UINT32_MAX)
			return bad(c, "function %" PRIu64 " flags 0x%" PRIx64 " out of range", f, flags);
		cp_profile_set_function_flags(c->p, c->funcs.v[f], (uint32_t)flags);
	}
	return 0;
}

static int rec_lines(struct rd *c, struct cp_rd *r)
{
	struct cp_profile *p = c->p;
	uint64_t n;
	if (rd_u(c, r, &n))
		return -1;
	if (n > (uint64_t)(r->end - r->p) / 2)
		return bad(c, "line entry count %" PRIu64 " exceeds the record", n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t loc, nl;
		if (rd_u(c, r, &loc) || rd_u(c, r, &nl))
			return -1;
		if (loc >= p->locations.n)
			return bad(c, "lines for undefined location %" PRIu64, loc);
		if (nl > (uint64_t)(r->end - r->p) / 3)
			return bad(c, "line count %" PRIu64 " exceeds the record", nl);
		CP_VEC_RESERVE(c->linebuf, nl);
		for (uint64_t j = 0; j < nl; j++) {
			uint64_t f;
			int64_t line;
			uint8_t inl;
			if (rd_u(c, r, &f) || rd_s(c, r, &line))
				return -1;
			if (cp_rd_u8(r, &inl))
				return bad(c, "record ends early");
			if (f >= c->funcs.n)
				return bad(c,
					   "location %" PRIu64
					   " references undefined function %" PRIu64,
					   loc, f);
			if (inl > 1)
				return bad(c, "bad inline flag %u", inl);
			c->linebuf.v[j] = (struct cp_profile_line){ c->funcs.v[f], line, inl == 1 };
		}
		cp_profile_set_location_lines(p, (uint32_t)loc, c->linebuf.v, (uint32_t)nl);
	}
	return 0;
}

/* One code entry (see the writer's encode_code). */
static int one_code(struct rd *c, struct cp_rd *r)
{
	struct cp_profile *p = c->p;
	size_t idx = p->code.n;
	uint32_t mapping = 0, f = 0, size = 0, nrows = 0;
	uint64_t addr = 0;
	const uint8_t *bytes = NULL;
	if (rd_u32(c, r, &mapping) || rd_u32(c, r, &f) || rd_u(c, r, &addr) || rd_u32(c, r, &size))
		return -1;
	if (mapping >= p->mappings.n)
		return bad(c, "code entry %zu references undefined mapping %u", idx, mapping);
	if (f >= c->funcs.n)
		return bad(c, "code entry %zu references undefined function %u", idx, f);
	if (size > (uint64_t)(r->end - r->p) || addr + size < addr)
		return bad(c, "code entry %zu size %u exceeds the record", idx, size);
	cp_rd_bytes(r, &bytes, size); /* checked above */
	if (rd_u32(c, r, &nrows))
		return -1;
	/* each row takes at least three bytes */
	if (nrows > (uint64_t)(r->end - r->p) / 3)
		return bad(c, "code entry %zu row count %u exceeds the record", idx, nrows);
	CP_VEC_RESERVE(c->codebuf, nrows);
	uint64_t prev = addr;
	for (uint32_t j = 0; j < nrows; j++) {
		struct cp_profile_code_line *l = &c->codebuf.v[j];
		uint64_t delta;
		if (rd_u(c, r, &delta) || str_ref(c, r, &l->file) || rd_s(c, r, &l->line))
			return -1;
		l->address = prev + delta;
		if (l->address < prev || (l->address >= addr + size && l->address != addr))
			return bad(c, "code entry %zu row %u at 0x%" PRIx64 " outside the function",
				   idx, j, l->address);
		prev = l->address;
	}
	uint32_t got = cp_profile_add_code(p, mapping, c->funcs.v[f], addr, bytes, size,
					   c->codebuf.v, nrows);
	if (got != idx)
		return bad(c, "code entry %zu repeats entry %u", idx, got);
	return 0;
}

static int rec_code(struct rd *c, struct cp_rd *r)
{
	uint64_t n;
	if (rd_u(c, r, &n))
		return -1;
	/* each entry takes at least five bytes */
	if (n > (uint64_t)(r->end - r->p) / 5)
		return bad(c, "code entry count %" PRIu64 " exceeds the record", n);
	for (uint64_t i = 0; i < n; i++)
		if (one_code(c, r))
			return -1;
	return 0;
}

static int rec_code_info(struct rd *c, struct cp_rd *r)
{
	if (rd_u(c, r, &c->p->meta.code_max) || rd_u32(c, r, &c->p->meta.code_skipped))
		return -1;
	return 0;
}

static int rec_totals(struct rd *c, struct cp_rd *r)
{
	struct cp_profile *p = c->p;
	uint64_t t[7];
	const char *what[] = { "samples",   "strings", "value types", "mappings",
			       "locations", "stacks",  "functions" };
	uint64_t have[] = { c->nsamples,    c->strs.n,   p->value_types.n, p->mappings.n,
			    p->locations.n, c->stacks.n, c->funcs.n };
	for (size_t i = 0; i < CP_ARRAY_SIZE(t); i++) {
		if (rd_u(c, r, &t[i]))
			return -1;
		if (t[i] != have[i])
			return bad(c, "end record counts %" PRIu64 " %s, the file holds %" PRIu64,
				   t[i], what[i], have[i]);
	}
	c->ended = true;
	return 0;
}

#define BIT(x) (1u << (x))
#define DEFS                                                                                       \
	(BIT(DF_REC_STRINGS) | BIT(DF_REC_VALUE_TYPE) | BIT(DF_REC_META) | BIT(DF_REC_MAPPING) |   \
	 BIT(DF_REC_LOCATIONS) | BIT(DF_REC_STACKS))

/* Which known record kinds each chunk type may hold. */
static uint32_t allowed_records(uint32_t ctype)
{
	switch (ctype) {
	case DF_CHUNK_DATA:
		return DEFS | BIT(DF_REC_SAMPLES);
	case DF_CHUNK_SYMBOLS:
		return BIT(DF_REC_STRINGS) | BIT(DF_REC_FUNCTIONS) | BIT(DF_REC_LINES) |
		       BIT(DF_REC_CODE) | BIT(DF_REC_CODE_INFO) | BIT(DF_REC_FUNC_FLAGS);
	case DF_CHUNK_END:
		return DEFS | BIT(DF_REC_TOTALS);
	default:
		return 0;
	}
}

static int decode_records(struct rd *c, uint32_t ctype, const uint8_t *p, size_t len, uint32_t nrec)
{
	uint32_t allowed = allowed_records(ctype);
	struct cp_rd r = { p, p + len, false };
	c->recno = 0;
	while (r.p < r.end) {
		c->recno++;
		uint64_t type, blen;
		const uint8_t *body;
		if (cp_rd_uvarint(&r, &type) || cp_rd_uvarint(&r, &blen) ||
		    blen > (uint64_t)(r.end - r.p) || cp_rd_bytes(&r, &body, (size_t)blen))
			return bad(c, "record header runs past the chunk");
		struct cp_rd b = { body, body + blen, false };
		int e = 0;
		if (type >= DF_REC_STRINGS && type <= DF_REC_FUNC_FLAGS && !(allowed & BIT(type)))
			return bad(c, "record kind %" PRIu64 " not allowed in chunk type %u", type,
				   ctype);
		switch (type) {
		case DF_REC_STRINGS:
			e = rec_strings(c, &b);
			break;
		case DF_REC_VALUE_TYPE:
			e = rec_value_type(c, &b);
			break;
		case DF_REC_META:
			e = rec_meta(c, &b);
			break;
		case DF_REC_MAPPING:
			e = rec_mapping(c, &b);
			break;
		case DF_REC_LOCATIONS:
			e = rec_locations(c, &b);
			break;
		case DF_REC_STACKS:
			e = rec_stacks(c, &b);
			break;
		case DF_REC_SAMPLES:
			e = rec_samples(c, &b);
			break;
		case DF_REC_FUNCTIONS:
			e = rec_functions(c, &b);
			break;
		case DF_REC_LINES:
			e = rec_lines(c, &b);
			break;
		case DF_REC_TOTALS:
			e = rec_totals(c, &b);
			break;
		case DF_REC_CODE:
			e = rec_code(c, &b);
			break;
		case DF_REC_CODE_INFO:
			e = rec_code_info(c, &b);
			break;
		case DF_REC_FUNC_FLAGS:
			e = rec_func_flags(c, &b);
			break;
		default:
			break; /* unknown kinds are skipped: forward compatibility */
		}
		if (e)
			return CP_E_FORMAT; /* the message is set; helpers return -1 */
		if (c->ended && r.p < r.end)
			return bad(c, "records follow the end record");
	}
	if (c->recno != nrec) {
		uint32_t got = c->recno;
		c->recno = 0;
		return bad(c, "chunk header says %u records, payload holds %u", nrec, got);
	}
	if (ctype == DF_CHUNK_END && !c->ended)
		return bad(c, "end chunk without totals");
	return 0;
}

static int decode_chunk(struct rd *c, const uint8_t *h, const uint8_t *payload)
{
	uint32_t type = df_get32(h + 4), csize = df_get32(h + 8), rsize = df_get32(h + 12);
	uint32_t crc = df_get32(h + 16), nrec = df_get32(h + 20);
	c->recno = 0;
	if ((uint32_t)crc32(0, payload, csize) != crc)
		return cp_error_set(c->err, CP_E_FORMAT,
				    "'%s': bad chunk checksum at offset %" PRIu64, c->name,
				    c->chunk_off);
	if (!allowed_records(type))
		return 0; /* a chunk type from a newer writer: skipped */
	if (ZSTD_findFrameCompressedSize(payload, csize) != csize ||
	    ZSTD_getFrameContentSize(payload, csize) != rsize)
		return cp_error_set(c->err, CP_E_FORMAT,
				    "'%s': bad compressed payload in chunk at offset %" PRIu64,
				    c->name, c->chunk_off);
	if (rsize > c->rawcap) {
		free(c->raw);
		c->raw = cp_xmalloc(rsize);
		c->rawcap = rsize;
	}
	size_t got = ZSTD_decompressDCtx(c->dctx, c->raw, rsize, payload, csize);
	if (ZSTD_isError(got) || got != rsize)
		return cp_error_set(c->err, CP_E_FORMAT,
				    "'%s': cannot decompress chunk at offset %" PRIu64 ": %s",
				    c->name, c->chunk_off,
				    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size mismatch");
	/* an empty payload leaves raw NULL; keep the pointer arithmetic defined */
	return decode_records(c, type, c->raw ? c->raw : (const uint8_t *)"", rsize, nrec);
}

static void set_truncated(struct cp_profile *p, uint64_t at, const char *why)
{
	p->truncated = true;
	p->truncated_at = at;
	snprintf(p->truncated_why, sizeof(p->truncated_why), "%s", why);
}

static int check_header(const uint8_t *b, size_t len, const char *name, uint32_t *hsize,
			struct cp_error *err)
{
	if (len == 0)
		return cp_error_set(err, CP_E_FORMAT, "'%s' is empty (no data was recorded)", name);
	if (len < 8 || memcmp(b, CP_DATA_MAGIC, 8) != 0) {
		if (len < 8 && memcmp(b, CP_DATA_MAGIC, len) == 0)
			return cp_error_set(err, CP_E_FORMAT,
					    "'%s': file ends inside the header (%zu bytes)", name,
					    len);
		return cp_error_set(err, CP_E_FORMAT, "'%s' is not a cprof data file", name);
	}
	if (len < 16)
		return cp_error_set(err, CP_E_FORMAT,
				    "'%s': file ends inside the header (%zu bytes)", name, len);
	uint32_t version = df_get32(b + 8);
	if (version != CP_DATA_VERSION)
		return cp_error_set(err, CP_E_FORMAT,
				    "'%s': unsupported data file version %u (this cprof reads %d)",
				    name, version, CP_DATA_VERSION);
	*hsize = df_get32(b + 12);
	if (*hsize < DF_HEADER_SIZE || *hsize > DF_CHUNK_MAX)
		return cp_error_set(err, CP_E_FORMAT, "'%s': bad header size %u", name, *hsize);
	if (len < *hsize)
		return cp_error_set(err, CP_E_FORMAT,
				    "'%s': file ends inside the header (%zu bytes)", name, len);
	return 0;
}

static int read_chunks(struct rd *c, const uint8_t *b, size_t len, uint64_t off)
{
	struct cp_profile *p = c->p;
	char why[160];
	while (off < len) {
		size_t left = len - off;
		const uint8_t *h = b + off;
		c->chunk_off = off;
		c->recno = 0;
		if (c->ended)
			return cp_error_set(c->err, CP_E_FORMAT,
					    "'%s': data after the end chunk at offset %" PRIu64,
					    c->name, off);
		if (memcmp(h, DF_CHUNK_MAGIC, CP_MIN(left, 4)) != 0)
			return cp_error_set(c->err, CP_E_FORMAT,
					    "'%s': bad chunk magic at offset %" PRIu64, c->name,
					    off);
		if (left < DF_CHUNK_HEADER_SIZE) {
			snprintf(why, sizeof(why),
				 "file ends inside chunk at offset %" PRIu64
				 " (the recording was interrupted)",
				 off);
			set_truncated(p, off, why);
			return 0;
		}
		uint32_t csize = df_get32(h + 8), rsize = df_get32(h + 12);
		if (csize > DF_CHUNK_MAX || rsize > DF_CHUNK_MAX)
			return cp_error_set(c->err, CP_E_FORMAT,
					    "'%s': chunk at offset %" PRIu64
					    " too large (%u bytes)",
					    c->name, off, CP_MAX(csize, rsize));
		if (left - DF_CHUNK_HEADER_SIZE < csize) {
			snprintf(why, sizeof(why),
				 "file ends inside chunk at offset %" PRIu64
				 " (the recording was interrupted)",
				 off);
			set_truncated(p, off, why);
			return 0;
		}
		int e = decode_chunk(c, h, h + DF_CHUNK_HEADER_SIZE);
		if (e)
			return e;
		off += DF_CHUNK_HEADER_SIZE + (uint64_t)csize;
	}
	if (!c->ended) {
		snprintf(why, sizeof(why),
			 "file ends at offset %" PRIu64
			 " without an end chunk (the recording was interrupted)",
			 (uint64_t)len);
		set_truncated(p, len, why);
	}
	return 0;
}

int cp_data_read_mem(const void *buf, size_t len, const char *name, struct cp_profile **out,
		     struct cp_error *err)
{
	const uint8_t *b = buf;
	uint32_t hsize = 0;
	*out = NULL;
	int e = check_header(b, len, name, &hsize, err);
	if (e)
		return e;
	struct rd c = { .name = name, .err = err };
	c.p = cp_profile_new();
	c.dctx = ZSTD_createDCtx();
	if (!c.dctx) {
		cp_profile_free(c.p);
		return cp_error_set(err, CP_E_FAIL, "cannot create a zstd context");
	}
	CP_VEC_PUSH(c.last_addr, 0); /* slot 0: locations without a mapping */
	e = read_chunks(&c, b, len, hsize);
	ZSTD_freeDCtx(c.dctx);
	free(c.raw);
	CP_VEC_FREE(c.strs);
	CP_VEC_FREE(c.funcs);
	CP_VEC_FREE(c.stacks);
	CP_VEC_FREE(c.last_addr);
	CP_VEC_FREE(c.prev_values);
	CP_VEC_FREE(c.locbuf);
	CP_VEC_FREE(c.linebuf);
	CP_VEC_FREE(c.codebuf);
	if (e) {
		cp_profile_free(c.p);
		return e;
	}
	*out = c.p;
	return 0;
}

int cp_data_read(const char *path, struct cp_profile **out, struct cp_error *err)
{
	*out = NULL;
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return cp_error_errno(err,
				      e == ENOENT ? CP_E_NOENT :
				      e == EACCES ? CP_E_PERM :
						    CP_E_IO,
				      e, "cannot open data file '%s'", path);
	}
	struct stat st;
	int r;
	if (!is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		size_t len = (size_t)st.st_size;
		void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			close(fd);
			return cp_error_errno(err, CP_E_IO, e, "cannot map data file '%s'", path);
		}
		close(fd);
		madvise(m, len, MADV_SEQUENTIAL);
		r = cp_data_read_mem(m, len, name, out, err);
		munmap(m, len);
		return r;
	}
	size_t len = 0;
	char *buf = cp_read_fd(fd, &len);
	int e = errno;
	if (!is_stdin)
		close(fd);
	if (!buf)
		return cp_error_errno(err, CP_E_IO, e, "cannot read data file '%s'", name);
	r = cp_data_read_mem(buf, len, name, out, err);
	free(buf);
	return r;
}

bool cp_data_sniff(const void *buf, size_t len)
{
	return len >= 8 && memcmp(buf, CP_DATA_MAGIC, 8) == 0;
}
