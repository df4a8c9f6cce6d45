/* pprof-write.c - pprof's profile.proto: the writer, which encodes a
 * view's samples as a message, gzipped by default.  The reader (and why
 * the wire format is done by hand) is pprof-read.c.
 *
 * Repeated scalars are always packed; ids are dense, in order of first
 * use, and only what the kept samples reference is written.
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/pprof-proto.h"

/* ---- writing -------------------------------------------------------------- */

struct enc {
	const struct cp_profile *p;
	const struct cp_view_opts *o;
	const struct cp_pprof_opts *po;
	/* the written sample types: profile value index per column */
	const uint32_t *cols;
	size_t ncols; /* 0: the profile has no value types ("samples" counts) */
	struct cp_intern strings; /* string table: id = index */
	struct cp_buf msg;        /* the Profile message */
	struct cp_buf sub, sub2;  /* a sub-message being built, and one inside it */
	struct cp_buf packed;

	/* model index -> pprof id (0 = not used yet), and the used ones in order */
	uint32_t *loc_id, *fn_id, *map_id;
	CP_VEC(uint32_t) locs, fns, maps;
	uint64_t *map_limit; /* per model mapping: max address + 1 of its used locations */
};

static uint64_t str_id(struct enc *e, const char *s)
{
	return cp_intern_add(&e->strings, s ? s : "", s ? strlen(s) : 0, NULL);
}

static void put_key(struct cp_buf *b, uint32_t num, uint32_t wt)
{
	cp_buf_add_uvarint(b, (uint64_t)num << 3 | wt);
}

/* proto3: a zero scalar is not written */
static void put_varint(struct cp_buf *b, uint32_t num, uint64_t v)
{
	if (!v)
		return;
	put_key(b, num, WT_VARINT);
	cp_buf_add_uvarint(b, v);
}

static void put_bytes(struct cp_buf *b, uint32_t num, const void *p, size_t len)
{
	put_key(b, num, WT_LEN);
	cp_buf_add_uvarint(b, len);
	cp_buf_add(b, p, len);
}

static void put_sub(struct cp_buf *b, uint32_t num, struct cp_buf *sub)
{
	put_bytes(b, num, sub->p, sub->len);
	sub->len = 0;
}

static void put_value_type(struct enc *e, uint32_t num, const struct cp_profile_value_type *vt)
{
	put_varint(&e->sub, VALUETYPE_TYPE, str_id(e, vt->type));
	put_varint(&e->sub, VALUETYPE_UNIT, str_id(e, vt->unit));
	put_sub(&e->msg, num, &e->sub);
}

static void put_label(struct enc *e, const char *key, const char *str, uint64_t num)
{
	put_varint(&e->sub2, LABEL_KEY, str_id(e, key));
	if (str)
		put_varint(&e->sub2, LABEL_STR, str_id(e, str));
	else
		put_varint(&e->sub2, LABEL_NUM, num);
	put_sub(&e->sub, SAMPLE_LABEL, &e->sub2);
}

static uint32_t use_id(uint32_t *ids, void *used_vec, uint32_t idx)
{
	CP_VEC(uint32_t) *used = used_vec;
	if (!ids[idx]) {
		CP_VEC_PUSH(*used, idx);
		ids[idx] = (uint32_t)used->n;
	}
	return ids[idx];
}

/* Samples merged on (stack, pid, tid, comm, off-CPU state); strings are
 * interned in the profile, so their pointers are content keys. */
struct merge_key {
	uint32_t stack, pid, tid, offcpu;
	const char *comm, *syscall;
};

static void put_sample(struct enc *e, const struct merge_key *k, const int64_t *vals, size_t nv)
{
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(e->p, k->stack, &n);
	e->packed.len = 0;
	for (uint32_t i = 0; i < n; i++)
		cp_buf_add_uvarint(&e->packed, use_id(e->loc_id, &e->locs, locs[i]));
	if (n)
		put_bytes(&e->sub, SAMPLE_LOCATION_ID, e->packed.p, e->packed.len);
	e->packed.len = 0;
	for (size_t i = 0; i < nv; i++)
		cp_buf_add_uvarint(&e->packed, (uint64_t)vals[i]);
	if (nv)
		put_bytes(&e->sub, SAMPLE_VALUE, e->packed.p, e->packed.len);
	/* string labels first, the tid (which varies most) last: the label
	 * bytes of neighbouring samples then match in one run and compress
	 * better (this is also the order pprof itself writes) */
	if (k->offcpu) {
		char state[256];
		if (k->syscall && k->syscall[0])
			snprintf(state, sizeof(state), "off-cpu:%s", k->syscall);
		else
			snprintf(state, sizeof(state), "off-cpu");
		put_label(e, "state", state, 0);
	}
	if (k->comm && k->comm[0])
		put_label(e, "thread_name", k->comm, 0);
	if (k->pid)
		put_label(e, "pid", NULL, k->pid);
	if (k->tid)
		put_label(e, "tid", NULL, k->tid);
	put_sub(&e->msg, PROFILE_SAMPLE, &e->sub);
}

