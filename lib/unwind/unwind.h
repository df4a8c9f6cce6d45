/* unwind.h - unwinding a sampled user stack.
 *
 * DWARF mode: from the user registers and the copy of the user stack that
 * the kernel took at the sample, walk the frames with the modules' CFI
 * (.eh_frame, via libunwind's remote interface: our accessors read the
 * stack copy and the module files, never the live process).  Unwind state
 * is cached per address space.  When the walk runs off the end of the
 * stack copy and the kernel's frame-pointer callchain of the same sample
 * continues further, the rest is spliced from it.
 *
 * The result is a list of runtime PCs, leaf first: the sampled IP, then
 * return addresses.
 */
#ifndef CPROF_UNWIND_H
#define CPROF_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "symbol/symbol.h"

/* why unwinding stopped */
enum cp_unwind_stop {
	CP_UNWIND_COMPLETE, /* the outermost frame (CFI marks the return address undefined) */
	CP_UNWIND_CUT,      /* needed stack memory beyond the copy */
	CP_UNWIND_NOINFO,   /* no unwind information for a PC */
	CP_UNWIND_BROKEN,   /* bad frame: invalid PC, stack going the wrong way */
	CP_UNWIND_MAXDEPTH, /* frame limit reached */
};

struct cp_unwind_input {
	struct cp_space *space;    /* the process's mappings */
	const uint64_t *regs;      /* indexed by PERF_REG_X86_* */
	const uint8_t *stack;      /* copy of user memory starting at regs[SP] */
	uint64_t stack_len;        /* bytes valid in the copy */
	const uint64_t *fp_chain;  /* kernel's user callchain (ip, return addresses), nullable */
	uint64_t fp_len;
};

struct cp_unwind_result {
	int n;                    /* PCs written */
	enum cp_unwind_stop stop; /* why the DWARF walk ended */
	bool spliced;             /* frames were appended from fp_chain */
	bool unmapped;            /* the walk met a PC outside every mapping of the space
				   * (for the caller: its mappings may be out of date) */
	uint64_t need_addr;       /* CUT: first stack address that was not copied */
	uint64_t read_end;        /* COMPLETE: end of the highest stack word the walk read
				   * (what a copy from this SP must reach) */
};

struct cp_unwinder;
struct cp_unwinder *cp_unwinder_new(void);
void cp_unwinder_free(struct cp_unwinder *u);
/* Drop cached state for an address space (its mappings changed or it is
 * going away). */
void cp_unwinder_forget(struct cp_unwinder *u, const struct cp_space *space);
/* Unwind; writes up to max PCs, leaf first, into pcs. */
void cp_unwind_dwarf(struct cp_unwinder *u, const struct cp_unwind_input *in, uint64_t *pcs,
		     int max, struct cp_unwind_result *res);

#endif
