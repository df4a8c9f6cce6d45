/* serve.c - `cprof serve`: pprof HTTP endpoints for any process on the
 * machine (work in progress: /health, /debug/pprof/ and
 * /debug/pprof/profile so far).  Routing and the arguments live here; HTTP
 * is lib/http's, the sampling lib/session's. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static long max_seconds = 300, max_frequency = 1000;

static const struct cp_option options[] = {
	CP_OPT_STR_('l', "listen", "HOST:PORT",
		    "address to listen on (default 127.0.0.1:6060; port 0: any free port)",
		    &listen_arg, NULL),
	CP_OPT_LONG_(0, "max-seconds", "N", "longest profile a request may ask for (default 300)",
		     &max_seconds, 1, 3600),
	CP_OPT_LONG_(0, "max-frequency", "HZ", "highest sampling frequency (default 1000)",
		     &max_frequency, 1, 10000),
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

static void route(struct cp_http_req *r, void *arg)
{
	const char *path = cp_http_path(r);
	(void)arg;
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
