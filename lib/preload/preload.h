/* preload.h - the parts of libcprof-heap.so besides the hooks: got.c
 * rewrites a running program's GOT entries (cprof heap -p).  Nothing here
 * allocates with malloc: it runs inside the target, in a thread cprof
 * borrowed through ptrace. */
#ifndef CPROF_PRELOAD_H
#define CPROF_PRELOAD_H

#include <stddef.h>
#include <stdint.h>

struct got_hook {
	const char *name; /* the symbol whose GOT entries are rewritten */
	void *fn;         /* where they point then */
};

/* Point every GOT entry (JUMP_SLOT, GLOB_DAT) of every loaded module but
 * this library [self_lo, self_hi) and the dynamic loader at the hooks;
 * remember the old values.  Returns the number of entries rewritten, or a
 * negative errno. */
int got_redirect(const struct got_hook *hooks, size_t n, uintptr_t self_lo, uintptr_t self_hi);
/* Put back every entry got_redirect rewrote; returns how many. */
int got_restore(void);

#endif
