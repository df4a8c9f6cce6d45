/* view.c - filtered, weighted readings of a profile: frames, the top table
 * and the call tree.
 *
 * A view groups the samples that pass its filter by distinct stack (plus
 * comm/pid/tid/state when the top table is keyed by them) and expands each
 * distinct stack into frames once, caching the expansion per location and
 * per stack; the top table and the call tree then walk groups, not
 * samples.  This file does not read or write any file format and does not
 * print: lib/format renders what it computes.
 */
#include "profile/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_UNKNOWN_NAME "[unknown]"

/* Key of a distinct frame: function index or unknown-name id, plus the
 * mapping path (an interned pointer, so equal paths compare equal). */
struct frame_key {
	uint32_t function; /* CP_NONE for unsymbolized */
	uint32_t unknown;  /* unknown-name id when function is CP_NONE */
	const char *path;
};

/* Key of a sample group. */
struct group_key {
	uint32_t stack, pid, tid, pad;
	const char *comm;
	const char *state; /* interned in the view's states */
};

struct cp_view {
	const struct cp_profile *p;
	struct cp_view_opts o;
	uint32_t *pids, *tids;
	char **comms;
	uint32_t value_index;
	bool by_comm, by_pid, by_tid, by_state;
	int64_t total;
	uint64_t total_samples;

	CP_VEC(struct cp_view_group) groups;
	struct cp_intern group_index;
	struct cp_intern states;               /* owns the state texts of the groups */
	const char *on_state;                  /* cache: "on-cpu" in states */
	const char *last_syscall, *last_state; /* cache: the previous off-CPU sample's */

	CP_VEC(struct cp_view_frame) frames;
	struct cp_intern frame_index;
	struct cp_intern unknown_names; /* owns "module+0xADDR" strings */

	/* per location: expansion into loc_frames, start+1 (0 = not yet) */
	uint32_t *loc_start;
	uint32_t *loc_len;
	CP_VEC(struct cp_view_stack_frame) loc_frames;

	/* per stack: expansion into stack_frames, start+1 (0 = not yet) */
	uint32_t *stack_start;
	uint32_t *stack_len;
	CP_VEC(struct cp_view_stack_frame) stack_frames;
};

/* ---- keys and filters ---------------------------------------------------- */

static const struct {
	const char *name;
	enum cp_view_key key;
} key_names[] = {
	{ "comm", CP_VIEW_KEY_COMM },    { "pid", CP_VIEW_KEY_PID },
	{ "tid", CP_VIEW_KEY_TID },      { "module", CP_VIEW_KEY_MODULE },
	{ "dso", CP_VIEW_KEY_MODULE },   { "function", CP_VIEW_KEY_FUNCTION },
	{ "sym", CP_VIEW_KEY_FUNCTION }, { "srcline", CP_VIEW_KEY_SRCLINE },
	{ "state", CP_VIEW_KEY_STATE },
};

const char *cp_view_key_name(enum cp_view_key k)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(key_names); i++)
		if (key_names[i].key == k)
			return key_names[i].name;
	return "?";
}

int cp_view_parse_keys(const char *s, enum cp_view_key *keys, size_t *nkeys, struct cp_error *err)
{
	size_t n = 0;
	const char *p = s;
	for (;;) {
		size_t len = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < CP_ARRAY_SIZE(key_names); i++) {
			if (strlen(key_names[i].name) != len || strncmp(key_names[i].name, p, len))
				continue;
			for (size_t j = 0; j < n; j++)
				if (keys[j] == key_names[i].key)
					return cp_error_set(err, CP_E_USAGE,
							    "sort key '%.*s' given twice", (int)len,
							    p);
			keys[n++] = key_names[i].key;
			found = true;
			break;
		}
		if (!found)
			return cp_error_set(err, CP_E_USAGE,
					    "unknown sort key '%.*s' (supported: comm, pid, tid, "
					    "module, dso, function, sym, srcline, state)",
					    (int)len, p);
		if (!p[len])
			break;
		p += len + 1;
	}
	*nkeys = n;
	return 0;
}

int cp_view_parse_ids(const char *what, const char *const *strs, size_t n, uint32_t **out,
		      struct cp_error *err)
{
	*out = NULL;
	if (!n)
		return 0;
	uint32_t *ids = cp_xmalloc(n * sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		long v;
		if (cp_parse_long(strs[i], 0, UINT32_MAX, &v)) {
			free(ids);
			return cp_error_set(err, CP_E_USAGE, "bad %s '%s' (expected a number)",
					    what, strs[i]);
		}
		ids[i] = (uint32_t)v;
	}
	*out = ids;
	return 0;
}

uint32_t cp_view_default_value(const struct cp_profile *p)
{
	size_t n = p->value_types.n;
	if (!n)
		return CP_NONE;
	uint32_t d = p->meta.default_type ? cp_profile_value_index(p, p->meta.default_type)
					  : CP_NONE;
	if (d != CP_NONE)
		return d;
	if (!strcmp(p->value_types.v[n - 1].type, "cpu") ||
	    !strcmp(p->value_types.v[n - 1].type, "wall"))
		return (uint32_t)(n - 1);
	return 0;
}

