/* serve.c - `cprof serve`: pprof HTTP endpoints for any process on the
 * machine (work in progress: /health, /debug/pprof/ and
 * /debug/pprof/profile so far).  Routing and the arguments live here; HTTP
 * is lib/http's, the sampling lib/session's. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "core/core.h"
#include "format/format.h"
#include "http/http.h"
#include "profile/profile.h"
#include "session/session.h"

static const char *const usage[] = {
	"cprof serve [--listen <host>:<port>] [options]",
	NULL,
};

static const char *listen_arg = "127.0.0.1:6060";
static long max_seconds = 300, max_frequency = 1000, max_sessions = 8, chunk_size = 65536,
	    keep_seconds = 600;

static const struct cp_option options[] = {
	CP_OPT_STR_('l', "listen", "HOST:PORT",
		    "address to listen on (default 127.0.0.1:6060; port 0: any free port)",
		    &listen_arg, NULL),
	CP_OPT_LONG_(0, "max-seconds", "N", "longest profile a request may ask for (default 300)",
		     &max_seconds, 1, 3600),
	CP_OPT_LONG_(0, "max-frequency", "HZ", "highest sampling frequency (default 1000)",
		     &max_frequency, 1, 10000),
	CP_OPT_LONG_(0, "max-sessions", "N", "sessions running at once (default 8)", &max_sessions,
		     1, 64),
	CP_OPT_LONG_(0, "chunk-size", "BYTES",
		     "pieces of a session's folded result (default 65536)", &chunk_size, 1024,
		     1 << 24),
	CP_OPT_LONG_(0, "keep", "SECONDS", "how long finished sessions are kept (default 600)",
		     &keep_seconds, 1, 86400),
	CP_OPT_END_,
};

/* Go's rule: one profile of a target at a time. */
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t busy[256];

static bool claim(pid_t pid)
{
	bool ok = true;
	pthread_mutex_lock(&busy_lock);
	int free_i = -1;
	for (int i = 0; i < 256; i++) {
		if (busy[i] == pid)
			ok = false;
		if (!busy[i] && free_i < 0)
			free_i = i;
	}
	if (ok && free_i >= 0)
		busy[free_i] = pid;
	else
		ok = false;
	pthread_mutex_unlock(&busy_lock);
	return ok;
}

static void release(pid_t pid)
{
	pthread_mutex_lock(&busy_lock);
	for (int i = 0; i < 256; i++)
		if (busy[i] == pid)
			busy[i] = 0;
	pthread_mutex_unlock(&busy_lock);
}

static int number(const char *s, long min, long max, long dflt, long *out)
{
	if (!s) {
		*out = dflt;
		return 0;
	}
	return cp_parse_long(s, min, max, out);
}

static void pprof_profile(struct cp_http_req *r)
{
	static const char *const go[] = { "X-Go-Pprof", "1", NULL };
	long pid, secs, freq;
	if (number(cp_http_query(r, "pid"), 1, 0x7fffffff, 0, &pid) || !pid)
		return cp_http_reply_error(r, 400, "pid: a process id is required (pid=1234)");
	if (number(cp_http_query(r, "seconds"), 1, 1L << 30, 30, &secs))
		return cp_http_reply_error(r, 400, "seconds: not a positive number");
	if (secs > max_seconds) {
		char msg[128];
		int n = snprintf(msg, sizeof(msg),
				 "profile duration exceeds server's maximum of %ld seconds\n",
				 max_seconds);
		return cp_http_reply(r, 400, "text/plain; charset=utf-8", msg, (size_t)n, go);
	}
	if (number(cp_http_query(r, "frequency"), 1, max_frequency, 100, &freq))
		return cp_http_reply_error(r, 400, "frequency: 1 to %ld", max_frequency);
	if (!claim((pid_t)pid))
		return cp_http_reply_error(r, 500, "a profile of process %ld is already running",
					   pid);
	struct cp_session_opts o = { .npids = 1, .duration_ns = (uint64_t)secs * 1000000000ull,
				     .freq = (int)freq };
	o.pids[0] = (pid_t)pid;
	struct cp_error err = { 0 };
	struct cp_session *s = cp_session_start(&o, &err);
	if (!s) {
		release((pid_t)pid);
		return cp_http_reply_error(r, err.code == CP_E_NOENT ? 404 : 500, "%s", err.msg);
	}
	cp_session_wait(s, 0);
	const struct cp_profile *p = cp_session_profile(s);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cp_view *v = p && f ? cp_view_new(p, NULL, &err) : NULL;
	int rc = v ? cp_format_pprof_write(f, v, NULL, "profile", &err) : -1;
	if (f)
		fclose(f);
	if (rc == 0) {
		static const char *const hdr[] = { "Content-Disposition",
						   "attachment; filename=\"profile\"", NULL };
		cp_http_reply(r, 200, "application/octet-stream", buf, len, hdr);
	} else {
		struct cp_session_status st;
		cp_session_status(s, &st);
		cp_http_reply_error(r, 500, "%s", st.error[0] ? st.error : err.msg);
	}
	free(buf);
	cp_view_free(v);
	cp_session_free(s);
	release((pid_t)pid);
}

