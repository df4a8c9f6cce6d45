/* elfsym.c - a module's ELF symbol table: .symtab, else .dynsym (with a
 * separate debug file, its full .symtab), sorted per section as bfd
 * searches it, and the sections it is searched by.
 *
 * It does not decide what a lookup answers (lookup.c) nor read DWARF
 * (dwarf.c).
 */
#include "symbol/symbol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/symbol-int.h"

struct sort_sym {
	struct sym_ent e;
	struct sym_extra x;
	size_t order;
};

static int cmp_sort_sym(const void *a, const void *b)
{
	const struct sort_sym *x = a, *y = b;
	if (x->x.shndx != y->x.shndx)
		return x->x.shndx < y->x.shndx ? -1 : 1;
	if (x->e.start != y->e.start)
		return x->e.start < y->e.start ? -1 : 1;
	/* at one address bfd prefers the larger size, then table order */
	uint64_t sx = x->e.end - x->e.start, sy = y->e.end - y->e.start;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_sec(const void *a, const void *b)
{
	const struct sym_sec *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct sort_vec {
	struct sort_sym *v;
	size_t n, cap;
};

/* Add one symbol table section's entries to v (bfd's function-like
 * symbols: everything but sections, files, objects and TLS); order_base
 * ranks the table against others at one address. */
static void load_symtab(struct sort_vec *vp, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
			size_t order_base)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	/* count what is really there: a damaged SHT_NOBITS table may claim
	 * 2^54 bytes and has none */
	if (!d || !d->d_buf || sh->sh_type == SHT_NOBITS || !sh->sh_entsize)
		return;
	size_t n = CP_MIN(sh->sh_size, d->d_size) / sh->sh_entsize;
	struct sort_vec v = *vp;
	const char *file = NULL;
	enum { NOTHING, SYMBOL, FILE_AFTER } state = NOTHING;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (type == STT_FILE) {
			file = name;
			if (state == SYMBOL)
				state = FILE_AFTER;
			continue;
		}
		if (state == NOTHING)
			state = SYMBOL;
		if (type == STT_SECTION || type == STT_OBJECT || type == STT_TLS ||
		    type == STT_COMMON)
			continue;
		if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE || !name)
			continue;
		bool local = GELF_ST_BIND(s.st_info) == STB_LOCAL;
		if (s.st_size == 0 && local && type == STT_NOTYPE &&
		    GELF_ST_VISIBILITY(s.st_other) == STV_HIDDEN)
			continue;
		struct sort_sym ss;
		ss.e.start = s.st_value;
		ss.e.end = s.st_value + (s.st_size ? s.st_size : 1);
		ss.e.name = name;
		ss.e.dname = NULL;
		ss.x.shndx = s.st_shndx;
		ss.x.file = file && (local || state != FILE_AFTER) ? file : NULL;
		ss.x.sized = s.st_size != 0;
		ss.order = order_base + i;
		CP_VEC_PUSH(v, ss);
	}
	*vp = v;
}

/* Sort the collected entries into the module's table. */
static void store_symtab(struct cp_module *m, struct sort_vec *vp)
{
	struct sort_vec v = *vp;
	if (v.n)
		qsort(v.v, v.n, sizeof(*v.v), cmp_sort_sym);
	CP_VEC_RESERVE(m->syms, v.n);
	m->extra = cp_xcalloc(v.n ? v.n : 1, sizeof(*m->extra));
	for (size_t i = 0; i < v.n; i++) {
		m->syms.v[i] = v.v[i].e;
		m->extra[i] = v.v[i].x;
	}
	m->syms.n = v.n;
	CP_VEC_FREE(v);
}

static void load_sections(struct cp_module *m, Elf *elf)
{
	CP_VEC(struct sym_sec) v = { 0 };
	size_t idx = 0;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		idx = elf_ndxscn(scn);
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
			continue;
		struct sym_sec s = { sh.sh_addr, sh.sh_addr + sh.sh_size, idx };
		CP_VEC_PUSH(v, s);
	}
	/* bfd scans sections in file order and takes the first match; keep
	 * that order for overlaps by sorting stably on (lo, idx) */
	if (v.n)
		qsort(v.v, v.n, sizeof(*v.v), cmp_sec);
	m->secs = v.v;
	m->nsecs = v.n;
}

/* The symbol table: with a separate debug file (which holds the full
 * .symtab, STT_FILE entries included) addr2line takes its symbols, so do
 * we; otherwise the file's .symtab, else its .dynsym, and outside
 * addr2line mode (binutils does not read it) the MiniDebugInfo's .symtab
 * beside it.  MiniDebugInfo keeps the section headers of the file it
 * came from, so its symbols' section indexes are the file's. */
