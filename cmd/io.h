/* io.h - what `report`, `convert` and `flame` share at the command level:
 * which input to read when none is named, reading any profile format,
 * the --sample-type choice, and writing an output file atomically.
 * (Commands never include each other; shared command-level code lives
 * here and in common.h, algorithms in lib/.) */
#ifndef CPROF_CMD_IO_H
#define CPROF_CMD_IO_H

#include <stdbool.h>
#include <stdio.h>

#include "core/core.h"
#include "format/format.h"
#include "input/input.h"
#include "profile/profile.h"
#include "opt.h"

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
 * good one.  write returns 0 or a negative CP_E_* with err set. */
typedef int (*io_writer_fn)(FILE *out, const char *what, void *arg, struct cp_error *err);
int io_write_output(const char *cmd, const char *output, io_writer_fn write, void *arg);

#endif
