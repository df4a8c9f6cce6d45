/* speedscope.c - the JSON file format of https://www.speedscope.app: shared
 * frames plus one "sampled" profile per thread, each thread's samples in
 * time order with their weights.
 *
 * Filters, inline handling and the weight come from the view; this file
 * walks the profile's samples itself (views group samples by stack and
 * lose the time order), renders each distinct stack's frame list once and
 * writes through its own buffer, so a million samples take a fraction of
 * a second.  Strings are escaped so that the output is always valid JSON:
 * invalid UTF-8 becomes U+FFFD.  It does not read speedscope files.
 *
 * Samples whose weight is 0 or negative (possible in pprof input) are left
 * out: speedscope cannot draw them.
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define OUT_BUF_SIZE (256u * 1024u)
#define UNKNOWN_COMM "[unknown]"

/* Buffered output; after a failed fwrite everything else is dropped and
 * the caller reports CP_E_IO. */
struct out {
	FILE *f;
	char *buf;
	size_t len;
	bool failed;
};

static void out_flush(struct out *o)
{
	if (o->len && !o->failed && fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->failed = true;
	o->len = 0;
}

static void out_add(struct out *o, const void *p, size_t n)
{
	if (o->len + n > OUT_BUF_SIZE) {
		out_flush(o);
		if (n > OUT_BUF_SIZE) {
			if (!o->failed && fwrite(p, 1, n, o->f) != n)
				o->failed = true;
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_u64(struct out *o, uint64_t v)
{
	char tmp[24];
	char *e = tmp + sizeof(tmp), *p = e;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_add(o, p, (size_t)(e - p));
}

static void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_add(o, "-", 1);
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

/* A JSON string literal, quotes included. */
static void out_json_str(struct out *o, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str, *run = s;
	out_add(o, "\"", 1);
	while (*s) {
		unsigned char c = *s;
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			s++;
			continue;
		}
		size_t bad = 0;
		if (c >= 0x80) {
			int32_t cp;
			size_t n = cp_utf8_next(s, &cp);
			if (cp >= 0) {
				s += n;
				continue;
			}
			bad = n;
		}
		out_add(o, run, (size_t)(s - run));
		if (bad) {
			out_add(o, "\\ufffd", 6);
			s += bad;
		} else {
			char esc[6] = { '\\', (char)c, 0 };
			size_t elen = 2;
			switch (c) {
			case '"':
			case '\\':
				break;
			case '\b':
				esc[1] = 'b';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			case '\t':
				esc[1] = 't';
				break;
			default:
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				elen = 6;
			}
			out_add(o, esc, elen);
			s++;
		}
		run = s;
	}
	out_add(o, run, (size_t)(s - run));
	out_add(o, "\"", 1);
}

/* speedscope's ValueUnit for a value type's unit; ns_per is how many
 * nanoseconds one unit is (0 when the unit is not time). */
static const char *speedscope_unit(const char *unit, uint64_t *ns_per)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "nanoseconds", 1 },      { "microseconds", 1000 }, { "milliseconds", 1000000 },
		{ "seconds", 1000000000 }, { "bytes", 0 },
	};
	*ns_per = 0;
	for (size_t i = 0; unit && i < CP_ARRAY_SIZE(units); i++) {
		if (!strcmp(unit, units[i].name)) {
			*ns_per = units[i].ns;
			return units[i].name;
		}
	}
	return "none";
}

struct thread {
	uint32_t pid, tid;
	size_t nsamples;
	size_t first; /* start of its samples in the sorted order */
	int64_t weight;
};

struct writer {
	struct cp_view *v;
	const struct cp_profile *p;
	uint32_t vi;
	CP_VEC(struct thread) threads;
	CP_VEC(uint32_t) sel;     /* selected sample indices, in profile order */
	CP_VEC(uint32_t) sel_thr; /* their thread indices */
	uint32_t *order;          /* selected samples by thread (pid, tid), then time */
	/* output frame index + 1 per view frame id (0: not used yet) */
	CP_VEC(uint32_t) frame_out;
	CP_VEC(uint32_t) frames; /* view frame ids in output order */
	/* per stack: its "[a,b,c]" text in stack_text (length 0: not rendered) */
	size_t *stack_off;
	uint32_t *stack_len;
	struct cp_buf stack_text;
};

static int64_t sample_weight(const struct writer *w, uint32_t i)
{
	if (w->vi == CP_NONE)
		return 1;
	return w->p->values.v[(size_t)i * w->p->value_types.n + w->vi];
}

