/* data.h - the cprof.data container: a streaming writer and a reader.
 *
 * Layout (documented for users in man/cprof-data.5):
 *   a fixed header (magic, version), then a sequence of independently
 *   decodable chunks, each zstd-compressed with its own small header and a
 *   checksum; definitions (mappings, locations, stacks, strings) always
 *   precede the samples that use them, so any prefix of complete chunks is
 *   a valid recording.  The last chunks hold the symbol section (functions,
 *   each location's inline chain and the stored machine code of sampled
 *   functions) and an end record with the final meta.  A file that
 *   lacks the end record was cut short (the writer was killed); the
 *   reader returns everything up to the last complete chunk
 *   and marks the profile truncated.
 *
 * The writer never keeps samples in memory: they are encoded into the
 * current chunk and written when it is full or cp_data_writer_flush() is
 * called (the recorder calls it at least once a second).
 */
#ifndef CPROF_DATA_H
#define CPROF_DATA_H

#include "core/core.h"
#include "profile/profile.h"

#define CP_DATA_MAGIC "CPROFDAT"
#define CP_DATA_VERSION 1

struct cp_data_writer;

/* Open PATH for writing ("-" = stdout).  An existing regular file is
 * renamed to PATH.old first (as perf does), so a good file is never
 * overwritten in place.  `model` is borrowed for the writer's lifetime: the
 * caller adds mappings, locations, stacks and strings to it as it goes and
 * the writer emits whatever is new at each flush; model->samples is not
 * used (samples go through cp_data_writer_add_sample). */
struct cp_data_writer *cp_data_writer_open(const char *path, struct cp_profile *model,
					   struct cp_error *err);
/* The same into an open descriptor (a temporary file), named `name` in
 * messages; fd is not closed. */
struct cp_data_writer *cp_data_writer_open_fd(int fd, const char *name, struct cp_profile *model,
					      struct cp_error *err);
/* Encode one sample (values: model->value_types.n entries).  May write a
 * chunk when the current one is full. */
int cp_data_writer_add_sample(struct cp_data_writer *w, const struct cp_profile_sample *s,
			      const int64_t *values, struct cp_error *err);
/* Write the pending chunk (new definitions, then buffered samples). */
int cp_data_writer_flush(struct cp_data_writer *w, struct cp_error *err);
/* Write the symbol section (functions, every location's lines, the
 * model's stored code with meta.code_max and code_skipped), the final
 * meta and the end record, then close.  Frees w even on error. */
int cp_data_writer_finish(struct cp_data_writer *w, struct cp_error *err);
/* Close without the end record (used on fatal errors); frees w. */
void cp_data_writer_abort(struct cp_data_writer *w);
/* Bytes written so far. */
uint64_t cp_data_writer_bytes(const struct cp_data_writer *w);

/* Read a whole recording ("-" = stdin) into a new profile the caller frees
 * with cp_profile_free.  A cut-short file is not an error: the result has
 * truncated set, truncated_at and truncated_why filled.  Malformed input
 * returns CP_E_FORMAT with the byte offset in the message, e.g.
 * "'x.data': bad chunk checksum at offset 4096". */
int cp_data_read(const char *path, struct cp_profile **out, struct cp_error *err);
/* The same from a memory buffer (used by the fuzz harness); name is used in
 * messages. */
int cp_data_read_mem(const void *buf, size_t len, const char *name, struct cp_profile **out,
		     struct cp_error *err);
/* Whether buf starts like a cprof.data file (for format detection). */
bool cp_data_sniff(const void *buf, size_t len);

#endif
