/* perfscript.c - reader of `perf script` text output.
 *
 * Understood: the default output and the usual -F field sets (comm, pid,
 * tid, cpu, time, period, event, ip, sym, symoff, dso): a sample header
 * line "comm [pid/]tid [cpu] time: [period] event: ", then one frame per
 * indented line "addr sym+off (dso)", leaf first, and a blank line; or,
 * for samples without a call chain, the frame at the end of the header
 * line itself.  Comment lines ('#') are skipped.
 *
 * The result is meant to fold exactly as FlameGraph's stackcollapse-perf.pl
 * (default options) folds the same text, so its rules are followed here:
 * a header is "NAME NUM[/NUM] ..." with NAME as short as possible (a thread
 * name may contain spaces); a header that ends in "event:" gives the event
 * and, when a number stands before it, the sample's period (0 or none
 * count 1); frame names lose their "+0x..." offset, "[unknown]" is replaced
 * by "[module basename]", ';' becomes ':', everything from the first '('
 * on is dropped (except Go-style "pkg.(*T).m" names and "(anonymous
 * namespace)"), quotes are deleted, Java names ("L...;" with a '/') of
 * threads named java... lose their leading 'L', frames whose name starts
 * with '(' are skipped, and "a->b" is a frame with b inlined into a.
 *
 * Deliberate differences, for input stackcollapse-perf.pl mishandles: a
 * sample without a call chain keeps its one frame (stackcollapse keeps only
 * the thread name), a header that follows frames without a blank line
 * starts a new sample, and the last sample counts without a final blank
 * line.
 *
 * Model: one value type per event (named as the event, modifiers
 * included, unit "count"), a sample's value is its period in its own
 * event's column and 0 in the others; the first event is
 * meta.default_type.  Samples keep comm, pid (0 when the output has only
 * the tid), tid, cpu and time (ns since the first sample).  One mapping
 * per dso, one location per (mapping, tidied name), at the address it was
 * first seen at.  This file does not write perf script text.
 */
#include "format/format.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	struct cp_profile_sample s;
	uint32_t event;
	int64_t value;
	bool has_time;
};

struct ps_reader {
	struct cp_profile *p;
	const char *name;
	struct cp_intern events; /* event names, index = value type */
	struct cp_intern dsos;   /* dso path -> dsos_map index */
	CP_VEC(uint32_t) dso_map;
	struct cp_intern loc_keys; /* (mapping, names) -> loc_ids index */
	CP_VEC(uint32_t) loc_ids;
	CP_VEC(struct pending) samples;
	CP_VEC(uint32_t) stack; /* current sample's locations, leaf first */
	CP_VEC(struct cp_profile_line) chain;
	struct cp_buf key, name_buf;
	CP_VEC(size_t) part_off; /* offsets of the parts' names in name_buf */

	bool in_sample;         /* a header was seen and not yet finished */
	bool have_frames;       /* indented frames followed the header */
	const char *tail;       /* header text after the event (one-line samples) */
	size_t tail_len;
	struct pending cur;
	bool java;              /* the thread name starts with "java" */
	uint64_t first_time;
	bool have_first_time;
	int64_t total;  /* sum of the values: views add them up */
	bool overflow;  /* a period made it exceed INT64_MAX */
};

static bool is_sp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

