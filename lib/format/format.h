/* format.h - renderers and exchange formats over the profile model.
 *
 * Writers read a profile (or a view of one, see lib/profile/profile.h) and
 * write to a FILE * the caller owns; they never open, close or flush files
 * beyond what stdio does, and never print anywhere else.  Every writer
 * returns 0, or CP_E_IO when the stream reports an error (the message then
 * names `what`, the output's name as the caller shows it to users).
 */
#ifndef CPROF_FORMAT_H
#define CPROF_FORMAT_H

#include <stdio.h>

#include "core/core.h"
#include "profile/profile.h"

/* ---- text report (cprof report --stdio) -----------------------------------
 *
 * The header is a block of "# " lines; lines whose facts the recording does
 * not have are left out:
 *
 *   # cprof report: cprof.data
 *   # command: ./cpu_split_nofp 700
 *   # recorded: 2026-11-21 22:50:01 UTC on HOST (Linux 6.18.44, x86_64), duration 1.48 s
 *   # event: cpu-clock at 999 Hz, call graph: dwarf (stack copy 65528 bytes), sampler: perf_event
 *   # samples: 1481 (lost 0), processes: 1, threads: 1, exit status: 0
 *   # stacks: 99.9% unwound completely (to _start/main/thread start), 0 spliced with frame pointers
 *   # stacks cut at the end of the 8192-byte stack copy: 3.1%; --stack-size=16384 would have kept them
 *   # wall-clock: 49.8% of samples off-CPU (blocked); --off-cpu/--on-cpu select them, --sort state,function splits them
 *   # warning: recording is truncated: <why>
 *   # filter: pid=12,13, tid=14, comm=worker, off-cpu
 *   # no samples match the filter          (or "# no samples": nothing follows)
 *   #
 *
 * The sample and stack lines describe the whole recording; percentages in
 * the table and tree below are of the filtered total. */
struct cp_report_header {
	const char *input;  /* data file name as the user gave it */
	const char *filter; /* cp_format_filter_desc() text, NULL or "" when unfiltered */
};

/* Describe a filter as "pid=1,2, tid=3, comm=a,b, off-cpu" into buf ("" when
 * empty); the CPU state selection is "on-cpu" or "off-cpu". */
const char *cp_format_filter_desc(const struct cp_view_filter *f, char *buf, size_t size);

/* A byte count as people read it, "64.0 MiB" ("512 B" below 1 KiB),
 * written into buf, which is returned. */
const char *cp_format_bytes(double b, char *buf, size_t size);

int cp_format_report_header(FILE *out, const struct cp_view *v, const struct cp_report_header *h,
			    const char *what, struct cp_error *err);

/* The top table:
 *
 *   #  Self%  Total%  Samples  Function                                 Module
 *      60.02   60.02      901  hot_sixty                                cpu_split_nofp
 *
 * Percent columns have two decimals and no % sign; Samples counts the
 * samples counted in the row's self (perf's Samples column).  Key columns
 * come in the order Command, Pid, Tid, State, Function, Source:Line,
 * Module, each present when the table is keyed by it (State is "on-cpu",
 * "off-cpu:SYSCALL" or "off-cpu"); columns are separated by at least
 * two spaces, Module, when present, is last, so rows with spaces in names
 * still parse, and no line ends in spaces.  Function names are padded to
 * 39 columns (more when longer names need it, up to 60).  At most `limit`
 * rows (0 = all). */
int cp_format_top_text(FILE *out, const struct cp_view_top *t, size_t limit, const char *what,
		       struct cp_error *err);

/* The call tree, one node per line:
 *
 *   # call tree: callers above callees, percent of the total weight
 *   #
 *   # Total%  Function
 *    100.00  main (cpu_split_nofp)
 *    100.00    run_rounds
 *     60.02      hot_sixty  self 60.02%
 *
 * Total percentage right-aligned in 7 columns, two spaces of indentation
 * per depth, the name, " [inlined]" for inline frames, the module in
 * parentheses when it differs from the parent's (always on roots), and in
 * a top-down tree "  self P%" when the node has self weight (samples
 * whose stack ends in this frame: for an inline frame, time in its
 * inlined code).  An inverted tree says "callees above callers" and shows
 * no self column (a root's total is the time in that frame itself).
 * Hidden nodes are counted in the title line. */
