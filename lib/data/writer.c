/* writer.c - the streaming cprof.data writer.
 *
 * The writer watches a borrowed profile model: at each flush it emits what
 * the model gained since the previous flush (strings, value types,
 * mappings, locations, stacks, a changed meta), then the samples encoded
 * since, as zstd-compressed chunks written with write(2) straight to the
 * file descriptor.  No stdio buffering sits in between, so a SIGKILLed
 * recorder leaves every chunk already written intact.  finish() adds the
 * symbol section and the end chunk.  The writer never keeps decoded
 * samples, only their compact encoding for the current chunk.  The symbol
 * section also carries the model's stored machine code (for annotate).  The file
 * layout is described in man/cprof-data.5; the reader is reader.c.
 */
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "data/layout.h"

struct cp_data_writer {
	struct cp_profile *model;
	char *path;
	int fd;
	bool own_fd;
	bool failed;
	uint64_t bytes;

	ZSTD_CCtx *cctx;
	struct cp_buf out;   /* chunk header + compressed payload */
	struct cp_buf chunk; /* raw payload of the chunk being built */
	uint32_t chunk_records;
	struct cp_buf body;      /* scratch for one record body */
	struct cp_buf meta_last; /* encoding of the last META emitted */

	/* how much of the model is already in the file */
	size_t n_strings, n_value_types, n_mappings, n_locations, n_stacks, n_functions;
	CP_VEC(uint64_t) last_addr; /* per mapping (+1 for CP_NONE), for address deltas */

	/* samples encoded since the last flush, and the delta state */
	struct cp_buf samples;
	uint64_t nsamples_buf, nsamples_total;
	size_t nv; /* value count fixed by the first sample */
	bool nv_set;
	uint64_t prev_time;
	uint32_t prev_stack, prev_pid, prev_tid, prev_flags, prev_cpu, prev_comm_sid;
	const char *prev_comm_ptr;
	const char *prev_syscall_ptr; /* cache of the last OFFCPU syscall's string id */
	uint32_t prev_syscall_sid;
	CP_VEC(int64_t) prev_values;
};

static int write_all(struct cp_data_writer *w, const void *buf, size_t len, struct cp_error *err)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t r = write(w->fd, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			w->failed = true;
			return cp_error_errno(err, CP_E_IO, errno, "cannot write '%s'", w->path);
		}
		p += r;
		len -= (size_t)r;
		w->bytes += (uint64_t)r;
	}
	return 0;
}

/* String id in the file = the string's id in the model's intern table, so
 * emitting model strings in id order defines them all.  Strings that were
 * not interned (a caller set a literal) are interned here. */
static uint32_t sid(struct cp_data_writer *w, const char *s)
{
	if (!s)
		s = "";
	return cp_intern_add(&w->model->strings_, s, strlen(s), NULL);
}

static int emit_chunk(struct cp_data_writer *w, uint32_t type, struct cp_error *err)
{
	if (!w->chunk.len && !w->chunk_records)
		return 0;
	size_t bound = ZSTD_compressBound(w->chunk.len);
	w->out.len = 0;
	cp_buf_reserve(&w->out, DF_CHUNK_HEADER_SIZE + bound);
	size_t c = ZSTD_compressCCtx(w->cctx, w->out.p + DF_CHUNK_HEADER_SIZE, bound, w->chunk.p,
				     w->chunk.len, DF_ZSTD_LEVEL);
	if (ZSTD_isError(c)) {
		w->failed = true;
		return cp_error_set(err, CP_E_FAIL, "cannot compress chunk for '%s': %s", w->path,
				    ZSTD_getErrorName(c));
	}
	uint8_t *h = w->out.p;
	memcpy(h, DF_CHUNK_MAGIC, 4);
	df_put32(h + 4, type);
	df_put32(h + 8, (uint32_t)c);
	df_put32(h + 12, (uint32_t)w->chunk.len);
	df_put32(h + 16, (uint32_t)crc32(0, w->out.p + DF_CHUNK_HEADER_SIZE, (uInt)c));
	df_put32(h + 20, w->chunk_records);
	w->out.len = DF_CHUNK_HEADER_SIZE + c;
	w->chunk.len = 0;
	w->chunk_records = 0;
	return write_all(w, w->out.p, w->out.len, err);
}