/* ---- sessions API ----------------------------------------------------------- */

#define MAX_KEPT 256

struct sess {
	char id[17];
	struct cp_session *s;
	long pid, duration, freq;
	uint64_t created_ns, done_ns;
	char *folded; /* made once, when first asked for */
	size_t folded_len;
	int readers;  /* streams of folded in flight */
};

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sess *sessions[MAX_KEPT];

static void new_id(char *id)
{
	uint64_t v = cp_realtime_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)rand() << 16;
	v = cp_hash_u64(v);
	snprintf(id, 17, "%016llx", (unsigned long long)v);
}

/* Forget finished sessions kept longer than --keep (lock held). */
static void expire(void)
{
	uint64_t now = cp_now_ns();
	for (int i = 0; i < MAX_KEPT; i++) {
		struct sess *x = sessions[i];
		if (!x || x->readers)
			continue;
		struct cp_session_status st;
		cp_session_status(x->s, &st);
		if (st.state == CP_SESSION_RUNNING)
			continue;
		if (!x->done_ns)
			x->done_ns = now;
		if (now - x->done_ns > (uint64_t)keep_seconds * 1000000000ull) {
			cp_session_free(x->s);
			free(x->folded);
			free(x);
			sessions[i] = NULL;
		}
	}
}

static json_t *status_json(struct sess *x)
{
	struct cp_session_status st;
	cp_session_status(x->s, &st);
	static const char *const states[] = { "running", "done", "failed" };
	uint64_t now = cp_now_ns();
	json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:s, s:I, s:f, s:f}", "id", x->id, "pid",
			      (json_int_t)x->pid, "duration", (json_int_t)x->duration, "frequency",
			      (json_int_t)x->freq, "state", states[st.state], "samples",
			      (json_int_t)st.samples, "ends_in",
			      st.ends_ns > now ? (double)(st.ends_ns - now) / 1e9 : 0.0,
			      "first_sample_after",
			      st.first_sample_ns ? (double)st.first_sample_ns / 1e9 : 0.0);
	if (st.state == CP_SESSION_FAILED)
		json_object_set_new(j, "error", json_string(st.error));
	return j;
}

static void reply_json(struct cp_http_req *r, unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	char *line = cp_xasprintf("%s\n", text ? text : "{}");
	cp_http_reply(r, status, "application/json", line, strlen(line), NULL);
	free(line);
	free(text);
	json_decref(j);
}

