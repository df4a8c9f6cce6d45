/* fuzz-text.h - the body shared by the harnesses of the text readers
 * (fuzz_folded.c, fuzz_perfscript.c): any input must give a profile or an
 * error, never a crash, hang, leak or out-of-bounds read.  A profile that
 * reads is also viewed and written back as folded stacks (with
 * annotations and thread root frames), as `cprof flame` and `cprof
 * convert` would; the content detection sees every input too. */
#ifndef CPROF_FUZZ_TEXT_H
#define CPROF_FUZZ_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

typedef int (*fuzz_reader_fn)(const void *buf, size_t len, const char *name,
			      struct cp_profile **out, struct cp_error *err);

static int fuzz_text_reader(fuzz_reader_fn read, const uint8_t *data, size_t size)
{
	static FILE *devnull;
	/* a copy of exactly size bytes, so reads past the end are caught */
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	if (read(buf, size, "fuzz", &p, &err) == 0) {
		if (!devnull)
			devnull = fopen("/dev/null", "w");
		struct cp_view *v = cp_view_new(p, NULL, &err);
		if (v) {
			struct cp_folded_opts o = { .weights = true, .mark_inline = true,
						    .root = (enum cp_folded_root)(size % 4) };
			cp_format_folded_write(devnull, v, &o, "fuzz", &err);
			cp_view_free(v);
		}
		cp_profile_free(p);
	}
	(void)cp_format_detect(buf, size);
	free(buf);
	return 0;
}

#endif