/* Append the record in w->body to the chunk; start a new chunk of the same
 * type when this one is full. */
static int add_record(struct cp_data_writer *w, uint32_t rtype, uint32_t ctype,
		      struct cp_error *err)
{
	cp_buf_add_uvarint(&w->chunk, rtype);
	cp_buf_add_uvarint(&w->chunk, w->body.len);
	cp_buf_add(&w->chunk, w->body.p, w->body.len);
	w->body.len = 0;
	w->chunk_records++;
	if (w->chunk.len >= DF_CHUNK_TARGET)
		return emit_chunk(w, ctype, err);
	return 0;
}

static int emit_strings(struct cp_data_writer *w, uint32_t ctype, struct cp_error *err)
{
	const struct cp_intern *t = &w->model->strings_;
	while (w->n_strings < t->n) {
		size_t first = w->n_strings, i = first;
		struct cp_buf items = { 0 };
		while (i < t->n && items.len < DF_BATCH_TARGET) {
			cp_buf_add_uvarint(&items, t->lens[i]);
			cp_buf_add(&items, t->items[i], t->lens[i]);
			i++;
		}
		cp_buf_add_uvarint(&w->body, first);
		cp_buf_add_uvarint(&w->body, i - first);
		cp_buf_add(&w->body, items.p, items.len);
		cp_buf_release(&items);
		w->n_strings = i;
		int r = add_record(w, DF_REC_STRINGS, ctype, err);
		if (r)
			return r;
	}
	return 0;
}

static void encode_meta(struct cp_data_writer *w, struct cp_buf *b)
{
	const struct cp_profile_meta *m = &w->model->meta;
	const char *strs[] = { m->command,  m->event,      m->sampler, m->callgraph,
			       m->hostname, m->os_release, m->arch,    m->cprof_version };
	for (size_t i = 0; i < CP_ARRAY_SIZE(strs); i++)
		cp_buf_add_uvarint(b, sid(w, strs[i]));
	cp_buf_add_uvarint(b, m->time_nanos);
	cp_buf_add_uvarint(b, m->duration_nanos);
	cp_buf_add_uvarint(b, m->period);
	cp_buf_add_uvarint(b, m->freq);
	cp_buf_add_uvarint(b, m->stack_size);
	cp_buf_add_uvarint(b, m->lost_samples);
	cp_buf_add_uvarint(b, m->lost_records);
	cp_buf_add_svarint(b, m->exit_status);
	/* added later, read only when present: the default value type */
	if (m->default_type && *m->default_type)
		cp_buf_add_uvarint(b, sid(w, m->default_type));
}

static int emit_value_types_and_mappings(struct cp_data_writer *w, uint32_t ctype,
					 struct cp_error *err)
{
	struct cp_profile *p = w->model;
	int r;
	for (; w->n_value_types < p->value_types.n; w->n_value_types++) {
		const struct cp_profile_value_type *vt = &p->value_types.v[w->n_value_types];
		cp_buf_add_uvarint(&w->body, w->n_value_types);
		cp_buf_add_uvarint(&w->body, sid(w, vt->type));
		cp_buf_add_uvarint(&w->body, sid(w, vt->unit));
		if ((r = add_record(w, DF_REC_VALUE_TYPE, ctype, err)))
			return r;
	}
	for (; w->n_mappings < p->mappings.n; w->n_mappings++) {
		const struct cp_profile_mapping *m = &p->mappings.v[w->n_mappings];
		cp_buf_add_uvarint(&w->body, w->n_mappings);
		cp_buf_add_uvarint(&w->body, sid(w, m->path));
		cp_buf_add_uvarint(&w->body, sid(w, m->build_id));
		cp_buf_add_uvarint(&w->body, m->start);
		cp_buf_add_uvarint(&w->body, m->limit);
		cp_buf_add_uvarint(&w->body, m->offset);
		cp_buf_add_uvarint(&w->body, m->flags);
		if ((r = add_record(w, DF_REC_MAPPING, ctype, err)))
			return r;
	}
	CP_VEC_RESERVE(w->last_addr, p->mappings.n + 1);
	while (w->last_addr.n < p->mappings.n + 1)
		w->last_addr.v[w->last_addr.n++] = 0;
	return 0;
}

