/* store.h - the profile store: every profile kept, found again, checked.
 *
 * A stored profile is two blobs, the profile as gzipped pprof and its
 * flame-graph tree as JSON, plus one index row (service, labels, host,
 * pid, time range, sample type, totals, sizes, SHA-256 of each blob).
 * The default backend keeps the blobs in a data directory,
 * DIR/ID/profile.pb.gz and DIR/ID/profile.json, and the index in SQLite
 * (DIR/index.sqlite, WAL).
 *
 * Write order, so that a crash at any moment leaves no row without its
 * files and no half file in sight: both blobs are written under DIR/tmp/ID/,
 * each fsynced, the directory fsynced, renamed to DIR/ID in one step, DIR
 * fsynced, and only then the row is committed.  A crash before the commit
 * leaves a directory no row names: it was never acknowledged, and the
 * next open removes it (and DIR/tmp).  Deleting goes the other way: the
 * row first, then the files.
 *
 * Not here: HTTP (lib/serve), turning a profile into the blobs
 * (lib/format), retention policy numbers (the caller's).
 */
#ifndef CPROF_STORE_H
#define CPROF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define CP_STORE_ID_LEN 16 /* lowercase hex digits */

/* One index row. */
struct cp_store_row {
	char id[CP_STORE_ID_LEN + 1];
	char service[128];
	char labels[512];      /* canonical: "k=v,k2=v2", keys sorted, "" none */
	char host[256];
	int64_t pid;           /* 0 unknown */
	int64_t from_ns, until_ns; /* wall clock (UTC ns) the profile covers */
	char sample_type[64];  /* its default type: "cpu", "inuse_space" */
	int64_t total;         /* the default type's sum */
	int64_t samples;
	int64_t created_ns;    /* when stored */
	int64_t size, json_size;
	char sha256[65], json_sha256[65];
};

/* A list query: every field optional (empty string, 0). */
struct cp_store_query {
	const char *service;
	const char *labels;    /* "k=v,k2=v2": rows with every one of them */
	int64_t from_ns, until_ns; /* rows overlapping [from, until) */
	long limit;            /* most rows, newest first; 0: 1000 */
};

struct cp_store;

/* Open (creating it when missing) the store at dir.  Leftovers of an
 * interrupted write are removed here.  CP_E_IO / CP_E_FORMAT with the
 * path when the directory or the index cannot be used.  A
 * postgresql://USER@HOST:PORT/DB URL opens the PostgreSQL backend
 * instead (pg.c): rows and blobs in one table (created when missing),
 * shared by every server that opens it. */
struct cp_store *cp_store_open(const char *dir, struct cp_error *err);
void cp_store_close(struct cp_store *s);

/* Store a profile: row's fields but id, created_ns, sizes and checksums
 * are the caller's (service non-empty); those are filled in.  Returns 0
 * once the row is committed (the profile is durable then). */
int cp_store_put(struct cp_store *s, struct cp_store_row *row, const void *pb, size_t pblen,
		 const void *json, size_t jsonlen, struct cp_error *err);

/* The rows matching q, newest first: fn is called for each (a non-zero
 * return stops the listing and is returned). */
typedef int (*cp_store_row_fn)(const struct cp_store_row *row, void *arg);
int cp_store_list(struct cp_store *s, const struct cp_store_query *q, cp_store_row_fn fn,
		  void *arg, struct cp_error *err);
/* One row by id: 0, CP_E_NOENT when there is none (or id is no id). */
int cp_store_get(struct cp_store *s, const char *id, struct cp_store_row *row,
		 struct cp_error *err);

enum cp_store_blob { CP_STORE_PPROF, CP_STORE_JSON };
/* A blob's bytes (malloc'ed), checked against the row's size and SHA-256:
 * CP_E_FORMAT when it is damaged, CP_E_NOENT when missing. */
int cp_store_read(struct cp_store *s, const char *id, enum cp_store_blob which, void **data,
		  size_t *len, struct cp_error *err);

/* Remove one profile (row, then files). */
int cp_store_delete(struct cp_store *s, const char *id, struct cp_error *err);

/* Retention: remove profiles stored before created_before_ns (0: no age
 * limit), then the oldest until the blobs total at most max_bytes (0: no
 * limit).  *removed (nullable): how many went. */
int cp_store_retain(struct cp_store *s, int64_t created_before_ns, int64_t max_bytes,
		    long *removed, struct cp_error *err);

/* Totals of the index. */
struct cp_store_stats {
	int64_t profiles, bytes;
};
int cp_store_stats(struct cp_store *s, struct cp_store_stats *st, struct cp_error *err);

/* Check every row's blobs against its sizes and checksums, and look for
 * directories no row names.  fn gets one line per problem ("ID:
 * profile.pb.gz: missing", "ID: profile.json: checksum mismatch", "ID:
 * no index row"; fn may be NULL); returns the number of problems, or a negative code
 * when the index cannot be read. */
typedef void (*cp_store_problem_fn)(const char *line, void *arg);
long cp_store_check(struct cp_store *s, cp_store_problem_fn fn, void *arg, struct cp_error *err);

/* "k=v,k2=v2" (or Pyroscope's "{k=v,k2=v2}" body) into canonical form
 * (keys sorted, no spaces) in out; CP_E_USAGE naming the bad part.  Keys:
 * letters, digits, '_', '.', '-'; values: anything but ',', '=', '{', '}'
 * and control characters. */
int cp_store_canon_labels(const char *in, char *out, size_t outsz, struct cp_error *err);

/* Whether the n bytes at s are a service name: 1 to 127 letters, digits,
 * '-', '_' or '.'. */
bool cp_store_valid_service(const char *s, size_t n);
/* Whether s is a profile id as the store makes them. */
bool cp_store_valid_id(const char *s);

#endif