/* {"pid": P, "duration": S, "frequency": F}: every key known, each in range */
static void session_create(struct cp_http_req *r)
{
	json_error_t je;
	json_t *j = json_loads(cp_http_body(r, NULL), JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return cp_http_reply_error(r, 400, "body: a JSON object is expected (%s)",
					   j ? "not an object" : je.text);
	}
	long pid = 0, duration = 10, freq = 99;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		long *dst = !strcmp(key, "pid")	    ? &pid :
			    !strcmp(key, "duration")  ? &duration :
			    !strcmp(key, "frequency") ? &freq :
							NULL;
		if (!dst) {
			json_decref(j);
			return cp_http_reply_error(r, 400, "unknown field '%s' (pid, duration, "
							   "frequency)", key);
		}
		if (!json_is_integer(v)) {
			json_decref(j);
			return cp_http_reply_error(r, 400, "%s: an integer is expected", key);
		}
		*dst = (long)json_integer_value(v);
	}
	json_decref(j);
	if (pid < 1)
		return cp_http_reply_error(r, 400, "pid: a process id is required");
	if (duration < 1 || duration > max_seconds)
		return cp_http_reply_error(r, 400, "duration: 1 to %ld seconds", max_seconds);
	if (freq < 1 || freq > max_frequency)
		return cp_http_reply_error(r, 400, "frequency: 1 to %ld Hz", max_frequency);
	pthread_mutex_lock(&sess_lock);
	expire();
	int running = 0, slot = -1;
	for (int i = 0; i < MAX_KEPT; i++) {
		if (!sessions[i]) {
			if (slot < 0)
				slot = i;
			continue;
		}
		struct cp_session_status st;
		cp_session_status(sessions[i]->s, &st);
		running += st.state == CP_SESSION_RUNNING;
	}
	if (running >= max_sessions || slot < 0) {
		pthread_mutex_unlock(&sess_lock);
		static const char *const retry[] = { "Retry-After", "5", NULL };
		static const char msg[] = "{\"error\":\"too many sessions running\"}\n";
		return cp_http_reply(r, 429, "application/json", msg, sizeof(msg) - 1, retry);
	}
	struct cp_session_opts o = { .npids = 1, .duration_ns = (uint64_t)duration * 1000000000ull,
				     .freq = (int)freq };
	o.pids[0] = (pid_t)pid;
	struct cp_error err = { 0 };
	struct cp_session *cs = cp_session_start(&o, &err);
	if (!cs) {
		pthread_mutex_unlock(&sess_lock);
		return cp_http_reply_error(r, err.code == CP_E_NOENT ? 404 : 500, "%s", err.msg);
	}
	struct sess *x = cp_xcalloc(1, sizeof(*x));
	new_id(x->id);
	x->s = cs;
	x->pid = pid;
	x->duration = duration;
	x->freq = freq;
	x->created_ns = cp_now_ns();
	sessions[slot] = x;
	json_t *js = status_json(x);
	pthread_mutex_unlock(&sess_lock);
	reply_json(r, 201, js);
}