static int emit_locations(struct cp_data_writer *w, uint32_t ctype, struct cp_error *err)
{
	struct cp_profile *p = w->model;
	while (w->n_locations < p->locations.n) {
		size_t first = w->n_locations, i = first;
		struct cp_buf items = { 0 };
		while (i < p->locations.n && items.len < DF_BATCH_TARGET) {
			const struct cp_profile_location *l = &p->locations.v[i];
			/* slot 0 is "no mapping"; a bad mapping index is stored as none */
			size_t slot = l->mapping < p->mappings.n ? (size_t)l->mapping + 1 : 0;
			cp_buf_add_uvarint(&items, slot);
			cp_buf_add_svarint(&items, (int64_t)(l->address - w->last_addr.v[slot]));
			w->last_addr.v[slot] = l->address;
			i++;
		}
		cp_buf_add_uvarint(&w->body, first);
		cp_buf_add_uvarint(&w->body, i - first);
		cp_buf_add(&w->body, items.p, items.len);
		cp_buf_release(&items);
		w->n_locations = i;
		int r = add_record(w, DF_REC_LOCATIONS, ctype, err);
		if (r)
			return r;
	}
	return 0;
}

static int emit_stacks(struct cp_data_writer *w, uint32_t ctype, struct cp_error *err)
{
	struct cp_profile *p = w->model;
	while (w->n_stacks < p->stacks.n) {
		size_t first = w->n_stacks, i = first;
		struct cp_buf items = { 0 };
		while (i < p->stacks.n && items.len < DF_BATCH_TARGET) {
			uint32_t n;
			const uint32_t *locs = cp_profile_stack_locs(p, (uint32_t)i, &n);
			cp_buf_add_uvarint(&items, n);
			int64_t prev = 0;
			for (uint32_t j = 0; j < n; j++) {
				cp_buf_add_svarint(&items, (int64_t)locs[j] - prev);
				prev = locs[j];
			}
			i++;
		}
		cp_buf_add_uvarint(&w->body, first);
		cp_buf_add_uvarint(&w->body, i - first);
		cp_buf_add(&w->body, items.p, items.len);
		cp_buf_release(&items);
		w->n_stacks = i;
		int r = add_record(w, DF_REC_STACKS, ctype, err);
		if (r)
			return r;
	}
	return 0;
}

/* Emit every model definition the file lacks, and the meta when it
 * changed.  Meta is encoded first because that may intern strings. */
static int emit_definitions(struct cp_data_writer *w, uint32_t ctype, bool force_meta,
			    struct cp_error *err)
{
	struct cp_buf meta = { 0 };
	encode_meta(w, &meta);
	int r = emit_strings(w, ctype, err);
	if (!r)
		r = emit_value_types_and_mappings(w, ctype, err);
	if (!r)
		r = emit_locations(w, ctype, err);
	if (!r)
		r = emit_stacks(w, ctype, err);
	if (!r && (force_meta || meta.len != w->meta_last.len ||
		   memcmp(meta.p, w->meta_last.p, meta.len))) {
		cp_buf_add(&w->body, meta.p, meta.len);
		w->meta_last.len = 0;
		cp_buf_add(&w->meta_last, meta.p, meta.len);
		r = add_record(w, DF_REC_META, ctype, err);
	}
	cp_buf_release(&meta);
	return r;
}

