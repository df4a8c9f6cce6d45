/* serve.h - cprof serve: pprof HTTP endpoints and on-demand profiling
 * sessions for processes on this machine.
 *
 * config.c   the settings (INI through libinih, one key table that also
 *            prints --print-config), checked before the server starts
 * request.c  the requests' parameters (query strings, session JSON),
 *            validated into plain structs: what the fuzz harnesses feed
 * targets.c  which processes a request names (pid=, /t/NAME/ prefixes
 *            from the config) and whether it may have them
 * server.c   the server: routing, Go's one-profile-per-target rule
 * pprof.c    /debug/pprof/... (profile, flamegraph, index)
 * api.c      /api/v1/... (sessions, status)
 * app.c      cprof serve -- command: the program it runs, with the heap
 *            interposer (sampled), for /debug/pprof/heap and allocs
 *
 * HTTP is lib/http's (libmicrohttpd), sampling lib/session's. */
#ifndef CPROF_SERVE_H
#define CPROF_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/core.h"

/* A named target of /t/NAME/debug/pprof/...: the process in a pidfile,
 * or every process whose command line matches a regular expression
 * (POSIX extended, as pgrep -f). */
struct cp_serve_target {
	char *name;
	char *pidfile;
	char *cmdline;
};

struct cp_serve_config {
	/* [server] */
	char *listen;            /* HOST:PORT, [V6]:PORT or unix:/path */
	char *token_file;        /* bearer token (first line), "" none */
	char *tls_cert, *tls_key; /* PEM files, "" none */
	char *tls_client_ca;     /* PEM: client certificates must chain to it */
	char *allowed_hosts;     /* Host header values besides the loopback names */
	long max_connections;
	long max_request_bytes;  /* request body */
	long max_headers;
	long request_timeout_seconds;
	/* [limits] */
	long max_concurrent_sessions;
	long max_session_duration_seconds;
	long max_frequency_hz;
	long default_seconds;    /* pprof's seconds= default (Go: 30) */
	long default_frequency_hz;
	long chunk_size_bytes;
	long keep_finished_seconds;
	long heap_sample_bytes;  /* cprof serve -- command: mean bytes between samples */
	/* [store] */
	char *data_dir;          /* "" none */
	char *db_url;            /* postgresql://...: the store there instead, "" none */
	long retention_days, retention_bytes, max_upload_bytes;
	/* [control] */
	long control;                 /* fleet control's endpoints: 1 on */
	long control_requests_per_minute, control_burst; /* per requester token */
	long control_expire_seconds;  /* a command's grace time (control.h) */
	/* [targets] */
	char *allow_uids;        /* comma-separated; "" any */
	char *allow_names;       /* process names (comm); "" any */
	struct cp_serve_target *targets;
	int ntargets;
};

/* Defaults (every string allocated, so free works on any config). */
void cp_serve_config_init(struct cp_serve_config *c);
void cp_serve_config_release(struct cp_serve_config *c);
/* dst (uninitialized) = a deep copy of src. */
void cp_serve_config_copy(struct cp_serve_config *dst, const struct cp_serve_config *src);
/* Read INI text (name: for messages) over c.  Unknown sections or keys and
 * bad values are errors naming the file, line and key. */
int cp_serve_config_parse(struct cp_serve_config *c, const char *text, const char *name,
			  struct cp_error *err);
int cp_serve_config_load(struct cp_serve_config *c, const char *path, struct cp_error *err);
/* Every key with its value, as an INI file that reads back the same. */
void cp_serve_config_print(FILE *out, const struct cp_serve_config *c);
/* Set one [server]/[limits]/[targets] key by name (a command-line flag
 * over the file). */
int cp_serve_config_set(struct cp_serve_config *c, const char *key, const char *value,
			struct cp_error *err);

/* The listen address, parsed. */
struct cp_serve_listen {
	enum { CP_LISTEN_INET, CP_LISTEN_INET6, CP_LISTEN_UNIX } kind;
	char host[256]; /* address, or the socket's path */
	uint16_t port;
	bool loopback;
};
int cp_serve_parse_listen(const char *s, struct cp_serve_listen *out, struct cp_error *err);

/* ---- requests (request.c) ------------------------------------------------ */

/* A query parameter by name, NULL when absent. */
typedef const char *(*cp_serve_query_fn)(void *arg, const char *key);

