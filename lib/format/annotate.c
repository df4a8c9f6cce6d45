/* annotate.c - one function's stored machine code, disassembled with
 * capstone, with the view's self samples per instruction and the stored
 * line rows interleaved as source lines (the model behind
 * `cprof report --annotate`), and its plain-text rendering.
 *
 * It picks the function (by name, among the modules where it has self
 * samples), explains in one line why it cannot annotate one, decodes the
 * bytes stored in the recording (never the binary on disk: that may have
 * changed or be gone) and reads source files only for the text of source
 * lines.  It does not draw anything interactive: the TUI renders the
 * model.
 */
#include "format/format.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* largest source file read for source lines */
#define SOURCE_MAX (64 << 20)

/* A source file's text, split into lines, read once per annotation. */
struct src_file {
	char *buf;               /* NULL when the file is not readable here */
	CP_VEC(uint32_t) starts; /* offset of each line's first byte */
	size_t len;
};

struct priv {
	struct cp_intern strings; /* texts, targets, source lines */
	struct cp_intern file_index;
	CP_VEC(struct src_file) files;
	CP_VEC(struct cp_annotate_line) lines;
};

static const char *own(struct priv *pv, const char *s, size_t len)
{
	return cp_intern_get(&pv->strings, cp_intern_add(&pv->strings, s, len, NULL));
}

/* ---- choosing the function ---------------------------------------------- */

static const char *map_path(const struct cp_profile *p, uint32_t mapping)
{
	if (mapping == CP_NONE || mapping >= p->mappings.n || !p->mappings.v[mapping].path)
		return "";
	return p->mappings.v[mapping].path;
}

static bool module_matches(const char *path, const char *module)
{
	if (!module || !module[0])
		return true;
	return !strcmp(path, module) || !strcmp(cp_basename(path), module);
}

static bool name_matches(const struct cp_profile_function *fn, const char *name)
{
	return (fn->name && !strcmp(fn->name, name)) ||
	       (fn->system_name && !strcmp(fn->system_name, name));
}

static const char *display_name(const struct cp_profile_function *fn)
{
	return fn->name && fn->name[0] ? fn->name : fn->system_name ? fn->system_name : "";
}

/* One (function, module) the name may mean, with its self weight. */
struct candidate {
	uint32_t function;
	const char *path;
	int64_t self;
	uint64_t self_samples;
};

/* The leaf location of a stack, or CP_NONE. */
static uint32_t leaf_location(const struct cp_profile *p, uint32_t stack)
{
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(p, stack, &n);
	if (!n || locs[0] >= p->locations.n)
		return CP_NONE;
	return locs[0];
}

/* The real function of a location (the last line of its inline chain). */
static uint32_t real_function(const struct cp_profile *p, uint32_t loc)
{
	const struct cp_profile_location *l = &p->locations.v[loc];
	if (!l->nlines)
		return CP_NONE;
	return p->lines.v[l->line_start + l->nlines - 1].function;
}

struct seen {
	bool real;    /* a location has the name as a real (not inlined) frame */
	bool inlined; /* ... as an inlined frame */
};

/* Whether the name occurs in the stacks of the view, as what. */
static void scan_occurrences(struct cp_view *v, const char *name, const char *module,
			     struct seen *seen)
{
	const struct cp_profile *p = cp_view_profile(v);
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	for (size_t i = 0; i < ng; i++) {
		uint32_t n;
		const uint32_t *locs = cp_profile_stack_locs(p, g[i].stack, &n);
		for (uint32_t j = 0; j < n; j++) {
			if (locs[j] >= p->locations.n)
				continue;
			const struct cp_profile_location *l = &p->locations.v[locs[j]];
			if (!module_matches(map_path(p, l->mapping), module))
				continue;
			for (uint32_t k = 0; k < l->nlines; k++) {
				const struct cp_profile_line *ln = &p->lines.v[l->line_start + k];
				if (ln->function >= p->functions.n ||
				    !name_matches(&p->functions.v[ln->function], name))
					continue;
				if (ln->inlined)
					seen->inlined = true;
				else
					seen->real = true;
			}
		}
	}
}