static void reset_sample_state(struct cp_data_writer *w)
{
	w->prev_time = 0;
	w->prev_stack = CP_NONE;
	w->prev_pid = w->prev_tid = w->prev_flags = w->prev_cpu = 0;
	w->prev_comm_sid = sid(w, "");
	w->prev_comm_ptr = NULL;
	w->prev_syscall_sid = w->prev_comm_sid;
	w->prev_syscall_ptr = NULL;
	for (size_t i = 0; i < w->prev_values.n; i++)
		w->prev_values.v[i] = 0;
}

static struct cp_data_writer *writer_start(int fd, bool own, const char *path,
					   struct cp_profile *model, struct cp_error *err);

struct cp_data_writer *cp_data_writer_open(const char *path, struct cp_profile *model,
					   struct cp_error *err)
{
	int fd;
	bool own = true;
	if (strcmp(path, "-") == 0) {
		fd = STDOUT_FILENO;
		own = false;
	} else {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			char *old = cp_xasprintf("%s.old", path);
			if (rename(path, old) < 0) {
				cp_error_errno(err, CP_E_IO, errno, "cannot rename '%s' to '%s'",
					       path, old);
				free(old);
				return NULL;
			}
			free(old);
		}
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			int e = errno;
			cp_error_errno(err,
				       e == ENOENT ? CP_E_NOENT :
				       e == EACCES ? CP_E_PERM :
						     CP_E_IO,
				       e, "cannot create '%s'", path);
			return NULL;
		}
	}
	return writer_start(fd, own, path, model, err);
}

struct cp_data_writer *cp_data_writer_open_fd(int fd, const char *name, struct cp_profile *model,
					      struct cp_error *err)
{
	return writer_start(fd, false, name, model, err);
}

static struct cp_data_writer *writer_start(int fd, bool own, const char *path,
					   struct cp_profile *model, struct cp_error *err)
{
	struct cp_data_writer *w = cp_xcalloc(1, sizeof(*w));
	w->model = model;
	w->path = cp_xstrdup(path);
	w->fd = fd;
	w->own_fd = own;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		cp_error_set(err, CP_E_FAIL, "cannot create a zstd context for '%s'", path);
		cp_data_writer_abort(w);
		return NULL;
	}
	reset_sample_state(w);

	uint8_t h[DF_HEADER_SIZE];
	memset(h, 0, sizeof(h));
	memcpy(h, CP_DATA_MAGIC, 8);
	df_put32(h + 8, CP_DATA_VERSION);
	df_put32(h + 12, DF_HEADER_SIZE);
	df_put64(h + 16, cp_realtime_ns());
	if (write_all(w, h, sizeof(h), err)) {
		cp_data_writer_abort(w);
		return NULL;
	}
	return w;
}

