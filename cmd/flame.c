/* flame.c - `cprof flame`: draw an interactive flame graph (SVG) of any
 * profile cprof reads, or a differential one of two.
 *
 * Reading is lib/input's, filtering and weights a cp_view's, the drawing
 * lib/format/flame.c's; this file parses options and picks defaults. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"
#include "format/format.h"
#include "common.h"
#include "profile/profile.h"

static const char *const flame_usage[] = {
	"cprof flame [-i <file> | <file>] [-o <file>] [--title <text>] [--width <px>] "
	"[--colors <palette>] [--inverted] [--reverse] [--minwidth <px>] [--sample-type <type>]",
	"cprof flame --diff <base> [--normalize] [-o <file>] [options] <file>",
	NULL,
};

struct flame_args {
	const char *input, *output, *from, *diff, *sample_type, *title, *subtitle, *colors,
		*countname, *minwidth;
	long width, frame_height, font_size;
	bool hash, reverse, inverted, normalize, no_inline;
	struct cp_strlist comms, pids, tids;
	bool user_only;
};

struct flame_job {
	struct cp_view *view, *base;
	struct cp_flame_opts o;
};

static int write_flame(FILE *out, const char *what, void *arg, struct cp_error *err)
{
	struct flame_job *j = arg;
	return cp_format_flame_write(out, j->view, j->base, &j->o, what, err);
}

/* Load one input and make its view; the value is chosen per profile (the
 * named type, else samples, else the profile's default). */
static struct cp_view *load_view(const struct flame_args *a, const char *path,
				 enum cp_input_format from, const struct cp_view_opts *vo,
				 struct cp_profile **pp, int *rc)
{
	*rc = 1;
	struct cp_profile *p = io_load("flame", path, from, NULL);
	if (!p)
		return NULL;
	struct cp_view_opts o = *vo;
	if (io_pick_value("flame", p, a->sample_type, true, &o.value_index) < 0) {
		*rc = 2;
		cp_profile_free(p);
		return NULL;
	}
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, &o, &err);
	if (!v) {
		cmd_error("flame", "%s", err.msg);
		cp_profile_free(p);
		return NULL;
	}
	*pp = p;
	*rc = 0;
	return v;
}

static int run_flame(const struct flame_args *a, enum cp_input_format from,
		     const struct cp_view_opts *vo, struct flame_job *j)
{
	struct cp_profile *p = NULL, *bp = NULL;
	int rc;
	j->view = load_view(a, a->input, from, vo, &p, &rc);
	if (!j->view)
		return rc;
	if (a->diff)
		j->base = load_view(a, a->diff, CP_INPUT_UNKNOWN, vo, &bp, &rc);
	if (!a->diff || j->base) {
		if (!cp_view_total_samples(j->view)) {
			char fdesc[1024];
			cp_format_filter_desc(&vo->filter, fdesc, sizeof(fdesc));
			if (fdesc[0])
				cmd_warning("flame", "no samples match the filter (%s)", fdesc);
			else
				cmd_warning("flame", "no samples in '%s'", a->input);
		}
		const char *out = a->output;
		if (!out) {
			out = isatty(STDOUT_FILENO) ? "flame.svg" : "-";
		}
		rc = io_write_output("flame", out, write_flame, j);
		if (!rc && !a->output && strcmp(out, "-"))
			cmd_notice("flame", "wrote %s", out);
	}
	cp_view_free(j->base);
	cp_view_free(j->view);
	cp_profile_free(bp);
	cp_profile_free(p);
	return rc;
}