int cp_format_tree_text(FILE *out, const struct cp_view_tree *t, double percent_limit,
			const char *what, struct cp_error *err);

/* ---- folded stacks (FlameGraph's stackcollapse output) -----------------------
 *
 * One line per distinct stack: frame names root first joined by ';', a
 * space, the stack's weight in the view's value (with the "samples" value
 * type that is the number of samples).  Lines are sorted by stack text
 * (strcmp order, as `sort` with LC_ALL=C), so output is deterministic;
 * stacks that render alike (different addresses in one function) are
 * merged, and stacks whose weight is 0 are left out.  Names are display
 * names of cp_view frames (inline frames included unless the view drops
 * them).
 *
 * Escaping, so that every name survives a round trip through
 * cp_format_folded_read: '\' is written "\\", ';' "\;", and a newline or
 * carriage return as a space.  Spaces are kept as they are: the count is
 * after the last space of the line.
 *
 * Annotations (FlameGraph's, with mark_inline): "_[i]" after an inlined
 * frame, "_[k]" after a kernel frame, "_[j]" after a JIT frame.
 *
 * root adds a first frame per thread as stackcollapse-perf.pl does: the
 * thread name ("comm", spaces replaced by '_'), "comm-PID" or
 * "comm-PID/TID"; samples without a thread name use "[unknown]", and a
 * pid of 0 (unknown: perf script's default output has only the tid) is
 * written "?" as stackcollapse-perf.pl writes it. */
enum cp_folded_root {
	CP_FOLDED_ROOT_NONE,
	CP_FOLDED_ROOT_COMM,
	CP_FOLDED_ROOT_PID,
	CP_FOLDED_ROOT_TID,
};

struct cp_folded_opts {
	bool weights;     /* print summed weights (else sample counts) */
	bool mark_inline; /* annotate frames with _[i], _[k], _[j] */
	enum cp_folded_root root;
};

int cp_format_folded_write(FILE *out, struct cp_view *v, const struct cp_folded_opts *o,
			   const char *what, struct cp_error *err);

/* ---- readers ------------------------------------------------------------------
 *
 * Each reader parses a whole input held in memory (buf, len; `name` is the
 * input as the user named it, for messages) into a new profile the caller
 * frees with cp_profile_free.  On malformed input: CP_E_FORMAT with the
 * place of the first bad byte, "'NAME' line 12: missing count after the
 * stack" for text formats, "'NAME': byte 1234: ..." for binary ones, and
 * *out NULL.  No input makes a reader crash, hang or read out of bounds
 * (each has a libFuzzer harness in tests/fuzz/).
 *
 * folded: "a;b;c 12" lines (see above for escapes and annotations); one
 *   value type "samples"/"count".  Each frame name is a function of no
 *   module (frames annotated _[k] / _[j] belong to "[kernel.kallsyms]" /
 *   "[jit]" mappings); a run of frames marked _[i] is one location with
 *   an inline chain, ending at the first unmarked frame towards the root.
 *   Counts are non-negative integers.  Empty lines and lines starting
 *   with '#' are skipped; a line without a count is an error.
 * perf-script: `perf script` text (see perfscript.c for the field sets
 *   understood); one value type per event, named after the event, unit
 *   "count", each sample counting its period in its own event (1 when
 *   the header shows none, as stackcollapse-perf.pl counts since FlameGraph
 *   PR #250); meta.default_type is the first event seen (what
 *   stackcollapse-perf.pl keeps by default).
 *   Names are tidied as stackcollapse-perf.pl does, so folded output of the
 *   result has the same stacks and counts as `stackcollapse-perf.pl`.
 * pprof: a profile.proto message, gzipped or not; every sample type, the
 *   default sample type, mappings, locations with their inline lines,
 *   functions, labels "pid", "tid" (numeric) and "thread_name" or "comm"
 *   (string), time_nanos, duration_nanos, period. */
int cp_format_folded_read(const void *buf, size_t len, const char *name, struct cp_profile **out,
			  struct cp_error *err);
int cp_format_perfscript_read(const void *buf, size_t len, const char *name,
			      struct cp_profile **out, struct cp_error *err);
