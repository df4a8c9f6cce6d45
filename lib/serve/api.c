/* api.c - /api/v1/...: profiling sessions (create, status, list, stop,
 * results as folded stacks in chunks, pprof or SVG) and the server's
 * status. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/format.h"
#include "profile/profile.h"
#include "serve/serve-int.h"
#include "store/store.h"

static void new_id(char *id)
{
	static uint64_t counter;
	uint64_t v = cp_realtime_ns() ^ ((uint64_t)getpid() << 40) ^
		     __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED);
	snprintf(id, 17, "%016llx", (unsigned long long)cp_hash_u64(v));
}

static void sess_free(struct cp_serve_sess *x)
{
	cp_session_free(x->s);
	free(x->folded);
	free(x);
}

/* Forget finished sessions kept longer than keep_finished_seconds (lock
 * held). */
static void expire(struct cp_server *s)
{
	uint64_t now = cp_now_ns();
	for (int i = 0; i < CP_SERVE_MAX_KEPT; i++) {
		struct cp_serve_sess *x = s->sessions[i];
		if (!x || x->readers)
			continue;
		struct cp_session_status st;
		cp_session_status(x->s, &st);
		if (st.state == CP_SESSION_RUNNING)
			continue;
		if (!x->done_ns)
			x->done_ns = now;
		if (now - x->done_ns > (uint64_t)s->cfg.keep_finished_seconds * 1000000000ull) {
			sess_free(x);
			s->sessions[i] = NULL;
		}
	}
}

static json_t *status_json(struct cp_serve_sess *x)
{
	struct cp_session_status st;
	cp_session_status(x->s, &st);
	static const char *const states[] = { "running", "done", "failed" };
	uint64_t now = cp_now_ns();
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:f, s:f}", "id", x->id, "target",
			      x->target, "duration", (json_int_t)x->duration, "frequency",
			      (json_int_t)x->freq, "state", states[st.state], "samples",
			      (json_int_t)st.samples, "ends_in",
			      st.ends_ns > now && st.state == CP_SESSION_RUNNING ?
				      (double)(st.ends_ns - now) / 1e9 :
				      0.0,
			      "first_sample_after",
			      st.first_sample_ns ? (double)st.first_sample_ns / 1e9 : 0.0);
	if (st.state == CP_SESSION_FAILED)
		json_object_set_new(j, "error", json_string(st.error));
	if (x->service[0]) {
		json_object_set_new(j, "service", json_string(x->service));
		int stored = __atomic_load_n(&x->stored, __ATOMIC_ACQUIRE);
		if (stored > 0)
			json_object_set_new(j, "profile_id", json_string(x->stored_id));
		else if (stored < 0)
			json_object_set_new(j, "store_error", json_string(x->store_error));
	}
	return j;
}

static int running(struct cp_server *s)
{
	int n = 0;
	for (int i = 0; i < CP_SERVE_MAX_KEPT; i++) {
		if (!s->sessions[i])
			continue;
		struct cp_session_status st;
		cp_session_status(s->sessions[i]->s, &st);
		n += st.state == CP_SESSION_RUNNING;
	}
	return n;
}

/* A finished session's profile into the store (the session's thread). */
static void store_result(void *arg, const struct cp_profile *p)
{
	struct cp_serve_sess *x = arg;
	struct cp_store_row row;
	struct cp_error err = { 0 };
	int rc = cp_serve_store_profile(x->server, p, x->service, x->labels, 0, 0, &row, &err);
	if (rc) {
		snprintf(x->store_error, sizeof(x->store_error), "%s", err.msg);
		cp_log(CP_LOG_WARN, "session %s: not stored: %s", x->id, err.msg);
	} else {
		memcpy(x->stored_id, row.id, sizeof(x->stored_id));
	}
	__atomic_store_n(&x->stored, rc ? -1 : 1, __ATOMIC_RELEASE);
}