bool cp_view_filter_empty(const struct cp_view_filter *f)
{
	return !f->npids && !f->ntids && !f->ncomms && !f->cpu_state && !f->user_only;
}

bool cp_view_sample_matches(const struct cp_view_filter *f, const struct cp_profile_sample *s)
{
	if (f->cpu_state == CP_VIEW_ON_CPU && (s->flags & CP_SAMPLE_OFFCPU))
		return false;
	if (f->cpu_state == CP_VIEW_OFF_CPU && !(s->flags & CP_SAMPLE_OFFCPU))
		return false;
	if (f->npids) {
		size_t i = 0;
		while (i < f->npids && f->pids[i] != s->pid)
			i++;
		if (i == f->npids)
			return false;
	}
	if (f->ntids) {
		size_t i = 0;
		while (i < f->ntids && f->tids[i] != s->tid)
			i++;
		if (i == f->ntids)
			return false;
	}
	if (f->ncomms) {
		const char *c = s->comm ? s->comm : "";
		size_t i = 0;
		while (i < f->ncomms && strcmp(f->comms[i], c))
			i++;
		if (i == f->ncomms)
			return false;
	}
	return true;
}

bool cp_view_filter_any(const struct cp_profile *p, const struct cp_view_filter *f)
{
	for (size_t i = 0; i < p->samples.n; i++)
		if (cp_view_sample_matches(f, &p->samples.v[i]))
			return true;
	return false;
}

const char *cp_view_sample_state(const struct cp_profile_sample *s, char *buf, size_t size)
{
	if (!(s->flags & CP_SAMPLE_OFFCPU))
		snprintf(buf, size, "on-cpu");
	else if (!s->syscall || !s->syscall[0])
		snprintf(buf, size, "off-cpu");
	else
		snprintf(buf, size, "off-cpu:%s", s->syscall);
	return buf;
}

/* ---- frames ----------------------------------------------------------------- */

static const char *mapping_path(const struct cp_profile *p, uint32_t mapping)
{
	if (mapping == CP_NONE || mapping >= p->mappings.n)
		return "";
	/* one "" for every pathless frame, so it is one identity */
	const char *path = p->mappings.v[mapping].path;
	return path && path[0] ? path : "";
}

static uint32_t frame_id(struct cp_view *v, uint32_t function, const char *unknown_name,
			 const char *path)
{
	struct frame_key k;
	memset(&k, 0, sizeof(k));
	k.function = function;
	k.unknown = CP_NONE;
	k.path = path;
	if (function == CP_NONE)
		k.unknown =
			cp_intern_add(&v->unknown_names, unknown_name, strlen(unknown_name), NULL);
	bool added;
	uint32_t id = cp_intern_add(&v->frame_index, &k, sizeof(k), &added);
	if (added) {
		struct cp_view_frame f = {
			.path = path,
			.module = path[0] ? cp_basename(path) : FRAME_UNKNOWN_NAME,
			.function = function,
		};
		if (function != CP_NONE) {
			const struct cp_profile_function *fn = &v->p->functions.v[function];
			f.name = fn->name[0] ? fn->name : fn->system_name;
		} else {
			f.name = cp_intern_get(&v->unknown_names, k.unknown);
		}
		CP_VEC_PUSH(v->frames, f);
	}
	return id;
}

/* The frame of a location without usable lines. */
static uint32_t unknown_frame(struct cp_view *v, uint32_t loc)
{
	const struct cp_profile *p = v->p;
	const char *path = loc == CP_NONE ? "" : mapping_path(p, p->locations.v[loc].mapping);
	char buf[512];
	if (!path[0])
		return frame_id(v, CP_NONE, FRAME_UNKNOWN_NAME, "");
	return frame_id(v, CP_NONE, cp_profile_unknown_name(p, loc, buf, sizeof(buf)), path);
}

static bool function_has_name(const struct cp_profile_function *fn)
{
	return (fn->name && fn->name[0]) || (fn->system_name && fn->system_name[0]);
}

/* A location in the kernel (its mapping says so, or is named like
 * perf's "[kernel.kallsyms]" and "[kernel.vmlinux]"). */
static bool kernel_location(const struct cp_profile *p, uint32_t loc)
{
	const struct cp_profile_location *l = &p->locations.v[loc];
	if (l->mapping == CP_NONE || l->mapping >= p->mappings.n)
		return false;
	const struct cp_profile_mapping *m = &p->mappings.v[l->mapping];
	return (m->flags & CP_MAP_KERNEL) || !strncmp(m->path, "[kernel", 7) ||
	       !strcmp(m->path, "[vmlinux]");
}

