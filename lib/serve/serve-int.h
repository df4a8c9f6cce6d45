/* serve-int.h - what lib/serve's files share: the server's state, target
 * resolution, the handlers. */
#ifndef CPROF_SERVE_INT_H
#define CPROF_SERVE_INT_H

#include <pthread.h>

#include "http/http.h"
#include "serve/serve.h"
#include "session/session.h"

#define CP_SERVE_MAX_KEPT 256

/* A session of the API (api.c). */
struct cp_serve_sess {
	char id[17];
	struct cp_session *s;
	char target[80]; /* "process 12" or "target web" */
	long duration, freq;
	uint64_t created_ns, done_ns;
	char *folded; /* made once, when first asked for */
	size_t folded_len;
	int readers;  /* streams of folded in flight */
	struct cp_server *server;
	char service[128], labels[512]; /* keep the result in the store ("" no) */
	char stored_id[17];  /* set by the session's thread, then stored */
	int stored;          /* 1 stored, -1 storing failed (atomic) */
	char store_error[512];
};

struct cp_server {
	struct cp_serve_config cfg;
	struct cp_http *http;
	char url[300];
	char *cache_dir; /* the symbol cache sessions share (cp_cache_dir), NULL none */
	uint64_t started_ns;
	/* Go's rule: one profile of a target at a time (server.c) */
	pthread_mutex_t busy_lock;
	pid_t busy[1024];
	/* sessions (api.c) */
	pthread_mutex_t sess_lock;
	struct cp_serve_sess *sessions[CP_SERVE_MAX_KEPT];
	uint64_t total_sessions, total_profiles, total_requests;
	int profiles_running; /* /debug/pprof requests sampling now (atomic) */
	struct cp_serve_app *app; /* cprof serve -- command, NULL none */
	struct cp_store *store;   /* --data, NULL none */
	struct cp_control *control; /* --control, NULL none */
	char *admin_token;        /* token_file's token, NULL none */
};

/* The HTTP status of a failed profile read or lookup: 400 for bad input,
 * 404 for none, else 500 (profiles.c). */
unsigned cp_serve_status_of(int code);
/* /api/metrics/... (fleet.c); rest: the path after /api/metrics. */
void cp_serve_fleet(struct cp_server *s, struct cp_http_req *r, const char *rest);

/* /api/v1/profiles (profiles.c); rest: the path after it. */
void cp_serve_profiles(struct cp_server *s, struct cp_http_req *r, const char *rest);
/* GET /api/v1/merge and /api/v1/diff (profiles.c). */
void cp_serve_merge(struct cp_server *s, struct cp_http_req *r, bool is_diff);
/* The paths served without the token (ui.c): /health and the pages. */
extern const char *const cp_serve_public_paths[];
/* The web pages (ui.c): true when path is one of them (answered). */
bool cp_serve_ui(struct cp_http_req *r, const char *path);
/* POST /ingest, Pyroscope's HTTP API (profiles.c). */
void cp_serve_ingest(struct cp_server *s, struct cp_http_req *r);
/* Store p under service and labels (canonical), its time range from the
 * profile unless from_ns/until_ns are given; row filled. */
struct cp_store_row;
int cp_serve_store_profile(struct cp_server *s, const struct cp_profile *p, const char *service,
			   const char *labels, int64_t from_ns, int64_t until_ns,
			   struct cp_store_row *row, struct cp_error *err);

/* The program's heap profile (app.c): its running totals, or with
 * seconds > 0 what happened in the next seconds (cut short when it
 * exits).  NULL with err when it has not loaded the interposer. */
struct cp_profile;
struct cp_profile *cp_serve_app_heap(struct cp_serve_app *a, long seconds, struct cp_error *err);

/* The processes a request names. */
struct cp_serve_pids {
	pid_t pids[CP_SESSION_MAX_PIDS];
	int n;
	char key[80]; /* "process 12", "target web" */
};
/* A configured target by name (name != NULL, namelen bytes) or a pid,
 * each process checked against the allow lists and, over a unix socket,
 * the caller's uid (peer_uid, -1 on TCP).  0, or an HTTP status with msg. */
int cp_serve_resolve(const struct cp_server *s, const char *name, size_t namelen, pid_t pid,
		     long peer_uid, struct cp_serve_pids *out, char *msg, size_t msgsz);

/* Claim every process of p for one profile (Go's rule); false when one is
 * being profiled already.  Release when done. */
bool cp_serve_claim(struct cp_server *s, const struct cp_serve_pids *p);
void cp_serve_release(struct cp_server *s, const struct cp_serve_pids *p);

/* Start a session on p, or reply with the error and return NULL. */
struct cp_session *cp_serve_session_start(struct cp_server *s, struct cp_http_req *r,
					  const struct cp_serve_pids *p, long seconds, long freq,
					  void (*done)(void *arg, const struct cp_profile *prof),
					  void *done_arg);

/* JSON replies: the object is consumed. */
struct json_t;
void cp_serve_reply_json(struct cp_http_req *r, unsigned status, struct json_t *j);

/* Handlers.  pprof: rest is the path after the /debug/pprof prefix
 * ("/profile"), target the /t/NAME/ part (NULL, 0 when none). */
void cp_serve_pprof(struct cp_server *s, struct cp_http_req *r, const char *rest,
		    const char *target, size_t tlen);
void cp_serve_api(struct cp_server *s, struct cp_http_req *r, const char *rest);
void cp_serve_api_free(struct cp_server *s);

#endif