static void select_samples(struct writer *w)
{
	const struct cp_profile *p = w->p;
	const struct cp_view_filter *f = &cp_view_options(w->v)->filter;
	bool filtered = !cp_view_filter_empty(f);
	struct cp_u64map ids;
	uint64_t last_key = UINT64_MAX;
	uint32_t last_thr = 0;
	cp_u64map_init(&ids);
	for (size_t i = 0; i < p->samples.n && i < UINT32_MAX; i++) {
		const struct cp_profile_sample *s = &p->samples.v[i];
		if (s->stack >= p->stacks.n || (filtered && !cp_view_sample_matches(f, s)))
			continue;
		int64_t wt = sample_weight(w, (uint32_t)i);
		if (wt <= 0)
			continue;
		uint64_t key = (uint64_t)s->pid << 32 | s->tid;
		if (key != last_key) {
			bool added;
			uint64_t *slot = cp_u64map_upsert(&ids, key, w->threads.n, &added);
			if (added) {
				struct thread t = { .pid = s->pid, .tid = s->tid };
				CP_VEC_PUSH(w->threads, t);
			}
			last_key = key;
			last_thr = (uint32_t)*slot;
		}
		w->threads.v[last_thr].nsamples++;
		w->threads.v[last_thr].weight += wt;
		CP_VEC_PUSH(w->sel, (uint32_t)i);
		CP_VEC_PUSH(w->sel_thr, last_thr);
	}
	cp_u64map_release(&ids);
}