/* With user_only: whether the stack has a frame outside the kernel. */
static bool has_user_frame(const struct cp_profile *p, uint32_t stack)
{
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(p, stack, &n);
	for (uint32_t i = 0; i < n; i++)
		if (!kernel_location(p, locs[i]))
			return true;
	return false;
}

static void expand_location(struct cp_view *v, uint32_t loc)
{
	const struct cp_profile *p = v->p;
	const struct cp_profile_location *l = &p->locations.v[loc];
	const char *path = mapping_path(p, l->mapping);
	uint32_t start = (uint32_t)v->loc_frames.n;
	if (v->o.filter.user_only && kernel_location(p, loc)) {
		v->loc_start[loc] = start + 1;
		v->loc_len[loc] = 0;
		return;
	}
	uint32_t first = 0;
	if (v->o.no_inline && l->nlines)
		first = l->nlines - 1;
	for (uint32_t i = first; i < l->nlines; i++) {
		const struct cp_profile_line *ln = &p->lines.v[l->line_start + i];
		struct cp_view_stack_frame sf = {
			.loc = loc,
			.inlined = ln->inlined,
			.line = ln->line,
		};
		if (ln->function < p->functions.n &&
		    function_has_name(&p->functions.v[ln->function]))
			sf.frame = frame_id(v, ln->function, NULL, path);
		else
			sf.frame = unknown_frame(v, loc);
		CP_VEC_PUSH(v->loc_frames, sf);
	}
	if (!l->nlines) {
		struct cp_view_stack_frame sf = { .frame = unknown_frame(v, loc), .loc = loc };
		CP_VEC_PUSH(v->loc_frames, sf);
	}
	v->loc_start[loc] = start + 1;
	v->loc_len[loc] = (uint32_t)v->loc_frames.n - start;
}

const struct cp_view_stack_frame *cp_view_stack_frames(struct cp_view *v, uint32_t stack,
						       uint32_t *n)
{
	if (!v->stack_start[stack]) {
		uint32_t nl;
		const uint32_t *locs = cp_profile_stack_locs(v->p, stack, &nl);
		uint32_t start = (uint32_t)v->stack_frames.n;
		for (uint32_t i = 0; i < nl; i++) {
			uint32_t loc = locs[i];
			if (loc >= v->p->locations.n) {
				struct cp_view_stack_frame sf = {
					.frame = unknown_frame(v, CP_NONE),
					.loc = CP_NONE,
				};
				CP_VEC_PUSH(v->stack_frames, sf);
				continue;
			}
			if (!v->loc_start[loc])
				expand_location(v, loc);
			uint32_t len = v->loc_len[loc];
			CP_VEC_RESERVE(v->stack_frames, v->stack_frames.n + len);
			memcpy(v->stack_frames.v + v->stack_frames.n,
			       v->loc_frames.v + v->loc_start[loc] - 1,
			       len * sizeof(*v->loc_frames.v));
			v->stack_frames.n += len;
		}
		if (!nl) {
			/* an empty stack still carries weight: show it as unknown */
			struct cp_view_stack_frame sf = { .frame = unknown_frame(v, CP_NONE),
							  .loc = CP_NONE };
			CP_VEC_PUSH(v->stack_frames, sf);
		}
		v->stack_start[stack] = start + 1;
		v->stack_len[stack] = (uint32_t)v->stack_frames.n - start;
	}
	*n = v->stack_len[stack];
	return v->stack_frames.v + v->stack_start[stack] - 1;
}

const struct cp_view_frame *cp_view_frame(const struct cp_view *v, uint32_t id)
{
	return &v->frames.v[id];
}

uint32_t cp_view_find_frame(struct cp_view *v, const char *name, const char *module)
{
	for (size_t i = 0; i < v->frames.n; i++) {
		const struct cp_view_frame *f = &v->frames.v[i];
		if (!strcmp(f->name, name) && (!module || !strcmp(f->module, module)))
			return (uint32_t)i;
	}
	return CP_NONE;
}

/* ---- the view ------------------------------------------------------------ */

static void copy_filter(struct cp_view *v, const struct cp_view_filter *f)
{
	if (f->npids) {
		v->pids = cp_xmalloc(f->npids * sizeof(*v->pids));
		memcpy(v->pids, f->pids, f->npids * sizeof(*v->pids));
	}
	if (f->ntids) {
		v->tids = cp_xmalloc(f->ntids * sizeof(*v->tids));
		memcpy(v->tids, f->tids, f->ntids * sizeof(*v->tids));
	}
	if (f->ncomms) {
		v->comms = cp_xmalloc(f->ncomms * sizeof(*v->comms));
		for (size_t i = 0; i < f->ncomms; i++)
			v->comms[i] = cp_xstrdup(f->comms[i]);
	}
	v->o.filter.pids = v->pids;
	v->o.filter.tids = v->tids;
	v->o.filter.comms = (const char *const *)v->comms;
}

