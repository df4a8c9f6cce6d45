/* pprof-read.c - pprof's profile.proto (github.com/google/pprof,
 * proto/profile.proto): the reader, which builds the profile model from a
 * message, gzipped or not.  The writer is pprof-write.c.
 *
 * The protobuf wire format is decoded by hand.  The schema is five small
 * message types (Profile, ValueType, Sample, Mapping, Location with Line,
 * Function, Label); a generic protobuf library would need a code
 * generator and would build a second message tree that then has to be
 * copied into the model.  Here the reader decodes straight into the
 * model: one pass over the top-level message collects the byte ranges of
 * the repeated sub-messages (fields may come in any order, and the string
 * table is needed first), then each kind is decoded in dependency order
 * (strings, value types, mappings, functions, locations, samples).  IDs
 * are arbitrary uint64 values and are mapped to model indices with hash
 * maps.  Packed and unpacked repeated scalars are both accepted; unknown
 * fields are skipped.
 *
 * This file does not symbolize, does not read pprof's Breakdown/LabelSet
 * extensions, and keeps no per-sample timestamps (profile.proto has none).
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "format/pprof-proto.h"

/* Refuse to inflate beyond this: no real profile comes near it, and a
 * small gzip bomb must not eat the machine. */
#define MAX_INFLATED ((size_t)2 << 30)

/* ---- reading ------------------------------------------------------------ */

struct slice {
	const uint8_t *p;
	size_t len;
};

struct field {
	const uint8_t *at; /* the field's key, for messages */
	uint32_t num, wt;
	uint64_t v;          /* WT_VARINT, WT_I64, WT_I32 */
	const uint8_t *data; /* WT_LEN */
	size_t len;
};

struct dec {
	const uint8_t *base; /* the (decompressed) message */
	size_t len;
	const char *name;
	bool gz;
	struct cp_error *err;
	struct cp_profile *p;

	/* the top-level message, split by field */
	CP_VEC(struct slice) strs, sample_types, samples, mappings, locations, functions;
	CP_VEC(uint64_t) comments;
	struct slice period_type;
	uint64_t time_nanos, duration_nanos, period, default_sample_type;
	const uint8_t *default_at, *comment_at;

	const char **sv; /* strs interned on first use */
	struct cp_u64map map_ids, fn_ids, loc_ids;
	/* location id -> index + 1 when the ids are small (as writers make
	 * them): the samples' many lookups then skip the hash map */
	uint32_t *loc_dense;
	uint64_t loc_max_id;

	/* scratch, reused from one message to the next */
	CP_VEC(uint64_t) ids;
	CP_VEC(int64_t) vals;
	CP_VEC(uint32_t) stack;
	CP_VEC(struct cp_profile_line) lines;
};

static int bad(struct dec *d, const uint8_t *at, const char *fmt, ...) CP_PRINTF(3, 4);
static int bad(struct dec *d, const uint8_t *at, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cp_error_set(d->err, CP_E_FORMAT, "'%s': byte %zu%s: %s", d->name,
			    (size_t)(at - d->base), d->gz ? " after decompression" : "", msg);
}

static uint64_t le_bytes(const uint8_t *q, int n)
{
	uint64_t v = 0;
	for (int i = n; i-- > 0;)
		v = v << 8 | q[i];
	return v;
}

/* The next field of the message in r: 1, 0 at its end, or an error. */
static int next_field(struct dec *d, struct cp_rd *r, struct field *f)
{
	if (r->p >= r->end)
		return 0;
	uint64_t key;
	const uint8_t *q;
	f->at = r->p;
	if (cp_rd_uvarint(r, &key))
		return bad(d, f->at, "bad varint in a field key");
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return bad(d, f->at, "bad field number %" PRIu64, key >> 3);
	f->num = (uint32_t)(key >> 3);
	f->wt = (uint32_t)(key & 7);
	const uint8_t *vat = r->p;
	switch (f->wt) {
	case WT_VARINT:
		if (cp_rd_uvarint(r, &f->v))
			return bad(d, vat, "bad varint in field %u", f->num);
		return 1;
	case WT_I64:
	case WT_I32: {
		int n = f->wt == WT_I64 ? 8 : 4;
		if (cp_rd_bytes(r, &q, (size_t)n))
			return bad(d, vat, "field %u: %d-byte value past the end of the message",
				   f->num, n);
		f->v = le_bytes(q, n);
		return 1;
	}
	case WT_LEN: {
		uint64_t len;
		if (cp_rd_uvarint(r, &len))
			return bad(d, vat, "bad varint in the length of field %u", f->num);
		if (len > (uint64_t)(r->end - r->p))
			return bad(d, vat,
				   "field %u: length %" PRIu64 " past the end of the message",
				   f->num, len);
		cp_rd_bytes(r, &f->data, (size_t)len);
		f->len = (size_t)len;
		return 1;
	}
	case 3:
	case 4:
		return bad(d, f->at, "field %u: unsupported wire type %u (group)", f->num, f->wt);
	default:
		return bad(d, f->at, "field %u: bad wire type %u", f->num, f->wt);
	}
}

