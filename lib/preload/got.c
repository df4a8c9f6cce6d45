/* got.c - sending a running program's allocation calls to the interposer
 * (cprof heap -p), and back.
 *
 * A module calls malloc through its GOT: a JUMP_SLOT entry for its PLT
 * (lazily bound or not), a GLOB_DAT entry where it takes the function's
 * address.  Rewriting those entries in every loaded module (the program,
 * its libraries, libc itself for its internal calls) redirects the calls
 * from the next one on; a slot is one aligned 8-byte store, so a thread
 * calling through it at that moment takes the old or the new function,
 * both valid.  Entries in RELRO memory are made writable for the store
 * and read-only again.  The old values are kept to put back. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/preload.h"

#define MAX_PATCHES 65536

struct patch {
	uintptr_t *slot;
	uintptr_t old;
	int relro;
};

static struct patch *patches; /* mmap'd: no malloc inside the target's borrowed thread */
static size_t npatches;

struct walk {
	const struct got_hook *hooks;
	size_t nhooks;
	uintptr_t self_lo, self_hi;
	int err;
};

static void store(uintptr_t *slot, uintptr_t v, int relro)
{
	long page = sysconf(_SC_PAGESIZE);
	void *at = (void *)((uintptr_t)slot & ~((uintptr_t)page - 1));
	if (relro)
		mprotect(at, (size_t)page, PROT_READ | PROT_WRITE);
	__atomic_store_n(slot, v, __ATOMIC_RELEASE);
	if (relro)
		mprotect(at, (size_t)page, PROT_READ);
}

static const struct got_hook *hook_of(const struct walk *w, const char *name)
{
	for (size_t i = 0; i < w->nhooks; i++)
		if (!strcmp(w->hooks[i].name, name))
			return &w->hooks[i];
	return NULL;
}

/* Rewrite the matching entries of one relocation table. */
static void patch_table(struct walk *w, ElfW(Addr) base, const ElfW(Rela) *rel, size_t size,
			const ElfW(Sym) *symtab, const char *strtab, uintptr_t relro_lo,
			uintptr_t relro_hi)
{
	for (size_t i = 0; i < size / sizeof(*rel); i++) {
		unsigned type = (unsigned)ELF64_R_TYPE(rel[i].r_info);
		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[i].r_info)];
		const struct got_hook *h = hook_of(w, strtab + sym->st_name);
		if (!h)
			continue;
		if (npatches >= MAX_PATCHES) {
			w->err = -ENOSPC;
			return;
		}
		uintptr_t *slot = (uintptr_t *)(base + rel[i].r_offset);
		int relro = (uintptr_t)slot >= relro_lo && (uintptr_t)slot < relro_hi;
		patches[npatches++] = (struct patch){ slot, *slot, relro };
		store(slot, (uintptr_t)h->fn, relro);
	}
}

static int patch_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct walk *w = arg;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (strstr(name, "/ld-linux") || strstr(name, "linux-vdso") || strstr(name, "/ld.so"))
		return 0;
	ElfW(Addr) base = info->dlpi_addr;
	const ElfW(Dyn) *dyn = NULL;
	uintptr_t relro_lo = 0, relro_hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			relro_lo = base + ph->p_vaddr;
			relro_hi = relro_lo + ph->p_memsz;
		} else if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
			   w->self_lo >= base + ph->p_vaddr && w->self_lo < base + ph->p_vaddr + ph->p_memsz)
			return 0; /* the interposer itself */
	}
	if (!dyn)
		return 0;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL, *rela = NULL;
	size_t pltrelsz = 0, relasz = 0;
	/* the loader stores most pointers relocated; an unrelocated one is
	 * below the module's base */
#define PTR(v) ((v) < base ? (v) + base : (v))
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB: symtab = (const ElfW(Sym) *)PTR(dyn->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const char *)PTR(dyn->d_un.d_ptr); break;
		case DT_JMPREL: jmprel = (const ElfW(Rela) *)PTR(dyn->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
		case DT_RELA: rela = (const ElfW(Rela) *)PTR(dyn->d_un.d_ptr); break;
		case DT_RELASZ: relasz = dyn->d_un.d_val; break;
		default: break;
		}
	}
#undef PTR
	if (!symtab || !strtab)
		return 0;
	if (jmprel)
		patch_table(w, base, jmprel, pltrelsz, symtab, strtab, relro_lo, relro_hi);
	if (rela)
		patch_table(w, base, rela, relasz, symtab, strtab, relro_lo, relro_hi);
	(void)size;
	return w->err;
}

int got_redirect(const struct got_hook *hooks, size_t n, uintptr_t self_lo, uintptr_t self_hi)
{
	if (!patches) {
		void *p = mmap(NULL, MAX_PATCHES * sizeof(*patches), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		patches = p;
	}
	struct walk w = { hooks, n, self_lo, self_hi, 0 };
	dl_iterate_phdr(patch_module, &w);
	return w.err ? w.err : (int)npatches;
}

int got_restore(void)
{
	int n = 0;
	/* in reverse: a slot rewritten twice gets its first value back */
	while (npatches) {
		struct patch *p = &patches[--npatches];
		store(p->slot, p->old, p->relro);
		n++;
	}
	return n;
}