/* The view's copy of a sample's state text: equal texts, one pointer. */
static const char *group_state(struct cp_view *v, const struct cp_profile_sample *s)
{
	bool off = s->flags & CP_SAMPLE_OFFCPU;
	const char *sc = s->syscall ? s->syscall : "";
	if (!off && v->on_state)
		return v->on_state;
	if (off && v->last_state && sc == v->last_syscall)
		return v->last_state;
	char buf[256];
	cp_view_sample_state(s, buf, sizeof(buf));
	const char *st =
		cp_intern_get(&v->states, cp_intern_add(&v->states, buf, strlen(buf), NULL));
	if (off) {
		v->last_syscall = sc;
		v->last_state = st;
	} else {
		v->on_state = st;
	}
	return st;
}

static void group_samples(struct cp_view *v)
{
	const struct cp_profile *p = v->p;
	size_t nv = p->value_types.n;
	uint32_t vi = v->value_index;
	bool filtered = !cp_view_filter_empty(&v->o.filter);
	/* a sample of a pprof or folded input can stand for many: its
	 * "samples" count value says how many */
	uint32_t ci = cp_profile_value_index(p, "samples");
	if (ci != CP_NONE && strcmp(p->value_types.v[ci].unit, "count"))
		ci = CP_NONE;
	/* a hostile input's values are clamped so that no sum over its
	 * samples (groups, totals, tree nodes, table rows) can overflow; real
	 * profiles stay far below */
	int64_t lim = INT64_MAX / (int64_t)(p->samples.n + 1);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cp_profile_sample *s = &p->samples.v[i];
		if (s->stack >= p->stacks.n)
			continue;
		if (filtered && !cp_view_sample_matches(&v->o.filter, s))
			continue;
		if (v->o.filter.user_only && !has_user_frame(p, s->stack))
			continue;
		int64_t w = vi == CP_NONE ? 1 : p->values.v[i * nv + vi];
		w = w > lim ? lim : w < -lim ? -lim : w;
		struct group_key k;
		memset(&k, 0, sizeof(k));
		k.stack = s->stack;
		if (v->by_pid)
			k.pid = s->pid;
		if (v->by_tid)
			k.tid = s->tid;
		k.comm = v->by_comm && s->comm ? s->comm : "";
		k.state = v->by_state ? group_state(v, s) : "";
		bool added;
		uint32_t g = cp_intern_add(&v->group_index, &k, sizeof(k), &added);
		if (added) {
			struct cp_view_group ng = {
				.stack = k.stack,
				.pid = k.pid,
				.tid = k.tid,
				.comm = k.comm,
				.state = k.state,
			};
			CP_VEC_PUSH(v->groups, ng);
		}
		int64_t c = ci == CP_NONE ? 1 : p->values.v[i * nv + ci];
		uint64_t count = c > 0 ? (uint64_t)CP_MIN(c, lim) : 0;
		v->groups.v[g].weight += w;
		v->groups.v[g].samples += count;
		v->total += w;
		v->total_samples += count;
	}
}

struct cp_view *cp_view_new(const struct cp_profile *p, const struct cp_view_opts *o,
			    struct cp_error *err)
{
	static const struct cp_view_opts defaults = { .value_index = CP_NONE };
	if (!o)
		o = &defaults;
	uint32_t vi = o->value_index == CP_NONE ? cp_view_default_value(p) : o->value_index;
	if (vi != CP_NONE && vi >= p->value_types.n) {
		cp_error_set(err, CP_E_USAGE, "value index %u out of range (the profile has %zu)",
			     vi, p->value_types.n);
		return NULL;
	}
	if (o->nkeys > CP_VIEW_MAX_KEYS) {
		cp_error_set(err, CP_E_USAGE, "too many sort keys");
		return NULL;
	}
	struct cp_view *v = cp_xcalloc(1, sizeof(*v));
	v->p = p;
	v->o = *o;
	v->o.value_index = vi;
	v->value_index = vi;
	if (!v->o.nkeys) {
		v->o.keys[0] = CP_VIEW_KEY_FUNCTION;
		v->o.keys[1] = CP_VIEW_KEY_MODULE;
		v->o.nkeys = 2;
	}
	for (size_t i = 0; i < v->o.nkeys; i++) {
		v->by_comm |= v->o.keys[i] == CP_VIEW_KEY_COMM;
		v->by_pid |= v->o.keys[i] == CP_VIEW_KEY_PID;
		v->by_tid |= v->o.keys[i] == CP_VIEW_KEY_TID;
		v->by_state |= v->o.keys[i] == CP_VIEW_KEY_STATE;
	}
	copy_filter(v, &o->filter);
	cp_intern_init(&v->group_index);
	cp_intern_init(&v->states);
	cp_intern_init(&v->frame_index);
	cp_intern_init(&v->unknown_names);
	v->loc_start = cp_xcalloc(p->locations.n + 1, sizeof(uint32_t));
	v->loc_len = cp_xcalloc(p->locations.n + 1, sizeof(uint32_t));
	v->stack_start = cp_xcalloc(p->stacks.n + 1, sizeof(uint32_t));
	v->stack_len = cp_xcalloc(p->stacks.n + 1, sizeof(uint32_t));
	group_samples(v);
	return v;
}