static bool is_dig(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_word(char c)
{
	return is_dig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int line_error(struct cp_error *err, const char *name, size_t lineno, const char *fmt, ...)
	CP_PRINTF(4, 5);
static int line_error(struct cp_error *err, const char *name, size_t lineno, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cp_error_set(err, CP_E_FORMAT, "'%s' line %zu: %s", name, lineno, what);
}

static uint64_t parse_u64(const char *s, const char *e)
{
	uint64_t v = 0;
	for (; s < e; s++)
		v = v > UINT64_MAX / 10 - 10 ? UINT64_MAX : v * 10 + (uint64_t)(*s - '0');
	return v;
}

/* ---- the header ------------------------------------------------------------ */

struct header {
	const char *comm, *comm_end;
	const char *num1, *num1_end; /* pid, or tid when num2 is absent */
	const char *num2, *num2_end; /* tid, NULL when absent */
	const char *rest;            /* after the numbers */
};

/* stackcollapse-perf.pl's header: a name (a non-blank, then at least one
 * more character, as few as possible), blanks, digits, optional '/'s and
 * digits, a blank.  Only the first position of each blank run can start
 * a match, which keeps this linear. */
static bool match_header(const char *s, const char *e, struct header *h)
{
	if (s == e || is_sp(*s))
		return false;
	for (const char *i = s + 2; i < e; i++) {
		if (!is_sp(*i))
			continue;
		const char *j = i;
		while (j < e && is_sp(*j))
			j++;
		const char *run_end = j;
		if (j < e && is_dig(*j)) {
			const char *k = j;
			while (k < e && is_dig(*k))
				k++;
			const char *m = k;
			while (m < e && *m == '/')
				m++;
			const char *n = m;
			while (n < e && is_dig(*n))
				n++;
			if (n < e && is_sp(*n)) {
				h->comm = s;
				h->comm_end = i;
				h->num1 = j;
				h->num1_end = k;
				h->num2 = n > m ? m : NULL;
				h->num2_end = n;
				h->rest = n;
				return true;
			}
		}
		i = run_end - 1; /* later starts in this run match alike */
	}
	return false;
}

/* stackcollapse-perf.pl's event test on a header: the line ends in
 * "EVENT:" (then blanks), preceded by blanks, optional digits (the
 * period), optional blanks and a ':'. */
static bool match_event(const char *s, const char *e, const char **ev, const char **ev_end,
			const char **per, const char **per_end)
{
	while (e > s && is_sp(e[-1]))
		e--;
	if (e - s < 2 || e[-1] != ':')
		return false;
	const char *t = e - 1;
	while (t > s && !is_sp(t[-1]))
		t--;
	if (e - 1 - t < 1 || t == s)
		return false;
	const char *w = t;
	while (w > s && is_sp(w[-1]))
		w--;
	const char *d = w;
	while (d > s && is_dig(d[-1]))
		d--;
	const char *c = d;
	if (d == w) /* no digits: the blanks before the event are \s* and \s+ */
		c = w;
	else
		while (c > s && is_sp(c[-1]))
			c--;
	if (c == s || c[-1] != ':')
		return false;
	*ev = t;
	*ev_end = e - 1;
	*per = d;
	*per_end = w;
	return true;
}

/* ---- frames ------------------------------------------------------------------- */

struct frame {
	const char *pc, *pc_end;
	const char *func, *func_end;
	const char *mod, *mod_end;
};

/* stackcollapse-perf.pl's frame line: blanks, a word (the address), blanks,
 * the symbol, " (", the module, ")" -- the module is between the last
 * " (" that has a ')' after it and the last ')'. */
static bool match_frame(const char *s, const char *e, struct frame *f)
{
	const char *a = s;
	while (a < e && is_sp(*a))
		a++;
	const char *w = a;
	while (w < e && is_word(*w))
		w++;
	if (w == a)
		return false;
	const char *c0 = w;
	while (c0 < e && is_sp(*c0))
		c0++;
	const char *r = e;
	while (r > a && r[-1] != ')')
		r--;
	if (r == a)
		return false;
	r--; /* the last ')' */
	const char *em = NULL;
	for (const char *q = r - 2; q >= a + 1; q--) {
		if (q[0] == ' ' && q[1] == '(') {
			em = q;
			break;
		}
	}
	if (!em)
		return false;
	const char *c = c0 < em - 1 ? c0 : em - 1;
	if (c < a + 1)
		return false;
	f->pc = a;
	f->pc_end = c < w ? c : w;
	f->func = c;
	f->func_end = em;
	f->mod = em + 2;
	f->mod_end = r;
	return true;
}

/* "addr sym" with no module (-F without dso): indented, a hex address,
 * the symbol. */
static bool frame_without_dso(const char *s, const char *e, struct frame *f)
{
	static const char unknown[] = "[unknown]";
	if (s == e || !is_sp(*s))
		return false;
	while (s < e && is_sp(*s))
		s++;
	const char *a = s;
	while (s < e && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
		s++;
	if (s == a || s == e || !is_sp(*s))
		return false;
	const char *fs = s;
	while (fs < e && is_sp(*fs))
		fs++;
	const char *fe = e;
	while (fe > fs && is_sp(fe[-1]))
		fe--;
	if (fs == fe)
		return false;
	f->pc = a;
	f->pc_end = s;
	f->func = fs;
	f->func_end = fe;
	f->mod = unknown;
	f->mod_end = unknown + sizeof(unknown) - 1;
	return true;
}

/* A header with blanks before it: perf script right-aligns the thread
 * name of samples without a call chain.  Told from a frame line by the
 * field after the numbers: "[cpu]", "time:" or "event:". */
static bool padded_header(const char *s, const char *e, struct header *h)
{
	if (s == e || !is_sp(*s))
		return false;
	while (s < e && is_sp(*s))
		s++;
	if (!match_header(s, e, h))
		return false;
	const char *t = h->rest;
	while (t < e && is_sp(*t))
		t++;
	const char *te = t;
	while (te < e && !is_sp(*te))
		te++;
	return te > t && (te[-1] == ':' || (*t == '[' && te[-1] == ']'));
}

static uint32_t mapping_of(struct ps_reader *r, const char *m, size_t n)
{
	if (!n || (n == 9 && !memcmp(m, "[unknown]", 9)))
		return CP_NONE;
	bool added;
	uint32_t id = cp_intern_add(&r->dsos, m, n, &added);
	if (!added)
		return r->dso_map.v[id];
	const char *path = cp_intern_get(&r->dsos, id);
	struct cp_profile_mapping mp = { .path = path, .build_id = "" };
	if (!strncmp(path, "[kernel.", 8) || (n >= 7 && !strcmp(path + n - 7, "vmlinux")))
		mp.flags = CP_MAP_KERNEL;
	else if (!strncmp(path, "[vdso", 5) || !strcmp(path, "[vsyscall]"))
		mp.flags = CP_MAP_VDSO;
	else if (!strcmp(path, "[heap]") || !strcmp(path, "[stack]") || !strncmp(path, "//anon", 6) ||
		 !strncmp(path, "[anon", 5))
		mp.flags = CP_MAP_ANON;
	else if (!strncmp(path, "/tmp/perf-", 10) && n > 4 && !strcmp(path + n - 4, ".map"))
		mp.flags = CP_MAP_JIT;
	else if (path[0] == '[')
		mp.flags = CP_MAP_KERNEL; /* a kernel module, "[nf_conntrack]" */
	uint32_t idx = cp_profile_add_mapping(r->p, &mp);
	CP_VEC_PUSH(r->dso_map, idx);
	return idx;
}

/* Whether s contains ".(" and, further on, ")." (a Go method name). */
static bool go_name(const char *s, size_t n)
{
	const char *o = memmem(s, n, ".(", 2);
	if (!o)
		return false;
	const char *rest = o + 2;
	return memmem(rest, n - (size_t)(rest - s), ").", 2) != NULL;
}

/* Tidy one part of a symbol into name_buf (NUL-terminated), as
 * stackcollapse-perf.pl does with its default options. */
static void tidy_part(struct ps_reader *r, const char *s, size_t n, const struct frame *f)
{
	struct cp_buf *b = &r->name_buf;
	size_t start = b->len;
	cp_buf_reserve(b, n + 16); /* never NULL, even for an empty name */
	if (n == 9 && !memcmp(s, "[unknown]", 9)) {
		size_t ml = (size_t)(f->mod_end - f->mod);
		cp_buf_add_u8(b, '[');
		if (ml == 9 && !memcmp(f->mod, "[unknown]", 9)) {
			cp_buf_add(b, "unknown", 7);
		} else {
			const char *base = f->mod;
			for (const char *q = f->mod; q < f->mod_end; q++)
				if (*q == '/')
					base = q + 1;
			cp_buf_add(b, base, (size_t)(f->mod_end - base));
		}
		cp_buf_add_u8(b, ']');
	} else {
		cp_buf_add(b, s, n);
	}
	char *t = (char *)b->p + start;
	size_t tn = b->len - start;
	for (size_t i = 0; i < tn; i++)
		if (t[i] == ';')
			t[i] = ':';
	if (!go_name(t, tn)) {
		for (size_t i = 0; i < tn; i++) {
			if (t[i] != '(')
				continue;
			static const char anon[] = "anonymous namespace)";
			if (tn - i - 1 >= sizeof(anon) - 1 && !memcmp(t + i + 1, anon, sizeof(anon) - 1))
				continue;
			tn = i;
			break;
		}
	}
	size_t o = 0;
	for (size_t i = 0; i < tn; i++)
		if (t[i] != '"' && t[i] != '\'')
			t[o++] = t[i];
	tn = o;
	if (r->java && tn && t[0] == 'L' && memchr(t, '/', tn)) {
		memmove(t, t + 1, tn - 1);
		tn--;
	}
	b->len = start + tn;
	cp_buf_add_u8(b, 0);
}

static uint64_t parse_hex(const char *s, const char *e)
{
	uint64_t v = 0;
	for (; s < e; s++) {
		char c = *s;
		int d = is_dig(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return 0;
		v = v << 4 | (uint64_t)d;
	}
	return v;
}

/* Add a frame line's location to the current stack (nothing for skipped
 * frames). */
static void add_frame(struct ps_reader *r, const struct frame *f)
{
	const char *fs = f->func, *fe = f->func_end;
	/* "+0x<hex>" at the end is the symbol offset */
	const char *q = fe;
	while (q > fs && ((q[-1] >= '0' && q[-1] <= '9') || (q[-1] >= 'a' && q[-1] <= 'f')))
		q--;
	if (q < fe && q - fs >= 3 && q[-1] == 'x' && q[-2] == '0' && q[-3] == '+')
		fe = q - 3;
	if (fs < fe && *fs == '(')
		return;
	/* split at "->"; empty parts at the end are dropped (Perl's split) */
	r->name_buf.len = 0;
	r->part_off.n = 0;
	const char *ps = fs;
	size_t nparts = 0, keep = 0;
	for (;;) {
		const char *arrow = fe - ps >= 2 ? memmem(ps, (size_t)(fe - ps), "->", 2) : NULL;
		const char *pe = arrow ? arrow : fe;
		CP_VEC_PUSH(r->part_off, r->name_buf.len);
		tidy_part(r, ps, (size_t)(pe - ps), f);
		nparts++;
		if (pe > ps)
			keep = nparts;
		if (!arrow)
			break;
		ps = arrow + 2;
	}
	nparts = keep;
	if (!nparts)
		return;
	uint32_t mapping = mapping_of(r, f->mod, (size_t)(f->mod_end - f->mod));
	r->key.len = 0;
	cp_buf_add(&r->key, &mapping, sizeof(mapping));
	size_t names_end = nparts < r->part_off.n ? r->part_off.v[nparts] : r->name_buf.len;
	cp_buf_add(&r->key, r->name_buf.p, names_end);
	bool added;
	uint32_t id = cp_intern_add(&r->loc_keys, r->key.p, r->key.len, &added);
	if (added) {
		/* parts are outermost first; lines are innermost first */
		r->chain.n = 0;
		for (size_t i = nparts; i-- > 0;) {
			const char *nm = (const char *)r->name_buf.p + r->part_off.v[i];
			struct cp_profile_line l = {
				.function = cp_profile_add_function(r->p, nm, nm, "", 0),
				.inlined = i > 0,
			};
			CP_VEC_PUSH(r->chain, l);
		}
		uint32_t loc = cp_profile_add_location(r->p, mapping, parse_hex(f->pc, f->pc_end),
						       r->chain.v, (uint32_t)r->chain.n);
		CP_VEC_PUSH(r->loc_ids, loc);
	}
	CP_VEC_PUSH(r->stack, r->loc_ids.v[id]);
}

/* ---- samples ------------------------------------------------------------------- */

static uint32_t event_index(struct ps_reader *r, const char *s, size_t n)
{
	return cp_intern_add(&r->events, s, n, NULL);
}

static void finish_sample(struct ps_reader *r)
{
	if (!r->in_sample)
		return;
	if (!r->have_frames && r->tail_len) {
		struct frame f;
		if (match_frame(r->tail, r->tail + r->tail_len, &f))
			add_frame(r, &f);
	}
	r->cur.s.stack = cp_profile_add_stack(r->p, r->stack.v, (uint32_t)r->stack.n);
	CP_VEC_PUSH(r->samples, r->cur);
	r->in_sample = false;
	r->stack.n = 0;
}

/* "SECONDS.FRACTION:" -> ns */
static bool parse_time(const char *s, const char *e, uint64_t *ns)
{
	if (e - s < 2 || e[-1] != ':')
		return false;
	e--;
	const char *dot = memchr(s, '.', (size_t)(e - s));
	if (!dot || dot == s || dot + 1 == e)
		return false;
	for (const char *q = s; q < e; q++)
		if (q != dot && !is_dig(*q))
			return false;
	uint64_t sec = parse_u64(s, dot), frac = 0;
	int digits = 0;
	for (const char *q = dot + 1; q < e && digits < 9; q++, digits++)
		frac = frac * 10 + (uint64_t)(*q - '0');
	for (; digits < 9; digits++)
		frac *= 10;
	*ns = sec * 1000000000ull + frac;
	return true;
}

static void start_sample(struct ps_reader *r, const char *s, const char *e, const struct header *h)
{
	finish_sample(r);
	struct pending *c = &r->cur;
	memset(c, 0, sizeof(*c));
	c->s.comm = cp_profile_intern_n(r->p, h->comm, (size_t)(h->comm_end - h->comm));
	r->java = h->comm_end - h->comm >= 4 && !memcmp(h->comm, "java", 4);
	uint64_t n1 = parse_u64(h->num1, h->num1_end);
	uint64_t n2 = h->num2 ? parse_u64(h->num2, h->num2_end) : 0;
	if (n2) { /* "0" counts as absent, as in stackcollapse-perf.pl */
		c->s.pid = (uint32_t)n1;
		c->s.tid = (uint32_t)n2;
	} else {
		c->s.tid = (uint32_t)n1;
	}

	/* the other fields, token by token: [cpu] time: period event: */
	const char *ev = NULL, *ev_end = NULL, *per = NULL, *per_end = NULL;
	bool line_event = match_event(s, e, &ev, &ev_end, &per, &per_end);
	const char *tail = NULL;
	const char *tev = NULL, *tev_end = NULL, *tper = NULL, *tper_end = NULL;
	const char *t = h->rest;
	while (t < e) {
		while (t < e && is_sp(*t))
			t++;
		if (t == e)
			break;
		const char *te = t;
		while (te < e && !is_sp(*te))
			te++;
		uint64_t ns;
		if (*t == '[' && te[-1] == ']' && te - t > 2) {
			c->s.cpu = (uint32_t)parse_u64(t + 1, te - 1);
		} else if (!c->has_time && !tev && parse_time(t, te, &ns)) {
			c->has_time = true;
			c->s.time = ns;
		} else if (!tev && te[-1] != ':' && t < te && is_dig(*t) && !tper) {
			const char *q = t;
			while (q < te && is_dig(*q))
				q++;
			if (q != te)
				break;
			tper = t;
			tper_end = te;
		} else if (te[-1] == ':' && te - t >= 2) {
			tev = t;
			tev_end = te - 1;
			t = te;
			while (t < e && is_sp(*t))
				t++;
			tail = t;
			break;
		} else {
			break;
		}
		t = te;
	}
	if (line_event) {
		r->tail = NULL;
		r->tail_len = 0;
	} else {
		ev = tev;
		ev_end = tev_end;
		per = tper;
		per_end = tper_end;
		r->tail = tail ? tail : NULL;
		r->tail_len = tail ? (size_t)(e - tail) : 0;
		if (!tev) { /* no event field: the rest may be the frame */
			r->tail = t;
			r->tail_len = (size_t)(e - t);
		}
	}
	c->event = ev ? event_index(r, ev, (size_t)(ev_end - ev)) : event_index(r, "samples", 7);
	uint64_t period = per && per < per_end ? parse_u64(per, per_end) : 0;
	bool zero = per && per_end - per == 1 && *per == '0';
	c->value = !per || per == per_end || zero ? 1 : (int64_t)CP_MIN(period, (uint64_t)INT64_MAX);
	if (c->value > INT64_MAX - r->total) {
		r->overflow = true;
		return;
	}
	r->total += c->value;
	if (c->has_time && !r->have_first_time) {
		r->first_time = c->s.time;
		r->have_first_time = true;
	}
	r->in_sample = true;
	r->have_frames = false;
}

static void reader_release(struct ps_reader *r)
{
	cp_intern_release(&r->events);
	cp_intern_release(&r->dsos);
	cp_intern_release(&r->loc_keys);
	CP_VEC_FREE(r->dso_map);
	CP_VEC_FREE(r->loc_ids);
	CP_VEC_FREE(r->samples);
	CP_VEC_FREE(r->stack);
	CP_VEC_FREE(r->chain);
	CP_VEC_FREE(r->part_off);
	cp_buf_release(&r->key);
	cp_buf_release(&r->name_buf);
}

int cp_format_perfscript_read(const void *buf, size_t len, const char *name,
			      struct cp_profile **out, struct cp_error *err)
{
	*out = NULL;
	if (!name)
		name = "input";
	struct ps_reader r = { .name = name };
	cp_intern_init(&r.events);
	cp_intern_init(&r.dsos);
	cp_intern_init(&r.loc_keys);
	struct cp_profile *p = r.p = cp_profile_new();
	const char *s = buf, *end = s + len;
	size_t lineno = 0;
	int ret = 0;
	while (s < end) {
		lineno++;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end, *line = s;
		s = nl ? nl + 1 : end;
		if (le > line && le[-1] == '\r')
			le--;
		if (le > line && line[0] == '#')
			continue;
		if (le == line) { /* end of a sample */
			finish_sample(&r);
			continue;
		}
		struct header h;
		struct frame f;
		if (match_header(line, le, &h) || padded_header(line, le, &h)) {
			start_sample(&r, line, le, &h);
			if (r.overflow) {
				ret = line_error(err, name, lineno,
						 "periods add up to more than 2^63");
				break;
			}
			continue;
		}
		if (match_frame(line, le, &f) || frame_without_dso(line, le, &f)) {
			if (!r.in_sample) {
				ret = line_error(err, name, lineno, "stack frame without a sample header");
				break;
			}
			r.have_frames = true;
			add_frame(&r, &f);
			continue;
		}
		const char *q = line;
		while (q < le && is_sp(*q))
			q++;
		if (q == le)
			continue; /* blanks only: not the end of a sample */
		ret = line_error(err, name, lineno,
				 "expected a sample header 'comm pid ...' or a stack frame");
		break;
	}
	if (!ret)
		finish_sample(&r);
	if (!ret && !r.samples.n && len) {
		/* only comments: an empty profile is fine */
	}
	if (ret) {
		reader_release(&r);
		cp_profile_free(p);
		return ret;
	}
	size_t nev = r.events.n;
	for (size_t i = 0; i < nev; i++)
		cp_profile_add_value_type(p, cp_intern_get(&r.events, (uint32_t)i), "count");
	if (nev) {
		p->meta.default_type = cp_profile_intern(p, cp_intern_get(&r.events, 0));
		p->meta.event = p->meta.default_type;
	}
	int64_t *vals = cp_xcalloc(nev + 1, sizeof(*vals));
	uint64_t last = 0;
	for (size_t i = 0; i < r.samples.n; i++) {
		struct pending *ps = &r.samples.v[i];
		if (ps->has_time) {
			ps->s.time = ps->s.time >= r.first_time ? ps->s.time - r.first_time : 0;
			last = CP_MAX(last, ps->s.time);
		}
		vals[ps->event] = ps->value;
		cp_profile_add_sample(p, &ps->s, vals);
		vals[ps->event] = 0;
	}
	p->meta.duration_nanos = last;
	free(vals);
	reader_release(&r);
	*out = p;
	return 0;
}