int cp_format_pprof_read(const void *buf, size_t len, const char *name, struct cp_profile **out,
			 struct cp_error *err);

/* Input formats, by content: "cprof" (the data file; recognised by the
 * caller, see data.h cp_data_sniff), "pprof" (gzip magic, or a
 * protobuf message that parses as a profile), "perf-script", "folded".
 * cp_format_detect looks at the first bytes only (up to 64 KiB is
 * enough) and returns CP_INPUT_UNKNOWN when none fits. */
enum cp_input_format {
	CP_INPUT_UNKNOWN,
	CP_INPUT_CPROF,
	CP_INPUT_PPROF,
	CP_INPUT_PERFSCRIPT,
	CP_INPUT_FOLDED,
};
enum cp_input_format cp_format_detect(const void *buf, size_t len);
/* "cprof", "pprof", "perf-script", "folded" (and "unknown"). */
const char *cp_format_input_name(enum cp_input_format f);
/* Parse a --from value; CP_E_USAGE names the supported ones. */
int cp_format_parse_input(const char *s, enum cp_input_format *out, struct cp_error *err);

/* ---- writers of exchange formats --------------------------------------------
 *
 * pprof: a gzipped profile.proto of the samples that pass the view's
 *   filter: every value type (sample_type) with the default one first in
 *   the view's value (default_sample_type), period_type/period from the
 *   recording, mappings with build ids, locations with their inline chains
 *   as Line entries (only the real function with the view's no_inline),
 *   functions with file and start line, labels "pid", "tid" (numeric),
 *   "thread_name" and, for off-CPU samples, "state" = "off-cpu:SYSCALL",
 *   time_nanos, duration_nanos, and comments with the command and the
 *   sampler.  Samples with equal stacks and labels are merged (values
 *   summed), as pprof does.  `level` is the gzip level (1-9; 0 writes the
 *   raw message, -1 = 6). */
struct cp_pprof_opts {
	int level;
	/* The sample types to write, in this order: column i is the value
	 * columns[i] of the profile, named types[i] (NULL: the profile's own
	 * names).  ncolumns 0 = every value type, as above.  Columns must be
	 * indices of the profile's value types. */
	const uint32_t *columns;
	const struct cp_profile_value_type *types;
	size_t ncolumns;
	/* one sample per distinct stack: no pid/tid/thread_name/state
	 * labels, values summed over threads (and time) */
	bool merge_threads;
	/* written instead of the ones from the recording when non-NULL: the
	 * period type, and the default sample type (a type name written, not
	 * necessarily the view's value) */
	const struct cp_profile_value_type *period_type;
	const char *default_type;
	bool drop_zero; /* leave out samples whose written values are all 0 */
};
int cp_format_pprof_write(FILE *out, struct cp_view *v, const struct cp_pprof_opts *o,
			  const char *what, struct cp_error *err);

/* ---- heap profiles (massif.c) -------------------------------------------------
 *
 * A heap profile (what `cprof heap` records) has the value types
 *   alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 *   inuse_space/bytes, peak_objects/count, peak_space/bytes,
 *   temp_objects/count
 * and samples keyed (stack, pid, tid, comm, time), `time` the start of a
 * time bucket: alloc_* are the allocations a stack made in the bucket,
 * inuse_* the net change of live memory allocated there (negative when
 * more was freed), so summed over all samples they are what is live at the
 * end and summed in time order the heap over time; peak_* are nonzero only
 * in the samples at the time of the heap peak and give what each stack
 * held then.  cp_format_heap_check says whether a profile is one: 0 when
 * it has those types (temp_objects aside), else CP_E_USAGE with the message
 * "not a heap profile: it has no peak_space sample type (it has: samples,
 * cpu)", naming the first one missing. */
int cp_format_heap_check(const struct cp_profile *p, struct cp_error *err);

/* Options for cp_format_pprof_write that write a heap profile in the
 * layout of Go's heap profiles (runtime/pprof), which go tool pprof,
 * -diff_base, Parca and Pyroscope read unchanged: the sample types
 * alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes (only these, in this order), period type space/bytes
 * (the period: meta.period), one sample per distinct stack, default
 * sample type `default_type` (NULL: "inuse_space").  With at_peak,
 * inuse_objects and inuse_space carry peak_objects and peak_space: what
 * was live at the heap peak.  Fills *o (level -1) and arrays in *cols,
 * which must outlive o.  CP_E_USAGE when p is no heap profile. */