void cp_view_free(struct cp_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->o.filter.ncomms; i++)
		free(v->comms[i]);
	free(v->comms);
	free(v->pids);
	free(v->tids);
	CP_VEC_FREE(v->groups);
	cp_intern_release(&v->group_index);
	cp_intern_release(&v->states);
	CP_VEC_FREE(v->frames);
	cp_intern_release(&v->frame_index);
	cp_intern_release(&v->unknown_names);
	free(v->loc_start);
	free(v->loc_len);
	CP_VEC_FREE(v->loc_frames);
	free(v->stack_start);
	free(v->stack_len);
	CP_VEC_FREE(v->stack_frames);
	free(v);
}

const struct cp_profile *cp_view_profile(const struct cp_view *v)
{
	return v->p;
}

const struct cp_view_opts *cp_view_options(const struct cp_view *v)
{
	return &v->o;
}

int64_t cp_view_total(const struct cp_view *v)
{
	return v->total;
}

uint64_t cp_view_total_samples(const struct cp_view *v)
{
	return v->total_samples;
}

const struct cp_view_group *cp_view_groups(const struct cp_view *v, size_t *n)
{
	*n = v->groups.n;
	return v->groups.v;
}

static bool below_limit(int64_t w, int64_t total, double limit)
{
	if (limit <= 0)
		return false;
	if (total == 0)
		return true;
	return (double)w * 100.0 / (double)total < limit;
}

/* ---- top table ----------------------------------------------------------- */

struct row_key {
	const char *comm, *state, *path, *file;
	int64_t line;
	uint32_t pid, tid, name, pad;
};

/* Name identity of a frame: function index, or (unknown names) past the
 * function range. */
static uint32_t frame_name_id(const struct cp_view *v, const struct cp_view_frame *f, uint32_t id)
{
	return f->function != CP_NONE ? f->function : (uint32_t)v->p->functions.n + id;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int row_cmp_keys(const struct cp_view_row *a, const struct cp_view_row *b,
			const struct cp_view_top *t)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		int c = 0;
		switch (t->keys[i]) {
		case CP_VIEW_KEY_COMM:
			c = cmp_str(a->comm, b->comm);
			break;
		case CP_VIEW_KEY_PID:
			c = (a->pid > b->pid) - (a->pid < b->pid);
			break;
		case CP_VIEW_KEY_TID:
			c = (a->tid > b->tid) - (a->tid < b->tid);
			break;
		case CP_VIEW_KEY_MODULE:
			c = cmp_str(a->module, b->module);
			break;
		case CP_VIEW_KEY_FUNCTION:
			c = cmp_str(a->name, b->name);
			break;
		case CP_VIEW_KEY_SRCLINE:
			c = cmp_str(a->srcline, b->srcline);
			break;
		case CP_VIEW_KEY_STATE:
			c = cmp_str(a->state, b->state);
			break;
		}
		if (c)
			return c;
	}
	return 0;
}

static int row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct cp_view_row *a = pa, *b = pb;
	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return row_cmp_keys(a, b, arg);
}

struct top_state {
	struct cp_view *v;
	struct cp_view_top *t;
	struct cp_intern index;
	CP_VEC(struct cp_view_row) rows;
	CP_VEC(uint32_t) seen; /* per row: last group that counted it, +1 */
	bool by_name, by_module, by_srcline;
	/* keyed only by function and module, a frame always maps to one row */
	bool per_frame;
	CP_VEC(uint32_t) frame_row; /* frame id -> row, CP_NONE unknown */
};

/* Where a frame occurrence is in the source: the file of its function. */
static const char *frame_file(const struct cp_view *v, const struct cp_view_stack_frame *sf)
{
	uint32_t fn = v->frames.v[sf->frame].function;
	return fn == CP_NONE ? "" : v->p->functions.v[fn].filename;
}

static const char *srcline_text(struct top_state *ts, const char *file, int64_t line)
{
	char buf[512];
	if (!file[0] || line <= 0)
		snprintf(buf, sizeof(buf), "[unknown]");
	else
		snprintf(buf, sizeof(buf), "%s:%lld", cp_basename(file), (long long)line);
	uint32_t id = cp_intern_add(&ts->t->strings_, buf, strlen(buf), NULL);
	return cp_intern_get(&ts->t->strings_, id);
}

