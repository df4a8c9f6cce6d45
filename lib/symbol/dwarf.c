/* dwarf.c - a module's DWARF index: per compile unit, lazily on its first
 * hit, the function and inlined-subroutine tree is flattened into sorted
 * "innermost function" segments and the line table (decoded by lines.c)
 * into sorted rows, so a lookup is a few searches and never walks DIEs.
 * The CU search order and the choice of the smallest range follow bfd's
 * dwarf2.c, which `cprof symbolize` reproduces.
 *
 * It does not name frames from ELF symbols (lookup.c, elfsym.c).
 */
#include "symbol/symbol.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/symbol-int.h"


/* Sorted keys with a sample of every KEY_BLOCK-th one on top: a search
 * touches the small top array and one block, not log2(n) cache lines. */
#define KEY_BLOCK 16
struct keyidx {
	uint64_t *keys, *top;
	size_t n, ntop;
};

/* [lo, hi) -> innermost function */
struct dw_seg {
	uint64_t lo, hi;
	int32_t func;
};

struct dw_cu {
	Dwarf_Off off;
	bool loaded;
	bool c_names; /* DW_AT_name counts as a linkage name (C, asm, Fortran...) */
	struct dw_func *funcs;
	size_t nfuncs;
	struct dw_seg *segs;
	size_t nsegs;
	struct dw_row *rows;
	size_t nrows;
	/* search keys apart from the records: denser in cache */
	struct keyidx seg_hi, row_addr;
	char **owned; /* file names joined with the compilation directory */
	size_t nowned;
};

/* What a DIE says about a function's name, kept per DIE (keyed by its
 * position in the section) so that the many inlined copies of a function
 * follow their abstract_origin chain without asking libdw again. */
struct die_rec {
	const char *linkage, *name;
	int64_t decl_line;
	int32_t origin, spec; /* record indexes, -1 none */
};

struct dw_cu_range {
	uint64_t lo, hi;
	uint32_t cu;
};

struct dw_index {
	struct dw_cu *cus;
	size_t ncus;
	struct dw_cu_range *ranges; /* from the CU DIEs */
	size_t nranges;
	/* line sequences of the CUs loaded so far: bfd counts them as the
	 * CU's ranges once it has read the line table */
	CP_VEC(struct dw_cu_range) sranges;
	CP_VEC(uint32_t) rangeless; /* CUs without DIE ranges, in order */
	const uint8_t *line_sec; /* .debug_line, decompressed */
	size_t line_size;
	struct sym_line_scratch scratch;
	struct sym_str_secs strs;  /* .debug_str, .debug_line_str */
	struct cp_u64map die_recs; /* DIE address -> index in recs */
	CP_VEC(struct die_rec) recs;
};

static struct dw_index *index_of(struct cp_module *m)
{
	if (!m->dwx) {
		m->dwx = cp_xcalloc(1, sizeof(*m->dwx));
		cp_u64map_init(&m->dwx->die_recs);
	}
	return m->dwx;
}

void sym_dwarf_release(struct cp_module *m)
{
	if (m->dwx) {
		struct dw_index *x = m->dwx;
		for (size_t i = 0; i < x->ncus; i++) {
			free(x->cus[i].funcs);
			free(x->cus[i].segs);
			free(x->cus[i].rows);
			free(x->cus[i].seg_hi.keys);
			free(x->cus[i].seg_hi.top);
			free(x->cus[i].row_addr.keys);
			free(x->cus[i].row_addr.top);
			for (size_t j = 0; j < x->cus[i].nowned; j++)
				free(x->cus[i].owned[j]);
			free(x->cus[i].owned);
		}
		free(x->cus);
		free(x->ranges);
		CP_VEC_FREE(x->sranges);
		CP_VEC_FREE(x->scratch.rows);
		CP_VEC_FREE(x->scratch.seqs);
		CP_VEC_FREE(x->rangeless);
		cp_u64map_release(&x->die_recs);
		CP_VEC_FREE(x->recs);
		free(x);
		m->dwx = NULL;
	}
	if (m->dw) {
		dwarf_end(m->dw);
		m->dw = NULL;
	}
}