static bool all_zero(const int64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			return false;
	return true;
}

static void put_samples(struct enc *e)
{
	const struct cp_profile *p = e->p;
	size_t nv = e->ncols;
	bool merge_threads = e->po && e->po->merge_threads;
	struct cp_intern keys;
	CP_VEC(int64_t) sums = { 0 };
	cp_intern_init(&keys);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cp_profile_sample *s = &p->samples.v[i];
		if (!cp_view_sample_matches(&e->o->filter, s))
			continue;
		struct merge_key k;
		memset(&k, 0, sizeof(k));
		k.stack = s->stack;
		if (!merge_threads) {
			k.pid = s->pid;
			k.tid = s->tid;
			k.comm = s->comm && s->comm[0] ? s->comm : NULL;
			if (s->flags & CP_SAMPLE_OFFCPU) {
				k.offcpu = 1;
				k.syscall = s->syscall && s->syscall[0] ? s->syscall : NULL;
			}
		}
		bool added;
		uint32_t id = cp_intern_add(&keys, &k, sizeof(k), &added);
		size_t w = nv ? nv : 1;
		if (added) {
			CP_VEC_RESERVE(sums, sums.n + w);
			memset(sums.v + sums.n, 0, w * sizeof(*sums.v));
			sums.n += w;
		}
		if (nv) {
			/* clamped as the view clamps them: no sum can overflow */
			int64_t lim = INT64_MAX / (int64_t)(p->samples.n + 1);
			const int64_t *v = cp_profile_sample_values(p, i);
			for (size_t j = 0; j < nv; j++) {
				int64_t x = v[e->cols[j]];
				sums.v[(size_t)id * w + j] += x > lim ? lim : x < -lim ? -lim : x;
			}
		} else {
			sums.v[id]++; /* no value types: written as a "samples" count */
		}
	}
	bool drop_zero = e->po && e->po->drop_zero;
	for (uint32_t i = 0; i < keys.n; i++) {
		struct merge_key k;
		memcpy(&k, cp_intern_get(&keys, i), sizeof(k));
		const int64_t *vals = sums.v + (size_t)i * (nv ? nv : 1);
		if (drop_zero && all_zero(vals, nv ? nv : 1))
			continue;
		put_sample(e, &k, vals, nv ? nv : 1);
	}
	CP_VEC_FREE(sums);
	cp_intern_release(&keys);
}

/* The Line entries of a location: its inline chain, or with no_inline
 * only the real function (the last line). */
static void location_lines(const struct enc *e, const struct cp_profile_location *l,
			   uint32_t *first, uint32_t *n)
{
	*first = l->line_start;
	*n = l->nlines;
	/* a function no symbol names ("libc.so.6+0x27200") is no function to
	 * pprof: the location keeps its address and mapping (with its
	 * build-id), so pprof, Parca or Pyroscope can symbolize it later */
	if (l->nlines &&
	    (e->p->functions.v[e->p->lines.v[l->line_start + l->nlines - 1].function].flags &
	     CP_FUNC_UNNAMED)) {
		*n = 0;
		return;
	}
	if (e->o->no_inline && l->nlines > 1) {
		*first = l->line_start + l->nlines - 1;
		*n = 1;
	}
}

struct map_info {
	bool used, functions, filenames, line_numbers, inlines;
};