struct cp_pprof_heap_columns {
	uint32_t index[4];
	struct cp_profile_value_type types[4];
	struct cp_profile_value_type period_type;
};
int cp_format_pprof_heap_opts(const struct cp_profile *p, bool at_peak, const char *default_type,
			      struct cp_pprof_heap_columns *cols, struct cp_pprof_opts *o,
			      struct cp_error *err);
/* The view's profile as pprof the way a store keeps it and --push sends
 * it: a heap profile in Go's heap layout (above, inuse_space first), any
 * other with every value type (cp_format_pprof_write with no options). */
int cp_format_pprof_write_auto(FILE *out, struct cp_view *v, const char *what,
			       struct cp_error *err);

/* massif: the text format of valgrind's massif (massif.out.PID), which
 *   ms_print and massif-visualizer read, from a heap profile's samples
 *   that pass the view's filter:
 *     desc: ..., cmd: meta.command, time_unit: ms,
 *     snapshots: one per distinct sample time (at most about 100: when
 *       there are more, consecutive times merge evenly and a snapshot
 *       shows the heap at the end of its run), mem_heap_B the running sum
 *       of inuse_space in time order (0 when that is negative),
 *       mem_heap_extra_B and mem_stacks_B 0, heap_tree=empty;
 *     heap_tree=peak, at the time of the peak samples: mem_heap_B the sum
 *       of peak_space, and its tree;
 *     heap_tree=detailed, last, at the end of the run (the largest of
 *       meta.duration_nanos and the times seen): what is still live, the
 *       sum of inuse_space per stack, and its tree.
 *   A tree is massif's: the root "(heap allocation functions)
 *   malloc/new/new[], --alloc-fns, etc." holds the bytes; its children are
 *   the allocation sites (the first frame of a stack, from the leaf, that
 *   is not an allocation function: malloc, calloc, realloc, free,
 *   operator new and the like, or a frame in the interposer libcprof-heap),
 *   theirs the callers, to at most 64 levels; a node is "0xADDR: name
 *   (file:line)" or "0xADDR: name (in module)", children by bytes, and
 *   children below 1% of the snapshot's bytes fold into one "in N places,
 *   all below massif's threshold (1.00%)" entry.  Stacks whose sum is
 *   negative count as 0.  CP_E_USAGE when the profile is no heap profile
 *   ("not a heap profile (it has no peak_space sample type)"). */
int cp_format_massif_write(FILE *out, struct cp_view *v, const char *what, struct cp_error *err);

/* callgrind: the format of valgrind's callgrind (callgrind_annotate,
 *   KCachegrind), as `pprof -callgrind` writes it, from the view: a header
 *   ("events:" named after the view's value type, "summary:" the total),
 *   then per function (a frame of the view: inline frames are functions
 *   too) "ob=" its module, "fl=" its source file ("???" unknown), "fn="
 *   its name, all with callgrind's name compression ("(id) name" the
 *   first time, "(id)" after), its self cost per source line ("LINE COST",
 *   line 0 unknown), and per call it makes, from which line and to which
 *   function, "cob=", "cfl=", "cfn=", "calls=SAMPLES START_LINE" and
 *   "LINE INCLUSIVE_COST": the weight of the samples whose stack has that
 *   call, each sample counted only at the outermost call into a function
 *   (recursion, f -> f or f -> g -> f, adds nothing to the inner calls),
 *   so that a function's calls add up to its inclusive cost, as
 *   callgrind_annotate and KCachegrind add them; "cob=" and "cfl=" only
 *   when they differ from the caller's.  Functions that callgrind would
 *   merge (same module, file and name) get " [i/n]" after their names.
 *   Stacks whose weight is 0 or negative are left out. */
int cp_format_callgrind_write(FILE *out, struct cp_view *v, const char *what,
			      struct cp_error *err);

/* speedscope: the JSON file format of https://www.speedscope.app (its
 *   file-format-schema.json): shared frames (name, file, line), one
 *   "sampled" profile per thread ("comm (pid P, tid T)") with the thread's samples
 *   in time order and their weights in the view's value; unit
 *   "nanoseconds" for time values, "none" for counts (and "bytes" for
 *   byte-valued types).  `name` is the file's "name" (NULL: "cprof"). */