static void create(struct cp_server *s, struct cp_http_req *r)
{
	size_t len;
	const char *body = cp_http_body(r, &len);
	struct cp_serve_session_req q;
	char msg[300];
	int rc = cp_serve_parse_session_json(&s->cfg, body, len, &q, msg, sizeof(msg));
	if (rc)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	if (q.service[0] && !s->store)
		return cp_http_reply_error(r, 400, "service: this server keeps no profiles (cprof "
						   "serve --data DIR)");
	struct cp_serve_pids p;
	rc = cp_serve_resolve(s, q.target[0] ? q.target : NULL, strlen(q.target), q.pid,
			      cp_http_peer_uid(r), &p, msg, sizeof(msg));
	if (rc)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	pthread_mutex_lock(&s->sess_lock);
	expire(s);
	int slot = -1;
	for (int i = 0; i < CP_SERVE_MAX_KEPT && slot < 0; i++)
		if (!s->sessions[i])
			slot = i;
	if (running(s) >= s->cfg.max_concurrent_sessions || slot < 0) {
		pthread_mutex_unlock(&s->sess_lock);
		static const char *const retry[] = { "Retry-After", "5", NULL };
		int n = snprintf(msg, sizeof(msg),
				 "{\"error\":\"%ld sessions are running (max_concurrent_sessions)"
				 "\"}\n",
				 s->cfg.max_concurrent_sessions);
		return cp_http_reply(r, 429, "application/json", msg, (size_t)n, retry);
	}
	/* made first: the session's thread may finish (and store) at once */
	struct cp_serve_sess *x = cp_xcalloc(1, sizeof(*x));
	new_id(x->id);
	x->server = s;
	memcpy(x->service, q.service, sizeof(x->service));
	memcpy(x->labels, q.labels, sizeof(x->labels));
	struct cp_session *cs = cp_serve_session_start(s, r, &p, q.duration, q.frequency,
						       q.service[0] ? store_result : NULL, x);
	if (!cs) {
		pthread_mutex_unlock(&s->sess_lock);
		free(x);
		return;
	}
	x->s = cs;
	snprintf(x->target, sizeof(x->target), "%s", p.key);
	x->duration = q.duration;
	x->freq = q.frequency;
	x->created_ns = cp_now_ns();
	s->sessions[slot] = x;
	s->total_sessions++;
	json_t *js = status_json(x);
	pthread_mutex_unlock(&s->sess_lock);
	cp_serve_reply_json(r, 201, js);
}

static struct cp_serve_sess *find(struct cp_server *s, const char *id, size_t len)
{
	if (!cp_serve_valid_id(id, len))
		return NULL;
	for (int i = 0; i < CP_SERVE_MAX_KEPT; i++)
		if (s->sessions[i] && !strncmp(s->sessions[i]->id, id, 16))
			return s->sessions[i];
	return NULL;
}

struct done_arg {
	struct cp_server *s;
	struct cp_serve_sess *x;
};

static size_t folded_read(void *arg, uint64_t pos, char *buf, size_t max)
{
	const struct cp_serve_sess *x = ((struct done_arg *)arg)->x;
	if (pos >= x->folded_len)
		return 0;
	size_t n = x->folded_len - (size_t)pos < max ? x->folded_len - (size_t)pos : max;
	memcpy(buf, x->folded + pos, n);
	return n;
}

static void folded_done(void *arg)
{
	struct done_arg *d = arg;
	pthread_mutex_lock(&d->s->sess_lock);
	d->x->readers--;
	pthread_mutex_unlock(&d->s->sess_lock);
	free(d);
}

/* The finished session's profile, or a reply saying why there is none. */
static const struct cp_profile *result(struct cp_http_req *r, struct cp_serve_sess *x)
{
	const struct cp_profile *p = cp_session_profile(x->s);
	if (p)
		return p;
	struct cp_session_status st;
	cp_session_status(x->s, &st);
	if (st.state == CP_SESSION_RUNNING)
		cp_http_reply_error(r, 409, "session %s is still running (%.1f s left)", x->id,
				    (double)(st.ends_ns - cp_now_ns()) / 1e9);
	else
		cp_http_reply_error(r, 500, "session %s failed: %s", x->id, st.error);
	return NULL;
}

