/* report.c - `cprof report`: read a recording (or any profile cprof reads:
 * pprof, perf script text, folded stacks) and browse it in the terminal
 * (lib/tui), or print the top functions (perf report --stdio), the call
 * tree or one function's annotated code as plain text.
 *
 * The work is in lib: cp_input_read builds the profile, a cp_view filters
 * and aggregates it, lib/format renders, lib/tui browses.  This file parses
 * options, picks the mode and defaults and turns results into exit codes. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"
#include "format/format.h"
#include "common.h"
#include "profile/profile.h"
#include "tui/tui.h"

static const char *const report_usage[] = {
	"cprof report [-i <file>] [--tui|--stdio] [--comm|--pid|--tid <list>] "
	"[--on-cpu|--off-cpu] [--from <format>] [--sample-type <type>]",
	"cprof report --stdio [--sort <keys>] [--limit <n>] [-i <file>]",
	"cprof report --tree [--inverted] [-i <file>] [--percent-limit <pct>]",
	"cprof report [--tui|--stdio] --annotate <function> [-i <file>]",
	NULL,
};

struct report_args {
	const char *input;
	bool stdio_, tui, tree, inverted, no_inline, strict, on_cpu, off_cpu;
	struct cp_strlist comms, pids, tids;
	bool user_only;
	const char *sort, *percent_limit, *from, *sample_type, *annotate;
	long limit;
};

/* Options that only make sense in text: they imply --stdio. */
static bool text_only(const struct report_args *a)
{
	return a->tree || a->sort || a->limit || a->percent_limit;
}