static int want(struct dec *d, const struct field *f, uint32_t wt, const char *what)
{
	if (f->wt == wt)
		return 0;
	return bad(d, f->at, "%s: wire type %u, expected %s", what, f->wt,
		   wt == WT_VARINT ? "varint" : "length-delimited");
}

/* Append a repeated scalar field's values to d->ids: one unpacked value,
 * or a packed run of varints. */
static int repeated(struct dec *d, const struct field *f, const char *what)
{
	if (f->wt == WT_VARINT) {
		CP_VEC_PUSH(d->ids, f->v);
		return 0;
	}
	if (f->wt != WT_LEN)
		return bad(d, f->at, "%s: wire type %u, expected varint or packed", what, f->wt);
	struct cp_rd r = { f->data, f->data + f->len, false };
	CP_VEC_RESERVE(d->ids, d->ids.n + f->len);
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		if (*at < 0x80) { /* one-byte varints are the common case */
			d->ids.v[d->ids.n++] = *r.p++;
			continue;
		}
		if (cp_rd_uvarint(&r, &d->ids.v[d->ids.n]))
			return bad(d, at, "%s: bad varint in a packed list", what);
		d->ids.n++;
	}
	return 0;
}

static int str_at(struct dec *d, const struct field *f, const char **out)
{
	if (f->wt != WT_VARINT)
		return want(d, f, WT_VARINT, "string index");
	if (f->v >= d->strs.n)
		return bad(d, f->at, "string index %" PRIu64 " out of range (the table has %zu)",
			   f->v, d->strs.n);
	const char **s = &d->sv[f->v];
	if (!*s)
		*s = cp_profile_intern_n(d->p, (const char *)d->strs.v[f->v].p,
					 d->strs.v[f->v].len);
	*out = *s;
	return 0;
}

static const char *str_of(struct dec *d, uint64_t idx)
{
	if (idx >= d->strs.n)
		return NULL;
	if (!d->sv[idx])
		d->sv[idx] = cp_profile_intern_n(d->p, (const char *)d->strs.v[idx].p,
						 d->strs.v[idx].len);
	return d->sv[idx];
}

static int varint_field(struct dec *d, const struct field *f, uint64_t *out, const char *what)
{
	if (f->wt != WT_VARINT)
		return want(d, f, WT_VARINT, what);
	*out = f->v;
	return 0;
}

static int push_slice(struct dec *d, const struct field *f, void *vec, const char *what)
{
	if (f->wt != WT_LEN)
		return want(d, f, WT_LEN, what);
	CP_VEC(struct slice) *v = vec;
	struct slice s = { f->data, f->len };
	CP_VEC_PUSH(*v, s);
	return 0;
}

