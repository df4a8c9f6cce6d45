/* lines.c - decode one compile unit's DWARF line program (versions 2-5)
 * into a flat, address-sorted row array for binary search.
 *
 * libdw's dwarf_getsrclines() would do, but it sorts rows across sequences
 * (a sequence's last zero-length row lands after its end marker) and it
 * cannot say which rows took the default file; binutils' addr2line, which
 * `cprof symbolize` must match, keeps sequences apart, drops nested ones,
 * trims overlapping ones and names the default file after entry 0 in
 * DWARF 5.  Decoding here reproduces that and is faster too.
 *
 * File names come from the caller (libdw's file table, joined with the
 * compilation directory); this file reads only the opcodes.
 */
#include <stdlib.h>
#include <string.h>

#include "symbol/symbol-int.h"

struct lp {
	const uint8_t *p, *end;
	bool bad;
};

static uint8_t rd_u8(struct lp *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

static uint64_t rd_fixed(struct lp *r, unsigned n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct lp *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (;;) {
		uint8_t b = rd_u8(r);
		if (r->bad)
			return 0;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t rd_sleb(struct lp *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		b = rd_u8(r);
		if (r->bad)
			return 0;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift; /* sign-extend (shift 63: no signed overflow) */
	return (int64_t)v;
}

/* The fixed part of a line program header. */
struct hdr {
	unsigned version, offsz;
	unsigned min_inst, max_ops, line_range, opcode_base;
	int line_base;
	const uint8_t *std_len;             /* standard_opcode_lengths[1 .. opcode_base-1] */
	const uint8_t *tables, *prog, *end; /* file tables, program, unit end */
};

static int read_header(const uint8_t *sec, size_t secsize, uint64_t off, struct hdr *h)
{
	if (off >= secsize)
		return -1;
	struct lp r = { sec + off, sec + secsize, false };
	uint64_t len = rd_fixed(&r, 4);
	h->offsz = 4;
	if (len == 0xffffffff) {
		len = rd_fixed(&r, 8);
		h->offsz = 8;
	}
	if (r.bad || len > (uint64_t)(r.end - r.p))
		return -1;
	r.end = h->end = r.p + len;
	h->version = (unsigned)rd_fixed(&r, 2);
	if (h->version < 2 || h->version > 5)
		return -1;
	if (h->version >= 5)
		rd_fixed(&r, 2); /* address and segment selector sizes */
	uint64_t hlen = rd_fixed(&r, h->offsz);
	if (r.bad || hlen > (uint64_t)(r.end - r.p))
		return -1;
	h->prog = r.p + hlen;
	h->min_inst = rd_u8(&r);
	h->max_ops = h->version >= 4 ? rd_u8(&r) : 1;
	rd_u8(&r); /* default_is_stmt: bfd keeps every row */
	h->line_base = (int8_t)rd_u8(&r);
	h->line_range = rd_u8(&r);
	h->opcode_base = rd_u8(&r);
	h->std_len = r.p - 1;
	/* header_length may be shorter than the fields just read */
	if (r.bad || !h->line_range || !h->opcode_base || h->prog < r.p ||
	    (size_t)(h->prog - r.p) < h->opcode_base - 1u)
		return -1;
	if (!h->max_ops)
		h->max_ops = 1;
	h->tables = r.p + h->opcode_base - 1;
	return 0;
}

/* The line-number state machine, appending rows and sequences to the
 * scratch vectors (reused from CU to CU: no page faults on fresh memory
 * for every unit). */
struct lsm {
	const struct hdr *h;
	struct sym_line_scratch *sc;
	const char *const *names;
	size_t nnames;
	uint64_t file0; /* bfd starts each sequence in file entry 0 for DWARF 5, 1 before */
	uint64_t addr, op_index, file;
	int64_t line;
	unsigned discr;
	size_t seq_first;
};

static void lsm_reset(struct lsm *s)
{
	s->addr = s->op_index = 0;
	s->file = s->file0;
	s->line = 1;
	s->discr = 0;
}

static void lsm_emit(struct lsm *s, bool end)
{
	struct dw_row row = { s->addr, s->file < s->nnames ? s->names[s->file] : NULL,
			      (int32_t)s->line, s->discr, end };
	CP_VEC_PUSH(s->sc->rows, row);
	s->discr = 0;
}

static void lsm_advance(struct lsm *s, uint64_t adv)
{
	if (s->h->max_ops == 1) {
		s->addr += s->h->min_inst * adv;
	} else {
		s->addr += s->h->min_inst * ((s->op_index + adv) / s->h->max_ops);
		s->op_index = (s->op_index + adv) % s->h->max_ops;
	}
}

/* The line register wraps on hostile input instead of overflowing. */
static void line_add(struct lsm *s, int64_t d)
{
	s->line = (int64_t)((uint64_t)s->line + (uint64_t)d);
}

/* One extended opcode; false when the program is cut short. */
static bool lsm_extended(struct lsm *s, struct lp *r)
{
	uint64_t len = rd_uleb(r);
	if (r->bad || len > (uint64_t)(r->end - r->p))
		return false;
	const uint8_t *next = r->p + len;
	if (!len)
		return true;
	switch (rd_u8(r)) {
	case 1: /* DW_LNE_end_sequence */
		lsm_emit(s, true);
		if (s->sc->rows.n > s->seq_first) {
			struct sym_seq q = { s->seq_first, s->sc->rows.n - s->seq_first,
					     s->sc->rows.v[s->seq_first].addr, s->addr };
			CP_VEC_PUSH(s->sc->seqs, q);
		}
		s->seq_first = s->sc->rows.n;
		lsm_reset(s);
		break;
	case 2: /* DW_LNE_set_address */
		if (len - 1 <= 8)
			s->addr = rd_fixed(r, (unsigned)(len - 1));
		s->op_index = 0;
		break;
	case 4: /* DW_LNE_set_discriminator */
		s->discr = (unsigned)rd_uleb(r);
		break;
	default: /* define_file and vendor opcodes: skipped */
		break;
	}
	r->p = next;
	return true;
}

static void lsm_run(struct lsm *s, struct lp *r)
{
	const struct hdr *h = s->h;
	while (r->p < r->end && !r->bad) {
		uint8_t op = rd_u8(r);
		if (op >= h->opcode_base) {
			unsigned adj = op - h->opcode_base;
			lsm_advance(s, adj / h->line_range);
			line_add(s, h->line_base + (int)(adj % h->line_range));
			lsm_emit(s, false);
			continue;
		}
		switch (op) {
		case 0:
			if (!lsm_extended(s, r))
				return;
			break;
		case 1: /* DW_LNS_copy */
			lsm_emit(s, false);
			break;
		case 2: /* DW_LNS_advance_pc */
			lsm_advance(s, rd_uleb(r));
			break;
		case 3: /* DW_LNS_advance_line */
			line_add(s, rd_sleb(r));
			break;
		case 4: /* DW_LNS_set_file */
			s->file = rd_uleb(r);
			break;
		case 8: /* DW_LNS_const_add_pc */
			lsm_advance(s, (255u - h->opcode_base) / h->line_range);
			break;
		case 9: /* DW_LNS_fixed_advance_pc */
			s->addr += rd_fixed(r, 2);
			s->op_index = 0;
			break;
		default: /* column, stmt, basic block, prologue, epilogue, isa, vendor */
			for (unsigned i = 0; i < h->std_len[op]; i++)
				rd_uleb(r);
			break;
		}
	}
}

static int cmp_seq(const void *a, const void *b)
{
	const struct sym_seq *x = a, *y = b;
	if (x->low != y->low)
		return x->low < y->low ? -1 : 1;
	if (x->high != y->high)
		return x->high > y->high ? -1 : 1;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Append a row, keeping the array minimal for the same answers: of rows
 * at one address only the last counts (bfd), and a row saying what the one
 * before it says only extends it. */
static size_t put_row(struct dw_row *rows, size_t k, const struct dw_row *r)
{
	if (k && rows[k - 1].addr == r->addr)
		rows[--k] = *r;
	else
		rows[k] = *r;
	k++;
	if (k >= 2 && !rows[k - 1].end && !rows[k - 2].end &&
	    rows[k - 1].line == rows[k - 2].line && rows[k - 1].discr == rows[k - 2].discr &&
	    rows[k - 1].file == rows[k - 2].file)
		k--;
	return k;
}

/* Sequences in address order as bfd's sort_line_sequences leaves them:
 * nested ones dropped, overlapping ones trimmed; rows after the last
 * end_sequence belong to no sequence and are dropped too. */
static struct dw_row *assemble(struct sym_line_scratch *sc, size_t *nrows)
{
	if (sc->seqs.n)
		qsort(sc->seqs.v, sc->seqs.n, sizeof(*sc->seqs.v), cmp_seq);
	const struct dw_row *tmp = sc->rows.v;
	struct dw_row *rows = cp_xmalloc((sc->rows.n + 1) * sizeof(*rows));
	size_t k = 0;
	uint64_t last_high = 0;
	for (size_t i = 0; i < sc->seqs.n; i++) {
		const struct sym_seq *s = &sc->seqs.v[i];
		size_t j = s->first, e = s->first + s->n;
		if (i && s->low < last_high) {
			if (s->high <= last_high)
				continue;
			while (j + 1 < e && tmp[j + 1].addr <= last_high)
				j++;
			struct dw_row first = tmp[j];
			first.addr = last_high;
			k = put_row(rows, k, &first);
			j++;
		}
		for (; j < e; j++)
			k = put_row(rows, k, &tmp[j]);
		last_high = s->high;
	}
	*nrows = k;
	return rows;
}

int sym_decode_lines(const uint8_t *sec, size_t secsize, uint64_t off, const char *const *names,
		     size_t nnames, struct sym_line_scratch *sc, struct dw_row **rows,
		     size_t *nrows)
{
	*rows = NULL;
	*nrows = 0;
	struct hdr h;
	if (read_header(sec, secsize, off, &h) < 0)
		return -1;
	struct lsm s = { .h = &h, .sc = sc, .names = names, .nnames = nnames };
	s.file0 = h.version >= 5 ? 0 : 1;
	lsm_reset(&s);
	sc->rows.n = 0;
	sc->seqs.n = 0;
	struct lp r = { h.prog, h.end, false };
	lsm_run(&s, &r);
	*rows = assemble(sc, nrows);
	return 0;
}

/* ---- the file table ------------------------------------------------------ */

static const char *sec_str(const struct sym_str_secs *ss, int which, uint64_t off)
{
	const uint8_t *p = which ? ss->line_str : ss->str;
	size_t n = which ? ss->line_str_size : ss->str_size;
	if (!p || off >= n || !memchr(p + off, '\0', n - off))
		return NULL;
	return (const char *)p + off;
}

/* One attribute of a DWARF 5 directory or file entry: the string for
 * DW_LNCT_path, the number for DW_LNCT_directory_index, nothing else. */
static bool read_form(struct lp *r, uint64_t form, unsigned offsz, const struct sym_str_secs *ss,
		      const char **str, uint64_t *num)
{
	*str = NULL;
	*num = 0;
	switch (form) {
	case 0x08: /* DW_FORM_string */ {
		const uint8_t *z = memchr(r->p, '\0', (size_t)(r->end - r->p));
		if (!z)
			return false;
		*str = (const char *)r->p;
		r->p = z + 1;
		return true;
	}
	case 0x1f: /* DW_FORM_line_strp */
		*str = sec_str(ss, 1, rd_fixed(r, offsz));
		return !r->bad;
	case 0x0e: /* DW_FORM_strp */
		*str = sec_str(ss, 0, rd_fixed(r, offsz));
		return !r->bad;
	case 0x0f: /* DW_FORM_udata */
		*num = rd_uleb(r);
		return !r->bad;
	case 0x0b:
		*num = rd_fixed(r, 1);
		return !r->bad;
	case 0x05:
		*num = rd_fixed(r, 2);
		return !r->bad;
	case 0x06:
		*num = rd_fixed(r, 4);
		return !r->bad;
	case 0x07:
		*num = rd_fixed(r, 8);
		return !r->bad;
	case 0x1e: /* DW_FORM_data16 (MD5) */
		rd_fixed(r, 8);
		rd_fixed(r, 8);
		return !r->bad;
	case 0x09: { /* DW_FORM_block */
		uint64_t n = rd_uleb(r);
		if (r->bad || n > (uint64_t)(r->end - r->p))
			return false;
		r->p += n;
		return true;
	}
	default: /* strx and others: not produced for line tables by gcc/clang */
		return false;
	}
}

/* bfd's concat_filename: a relative name goes under its directory, and a
 * relative directory under the compilation directory. */
static char *join_name(const char *name, const char *dir, const char *comp_dir)
{
	if (name[0] == '/')
		return cp_xstrdup(name);
	const char *top = comp_dir, *sub = dir;
	if (sub && sub[0] == '/')
		top = NULL;
	if (!top) {
		top = sub;
		sub = NULL;
	}
	if (!top)
		return cp_xstrdup(name);
	if (sub)
		return cp_xasprintf("%s/%s/%s", top, sub, name);
	return cp_xasprintf("%s/%s", top, name);
}

int sym_line_files(const uint8_t *sec, size_t secsize, uint64_t off, const char *comp_dir,
		   const struct sym_str_secs *ss, char ***names_out, size_t *n_out)
{
	*names_out = NULL;
	*n_out = 0;
	struct hdr h;
	if (read_header(sec, secsize, off, &h) < 0)
		return -1;
	struct lp r = { h.tables, h.prog, false };
	CP_VEC(const char *) dirs = { 0 };
	CP_VEC(char *) names = { 0 };
	int rc = 0;
	if (h.version < 5) {
		/* dirs[0] = compilation directory; names[0] unused */
		CP_VEC_PUSH(dirs, NULL);
		CP_VEC_PUSH(names, NULL);
		for (;;) {
			const char *s;
			uint64_t num;
			if (r.p >= r.end || !*r.p)
				break;
			if (!read_form(&r, 0x08, h.offsz, ss, &s, &num)) {
				rc = -1;
				goto out;
			}
			CP_VEC_PUSH(dirs, s);
		}
		r.p++;
		for (;;) {
			const char *s;
			uint64_t num;
			if (r.p >= r.end || !*r.p)
				break;
			if (!read_form(&r, 0x08, h.offsz, ss, &s, &num)) {
				rc = -1;
				goto out;
			}
			uint64_t di = rd_uleb(&r);
			rd_uleb(&r);
			rd_uleb(&r);
			if (r.bad) {
				rc = -1;
				goto out;
			}
			const char *dir = di && di < dirs.n ? dirs.v[di] : NULL;
			CP_VEC_PUSH(names, join_name(s, dir, comp_dir));
		}
	} else {
		for (int pass = 0; pass < 2; pass++) {
			unsigned nfmt = rd_u8(&r);
			uint64_t fmt[16][2];
			if (nfmt > 16) {
				rc = -1;
				goto out;
			}
			for (unsigned i = 0; i < nfmt; i++) {
				fmt[i][0] = rd_uleb(&r);
				fmt[i][1] = rd_uleb(&r);
			}
			uint64_t count = rd_uleb(&r);
			if (r.bad || count > (uint64_t)(r.end - r.p)) {
				rc = -1;
				goto out;
			}
			for (uint64_t k = 0; k < count; k++) {
				const char *path = NULL;
				uint64_t di = 0;
				for (unsigned i = 0; i < nfmt; i++) {
					const char *s;
					uint64_t num;
					if (!read_form(&r, fmt[i][1], h.offsz, ss, &s, &num)) {
						rc = -1;
						goto out;
					}
					if (fmt[i][0] == 1) /* DW_LNCT_path */
						path = s;
					else if (fmt[i][0] == 2) /* DW_LNCT_directory_index */
						di = num;
				}
				if (pass == 0) {
					CP_VEC_PUSH(dirs, path);
				} else {
					const char *dir = di < dirs.n ? dirs.v[di] : NULL;
					CP_VEC_PUSH(names,
						    path ? join_name(path, dir, comp_dir) : NULL);
				}
			}
		}
	}
out:
	CP_VEC_FREE(dirs);
	if (rc < 0) {
		for (size_t i = 0; i < names.n; i++)
			free(names.v[i]);
		CP_VEC_FREE(names);
		return -1;
	}
	*names_out = names.v;
	*n_out = names.n;
	return 0;
}
