/* io.c - input and output plumbing shared by report, convert and flame
 * (see io.h). */
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "sample/sample.h"

const char *io_default_input(void)
{
	struct stat st;
	if (!isatty(STDIN_FILENO) && fstat(STDIN_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
	     (S_ISREG(st.st_mode) && st.st_size > 0)))
		return "-";
	return "cprof.data";
}

int io_parse_from(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  const char *s, enum cp_input_format *out)
{
	struct cp_error err = { 0 };
	*out = CP_INPUT_UNKNOWN;
	if (!s)
		return 0;
	if (cp_format_parse_input(s, out, &err) < 0) {
		cp_die_usage(cmd, usage, opts, "--from: %s", err.msg);
		return 2;
	}
	return 0;
}

/* A progress note for inputs big enough to take a moment, on a terminal. */
static void progress(const char *cmd, const char *path, bool done)
{
	struct stat st;
	if (!cp_stderr_is_tty() || !strcmp(path, "-") || stat(path, &st) ||
	    st.st_size < 32 * 1024 * 1024)
		return;
	if (done)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "cprof %s: reading '%s' (%.0f MB)...", cmd, path,
			(double)st.st_size / 1e6);
	fflush(stderr);
}

struct cp_profile *io_load(const char *cmd, const char *path, enum cp_input_format from,
			   struct cp_input_info *info)
{
	struct cp_error err = { 0 };
	struct cp_profile *p = NULL;
	struct cp_input_info local;
	if (!info)
		info = &local;
	progress(cmd, path, false);
	int rc = cp_input_read(path, from, &p, info, &err);
	progress(cmd, path, true);
	if (rc < 0) {
		cmd_error(cmd, "%s", err.msg);
		return NULL;
	}
	if (p->truncated) {
		cmd_warning(cmd, "recording is truncated: %s",
			    p->truncated_why[0] ? p->truncated_why : "the file ends early");
		cp_log(CP_LOG_INFO, "symbolized %zu locations from the files on this machine",
		       cp_sample_symbolize(p, NULL, NULL, true));
	}
	return p;
}

int io_pick_value(const char *cmd, const struct cp_profile *p, const char *type,
		  bool prefer_count, uint32_t *out)
{
	*out = CP_NONE;
	if (type) {
		*out = cp_profile_value_index(p, type);
		if (*out != CP_NONE)
			return 0;
		struct cp_buf b = { 0 };
		for (size_t i = 0; i < p->value_types.n; i++) {
			if (i)
				cp_buf_add(&b, ", ", 2);
			cp_buf_add(&b, p->value_types.v[i].type, strlen(p->value_types.v[i].type));
		}
		cp_buf_add_u8(&b, 0);
		cmd_error(cmd, "--sample-type: unknown sample type '%s' (this profile has: %s)",
			  type, p->value_types.n ? (const char *)b.p : "no sample types");
		cp_buf_release(&b);
		return -1;
	}
	if (prefer_count) {
		uint32_t i = cp_profile_value_index(p, "samples");
		if (i != CP_NONE && !strcmp(p->value_types.v[i].unit, "count"))
			*out = i;
	}
	return 0;
}

int io_write_output(const char *cmd, const char *output, io_writer_fn write, void *arg)
{
	struct cp_error err = { 0 };
	if (!strcmp(output, "-")) {
		if (write(stdout, "standard output", arg, &err) < 0) {
			cmd_error(cmd, "%s", err.msg);
			return 1;
		}
		return 0;
	}
	char *tmp = cp_xasprintf("%s.tmp", output);
	int rc = 1;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		cmd_error(cmd, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return 1;
	}
	char *what = cp_xasprintf("'%s'", tmp);
	if (write(f, what, arg, &err) < 0) {
		cmd_error(cmd, "%s", err.msg);
		fclose(f);
	} else if (fflush(f) || fsync(fileno(f)) || ferror(f)) {
		cmd_error(cmd, "cannot write '%s': %s", tmp, strerror(errno));
		fclose(f);
	} else if (fclose(f)) {
		cmd_error(cmd, "cannot write '%s': %s", tmp, strerror(errno));
	} else if (rename(tmp, output)) {
		cmd_error(cmd, "cannot rename '%s' to '%s': %s", tmp, output, strerror(errno));
	} else {
		rc = 0;
	}
	if (rc)
		unlink(tmp);
	free(what);
	free(tmp);
	return rc;
}
