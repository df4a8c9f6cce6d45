/* common.h - what commands share at the command level: for `record` and
 * `attach` the sampling options, their checks, the progress line and the
 * summary; for `report`, `convert` and `flame` the input (which one, any
 * format), the sample filters, --sample-type and atomic output files.
 * (Commands never include each other; shared command-level code lives
 * here, algorithms in lib/.) */
#ifndef CPROF_CMD_COMMON_H
#define CPROF_CMD_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "format/format.h"
#include "input/input.h"
#include "opt.h"
#include "period/period.h"
#include "profile/profile.h"
#include "sample/sample.h"

struct sampling_args {
	const char *output, *event, *callgraph, *sampler;
	long freq, stack_size, duration, mmap_pages;
	bool quiet, wall;
	const char *code_max; /* --code-max SIZE, NULL = the default */
	long debuginfod_timeout; /* seconds for all debuginfod fetches, 0 = none */
	/* continuous recording: --every and what goes with it */
	const char *every, *output_dir, *formats, *title;
	long keep;
	bool all_cpus, user_only;
	/* --push: each period to a cprof serve store */
	const char *push, *service, *labels, *push_token_file, *push_ca, *spool_dir, *spool_max;
};
#define SAMPLING_ARGS_INIT                                                                         \
	{ NULL, NULL, "dwarf", NULL, 999, 0, 0, 0, false, false, NULL, CP_RECORD_DEBUGINFOD_TIMEOUT, \
	  NULL, NULL, NULL, NULL, 0, false, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

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
	CP_OPT_STR_(0, "code-max", "SIZE",                                                        \
		    "store at most SIZE bytes of machine code for annotate (K, M, G suffixes; "     \
		    "default 8M, 0 = none)",                                                       \
		    &(a).code_max, NULL),                                                          \
	CP_OPT_LONG_(0, "debuginfod-timeout", "SECONDS",                                          \
		     "with DEBUGINFOD_URLS set, fetch missing debug files for at most SECONDS "   \
		     "at the end (default 30, 0 = never)",                                         \
		     &(a).debuginfod_timeout, 0, 3600),                                            \
	CP_OPT_FLAG_('a', "all-cpus", "every process on the machine (as perf -a; perf_event only)", \
		     &(a).all_cpus),                                                               \
	CP_OPT_FLAG_(0, "user-only", "leave out kernel frames and samples taken in the kernel",    \
		     &(a).user_only),                                                              \
	CP_OPT_STR_(0, "every", "DURATION",                                                      \
		    "continuous: end a period every DURATION (60s, 500ms, 2m) and write each "   \
		    "into --output-dir; SIGUSR2 ends one at once",                                \
		    &(a).every, NULL),                                                             \
	CP_OPT_STR_(0, "output-dir", "DIR", "with --every: where the periods go (default .)",    \
		    &(a).output_dir, "dir"),                                                       \
	CP_OPT_STR_(0, "format", "LIST",                                                          \
		    "with --every: cprof, pprof, svg, folded, comma-separated (default "          \
		    "cprof,pprof,svg)",                                                            \
		    &(a).formats, "cprof|pprof|svg|folded"),                                       \
	CP_OPT_LONG_(0, "keep", "N", "with --every: keep the newest N periods of each format",   \
		     &(a).keep, 1, 100000000),                                                     \
	CP_OPT_STR_(0, "title", "TEXT", "with --every: the flame graphs' title", &(a).title,      \
		    NULL),                                                                         \
	CP_OPT_STR_(0, "push", "URL",                                                             \
		    "with --every: send each period to a cprof serve --data store at URL "        \
		    "(spooled, retried while the server is away)",                                 \
		    &(a).push, NULL),                                                              \
	CP_OPT_STR_(0, "service", "NAME", "with --push: the service the periods are stored under", \
		    &(a).service, NULL),                                                           \
	CP_OPT_STR_(0, "labels", "K=V,...", "with --push: labels stored with each period",       \
		    &(a).labels, NULL),                                                            \
	CP_OPT_STR_(0, "push-token-file", "FILE",                                                 \
		    "with --push: send 'Authorization: Bearer TOKEN', the file's first line",     \
		    &(a).push_token_file, "file"),                                                 \
	CP_OPT_STR_(0, "push-ca", "FILE", "with --push over https: the server's PEM CA",         \
		    &(a).push_ca, "file"),                                                         \
	CP_OPT_STR_(0, "spool-dir", "DIR",                                                        \
		    "with --push: where periods wait to be sent (default OUTPUT-DIR/.spool, or "  \
		    "the cache's spool/SERVICE)",                                                  \
		    &(a).spool_dir, "dir"),                                                        \
	CP_OPT_STR_(0, "spool-max", "SIZE",                                                       \
		    "with --push: most bytes waiting; beyond, the oldest go (default 256M)",      \
		    &(a).spool_max, NULL),                                                         \
	CP_OPT_FLAG_('q', "quiet", "no progress line, notices or summary", &(a).quiet)

/* argv joined with spaces, for a file's meta (malloc'ed). */
char *cmd_join_args(char **argv);
/* The command line of process pid, its arguments joined with spaces
 * (malloc'ed), or NULL when it cannot be read. */
char *cmd_proc_cmdline(pid_t pid);

/* A size in bytes with an optional K, M or G suffix (powers of 1024):
 * 0, or -1 when s is not one. */
int cmd_parse_size(const char *s, uint64_t *out);

/* Continuous recording (--every): the period writer and the next cut. */
struct cp_push;
struct periodic {
	struct cp_period_writer *w; /* NULL: one recording, no periods */
	struct cp_push *push;       /* --push, NULL none */
	uint64_t every_ns, next_cut;
	bool cut_now; /* SIGUSR2 asked for a cut */
	uint64_t periods;
};
/* Start the period writer when --every was given (0; 1 with the error
 * printed). */
int periodic_start(const char *cmd, const struct sampling_args *a, struct periodic *P);
/* Once the recorder exists: the periods follow its start (the first one
 * is a whole period however long the launch took). */
void periodic_anchor(struct periodic *P, const struct cp_recorder *rec);
/* How long the loop may wait in poll (ms): dflt, or less when a cut is due
 * sooner. */
int periodic_timeout(const struct periodic *P, int dflt);
/* Cut and queue a period when one is due (or SIGUSR2 asked). */
void periodic_tick(struct periodic *P, struct cp_recorder *rec);
/* After cp_recorder_finish: the last (partial) period, then wait for the
 * writer; prints where the periods went.  Returns 0 or 1 (a period could
 * not be written).  With rec NULL (nothing recorded) it only stops the
 * writer; a second call does nothing. */
int periodic_finish(const char *cmd, struct periodic *P, struct cp_recorder *rec,
		    const struct sampling_args *a);

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

/* ---- reading profiles: report, convert, flame ---------------------------- */

/* A sample filter built from the --comm, --pid and --tid lists; the id
 * arrays are owned (io_filter_release), the comm names borrowed from the
 * list. */
struct io_filter {
	struct cp_view_filter f;
	uint32_t *pids, *tids;
};
/* Fill fs from the lists; CP_E_USAGE names a bad id ("bad pid 'x' ..."). */
int io_filter_make(const struct cp_strlist *comms, const struct cp_strlist *pids,
		   const struct cp_strlist *tids, bool user_only, struct io_filter *fs,
		   struct cp_error *err);
void io_filter_release(struct io_filter *fs);
/* The option-table rows of that filter; `a` has cp_strlist fields comms,
 * pids and tids, and a bool user_only. */
#define IO_FILTER_OPTIONS(a)                                                                       \
	CP_OPT_LIST_(0, "comm", "<list>", "only samples of these thread names", &(a).comms, NULL), \
	CP_OPT_LIST_(0, "pid", "<list>", "only samples of these process ids", &(a).pids, "pid"),   \
	CP_OPT_LIST_(0, "tid", "<list>", "only samples of these thread ids", &(a).tids, NULL),     \
	CP_OPT_FLAG_(0, "user-only",                                                              \
		     "leave out kernel frames, and samples with no frame outside the kernel",     \
		     &(a).user_only)

/* The input when -i is not given: "-" when standard input is a pipe or a
 * redirected file (`perf script | cprof flame`), else "cprof.data". */
const char *io_default_input(void);

/* Parse a --from value (NULL = detect); prints the usage error and returns
 * 2, or 0. */
int io_parse_from(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  const char *s, enum cp_input_format *out);

/* Read the input with cp_input_read; prints errors, warns about a
 * truncated recording (and symbolizes what it can, as report always
 * did).  Returns the profile or NULL (the error was printed). */
struct cp_profile *io_load(const char *cmd, const char *path, enum cp_input_format from,
			   struct cp_input_info *info);

/* The value index for --sample-type TYPE: the named type (unknown names
 * print "unknown sample type 'x' (this profile has: samples, cpu)" and
 * return -1); without a name, the "samples" count type when prefer_count
 * and the profile has one, else CP_NONE (the view's default). */
int io_pick_value(const char *cmd, const struct cp_profile *p, const char *type,
		  bool prefer_count, uint32_t *out);

/* Write an output: `output` "-" is standard output, anything else is
 * written to OUTPUT.tmp and renamed over OUTPUT only when the writer and
 * the flush succeeded, so a failed run never leaves a partial file over a
 * good one.  An output that exists and is not a regular file (/dev/null, a
 * FIFO) is written into directly.  write returns 0 or a negative CP_E_*
 * with err set. */
typedef int (*io_writer_fn)(FILE *out, const char *what, void *arg, struct cp_error *err);
int io_write_output(const char *cmd, const char *output, io_writer_fn write, void *arg);

#endif