static bool profile_has_function(const struct cp_profile *p, const char *name)
{
	for (size_t i = 0; i < p->functions.n; i++)
		if (name_matches(&p->functions.v[i], name))
			return true;
	return false;
}

/* The candidate with the most self weight (then samples, then first seen). */
static bool choose(struct cp_view *v, const char *name, const char *module, struct candidate *out)
{
	const struct cp_profile *p = cp_view_profile(v);
	CP_VEC(struct candidate) cands = { 0 };
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	for (size_t i = 0; i < ng; i++) {
		uint32_t loc = leaf_location(p, g[i].stack);
		if (loc == CP_NONE)
			continue;
		uint32_t f = real_function(p, loc);
		if (f >= p->functions.n || !name_matches(&p->functions.v[f], name))
			continue;
		const char *path = map_path(p, p->locations.v[loc].mapping);
		if (!module_matches(path, module))
			continue;
		size_t c = 0;
		while (c < cands.n && !(cands.v[c].function == f && !strcmp(cands.v[c].path, path)))
			c++;
		if (c == cands.n) {
			struct candidate nc = { .function = f, .path = path };
			CP_VEC_PUSH(cands, nc);
		}
		cands.v[c].self += g[i].weight;
		cands.v[c].self_samples += g[i].samples;
	}
	bool found = false;
	for (size_t c = 0; c < cands.n; c++) {
		if (!cands.v[c].self_samples && !cands.v[c].self)
			continue;
		if (!found || cands.v[c].self > out->self ||
		    (cands.v[c].self == out->self && cands.v[c].self_samples > out->self_samples)) {
			*out = cands.v[c];
			found = true;
		}
	}
	CP_VEC_FREE(cands);
	return found;
}

/* For a name that matches no function exactly: the function of the view
 * whose display name contains it ("ns::mix_step(unsigned long)" for
 * "mix_step") with the most self weight, or NULL. */
static const char *suggestion(struct cp_view *v, const char *name)
{
	const struct cp_profile *p = cp_view_profile(v);
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	int64_t *self = cp_xcalloc(p->functions.n + 1, sizeof(*self));
	bool *in = cp_xcalloc(p->functions.n + 1, sizeof(*in));
	for (size_t i = 0; i < ng; i++) {
		uint32_t loc = leaf_location(p, g[i].stack);
		uint32_t f = loc == CP_NONE ? CP_NONE : real_function(p, loc);
		if (f < p->functions.n)
			self[f] += g[i].weight;
		uint32_t n;
		const uint32_t *locs = cp_profile_stack_locs(p, g[i].stack, &n);
		for (uint32_t j = 0; j < n; j++) {
			if (locs[j] >= p->locations.n)
				continue;
			const struct cp_profile_location *l = &p->locations.v[locs[j]];
			for (uint32_t k = 0; k < l->nlines; k++)
				if (p->lines.v[l->line_start + k].function < p->functions.n)
					in[p->lines.v[l->line_start + k].function] = true;
		}
	}
	const char *best = NULL;
	size_t bf = 0;
	for (size_t f = 0; f < p->functions.n; f++) {
		const char *dn = display_name(&p->functions.v[f]);
		if (!in[f] || !strstr(dn, name))
			continue;
		if (!best || self[f] > self[bf]) {
			best = dn;
			bf = f;
		}
	}
	free(self);
	free(in);
	return best;
}

static int no_self_error(struct cp_view *v, const char *name, const char *module,
			 struct cp_error *err)
{
	const struct cp_profile *p = cp_view_profile(v);
	struct seen seen = { false, false };
	scan_occurrences(v, name, module, &seen);
	bool in_module = module && module[0];
	if (!seen.real && !seen.inlined) {
		if (!profile_has_function(p, name)) {
			const char *near = suggestion(v, name);
			if (near)
				return cp_error_set(err, CP_E_NOENT,
						    "no function '%s' in the profile (did you mean "
						    "'%.300s'?)",
						    name, near);
			return cp_error_set(err, CP_E_NOENT, "no function '%s' in the profile",
					    name);
		}
		if (in_module)
			return cp_error_set(err, CP_E_NOENT, "'%s' has no samples in module '%s'",
					    name, module);
		return cp_error_set(err, CP_E_NOENT, "'%s' has no samples in the view", name);
	}
	if (!seen.real)
		return cp_error_set(
			err, CP_E_NOENT,
			"'%s' has no self samples: it only runs inlined into its callers", name);
	return cp_error_set(err, CP_E_NOENT, "'%s' has no self samples", name);
}

