/* symbol.h - modules (ELF files and pseudo-modules), process address spaces,
 * and symbolization with inline frames.
 *
 * A cp_symbolizer caches modules: each file is opened and mmapped once and
 * its symbol and DWARF indexes are built lazily on first lookup.  Modules
 * are owned by the symbolizer and live until cp_symbolizer_free().
 *
 * Addresses given to cp_module_lookup() are module-relative ELF virtual
 * addresses (the st_value space of the file's symbol table).  For the
 * kernel and JIT maps they are absolute addresses.
 *
 * A cp_space is one process's address space (mappings to modules) as the
 * recorder sees it from mmap records; the unwinder and the recorder use it
 * to turn a runtime address into (module, relative address).
 */
#ifndef CPROF_SYMBOL_H
#define CPROF_SYMBOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

struct cp_symbol_opts {
	bool demangle;         /* C++/Rust demangling of names (default true) */
	bool inlines;          /* report inline frames (default true); when false a
				* lookup gives one frame: the real function, at
				* the line of the outermost inlined call in it */
	const char *debug_dir; /* separate debug files root, default "/usr/lib/debug" */
	/* Reproduce binutils addr2line's naming exactly (default false), for
	 * `cprof symbolize`: the first lookup inside a DWARF function without
	 * a linkage name takes the ELF symbol's name, and a symbol starting at
	 * the function's address renames it for later lookups.  Without it,
	 * DWARF names win (an inlined lambda stays "operator()", a C function's
	 * "foo.constprop.0" clone stays "foo"). */
	bool addr2line_compat;
	/* A directory for symbols that outlive the run (default NULL: none):
	 * per build-id the answers of earlier runs, per boot the kernel's
	 * table.  Not used with addr2line_compat. */
	const char *cache_dir;
};
void cp_symbol_opts_init(struct cp_symbol_opts *o);

struct cp_symbolizer;
struct cp_module;

struct cp_symbolizer *cp_symbolizer_new(const struct cp_symbol_opts *opts);
void cp_symbolizer_free(struct cp_symbolizer *s);
/* From now on, fetch the debug files that are not on this machine from
 * the debuginfod servers in $DEBUGINFOD_URLS (by build-id, through
 * elfutils' client and its cache), spending at most `seconds` on all of
 * them together; a failure or the end of that time logs one notice and
 * stops the fetching.  Returns whether debuginfod is on: false without
 * DEBUGINFOD_URLS or with seconds <= 0.  Modules looked up before keep
 * what they had. */
bool cp_symbolizer_debuginfod(struct cp_symbolizer *s, double seconds);

/* Module kinds */
enum cp_module_kind {
	CP_MODULE_ELF,    /* a file on disk */
	CP_MODULE_VDSO,   /* the kernel's vDSO image (read from our own process) */
	CP_MODULE_KERNEL, /* [kernel.kallsyms] via /proc/kallsyms */
	CP_MODULE_JIT,    /* /tmp/perf-PID.map */
};

/* Open (or find in the cache) a module.
 *  - ELF: `path` as seen by the target; `root` (nullable) is prefixed to
 *    read it, e.g. "/proc/PID/root" for another mount namespace; when
 *    build_id (hex, nullable) is given and the file's differs, fails with
 *    CP_E_NOENT "... build-id mismatch".
 *  - "[vdso]", "[kernel.kallsyms]": the pseudo-modules.
 *  - a path matching "/tmp/perf-PID.map": a JIT map.
 * Returns a borrowed pointer, NULL with err set on failure (failures are
 * cached too, so a missing file is tried once). */
struct cp_module *cp_symbolizer_open(struct cp_symbolizer *s, const char *path, const char *root,
				     const char *build_id, struct cp_error *err);

enum cp_module_kind cp_module_kind(const struct cp_module *m);
const char *cp_module_path(const struct cp_module *m);     /* as given */
const char *cp_module_build_id(const struct cp_module *m); /* hex, "" unknown */
/* Address size of the module in bits: 32 for ELFCLASS32, else 64. */
int cp_module_addr_bits(const struct cp_module *m);

/* Map a file offset (a mapping's pgoff + (addr - start)) to the module's
 * ELF virtual address using its PT_LOAD program headers.  Returns 0, or -1
 * when the offset is outside every loadable segment. */
int cp_module_offset_to_vaddr(const struct cp_module *m, uint64_t file_offset, uint64_t *vaddr);

/* Unwind tables of an ELF module, as ELF virtual addresses (0 = absent). */
struct cp_module_unwind_info {
	uint64_t eh_frame_hdr, eh_frame_hdr_size;
	uint64_t eh_frame, eh_frame_size;
	uint64_t debug_frame_offset, debug_frame_size; /* file offset in debug_image */
	const uint8_t *debug_image; size_t debug_image_size; /* file holding .debug_frame */
	uint64_t text_start, text_end; /* lowest and highest executable vaddr */
};
int cp_module_unwind_info(const struct cp_module *m, struct cp_module_unwind_info *out);

/* Copy `len` bytes at ELF virtual address `vaddr` from the file image
 * (loadable segments only).  Returns 0, or -1 when not backed by the file. */
