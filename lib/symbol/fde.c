/* fde.c - where a function starts and ends when no symbol says so.
 *
 * Every function a compiler emits (and each part of a split one, such as
 * "foo.cold") has its own FDE in .eh_frame, and .eh_frame_hdr lists the
 * FDEs sorted by start address for unwinders; linkers write it for every
 * program and library.  A binary search there and one FDE read give the
 * extent [pc_begin, pc_begin + pc_range) of the function holding an
 * address, which is what names a frame in stripped code ("libc.so.6+0x27200",
 * the same for every address of that function).
 *
 * Reads only the module's image (module.c); counts taken from the file are
 * bounded by the bytes of the segment that holds the table.
 */
#include "symbol/symbol.h"

#include <string.h>

#include "symbol/symbol-int.h"

/* DW_EH_PE_* pointer encodings */
#define PE_OMIT 0xff
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

/* A cursor over module bytes read through cp_module_read. */
struct cur {
	const struct cp_module *m;
	uint64_t at; /* vaddr of the next byte */
	bool bad;
};

static uint64_t rd_n(struct cur *c, size_t n)
{
	uint8_t b[8] = { 0 };
	if (c->bad || cp_module_read(c->m, c->at, b, n)) {
		c->bad = true;
		return 0;
	}
	c->at += n;
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static uint64_t rd_uleb(struct cur *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint64_t b = rd_n(c, 1);
		if (c->bad)
			return 0;
		v |= (b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static int64_t rd_sleb(struct cur *c)
{
	uint64_t v = 0, b = 0;
	unsigned shift = 0;
	do {
		b = rd_n(c, 1);
		if (c->bad)
			return 0;
		if (shift < 64)
			v |= (b & 0x7f) << shift;
		shift += 7;
	} while ((b & 0x80) && shift < 70);
	if (b & 0x80) {
		c->bad = true;
		return 0;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* The value of an encoded pointer's format (low 4 bits), sign-extended;
 * the caller applies the modifier. */
static uint64_t rd_value(struct cur *c, uint8_t enc, size_t addr_size)
{
	switch (enc & 0x0f) {
	case PE_ABSPTR:
		return rd_n(c, addr_size);
	case PE_ULEB128:
		return rd_uleb(c);
	case PE_UDATA2:
		return rd_n(c, 2);
	case PE_UDATA4:
		return rd_n(c, 4);
	case PE_UDATA8:
		return rd_n(c, 8);
	case PE_SLEB128:
		return (uint64_t)rd_sleb(c);
	case PE_SDATA2:
		return (uint64_t)(int64_t)(int16_t)rd_n(c, 2);
	case PE_SDATA4:
		return (uint64_t)(int64_t)(int32_t)rd_n(c, 4);
	case PE_SDATA8:
		return rd_n(c, 8);
	default:
		c->bad = true;
		return 0;
	}
}

/* An encoded pointer: absolute or pc-relative (the only modifiers FDEs
 * use; data-relative is .eh_frame_hdr's, applied by its caller). */
static uint64_t rd_ptr(struct cur *c, uint8_t enc, size_t addr_size)
{
	uint64_t here = c->at;
	uint64_t v = rd_value(c, enc, addr_size);
	switch (enc & 0x70) {
	case 0:
		break;
	case PE_PCREL:
		v += here;
		break;
	default:
		c->bad = true;
	}
	if (addr_size == 4)
		v &= 0xffffffffu;
	return v;
}

/* The FDE pointer encoding of the CIE at vaddr ('R' in its augmentation;
 * absptr without one).  -1 when the CIE cannot be read. */
static int cie_fde_encoding(const struct cp_module *m, uint64_t vaddr, size_t addr_size)
{
	struct cur c = { m, vaddr, false };
	uint64_t len = rd_n(&c, 4);
	if (len == 0xffffffffu)
		len = rd_n(&c, 8);
	uint64_t end = c.at + len;
	if (c.bad || len < 4 || rd_n(&c, 4) != 0) /* a CIE's id is 0 in .eh_frame */
		return -1;
	uint8_t version = (uint8_t)rd_n(&c, 1);
	char aug[16];
	size_t n = 0;
	for (;;) {
		char ch = (char)rd_n(&c, 1);
		if (c.bad || n + 1 >= sizeof(aug))
			return -1;
		aug[n++] = ch;
		if (!ch)
			break;
	}
	if (strstr(aug, "eh"))
		rd_n(&c, addr_size);
	rd_uleb(&c); /* code alignment */
	rd_sleb(&c); /* data alignment */
	if (version == 1)
		rd_n(&c, 1);
	else
		rd_uleb(&c); /* return address register */
	if (aug[0] != 'z')
		return c.bad ? -1 : PE_ABSPTR;
	rd_uleb(&c); /* augmentation data length */
	for (const char *a = aug + 1; *a && !c.bad && c.at < end; a++) {
		switch (*a) {
		case 'L':
			rd_n(&c, 1);
			break;
		case 'P': /* the personality routine: skipped, only its size counts */
			rd_value(&c, (uint8_t)rd_n(&c, 1), addr_size);
			break;
		case 'R': {
			int r = (int)rd_n(&c, 1);
			return c.bad ? -1 : r;
		}
		case 'S':
		case 'B':
			break;
		default:
			return -1;
		}
	}
	return c.bad ? -1 : PE_ABSPTR;
}

/* The extent of the FDE at vaddr (whose table entry says it starts at
 * start).  0, or -1 when it cannot be read or does not start there. */
static int fde_extent(const struct cp_module *m, uint64_t vaddr, uint64_t start, size_t addr_size,
		      uint64_t *lo, uint64_t *hi)
{
	struct cur c = { m, vaddr, false };
	uint64_t len = rd_n(&c, 4);
	size_t idsize = 4;
	if (len == 0xffffffffu) {
		len = rd_n(&c, 8);
		idsize = 8;
	}
	uint64_t id_at = c.at;
	uint64_t id = rd_n(&c, idsize);
	if (c.bad || len < idsize || id == 0 || id > id_at)
		return -1;
	int enc = cie_fde_encoding(m, id_at - id, addr_size);
	if (enc < 0 || enc == PE_OMIT)
		return -1;
	uint64_t begin = rd_ptr(&c, (uint8_t)enc, addr_size);
	uint64_t range = rd_value(&c, (uint8_t)(enc & 0x0f), addr_size);
	if (c.bad || begin != start || !range || begin + range < begin)
		return -1;
	*lo = begin;
	*hi = begin + range;
	return 0;
}

int sym_fde_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end)
{
	struct cp_module_unwind_info ui;
	if (m->kind != CP_MODULE_ELF && m->kind != CP_MODULE_VDSO)
		return -1;
	if (cp_module_unwind_info(m, &ui) || !ui.eh_frame_hdr || ui.eh_frame_hdr_size < 12)
		return -1;
	size_t addr_size = (size_t)cp_module_addr_bits(m) / 8;
	struct cur c = { m, ui.eh_frame_hdr, false };
	uint8_t hdr[4];
	if (cp_module_read(m, c.at, hdr, sizeof(hdr)))
		return -1;
	c.at += 4;
	/* version 1; the search table as every linker writes it (datarel
	 * sdata4 pairs) or nothing to search */
	if (hdr[0] != 1 || hdr[2] == PE_OMIT || hdr[3] != (PE_DATAREL | PE_SDATA4))
		return -1;
	rd_ptr(&c, hdr[1] & 0x7f, addr_size); /* eh_frame_ptr */
	uint64_t count = rd_value(&c, hdr[2], addr_size);
	if (c.bad)
		return -1;
	uint64_t table = c.at, used = table - ui.eh_frame_hdr;
	/* no more entries than the header's segment holds */
	if (used > ui.eh_frame_hdr_size || count > (ui.eh_frame_hdr_size - used) / 8)
		count = (ui.eh_frame_hdr_size - used) / 8;
	/* the last entry whose start is <= addr */
	uint64_t lo = 0, hi = count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct cur e = { m, table + mid * 8, false };
		uint64_t s = ui.eh_frame_hdr + (uint64_t)(int64_t)(int32_t)rd_n(&e, 4);
		if (e.bad)
			return -1;
		if (addr_size == 4)
			s &= 0xffffffffu;
		if (s <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	struct cur e = { m, table + (lo - 1) * 8, false };
	uint64_t s = ui.eh_frame_hdr + (uint64_t)(int64_t)(int32_t)rd_n(&e, 4);
	uint64_t f = ui.eh_frame_hdr + (uint64_t)(int64_t)(int32_t)rd_n(&e, 4);
	if (e.bad)
		return -1;
	if (addr_size == 4) {
		s &= 0xffffffffu;
		f &= 0xffffffffu;
	}
	uint64_t flo, fhi;
	if (fde_extent(m, f, s, addr_size, &flo, &fhi) || addr < flo || addr >= fhi)
		return -1;
	*start = flo;
	*end = fhi;
	return 0;
}
