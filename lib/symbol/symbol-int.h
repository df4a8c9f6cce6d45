/* symbol-int.h - private types shared by the lib/symbol files.  Not for
 * other modules: they use symbol.h. */
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

struct dw_index; /* lookup.c */

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

	/* symbol table index (lazily for ELF, at open for kernel/JIT) */
	bool syms_done;
	CP_VEC(struct sym_ent) syms;
	char *strpool;            /* kallsyms / JIT names */
	CP_VEC(char *) old_pools; /* JIT maps read before: names handed out live on */
	uint64_t jit_size;        /* size of the JIT map when last read */

	/* DWARF (lazily) */
	bool dw_tried;
	Dwarf *dw;
	struct dw_index *dwx;
};

struct cp_symbolizer {
	struct cp_symbol_opts opts;
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

/* module.c: read a JIT map again when it grew (the JIT appends while the
 * target runs); returns whether the table changed. */
bool sym_jit_reload(struct cp_module *m);

/* lookup.c */
void sym_module_release_index(struct cp_module *m);
/* Demangled form of a raw name (malloc'ed) or NULL when it is not mangled. */
char *sym_demangle(const char *raw);

#endif