int cp_format_speedscope_write(FILE *out, struct cp_view *v, const char *name, const char *what,
			       struct cp_error *err);

/* ---- flame graphs (flame.c) -----------------------------------------------------
 *
 * One self-contained interactive SVG (no network access): frames sized by
 * the view's weight, children of a frame sorted by name (as flamegraph.pl
 * does), hover details, click to zoom, reset zoom, regex search with the
 * matched share, Ctrl-F to search, buttons flame <-> icicle and merged
 * from the root <-> merged from the leaves.  Frames narrower than
 * minwidth pixels are merged into one grey "(N more)" frame per parent.
 * With base (a view of the profile before), a differential graph: widths
 * of the new profile, red where a frame grew, blue where it shrank,
 * frames only in the base drawn hatched. */
enum cp_flame_palette {
	CP_FLAME_HOT,
	CP_FLAME_MEM,
	CP_FLAME_IO,
	CP_FLAME_WAKEUP,
	CP_FLAME_LANG, /* user code, libraries, kernel, inlined frames, JIT apart */
};

struct cp_flame_opts {
	const char *title;     /* NULL: "Flame Graph" ("Icicle Graph", "Differential ...") */
	const char *subtitle;  /* NULL: none */
	unsigned width;        /* image width in px, 0 = 1200 */
	unsigned frame_height; /* px, 0 = 16 */
	unsigned font_size;    /* px, 0 = 12 */
	double minwidth;       /* px; narrower frames merge into "(N more)"; < 0 = 0.1 */
	enum cp_flame_palette palette;
	bool hash;             /* colour by a hash of the name (stable across graphs) */
	bool reverse;          /* start merged from the leaves */
	bool inverted;         /* start as an icicle graph (root at the top) */
	const char *countname; /* NULL: from the value type ("samples", "cpu ns") */
	bool normalize;        /* diff: scale the base to the new total */
};
/* Parse a --colors value ("hot", "mem", "io", "wakeup", "lang"). */
int cp_flame_parse_palette(const char *s, enum cp_flame_palette *out, struct cp_error *err);
int cp_format_flame_write(FILE *out, struct cp_view *v, struct cp_view *base,
			  const struct cp_flame_opts *o, const char *what, struct cp_error *err);

/* The view's call tree as flame-graph JSON (flamejson.c, the store's
 * profile.json): {"name":"root","value":TOTAL,"hidden":N,"children":[...]},
 * each node {"name","value","self"[,"module"]} with its "children" when
 * it has any, children by value then name; nodes under min_percent % of
 * the total are left out with their subtrees ("hidden" counts them), the
 * remaining values exact; "top": up to 1000 functions by self weight
 * over the whole profile, {"name","self","total"[,"module"]}.  json:
 * jansson. */
int cp_format_flame_json_write(FILE *out, struct cp_view *v, double min_percent, const char *what,
			       struct cp_error *err);

/* ---- annotate (annotate.c) ------------------------------------------------
 *
 * One function's machine code, as stored in the recording (struct
 * cp_profile_code), disassembled with capstone (x86-64 and AArch64, from
 * meta.arch; "" is taken as x86_64), each instruction with the self
 * samples of the view whose leaf location is that instruction (module
 * address in [start, start + size) of the same module), and the stored
 * line rows interleaved as source lines.  The model serves the text output
 * (cprof report --stdio --annotate) and the TUI's annotate screen.
 *
 * Lines come in address order; a SOURCE line precedes the first
 * instruction of each run of instructions with the same (file, line).
 * Instructions before the first row, or in a row with line 0, have no
 * SOURCE line (file "", line 0).  Bytes capstone cannot decode are one
 * "(bad)" instruction of 1 byte (x86-64) or 4 bytes (AArch64, fewer at
 * the end).  Instructions are in Intel syntax on x86-64, as capstone
 * prints them by default.  Source files are read once per annotation, as
 * the row names them (absolute, or relative to the current directory). */
enum cp_annotate_kind {
	CP_ANNOTATE_SOURCE, /* a source line heading the instructions below it */
	CP_ANNOTATE_INSN,   /* one instruction */
};

