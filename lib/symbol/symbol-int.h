/* symbol-int.h - private types shared by the lib/symbol files.  Not for
 * other modules: they use symbol.h.
 *
 * The files call one another one way: symbolizer.c (the module cache) ->
 * lookup.c -> dwarf.c, elfsym.c, tables.c, demangle.c, cache.c -> fde.c ->
 * module.c (the mapped file) -> debuginfod.c -> nothing; lines.c decodes
 * line programs for dwarf.c. */
#ifndef CPROF_SYMBOL_INT_H
#define CPROF_SYMBOL_INT_H

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

#include "symbol/symbol.h"

/* One PT_LOAD segment. */
struct sym_seg {
	uint64_t offset, vaddr, filesz, memsz;
	uint32_t flags;
};

/* One entry of a sorted symbol table (ELF, kallsyms, JIT map). */
struct sym_ent {
	uint64_t start, end; /* [start, end) */
	const char *name;    /* raw; points into the image or owned by the module */
	const char *dname;   /* demangled, lazily; NULL = not yet */
};

/* A mapped ELF image (the module's file or its separate debug file). */
struct sym_image {
	int fd;
	void *map;
	size_t size;
	Elf *elf;
	bool owned_map; /* map was malloc'ed (vdso copy) rather than mmapped */
};

/* One ELF section with SHF_ALLOC, for the symbol table's per-section rule. */
struct sym_sec {
	uint64_t lo, hi;
	size_t idx;
};

/* Per-symbol extras for ELF symbol tables (parallel to m->syms). */
struct sym_extra {
	size_t shndx;
	const char *file; /* STT_FILE name bfd would report, NULL */
	bool sized;       /* st_size != 0 (a zero size is stored as one byte) */
};

struct dw_index; /* dwarf.c */
struct dw_cu;    /* dwarf.c */

/* A function DIE (subprogram or inlined subroutine) of a CU. */
struct dw_func {
	const char *name; /* raw, bfd's choice (linkage name first); NULL unknown */
	bool is_linkage;
	bool inlined;
	int32_t parent; /* enclosing function DIE (inline caller), -1 */
	const char *call_file;
	int call_line;
	int64_t decl_line;
	uint64_t low; /* first range's start */
};

/* One line-table row (lines.c). */
struct dw_row {
	uint64_t addr;
	const char *file;
	int32_t line;
	uint32_t discr;
	bool end; /* end of a sequence: no line here */
};

struct cp_module {
	struct cp_symbolizer *s;
	enum cp_module_kind kind;
	char *path, *root;
	char build_id[130];
	bool failed;
	struct cp_error err; /* cached failure */

	struct sym_image img;
	uint16_t e_type;
	CP_VEC(struct sym_seg) segs;

	/* separate debug file (lazily) */
	bool dbg_tried;
	struct sym_image dbg;
	bool dfd_tried; /* debuginfod asked for its debug file */
	/* MiniDebugInfo: the xz-compressed ELF of .gnu_debugdata (lazily) */
	bool mini_tried;
	struct sym_image mini;

	/* symbol table index (lazily for ELF, at open for kernel/JIT) */
	bool syms_done;
	CP_VEC(struct sym_ent) syms;
	struct sym_extra *extra; /* ELF: parallel to syms */
	struct sym_sec *secs;    /* ELF: SHF_ALLOC sections by address */
	size_t nsecs;
	char *strpool;            /* kallsyms / JIT names */
	CP_VEC(char *) old_pools; /* JIT maps read before: names handed out live on */
	uint64_t jit_size;        /* size of the JIT map when last read */

	/* DWARF (lazily) */
	bool dw_tried;
	Dwarf *dw;
	struct dw_index *dwx;

	/* symbols of earlier runs (cache.c), loaded on first lookup */
	bool pc_tried;
	struct sym_pcache *pc;

	/* raw name pointer -> demangled (char *) or 1 = as is */
	bool dmg_init;
	struct cp_u64map dmg;
};

struct sym_debuginfod; /* debuginfod.c */
struct sym_pcache;     /* cache.c */

struct cp_symbolizer {
	struct cp_symbol_opts opts;
	struct sym_debuginfod *dfd; /* NULL: debuginfod is off */
	char *cache_dir;            /* NULL: no cache of symbols across runs */
	char *debug_dir;
	CP_VEC(struct cp_module *) mods;
	struct cp_u64map cache; /* hash(root, path) -> index into mods + 1, chained by probing */
};

/* module.c */
int sym_image_open(struct sym_image *im, const char *file, struct cp_error *err);
void sym_image_close(struct sym_image *im);
/* Elf holding DWARF for m: its own file or the separate debug file; NULL. */
Elf *sym_debug_elf(struct cp_module *m);
/* Find a section by name in an Elf; NULL. */
Elf_Scn *sym_find_scn(Elf *elf, const char *name, GElf_Shdr *sh);

/* lines.c: decode the line program at `off` in .debug_line; rows sorted
 * by address, each sequence closed by an end row.  File register values
 * index names[].  Returns 0 or -1 (malformed header); *rows is malloc'ed. */
