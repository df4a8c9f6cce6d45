/* convert.c - `cprof convert`: read a profile in any format cprof reads
 * (a recording, pprof, perf script text, folded stacks) and write it as
 * pprof, folded stacks, speedscope JSON, callgrind or (heap profiles)
 * massif, to stdout or atomically to a file.  A heap profile becomes
 * pprof in the layout of Go's heap profiles.
 *
 * Reading is lib/input's, filtering and weights a cp_view's, writing
 * lib/format's; this file parses options and picks defaults. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"
#include "format/format.h"
#include "common.h"
#include "profile/profile.h"

static const char *const convert_usage[] = {
	"cprof convert --to pprof|folded|speedscope|callgrind|massif [-i <file>] [-o <file>] "
	"[--from <format>] [--comm|--pid|--tid <list>] [--no-inline] [--sample-type <type>] "
	"[--thread-root none|comm|pid|tid] [--marks] [--at-peak]",
	NULL,
};

#define SUPPORTED_FORMATS "pprof, folded, speedscope, callgrind, massif"

enum out_format { OUT_PPROF, OUT_FOLDED, OUT_SPEEDSCOPE, OUT_CALLGRIND, OUT_MASSIF };

static const char *const format_names[] = {
	[OUT_PPROF] = "pprof",         [OUT_FOLDED] = "folded", [OUT_SPEEDSCOPE] = "speedscope",
	[OUT_CALLGRIND] = "callgrind", [OUT_MASSIF] = "massif",
};

struct convert_args {
	const char *input, *output, *to, *from, *sample_type, *thread_root;
	bool no_inline, marks, at_peak;
	struct cp_strlist comms, pids, tids;
	bool user_only;
};

struct convert_job {
	enum out_format to;
	struct cp_view *view;
	struct cp_folded_opts folded;
	const struct cp_pprof_opts *pprof; /* NULL: the defaults */
	const char *name;
};

static int write_job(FILE *out, const char *what, void *arg, struct cp_error *err)
{
	struct convert_job *j = arg;
	switch (j->to) {
	case OUT_PPROF:
		return cp_format_pprof_write(out, j->view, j->pprof, what, err);
	case OUT_SPEEDSCOPE:
		return cp_format_speedscope_write(out, j->view, j->name, what, err);
	case OUT_CALLGRIND:
		return cp_format_callgrind_write(out, j->view, what, err);
	case OUT_MASSIF:
		return cp_format_massif_write(out, j->view, what, err);
	case OUT_FOLDED:
		break;
	}
	return cp_format_folded_write(out, j->view, &j->folded, what, err);
}

static int parse_format(const char *s, enum out_format *out)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(format_names); i++)
		if (!strcmp(s, format_names[i])) {
			*out = (enum out_format)i;
			return 0;
		}
	return -1;
}

/* The default sample type of a heap profile's pprof: --sample-type when it
 * names one of Go's four types (with --at-peak, peak_* stand for inuse_*),
 * else inuse_space; NULL after printing the error for another type. */
static const char *heap_default_type(const char *type, bool at_peak)
{
	static const char *const go[] = { "alloc_objects", "alloc_space", "inuse_objects",
					  "inuse_space" };
	if (!type)
		return "inuse_space";
	if (at_peak && !strcmp(type, "peak_objects"))
		return "inuse_objects";
	if (at_peak && !strcmp(type, "peak_space"))
		return "inuse_space";
	for (size_t i = 0; i < CP_ARRAY_SIZE(go); i++)
		if (!strcmp(type, go[i]))
			return go[i];
	cmd_error("convert",
		  "--sample-type: '%s' is not written in Go's heap profile layout (alloc_objects, "
		  "alloc_space, inuse_objects, inuse_space%s)",
		  type, at_peak ? "; with --at-peak also peak_objects, peak_space" : "");
	return NULL;
}

/* What the heap formats need of the input: 0, or the exit code after
 * printing the error (massif: 1, the input is of the wrong kind; --at-peak:
 * 2, the option does not apply). */