static void folded(struct cp_server *s, struct cp_http_req *r, struct cp_serve_sess *x)
{
	const struct cp_profile *p = result(r, x);
	if (!p)
		return;
	pthread_mutex_lock(&s->sess_lock);
	if (!x->folded) {
		struct cp_error err = { 0 };
		FILE *f = open_memstream(&x->folded, &x->folded_len);
		struct cp_view *v = cp_view_new(p, NULL, &err);
		struct cp_folded_opts fo = { .root = CP_FOLDED_ROOT_COMM };
		if (f && v)
			cp_format_folded_write(f, v, &fo, "folded", &err);
		if (f)
			fclose(f);
		cp_view_free(v);
	}
	x->readers++;
	pthread_mutex_unlock(&s->sess_lock);
	struct done_arg *d = cp_xcalloc(1, sizeof(*d));
	d->s = s;
	d->x = x;
	/* the stream reads x->folded, made once above and never changed */
	cp_http_reply_stream(r, 200, "text/plain; charset=utf-8", (size_t)s->cfg.chunk_size_bytes,
			     folded_read, folded_done, d);
}

static void rendered(struct cp_http_req *r, struct cp_serve_sess *x, bool svg)
{
	const struct cp_profile *p = result(r, x);
	if (!p)
		return;
	char *buf = NULL;
	size_t len = 0;
	struct cp_error err = { 0 };
	FILE *f = open_memstream(&buf, &len);
	struct cp_view *v = f ? cp_view_new(p, NULL, &err) : NULL;
	int rc = -1;
	if (v && svg) {
		char title[128];
		snprintf(title, sizeof(title), "CPU: %s, %ld s at %ld Hz", x->target, x->duration,
			 x->freq);
		struct cp_flame_opts fo = { .title = title, .minwidth = -1 };
		rc = cp_format_flame_write(f, v, NULL, &fo, "flamegraph", &err);
	} else if (v) {
		rc = cp_format_pprof_write(f, v, NULL, "profile", &err);
	}
	if (f)
		fclose(f);
	if (rc)
		cp_http_reply_error(r, 500, "%s", err.msg);
	else if (svg)
		cp_http_reply(r, 200, "image/svg+xml", buf, len, NULL);
	else
		cp_http_reply(r, 200, "application/octet-stream", buf, len,
			      (const char *const[]){ "Content-Disposition",
						     "attachment; filename=\"profile.pb.gz\"", NULL });
	free(buf);
	cp_view_free(v);
}

static void status(struct cp_server *s, struct cp_http_req *r)
{
	pthread_mutex_lock(&s->sess_lock);
	expire(s);
	int active = running(s), kept = 0;
	for (int i = 0; i < CP_SERVE_MAX_KEPT; i++)
		kept += s->sessions[i] != NULL;
	json_t *j = json_pack(
		"{s:s, s:s, s:f, s:i, s:i, s:i, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "status",
		"ok", "version", CP_VERSION, "uptime_seconds",
		(double)(cp_now_ns() - s->started_ns) / 1e9, "active_sessions", active,
		"profiles_running", __atomic_load_n(&s->profiles_running, __ATOMIC_RELAXED),
		"kept_sessions", kept, "sessions_total", (json_int_t)s->total_sessions,
		"profiles_total", (json_int_t)__atomic_load_n(&s->total_profiles, __ATOMIC_RELAXED),
		"requests_total", (json_int_t)__atomic_load_n(&s->total_requests, __ATOMIC_RELAXED),
		"limits", "max_concurrent_sessions", (json_int_t)s->cfg.max_concurrent_sessions,
		"max_session_duration_seconds", (json_int_t)s->cfg.max_session_duration_seconds,
		"max_frequency_hz", (json_int_t)s->cfg.max_frequency_hz, "chunk_size_bytes",
		(json_int_t)s->cfg.chunk_size_bytes);
	pthread_mutex_unlock(&s->sess_lock);
	cp_serve_reply_json(r, 200, j);
}

