/* lookup.c - address -> function, file, line and inline chain: the
 * answer of a module's indexes (dwarf.c, elfsym.c, tables.c) put
 * together.
 *
 * The selection rules follow binutils' addr2line (bfd's dwarf2.c), which
 * `cprof symbolize` must reproduce byte for byte: the smallest range wins,
 * the last line row at an address wins, names of functions without a
 * linkage name come from the ELF symbol at the address when there is one.
 * Formatting is the caller's business.
 */
#include "symbol/symbol.h"

#include <string.h>

#include "symbol/symbol-int.h"

/* ---- lookup -------------------------------------------------------------- */

static const char *func_name(struct cp_module *m, const char *raw)
{
	if (!raw || !*raw)
		return NULL;
	return m->s->opts.demangle ? sym_demangled(m, raw) : raw;
}

/* Outside addr2line_compat: an out-of-line function without a linkage
 * name (a C++ lambda's operator(), main) is named after the ELF symbol at
 * its entry, which has the qualified name; inlined copies keep the DWARF
 * name, as every symbolizer prints them. */
static void settle_name(struct cp_module *m, struct dw_func *f)
{
	if (f->is_linkage)
		return;
	f->is_linkage = true;
	if (f->inlined)
		return;
	long shndx = sym_elf_section(m, f->low);
	long si = shndx >= 0 ? sym_elf_nearest(m, f->low, shndx) : -1;
	if (si >= 0 && m->syms.v[si].start == f->low)
		f->name = m->syms.v[si].name;
}

/* The raw name of the innermost frame.  bfd: the ELF symbol at addr names
 * the lookup when DWARF has no function or one without a linkage name; for
 * the latter that happens once, and the symbol's name sticks to the
 * function when it starts where the function does.  Sets *si (symbol
 * index or -1) and *symfile (the symbol's STT_FILE, for a row-less answer). */
static const char *innermost_name(struct cp_module *m, struct dw_func *f, uint64_t addr, long shndx,
				  long *si, const char **symfile)
{
	*si = -1;
	*symfile = NULL;
	if (f && !m->s->opts.addr2line_compat) {
		settle_name(m, f);
		if (f->name)
			return f->name;
	}
	if (f && f->is_linkage)
		return f->name;
	const char *raw = NULL;
	/* addr2line names an address after the nearest symbol below it,
	 * wherever that symbol ends; otherwise only a symbol that holds the
	 * address names it (stripped code has exported symbols only) */
	*si = m->s->opts.addr2line_compat ? sym_elf_nearest(m, addr, shndx)
					  : sym_elf_holding(m, addr, shndx);
	if (*si >= 0) {
		raw = m->syms.v[*si].name;
		*symfile = m->extra[*si].file;
	} else if (f) {
		raw = f->name;
	}
	if (f) {
		if (*si >= 0 && m->syms.v[*si].start == f->low)
			f->name = raw;
		f->is_linkage = true;
	}
	return raw;
}

/* Frames for the inline callers of f, after frames[0]; returns the count. */
static int inline_callers(struct cp_module *m, struct dw_cu *cu, struct dw_func *f,
			  struct cp_symbol_frame *frames, int max)
{
	int n = 1;
	frames[0].inlined = f->inlined && f->parent >= 0;
	for (struct dw_func *cur = f; cur->inlined && cur->parent >= 0 && n < max;) {
		struct dw_func *caller = sym_dwarf_func(cu, cur->parent);
		if (!m->s->opts.addr2line_compat)
			settle_name(m, caller);
		struct cp_symbol_frame *o = &frames[n++];
		memset(o, 0, sizeof(*o));
		o->system_name = caller->name && *caller->name ? caller->name : NULL;
		o->name = func_name(m, caller->name);
		o->file = cur->call_file;
		o->line = cur->call_line;
		o->decl_line = caller->decl_line;
		o->sym_start = frames[0].sym_start;
		o->inlined = caller->inlined && caller->parent >= 0;
		cur = caller;
	}
	return n;
}

static int lookup_elf(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *frames, int max);

int cp_module_lookup(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *frames, int max)
{
	if (max < 1 || m->failed)
		return 0;
	if (m->kind == CP_MODULE_KERNEL || m->kind == CP_MODULE_JIT)
		return sym_table_lookup(m, addr, frames, max);
	/* an earlier run's answer, when the cache knows this file */
	int n = sym_pcache_get(m, addr, frames, max);
	if (n >= 0)
		return n;
	n = lookup_elf(m, addr, frames, max);
	if (max >= 64)
		sym_pcache_put(m, addr, frames, n);
	return n;
}

static int lookup_elf(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *frames, int max)
{
	if (!m->syms_done)
		sym_elf_load(m);
	long shndx = sym_elf_section(m, addr);
	if (shndx < 0)
		return 0;

	struct dw_cu *cu = NULL;
	int32_t fi = -1;
	const struct dw_row *row = NULL;
	cu = sym_dwarf_find(m, addr, &fi, &row);
	struct dw_func *f = cu ? sym_dwarf_func(cu, fi) : NULL;
	long si;
	const char *symfile;
	const char *raw = innermost_name(m, f, addr, shndx, &si, &symfile);
	/* no name: the function's start from the unwind tables, so that every
	 * address of one unnamed function is told apart from another's */
	uint64_t fstart = 0, fend;
	if (!f && si < 0 && !m->s->opts.addr2line_compat &&
	    sym_fde_extent(m, addr, &fstart, &fend) < 0)
		fstart = 0;
	if (!f && !row && si < 0 && !fstart)
		return 0;

	struct cp_symbol_frame *fr = &frames[0];
	memset(fr, 0, sizeof(*fr));
	fr->system_name = raw && *raw ? raw : NULL;
	fr->name = func_name(m, raw);
	if (row) {
		fr->file = row->file;
		fr->line = row->line;
		fr->discriminator = row->discr;
	} else {
		fr->file = symfile;
	}
	fr->sym_start = si >= 0 ? m->syms.v[si].start : fstart;
	if (!f)
		return 1;
	/* the outermost (real) function's entry */
	const struct dw_func *top = f;
	while (top->inlined && top->parent >= 0)
		top = sym_dwarf_func(cu, top->parent);
	fr->sym_start = top->low;
	fr->decl_line = f->decl_line;
	if (m->s->opts.inlines)
		return inline_callers(m, cu, f, frames, max);
	if (top != f) {
		/* just the real function, at the line of the outermost call */
		struct cp_symbol_frame all[64];
		all[0] = *fr;
		int n = inline_callers(m, cu, f, all, (int)CP_ARRAY_SIZE(all));
		*fr = all[n - 1];
	}
	return 1;
}

/* ---- function extents and line rows (annotate) --------------------------- */

int cp_module_function_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end)
{
	if (m->failed)
		return -1;
	if (m->kind == CP_MODULE_KERNEL || m->kind == CP_MODULE_JIT)
		return sym_table_extent(m, addr, start, end);
	if (!m->syms_done)
		sym_elf_load(m);
	if (sym_elf_extent(m, addr, start, end) == 0 || sym_dwarf_extent(m, addr, start, end) == 0)
		return 0;
	return sym_fde_extent(m, addr, start, end);
}

size_t cp_module_line_rows(struct cp_module *m, uint64_t start, uint64_t end,
			   struct cp_symbol_rows *out)
{
	if (m->failed || start >= end || (m->kind != CP_MODULE_ELF && m->kind != CP_MODULE_VDSO))
		return 0;
	return sym_dwarf_line_rows(m, start, end, out);
}