static void put_mappings(struct enc *e, struct map_info *mi)
{
	const struct cp_profile *p = e->p;
	for (size_t i = 0; i < p->mappings.n; i++)
		mi[i] = (struct map_info){ false, true, true, true, false };
	for (size_t i = 0; i < e->locs.n; i++) {
		const struct cp_profile_location *l = &p->locations.v[e->locs.v[i]];
		if (l->mapping == CP_NONE || l->mapping >= p->mappings.n)
			continue;
		struct map_info *m = &mi[l->mapping];
		m->used = true;
		e->map_limit[l->mapping] = CP_MAX(e->map_limit[l->mapping], l->address + 1);
		uint32_t first, n;
		location_lines(e, l, &first, &n);
		if (!n)
			m->functions = m->filenames = m->line_numbers = false;
		if (n > 1)
			m->inlines = true;
		for (uint32_t j = 0; j < n; j++) {
			const struct cp_profile_line *ln = &p->lines.v[first + j];
			const struct cp_profile_function *fn = &p->functions.v[ln->function];
			if (!fn->name[0])
				m->functions = false;
			if (!fn->filename[0])
				m->filenames = false;
			if (!ln->line)
				m->line_numbers = false;
		}
	}
	/* pprof shows mapping[0] as the profiled program: model order (the
	 * recorder adds the executable first), pseudo files ("[kernel.kallsyms]",
	 * "[vdso]", "[jit]") last */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < p->mappings.n; i++)
			if (mi[i].used && (p->mappings.v[i].path[0] == '[') == (pass == 1))
				use_id(e->map_id, &e->maps, i);
	for (size_t i = 0; i < e->maps.n; i++) {
		uint32_t mi_idx = e->maps.v[i];
		const struct cp_profile_mapping *m = &p->mappings.v[mi_idx];
		const struct map_info *inf = &mi[mi_idx];
		bool relative = !m->start && !m->limit;
		put_varint(&e->sub, MAPPING_ID, i + 1);
		put_varint(&e->sub, MAPPING_MEMORY_START, m->start);
		put_varint(&e->sub, MAPPING_MEMORY_LIMIT,
			   relative ? e->map_limit[mi_idx] : m->limit);
		put_varint(&e->sub, MAPPING_FILE_OFFSET, relative ? 0 : m->offset);
		put_varint(&e->sub, MAPPING_FILENAME, str_id(e, m->path));
		put_varint(&e->sub, MAPPING_BUILD_ID, str_id(e, m->build_id));
		put_varint(&e->sub, MAPPING_HAS_FUNCTIONS, inf->functions);
		put_varint(&e->sub, MAPPING_HAS_FILENAMES, inf->functions && inf->filenames);
		put_varint(&e->sub, MAPPING_HAS_LINE_NUMBERS, inf->functions && inf->line_numbers);
		/* DWARF line info comes with inline info, unless the view drops it */
		put_varint(&e->sub, MAPPING_HAS_INLINE_FRAMES,
			   inf->functions && !e->o->no_inline &&
				   (inf->inlines || inf->line_numbers));
		put_sub(&e->msg, PROFILE_MAPPING, &e->sub);
	}
}

/* The reverse of the reader's model_address. */
static uint64_t pprof_address(const struct cp_profile_mapping *m, uint64_t addr)
{
	if (!m || !m->start || (m->flags & (CP_MAP_KERNEL | CP_MAP_JIT)))
		return addr;
	return addr - m->offset + m->start;
}

static void put_locations(struct enc *e)
{
	const struct cp_profile *p = e->p;
	for (size_t i = 0; i < e->locs.n; i++) {
		const struct cp_profile_location *l = &p->locations.v[e->locs.v[i]];
		bool mapped = l->mapping != CP_NONE && l->mapping < p->mappings.n;
		put_varint(&e->sub, LOCATION_ID, i + 1);
		if (mapped)
			put_varint(&e->sub, LOCATION_MAPPING_ID, e->map_id[l->mapping]);
		put_varint(&e->sub, LOCATION_ADDRESS,
			   pprof_address(mapped ? &p->mappings.v[l->mapping] : NULL, l->address));
		uint32_t first, n;
		location_lines(e, l, &first, &n);
		for (uint32_t j = 0; j < n; j++) {
			const struct cp_profile_line *ln = &p->lines.v[first + j];
			put_varint(&e->sub2, LINE_FUNCTION_ID,
				   use_id(e->fn_id, &e->fns, ln->function));
			put_varint(&e->sub2, LINE_LINE, (uint64_t)ln->line);
			put_sub(&e->sub, LOCATION_LINE, &e->sub2);
		}
		put_sub(&e->msg, PROFILE_LOCATION, &e->sub);
	}
}

static void put_functions(struct enc *e)
{
	for (size_t i = 0; i < e->fns.n; i++) {
		const struct cp_profile_function *f = &e->p->functions.v[e->fns.v[i]];
		put_varint(&e->sub, FUNCTION_ID, i + 1);
		put_varint(&e->sub, FUNCTION_NAME, str_id(e, f->name));
		put_varint(&e->sub, FUNCTION_SYSTEM_NAME, str_id(e, f->system_name));
		put_varint(&e->sub, FUNCTION_FILENAME, str_id(e, f->filename));
		put_varint(&e->sub, FUNCTION_START_LINE, (uint64_t)f->start_line);
		put_sub(&e->msg, PROFILE_FUNCTION, &e->sub);
	}
}