int cp_data_writer_add_sample(struct cp_data_writer *w, const struct cp_profile_sample *s,
			      const int64_t *values, struct cp_error *err)
{
	struct cp_profile *p = w->model;
	if (w->failed)
		return cp_error_set(err, CP_E_IO, "'%s': writer failed earlier", w->path);
	if (s->stack >= p->stacks.n)
		return cp_error_set(err, CP_E_USAGE, "sample refers to unknown stack %u", s->stack);
	if (!w->nv_set) {
		w->nv = p->value_types.n;
		w->nv_set = true;
		CP_VEC_RESERVE(w->prev_values, w->nv);
		w->prev_values.n = w->nv;
		for (size_t i = 0; i < w->nv; i++)
			w->prev_values.v[i] = 0;
	} else if (p->value_types.n != w->nv) {
		return cp_error_set(err, CP_E_USAGE,
				    "value types changed after the first sample (%zu, now %zu)",
				    w->nv, p->value_types.n);
	}

	const char *comm = s->comm ? s->comm : "";
	uint32_t comm_sid = w->prev_comm_sid;
	if (comm != w->prev_comm_ptr) {
		comm_sid = sid(w, comm);
		w->prev_comm_ptr = comm;
	}
	uint8_t fl = 0;
	if (s->pid != w->prev_pid)
		fl |= DF_S_PID;
	if (s->tid != w->prev_tid)
		fl |= DF_S_TID;
	if (comm_sid != w->prev_comm_sid)
		fl |= DF_S_COMM;
	if (s->flags != w->prev_flags)
		fl |= DF_S_FLAGS;
	if (s->cpu != w->prev_cpu)
		fl |= DF_S_CPU;
	if (s->stack == w->prev_stack)
		fl |= DF_S_SAME_STACK;
	if (!w->nv || memcmp(values, w->prev_values.v, w->nv * sizeof(*values)) == 0)
		fl |= DF_S_SAME_VALUES;

	struct cp_buf *b = &w->samples;
	cp_buf_reserve(b, 1 + 10 * 9 + 10 * w->nv);
	cp_buf_add_u8(b, fl);
	cp_buf_add_svarint(b, (int64_t)(s->time - w->prev_time));
	if (!(fl & DF_S_SAME_STACK))
		cp_buf_add_uvarint(b, s->stack);
	if (fl & DF_S_PID)
		cp_buf_add_uvarint(b, s->pid);
	if (fl & DF_S_TID)
		cp_buf_add_uvarint(b, s->tid);
	if (fl & DF_S_COMM)
		cp_buf_add_uvarint(b, comm_sid);
	if (fl & DF_S_FLAGS)
		cp_buf_add_uvarint(b, s->flags);
	if (fl & DF_S_CPU)
		cp_buf_add_uvarint(b, s->cpu);
	if (s->flags & CP_SAMPLE_CUT)
		cp_buf_add_uvarint(b, s->stack_need);
	if (s->flags & CP_SAMPLE_OFFCPU) {
		const char *sc = s->syscall ? s->syscall : "";
		if (sc != w->prev_syscall_ptr) {
			w->prev_syscall_sid = sid(w, sc);
			w->prev_syscall_ptr = sc;
		}
		cp_buf_add_uvarint(b, w->prev_syscall_sid);
	}
	if (!(fl & DF_S_SAME_VALUES)) {
		for (size_t i = 0; i < w->nv; i++)
			cp_buf_add_svarint(b, values[i]);
		memcpy(w->prev_values.v, values, w->nv * sizeof(*values));
	}
	w->prev_time = s->time;
	w->prev_stack = s->stack;
	w->prev_pid = s->pid;
	w->prev_tid = s->tid;
	w->prev_comm_sid = comm_sid;
	w->prev_flags = s->flags;
	w->prev_cpu = s->cpu;
	w->nsamples_buf++;
	w->nsamples_total++;
	if (b->len >= DF_CHUNK_TARGET)
		return cp_data_writer_flush(w, err);
	return 0;
}

int cp_data_writer_flush(struct cp_data_writer *w, struct cp_error *err)
{
	if (w->failed)
		return cp_error_set(err, CP_E_IO, "'%s': writer failed earlier", w->path);
	int r = emit_definitions(w, DF_CHUNK_DATA, false, err);
	if (r)
		return r;
	if (w->nsamples_buf) {
		cp_buf_add_uvarint(&w->body, w->nsamples_buf);
		cp_buf_add(&w->body, w->samples.p, w->samples.len);
		w->samples.len = 0;
		w->nsamples_buf = 0;
		reset_sample_state(w);
		cp_buf_add_uvarint(&w->chunk, DF_REC_SAMPLES);
		cp_buf_add_uvarint(&w->chunk, w->body.len);
		cp_buf_add(&w->chunk, w->body.p, w->body.len);
		w->body.len = 0;
		w->chunk_records++;
	}
	return emit_chunk(w, DF_CHUNK_DATA, err);
}

/* One code entry: mapping, function, address, size, the bytes, then the
 * rows as (address delta from the previous row or the function start,
 * file string, line). */
