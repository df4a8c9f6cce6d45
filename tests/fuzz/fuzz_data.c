/* fuzz_data.c - libFuzzer harness for the cprof.data reader: any input
 * must give a profile or an error, never a crash, leak or out-of-bounds
 * read.  Seeds: tests/fuzz/corpus/data/.
 *
 * Two modes, so mutations reach the record decoder instead of dying at
 * the chunk checksum:
 *  - input starting with "CPROFDAT" is a data file; the checksums of
 *    chunks that lie fully inside it are recomputed, then it is read;
 *  - any other input is a list of raw chunk payloads separated by "CCHK",
 *    each starting with its chunk type byte; the harness compresses them
 *    into a well-formed file and reads that.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "data/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void read_and_walk(const uint8_t *buf, size_t len)
{
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	if (cp_data_read_mem(buf, len, "fuzz", &p, &err) != 0)
		return;
	/* touch what a report would: every sample's stack, lines and values */
	uint64_t sum = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		uint32_t n;
		const uint32_t *locs = cp_profile_stack_locs(p, p->samples.v[i].stack, &n);
		sum += strlen(p->samples.v[i].comm);
		sum += strlen(p->samples.v[i].syscall); /* readers never leave it NULL */
		for (uint32_t j = 0; j < n; j++) {
			const struct cp_profile_location *l = &p->locations.v[locs[j]];
			sum += l->address;
			for (uint32_t k = 0; k < l->nlines; k++)
				sum += strlen(
					p->functions.v[p->lines.v[l->line_start + k].function].name);
		}
		if (p->value_types.n)
			sum += (uint64_t)cp_profile_sample_values(p, i)[0];
	}
	(void)sum;
	cp_profile_free(p);
}

/* Count the (type, length, body) records of a raw payload. */
static uint32_t count_records(const uint8_t *p, size_t len)
{
	struct cp_rd r = { p, p + len, false };
	uint32_t n = 0;
	while (r.p < r.end) {
		uint64_t t, l;
		const uint8_t *b;
		if (cp_rd_uvarint(&r, &t) || cp_rd_uvarint(&r, &l) || l > (uint64_t)(r.end - r.p) ||
		    cp_rd_bytes(&r, &b, (size_t)l))
			break;
		n++;
	}
	return n;
}

static void fuzz_payloads(const uint8_t *data, size_t size)
{
	struct cp_buf f = { 0 };
	uint8_t h[64] = CP_DATA_MAGIC;
	put32(h + 8, CP_DATA_VERSION);
	put32(h + 12, 64);
	cp_buf_add(&f, h, sizeof(h));
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *next = memmem(p, (size_t)(end - p), "CCHK", 4);
		const uint8_t *stop = next ? next : end;
		if (stop > p) {
			uint32_t type = p[0] % 5;
			size_t rlen = (size_t)(stop - p - 1);
			size_t bound = ZSTD_compressBound(rlen);
			uint8_t *c = malloc(bound);
			size_t clen = ZSTD_compress(c, bound, p + 1, rlen, 1);
			if (!ZSTD_isError(clen)) {
				uint8_t ch[24] = "CCHK";
				put32(ch + 4, type);
				put32(ch + 8, (uint32_t)clen);
				put32(ch + 12, (uint32_t)rlen);
				put32(ch + 16, (uint32_t)crc32(0, c, (uInt)clen));
				put32(ch + 20, count_records(p + 1, rlen));
				cp_buf_add(&f, ch, sizeof(ch));
				cp_buf_add(&f, c, clen);
			}
			free(c);
		}
		p = next ? next + 4 : end;
	}
	read_and_walk(f.p, f.len);
	cp_buf_release(&f);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size);
	memcpy(b, data, size);
	size_t off = size >= 64 ? 64 : size;
	while (size - off >= 24 && memcmp(b + off, "CCHK", 4) == 0) {
		uint32_t clen = get32(b + off + 8);
		if (clen > size - off - 24)
			break;
		put32(b + off + 16, (uint32_t)crc32(0, b + off + 24, clen));
		off += 24 + (size_t)clen;
	}
	read_and_walk(b, size);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 8 && memcmp(data, CP_DATA_MAGIC, 8) == 0)
		fuzz_file(data, size);
	else
		fuzz_payloads(data, size);
	return 0;
}