static void sessions(struct cp_server *s, struct cp_http_req *r, const char *rest)
{
	const char *m = cp_http_method(r);
	if (!*rest) {
		if (!strcmp(m, "POST"))
			return create(s, r);
		if (strcmp(m, "GET"))
			return cp_http_reply_error(r, 405, "method %s: GET or POST here", m);
		json_t *a = json_array();
		pthread_mutex_lock(&s->sess_lock);
		expire(s);
		for (int i = 0; i < CP_SERVE_MAX_KEPT; i++)
			if (s->sessions[i])
				json_array_append_new(a, status_json(s->sessions[i]));
		pthread_mutex_unlock(&s->sess_lock);
		return cp_serve_reply_json(r, 200, json_pack("{s:o}", "sessions", a));
	}
	if (*rest++ != '/')
		return cp_http_reply_error(r, 404, "no such endpoint");
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	pthread_mutex_lock(&s->sess_lock);
	struct cp_serve_sess *x = find(s, rest, idlen);
	/* a reader keeps it from expiring while this request uses it */
	if (x)
		x->readers++;
	pthread_mutex_unlock(&s->sess_lock);
	if (!x)
		return cp_http_reply_error(r, 404, "no session '%.*s'", (int)(idlen < 64 ? idlen : 64),
					   rest);
	if (!slash) {
		if (!strcmp(m, "DELETE")) {
			cp_session_stop(x->s);
			cp_session_wait(x->s, 0);
			cp_serve_reply_json(r, 200, status_json(x));
		} else if (strcmp(m, "GET")) {
			cp_http_reply_error(r, 405, "method %s: GET or DELETE here", m);
		} else {
			cp_serve_reply_json(r, 200, status_json(x));
		}
	} else if (strcmp(m, "GET")) {
		cp_http_reply_error(r, 405, "method %s: only GET here", m);
	} else if (!strcmp(slash, "/folded")) {
		folded(s, r, x);
	} else if (!strcmp(slash, "/pprof")) {
		rendered(r, x, false);
	} else if (!strcmp(slash, "/svg")) {
		rendered(r, x, true);
	} else {
		cp_http_reply_error(r, 404, "no such endpoint '%.64s' (a session has /folded, /pprof, "
					    "/svg)", slash);
	}
	pthread_mutex_lock(&s->sess_lock);
	x->readers--;
	pthread_mutex_unlock(&s->sess_lock);
}

void cp_serve_api(struct cp_server *s, struct cp_http_req *r, const char *rest)
{
	if (!strncmp(rest, "/sessions", 9) && (rest[9] == '\0' || rest[9] == '/'))
		return sessions(s, r, rest + 9);
	if (!strncmp(rest, "/profiles", 9) && (rest[9] == '\0' || rest[9] == '/'))
		return cp_serve_profiles(s, r, rest + 9);
	if (!strcmp(rest, "/merge") || !strcmp(rest, "/diff"))
		return cp_serve_merge(s, r, !strcmp(rest, "/diff"));
	if (!strcmp(rest, "/status")) {
		if (strcmp(cp_http_method(r), "GET"))
			return cp_http_reply_error(r, 405, "method %s: only GET here",
						   cp_http_method(r));
		return status(s, r);
	}
	cp_http_reply_error(r, 404, "no such endpoint '/api/v1%.64s' (there are /sessions, "
				    "/profiles, /merge, /diff, /status)", rest);
}

void cp_serve_api_free(struct cp_server *s)
{
	for (int i = 0; i < CP_SERVE_MAX_KEPT; i++)
		if (s->sessions[i]) {
			sess_free(s->sessions[i]);
			s->sessions[i] = NULL;
		}
}