/* The browser, when the user asked for it or both ends are terminals. */
static bool want_tui(const struct report_args *a)
{
	if (a->tui)
		return true;
	return !a->stdio_ && !text_only(a) && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

/* The output mode's conflicts; prints the error and returns 2, or 0. */
static int check_mode(const struct report_args *a, const struct cp_option *opts)
{
	if (a->tui && a->stdio_)
		cp_die_usage("report", report_usage, opts,
			     "--tui and --stdio cannot be used together");
	else if (a->tui && text_only(a))
		cp_die_usage(
			"report", report_usage, opts,
			"--tui cannot be used with --tree, --sort, --limit or --percent-limit");
	else if (a->annotate && a->tree)
		cp_die_usage("report", report_usage, opts, "--annotate cannot be used with --tree");
	else if (a->tui && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		cmd_error("report", "--tui needs a terminal (stdin and stdout)");
	else
		return 0;
	return 2;
}

static int run_tui(const struct report_args *a, const struct cp_profile *p,
		   const struct cp_view_opts *vo)
{
	const char *nc = getenv("NO_COLOR");
	struct cp_tui_opts o = { .input = a->input,
				 .color = !(nc && nc[0]),
				 .annotate = a->annotate };
	struct cp_error err = { 0 };
	int rc = cp_tui_run(p, vo, &o, &err);
	if (rc < 0) {
		cmd_error("report", "%s", err.msg);
		return 1;
	}
	if (rc > 0) {
		/* the terminal is restored: die of the signal as the user asked */
		signal(rc, SIG_DFL);
		raise(rc);
		return 128 + rc;
	}
	return 0;
}

static int run_annotate(const struct report_args *a, struct cp_view *v)
{
	struct cp_error err = { 0 };
	struct cp_annotate *an = cp_annotate_new(v, a->annotate, NULL, &err);
	int rc = !an || cp_format_annotate_text(stdout, an, "standard output", &err) < 0;
	if (rc)
		cmd_error("report", "%s", err.msg);
	cp_annotate_free(an);
	return rc;
}

static int parse_percent(const char *s, double *out)
{
	char *end = NULL;
	double d = strtod(s, &end);
	if (!*s || *end || !(d >= 0 && d <= 100))
		return -1;
	*out = d;
	return 0;
}

static int run_report(const struct report_args *a, enum cp_input_format from,
		      struct cp_view_opts *vo, double limit)
{
	struct cp_error err = { 0 };
	struct cp_profile *p = io_load("report", a->input, from, NULL);
	if (!p)
		return 1;
	if (io_pick_value("report", p, a->sample_type, false, &vo->value_index) < 0) {
		cp_profile_free(p);
		return 2;
	}
	int rc = 0;
	bool tui = want_tui(a);
	if (tui && cp_view_filter_any(p, &vo->filter)) {
		/* the browser aggregates its own views */
		rc = run_tui(a, p, vo);
		cp_profile_free(p);
		return rc;
	}
	struct cp_view *v = cp_view_new(p, vo, &err);
	if (!v) {
		cmd_error("report", "%s", err.msg);
		cp_profile_free(p);
		return 1;
	}
	char fdesc[1024];
	cp_format_filter_desc(&vo->filter, fdesc, sizeof(fdesc));
	struct cp_report_header h = { .input = a->input, .filter = fdesc };
	bool any = cp_view_total_samples(v) > 0;
	if (any && a->annotate) {
		rc = run_annotate(a, v);
		cp_view_free(v);
		cp_profile_free(p);
		return rc;
	}
	/* nothing to browse or annotate: no header, the warning only */
	if (!tui && !a->annotate &&
	    cp_format_report_header(stdout, v, &h, "standard output", &err) < 0) {
		rc = 1;
	} else if (!any) {
		if (fdesc[0])
			cmd_warning("report", "no samples match the filter (%s)", fdesc);
		else
			cmd_warning("report", "no samples in '%s'", a->input);
	} else if (a->tree) {
		struct cp_view_tree *t = cp_view_tree(v, a->inverted, limit);
		rc = cp_format_tree_text(stdout, t, limit, "standard output", &err) < 0;
		cp_view_tree_free(t);
	} else {
		struct cp_view_top *t = cp_view_top(v, limit);
		rc = cp_format_top_text(stdout, t, (size_t)a->limit, "standard output", &err) < 0;
		cp_view_top_free(t);
	}
	if (rc)
		cmd_error("report", "%s", err.msg);
	else if (a->strict && p->truncated)
		rc = 3;
	cp_view_free(v);
	cp_profile_free(p);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	struct report_args a = { .input = io_default_input() };
	const struct cp_option opts[] = {
		CP_OPT_STR_('i', "input", "<file>",
			    "profile to read: a recording, pprof, perf script text or folded "
			    "stacks (default cprof.data; stdin in a pipe; - = stdin)",
			    &a.input, "file"),
		CP_OPT_STR_(0, "from", "<format>",
			    "input format, instead of detecting it: cprof, pprof, perf-script, "
			    "folded",
			    &a.from, "cprof|pprof|perf-script|folded"),
		CP_OPT_STR_(0, "sample-type", "<type>",
			    "the value to weigh samples by (default: the profile's, e.g. cpu)",
			    &a.sample_type, NULL),
		CP_OPT_FLAG_(
			0, "stdio",
			"plain text output (the default when stdin or stdout is not a terminal)",
			&a.stdio_),
		CP_OPT_FLAG_(0, "tui",
			     "the interactive browser (the default on a terminal; ? lists its keys)",
			     &a.tui),
		CP_OPT_STR_(0, "annotate", "<function>",
			    "the function's instructions with their samples (text, or the "
			    "browser's annotate screen)",
			    &a.annotate, NULL),
		CP_OPT_FLAG_(0, "tree", "print the call tree instead of the table", &a.tree),
		CP_OPT_FLAG_(0, "inverted",
			     "with --tree: leaf functions at the roots, callers below",
			     &a.inverted),
		IO_FILTER_OPTIONS(a),
		CP_OPT_FLAG_(0, "on-cpu", "only samples of running threads (wall-clock recordings)",
			     &a.on_cpu),
		CP_OPT_FLAG_(0, "off-cpu",
			     "only samples of blocked threads (wall-clock recordings)", &a.off_cpu),
		CP_OPT_STR_(0, "sort", "<keys>",
			    "table keys: comm,pid,tid,state,module|dso,function|sym,srcline "
			    "(default function,module)",
			    &a.sort, NULL),
		CP_OPT_STR_(0, "percent-limit", "<pct>",
			    "hide entries below PCT% (default 0, with --tree 0.5)",
			    &a.percent_limit, NULL),
		CP_OPT_FLAG_(0, "no-inline",
			     "leave out inlined functions (table rows, tree frames)", &a.no_inline),
		CP_OPT_LONG_(0, "limit", "<n>", "print at most N table rows (default all)",
			     &a.limit, 0, 1000000000L),
		CP_OPT_FLAG_(0, "strict", "exit with status 3 when the recording is truncated",
			     &a.strict),
		CP_OPT_END_,
	};
	int first;
	int rc = cp_opt_parse("report", report_usage, opts, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct cp_view_opts vo = { .value_index = CP_NONE, .no_inline = a.no_inline };
	struct io_filter fs = { 0 };
	struct cp_error err = { 0 };
	double limit = a.tree ? 0.5 : 0;
	enum cp_input_format from = CP_INPUT_UNKNOWN;
	rc = 2;
	if (first < argc)
		cp_die_usage("report", report_usage, opts, "unexpected argument '%s'", argv[first]);
	else if (io_parse_from("report", report_usage, opts, a.from, &from))
		;
	else if (check_mode(&a, opts))
		;
	else if (a.inverted && !a.tree)
		cp_die_usage("report", report_usage, opts, "--inverted needs --tree");
	else if (a.on_cpu && a.off_cpu)
		cp_die_usage("report", report_usage, opts,
			     "--on-cpu and --off-cpu cannot be used together");
	else if (a.percent_limit && parse_percent(a.percent_limit, &limit))
		cp_die_usage("report", report_usage, opts,
			     "--percent-limit: '%s' is not a percentage in 0..100",
			     a.percent_limit);
	else if (a.sort && cp_view_parse_keys(a.sort, vo.keys, &vo.nkeys, &err) < 0)
		cp_die_usage("report", report_usage, opts, "--sort: %s", err.msg);
	else if (io_filter_make(&a.comms, &a.pids, &a.tids, a.user_only, &fs, &err) < 0)
		cp_die_usage("report", report_usage, opts, "%s", err.msg);
	else
		rc = -1;
	if (rc < 0) {
		vo.filter = fs.f;
		vo.filter.cpu_state = a.on_cpu ? CP_VIEW_ON_CPU : a.off_cpu ? CP_VIEW_OFF_CPU : 0;
		rc = run_report(&a, from, &vo, limit);
	}
	io_filter_release(&fs);
	cp_strlist_release(&a.comms);
	cp_strlist_release(&a.pids);
	cp_strlist_release(&a.tids);
	return rc;
}