static int check_heap(const struct convert_args *a, enum out_format to,
		      const struct cp_profile *p, bool *heap)
{
	struct cp_error err = { 0 };
	*heap = cp_format_heap_check(p, &err) == 0;
	if (*heap)
		return 0;
	if (to == OUT_MASSIF) {
		cmd_error("convert", "--to massif: '%s' is %s", a->input, err.msg);
		return 1;
	}
	if (a->at_peak) {
		cmd_error("convert", "--at-peak: '%s' is %s", a->input, err.msg);
		return 2;
	}
	return 0;
}

static int parse_root(const char *s, enum cp_folded_root *out)
{
	static const char *const names[] = { "none", "comm", "pid", "tid" };
	for (size_t i = 0; i < CP_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum cp_folded_root)i;
			return 0;
		}
	return -1;
}

static int run_convert(const struct convert_args *a, enum out_format to,
		       enum cp_input_format from, struct cp_view_opts *vo)
{
	struct cp_input_info info = { 0 };
	struct cp_profile *p = io_load("convert", a->input, from, &info);
	if (!p)
		return 1;
	struct convert_job j = { .to = to, .name = strcmp(a->input, "-") ? a->input : "stdin" };
	bool heap;
	int rc = check_heap(a, to, p, &heap);
	if (rc) {
		cp_profile_free(p);
		return rc;
	}
	/* folded lines count samples (as stackcollapse-perf.pl's) unless a
	 * type is named; pprof and speedscope carry every value anyway */
	if (io_pick_value("convert", p, a->sample_type, to == OUT_FOLDED, &vo->value_index) < 0) {
		cp_profile_free(p);
		return 2;
	}
	struct cp_pprof_heap_columns cols;
	struct cp_pprof_opts po;
	struct cp_error err = { 0 };
	if (to == OUT_PPROF && heap) {
		const char *dflt = heap_default_type(a->sample_type, a->at_peak);
		if (!dflt) {
			cp_profile_free(p);
			return 2;
		}
		if (cp_format_pprof_heap_opts(p, a->at_peak, dflt, &cols, &po, &err) < 0) {
			cmd_error("convert", "%s", err.msg);
			cp_profile_free(p);
			return 1;
		}
		j.pprof = &po;
	}
	j.folded.weights = true;
	j.folded.mark_inline = a->marks;
	/* perf script input collapses as stackcollapse-perf.pl does: the
	 * thread name is the root frame */
	j.folded.root = info.format == CP_INPUT_PERFSCRIPT ? CP_FOLDED_ROOT_COMM
							   : CP_FOLDED_ROOT_NONE;
	if (a->thread_root)
		parse_root(a->thread_root, &j.folded.root);
	j.view = cp_view_new(p, vo, &err);
	if (!j.view) {
		cmd_error("convert", "%s", err.msg);
		cp_profile_free(p);
		return 1;
	}
	if (!cp_view_total_samples(j.view)) {
		char fdesc[1024];
		cp_format_filter_desc(&vo->filter, fdesc, sizeof(fdesc));
		if (fdesc[0])
			cmd_warning("convert", "no samples match the filter (%s)", fdesc);
		else
			cmd_warning("convert", "no samples in '%s'", a->input);
	}
	rc = io_write_output("convert", a->output, write_job, &j);
	cp_view_free(j.view);
	cp_profile_free(p);
	return rc;
}