/* Pass 1: split the top-level message by field. */
static int split_profile(struct dec *d, const uint8_t *buf, size_t len)
{
	struct cp_rd r = { buf, buf + len, false };
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f)) > 0) {
		switch (f.num) {
		case PROFILE_SAMPLE_TYPE:
			rc = push_slice(d, &f, &d->sample_types, "Profile.sample_type");
			break;
		case PROFILE_SAMPLE:
			rc = push_slice(d, &f, &d->samples, "Profile.sample");
			break;
		case PROFILE_MAPPING:
			rc = push_slice(d, &f, &d->mappings, "Profile.mapping");
			break;
		case PROFILE_LOCATION:
			rc = push_slice(d, &f, &d->locations, "Profile.location");
			break;
		case PROFILE_FUNCTION:
			rc = push_slice(d, &f, &d->functions, "Profile.function");
			break;
		case PROFILE_STRING_TABLE:
			rc = push_slice(d, &f, &d->strs, "Profile.string_table");
			break;
		case PROFILE_DROP_FRAMES:
		case PROFILE_KEEP_FRAMES:
			rc = want(d, &f, WT_VARINT, "Profile.drop_frames/keep_frames");
			break;
		case PROFILE_TIME_NANOS:
			rc = varint_field(d, &f, &d->time_nanos, "Profile.time_nanos");
			break;
		case PROFILE_DURATION_NANOS:
			rc = varint_field(d, &f, &d->duration_nanos, "Profile.duration_nanos");
			break;
		case PROFILE_PERIOD_TYPE:
			rc = want(d, &f, WT_LEN, "Profile.period_type");
			d->period_type = (struct slice){ f.data, f.len };
			break;
		case PROFILE_PERIOD:
			rc = varint_field(d, &f, &d->period, "Profile.period");
			break;
		case PROFILE_COMMENT: {
			if (!d->comment_at)
				d->comment_at = f.at;
			d->ids.n = 0;
			rc = repeated(d, &f, "Profile.comment");
			for (size_t i = 0; !rc && i < d->ids.n; i++)
				CP_VEC_PUSH(d->comments, d->ids.v[i]);
			break;
		}
		case PROFILE_DEFAULT_SAMPLE_TYPE:
			rc = varint_field(d, &f, &d->default_sample_type,
					  "Profile.default_sample_type");
			d->default_at = f.at;
			break;
		default:
			rc = 0; /* unknown fields are skipped */
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int read_value_type(struct dec *d, const struct slice *s, const char **type,
			   const char **unit)
{
	struct cp_rd r = { s->p, s->p + s->len, false };
	struct field f;
	int rc;
	*type = *unit = "";
	while ((rc = next_field(d, &r, &f)) > 0) {
		if (f.num == VALUETYPE_TYPE)
			rc = str_at(d, &f, type);
		else if (f.num == VALUETYPE_UNIT)
			rc = str_at(d, &f, unit);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static bool all_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static uint32_t mapping_flags(const char *path)
{
	const char *b = cp_basename(path);
	size_t n = strlen(b);
	if (!strncmp(path, "[kernel", 7) || !strncmp(path, "[vmlinux", 8))
		return CP_MAP_KERNEL;
	if (!strcmp(path, "[jit]") ||
	    (!strncmp(b, "perf-", 5) && n > 9 && !strcmp(b + n - 4, ".map")))
		return CP_MAP_JIT;
	if (!strcmp(path, "[vdso]"))
		return CP_MAP_VDSO;
	return 0;
}

/* Insert a message's id; 0 and duplicates are errors. */
static int define_id(struct dec *d, struct cp_u64map *m, const uint8_t *at, uint64_t id,
		     uint32_t idx, const char *what)
{
	bool added;
	if (!id)
		return bad(d, at, "%s without an id (or id 0)", what);
	cp_u64map_upsert(m, id, idx, &added);
	if (!added)
		return bad(d, at, "%s id %" PRIu64 " defined twice", what, id);
	return 0;
}

static int read_mapping(struct dec *d, const struct slice *s)
{
	struct cp_rd r = { s->p, s->p + s->len, false };
	struct cp_profile_mapping m = { .path = "", .build_id = "" };
	uint64_t id = 0;
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f)) > 0) {
		switch (f.num) {
		case MAPPING_ID:
			rc = varint_field(d, &f, &id, "Mapping.id");
			break;
		case MAPPING_MEMORY_START:
			rc = varint_field(d, &f, &m.start, "Mapping.memory_start");
			break;
		case MAPPING_MEMORY_LIMIT:
			rc = varint_field(d, &f, &m.limit, "Mapping.memory_limit");
			break;
		case MAPPING_FILE_OFFSET:
			rc = varint_field(d, &f, &m.offset, "Mapping.file_offset");
			break;
		case MAPPING_FILENAME:
			rc = str_at(d, &f, &m.path);
			break;
		case MAPPING_BUILD_ID:
			rc = str_at(d, &f, &m.build_id);
			break;
		case MAPPING_HAS_FUNCTIONS:
		case MAPPING_HAS_FILENAMES:
		case MAPPING_HAS_LINE_NUMBERS:
		case MAPPING_HAS_INLINE_FRAMES:
			rc = want(d, &f, WT_VARINT, "Mapping.has_*");
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	m.flags = mapping_flags(m.path);
	if (m.build_id[0] && all_hex(m.build_id)) {
		char *lower = cp_xstrdup(m.build_id);
		for (char *c = lower; *c; c++)
			if (*c >= 'A' && *c <= 'F')
				*c = (char)(*c - 'A' + 'a');
		m.build_id = cp_profile_intern(d->p, lower);
		free(lower);
	}
	rc = define_id(d, &d->map_ids, s->p, id, (uint32_t)d->p->mappings.n, "mapping");
	if (!rc)
		cp_profile_add_mapping(d->p, &m);
	return rc;
}

static int read_function(struct dec *d, const struct slice *s)
{
	struct cp_rd r = { s->p, s->p + s->len, false };
	const char *name = "", *sys = "", *file = "";
	uint64_t id = 0, start = 0;
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f)) > 0) {
		switch (f.num) {
		case FUNCTION_ID:
			rc = varint_field(d, &f, &id, "Function.id");
			break;
		case FUNCTION_NAME:
			rc = str_at(d, &f, &name);
			break;
		case FUNCTION_SYSTEM_NAME:
			rc = str_at(d, &f, &sys);
			break;
		case FUNCTION_FILENAME:
			rc = str_at(d, &f, &file);
			break;
		case FUNCTION_START_LINE:
			rc = varint_field(d, &f, &start, "Function.start_line");
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	uint32_t idx = cp_profile_add_function(d->p, name, sys, file, (int64_t)start);
	return define_id(d, &d->fn_ids, s->p, id, idx, "function");
}

/* One Line of a location, appended to d->lines (or dropped when it names
 * no function, as pprof does). */
static int read_line(struct dec *d, const struct field *lf)
{
	if (lf->wt != WT_LEN)
		return want(d, lf, WT_LEN, "Location.line");
	struct cp_rd r = { lf->data, lf->data + lf->len, false };
	uint64_t fid = 0, line = 0;
	const uint8_t *fat = lf->at;
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f)) > 0) {
		if (f.num == LINE_FUNCTION_ID) {
			fat = f.at;
			rc = varint_field(d, &f, &fid, "Line.function_id");
		} else if (f.num == LINE_LINE) {
			rc = varint_field(d, &f, &line, "Line.line");
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0 || !fid)
		return rc;
	uint64_t *fn = cp_u64map_find(&d->fn_ids, fid);
	if (!fn)
		return bad(d, fat, "function id %" PRIu64 " not defined", fid);
	struct cp_profile_line l = { .function = (uint32_t)*fn, .line = (int64_t)line };
	CP_VEC_PUSH(d->lines, l);
	return 0;
}