static int no_code_error(const struct cp_profile *p, const char *name, const char *path,
			 struct cp_error *err)
{
	const char *why;
	char buf[256];
	uint32_t flags = 0;
	for (size_t i = 0; i < p->mappings.n; i++)
		if (!strcmp(map_path(p, (uint32_t)i), path))
			flags |= p->mappings.v[i].flags;
	if (flags & CP_MAP_KERNEL) {
		why = "kernel code is not stored in recordings";
	} else if (flags & CP_MAP_JIT) {
		why = "JIT code is not stored in recordings";
	} else if (!p->meta.sampler || !p->meta.sampler[0]) {
		why = "the input is not a cprof recording (only those store machine code)";
	} else if (p->truncated && !p->code.n) {
		why = "the recording was cut short before machine code was stored";
	} else if (!p->meta.code_max && p->meta.code_skipped) {
		why = "the recording was made with --code-max 0 (no machine code stored)";
	} else if (!p->code.n && !p->meta.code_max) {
		/* pprof written from a recording keeps the sampler, not the code */
		why = "the input holds no machine code (only recordings made by cprof record "
		      "or attach do, not pprof, perf script or folded stacks)";
	} else if (p->meta.code_skipped) {
		snprintf(buf, sizeof(buf),
			 "its code was left out at the size cap (%" PRIu32 " sampled function%s "
			 "left out); record again with a larger --code-max",
			 p->meta.code_skipped, p->meta.code_skipped == 1 ? "" : "s");
		why = buf;
	} else {
		snprintf(buf, sizeof(buf), "'%.200s' was not readable when the recording ended",
			 path[0] ? path : "its binary");
		why = buf;
	}
	return cp_error_set(err, CP_E_UNSUPPORTED, "cannot annotate '%s': %s", name, why);
}

/* ---- source files ------------------------------------------------------- */

static struct src_file *source_file(struct priv *pv, const char *path)
{
	bool added;
	uint32_t id = cp_intern_add(&pv->file_index, path, strlen(path), &added);
	if (!added)
		return &pv->files.v[id];
	struct src_file f;
	memset(&f, 0, sizeof(f));
	struct stat st;
	/* a regular file of sane size only: never block on a FIFO or read a
	 * device because a line row named one */
	if (path[0] && !stat(path, &st) && S_ISREG(st.st_mode) && st.st_size <= SOURCE_MAX)
		f.buf = cp_read_file(path, &f.len);
	if (f.buf) {
		size_t pos = 0;
		while (pos < f.len) {
			CP_VEC_PUSH(f.starts, (uint32_t)pos);
			const char *nl = memchr(f.buf + pos, '\n', f.len - pos);
			if (!nl)
				break;
			pos = (size_t)(nl - f.buf) + 1;
		}
	}
	CP_VEC_PUSH(pv->files, f);
	return &pv->files.v[id];
}

/* The text of line `line` of a source file, blanks trimmed, or "". */
static const char *source_text(struct priv *pv, const char *path, int64_t line)
{
	struct src_file *f = source_file(pv, path);
	if (!f->buf || line < 1 || (uint64_t)line > f->starts.n)
		return "";
	size_t s = f->starts.v[line - 1];
	size_t e = (uint64_t)line < f->starts.n ? f->starts.v[line] : f->len;
	while (s < e && (f->buf[s] == ' ' || f->buf[s] == '\t'))
		s++;
	while (e > s && strchr(" \t\r\n\f\v", f->buf[e - 1]))
		e--;
	return own(pv, f->buf + s, e - s);
}

/* ---- disassembly -------------------------------------------------------- */

struct insn {
	uint64_t address;
	uint32_t size;
	const char *text;
	const char *target;
	int64_t weight;
	uint64_t samples;
};

/* One stored function of the annotated module. */
struct code_range {
	uint64_t address;
	uint64_t size;
	uint32_t function;
};