int cmd_convert(int argc, char **argv)
{
	struct convert_args a = { .input = io_default_input(), .output = "-" };
	const struct cp_option opts[] = {
		CP_OPT_STR_('i', "input", "<file>",
			    "profile to read: a recording, pprof, perf script text or folded "
			    "stacks (default cprof.data; stdin in a pipe; - = stdin)",
			    &a.input, "file"),
		CP_OPT_STR_('o', "output", "<file>", "where to write (default - = stdout)",
			    &a.output, "file"),
		CP_OPT_STR_(0, "to", "<format>",
			    "output format: " SUPPORTED_FORMATS " (massif: heap profiles only)",
			    &a.to, "pprof|folded|speedscope|callgrind|massif"),
		CP_OPT_STR_(0, "from", "<format>",
			    "input format, instead of detecting it: cprof, pprof, perf-script, "
			    "folded",
			    &a.from, "cprof|pprof|perf-script|folded"),
		IO_FILTER_OPTIONS(a),
		CP_OPT_FLAG_(0, "no-inline", "leave out inlined frames", &a.no_inline),
		CP_OPT_STR_(0, "sample-type", "<type>",
			    "the value to use: folded weights, speedscope weights, callgrind's "
			    "event, pprof's default (default: samples for folded, else the "
			    "profile's default; inuse_space for a heap profile's pprof)",
			    &a.sample_type, NULL),
		CP_OPT_STR_(0, "thread-root", "<how>",
			    "folded: a root frame per thread: none, comm, pid (comm-PID), tid "
			    "(comm-PID/TID) (default comm for perf script input, else none)",
			    &a.thread_root, "none|comm|pid|tid"),
		CP_OPT_FLAG_(0, "marks",
			     "folded: mark frames _[i] inlined, _[k] kernel, _[j] JIT (FlameGraph)",
			     &a.marks),
		CP_OPT_FLAG_(0, "at-peak",
			     "pprof of a heap profile: inuse_objects and inuse_space are what was "
			     "live at the heap peak",
			     &a.at_peak),
		CP_OPT_END_,
	};
	int first;
	int rc = cp_opt_parse("convert", convert_usage, opts, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct cp_view_opts vo = { .value_index = CP_NONE, .no_inline = a.no_inline };
	struct cp_error err = { 0 };
	struct io_filter fs = { 0 };
	enum out_format to = OUT_FOLDED;
	enum cp_input_format from = CP_INPUT_UNKNOWN;
	enum cp_folded_root root;
	rc = 2;
	if (first < argc)
		cp_die_usage("convert", convert_usage, opts, "unexpected argument '%s'",
			     argv[first]);
	else if (!a.to)
		cp_die_usage("convert", convert_usage, opts,
			     "missing --to <format> (supported: " SUPPORTED_FORMATS ")");
	else if (parse_format(a.to, &to))
		cp_die_usage("convert", convert_usage, opts,
			     "unsupported format '%s' (supported: " SUPPORTED_FORMATS ")", a.to);
	else if (!a.output[0])
		cp_die_usage("convert", convert_usage, opts, "--output: empty file name");
	else if (!a.input[0])
		cp_die_usage("convert", convert_usage, opts, "--input: empty file name");
	else if (io_parse_from("convert", convert_usage, opts, a.from, &from))
		;
	else if (a.thread_root && parse_root(a.thread_root, &root))
		cp_die_usage("convert", convert_usage, opts,
			     "--thread-root: unknown value '%s' (supported: none, comm, pid, tid)",
			     a.thread_root);
	else if ((a.thread_root || a.marks) && strcmp(a.to, "folded"))
		cp_die_usage("convert", convert_usage, opts, "%s only applies to --to folded",
			     a.marks ? "--marks" : "--thread-root");
	else if (a.at_peak && to != OUT_PPROF)
		cmd_error("convert", "--at-peak only applies to --to pprof (of a heap profile)");
	else if (a.sample_type && to == OUT_MASSIF)
		cmd_error("convert", "--sample-type does not apply to --to massif (it shows the "
				     "live bytes: inuse_space, peak_space)");
	else if (to == OUT_PPROF && !strcmp(a.output, "-") && isatty(STDOUT_FILENO))
		cp_die_usage("convert", convert_usage, opts,
			     "pprof is binary: not writing it to a terminal (use -o FILE or a "
			     "redirection)");
	else if (io_filter_make(&a.comms, &a.pids, &a.tids, a.user_only, &fs, &err) < 0)
		cp_die_usage("convert", convert_usage, opts, "%s", err.msg);
	else
		rc = -1;
	if (rc < 0) {
		vo.filter = fs.f;
		rc = run_convert(&a, to, from, &vo);
	}
	io_filter_release(&fs);
	cp_strlist_release(&a.comms);
	cp_strlist_release(&a.pids);
	cp_strlist_release(&a.tids);
	return rc;
}
