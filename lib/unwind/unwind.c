/* unwind.c - DWARF CFI unwinding of a sampled user stack with libunwind's
 * remote interface, and splicing with the kernel's frame-pointer chain.
 *
 * Why libunwind and not libdw's dwfl_getthread_frames: on the same
 * captured samples both give identical PCs and libunwind, with its per-PC
 * register-rule cache (UNW_CACHE_GLOBAL), is 1.2-1.5x faster than a
 * well-used libdw (one Dwfl per process); without the cache it is 10x
 * slower.  `make bench` measures it (bench/unwind-compare.c); DESIGN.md
 * has the figures.
 *
 * The accessors never touch the live process: stack reads come from the
 * sample's copy, .eh_frame reads from the module files (cp_module_read).
 * A read past the end of the copy marks the walk CUT and records the
 * address, so the report can say which --stack-size would have kept it.
 */
#include "unwind/unwind.h"

#include <asm/perf_regs.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>

/* not in the public header, exported by libunwind (perf uses it too) */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					       unw_dyn_info_t *di, unw_proc_info_t *pi,
					       int need_unwind_info, void *arg);

struct ctx {
	const struct cp_unwind_input *in;
	uint64_t sp;
	bool cut;
	uint64_t need_addr;
	uint64_t read_end; /* end of the highest word read from the copy */
	bool unmapped; /* a PC outside every mapping of the space */
	/* module of the last find_proc_info: its .eh_frame usually lies in a
	 * read-only segment that the kernel does not report (only executable
	 * mappings are), so reads of it go through the module directly */
	struct cp_module *mod;
	uint64_t bias;
};

struct cp_unwinder {
	struct cp_u64map spaces; /* cp_space* -> unw_addr_space_t */
};

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct ctx *c = arg;
	const struct cp_mapping *m = cp_space_find(c->in->space, ip);
	if (!m)
		c->unmapped = true;
	if (!m || !m->module)
		return -UNW_ENOINFO;
	struct cp_module_unwind_info ui;
	if (cp_module_unwind_info(m->module, &ui) || !ui.eh_frame_hdr)
		return -UNW_ENOINFO;
	uint64_t start_vaddr;
	if (cp_module_offset_to_vaddr(m->module, m->pgoff, &start_vaddr))
		return -UNW_ENOINFO;
	uint64_t bias = m->start - start_vaddr;
	c->mod = m->module;
	c->bias = bias;
	uint8_t hdr[12];
	if (cp_module_read(m->module, ui.eh_frame_hdr, hdr, sizeof(hdr)))
		return -UNW_ENOINFO;
	/* version 1, eh_frame_ptr pcrel|sdata4, fde_count udata4, table
	 * datarel|sdata4: what every linker writes; others are not searched */
	if (hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b)
		return -UNW_ENOINFO;
	uint32_t fde_count;
	memcpy(&fde_count, hdr + 8, 4);
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = ui.eh_frame_hdr + bias;
	di.u.rti.table_data = ui.eh_frame_hdr + bias + 12;
	di.u.rti.table_len = fde_count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* libunwind's table search keeps the parsed CIE/FDE info in its own
	 * pool and caches it with the register state; nothing to free here. */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
		      void *arg)
{
	struct ctx *c = arg;
	if (write)
		return -UNW_EINVAL;
	const struct cp_unwind_input *in = c->in;
	if (addr >= c->sp && addr + 8 <= c->sp + in->stack_len && addr + 8 > addr) {
		memcpy(valp, in->stack + (addr - c->sp), 8);
		if (addr + 8 > c->read_end)
			c->read_end = addr + 8;
		return 0;
	}
	const struct cp_mapping *m = cp_space_find(in->space, addr);
	if (m && m->module) {
		uint64_t rel;
		if (cp_mapping_to_rel(m, addr, &rel) == 0 && cp_module_read(m->module, rel, valp, 8) == 0)
			return 0;
	}
	if (c->mod && cp_module_read(c->mod, addr - c->bias, valp, 8) == 0)
		return 0;
	if (addr >= c->sp + in->stack_len && !c->cut) {
		c->cut = true;
		c->need_addr = addr + 8;
	}
	return -UNW_EINVAL;
}

static int perf_reg_of(unw_regnum_t r)
{
	switch (r) {
	case UNW_X86_64_RAX: return PERF_REG_X86_AX;
	case UNW_X86_64_RDX: return PERF_REG_X86_DX;
	case UNW_X86_64_RCX: return PERF_REG_X86_CX;
	case UNW_X86_64_RBX: return PERF_REG_X86_BX;
	case UNW_X86_64_RSI: return PERF_REG_X86_SI;
	case UNW_X86_64_RDI: return PERF_REG_X86_DI;
	case UNW_X86_64_RBP: return PERF_REG_X86_BP;
	case UNW_X86_64_RSP: return PERF_REG_X86_SP;
	case UNW_X86_64_R8: return PERF_REG_X86_R8;
	case UNW_X86_64_R9: return PERF_REG_X86_R9;
	case UNW_X86_64_R10: return PERF_REG_X86_R10;
	case UNW_X86_64_R11: return PERF_REG_X86_R11;
	case UNW_X86_64_R12: return PERF_REG_X86_R12;
	case UNW_X86_64_R13: return PERF_REG_X86_R13;
	case UNW_X86_64_R14: return PERF_REG_X86_R14;
	case UNW_X86_64_R15: return PERF_REG_X86_R15;
	case UNW_X86_64_RIP: return PERF_REG_X86_IP;
	default: return -1;
	}
}