struct dis {
	const struct cp_profile *p;
	const struct cp_profile_code *code;
	const char *path;
	struct priv *pv;
	bool arm64;
	CP_VEC(struct insn) insns;
	CP_VEC(struct code_range) codes; /* the module's stored code, by address */
};

static int range_cmp(const void *x, const void *y)
{
	const struct code_range *a = x, *b = y;
	return a->address < b->address ? -1 : a->address > b->address;
}

/* The stored code of the annotated module, by address, for branch targets. */
static void module_code(struct dis *d)
{
	const struct cp_profile *p = d->p;
	for (size_t i = 0; i < p->code.n; i++) {
		const struct cp_profile_code *c = &p->code.v[i];
		if (c->function >= p->functions.n || strcmp(map_path(p, c->mapping), d->path))
			continue;
		struct code_range r = { c->address, c->size, c->function };
		CP_VEC_PUSH(d->codes, r);
	}
	qsort(d->codes.v, d->codes.n, sizeof(*d->codes.v), range_cmp);
}

/* The name of the stored function of the same module whose code holds
 * addr: "f", or "f+0x12"; "" when none. */
static const char *target_name(struct dis *d, uint64_t addr)
{
	const struct cp_profile *p = d->p;
	size_t lo = 0, hi = d->codes.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->codes.v[mid].address <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return "";
	const struct code_range *c = &d->codes.v[lo - 1];
	if (addr - c->address >= c->size)
		return "";
	const struct cp_profile_function *f = &p->functions.v[c->function];
	const char *fn = display_name(f);
	if (addr == c->address)
		return own(d->pv, fn, strlen(fn));
	char buf[512];
	int n;
	const char *plus = strrchr(fn, '+');
	if ((f->flags & CP_FUNC_UNNAMED) && plus) /* "lib.so+0x1250": the module's own offset */
		n = snprintf(buf, sizeof(buf), "%.*s+0x%" PRIx64, (int)(plus - fn), fn, addr);
	else
		n = snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, fn, addr - c->address);
	return own(d->pv, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static bool arm64_branch(const char *m)
{
	static const char *const names[] = { "b", "bl", "cbz", "cbnz", "tbz", "tbnz" };
	for (size_t i = 0; i < CP_ARRAY_SIZE(names); i++)
		if (!strcmp(m, names[i]))
			return true;
	return !strncmp(m, "b.", 2);
}

/* The direct branch target of an instruction, if it has one. */
/* capstone is loaded the first time code is disassembled (dlopen): the
 * commands that never annotate, a long-running cprof agent above all, do
 * without the 3 MB its tables take once relocated. */
static struct {
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*option)(csh, cs_opt_type, size_t);
	cs_insn *(*alloc)(csh);
	bool (*disasm_iter)(csh, const uint8_t **, size_t *, uint64_t *, cs_insn *);
	void (*free)(cs_insn *, size_t);
	cs_err (*close)(csh *);
	const char *(*strerror)(cs_err);
	bool (*insn_group)(csh, const cs_insn *, unsigned int);
} cs;
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;
static char cs_why[300];

static void cs_load(void)
{
	char name[32];
	snprintf(name, sizeof(name), "libcapstone.so.%d", CS_API_MAJOR);
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(cs_why, sizeof(cs_why), "%s (install libcapstone%d)", dlerror(), CS_API_MAJOR);
		return;
	}
	static const char *const names[] = { "cs_open",	 "cs_option", "cs_malloc",   "cs_disasm_iter",
					     "cs_free",	 "cs_close",  "cs_strerror", "cs_insn_group" };
	void **slot = (void **)&cs;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!(slot[i] = dlsym(h, names[i]))) {
			snprintf(cs_why, sizeof(cs_why), "%s has no %s", name, names[i]);
			cs.open = NULL;
			return;
		}
}