/* ---- DWARF index --------------------------------------------------------- */

static bool lang_c_names(int lang)
{
	switch (lang) {
	case DW_LANG_C89:
	case DW_LANG_C:
	case DW_LANG_C99:
	case DW_LANG_C11:
	case DW_LANG_Cobol74:
	case DW_LANG_Cobol85:
	case DW_LANG_Fortran77:
	case DW_LANG_Fortran90:
	case DW_LANG_Fortran95:
	case DW_LANG_Fortran03:
	case DW_LANG_Fortran08:
	case DW_LANG_Pascal83:
	case DW_LANG_Modula2:
	case DW_LANG_Mips_Assembler:
		return true;
	default:
		return false;
	}
}

static int cmp_cu_range(const void *a, const void *b)
{
	const struct dw_cu_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->cu < y->cu ? -1 : x->cu > y->cu;
}

/* A section's bytes, decompressed (libdw did that for the sections it
 * loaded; we do it for the rest). */
static const uint8_t *section_data(Elf *elf, const char *name, size_t *size)
{
	GElf_Shdr sh;
	Elf_Scn *scn = sym_find_scn(elf, name, &sh);
	*size = 0;
	if (!scn || sh.sh_type == SHT_NOBITS)
		return NULL;
	if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return NULL;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return NULL;
	*size = d->d_size;
	return d->d_buf;
}

void sym_dwarf_load(struct cp_module *m)
{
	m->dw_tried = true;
	Elf *elf = sym_debug_elf(m);
	if (!elf)
		return;
	m->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!m->dw) {
		cp_log(CP_LOG_DEBUG, "'%s': no usable DWARF: %s", m->path, dwarf_errmsg(-1));
		return;
	}
	struct dw_index *x = index_of(m);
	x->line_sec = section_data(elf, ".debug_line", &x->line_size);
	x->strs.str = section_data(elf, ".debug_str", &x->strs.str_size);
	x->strs.line_str = section_data(elf, ".debug_line_str", &x->strs.line_str_size);
	CP_VEC(struct dw_cu) cus = { 0 };
	CP_VEC(struct dw_cu_range) rs = { 0 };
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_next_unit(m->dw, off, &next, &hsize, NULL, NULL, NULL, NULL, NULL, NULL) ==
	       0) {
		Dwarf_Die cudie;
		if (dwarf_offdie(m->dw, off + hsize, &cudie)) {
			int tag = dwarf_tag(&cudie);
			if (tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit) {
				struct dw_cu cu = { 0 };
				cu.off = off + hsize;
				uint32_t ci = (uint32_t)cus.n;
				Dwarf_Addr base, s, e;
				ptrdiff_t ro = 0;
				size_t before = rs.n;
				Dwarf_Attribute a;
				/* a lone DW_AT_low_pc is no range for bfd */
				if (dwarf_attr(&cudie, DW_AT_ranges, &a) ||
				    dwarf_attr(&cudie, DW_AT_high_pc, &a)) {
					while ((ro = dwarf_ranges(&cudie, ro, &base, &s, &e)) > 0) {
						if (e <= s)
							continue;
						struct dw_cu_range r = { s, e, ci };
						CP_VEC_PUSH(rs, r);
					}
				}
				if (rs.n == before)
					CP_VEC_PUSH(x->rangeless, ci);
				CP_VEC_PUSH(cus, cu);
			}
		}
		off = next;
	}
	if (rs.n)
		qsort(rs.v, rs.n, sizeof(*rs.v), cmp_cu_range);
	x->cus = cus.v;
	x->ncus = cus.n;
	x->ranges = rs.v;
	x->nranges = rs.n;
}

struct rng {
	uint64_t lo, hi;
	int32_t func;
	uint32_t order;
};

struct seg_vec {
	struct dw_seg *v;
	size_t n, cap;
};

struct walk {
	struct dw_index *x;
	struct dw_cu *cu;
	size_t nfiles;
	const char **names; /* file table, joined with the comp dir as bfd does */
	CP_VEC(struct dw_func) funcs;
	CP_VEC(struct rng) rngs;
};

