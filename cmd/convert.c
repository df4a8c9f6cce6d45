/* convert.c - `cprof convert`: write a recording in another format
 * (folded stacks in this release), to stdout or atomically to a file.
 *
 * Reading, filtering and rendering are lib's (cp_data_read, cp_view,
 * lib/format); this file parses options and owns the output file: it
 * writes FILE.tmp and renames it over FILE only when everything was
 * written, so a reader never sees a half-written file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"
#include "data/data.h"
#include "format/format.h"
#include "profile/profile.h"
#include "sample/sample.h"

static const char *const convert_usage[] = {
	"cprof convert --to <format> [-i <file>] [-o <file>] [--comm|--pid|--tid <list>] "
	"[--no-inline]",
	NULL,
};

#define SUPPORTED_FORMATS "folded"

struct convert_args {
	const char *input, *output, *to;
	bool no_inline;
	struct cp_strlist comms, pids, tids;
};

static int write_output(struct cp_view *v, const char *output)
{
	struct cp_error err = { 0 };
	if (!strcmp(output, "-")) {
		if (cp_format_folded_write(stdout, v, NULL, "standard output", &err) < 0) {
			cmd_error("convert", "%s", err.msg);
			return 1;
		}
		return 0;
	}
	char *tmp = cp_xasprintf("%s.tmp", output);
	int rc = 1;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		cmd_error("convert", "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return 1;
	}
	char *what = cp_xasprintf("'%s'", tmp);
	if (cp_format_folded_write(f, v, NULL, what, &err) < 0) {
		cmd_error("convert", "%s", err.msg);
		fclose(f);
	} else if (fflush(f) || fsync(fileno(f)) || ferror(f)) {
		cmd_error("convert", "cannot write '%s': %s", tmp, strerror(errno));
		fclose(f);
	} else if (fclose(f)) {
		cmd_error("convert", "cannot write '%s': %s", tmp, strerror(errno));
	} else if (rename(tmp, output)) {
		cmd_error("convert", "cannot rename '%s' to '%s': %s", tmp, output,
			  strerror(errno));
	} else {
		rc = 0;
	}
	if (rc)
		unlink(tmp);
	free(what);
	free(tmp);
	return rc;
}

static int run_convert(const struct convert_args *a, const struct cp_view_opts *vo)
{
	struct cp_error err = { 0 };
	struct cp_profile *p = NULL;
	if (cp_data_read(a->input, &p, &err) < 0) {
		cmd_error("convert", "%s", err.msg);
		return 1;
	}
	if (p->truncated) {
		cmd_warning("convert", "recording is truncated: %s",
			    p->truncated_why[0] ? p->truncated_why : "the file ends early");
		cp_log(CP_LOG_INFO, "symbolized %zu locations from the files on this machine",
		       cp_sample_symbolize(p, NULL, NULL, true));
	}
	struct cp_view *v = cp_view_new(p, vo, &err);
	if (!v) {
		cmd_error("convert", "%s", err.msg);
		cp_profile_free(p);
		return 1;
	}
	if (!cp_view_total_samples(v)) {
		char fdesc[1024];
		cp_format_filter_desc(&vo->filter, fdesc, sizeof(fdesc));
		if (fdesc[0])
			cmd_warning("convert", "no samples match the filter (%s)", fdesc);
		else
			cmd_warning("convert", "no samples in '%s'", a->input);
	}
	int rc = write_output(v, a->output);
	cp_view_free(v);
	cp_profile_free(p);
	return rc;
}

int cmd_convert(int argc, char **argv)
{
	struct convert_args a = { .input = "cprof.data", .output = "-" };
	const struct cp_option opts[] = {
		CP_OPT_STR_('i', "input", "<file>",
			    "recording to read (default cprof.data, - = stdin)", &a.input, "file"),
		CP_OPT_STR_('o', "output", "<file>", "where to write (default - = stdout)",
			    &a.output, "file"),
		CP_OPT_STR_(0, "to", "<format>", "output format: " SUPPORTED_FORMATS, &a.to, NULL),
		CP_OPT_LIST_(0, "comm", "<list>", "only samples of these thread names", &a.comms,
			     NULL),
		CP_OPT_LIST_(0, "pid", "<list>", "only samples of these process ids", &a.pids,
			     "pid"),
		CP_OPT_LIST_(0, "tid", "<list>", "only samples of these thread ids", &a.tids, NULL),
		CP_OPT_FLAG_(0, "no-inline", "leave out inlined frames", &a.no_inline),
		CP_OPT_END_,
	};
	int first;
	int rc = cp_opt_parse("convert", convert_usage, opts, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct cp_view_opts vo = { .value_index = CP_NONE, .no_inline = a.no_inline };
	struct cp_error err = { 0 };
	uint32_t *pids = NULL, *tids = NULL;
	rc = 2;
	if (first < argc)
		cp_die_usage("convert", convert_usage, opts, "unexpected argument '%s'",
			     argv[first]);
	else if (!a.to)
		cp_die_usage("convert", convert_usage, opts,
			     "missing --to <format> (supported: " SUPPORTED_FORMATS ")");
	else if (strcmp(a.to, "folded"))
		cp_die_usage("convert", convert_usage, opts,
			     "unsupported format '%s' (supported: " SUPPORTED_FORMATS ")", a.to);
	else if (!a.output[0])
		cp_die_usage("convert", convert_usage, opts, "--output: empty file name");
	else if (cp_view_parse_ids("pid", a.pids.v, (size_t)a.pids.n, &pids, &err) < 0 ||
		 cp_view_parse_ids("tid", a.tids.v, (size_t)a.tids.n, &tids, &err) < 0)
		cp_die_usage("convert", convert_usage, opts, "%s", err.msg);
	else
		rc = -1;
	if (rc < 0) {
		vo.filter.pids = pids;
		vo.filter.npids = (size_t)a.pids.n;
		vo.filter.tids = tids;
		vo.filter.ntids = (size_t)a.tids.n;
		vo.filter.comms = a.comms.v;
		vo.filter.ncomms = (size_t)a.comms.n;
		rc = run_convert(&a, &vo);
	}
	free(pids);
	free(tids);
	cp_strlist_release(&a.comms);
	cp_strlist_release(&a.pids);
	cp_strlist_release(&a.tids);
	return rc;
}