/* /debug/pprof/profile and flamegraph: pid (0 when the path names the
 * target), seconds, frequency; width for SVGs. */
struct cp_serve_profile_req {
	pid_t pid;
	long seconds, frequency, width;
	bool seconds_over; /* seconds above the maximum: Go's 400 with X-Go-Pprof */
};
/* 0, or 400 with msg filled. */
int cp_serve_parse_profile_query(const struct cp_serve_config *c, cp_serve_query_fn q, void *arg,
				 bool need_pid, struct cp_serve_profile_req *out, char *msg,
				 size_t msgsz);

/* /debug/pprof/heap, allocs and heap/flamegraph: seconds (0: the
 * running totals; N: what happened in the next N seconds, Go's delta
 * profile), Go's gc (accepted, nothing to collect) and debug (0 only: the
 * legacy text format is not made), sample_type (the flame graph's value:
 * NULL for the endpoint's default), width. */
struct cp_serve_heap_req {
	long seconds, width;
	bool seconds_over;
	const char *sample_type; /* a static string */
};
int cp_serve_parse_heap_query(const struct cp_serve_config *c, cp_serve_query_fn q, void *arg,
			      struct cp_serve_heap_req *out, char *msg, size_t msgsz);

/* POST /api/v1/sessions: {"pid": P | "target": "NAME", "duration": S,
 * "frequency": F, "service": "web", "labels": "k=v,..."}; no other keys
 * (service: keep the result in the store; labels need it). */
struct cp_serve_session_req {
	pid_t pid;
	char target[64];
	long duration, frequency;
	char service[128], labels[512]; /* store the result under these ("" none) */
};
int cp_serve_parse_session_json(const struct cp_serve_config *c, const char *body, size_t len,
				struct cp_serve_session_req *out, char *msg, size_t msgsz);

/* A time in a query: unix seconds, "now" or "-N" with s, m, h or d
 * (before now_ns), as wall-clock ns.  0, or -1 when it is none of them. */
int cp_serve_parse_time(const char *s, int64_t now_ns, int64_t *out);

/* Pyroscope's application name, "APP[.TYPE][{k=v,...}]" (TYPE one of its
 * profile types, left out): service APP, labels in canonical form.  0, or
 * 400 with msg. */
int cp_serve_parse_app_name(const char *name, char service[128], char labels[512], char *msg,
			    size_t msgsz);

/* A session id as the API hands them out: 16 lowercase hex digits. */
bool cp_serve_valid_id(const char *s, size_t len);

/* ---- the server (server.c) ----------------------------------------------- */

/* ---- the program cprof serve runs (app.c) ----------------------------- */

struct cp_serve_app;
/* Start argv with libcprof-heap.so preloaded, sampling one allocation per
 * sample_interval bytes on average (Go's MemProfileRate scheme), held
 * before its exec until cp_serve_app_run().  command_line: for the
 * profiles' meta; cache_dir: the symbol cache (NULL none).  CP_E_NOENT / CP_E_PERM when it cannot be run,
 * CP_E_UNSUPPORTED when nothing can be preloaded into it (static). */
struct cp_serve_app *cp_serve_app_spawn(char **argv, const char *command_line,
					uint64_t sample_interval, const char *cache_dir,
					struct cp_error *err);
pid_t cp_serve_app_pid(const struct cp_serve_app *a);
/* Let it exec and read its allocation records until it exits; signals
 * read from sigfd (sent by another process) are passed on to it.
 * Returns its exit code as a shell reports it (127: it could not be run,
 * err says why). */
int cp_serve_app_run(struct cp_serve_app *a, int sigfd, struct cp_error *err);
/* A program never released is killed (it is still cprof's fork). */
void cp_serve_app_free(struct cp_serve_app *a);

struct cp_server;
/* Check the config (security rules included: a non-loopback address, or a
 * server running as root, needs a token or client certificates) and start
 * listening.  The token and certificate files are read here.  app (NULL
 * none): the program whose heap profiles are served, and the process of
 * CPU profiles that name none; it must outlive the server. */
struct cp_server *cp_server_start(const struct cp_serve_config *c, struct cp_serve_app *app,
				  struct cp_error *err);
/* Where it listens, for the log line: "http://127.0.0.1:6060". */
const char *cp_server_url(const struct cp_server *s);
void cp_server_stop(struct cp_server *s);

#endif