struct die_attrs {
	struct die_rec r;
	Dwarf_Attribute origin, spec;
	bool has_origin, has_spec, has_call_file, has_call_line;
	Dwarf_Word call_file, call_line;
};

static int collect_attr(Dwarf_Attribute *a, void *arg)
{
	struct die_attrs *d = arg;
	Dwarf_Word w;
	switch (dwarf_whatattr(a)) {
	case DW_AT_name:
		d->r.name = dwarf_formstring(a);
		break;
	case DW_AT_linkage_name:
	case DW_AT_MIPS_linkage_name:
		d->r.linkage = dwarf_formstring(a);
		break;
	case DW_AT_decl_line:
		if (dwarf_formudata(a, &w) == 0)
			d->r.decl_line = (int64_t)w;
		break;
	case DW_AT_abstract_origin:
		d->origin = *a;
		d->has_origin = true;
		break;
	case DW_AT_specification:
		d->spec = *a;
		d->has_spec = true;
		break;
	case DW_AT_call_file:
		d->has_call_file = dwarf_formudata(a, &d->call_file) == 0;
		break;
	case DW_AT_call_line:
		d->has_call_line = dwarf_formudata(a, &d->call_line) == 0;
		break;
	default:
		break;
	}
	return DWARF_CB_OK;
}

static int32_t die_rec_of(struct dw_index *x, Dwarf_Die *die, int depth);

static void collect_die(struct dw_index *x, Dwarf_Die *die, struct die_attrs *d, int depth)
{
	memset(d, 0, sizeof(*d));
	d->r.origin = d->r.spec = -1;
	dwarf_getattrs(die, collect_attr, d, 0);
	Dwarf_Die ref;
	if (d->has_origin && depth < 8 && dwarf_formref_die(&d->origin, &ref))
		d->r.origin = die_rec_of(x, &ref, depth + 1);
	if (d->has_spec && depth < 8 && dwarf_formref_die(&d->spec, &ref))
		d->r.spec = die_rec_of(x, &ref, depth + 1);
}

static int32_t die_rec_of(struct dw_index *x, Dwarf_Die *die, int depth)
{
	uint64_t key = (uint64_t)(uintptr_t)die->addr;
	uint64_t *v = cp_u64map_find(&x->die_recs, key);
	if (v)
		return (int32_t)*v;
	struct die_attrs d;
	collect_die(x, die, &d, depth);
	int32_t idx = (int32_t)x->recs.n;
	CP_VEC_PUSH(x->recs, d.r);
	cp_u64map_put(&x->die_recs, key, (uint64_t)idx);
	return idx;
}

/* bfd's name choice: a linkage name anywhere along abstract_origin and
 * specification wins; otherwise the first DW_AT_name met. */
static void resolve_name(const struct dw_index *x, const struct die_rec *r, struct dw_func *f,
			 bool c_names, int depth)
{
	if (depth > 8)
		return;
	if (r->linkage && !f->is_linkage) {
		f->name = r->linkage;
		f->is_linkage = true;
	}
	if (!f->name && r->name) {
		f->name = r->name;
		if (c_names)
			f->is_linkage = true;
	}
	if (!f->decl_line && r->decl_line)
		f->decl_line = r->decl_line;
	if (f->is_linkage && f->decl_line)
		return;
	if (r->origin >= 0)
		resolve_name(x, &x->recs.v[r->origin], f, c_names, depth + 1);
	if (r->spec >= 0)
		resolve_name(x, &x->recs.v[r->spec], f, c_names, depth + 1);
}