static int access_reg(unw_addr_space_t as, unw_regnum_t regnum, unw_word_t *valp, int write,
		      void *arg)
{
	struct ctx *c = arg;
	int pr = perf_reg_of(regnum);
	if (write || pr < 0)
		return -UNW_EBADREG;
	*valp = c->in->regs[pr];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t num, unw_fpreg_t *val, int write,
			void *arg)
{
	return -UNW_EINVAL;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cu, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *bufp, size_t buf_len,
			 unw_word_t *offp, void *arg)
{
	return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

struct cp_unwinder *cp_unwinder_new(void)
{
	struct cp_unwinder *u = cp_xcalloc(1, sizeof(*u));
	cp_u64map_init(&u->spaces);
	return u;
}

void cp_unwinder_free(struct cp_unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->spaces.cap; i++)
		if (u->spaces.used[i])
			unw_destroy_addr_space((unw_addr_space_t)(uintptr_t)u->spaces.vals[i]);
	cp_u64map_release(&u->spaces);
	free(u);
}

void cp_unwinder_forget(struct cp_unwinder *u, const struct cp_space *space)
{
	uint64_t *v = cp_u64map_find(&u->spaces, (uint64_t)(uintptr_t)space);
	if (v) {
		unw_destroy_addr_space((unw_addr_space_t)(uintptr_t)*v);
		cp_u64map_del(&u->spaces, (uint64_t)(uintptr_t)space);
	}
}

static unw_addr_space_t space_of(struct cp_unwinder *u, const struct cp_space *space)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&u->spaces, (uint64_t)(uintptr_t)space, 0, &added);
	if (added) {
		unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
		unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
		unw_set_cache_size(as, 4096, 0);
		*v = (uint64_t)(uintptr_t)as;
	}
	return (unw_addr_space_t)(uintptr_t)*v;
}

/* Continue a DWARF walk that stopped early with the kernel's frame-pointer
 * chain: find the deepest DWARF frame (not the leaf) whose PC appears in
 * the chain, and append what the chain has beyond it.  Recursion repeats
 * PCs, so the frame is matched by occurrence: the c-th time its PC shows
 * up in the DWARF frames is the c-th time in the chain. */
static void splice(const struct cp_unwind_input *in, uint64_t *pcs, int max,
		   struct cp_unwind_result *res)
{
	if (!in->fp_chain || in->fp_len < 2 || res->n < 1)
		return;
	for (int k = res->n - 1; k >= 0; k--) {
		uint64_t j;
		if (k == 0) {
			/* nothing unwound past the leaf (JIT code without CFI):
			 * the whole chain, when it starts at the same PC */
			if (in->fp_chain[0] != pcs[0])
				return;
			j = 0;
		} else {
			uint64_t want = 0, seen = 0;
			for (int i = 1; i <= k; i++)
				want += pcs[i] == pcs[k];
			for (j = 1; j < in->fp_len; j++)
				if (in->fp_chain[j] == pcs[k] && ++seen == want)
					break;
			if (j >= in->fp_len)
				continue;
		}
		if (j + 1 >= in->fp_len)
			return; /* the chain has nothing beyond */
		int n = k + 1;
		for (uint64_t i = j + 1; i < in->fp_len && n < max; i++)
			pcs[n++] = in->fp_chain[i];
		res->n = n;
		res->spliced = true;
		return;
	}
}

void cp_unwind_dwarf(struct cp_unwinder *u, const struct cp_unwind_input *in, uint64_t *pcs,
		     int max, struct cp_unwind_result *res)
{
	memset(res, 0, sizeof(*res));
	if (max <= 0)
		return;
	struct ctx c = { .in = in, .sp = in->regs[PERF_REG_X86_SP] };
	pcs[0] = in->regs[PERF_REG_X86_IP];
	res->n = 1;
	unw_addr_space_t as = space_of(u, in->space);
	unw_cursor_t cur;
	if (unw_init_remote(&cur, as, &c) < 0) {
		res->stop = CP_UNWIND_BROKEN;
		return;
	}
	res->stop = CP_UNWIND_MAXDEPTH;
	while (res->n < max) {
		int r = unw_step(&cur);
		if (r == 0) {
			res->stop = CP_UNWIND_COMPLETE;
			break;
		}
		if (r < 0) {
			if (c.cut)
				res->stop = CP_UNWIND_CUT;
			else if (r == -UNW_ENOINFO || r == -UNW_EINVALIDIP)
				res->stop = CP_UNWIND_NOINFO;
			else
				res->stop = CP_UNWIND_BROKEN;
			break;
		}
		unw_word_t ip;
		unw_get_reg(&cur, UNW_REG_IP, &ip);
		if (ip == 0) {
			res->stop = CP_UNWIND_COMPLETE;
			break;
		}
		pcs[res->n++] = ip;
	}
	res->unmapped = c.unmapped;
	if (res->stop == CP_UNWIND_CUT)
		res->need_addr = c.need_addr;
	if (res->stop == CP_UNWIND_COMPLETE)
		res->read_end = c.read_end;
	if (res->stop == CP_UNWIND_CUT || res->stop == CP_UNWIND_NOINFO)
		splice(in, pcs, max, res);
}