void sym_elf_load(struct cp_module *m)
{
	m->syms_done = true;
	if (!m->img.elf)
		return;
	GElf_Shdr sh;
	struct sort_vec v = { 0 };
	Elf *dbg = sym_debug_elf(m);
	if (dbg && dbg != m->img.elf) {
		Elf_Scn *scn = sym_find_scn(dbg, ".symtab", &sh);
		if (scn && sh.sh_type == SHT_SYMTAB) {
			load_sections(m, dbg);
			load_symtab(&v, dbg, scn, &sh, 0);
			store_symtab(m, &v);
			return;
		}
	}
	load_sections(m, m->img.elf);
	Elf_Scn *scn = sym_find_scn(m->img.elf, ".symtab", &sh);
	bool full = scn && sh.sh_type == SHT_SYMTAB;
	if (!full)
		scn = sym_find_scn(m->img.elf, ".dynsym", &sh);
	if (scn)
		load_symtab(&v, m->img.elf, scn, &sh, 0);
	Elf *mini = full || m->s->opts.addr2line_compat ? NULL : sym_mini_elf(m);
	if (mini && (scn = sym_find_scn(mini, ".symtab", &sh)) && sh.sh_type == SHT_SYMTAB)
		load_symtab(&v, mini, scn, &sh, SIZE_MAX / 2);
	store_symtab(m, &v);
}

/* The section containing addr (bfd: the first SHF_ALLOC one), or -1. */
long sym_elf_section(const struct cp_module *x, uint64_t addr)
{
	long best = -1;
	for (size_t lo = 0, hi = x->nsecs; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->secs[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
		best = (long)lo - 1;
	}
	long found = -1;
	size_t found_idx = SIZE_MAX;
	/* overlapping (TLS .tbss) sections are rare: look back a little */
	for (long i = best; i >= 0 && best - i < 4; i--)
		if (addr >= x->secs[i].lo && addr < x->secs[i].hi && x->secs[i].idx < found_idx) {
			found = (long)x->secs[i].idx;
			found_idx = x->secs[i].idx;
		}
	return found;
}

/* bfd's elf_find_function: the nearest function-like symbol at or below
 * addr in the same section (no size check).  Index into m->syms or -1. */
long sym_elf_nearest(const struct cp_module *m, uint64_t addr, long shndx)
{
	const struct cp_module *st = m;
	size_t lo = 0, hi = m->syms.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sym_extra *e = &st->extra[mid];
		if (e->shndx < (size_t)shndx ||
		    (e->shndx == (size_t)shndx && m->syms.v[mid].start <= addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || st->extra[lo - 1].shndx != (size_t)shndx)
		return -1;
	size_t i = lo - 1;
	while (i > 0 && st->extra[i - 1].shndx == (size_t)shndx &&
	       m->syms.v[i - 1].start == m->syms.v[i].start)
		i--;
	return (long)i;
}

/* The sized ELF symbol containing addr: the nearest one at or below it,
 * else an enclosing one a little further down (a local label or alias
 * inside a function may be nearer). */
int sym_elf_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end)
{
	const struct cp_module *x = m;
	long shndx = sym_elf_section(m, addr);
	long i = shndx >= 0 ? sym_elf_nearest(m, addr, shndx) : -1;
	for (long k = i, steps = 0; k >= 0 && steps < 16; k--, steps++) {
		const struct sym_ent *e = &m->syms.v[k];
		if (x->extra[k].shndx != (size_t)shndx)
			break;
		/* a zero st_size is stored as one byte: no extent */
		if (e->start <= addr && addr < e->end && e->end - e->start > 1) {
			*start = e->start;
			*end = e->end;
			return 0;
		}
	}
	return -1;
}

long sym_elf_holding(struct cp_module *m, uint64_t addr, long shndx)
{
	long i = sym_elf_nearest(m, addr, shndx);
	if (i < 0)
		return -1;
	const struct sym_ent *e = &m->syms.v[i];
	if (!m->extra[i].sized) {
		/* no size: it reaches to the next symbol (none lies between, it
		 * is the nearest) or to the start of another function */
		uint64_t fs, fe;
		if (sym_fde_extent(m, addr, &fs, &fe) == 0 && fs > e->start)
			return -1;
		return i;
	}
	for (long k = i, steps = 0; k >= 0 && steps < 16; k--, steps++) {
		if (m->extra[k].shndx != (size_t)shndx)
			break;
		e = &m->syms.v[k];
		if (m->extra[k].sized && e->start <= addr && addr < e->end)
			return k;
	}
	return -1;
}

void sym_elf_release(struct cp_module *m)
{
	free(m->secs);
	m->secs = NULL;
	m->nsecs = 0;
	free(m->extra);
	m->extra = NULL;
}