static void add_func(struct walk *w, Dwarf_Die *die, int tag, int32_t parent)
{
	struct dw_func f = { 0 };
	f.parent = parent;
	f.inlined = tag == DW_TAG_inlined_subroutine;
	struct die_attrs d;
	collect_die(w->x, die, &d, 0);
	resolve_name(w->x, &d.r, &f, w->cu->c_names, 0);
	if (f.inlined) {
		if (d.has_call_file && d.call_file < w->nfiles)
			f.call_file = w->names[d.call_file];
		if (d.has_call_line)
			f.call_line = (int)d.call_line;
	}
	int32_t fi = (int32_t)w->funcs.n;
	Dwarf_Addr base, s, e;
	ptrdiff_t ro = 0;
	bool first = true;
	while ((ro = dwarf_ranges(die, ro, &base, &s, &e)) > 0) {
		if (first) {
			f.low = s;
			first = false;
		}
		if (e <= s)
			continue;
		struct rng r = { s, e, fi, (uint32_t)w->rngs.n };
		CP_VEC_PUSH(w->rngs, r);
	}
	CP_VEC_PUSH(w->funcs, f);
}

static bool descend_into(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_entry_point:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		return true;
	default:
		return false;
	}
}

static void walk_die(struct walk *w, Dwarf_Die *parent_die, int32_t parent, int depth)
{
	Dwarf_Die child;
	if (depth > 256 || dwarf_child(parent_die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		int32_t me = parent;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
		    tag == DW_TAG_entry_point) {
			me = (int32_t)w->funcs.n;
			add_func(w, &child, tag, parent);
		}
		if (descend_into(tag) && dwarf_haschildren(&child))
			walk_die(w, &child, me, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static int cmp_rng(const void *a, const void *b)
{
	const struct rng *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void emit_seg(struct seg_vec *segs, uint64_t lo, uint64_t hi, int32_t f)
{
	if (lo >= hi)
		return;
	if (segs->n && segs->v[segs->n - 1].hi == lo && segs->v[segs->n - 1].func == f) {
		segs->v[segs->n - 1].hi = hi;
		return;
	}
	struct dw_seg s = { lo, hi, f };
	CP_VEC_PUSH(*segs, s);
}

/* Flatten nested ranges into disjoint segments naming the smallest range
 * containing them (bfd's best fit; equal ranges: the later DIE). */
static void flatten(struct walk *w, struct dw_cu *cu)
{
	if (w->rngs.n)
		qsort(w->rngs.v, w->rngs.n, sizeof(*w->rngs.v), cmp_rng);
	struct seg_vec segs = { 0 };
	CP_VEC(struct rng) stack = { 0 };
	uint64_t pos = 0;
	for (size_t i = 0; i <= w->rngs.n; i++) {
		const struct rng *r = i < w->rngs.n ? &w->rngs.v[i] : NULL;
		while (stack.n) {
			struct rng *top = &stack.v[stack.n - 1];
			if (r && top->hi > r->lo)
				break;
			if (pos < top->hi) {
				emit_seg(&segs, CP_MAX(pos, top->lo), top->hi, top->func);
				pos = top->hi;
			}
			stack.n--;
		}
		if (!r)
			break;
		if (stack.n) {
			struct rng *top = &stack.v[stack.n - 1];
			if (pos < r->lo)
				emit_seg(&segs, CP_MAX(pos, top->lo), r->lo, top->func);
		}
		pos = CP_MAX(pos, r->lo);
		CP_VEC_PUSH(stack, *r);
	}
	CP_VEC_FREE(stack);
	cu->segs = segs.v;
	cu->nsegs = segs.n;
}

static void load_lines(struct cp_module *m, struct walk *w, struct dw_cu *cu, Dwarf_Die *cudie)
{
	struct dw_index *x = index_of(m);
	Dwarf_Attribute a;
	Dwarf_Word off;
	if (!x->line_sec || !dwarf_attr(cudie, DW_AT_stmt_list, &a) || dwarf_formudata(&a, &off))
		return;
	if (sym_decode_lines(x->line_sec, x->line_size, off, w->names, w->nfiles, &x->scratch,
			     &cu->rows, &cu->nrows) < 0)
		cp_log(CP_LOG_DEBUG, "'%s': bad line table at offset %llu", m->path,
		       (unsigned long long)off);
}

/* bfd joins a relative file name with DW_AT_comp_dir; libdw leaves names
 * relative when their directory entry is. */
static void load_file_names(struct cp_module *m, struct walk *w, struct dw_cu *cu, Dwarf_Die *cudie)
{
	struct dw_index *x = index_of(m);
	Dwarf_Attribute a;
	Dwarf_Word off;
	const char *comp_dir = dwarf_attr(cudie, DW_AT_comp_dir, &a) ? dwarf_formstring(&a) : NULL;
	if (comp_dir && !*comp_dir)
		comp_dir = NULL;
	char **names;
	size_t n;
	if (x->line_sec && dwarf_attr(cudie, DW_AT_stmt_list, &a) &&
	    dwarf_formudata(&a, &off) == 0 &&
	    sym_line_files(x->line_sec, x->line_size, off, comp_dir, &x->strs, &names, &n) == 0) {
		cu->owned = names;
		cu->nowned = n;
		w->names = (const char **)names;
		w->nfiles = n;
		return;
	}
	/* forms our reader does not know: libdw's table, joined the same way */
	Dwarf_Files *files;
	if (dwarf_getsrcfiles(cudie, &files, &w->nfiles) != 0)
		w->nfiles = 0;
	cu->owned = cp_xcalloc(w->nfiles + 1, sizeof(*cu->owned));
	cu->nowned = w->nfiles;
	for (size_t i = 0; i < w->nfiles; i++) {
		const char *f = dwarf_filesrc(files, i, NULL, NULL);
		if (f)
			cu->owned[i] = f[0] != '/' && comp_dir ?
					       cp_xasprintf("%s/%s", comp_dir, f) :
					       cp_xstrdup(f);
	}
	w->names = (const char **)cu->owned;
}

/* Number of keys <= x in a sorted array (branch-free halving). */
static size_t count_le(const uint64_t *keys, size_t n, uint64_t x)
{
	const uint64_t *base = keys;
	if (!n)
		return 0;
	while (n > 1) {
		size_t half = n / 2;
		base = base[half] <= x ? base + half : base;
		n -= half;
	}
	return (size_t)(base - keys) + (*base <= x);
}

static void keyidx_init(struct keyidx *ki, uint64_t *keys, size_t n)
{
	ki->keys = keys;
	ki->n = n;
	ki->ntop = (n + KEY_BLOCK - 1) / KEY_BLOCK;
	ki->top = cp_xmalloc((ki->ntop + 1) * sizeof(uint64_t));
	for (size_t i = 0; i < ki->ntop; i++)
		ki->top[i] = keys[i * KEY_BLOCK];
}

static size_t keyidx_count_le(const struct keyidx *ki, uint64_t x)
{
	size_t t = count_le(ki->top, ki->ntop, x);
	if (!t)
		return 0;
	size_t start = (t - 1) * KEY_BLOCK, end = CP_MIN(start + KEY_BLOCK, ki->n);
	size_t c = start;
	for (size_t i = start; i < end; i++)
		c += ki->keys[i] <= x;
	return c;
}

static void load_cu(struct cp_module *m, struct dw_cu *cu)
{
	cu->loaded = true;
	Dwarf_Die cudie;
	if (!dwarf_offdie(m->dw, cu->off, &cudie))
		return;
	cu->c_names = lang_c_names(dwarf_srclang(&cudie));
	struct walk w = { 0 };
	w.x = index_of(m);
	w.cu = cu;
	load_file_names(m, &w, cu, &cudie);
	walk_die(&w, &cudie, -1, 0);
	flatten(&w, cu);
	cu->funcs = w.funcs.v;
	cu->nfuncs = w.funcs.n;
	CP_VEC_FREE(w.rngs);
	load_lines(m, &w, cu, &cudie);
	uint64_t *k = cp_xmalloc((cu->nsegs + 1) * sizeof(uint64_t));
	for (size_t i = 0; i < cu->nsegs; i++)
		k[i] = cu->segs[i].hi;
	keyidx_init(&cu->seg_hi, k, cu->nsegs);
	k = cp_xmalloc((cu->nrows + 1) * sizeof(uint64_t));
	for (size_t i = 0; i < cu->nrows; i++)
		k[i] = cu->rows[i].addr;
	keyidx_init(&cu->row_addr, k, cu->nrows);
}

/* The innermost function of cu at addr, or -1. */
static int32_t cu_find_func(const struct dw_cu *cu, uint64_t addr)
{
	size_t lo = keyidx_count_le(&cu->seg_hi, addr);
	if (lo < cu->nsegs && cu->segs[lo].lo <= addr)
		return cu->segs[lo].func;
	return -1;
}

static const struct dw_row *cu_find_row(const struct dw_cu *cu, uint64_t addr)
{
	size_t lo = keyidx_count_le(&cu->row_addr, addr);
	if (lo == 0 || lo >= cu->nrows) /* the last row always ends a sequence */
		return NULL;
	const struct dw_row *r = &cu->rows[lo - 1];
	return r->end ? NULL : r;
}

/* CUs whose ranges contain addr, in CU order (at most max). */
static size_t find_cus(const struct dw_cu_range *ranges, size_t nranges, uint64_t addr,
		       uint32_t *out, size_t max)
{
	size_t lo = 0, hi = nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ranges[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	for (size_t i = lo; i-- > 0 && n < max;) {
		if (addr < ranges[i].hi) {
			out[n++] = ranges[i].cu;
		} else if (lo - i > 16) {
			break;
		}
	}
	/* several hits are rare; bfd tries them in unit order */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
			uint32_t t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* Record a freshly loaded CU's line sequences as its ranges. */
static void add_seq_ranges(struct dw_index *x, const struct dw_cu *cu)
{
	uint32_t ci = (uint32_t)(cu - x->cus);
	CP_VEC(struct dw_cu_range) add = { 0 };
	for (size_t i = 0, start = 0; i < cu->nrows; i++) {
		if (!cu->rows[i].end)
			continue;
		if (cu->rows[i].addr > cu->rows[start].addr) {
			struct dw_cu_range r = { cu->rows[start].addr, cu->rows[i].addr, ci };
			CP_VEC_PUSH(add, r);
		}
		start = i + 1;
	}
	if (!add.n)
		return;
	qsort(add.v, add.n, sizeof(*add.v), cmp_cu_range); /* add.n > 0 here */
	/* merge: loads are rare, lookups many */
	size_t n = x->sranges.n, k = n + add.n;
	CP_VEC_RESERVE(x->sranges, k);
	size_t i = n, j = add.n;
	while (j > 0) {
		if (i > 0 && cmp_cu_range(&x->sranges.v[i - 1], &add.v[j - 1]) > 0)
			x->sranges.v[--k] = x->sranges.v[--i];
		else
			x->sranges.v[--k] = add.v[--j];
	}
	x->sranges.n = n + add.n;
	CP_VEC_FREE(add);
}

static bool try_cu(struct cp_module *m, struct dw_cu *c, uint64_t addr, int32_t *fi,
		   const struct dw_row **row)
{
	if (!c->loaded) {
		load_cu(m, c);
		add_seq_ranges(index_of(m), c);
	}
	*fi = cu_find_func(c, addr);
	*row = cu_find_row(c, addr);
	return *fi >= 0 || *row;
}

/* bfd's search order: CUs whose ranges (DIE ranges, and line sequences
 * once loaded) contain addr, then every CU that has no ranges at all. */
static struct dw_cu *find_in_dwarf(struct cp_module *m, struct dw_index *x, uint64_t addr,
				   int32_t *fi, const struct dw_row **row)
{
	uint32_t cand[16];
	size_t nc = find_cus(x->ranges, x->nranges, addr, cand, 8);
	for (size_t i = 0; i < nc; i++)
		if (try_cu(m, &x->cus[cand[i]], addr, fi, row))
			return &x->cus[cand[i]];
	size_t ns = find_cus(x->sranges.v, x->sranges.n, addr, cand + nc, 8);
	for (size_t i = nc; i < nc + ns; i++) {
		bool tried = false;
		for (size_t j = 0; j < nc; j++)
			tried |= cand[j] == cand[i];
		if (!tried && try_cu(m, &x->cus[cand[i]], addr, fi, row))
			return &x->cus[cand[i]];
	}
	for (size_t i = 0; i < x->rangeless.n; i++) {
		struct dw_cu *c = &x->cus[x->rangeless.v[i]];
		if (try_cu(m, c, addr, fi, row))
			return c;
	}
	*fi = -1;
	*row = NULL;
	return NULL;
}

struct dw_cu *sym_dwarf_find(struct cp_module *m, uint64_t addr, int32_t *fi,
			     const struct dw_row **row)
{
	if (!m->dw_tried)
		sym_dwarf_load(m);
	*fi = -1;
	*row = NULL;
	if (!m->dw)
		return NULL;
	return find_in_dwarf(m, index_of(m), addr, fi, row);
}

struct dw_func *sym_dwarf_func(struct dw_cu *cu, int32_t fi)
{
	return fi >= 0 && (size_t)fi < cu->nfuncs ? &cu->funcs[fi] : NULL;
}

/* The outermost (real, not inlined) function of fi. */
static int32_t real_func(const struct dw_cu *cu, int32_t fi)
{
	while (fi >= 0 && cu->funcs[fi].inlined && cu->funcs[fi].parent >= 0)
		fi = cu->funcs[fi].parent;
	return fi;
}

/* The contiguous run of DWARF segments around addr that belong to the
 * same real function. */
int sym_dwarf_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end)
{
	int32_t fi;
	const struct dw_row *row;
	struct dw_cu *cu = sym_dwarf_find(m, addr, &fi, &row);
	if (!cu || fi < 0)
		return -1;
	size_t s = keyidx_count_le(&cu->seg_hi, addr);
	if (s >= cu->nsegs || cu->segs[s].lo > addr)
		return -1;
	int32_t top = real_func(cu, cu->segs[s].func);
	size_t a = s, b = s;
	while (a > 0 && cu->segs[a - 1].hi == cu->segs[a].lo &&
	       real_func(cu, cu->segs[a - 1].func) == top)
		a--;
	while (b + 1 < cu->nsegs && cu->segs[b + 1].lo == cu->segs[b].hi &&
	       real_func(cu, cu->segs[b + 1].func) == top)
		b++;
	*start = cu->segs[a].lo;
	*end = cu->segs[b].hi;
	return 0;
}

/* ---- line rows (annotate) ------------------------------------------------ */

static void push_row(struct cp_symbol_rows *out, size_t first, uint64_t addr, const char *file,
		     int line)
{
	if (line == 0)
		file = NULL;
	if (out->n > first) {
		const struct cp_symbol_line_row *last = &out->v[out->n - 1];
		if (last->line == line &&
		    (last->file == file || (last->file && file && !strcmp(last->file, file))))
			return;
	}
	struct cp_symbol_line_row r = { addr, file, line };
	CP_VEC_PUSH(*out, r);
}

size_t sym_dwarf_line_rows(struct cp_module *m, uint64_t start, uint64_t end,
			   struct cp_symbol_rows *out)
{
	if (!m->dw_tried)
		sym_dwarf_load(m);
	if (!m->dw)
		return 0;
	int32_t fi;
	const struct dw_row *at;
	struct dw_cu *cu = find_in_dwarf(m, index_of(m), start, &fi, &at);
	if (!cu || !cu->nrows)
		return 0;
	size_t first = out->n;
	bool any = false;
	/* the row in effect at start (the last one at or below it) */
	size_t i = keyidx_count_le(&cu->row_addr, start);
	const struct dw_row *r = i ? &cu->rows[i - 1] : NULL;
	if (r && !r->end) {
		push_row(out, first, start, r->file, r->line);
		any |= r->line != 0;
	} else {
		push_row(out, first, start, NULL, 0);
	}
	for (; i < cu->nrows && cu->rows[i].addr < end; i++) {
		/* several rows at one address: the last one holds */
		while (i + 1 < cu->nrows && cu->rows[i + 1].addr == cu->rows[i].addr)
			i++;
		r = &cu->rows[i];
		push_row(out, first, r->addr, r->end ? NULL : r->file, r->end ? 0 : r->line);
		any |= !r->end && r->line != 0;
	}
	if (!any)
		out->n = first;
	return out->n - first;
}