/* The row of frame fid in group g; file/line are the srcline key. */
static uint32_t top_row(struct top_state *ts, const struct cp_view_group *g, uint32_t fid,
			const char *file, int64_t line)
{
	struct cp_view *v = ts->v;
	if (ts->per_frame && fid < ts->frame_row.n && ts->frame_row.v[fid] != CP_NONE)
		return ts->frame_row.v[fid];
	const struct cp_view_frame *f = &v->frames.v[fid];
	struct row_key k;
	memset(&k, 0, sizeof(k));
	k.comm = g->comm;
	k.state = g->state;
	k.pid = g->pid;
	k.tid = g->tid;
	if (ts->by_name)
		k.name = frame_name_id(v, f, fid);
	if (ts->by_module)
		k.path = f->path;
	if (ts->by_srcline) {
		k.file = file;
		k.line = line;
	}
	bool added;
	uint32_t r = cp_intern_add(&ts->index, &k, sizeof(k), &added);
	if (added) {
		struct cp_view_row row = {
			.comm = g->comm,
			.state = g->state,
			.pid = g->pid,
			.tid = g->tid,
			.name = ts->by_name ? f->name : "",
			.module = ts->by_module ? f->module : "",
			.srcline = ts->by_srcline ? srcline_text(ts, file, line) : "",
		};
		CP_VEC_PUSH(ts->rows, row);
		CP_VEC_PUSH(ts->seen, 0);
	}
	if (ts->per_frame) {
		while (ts->frame_row.n <= fid)
			CP_VEC_PUSH(ts->frame_row, CP_NONE);
		ts->frame_row.v[fid] = r;
	}
	return r;
}

/* Count group gi in row r's total, once per group. */
static void add_total(struct top_state *ts, uint32_t r, size_t gi, const struct cp_view_group *g)
{
	if (ts->seen.v[r] == gi + 1)
		return; /* recursion: a key counts once per stack */
	ts->seen.v[r] = (uint32_t)gi + 1;
	ts->rows.v[r].total += g->weight;
	ts->rows.v[r].total_samples += g->samples;
}

static void top_add_group(struct top_state *ts, size_t gi)
{
	struct cp_view *v = ts->v;
	const struct cp_view_group *g = &v->groups.v[gi];
	uint32_t n;
	const struct cp_view_stack_frame *fr = cp_view_stack_frames(v, g->stack, &n);
	for (uint32_t j = 0; j < n; j++)
		add_total(ts, top_row(ts, g, fr[j].frame, frame_file(v, &fr[j]), fr[j].line), gi,
			  g);
	/* self: the real function running, at the innermost source line */
	uint32_t s = 0;
	while (s < n && fr[s].inlined)
		s++;
	if (s == n)
		s = 0;
	uint32_t r = top_row(ts, g, fr[s].frame, frame_file(v, &fr[0]), fr[0].line);
	ts->rows.v[r].self += g->weight;
	ts->rows.v[r].self_samples += g->samples;
	add_total(ts, r, gi, g);
}

struct cp_view_top *cp_view_top(struct cp_view *v, double percent_limit)
{
	struct cp_view_top *t = cp_xcalloc(1, sizeof(*t));
	t->nkeys = v->o.nkeys;
	memcpy(t->keys, v->o.keys, sizeof(t->keys));
	t->total = v->total;
	t->total_samples = v->total_samples;
	cp_intern_init(&t->strings_);
	struct top_state ts;
	memset(&ts, 0, sizeof(ts));
	ts.v = v;
	ts.t = t;
	cp_intern_init(&ts.index);
	for (size_t i = 0; i < v->o.nkeys; i++) {
		ts.by_name |= v->o.keys[i] == CP_VIEW_KEY_FUNCTION;
		ts.by_module |= v->o.keys[i] == CP_VIEW_KEY_MODULE;
		ts.by_srcline |= v->o.keys[i] == CP_VIEW_KEY_SRCLINE;
	}
	ts.per_frame = !v->by_comm && !v->by_pid && !v->by_tid && !v->by_state && !ts.by_srcline;
	for (size_t gi = 0; gi < v->groups.n; gi++)
		top_add_group(&ts, gi);
	t->rows = cp_xcalloc(ts.rows.n + 1, sizeof(*t->rows));
	for (size_t i = 0; i < ts.rows.n; i++) {
		if (below_limit(ts.rows.v[i].total, v->total, percent_limit)) {
			t->hidden++;
			continue;
		}
		t->rows[t->nrows++] = ts.rows.v[i];
	}
	qsort_r(t->rows, t->nrows, sizeof(*t->rows), row_cmp, t);
	CP_VEC_FREE(ts.rows);
	CP_VEC_FREE(ts.seen);
	CP_VEC_FREE(ts.frame_row);
	cp_intern_release(&ts.index);
	return t;
}

void cp_view_top_free(struct cp_view_top *t)
{
	if (!t)
		return;
	cp_intern_release(&t->strings_);
	free(t->rows);
	free(t);
}

/* ---- call tree ----------------------------------------------------------- */

/* The tree is built top-down by partitioning: the groups that reach a node
 * are bucketed by their next frame (a counting sort over frame ids), and
 * only children above the limit are expanded further.  The cost is the
 * number of groups times the depth of the kept part of the tree, so a huge
 * tail of tiny, distinct stacks is never materialized. */