/* pprof addresses are runtime addresses; the model's are module-relative
 * (ELF virtual addresses), except for the kernel and JIT code. */
static uint64_t model_address(const struct cp_profile_mapping *m, uint64_t addr)
{
	if (!m || !m->start || (m->flags & (CP_MAP_KERNEL | CP_MAP_JIT)))
		return addr;
	return addr - m->start + m->offset;
}

static int read_location(struct dec *d, const struct slice *s)
{
	struct cp_rd r = { s->p, s->p + s->len, false };
	uint64_t id = 0, mid = 0, addr = 0;
	const uint8_t *mat = s->p;
	struct field f;
	int rc;
	d->lines.n = 0;
	while ((rc = next_field(d, &r, &f)) > 0) {
		switch (f.num) {
		case LOCATION_ID:
			rc = varint_field(d, &f, &id, "Location.id");
			break;
		case LOCATION_MAPPING_ID:
			mat = f.at;
			rc = varint_field(d, &f, &mid, "Location.mapping_id");
			break;
		case LOCATION_ADDRESS:
			rc = varint_field(d, &f, &addr, "Location.address");
			break;
		case LOCATION_LINE:
			rc = read_line(d, &f);
			break;
		case LOCATION_IS_FOLDED:
			rc = want(d, &f, WT_VARINT, "Location.is_folded");
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	uint32_t map = CP_NONE;
	if (mid) {
		uint64_t *m = cp_u64map_find(&d->map_ids, mid);
		if (!m)
			return bad(d, mat, "mapping id %" PRIu64 " not defined", mid);
		map = (uint32_t)*m;
	}
	for (size_t i = 0; i < d->lines.n; i++)
		d->lines.v[i].inlined = i + 1 < d->lines.n;
	rc = define_id(d, &d->loc_ids, s->p, id, (uint32_t)d->p->locations.n, "location");
	if (rc)
		return rc;
	d->loc_max_id = CP_MAX(d->loc_max_id, id);
	cp_profile_add_location(d->p, map,
				model_address(map == CP_NONE ? NULL : &d->p->mappings.v[map], addr),
				d->lines.v, (uint32_t)d->lines.n);
	return 0;
}

static int read_label(struct dec *d, const struct field *lf, struct cp_profile_sample *smp)
{
	if (lf->wt != WT_LEN)
		return want(d, lf, WT_LEN, "Sample.label");
	struct cp_rd r = { lf->data, lf->data + lf->len, false };
	const char *key = "", *str = "", *unit = "";
	uint64_t num = 0;
	struct field f;
	int rc;
	while ((rc = next_field(d, &r, &f)) > 0) {
		switch (f.num) {
		case LABEL_KEY:
			rc = str_at(d, &f, &key);
			break;
		case LABEL_STR:
			rc = str_at(d, &f, &str);
			break;
		case LABEL_NUM:
			rc = varint_field(d, &f, &num, "Label.num");
			break;
		case LABEL_NUM_UNIT:
			rc = str_at(d, &f, &unit);
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!strcmp(key, "pid"))
		smp->pid = (uint32_t)num;
	else if (!strcmp(key, "tid") || !strcmp(key, "thread_id"))
		smp->tid = (uint32_t)num;
	else if ((!strcmp(key, "thread_name") || !strcmp(key, "comm")) && str[0])
		smp->comm = str;
	else if (!strcmp(key, "state") && !strncmp(str, "off-cpu", 7) &&
		 (str[7] == '\0' || str[7] == ':')) {
		smp->flags |= CP_SAMPLE_OFFCPU;
		smp->syscall = str[7] ? cp_profile_intern(d->p, str + 8) : NULL;
	}
	return 0;
}

static int read_sample(struct dec *d, const struct slice *s)
{
	struct cp_rd r = { s->p, s->p + s->len, false };
	struct cp_profile_sample smp = { 0 };
	struct field f;
	int rc;
	size_t nvt = d->p->value_types.n;
	d->ids.n = 0;
	d->vals.n = 0;
	while ((rc = next_field(d, &r, &f)) > 0) {
		if (f.num == SAMPLE_LOCATION_ID) {
			rc = repeated(d, &f, "Sample.location_id");
		} else if (f.num == SAMPLE_VALUE) {
			/* values go through ids, then to vals: the same varint lists */
			size_t n0 = d->ids.n;
			rc = repeated(d, &f, "Sample.value");
			for (size_t i = n0; !rc && i < d->ids.n; i++)
				CP_VEC_PUSH(d->vals, (int64_t)d->ids.v[i]);
			d->ids.n = n0;
		} else if (f.num == SAMPLE_LABEL) {
			rc = read_label(d, &f, &smp);
		}
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (d->vals.n != nvt)
		return bad(d, s->p, "sample has %zu values, the profile has %zu sample types",
			   d->vals.n, nvt);
	d->stack.n = 0;
	CP_VEC_RESERVE(d->stack, d->ids.n);
	for (size_t i = 0; i < d->ids.n; i++) {
		uint64_t id = d->ids.v[i];
		if (d->loc_dense && id <= d->loc_max_id && d->loc_dense[id]) {
			d->stack.v[d->stack.n++] = d->loc_dense[id] - 1;
			continue;
		}
		uint64_t *l = cp_u64map_find(&d->loc_ids, id);
		if (!l)
			return bad(d, s->p, "location id %" PRIu64 " not defined", id);
		d->stack.v[d->stack.n++] = (uint32_t)*l;
	}
	smp.stack = cp_profile_add_stack(d->p, d->stack.v, (uint32_t)d->stack.n);
	cp_profile_add_sample(d->p, &smp, d->vals.v);
	return 0;
}

static const char *event_of(const char *type)
{
	if (!strcmp(type, "cpu"))
		return "cpu-clock";
	if (!strcmp(type, "wall"))
		return "wall-clock";
	if (!strcmp(type, "cycles") || !strcmp(type, "instructions"))
		return type;
	return "";
}

/* The comments our writer adds, back into meta. */
static void read_comment(struct dec *d, const char *c)
{
	static const char recorded[] = "recorded with cprof ";
	struct cp_profile_meta *m = &d->p->meta;
	if (!strncmp(c, "command: ", 9))
		m->command = cp_profile_intern(d->p, c + 9);
	else if (!strncmp(c, "event: ", 7))
		m->event = cp_profile_intern(d->p, c + 7);
	else if (!strncmp(c, "sampler: ", 9))
		m->sampler = cp_profile_intern(d->p, c + 9);
	else if (!strncmp(c, recorded, sizeof(recorded) - 1))
		m->cprof_version = cp_profile_intern(d->p, c + sizeof(recorded) - 1);
}

static int read_meta(struct dec *d)
{
	struct cp_profile *p = d->p;
	struct cp_profile_meta *m = &p->meta;
	m->time_nanos = d->time_nanos;
	m->duration_nanos = d->duration_nanos;
	m->period = d->period;
	if (d->default_sample_type) {
		const char *t = str_of(d, d->default_sample_type);
		if (!t)
			return bad(d, d->default_at,
				   "string index %" PRIu64 " out of range (the table has %zu)",
				   d->default_sample_type, d->strs.n);
		m->default_type = t;
	} else if (p->value_types.n) {
		/* pprof's rule: without a default, the last sample type */
		m->default_type = p->value_types.v[p->value_types.n - 1].type;
	}
	if (d->period_type.p) {
		const char *type, *unit;
		int rc = read_value_type(d, &d->period_type, &type, &unit);
		if (rc < 0)
			return rc;
		m->event = cp_profile_intern(p, event_of(type));
	}
	for (size_t i = 0; i < d->comments.n; i++) {
		const char *c = str_of(d, d->comments.v[i]);
		if (!c)
			return bad(d, d->comment_at,
				   "comment: string index %" PRIu64
				   " out of range (the table has %zu)",
				   d->comments.v[i], d->strs.n);
		read_comment(d, c);
	}
	return 0;
}

static int build_profile(struct dec *d)
{
	int rc = 0;
	if (d->strs.n && d->strs.v[0].len)
		return bad(d, d->strs.v[0].p, "string_table[0] is not empty");
	d->sv = cp_xcalloc(d->strs.n + 1, sizeof(*d->sv));
	for (size_t i = 0; !rc && i < d->sample_types.n; i++) {
		const char *type, *unit;
		rc = read_value_type(d, &d->sample_types.v[i], &type, &unit);
		if (!rc)
			cp_profile_add_value_type(d->p, type, unit);
	}
	for (size_t i = 0; !rc && i < d->mappings.n; i++)
		rc = read_mapping(d, &d->mappings.v[i]);
	for (size_t i = 0; !rc && i < d->functions.n; i++)
		rc = read_function(d, &d->functions.v[i]);
	for (size_t i = 0; !rc && i < d->locations.n; i++)
		rc = read_location(d, &d->locations.v[i]);
	if (!rc && d->loc_max_id <= 4 * (uint64_t)d->locations.n + 1024) {
		d->loc_dense = cp_xcalloc(d->loc_max_id + 1, sizeof(*d->loc_dense));
		for (size_t i = 0; i < d->loc_ids.cap; i++)
			if (d->loc_ids.used[i])
				d->loc_dense[d->loc_ids.keys[i]] = (uint32_t)d->loc_ids.vals[i] + 1;
	}
	/* every value takes at least a byte of input: a hostile count of
	 * samples and sample types must not make this reservation huge */
	size_t nvt = d->p->value_types.n;
	CP_VEC_RESERVE(d->p->samples, d->samples.n);
	if (nvt && d->samples.n <= d->len / nvt)
		CP_VEC_RESERVE(d->p->values, d->samples.n * nvt);
	for (size_t i = 0; !rc && i < d->samples.n; i++)
		rc = read_sample(d, &d->samples.v[i]);
	return rc ?: read_meta(d);
}

static void dec_release(struct dec *d)
{
	CP_VEC_FREE(d->strs);
	CP_VEC_FREE(d->sample_types);
	CP_VEC_FREE(d->samples);
	CP_VEC_FREE(d->mappings);
	CP_VEC_FREE(d->locations);
	CP_VEC_FREE(d->functions);
	CP_VEC_FREE(d->comments);
	CP_VEC_FREE(d->ids);
	CP_VEC_FREE(d->vals);
	CP_VEC_FREE(d->stack);
	CP_VEC_FREE(d->lines);
	free(d->sv);
	free(d->loc_dense);
	cp_u64map_release(&d->map_ids);
	cp_u64map_release(&d->fn_ids);
	cp_u64map_release(&d->loc_ids);
}

/* Inflate a gzip stream (several members are concatenated, as gzip does)
 * into *out. */
static int gunzip(const uint8_t *buf, size_t len, const char *name, struct cp_buf *out,
		  struct cp_error *err)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return cp_error_set(err, CP_E_FAIL, "'%s': cannot initialize zlib", name);
	size_t in_off = 0;
	int zr = Z_OK, rc = 0;
	/* profiles inflate about 2-4 times; grow by doubling, but never
	 * allocate much beyond the limit */
	cp_buf_reserve(out, CP_MIN(len, MAX_INFLATED / 4) * 4 + 4096);
	while (rc == 0) {
		if (out->cap - out->len < 4096)
			cp_buf_reserve(out, CP_MIN(out->cap, MAX_INFLATED + 4096 - out->len));
		size_t in_chunk = CP_MIN(len - in_off, (size_t)UINT32_MAX);
		size_t out_chunk = CP_MIN(out->cap - out->len, (size_t)UINT32_MAX);
		z.next_in = (Bytef *)(uintptr_t)(buf + in_off);
		z.avail_in = (uInt)in_chunk;
		z.next_out = out->p + out->len;
		z.avail_out = (uInt)out_chunk;
		zr = inflate(&z, Z_NO_FLUSH);
		in_off += in_chunk - z.avail_in;
		out->len += out_chunk - z.avail_out;
		if (out->len > MAX_INFLATED)
			rc = cp_error_set(err, CP_E_FORMAT,
					  "'%s': profile is larger than 2 GiB after decompression",
					  name);
		else if (zr == Z_STREAM_END && in_off < len)
			zr = inflateReset(&z);
		else if (zr == Z_STREAM_END)
			break;
		else if (zr == Z_BUF_ERROR && in_off == len)
			rc = cp_error_set(err, CP_E_FORMAT,
					  "'%s': byte %zu: gzip data ends early (truncated file?)",
					  name, in_off);
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			rc = cp_error_set(err, CP_E_FORMAT, "'%s': byte %zu: bad gzip data: %s",
					  name, in_off, z.msg ? z.msg : "inflate failed");
	}
	inflateEnd(&z);
	return rc;
}

int cp_format_pprof_read(const void *buf, size_t len, const char *name, struct cp_profile **out,
			 struct cp_error *err)
{
	struct cp_buf raw = { 0 };
	const uint8_t *msg = buf;
	int rc;
	*out = NULL;
	if (!name)
		name = "pprof";
	if (!len)
		return cp_error_set(err, CP_E_FORMAT, "'%s': empty file, not a pprof profile",
				    name);
	bool gz = len >= 2 && msg[0] == 0x1f && msg[1] == 0x8b;
	if (gz) {
		rc = gunzip(buf, len, name, &raw, err);
		if (rc) {
			cp_buf_release(&raw);
			return rc;
		}
		msg = raw.p ? raw.p : (const uint8_t *)"";
		len = raw.len;
	}
	struct dec d;
	memset(&d, 0, sizeof(d));
	d.base = msg;
	d.len = len;
	d.name = name;
	d.gz = gz;
	d.err = err;
	d.p = cp_profile_new();
	cp_u64map_init(&d.map_ids);
	cp_u64map_init(&d.fn_ids);
	cp_u64map_init(&d.loc_ids);
	rc = split_profile(&d, msg, len);
	if (!rc)
		rc = build_profile(&d);
	dec_release(&d);
	cp_buf_release(&raw);
	if (rc) {
		cp_profile_free(d.p);
		return rc;
	}
	*out = d.p;
	return 0;
}
