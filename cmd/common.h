/* common.h - what `record` and `attach` share at the command level: the
 * sampling options, their checks, the progress line and the summary.
 * (Commands never include each other; shared command-level code lives
 * here, algorithms in lib/.) */
#ifndef CPROF_CMD_COMMON_H
#define CPROF_CMD_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "opt.h"
#include "sample/sample.h"

struct sampling_args {
	const char *output, *event, *callgraph, *sampler;
	long freq, stack_size, duration, mmap_pages;
	bool quiet, wall;
};
#define SAMPLING_ARGS_INIT { "cprof.data", NULL, "dwarf", NULL, 999, 0, 0, 0, false, false }

/* The option-table rows both commands take (in this order). */
#define SAMPLING_OPTIONS(a)                                                                        \
	CP_OPT_STR_('o', "output", "FILE",                                                        \
		    "write the recording to FILE (default cprof.data, - for stdout)", &(a).output,     \
		    "file"),                                                                       \
	CP_OPT_LONG_('F', "freq", "HZ", "samples per second per thread (1..10000, default 999)",  \
		     &(a).freq, 1, 10000),                                                         \
	CP_OPT_STR_('e', "event", "EVENT",                                                        \
		    "cycles (default, falls back to cpu-clock), cpu-clock, task-clock", &(a).event,   \
		    "cycles|cpu-clock|task-clock"),                                                \
	CP_OPT_STR_(0, "call-graph", "MODE", "dwarf (default: unwind a stack copy with CFI) or fp", \
		    &(a).callgraph, "dwarf|fp"),                                                   \
	CP_OPT_LONG_(0, "stack-size", "BYTES",                                                    \
		     "user stack bytes copied per sample in dwarf mode (default 65528)",           \
		     &(a).stack_size, 8, 65528),                                                   \
	CP_OPT_LONG_('m', "mmap-pages", "N",                                                      \
		     "ring buffer pages per CPU, a power of two (default: automatic)",             \
		     &(a).mmap_pages, 1, 1 << 20),                                                 \
	CP_OPT_STR_(0, "sampler", "NAME",                                                         \
		    "perf (perf_event) or ptrace (default: perf, ptrace when perf_event is refused)", \
		    &(a).sampler, "perf|ptrace"),                                                  \
	CP_OPT_FLAG_(0, "wall", "wall-clock: sample blocked threads too (ptrace sampler)",       \
		     &(a).wall),                                                                   \
	CP_OPT_FLAG_('q', "quiet", "no progress line, notices or summary", &(a).quiet)

/* Validate; prints the usage error and returns 2, or 0. */
int sampling_check(const char *cmd, const char *const *usage, const struct cp_option *opts,
		   const struct sampling_args *a);
/* Fill the recording options from the arguments. */
void sampling_fill(const struct sampling_args *a, struct cp_record_opts *o);
/* Block the signals that end a recording (INT, TERM, HUP, QUIT) and put
 * them in *set, for a signalfd: the loop then sees them in order. */
void sampling_block_signals(sigset_t *set);
/* The progress line on stderr (only call when it is a terminal). */
void sampling_progress(const char *cmd, const struct cp_recorder *rec, uint64_t start_ns,
		       bool final);
/* Warnings for lost samples, the -v cost line, and the one-line summary. */
void sampling_summary(const char *cmd, const struct cp_recorder *rec,
		      const struct sampling_args *a);

#endif