struct tree_build {
	struct cp_view *v;
	struct cp_view_tree *t;
	bool inverted;
	double limit;
	uint32_t *order;         /* group indices, partitioned in place */
	uint32_t *scratch;       /* same size, for the counting sort */
	uint32_t *count;         /* per frame id */
	uint32_t *gstart, *glen; /* per group: its frames in v->stack_frames */
	CP_VEC(uint32_t) touched;
	size_t nodes_cap;
};

/* A node waiting to be emitted: the groups order[begin, end) reach it. */
struct tree_item {
	uint32_t frame, depth, parent, begin, end;
	bool inlined;
	int64_t total;
	uint64_t samples;
};

/* A named vector type: partition() and tree_emit() pass it around. */
struct item_vec {
	struct tree_item *v;
	size_t n, cap;
};

static uint32_t frame_at(const struct tree_build *b, uint32_t g, uint32_t depth, bool *inlined)
{
	const struct cp_view_stack_frame *fr = b->v->stack_frames.v + b->gstart[g];
	uint32_t i = b->inverted ? depth : b->glen[g] - 1 - depth;
	*inlined = fr[i].inlined;
	return fr[i].frame;
}

static int item_cmp(const void *pa, const void *pb, void *arg)
{
	const struct cp_view *v = arg;
	const struct tree_item *a = pa, *b = pb;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	const struct cp_view_frame *fa = &v->frames.v[a->frame], *fb = &v->frames.v[b->frame];
	int c = strcmp(fa->name, fb->name);
	if (!c)
		c = strcmp(fa->module, fb->module);
	return c ? c : (a->frame > b->frame) - (a->frame < b->frame);
}

/* Bucket order[begin, end) by the frame at `depth` (groups whose stack
 * ends before it go first, their weight is the parent's self) and append
 * the children that pass the limit to kids, sorted.  Returns the self
 * weight and samples through *self / *self_samples. */
static void partition(struct tree_build *b, uint32_t begin, uint32_t end, uint32_t depth,
		      uint32_t parent, struct item_vec *kids, int64_t *self, uint64_t *self_samples)
{
	const struct cp_view_group *gs = b->v->groups.v;
	uint32_t nended = 0;
	bool inl;
	b->touched.n = 0;
	*self = 0;
	*self_samples = 0;
	for (uint32_t i = begin; i < end; i++) {
		uint32_t g = b->order[i];
		if (b->glen[g] <= depth) {
			nended++;
			*self += gs[g].weight;
			*self_samples += gs[g].samples;
			continue;
		}
		uint32_t f = frame_at(b, g, depth, &inl);
		if (!b->count[f]++)
			CP_VEC_PUSH(b->touched, f);
	}
	/* bucket starts: ended groups first, then frames in first-seen order */
	uint32_t pos = begin + nended, ended_pos = begin;
	size_t first_kid = kids->n;
	for (size_t k = 0; k < b->touched.n; k++) {
		uint32_t f = b->touched.v[k], n = b->count[f];
		struct tree_item it = { .frame = f,
					.depth = depth,
					.parent = parent,
					.begin = pos,
					.end = pos,
					.inlined = true };
		CP_VEC_PUSH(*kids, it);
		b->count[f] = (uint32_t)(kids->n - 1); /* now: index of its item */
		pos += n;
	}
	for (uint32_t i = begin; i < end; i++) {
		uint32_t g = b->order[i];
		if (b->glen[g] <= depth) {
			b->scratch[ended_pos++] = g;
			continue;
		}
		struct tree_item *it = &kids->v[b->count[frame_at(b, g, depth, &inl)]];
		b->scratch[it->end++] = g;
		it->total += gs[g].weight;
		it->samples += gs[g].samples;
		it->inlined &= inl;
	}
	memcpy(b->order + begin, b->scratch + begin, (end - begin) * sizeof(*b->order));
	for (size_t k = 0; k < b->touched.n; k++)
		b->count[b->touched.v[k]] = 0;
	/* drop the children below the limit, sort the rest */
	size_t w = first_kid;
	for (size_t k = first_kid; k < kids->n; k++) {
		if (below_limit(kids->v[k].total, b->t->total, b->limit))
			b->t->hidden++;
		else
			kids->v[w++] = kids->v[k];
	}
	kids->n = w;
	qsort_r(kids->v + first_kid, kids->n - first_kid, sizeof(*kids->v), item_cmp, b->v);
}