int cmd_flame(int argc, char **argv)
{
	struct flame_args a = { 0 };
	const struct cp_option opts[] = {
		CP_OPT_STR_('i', "input", "<file>",
			    "profile to read: a recording, pprof, perf script text or folded "
			    "stacks (default cprof.data; stdin in a pipe; - = stdin)",
			    &a.input, "file"),
		CP_OPT_STR_('o', "output", "<file>",
			    "where to write the SVG (default stdout; flame.svg on a terminal)",
			    &a.output, "file"),
		CP_OPT_STR_(0, "from", "<format>",
			    "input format, instead of detecting it: cprof, pprof, perf-script, "
			    "folded",
			    &a.from, "cprof|pprof|perf-script|folded"),
		CP_OPT_STR_(0, "title", "<text>", "title (default \"Flame Graph\")", &a.title, NULL),
		CP_OPT_STR_(0, "subtitle", "<text>", "second title line", &a.subtitle, NULL),
		CP_OPT_LONG_(0, "width", "<px>", "image width (default 1200)", &a.width, 100,
			     100000),
		CP_OPT_LONG_(0, "frame-height", "<px>", "height of a frame (default 16)",
			     &a.frame_height, 4, 200),
		CP_OPT_LONG_(0, "font-size", "<px>", "font size (default 12)", &a.font_size, 4,
			     100),
		CP_OPT_STR_(0, "minwidth", "<px>",
			    "frames narrower than this merge into \"(N more)\" (default 0.1)",
			    &a.minwidth, NULL),
		CP_OPT_STR_(0, "colors", "<palette>",
			    "hot (default), mem, io, wakeup, or lang (user code, libraries, "
			    "kernel, JIT and inlined frames apart)",
			    &a.colors, "hot|mem|io|wakeup|lang"),
		CP_OPT_FLAG_(0, "hash", "colour by a hash of the name (same colour in every graph)",
			     &a.hash),
		CP_OPT_FLAG_(0, "reverse", "start merged from the leaves (stacks reversed)",
			     &a.reverse),
		CP_OPT_FLAG_(0, "inverted", "start as an icicle graph (root at the top)",
			     &a.inverted),
		CP_OPT_STR_(0, "countname", "<name>",
			    "what the counts are called (default from the sample type, \"samples\")",
			    &a.countname, NULL),
		CP_OPT_STR_(0, "sample-type", "<type>",
			    "the value that sizes frames (default samples, else the profile's "
			    "default)",
			    &a.sample_type, NULL),
		CP_OPT_STR_(0, "diff", "<base>",
			    "differential graph against BASE (the profile before): red grew, "
			    "blue shrank",
			    &a.diff, "file"),
		CP_OPT_FLAG_(0, "normalize", "with --diff: scale BASE to the same total",
			     &a.normalize),
		IO_FILTER_OPTIONS(a),
		CP_OPT_FLAG_(0, "no-inline", "leave out inlined frames", &a.no_inline),
		CP_OPT_END_,
	};
	int first;
	int rc = cp_opt_parse("flame", flame_usage, opts, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct cp_view_opts vo = { .value_index = CP_NONE, .no_inline = a.no_inline };
	struct flame_job j = { 0 };
	struct cp_error err = { 0 };
	struct io_filter fs = { 0 };
	enum cp_input_format from = CP_INPUT_UNKNOWN;
	char *end = NULL;
	double minwidth = a.minwidth ? strtod(a.minwidth, &end) : -1;
	rc = 2;
	/* the input may also be the one operand: `cprof flame --diff before after` */
	if (first + 1 == argc && !a.input)
		a.input = argv[first++];
	if (!a.input)
		a.input = io_default_input();
	if (first < argc)
		cp_die_usage("flame", flame_usage, opts, "unexpected argument '%s'", argv[first]);
	else if (!a.input[0] || (a.output && !a.output[0]) || (a.diff && !a.diff[0]))
		cp_die_usage("flame", flame_usage, opts, "empty file name");
	else if (io_parse_from("flame", flame_usage, opts, a.from, &from))
		;
	else if (a.minwidth && (!*a.minwidth || *end || !(minwidth >= 0 && minwidth <= 1e6)))
		cp_die_usage("flame", flame_usage, opts,
			     "--minwidth: '%s' is not a width in pixels (e.g. 0.1)", a.minwidth);
	else if (a.colors && cp_flame_parse_palette(a.colors, &j.o.palette, &err) < 0)
		cp_die_usage("flame", flame_usage, opts, "--colors: %s", err.msg);
	else if (a.normalize && !a.diff)
		cp_die_usage("flame", flame_usage, opts, "--normalize needs --diff <base>");
	else if (a.diff && !strcmp(a.diff, "-") && !strcmp(a.input, "-"))
		cp_die_usage("flame", flame_usage, opts,
			     "--diff: the input and the base cannot both be standard input");
	else if (io_filter_make(&a.comms, &a.pids, &a.tids, a.user_only, &fs, &err) < 0)
		cp_die_usage("flame", flame_usage, opts, "%s", err.msg);
	else
		rc = -1;
	if (rc < 0) {
		j.o.title = a.title;
		j.o.subtitle = a.subtitle;
		j.o.width = (unsigned)a.width;
		j.o.frame_height = (unsigned)a.frame_height;
		j.o.font_size = (unsigned)a.font_size;
		j.o.minwidth = minwidth;
		j.o.hash = a.hash;
		j.o.reverse = a.reverse;
		j.o.inverted = a.inverted;
		j.o.countname = a.countname;
		j.o.normalize = a.normalize;
		vo.filter = fs.f;
		rc = run_flame(&a, from, &vo, &j);
	}
	io_filter_release(&fs);
	cp_strlist_release(&a.comms);
	cp_strlist_release(&a.pids);
	cp_strlist_release(&a.tids);
	return rc;
}
