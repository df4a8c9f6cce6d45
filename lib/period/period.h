/* period.h - the files of a continuous recording.
 *
 * Each period of a run (cut by the recorder, lib/sample) is written into
 * one directory in every chosen format, on a thread of its own so that a
 * slow disk never holds up sampling:
 *   2026-12-04T10:00:00.000Z.cprof   the recording (cprof report, convert)
 *   2026-12-04T10:00:00.000Z.pb.gz   pprof (go tool pprof, Parca, Pyroscope)
 *   2026-12-04T10:00:00.000Z.svg     a flame graph
 *   2026-12-04T10:00:00.000Z.folded  folded stacks (flamegraph.pl)
 * named by the period's UTC start time with milliseconds, strictly
 * increasing within a run (a name already used moves on by a
 * millisecond), and latest.cprof, latest.pb.gz, ... links to the newest.
 *
 * A file appears whole or not at all: it is written unnamed (O_TMPFILE;
 * where the file system lacks it, as a hidden ".NAME.tmp"), synced, and
 * then given its name by a rename, so readers never see half a file, and
 * a cprof killed at any moment leaves only complete files (at worst one
 * complete hidden ".NAME.tmp", removed by the next run in that directory).
 * With keep, the oldest periods beyond that count are deleted, format by
 * format, after each new one.
 */
#ifndef CPROF_PERIOD_H
#define CPROF_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "profile/profile.h"

enum cp_period_format {
	CP_PERIOD_CPROF = 0x1,
	CP_PERIOD_PPROF = 0x2,
	CP_PERIOD_SVG = 0x4,
	CP_PERIOD_FOLDED = 0x8,
};

/* Parse a --format list ("pprof,svg"); CP_E_USAGE names an unknown or
 * repeated entry: "unknown format 'x' (supported: cprof, pprof, svg,
 * folded)". */
int cp_period_parse_formats(const char *list, unsigned *out, struct cp_error *err);

struct cp_period_opts {
	const char *dir;    /* created (with its parents) when missing */
	unsigned formats;   /* CP_PERIOD_* bits, at least one */
	unsigned keep;      /* periods kept per format, 0 = all */
	const char *title;  /* the flame graphs' title, NULL: "cprof: COMMAND" */
	unsigned max_queue; /* periods waiting to be written; 0 = 4 */
	/* Called in the writing thread with each period once its files are
	 * written (--push spools it); NULL none.  formats may be 0 with a
	 * sink: then no file is written. */
	void (*sink)(void *arg, const struct cp_profile *p);
	void *sink_arg;
};

struct cp_period_stats {
	uint64_t written; /* periods whose every file was written */
	uint64_t dropped; /* periods left unwritten: the disk fell behind */
	uint64_t failed;  /* periods with a file that could not be written */
};

struct cp_period_writer;

/* Check and create the directory, remove the hidden temporary files a
 * killed run left there, and start the writing thread.  NULL with err set
 * ("cannot create directory 'x': ..."). */
struct cp_period_writer *cp_period_writer_new(const struct cp_period_opts *o,
					      struct cp_error *err);
/* Queue a period's profile for writing; the writer owns and frees it.  It
 * never waits for the disk: when max_queue periods are already waiting,
 * the oldest waiting one is dropped (counted, and a warning is logged). */
void cp_period_writer_submit(struct cp_period_writer *w, struct cp_profile *p);
/* Counts so far (thread-safe). */
void cp_period_writer_stats(struct cp_period_writer *w, struct cp_period_stats *st);
/* Write everything queued, stop the thread, fill *st (nullable) with the
 * final counts and free w.  Returns 0, or CP_E_IO when a period failed
 * (err: the first failure's message). */
int cp_period_writer_close(struct cp_period_writer *w, struct cp_period_stats *st,
			   struct cp_error *err);

/* Whether name is a period file name with extension ext (".pb.gz"):
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" then ext. */
bool cp_period_is_name(const char *name, const char *ext);

#endif
