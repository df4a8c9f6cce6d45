/* input.h - open any profile a user hands to cprof: a cprof.data
 * recording, a pprof profile, `perf script` text or folded stacks, from a
 * file or from standard input ("-"), the format recognised from the
 * content or forced by the caller (--from).
 *
 * This is the one place that knows every reader; report, convert and
 * flame call it and then work on the profile model only.
 */
#ifndef CPROF_INPUT_H
#define CPROF_INPUT_H

#include "core/core.h"
#include "format/format.h"
#include "profile/profile.h"

struct cp_input_info {
	enum cp_input_format format; /* what was read */
	uint64_t bytes;              /* size of the input (before decompression) */
};

/* Read `path` ("-" = standard input) into a new profile (*out, freed by
 * the caller with cp_profile_free).  `from` CP_INPUT_UNKNOWN means "detect
 * from the content"; otherwise that reader is used whatever the content.
 * info (nullable) says what was read.  Errors: CP_E_NOENT / CP_E_IO for
 * the file ("cannot open 'x': ..."), CP_E_FORMAT for an empty input or
 * content no reader recognises ("cannot tell the format of 'x': ...; use
 * --from") and whatever the reader reports.  A cprof recording that ends
 * early is read up to the last good chunk (p->truncated set), as
 * cp_data_read does. */
int cp_input_read(const char *path, enum cp_input_format from, struct cp_profile **out,
		  struct cp_input_info *info, struct cp_error *err);
/* The same for bytes in memory (an upload); name is for messages. */
int cp_input_read_mem(const void *data, size_t len, const char *name, enum cp_input_format from,
		      struct cp_profile **out, struct cp_input_info *info, struct cp_error *err);

#endif