struct sym_seq {
	size_t first, n;
	uint64_t low, high;
};
struct sym_line_scratch {
	CP_VEC(struct dw_row) rows;
	CP_VEC(struct sym_seq) seqs;
};
int sym_decode_lines(const uint8_t *sec, size_t secsize, uint64_t off, const char *const *names,
		     size_t nnames, struct sym_line_scratch *sc, struct dw_row **rows,
		     size_t *nrows);

/* String sections a line table header may point into (decompressed). */
struct sym_str_secs {
	const uint8_t *str, *line_str;
	size_t str_size, line_str_size;
};
/* lines.c: the file table of the line program at `off`, each name joined
 * with its directory and comp_dir as addr2line does; indexes are the file
 * register's values (entry 0 unused before DWARF 5).  *names and each
 * string are malloc'ed (entries may be NULL).  Returns 0 or -1 when the
 * header cannot be read. */
int sym_line_files(const uint8_t *sec, size_t secsize, uint64_t off, const char *comp_dir,
		   const struct sym_str_secs *ss, char ***names, size_t *n);

/* cache.c: the frames of addr from earlier runs (their count; -1 when
 * not cached, or no cache); remember a lookup's answer; write what is new
 * and free (when the module is freed).  The kernel's symbol table from an
 * earlier run in this boot (0, or -1), and saving it. */
int sym_pcache_get(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *frames, int max);
void sym_pcache_put(struct cp_module *m, uint64_t addr, const struct cp_symbol_frame *frames,
		    int n);
void sym_pcache_release(struct cp_module *m);
int sym_kcache_load(struct cp_module *m);
void sym_kcache_save(const struct cp_module *m);

/* debuginfod.c: the path (malloc'ed) of m's debug file fetched by its
 * build-id, or NULL (off, not there, failed, out of time). */
char *sym_debuginfod_find(struct cp_module *m);
void sym_debuginfod_free(struct cp_symbolizer *s);

/* module.c: the ELF image in the module's .gnu_debugdata section
 * (MiniDebugInfo, as Fedora ships: a .symtab of the functions .dynsym
 * lacks), decompressed once; NULL when there is none or it is damaged. */
Elf *sym_mini_elf(struct cp_module *m);
/* module.c: the program headers and build-id of an opened image; the
 * vDSO's image, copied from our own process. */
int sym_elf_info(struct cp_module *m, struct cp_error *err);
int sym_vdso_open(struct cp_module *m, struct cp_error *err);

/* tables.c: kallsyms and JIT maps; a JIT map is read again when it grew
 * (the JIT appends while the target runs): sym_jit_reload says whether the
 * table changed. */
int sym_kernel_open(struct cp_module *m, struct cp_error *err);
int sym_jit_open(struct cp_module *m, struct cp_error *err);
bool sym_jit_reload(struct cp_module *m);
int sym_table_lookup(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *fr, int max);
int sym_table_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end);
void sym_table_release(struct cp_module *m);

/* elfsym.c: load the ELF symbol table (sets syms_done); the SHF_ALLOC
 * section holding addr (bfd: the first one), or -1; bfd's nearest
 * function-like symbol at or below addr in that section (no size check),
 * an index into m->syms or -1; the sized symbol containing addr. */
void sym_elf_load(struct cp_module *m);
long sym_elf_section(const struct cp_module *m, uint64_t addr);
long sym_elf_nearest(const struct cp_module *m, uint64_t addr, long shndx);
/* The symbol that really holds addr, or -1: a sized one whose extent
 * contains it (the nearest, or an enclosing one a little below); a
 * zero-sized nearest one unless another function starts between it and
 * addr in the unwind tables. */
long sym_elf_holding(struct cp_module *m, uint64_t addr, long shndx);
int sym_elf_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end);
void sym_elf_release(struct cp_module *m);

/* fde.c: the extent of the function holding addr from the unwind tables
 * (.eh_frame_hdr's search table and the FDE it points to).  0, or -1 when
 * no FDE covers addr or the tables cannot be read. */
int sym_fde_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end);

/* dwarf.c: the CU holding addr, its innermost function (*fi, -1 none) and
 * line row (*row, NULL none), or NULL; loads the index on first use. */
void sym_dwarf_load(struct cp_module *m);
struct dw_cu *sym_dwarf_find(struct cp_module *m, uint64_t addr, int32_t *fi,
			     const struct dw_row **row);
struct dw_func *sym_dwarf_func(struct dw_cu *cu, int32_t fi);
int sym_dwarf_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end);
size_t sym_dwarf_line_rows(struct cp_module *m, uint64_t start, uint64_t end,
			   struct cp_symbol_rows *out);
void sym_dwarf_release(struct cp_module *m);

/* demangle.c: the demangled form of a raw name (malloc'ed) or NULL when it
 * is not mangled; the same through the module's cache (borrowed, raw
 * itself when not mangled). */
char *sym_demangle(const char *raw);
const char *sym_demangled(struct cp_module *m, const char *raw);
void sym_demangle_release(struct cp_module *m);

#endif
