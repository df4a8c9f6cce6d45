/* push.h - sending profiles to a cprof serve --data store as they are
 * made (record/attach --every --push URL).
 *
 * Each profile is first written to a spool directory as gzipped pprof
 * (named by its time range, written under a temporary name and renamed,
 * so a killed cprof leaves only whole files), then a thread of its own
 * uploads the spooled files oldest first with libcurl:
 * POST URL/api/v1/profiles?service=..&labels=..&from=..&until=.. .  A
 * file goes once the server has acknowledged it (2xx).  When the server
 * cannot be reached or answers 5xx, 401, 403, 404, 408 or 429, the thread
 * waits (1 s, doubling up to 60 s) and tries again, so periods made
 * during an outage arrive after it; a 400 or 413 (the server will never
 * take that file) drops the file with a warning.  The spool is bounded:
 * before a file is added, the oldest waiting files are dropped (counted)
 * until it fits in spool_max bytes.
 * What is still spooled when cprof stops stays for the next run with the
 * same spool directory.
 */
#ifndef CPROF_PUSH_H
#define CPROF_PUSH_H

#include <stdint.h>

#include "core/core.h"
#include "profile/profile.h"

struct cp_push_opts {
	const char *url;       /* http(s)://HOST:PORT of a cprof serve --data */
	const char *service;   /* 1-127 letters, digits, '-', '_', '.' */
	const char *labels;    /* "k=v,k2=v2", NULL or "" none */
	const char *token;     /* bearer token, NULL none */
	const char *ca_file;   /* PEM CA for https, NULL: the system's */
	const char *spool_dir; /* created when missing */
	uint64_t spool_max;    /* bytes; 0: 256 MiB */
};

struct cp_push_stats {
	uint64_t sent;     /* acknowledged by the server */
	uint64_t dropped;  /* spool over its limit: oldest dropped */
	uint64_t rejected; /* 400 or 413: dropped */
	uint64_t pending;  /* still in the spool */
	uint64_t retries;  /* attempts that failed and were retried */
};

struct cp_push;

/* Check the options, create the spool directory (removing temporary
 * files a killed run left there) and start the sending thread; files
 * spooled by an earlier run are sent first.  CP_E_USAGE names a bad URL
 * or service. */
struct cp_push *cp_push_new(const struct cp_push_opts *o, struct cp_error *err);
/* Spool a profile (its pprof, Go's heap layout for a heap profile) and
 * wake the thread.  It never waits for the network.  CP_E_IO when the
 * spool cannot be written. */
int cp_push_profile(struct cp_push *p, const struct cp_profile *prof, struct cp_error *err);
void cp_push_stats(struct cp_push *p, struct cp_push_stats *st);
/* Keep sending for up to wait_ns while files are spooled and the server
 * takes them (not once it fails: the spool keeps them), then stop the
 * thread and free p; *st (nullable) gets the
 * final counts. */
void cp_push_close(struct cp_push *p, uint64_t wait_ns, struct cp_push_stats *st);

/* One POST with libcurl (curl: a CURL * reused between calls, so that its
 * connection is kept): Authorization: Bearer token (NULL none), ca_file
 * for https (NULL: the system's).  0 when an answer came (*status its
 * code, reply (nullable) the first 64 KiB of its body), -1 when none did
 * (errbuf says why). */
int cp_push_post(void *curl, const char *url, const char *token, const char *ca_file,
		 const char *ctype, const void *data, size_t len, long timeout_s, long *status,
		 struct cp_buf *reply, char *errbuf, size_t errsz);

#endif
