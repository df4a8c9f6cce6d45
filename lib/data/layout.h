/* layout.h - private to lib/data: the on-disk constants of cprof.data
 * shared by the writer and the reader.  man/cprof-data.5 is the
 * user-facing description; keep the two in step. */
#ifndef CPROF_DATA_FORMAT_H
#define CPROF_DATA_FORMAT_H

#include <stdint.h>
#include <string.h>

#define DF_HEADER_SIZE 64
#define DF_CHUNK_MAGIC "CCHK"
#define DF_CHUNK_HEADER_SIZE 24
/* Writers start a new chunk once the raw payload passes this. */
#define DF_CHUNK_TARGET (1u << 20)
/* Readers reject chunks larger than this (compressed or raw). */
#define DF_CHUNK_MAX (16u << 20)
/* Readers reject profiles with more value types than this. */
#define DF_MAX_VALUE_TYPES 64
/* Writers keep one batch record's body below this. */
#define DF_BATCH_TARGET (64u << 10)
#define DF_ZSTD_LEVEL 3

enum df_chunk_type {
	DF_CHUNK_DATA = 1,
	DF_CHUNK_SYMBOLS = 2,
	DF_CHUNK_END = 3,
};

enum df_record_type {
	DF_REC_STRINGS = 1,
	DF_REC_VALUE_TYPE = 2,
	DF_REC_META = 3,
	DF_REC_MAPPING = 4,
	DF_REC_LOCATIONS = 5,
	DF_REC_STACKS = 6,
	DF_REC_SAMPLES = 7,
	DF_REC_FUNCTIONS = 8,
	DF_REC_LINES = 9,
	DF_REC_TOTALS = 10,
	DF_REC_CODE = 11,      /* stored machine code and line rows of functions */
	DF_REC_CODE_INFO = 12, /* the code size cap and the functions left out */
	DF_REC_FUNC_FLAGS = 13, /* flags of functions (CP_FUNC_*), only the nonzero ones */
};

/* per-sample field bits (first byte of each sample in a SAMPLES record) */
#define DF_S_PID 0x01u
#define DF_S_TID 0x02u
#define DF_S_COMM 0x04u
#define DF_S_FLAGS 0x08u
#define DF_S_CPU 0x10u
#define DF_S_SAME_VALUES 0x20u
#define DF_S_SAME_STACK 0x40u
#define DF_S_RESERVED 0x80u

static inline void df_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void df_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t df_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t df_get64(const uint8_t *p)
{
	return (uint64_t)df_get32(p) | (uint64_t)df_get32(p + 4) << 32;
}

#endif