static void encode_code(struct cp_data_writer *w, const struct cp_profile_code *c, struct cp_buf *b)
{
	const struct cp_profile *p = w->model;
	cp_buf_add_uvarint(b, c->mapping);
	cp_buf_add_uvarint(b, c->function);
	cp_buf_add_uvarint(b, c->address);
	cp_buf_add_uvarint(b, c->size);
	cp_buf_add(b, p->code_bytes.v + c->bytes_start, c->size);
	cp_buf_add_uvarint(b, c->nlines);
	uint64_t prev = c->address;
	for (uint32_t j = 0; j < c->nlines; j++) {
		const struct cp_profile_code_line *l = &p->code_lines.v[c->line_start + j];
		cp_buf_add_uvarint(b, l->address - prev);
		cp_buf_add_uvarint(b, sid(w, l->file));
		cp_buf_add_svarint(b, l->line);
		prev = l->address;
	}
}

/* The stored code, batched like the other records; a record that would
 * push the chunk well past its target starts a new chunk, so a big
 * function gets a chunk of its own.  Then the cap and skip count. */
static int emit_code(struct cp_data_writer *w, struct cp_error *err)
{
	struct cp_profile *p = w->model;
	int r = 0;
	for (size_t i = 0; !r && i < p->code.n;) {
		struct cp_buf items = { 0 };
		size_t first = i;
		while (i < p->code.n && items.len < DF_BATCH_TARGET)
			encode_code(w, &p->code.v[i++], &items);
		/* row files were interned with the model's code: define any
		 * string the file still lacks first */
		r = emit_strings(w, DF_CHUNK_SYMBOLS, err);
		if (!r && w->chunk.len && w->chunk.len + items.len > DF_CHUNK_TARGET)
			r = emit_chunk(w, DF_CHUNK_SYMBOLS, err);
		if (!r) {
			cp_buf_add_uvarint(&w->body, i - first);
			cp_buf_add(&w->body, items.p, items.len);
			r = add_record(w, DF_REC_CODE, DF_CHUNK_SYMBOLS, err);
		}
		cp_buf_release(&items);
	}
	if (!r && (p->meta.code_max || p->meta.code_skipped || p->code.n)) {
		cp_buf_add_uvarint(&w->body, p->meta.code_max);
		cp_buf_add_uvarint(&w->body, p->meta.code_skipped);
		r = add_record(w, DF_REC_CODE_INFO, DF_CHUNK_SYMBOLS, err);
	}
	return r;
}

static int emit_symbols(struct cp_data_writer *w, struct cp_error *err)
{
	struct cp_profile *p = w->model;
	int r = emit_strings(w, DF_CHUNK_SYMBOLS, err);
	while (!r && w->n_functions < p->functions.n) {
		size_t first = w->n_functions, i = first;
		struct cp_buf items = { 0 };
		while (i < p->functions.n && items.len < DF_BATCH_TARGET) {
			const struct cp_profile_function *f = &p->functions.v[i];
			cp_buf_add_uvarint(&items, sid(w, f->name));
			cp_buf_add_uvarint(&items, sid(w, f->system_name));
			cp_buf_add_uvarint(&items, sid(w, f->filename));
			cp_buf_add_svarint(&items, f->start_line);
			i++;
		}
		/* sid() may have interned strings: define them first */
		r = emit_strings(w, DF_CHUNK_SYMBOLS, err);
		if (!r) {
			cp_buf_add_uvarint(&w->body, first);
			cp_buf_add_uvarint(&w->body, i - first);
			cp_buf_add(&w->body, items.p, items.len);
			w->n_functions = i;
			r = add_record(w, DF_REC_FUNCTIONS, DF_CHUNK_SYMBOLS, err);
		}
		cp_buf_release(&items);
	}
	/* flags go in a record of their own: readers that do not know it
	 * skip it and show the names, which are right without the flags */
	size_t fi = 0;
	while (!r && fi < p->functions.n) {
		struct cp_buf items = { 0 };
		uint64_t count = 0;
		for (; fi < p->functions.n && items.len < DF_BATCH_TARGET; fi++) {
			if (!p->functions.v[fi].flags)
				continue;
			cp_buf_add_uvarint(&items, fi);
			cp_buf_add_uvarint(&items, p->functions.v[fi].flags);
			count++;
		}
		if (count) {
			cp_buf_add_uvarint(&w->body, count);
			cp_buf_add(&w->body, items.p, items.len);
			r = add_record(w, DF_REC_FUNC_FLAGS, DF_CHUNK_SYMBOLS, err);
		}
		cp_buf_release(&items);
	}
	size_t loc = 0;
	while (!r && loc < p->locations.n) {
		struct cp_buf items = { 0 };
		uint64_t count = 0;
		for (; loc < p->locations.n && items.len < DF_BATCH_TARGET; loc++) {
			const struct cp_profile_location *l = &p->locations.v[loc];
			if (!l->nlines)
				continue;
			cp_buf_add_uvarint(&items, loc);
			cp_buf_add_uvarint(&items, l->nlines);
			for (uint32_t j = 0; j < l->nlines; j++) {
				const struct cp_profile_line *ln = &p->lines.v[l->line_start + j];
				cp_buf_add_uvarint(&items, ln->function);
				cp_buf_add_svarint(&items, ln->line);
				cp_buf_add_u8(&items, ln->inlined ? 1 : 0);
			}
			count++;
		}
		if (count) {
			cp_buf_add_uvarint(&w->body, count);
			cp_buf_add(&w->body, items.p, items.len);
			r = add_record(w, DF_REC_LINES, DF_CHUNK_SYMBOLS, err);
		}
		cp_buf_release(&items);
	}
	if (!r)
		r = emit_code(w, err);
	if (!r)
		r = emit_chunk(w, DF_CHUNK_SYMBOLS, err);
	return r;
}

