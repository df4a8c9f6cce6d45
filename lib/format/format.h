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
 * space, the number of samples (or the summed weight with `weights`).
 * Lines are sorted by stack text, so output is deterministic; stacks that
 * render alike (different addresses in one function) are merged.  Names
 * are display names of cp_view frames (inline frames included unless the
 * view drops them), with ';' replaced by ':' and newlines by spaces. */
struct cp_folded_opts {
	bool weights; /* print summed weights instead of sample counts */
};

int cp_format_folded_write(FILE *out, struct cp_view *v, const struct cp_folded_opts *o,
			   const char *what, struct cp_error *err);

#endif
