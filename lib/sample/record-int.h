/* record-int.h - the recorder's state, shared by the files of lib/sample
 * that make up a recording session: record.c (samples and records in),
 * code.c (the sampled functions' machine code) and cut.c (the periods of
 * a continuous recording).  Not for other modules: they use sample.h. */
#ifndef CPROF_SAMPLE_RECORD_INT_H
#define CPROF_SAMPLE_RECORD_INT_H

#include "sample/sample.h"

#include "data/data.h"
#include "profile/profile.h"
#include "symbol/symbol.h"
#include "unwind/unwind.h"

#define MAX_FRAMES 2048

struct tid_info {
	const char *comm;   /* interned in the model */
	uint64_t stack_top; /* end of the stack VMA, 0 = not looked up, 1 = unknown */
	uint64_t read_end;  /* highest stack end a complete walk of it needed */
};

struct cp_recorder {
	struct cp_record_opts opts;
	struct cp_profile *model;
	struct cp_data_writer *writer;
	struct cp_symbolizer *symz;
	struct cp_unwinder *unw;
	struct cp_perf *perf;
	struct cp_ptrace *pt;
	struct cp_u64map reloaded; /* ptrace: pid -> when its maps were last read */
	struct cp_u64map roots;    /* pid -> struct cp_proc_root* (where its files are) */
	CP_VEC(uint32_t) map_pids; /* model mapping index -> a pid that maps it */
	CP_VEC(uint32_t) leaf_hits; /* location -> samples with it as the leaf */

	struct cp_u64map spaces;  /* pid -> struct cp_space* */
	struct cp_u64map tids;    /* tid -> struct tid_info* */
	struct cp_intern map_keys; /* "path\0build_id" -> model mapping index */
	CP_VEC(struct cp_module *) map_modules; /* model mapping index -> module (nullable) */
	CP_VEC(struct cp_u64map *) locmaps;     /* model mapping index -> addr -> location */
	struct cp_u64map unknown_locs;          /* absolute addr -> location (no mapping) */
	uint32_t kernel_mapping;

	uint64_t start_ns, last_flush_ns;
	struct cp_record_stats st;
	struct cp_u64map seen_pids;
	uint64_t pcs[MAX_FRAMES];
	uint32_t locs[MAX_FRAMES];
	bool finished;
	int64_t vals[2];
	int exit_status; /* the target's, set when finishing; -1 unknown */

	/* stored code (code.c): function -> mapping path already handled */
	struct cp_u64map code_done;
	uint64_t code_used;
	bool code_full;

	/* continuous recording (cut.c): the current period's samples */
	CP_VEC(struct cp_profile_sample) psamples;
	CP_VEC(int64_t) pvalues; /* 2 per sample: samples, then the period */
	uint64_t period_start_ns, period_lost_base;
	uint32_t symbolized; /* locations below this index were symbolized */
	bool debuginfod_on;
};

/* record.c: open what symbolizing needs and was left for the end: the
 * kernel's symbols (loading them on the first kernel sample would stall
 * the ring reader), JIT maps that appeared late, and debuginfod. */
void rec_open_late_modules(struct cp_recorder *r);
/* code.c: store the code and line rows of the functions with samples of
 * their own that were not handled before, up to opts.code_max bytes for
 * the whole run; sets the model's meta.code_max and code_skipped. */
void rec_store_code(struct cp_recorder *r);

#endif