static int emit_end(struct cp_data_writer *w, struct cp_error *err)
{
	struct cp_profile *p = w->model;
	/* the end chunk always carries the final meta, even when unchanged */
	int r = emit_definitions(w, DF_CHUNK_END, true, err);
	if (r)
		return r;
	cp_buf_add_uvarint(&w->body, w->nsamples_total);
	cp_buf_add_uvarint(&w->body, w->n_strings);
	cp_buf_add_uvarint(&w->body, p->value_types.n);
	cp_buf_add_uvarint(&w->body, p->mappings.n);
	cp_buf_add_uvarint(&w->body, p->locations.n);
	cp_buf_add_uvarint(&w->body, p->stacks.n);
	cp_buf_add_uvarint(&w->body, p->functions.n);
	cp_buf_add_uvarint(&w->chunk, DF_REC_TOTALS);
	cp_buf_add_uvarint(&w->chunk, w->body.len);
	cp_buf_add(&w->chunk, w->body.p, w->body.len);
	w->body.len = 0;
	w->chunk_records++;
	return emit_chunk(w, DF_CHUNK_END, err);
}

static void writer_free(struct cp_data_writer *w)
{
	ZSTD_freeCCtx(w->cctx);
	cp_buf_release(&w->out);
	cp_buf_release(&w->chunk);
	cp_buf_release(&w->body);
	cp_buf_release(&w->meta_last);
	cp_buf_release(&w->samples);
	CP_VEC_FREE(w->last_addr);
	CP_VEC_FREE(w->prev_values);
	free(w->path);
	free(w);
}

int cp_data_writer_finish(struct cp_data_writer *w, struct cp_error *err)
{
	int r = cp_data_writer_flush(w, err);
	if (!r)
		r = emit_symbols(w, err);
	if (!r)
		r = emit_end(w, err);
	if (w->own_fd && close(w->fd) < 0 && !r)
		r = cp_error_errno(err, CP_E_IO, errno, "cannot write '%s'", w->path);
	writer_free(w);
	return r;
}

void cp_data_writer_abort(struct cp_data_writer *w)
{
	if (!w)
		return;
	if (w->own_fd)
		close(w->fd);
	writer_free(w);
}

uint64_t cp_data_writer_bytes(const struct cp_data_writer *w)
{
	return w->bytes;
}