struct cp_annotate_line {
	enum cp_annotate_kind kind;
	uint64_t address; /* INSN: module-relative; SOURCE: of the first instruction below */
	/* INSN: "mnemonic operands" as capstone prints them ("add rax, 1");
	 * SOURCE: the text of that source line when the file is readable on
	 * this machine (leading/trailing blanks trimmed), else "" */
	const char *text;
	const char *file; /* source file of the row, "" unknown (INSN: same as its heading) */
	int64_t line;     /* 0 unknown */
	/* INSN: the direct call/jump target's name when it is a known function
	 * ("hot_ten", "run_rounds+0x12"), "" otherwise */
	const char *target;
	int64_t weight;   /* INSN: self weight here; SOURCE: sum of its instructions */
	uint64_t samples; /* likewise, samples */
};

struct cp_annotate {
	const char *function; /* display name */
	const char *module;   /* module basename */
	const char *arch;     /* "x86_64", "aarch64" */
	uint64_t start, size; /* module-relative range of the stored code */
	struct cp_annotate_line *lines;
	size_t n;
	/* self weight / samples of the function inside the stored code: the
	 * denominator of every instruction's share */
	int64_t total;
	uint64_t total_samples;
	int64_t outside; /* self weight of the function at addresses outside its stored code */
	uint64_t outside_samples; /* likewise, samples */
	int64_t view_total;       /* the view's total, for "% of all" */
	/* index of the heaviest INSN line (the first of equals; the first INSN
	 * line when none has weight; 0 when n is 0) */
	size_t hottest;
	/* INSN lines with weight > 0, heaviest first (ties in address order):
	 * the TUI's Tab order */
	size_t *hot;
	size_t nhot;
	void *priv_; /* private: owned strings */
};

/* Annotate the function named `name` (display or raw name, exact match) in
 * the module `module` (basename or path; NULL or "": the module where the
 * function has the most self samples).  Errors, each with a one-line
 * message naming the function:
 *   CP_E_NOENT        no such function in the view, or it has no samples
 *                     of its own ("'f' has no self samples: it only runs
 *                     inlined into its callers" where that is so):
 *                     "no function 'f' in the profile" (with "(did you
 *                     mean 'ns::f(int)'?)" when a function of the view
 *                     has a name containing f), "'f' has no samples in
 *                     the view" / "... in module 'm'", "'f' has no self
 *                     samples";
 *   CP_E_UNSUPPORTED  its machine code is not stored, saying why (the
 *                     input is not a cprof recording; the recording was
 *                     cut short; the --code-max cap was reached,
 *                     meta.code_skipped; the binary was not readable when
 *                     recording ended; kernel and JIT code are never
 *                     stored): "cannot annotate 'f': <why>", or the
 *                     architecture is not one annotate knows ("cannot
 *                     disassemble mips code of 'f'").
 * (An empty name is CP_E_USAGE, a code entry out of the profile's arrays
 * CP_E_FORMAT.)  Among several functions of that name (static functions,
 * or one per module), the one with the most self weight in the view.
 * Free with cp_annotate_free before the view. */
struct cp_annotate *cp_annotate_new(struct cp_view *v, const char *name, const char *module,
				    struct cp_error *err);
void cp_annotate_free(struct cp_annotate *a);

/* The annotation as text (perf annotate --stdio style):
 *
 *   # annotate: hot_sixty (cpu_split_nofp), 0x1190-0x11c8, 901 samples (60.02% of all)
 *    Percent  Samples  Address  Instruction
 *                               cpu_split.c:12  for (i = 0; i < n; i++)
 *      71.03      640     11a0  add rax, 1
 *
 * Percent is of the function's total (two decimals, blank when 0);
 * SOURCE lines show "file:line" (basename of the file, "??" unknown) and
 * the source text when known; the hottest instruction's line starts with
 * '>' (when any has weight); a branch target follows its instruction as
 * "  <hot_ten>".  When the function has self samples outside the stored
 * code, a second header line says so:
 *   # outside the stored code: 3 samples (0.20% of all) */
int cp_format_annotate_text(FILE *out, const struct cp_annotate *a, const char *what,
			    struct cp_error *err);

#endif