int cp_module_read(const struct cp_module *m, uint64_t vaddr, void *buf, size_t len);

/* One symbolized frame.  Strings are borrowed from the module and live
 * until the symbolizer is freed. */
struct cp_symbol_frame {
	const char *name;        /* demangled when opts.demangle, else raw; NULL = unknown */
	const char *system_name; /* raw (linkage) name, NULL = unknown */
	const char *file;        /* source file (as in DWARF: comp dir joined), NULL = unknown */
	int line;                /* 0 = unknown */
	unsigned discriminator;  /* DWARF line discriminator (addr2line prints it) */
	bool inlined;            /* this frame is inlined into the next */
	uint64_t sym_start;      /* start address of the function, 0 unknown; with no
				  * name, of the unnamed function holding the
				  * address (DWARF, else the unwind tables' FDE),
				  * to name it after its module and start */
	int64_t decl_line;       /* DW_AT_decl_line of the function, 0 unknown */
};

/* Symbolize a module-relative address.  Fills up to `max` frames,
 * innermost first (the last one is the real, non-inlined function), and
 * returns how many; 0 means nothing is known of the address.  Never fails
 * otherwise.  A name is given only where it is known: DWARF's, else an ELF
 * symbol's whose extent holds the address (st_size; to the next symbol or
 * function start when the size is 0).  Stripped code has exported symbols
 * only, and the nearest one below an address is usually another function:
 * such a frame has no name and the start of its function in sym_start.
 * opts.addr2line_compat names it after the nearest symbol, as addr2line.
 * The first lookup in a compile unit indexes it (lazily, once).  With
 * opts.addr2line_compat the answers follow binutils addr2line exactly,
 * including its dependence on which addresses were looked up before. */
int cp_module_lookup(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *frames, int max);

/* The extent [*start, *end) of the function containing the module-relative
 * address addr, for disassembling it (perf annotate's choice): the ELF
 * symbol (st_value, st_size) containing addr when there is one, so a
 * compiler-split "foo.cold" part is its own function; else the DWARF
 * subprogram range containing addr (the one contiguous range, of a
 * function with several, that holds addr); else the FDE of the unwind
 * tables that covers addr (stripped code).  Kernel and JIT modules use
 * their symbol tables.  Returns 0, or -1 when none of them contains addr. */
int cp_module_function_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end);

/* One line-table row: the instructions from addr up to the next row (or
 * the end of the range asked for) come from file:line.  file is borrowed
 * from the module (NULL or line 0: no line information there). */
struct cp_symbol_line_row {
	uint64_t addr;
	const char *file;
	int line;
};

/* A growable array of rows (the CP_VEC layout: free v with free()). */
struct cp_symbol_rows {
	struct cp_symbol_line_row *v;
	size_t n, cap;
};

/* Append the DWARF line-table rows covering the module-relative range
 * [start, end) to *out, sorted by strictly increasing address: the
 * innermost source line as the line table says it (inlined code shows
 * the inlined function's line).  When start falls inside a row, the first
 * row added is that one, moved to start; a gap in the line table (between
 * sequences) is a row with line 0.  Consecutive rows with the same file
 * and line are merged.  Returns how many rows were added: 0 when the
 * module has no DWARF or no line table covers start. */
size_t cp_module_line_rows(struct cp_module *m, uint64_t start, uint64_t end,
			   struct cp_symbol_rows *out);

/* ---- address spaces ---------------------------------------------------- */

struct cp_mapping {
	uint64_t start, end; /* runtime [start, end) */
	uint64_t pgoff;      /* file offset of start */
	struct cp_module *module; /* NULL when the file could not be opened */
	const char *path;    /* as reported by the kernel, owned by the space */
	uint32_t id;         /* caller's id for this mapping (e.g. profile mapping index) */
};

struct cp_space;
struct cp_space *cp_space_new(pid_t pid);
void cp_space_free(struct cp_space *sp);
/* A forked child starts with a copy of the parent's mappings. */
struct cp_space *cp_space_clone(const struct cp_space *sp, pid_t pid);
/* Forget every mapping (exec). */
void cp_space_clear(struct cp_space *sp);
/* Insert a mapping, replacing whatever it overlaps (mmap semantics).
 * path is copied. */
void cp_space_insert(struct cp_space *sp, uint64_t start, uint64_t end, uint64_t pgoff,
		     const char *path, struct cp_module *module, uint32_t id);
/* Borrowed pointer to the mapping containing addr, or NULL. */
const struct cp_mapping *cp_space_find(const struct cp_space *sp, uint64_t addr);
/* Runtime address -> module-relative address via the mapping; returns 0 or
 * -1 (no module, or offset outside the file's segments). */
int cp_mapping_to_rel(const struct cp_mapping *m, uint64_t addr, uint64_t *rel);
pid_t cp_space_pid(const struct cp_space *sp);
/* Number of mappings and the i-th one (for iteration). */
size_t cp_space_count(const struct cp_space *sp);
const struct cp_mapping *cp_space_get(const struct cp_space *sp, size_t i);

#endif