/* The value type the period counts in: the cpu/wall one, else the view's. */
static uint32_t period_type(const struct cp_profile *p, uint32_t view_type)
{
	for (size_t i = p->value_types.n; i-- > 0;)
		if (!strcmp(p->value_types.v[i].type, "cpu") ||
		    !strcmp(p->value_types.v[i].type, "wall"))
			return (uint32_t)i;
	return view_type;
}

static void put_comment(struct enc *e, const char *prefix, const char *value)
{
	if (!value || !value[0])
		return;
	char *c = cp_xasprintf("%s%s", prefix, value);
	cp_buf_add_uvarint(&e->packed, str_id(e, c));
	free(c);
}

static void put_tail(struct enc *e)
{
	const struct cp_profile *p = e->p;
	const struct cp_profile_meta *m = &p->meta;
	uint32_t vi = e->o->value_index;
	const struct cp_pprof_opts *po = e->po;
	put_varint(&e->msg, PROFILE_TIME_NANOS, m->time_nanos);
	put_varint(&e->msg, PROFILE_DURATION_NANOS, m->duration_nanos);
	if (po && po->period_type) {
		put_value_type(e, PROFILE_PERIOD_TYPE, po->period_type);
		put_varint(&e->msg, PROFILE_PERIOD, m->period);
	} else if (p->value_types.n && vi != CP_NONE) {
		const struct cp_profile_value_type *pt = &p->value_types.v[period_type(p, vi)];
		put_value_type(e, PROFILE_PERIOD_TYPE, pt);
		put_varint(&e->msg, PROFILE_PERIOD, m->period);
	}
	e->packed.len = 0;
	put_comment(e, "command: ", m->command);
	put_comment(e, "event: ", m->event);
	put_comment(e, "sampler: ", m->sampler);
	put_comment(e, "recorded with cprof ", m->cprof_version);
	if (e->packed.len)
		put_bytes(&e->msg, PROFILE_COMMENT, e->packed.p, e->packed.len);
	if (po && po->default_type)
		put_varint(&e->msg, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(e, po->default_type));
	else if (p->value_types.n && vi != CP_NONE)
		put_varint(&e->msg, PROFILE_DEFAULT_SAMPLE_TYPE,
			   str_id(e, p->value_types.v[vi].type));
	else if (!p->value_types.n)
		put_varint(&e->msg, PROFILE_DEFAULT_SAMPLE_TYPE, str_id(e, "samples"));
	for (size_t i = 0; i < e->strings.n; i++)
		put_bytes(&e->msg, PROFILE_STRING_TABLE, cp_intern_get(&e->strings, (uint32_t)i),
			  e->strings.lens[i]);
}

static void encode(struct enc *e)
{
	const struct cp_profile *p = e->p;
	str_id(e, ""); /* string_table[0] */
	if (e->ncols) {
		for (size_t i = 0; i < e->ncols; i++)
			put_value_type(e, PROFILE_SAMPLE_TYPE,
				       e->po && e->po->types ? &e->po->types[i]
							     : &p->value_types.v[e->cols[i]]);
	} else {
		struct cp_profile_value_type vt = { "samples", "count" };
		put_value_type(e, PROFILE_SAMPLE_TYPE, &vt);
	}
	put_samples(e);
	struct map_info *mi = cp_xcalloc(p->mappings.n + 1, sizeof(*mi));
	put_mappings(e, mi);
	free(mi);
	put_locations(e);
	put_functions(e);
	put_tail(e);
}

static int write_gzip(FILE *out, const struct cp_buf *b, int level, const char *what,
		      struct cp_error *err)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return cp_error_set(err, CP_E_FAIL, "cannot initialize zlib");
	uint8_t chunk[65536];
	size_t off = 0;
	int zr;
	do {
		size_t in = CP_MIN(b->len - off, (size_t)1 << 30);
		z.next_in = (Bytef *)(b->p + off);
		z.avail_in = (uInt)in;
		bool last = off + in == b->len;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof(chunk);
			zr = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
			size_t have = sizeof(chunk) - z.avail_out;
			if (have && fwrite(chunk, 1, have, out) != have)
				break;
		} while (z.avail_out == 0);
		off += in - z.avail_in;
	} while (off < b->len && !ferror(out));
	deflateEnd(&z);
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	if (zr != Z_STREAM_END)
		return cp_error_set(err, CP_E_FAIL, "gzip compression failed");
	return 0;
}