static void tree_emit(struct tree_build *b)
{
	struct cp_view_tree *t = b->t;
	struct item_vec work = { 0 }, kids = { 0 };
	int64_t self;
	uint64_t self_samples;
	partition(b, 0, (uint32_t)b->v->groups.n, 0, CP_NONE, &kids, &self, &self_samples);
	for (;;) {
		/* push in reverse so that the biggest child pops first */
		for (size_t k = kids.n; k-- > 0;)
			CP_VEC_PUSH(work, kids.v[k]);
		kids.n = 0;
		if (!work.n)
			break;
		struct tree_item it = work.v[--work.n];
		if (t->n + 1 > b->nodes_cap)
			cp_grow((void **)&t->nodes, sizeof(*t->nodes), t->n + 1, &b->nodes_cap);
		uint32_t idx = (uint32_t)t->n++;
		partition(b, it.begin, it.end, it.depth + 1, idx, &kids, &self, &self_samples);
		const struct cp_view_frame *f = &b->v->frames.v[it.frame];
		t->nodes[idx] = (struct cp_view_node){
			.frame = it.frame,
			.name = f->name,
			.module = f->module,
			.inlined = it.inlined,
			.parent = it.parent,
			.depth = it.depth,
			.total = it.total,
			.self = self,
			.total_samples = it.samples,
			.self_samples = self_samples,
		};
	}
	CP_VEC_FREE(work);
	CP_VEC_FREE(kids);
}

struct cp_view_tree *cp_view_tree(struct cp_view *v, bool inverted, double percent_limit)
{
	struct cp_view_tree *t = cp_xcalloc(1, sizeof(*t));
	t->inverted = inverted;
	t->total = v->total;
	t->total_samples = v->total_samples;
	size_t ng = v->groups.n;
	struct tree_build b = { .v = v, .t = t, .inverted = inverted, .limit = percent_limit };
	b.order = cp_xmalloc((ng + 1) * sizeof(uint32_t));
	b.scratch = cp_xmalloc((ng + 1) * sizeof(uint32_t));
	b.gstart = cp_xmalloc((ng + 1) * sizeof(uint32_t));
	b.glen = cp_xmalloc((ng + 1) * sizeof(uint32_t));
	/* expand every stack first: the frame array is stable afterwards */
	for (size_t g = 0; g < ng; g++) {
		uint32_t st = v->groups.v[g].stack;
		cp_view_stack_frames(v, st, &b.glen[g]);
		b.gstart[g] = v->stack_start[st] - 1;
		b.order[g] = (uint32_t)g;
	}
	b.count = cp_xcalloc(v->frames.n + 1, sizeof(uint32_t));
	tree_emit(&b);
	free(b.order);
	free(b.scratch);
	free(b.gstart);
	free(b.glen);
	free(b.count);
	CP_VEC_FREE(b.touched);
	return t;
}

void cp_view_tree_free(struct cp_view_tree *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t);
}

/* ---- unwinding statistics ---------------------------------------------------- */

bool cp_view_is_outermost_name(const char *name)
{
	static const char *const names[] = {
		"_start",
		"main",
		"__libc_start_main",
		"__libc_start_call_main",
		"start_thread",
		"clone",
		"clone3",
		"__clone",
		"__clone3",
		"thread_start",
	};
	for (size_t i = 0; i < CP_ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* Whether a stack's outermost frame (the real function of its last
 * location) is a process or thread start. */
static bool stack_reaches_start(const struct cp_profile *p, uint32_t stack)
{
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(p, stack, &n);
	if (!n || locs[n - 1] >= p->locations.n)
		return false;
	const struct cp_profile_location *l = &p->locations.v[locs[n - 1]];
	if (!l->nlines)
		return false;
	uint32_t f = p->lines.v[l->line_start + l->nlines - 1].function;
	if (f >= p->functions.n)
		return false;
	const struct cp_profile_function *fn = &p->functions.v[f];
	return cp_view_is_outermost_name(fn->name) || cp_view_is_outermost_name(fn->system_name);
}

void cp_view_stats(const struct cp_profile *p, struct cp_view_stats *st)
{
	memset(st, 0, sizeof(*st));
	/* per stack: 0 unknown, 1 no, 2 yes */
	uint8_t *reach = cp_xcalloc(p->stacks.n + 1, 1);
	struct cp_u64map pids, tids;
	cp_u64map_init(&pids);
	cp_u64map_init(&tids);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cp_profile_sample *s = &p->samples.v[i];
		st->samples++;
		bool complete = s->flags & CP_SAMPLE_COMPLETE;
		if (!complete && s->stack < p->stacks.n) {
			if (!reach[s->stack])
				reach[s->stack] = stack_reaches_start(p, s->stack) ? 2 : 1;
			complete = reach[s->stack] == 2;
		}
		st->complete += complete;
		st->spliced += !!(s->flags & CP_SAMPLE_SPLICED);
		st->offcpu += !!(s->flags & CP_SAMPLE_OFFCPU);
		if (s->flags & CP_SAMPLE_CUT) {
			st->cut++;
			st->cut_need_max = CP_MAX(st->cut_need_max, s->stack_need);
		}
		cp_u64map_put(&pids, s->pid, 1);
		cp_u64map_put(&tids, ((uint64_t)s->pid << 32) | s->tid, 1);
	}
	st->processes = pids.n;
	st->threads = tids.n;
	cp_u64map_release(&pids);
	cp_u64map_release(&tids);
	free(reach);
}