static bool branch_target(struct dis *d, csh h, const cs_insn *in, uint64_t *addr)
{
	if (!in->detail)
		return false;
	if (d->arm64) {
		if (!arm64_branch(in->mnemonic))
			return false;
		const cs_arm64 *a = &in->detail->arm64;
		for (int i = a->op_count - 1; i >= 0; i--) {
			if (a->operands[i].type == ARM64_OP_IMM) {
				*addr = (uint64_t)a->operands[i].imm;
				return true;
			}
		}
		return false;
	}
	if (!cs.insn_group(h, in, CS_GRP_CALL) && !cs.insn_group(h, in, CS_GRP_JUMP))
		return false;
	const cs_x86 *x = &in->detail->x86;
	if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return false;
	*addr = (uint64_t)x->operands[0].imm;
	return true;
}

static int disassemble(struct dis *d, const char *arch, const char *name, struct cp_error *err)
{
	csh h;
	cs_arch ca = d->arm64 ? CS_ARCH_ARM64 : CS_ARCH_X86;
	cs_mode cm = d->arm64 ? CS_MODE_LITTLE_ENDIAN : CS_MODE_64;
	pthread_once(&cs_once, cs_load);
	if (!cs.open)
		return cp_error_set(err, CP_E_UNSUPPORTED, "cannot disassemble %s code of '%s': %s",
				    arch, name, cs_why);
	cs_err e = cs.open(ca, cm, &h);
	if (e != CS_ERR_OK)
		return cp_error_set(err, CP_E_UNSUPPORTED, "cannot disassemble %s code of '%s': %s",
				    arch, name, cs.strerror(e));
	cs.option(h, CS_OPT_DETAIL, CS_OPT_ON);
	module_code(d);
	cs_insn *in = cs.alloc(h);
	const uint8_t *bytes = d->p->code_bytes.v + d->code->bytes_start;
	const uint8_t *cur = bytes;
	size_t left = d->code->size;
	uint64_t addr = d->code->address;
	while (left) {
		struct insn ni;
		memset(&ni, 0, sizeof(ni));
		ni.address = addr;
		ni.target = "";
		if (cs.disasm_iter(h, &cur, &left, &addr, in)) {
			char buf[256];
			int n = snprintf(buf, sizeof(buf), "%s%s%s", in->mnemonic,
					 in->op_str[0] ? " " : "", in->op_str);
			ni.size = in->size;
			ni.text = own(d->pv, buf,
				      (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
			uint64_t t;
			if (branch_target(d, h, in, &t))
				ni.target = target_name(d, t);
		} else {
			/* undecodable: one byte on x86, one word on AArch64 */
			uint32_t sz = d->arm64 ? 4 : 1;
			if (sz > left)
				sz = (uint32_t)left;
			ni.size = sz;
			ni.text = "(bad)";
			cur += sz;
			left -= sz;
			addr += sz;
		}
		CP_VEC_PUSH(d->insns, ni);
	}
	cs.free(in, 1);
	cs.close(&h);
	return 0;
}

/* The instruction holding addr (binary search), or SIZE_MAX. */
static size_t find_insn(const struct dis *d, uint64_t addr)
{
	size_t lo = 0, hi = d->insns.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->insns.v[mid].address <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return SIZE_MAX;
	const struct insn *in = &d->insns.v[lo - 1];
	return addr - in->address < in->size ? lo - 1 : SIZE_MAX;
}

/* Spread the view's self samples over the instructions. */
static void add_weights(struct dis *d, struct cp_view *v, uint32_t function, struct cp_annotate *a)
{
	const struct cp_profile *p = d->p;
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	for (size_t i = 0; i < ng; i++) {
		uint32_t loc = leaf_location(p, g[i].stack);
		if (loc == CP_NONE)
			continue;
		const struct cp_profile_location *l = &p->locations.v[loc];
		if (strcmp(map_path(p, l->mapping), d->path))
			continue;
		size_t k = SIZE_MAX;
		if (l->address >= d->code->address && l->address - d->code->address < d->code->size)
			k = find_insn(d, l->address);
		if (k != SIZE_MAX) {
			d->insns.v[k].weight += g[i].weight;
			d->insns.v[k].samples += g[i].samples;
			a->total += g[i].weight;
			a->total_samples += g[i].samples;
		} else if (real_function(p, loc) == function) {
			a->outside += g[i].weight;
			a->outside_samples += g[i].samples;
		}
	}
}

/* The stored row covering addr (the last one at or before it), or NULL. */
static const struct cp_profile_code_line *row_at(const struct dis *d, uint64_t addr)
{
	const struct cp_profile_code_line *rows = d->p->code_lines.v + d->code->line_start;
	size_t lo = 0, hi = d->code->nlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rows[mid].address <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &rows[lo - 1] : NULL;
}

/* Build the lines: a SOURCE line heading each run of instructions with
 * the same known (file, line), then the instructions. */
static void build_lines(struct dis *d, struct cp_annotate *a)
{
	struct priv *pv = d->pv;
	const char *pfile = NULL;
	int64_t pline = 0;
	size_t src = SIZE_MAX;
	for (size_t i = 0; i < d->insns.n; i++) {
		const struct insn *in = &d->insns.v[i];
		const struct cp_profile_code_line *r = row_at(d, in->address);
		int64_t line = r ? r->line : 0;
		const char *file = line && r->file ? r->file : "";
		if (!line) {
			src = SIZE_MAX;
		} else if (src == SIZE_MAX || line != pline || strcmp(file, pfile)) {
			struct cp_annotate_line s = {
				.kind = CP_ANNOTATE_SOURCE,
				.address = in->address,
				.text = source_text(pv, file, line),
				.file = file,
				.line = line,
				.target = "",
			};
			CP_VEC_PUSH(pv->lines, s);
			src = pv->lines.n - 1;
		}
		pfile = file;
		pline = line;
		struct cp_annotate_line l = {
			.kind = CP_ANNOTATE_INSN,
			.address = in->address,
			.text = in->text,
			.file = file,
			.line = line,
			.target = in->target,
			.weight = in->weight,
			.samples = in->samples,
		};
		CP_VEC_PUSH(pv->lines, l);
		if (src != SIZE_MAX) {
			pv->lines.v[src].weight += in->weight;
			pv->lines.v[src].samples += in->samples;
		}
	}
	a->lines = pv->lines.v;
	a->n = pv->lines.n;
}

static int hot_cmp(const void *x, const void *y)
{
	const struct cp_annotate_line *a = *(const struct cp_annotate_line *const *)x;
	const struct cp_annotate_line *b = *(const struct cp_annotate_line *const *)y;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	return a < b ? -1 : a > b;
}

static void find_hot(struct cp_annotate *a)
{
	bool any = false;
	a->hottest = 0;
	const struct cp_annotate_line **hot = cp_xcalloc(a->n + 1, sizeof(*hot));
	for (size_t i = 0; i < a->n; i++) {
		const struct cp_annotate_line *l = &a->lines[i];
		if (l->kind != CP_ANNOTATE_INSN)
			continue;
		if (!any || l->weight > a->lines[a->hottest].weight)
			a->hottest = i;
		any = true;
		if (l->weight > 0)
			hot[a->nhot++] = l;
	}
	qsort(hot, a->nhot, sizeof(*hot), hot_cmp);
	a->hot = cp_xcalloc(a->nhot + 1, sizeof(*a->hot));
	for (size_t i = 0; i < a->nhot; i++)
		a->hot[i] = (size_t)(hot[i] - a->lines);
	free(hot);
}

/* ---- the API ---------------------------------------------------------- */

static int arch_of(const char *arch, bool *arm64, const char **name, const char *fn,
		   struct cp_error *err)
{
	if (!arch || !arch[0] || !strcmp(arch, "x86_64")) {
		*arm64 = false;
		*name = "x86_64";
	} else if (!strcmp(arch, "aarch64")) {
		*arm64 = true;
		*name = "aarch64";
	} else {
		return cp_error_set(err, CP_E_UNSUPPORTED, "cannot disassemble %s code of '%s'",
				    arch, fn);
	}
	return 0;
}

struct cp_annotate *cp_annotate_new(struct cp_view *v, const char *name, const char *module,
				    struct cp_error *err)
{
	const struct cp_profile *p = cp_view_profile(v);
	if (!name || !name[0]) {
		cp_error_set(err, CP_E_USAGE, "no function name to annotate");
		return NULL;
	}
	struct candidate c = { .function = CP_NONE, .path = "" };
	if (!choose(v, name, module, &c)) {
		no_self_error(v, name, module, err);
		return NULL;
	}
	const struct cp_profile_code *code = cp_profile_find_code(p, c.function, c.path);
	if (!code) {
		no_code_error(p, name, c.path, err);
		return NULL;
	}
	struct dis d = { .p = p, .code = code, .path = c.path };
	const char *arch = "";
	if (arch_of(p->meta.arch, &d.arm64, &arch, name, err))
		return NULL;
	if (code->bytes_start + code->size > p->code_bytes.n ||
	    code->line_start + (uint64_t)code->nlines > p->code_lines.n) {
		cp_error_set(err, CP_E_FORMAT, "stored machine code of '%s' is out of range", name);
		return NULL;
	}
	struct cp_annotate *a = cp_xcalloc(1, sizeof(*a));
	struct priv *pv = cp_xcalloc(1, sizeof(*pv));
	cp_intern_init(&pv->strings);
	cp_intern_init(&pv->file_index);
	a->priv_ = pv;
	d.pv = pv;
	if (disassemble(&d, arch, name, err)) {
		CP_VEC_FREE(d.insns);
		CP_VEC_FREE(d.codes);
		cp_annotate_free(a);
		return NULL;
	}
	a->function = display_name(&p->functions.v[c.function]);
	a->module = c.path[0] ? cp_basename(c.path) : "[unknown]";
	a->arch = arch;
	a->start = code->address;
	a->size = code->size;
	a->view_total = cp_view_total(v);
	add_weights(&d, v, c.function, a);
	build_lines(&d, a);
	find_hot(a);
	CP_VEC_FREE(d.insns);
	CP_VEC_FREE(d.codes);
	return a;
}

void cp_annotate_free(struct cp_annotate *a)
{
	if (!a)
		return;
	struct priv *pv = a->priv_;
	if (pv) {
		for (size_t i = 0; i < pv->files.n; i++) {
			free(pv->files.v[i].buf);
			CP_VEC_FREE(pv->files.v[i].starts);
		}
		CP_VEC_FREE(pv->files);
		CP_VEC_FREE(pv->lines);
		cp_intern_release(&pv->strings);
		cp_intern_release(&pv->file_index);
		free(pv);
	}
	free(a->hot);
	free(a);
}

/* ---- text ------------------------------------------------------------- */

static double pct(int64_t w, int64_t total)
{
	return total ? (double)w * 100.0 / (double)total : 0.0;
}

int cp_format_annotate_text(FILE *out, const struct cp_annotate *a, const char *what,
			    struct cp_error *err)
{
	fprintf(out,
		"# annotate: %s (%s), 0x%" PRIx64 "-0x%" PRIx64 ", %" PRIu64
		" sample%s (%.2f%% of all)\n",
		a->function, a->module, a->start, a->start + a->size, a->total_samples,
		a->total_samples == 1 ? "" : "s", pct(a->total, a->view_total));
	if (a->outside_samples || a->outside)
		fprintf(out, "# outside the stored code: %" PRIu64 " sample%s (%.2f%% of all)\n",
			a->outside_samples, a->outside_samples == 1 ? "" : "s",
			pct(a->outside, a->view_total));
	fprintf(out, "%8s %8s %8s  %s\n", "Percent", "Samples", "Address", "Instruction");
	for (size_t i = 0; i < a->n; i++) {
		const struct cp_annotate_line *l = &a->lines[i];
		if (l->kind == CP_ANNOTATE_SOURCE) {
			fprintf(out, "%27s %s:%" PRId64 "%s%s\n", "",
				l->file[0] ? cp_basename(l->file) : "??", l->line,
				l->text[0] ? "  " : "", l->text);
			continue;
		}
		char p[16] = "", s[24] = "";
		if (l->weight)
			snprintf(p, sizeof(p), "%.2f", pct(l->weight, a->total));
		if (l->samples)
			snprintf(s, sizeof(s), "%" PRIu64, l->samples);
		fprintf(out, "%c%7s %8s %8" PRIx64 "  %s", i == a->hottest && a->nhot ? '>' : ' ',
			p, s, l->address, l->text);
		if (l->target[0])
			fprintf(out, "  <%s>", l->target);
		fputc('\n', out);
	}
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}