int cp_format_pprof_write(FILE *out, struct cp_view *v, const struct cp_pprof_opts *o,
			  const char *what, struct cp_error *err)
{
	int level = o ? o->level : -1;
	if (level < -1 || level > 9)
		return cp_error_set(err, CP_E_USAGE, "bad gzip level %d (expected 0-9, or -1)",
				    level);
	if (level == -1)
		level = 6;
	const struct cp_profile *p = cp_view_profile(v);
	uint32_t *all = NULL;
	struct enc e;
	memset(&e, 0, sizeof(e));
	if (o && o->ncolumns) {
		for (size_t i = 0; i < o->ncolumns; i++)
			if (o->columns[i] >= p->value_types.n)
				return cp_error_set(err, CP_E_USAGE,
						    "value index %u out of range (the profile has "
						    "%zu)",
						    o->columns[i], p->value_types.n);
		e.cols = o->columns;
		e.ncols = o->ncolumns;
	} else {
		all = cp_xcalloc(p->value_types.n + 1, sizeof(*all));
		for (size_t i = 0; i < p->value_types.n; i++)
			all[i] = (uint32_t)i;
		e.cols = all;
		e.ncols = p->value_types.n;
	}
	e.p = p;
	e.o = cp_view_options(v);
	e.po = o;
	cp_intern_init(&e.strings);
	e.loc_id = cp_xcalloc(e.p->locations.n + 1, sizeof(*e.loc_id));
	e.fn_id = cp_xcalloc(e.p->functions.n + 1, sizeof(*e.fn_id));
	e.map_id = cp_xcalloc(e.p->mappings.n + 1, sizeof(*e.map_id));
	e.map_limit = cp_xcalloc(e.p->mappings.n + 1, sizeof(*e.map_limit));
	encode(&e);
	int rc = 0;
	if (level == 0) {
		if (e.msg.len && fwrite(e.msg.p, 1, e.msg.len, out) != e.msg.len)
			rc = cp_error_set(err, CP_E_IO, "cannot write to %s",
					  what ? what : "output");
	} else {
		rc = write_gzip(out, &e.msg, level, what, err);
	}
	if (!rc && ferror(out))
		rc = cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	free(all);
	free(e.loc_id);
	free(e.fn_id);
	free(e.map_id);
	free(e.map_limit);
	CP_VEC_FREE(e.locs);
	CP_VEC_FREE(e.fns);
	CP_VEC_FREE(e.maps);
	cp_buf_release(&e.msg);
	cp_buf_release(&e.sub);
	cp_buf_release(&e.sub2);
	cp_buf_release(&e.packed);
	cp_intern_release(&e.strings);
	return rc;
}

/* ---- Go's heap profile layout ---------------------------------------------- */

int cp_format_pprof_heap_opts(const struct cp_profile *p, bool at_peak, const char *default_type,
			      struct cp_pprof_heap_columns *cols, struct cp_pprof_opts *o,
			      struct cp_error *err)
{
	static const struct cp_profile_value_type go[4] = {
		{ "alloc_objects", "count" },
		{ "alloc_space", "bytes" },
		{ "inuse_objects", "count" },
		{ "inuse_space", "bytes" },
	};
	int rc = cp_format_heap_check(p, err);
	if (rc < 0)
		return rc;
	memset(cols, 0, sizeof(*cols));
	for (size_t i = 0; i < 4; i++) {
		const char *from = go[i].type;
		if (at_peak && i == 2)
			from = "peak_objects";
		else if (at_peak && i == 3)
			from = "peak_space";
		cols->index[i] = cp_profile_value_index(p, from);
		cols->types[i] = go[i];
	}
	cols->period_type = (struct cp_profile_value_type){ "space", "bytes" };
	memset(o, 0, sizeof(*o));
	o->level = -1;
	o->columns = cols->index;
	o->types = cols->types;
	o->ncolumns = 4;
	o->merge_threads = true;
	o->period_type = &cols->period_type;
	o->default_type = default_type ? default_type : "inuse_space";
	o->drop_zero = true;
	return 0;
}

int cp_format_pprof_write_auto(FILE *out, struct cp_view *v, const char *what,
			       struct cp_error *err)
{
	struct cp_pprof_heap_columns cols;
	struct cp_pprof_opts o;
	struct cp_error not_heap;
	bool heap = cp_format_pprof_heap_opts(cp_view_profile(v), false, NULL, &cols, &o,
					      &not_heap) == 0;
	return cp_format_pprof_write(out, v, heap ? &o : NULL, what, err);
}