static int thread_cmp(const void *pa, const void *pb)
{
	const struct thread *a = pa, *b = pb;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static int time_cmp(const void *pa, const void *pb, void *arg)
{
	const struct cp_profile *p = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	uint64_t ta = p->samples.v[a].time, tb = p->samples.v[b].time;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return a < b ? -1 : a > b; /* stable: profile order among equal times */
}

/* Threads in (pid, tid) order; each thread's samples in time order. */
static void order_samples(struct writer *w)
{
	size_t nt = w->threads.n;
	uint32_t *rank = cp_xmalloc((nt + 1) * sizeof(*rank));
	for (size_t t = 0; t < nt; t++)
		w->threads.v[t].first = t; /* remember the index across the sort */
	if (nt)
		qsort(w->threads.v, nt, sizeof(*w->threads.v), thread_cmp);
	size_t pos = 0;
	for (size_t t = 0; t < nt; t++) {
		rank[w->threads.v[t].first] = (uint32_t)t;
		w->threads.v[t].first = pos;
		pos += w->threads.v[t].nsamples;
	}
	size_t *fill = cp_xmalloc((nt + 1) * sizeof(*fill));
	for (size_t t = 0; t < nt; t++)
		fill[t] = w->threads.v[t].first;
	w->order = cp_xmalloc((w->sel.n + 1) * sizeof(*w->order));
	for (size_t i = 0; i < w->sel.n; i++)
		w->order[fill[rank[w->sel_thr.v[i]]]++] = w->sel.v[i];
	for (size_t t = 0; t < nt; t++) {
		uint32_t *o = w->order + w->threads.v[t].first;
		size_t n = w->threads.v[t].nsamples;
		size_t k = 1;
		while (k < n && w->p->samples.v[o[k - 1]].time <= w->p->samples.v[o[k]].time)
			k++;
		if (k < n) /* recordings are mostly in order already */
			qsort_r(o, n, sizeof(*o), time_cmp, (void *)w->p);
	}
	free(fill);
	free(rank);
}

static uint32_t out_frame(struct writer *w, uint32_t id)
{
	if (id >= w->frame_out.n) {
		size_t old = w->frame_out.n;
		CP_VEC_RESERVE(w->frame_out, (size_t)id + 1);
		memset(w->frame_out.v + old, 0, ((size_t)id + 1 - old) * sizeof(*w->frame_out.v));
		w->frame_out.n = (size_t)id + 1;
	}
	if (!w->frame_out.v[id]) {
		CP_VEC_PUSH(w->frames, id);
		w->frame_out.v[id] = (uint32_t)w->frames.n;
	}
	return w->frame_out.v[id] - 1;
}

static void add_index(struct cp_buf *b, uint32_t v)
{
	char tmp[12];
	char *e = tmp + sizeof(tmp), *p = e;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	cp_buf_add(b, p, (size_t)(e - p));
}

/* Render every selected sample's stack once, root first, numbering the
 * frames in the order they first appear. */
static void render_stacks(struct writer *w)
{
	size_t nstacks = w->p->stacks.n;
	w->stack_off = cp_xcalloc(nstacks + 1, sizeof(*w->stack_off));
	w->stack_len = cp_xcalloc(nstacks + 1, sizeof(*w->stack_len));
	for (size_t i = 0; i < w->sel.n; i++) {
		uint32_t st = w->p->samples.v[w->order[i]].stack;
		if (w->stack_len[st])
			continue;
		uint32_t n;
		const struct cp_view_stack_frame *fr = cp_view_stack_frames(w->v, st, &n);
		size_t start = w->stack_text.len;
		cp_buf_add_u8(&w->stack_text, '[');
		for (uint32_t k = n; k-- > 0;) {
			add_index(&w->stack_text, out_frame(w, fr[k].frame));
			if (k)
				cp_buf_add_u8(&w->stack_text, ',');
		}
		cp_buf_add_u8(&w->stack_text, ']');
		w->stack_off[st] = start;
		w->stack_len[st] = (uint32_t)(w->stack_text.len - start);
	}
}

static void write_frames(struct out *o, const struct writer *w)
{
	out_str(o, "\"shared\":{\"frames\":[");
	for (size_t i = 0; i < w->frames.n; i++) {
		const struct cp_view_frame *f = cp_view_frame(w->v, w->frames.v[i]);
		out_str(o, i ? ",\n{\"name\":" : "\n{\"name\":");
		out_json_str(o, f->name);
		if (f->function != CP_NONE && f->function < w->p->functions.n) {
			const struct cp_profile_function *fn = &w->p->functions.v[f->function];
			if (fn->filename && fn->filename[0]) {
				out_str(o, ",\"file\":");
				out_json_str(o, fn->filename);
			}
			if (fn->start_line > 0) {
				out_str(o, ",\"line\":");
				out_i64(o, fn->start_line);
			}
		}
		out_add(o, "}", 1);
	}
	out_str(o, "]},\n");
}

/* The thread's name: its last non-empty comm in time order. */
static const char *thread_comm(const struct writer *w, const struct thread *t)
{
	for (size_t k = t->nsamples; k-- > 0;) {
		const char *c = w->p->samples.v[w->order[t->first + k]].comm;
		if (c && c[0])
			return c;
	}
	return UNKNOWN_COMM;
}

static void write_profile(struct out *o, const struct writer *w, const struct thread *t,
			  const char *unit, uint64_t ns_per)
{
	const uint32_t *ord = w->order + t->first;
	char name[64];
	out_str(o, "{\"type\":\"sampled\",\"name\":");
	snprintf(name, sizeof(name), " (pid %" PRIu32 ", tid %" PRIu32 ")", t->pid, t->tid);
	const char *comm = thread_comm(w, t);
	char *full = cp_xasprintf("%s%s", comm, name);
	out_json_str(o, full);
	free(full);
	out_str(o, ",\"unit\":\"");
	out_str(o, unit);
	/* time units start where the thread's first sample is, so threads
	 * line up on the recording's clock */
	uint64_t start = ns_per ? w->p->samples.v[ord[0]].time / ns_per : 0;
	out_str(o, "\",\"startValue\":");
	out_u64(o, start);
	out_str(o, ",\"endValue\":");
	out_u64(o, start + (uint64_t)t->weight);
	out_str(o, ",\n\"samples\":[");
	for (size_t k = 0; k < t->nsamples; k++) {
		uint32_t st = w->p->samples.v[ord[k]].stack;
		if (k)
			out_add(o, ",", 1);
		out_add(o, w->stack_text.p + w->stack_off[st], w->stack_len[st]);
	}
	out_str(o, "],\n\"weights\":[");
	for (size_t k = 0; k < t->nsamples; k++) {
		if (k)
			out_add(o, ",", 1);
		out_i64(o, sample_weight(w, ord[k]));
	}
	out_str(o, "]}");
}

static void write_file(struct out *o, const struct writer *w, const char *name)
{
	const struct cp_profile *p = w->p;
	const char *vunit = w->vi == CP_NONE ? NULL : p->value_types.v[w->vi].unit;
	uint64_t ns_per;
	const char *unit = speedscope_unit(vunit, &ns_per);
	out_str(o, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n");
	write_frames(o, w);
	out_str(o, "\"profiles\":[");
	for (size_t t = 0; t < w->threads.n; t++) {
		out_str(o, t ? ",\n" : "\n");
		write_profile(o, w, &w->threads.v[t], unit, ns_per);
	}
	out_str(o, "],\n\"name\":");
	out_json_str(o, name ? name : "cprof");
	out_str(o, ",\"activeProfileIndex\":0,\"exporter\":\"cprof " CP_VERSION "\"}\n");
}

int cp_format_speedscope_write(FILE *out, struct cp_view *v, const char *name, const char *what,
			       struct cp_error *err)
{
	struct writer w = {
		.v = v,
		.p = cp_view_profile(v),
		.vi = cp_view_options(v)->value_index,
	};
	if (w.vi != CP_NONE && w.vi >= w.p->value_types.n)
		w.vi = CP_NONE;
	select_samples(&w);
	order_samples(&w);
	render_stacks(&w);
	struct out o = { .f = out, .buf = cp_xmalloc(OUT_BUF_SIZE) };
	write_file(&o, &w, name);
	out_flush(&o);
	free(o.buf);
	free(w.order);
	free(w.stack_off);
	free(w.stack_len);
	cp_buf_release(&w.stack_text);
	CP_VEC_FREE(w.threads);
	CP_VEC_FREE(w.sel);
	CP_VEC_FREE(w.sel_thr);
	CP_VEC_FREE(w.frame_out);
	CP_VEC_FREE(w.frames);
	if (o.failed || ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}