static struct sess *find(const char *id, size_t len)
{
	if (len != 16)
		return NULL;
	for (size_t i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", id[i]))
			return NULL;
	for (int i = 0; i < MAX_KEPT; i++)
		if (sessions[i] && !strncmp(sessions[i]->id, id, 16))
			return sessions[i];
	return NULL;
}

struct folded_stream {
	struct sess *x;
};

static size_t folded_read(void *arg, uint64_t pos, char *buf, size_t max)
{
	struct sess *x = arg;
	if (pos >= x->folded_len)
		return 0;
	size_t n = x->folded_len - (size_t)pos < max ? x->folded_len - (size_t)pos : max;
	memcpy(buf, x->folded + pos, n);
	return n;
}

static void folded_done(void *arg)
{
	struct sess *x = arg;
	pthread_mutex_lock(&sess_lock);
	x->readers--;
	pthread_mutex_unlock(&sess_lock);
}

static void session_folded(struct cp_http_req *r, struct sess *x)
{
	const struct cp_profile *p = cp_session_profile(x->s);
	if (!p) {
		struct cp_session_status st;
		cp_session_status(x->s, &st);
		if (st.state == CP_SESSION_RUNNING)
			return cp_http_reply_error(r, 409, "session %s is still running (%.1f s left)",
						   x->id, (double)(st.ends_ns - cp_now_ns()) / 1e9);
		return cp_http_reply_error(r, 500, "session %s failed: %s", x->id, st.error);
	}
	pthread_mutex_lock(&sess_lock);
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
	pthread_mutex_unlock(&sess_lock);
	cp_http_reply_stream(r, 200, "text/plain; charset=utf-8", (size_t)chunk_size, folded_read,
			     folded_done, x);
}

static void sessions_api(struct cp_http_req *r, const char *rest)
{
	const char *m = cp_http_method(r);
	if (!*rest) {
		if (!strcmp(m, "POST"))
			return session_create(r);
		if (strcmp(m, "GET"))
			return cp_http_reply_error(r, 405, "method %s: GET or POST here", m);
		json_t *a = json_array();
		pthread_mutex_lock(&sess_lock);
		expire();
		for (int i = 0; i < MAX_KEPT; i++)
			if (sessions[i])
				json_array_append_new(a, status_json(sessions[i]));
		pthread_mutex_unlock(&sess_lock);
		return reply_json(r, 200, json_pack("{s:o}", "sessions", a));
	}
	if (*rest++ != '/')
		return cp_http_reply_error(r, 404, "no such endpoint");
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	pthread_mutex_lock(&sess_lock);
	struct sess *x = find(rest, idlen);
	pthread_mutex_unlock(&sess_lock);
	if (!x)
		return cp_http_reply_error(r, 404, "no session '%.*s'", (int)(idlen < 64 ? idlen : 64),
					   rest);
	if (!slash) {
		if (!strcmp(m, "DELETE")) {
			cp_session_stop(x->s);
			return reply_json(r, 200, status_json(x));
		}
		if (strcmp(m, "GET"))
			return cp_http_reply_error(r, 405, "method %s: GET or DELETE here", m);
		return reply_json(r, 200, status_json(x));
	}
	if (!strcmp(slash, "/folded") && !strcmp(m, "GET"))
		return session_folded(r, x);
	cp_http_reply_error(r, 404, "no such endpoint '%s' (a session has /folded)", slash);
}

static void route(struct cp_http_req *r, void *arg)
{
	const char *path = cp_http_path(r);
	(void)arg;
	if (!strncmp(path, "/api/v1/sessions", 16))
		return sessions_api(r, path + 16);
	if (strcmp(cp_http_method(r), "GET"))
		return cp_http_reply_error(r, 405, "method %s: only GET here", cp_http_method(r));
	if (!strcmp(path, "/health"))
		return cp_http_reply(r, 200, "application/json", "{\"status\":\"ok\"}\n", 16, NULL);
	if (!strcmp(path, "/debug/pprof/profile"))
		return pprof_profile(r);
	if (!strcmp(path, "/debug/pprof/") || !strcmp(path, "/debug/pprof")) {
		static const char idx[] = "<html><body>/debug/pprof/<br>"
					  "<a href=\"profile?seconds=30&amp;pid=PID\">profile</a>: "
					  "CPU profile of process PID<br></body></html>\n";
		return cp_http_reply(r, 200, "text/html; charset=utf-8", idx, sizeof(idx) - 1,
				     NULL);
	}
	cp_http_reply_error(r, 404, "no such endpoint '%s' (there are /health, /debug/pprof/, "
				    "/debug/pprof/profile)", path);
}

int cmd_serve(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("serve", usage, options, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	char host[256];
	long port;
	const char *colon = strrchr(listen_arg, ':');
	if (!colon || (size_t)(colon - listen_arg) >= sizeof(host) ||
	    cp_parse_long(colon + 1, 0, 65535, &port)) {
		cp_die_usage("serve", usage, options, "--listen: '%s' is not HOST:PORT", listen_arg);
		return 2;
	}
	memcpy(host, listen_arg, (size_t)(colon - listen_arg));
	host[colon - listen_arg] = '\0';
	if (strcmp(host, "127.0.0.1") && strcmp(host, "localhost")) {
		cmd_error("serve", "--listen %s: only loopback for now (tokens and TLS are not "
				   "there yet)", listen_arg);
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct cp_http_opts ho = { .host = "127.0.0.1", .port = (uint16_t)port };
	struct cp_error err;
	struct cp_http *h = cp_http_start(&ho, route, NULL, &err);
	if (!h) {
		cmd_error("serve", "%s", err.msg);
		return 1;
	}
	fprintf(stderr, "cprof serve: listening on http://127.0.0.1:%u\n", cp_http_port(h));
	int sig;
	sigwait(&set, &sig);
	cp_http_stop(h);
	return 0;
}
