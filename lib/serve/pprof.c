/* pprof.c - /debug/pprof/...: Go's net/http/pprof endpoints for any
 * process (pid=) or configured target (/t/NAME/ prefix), with Go's rules
 * (seconds default 30; over the maximum 400 with X-Go-Pprof; a second
 * profile of a target while one runs 500), plus flame graph SVGs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "profile/profile.h"
#include "serve/serve-int.h"

static const char *query(void *arg, const char *key)
{
	return cp_http_query(arg, key);
}

enum what { PPROF, SVG };

/* Sample the target for the request's seconds and answer with the
 * profile as pprof (gzipped protobuf, fully symbolized) or a flame graph. */
static void profile(struct cp_server *s, struct cp_http_req *r, const char *target, size_t tlen,
		    enum what what)
{
	struct cp_serve_profile_req q;
	char msg[300];
	int rc = cp_serve_parse_profile_query(&s->cfg, query, r, !target, &q, msg, sizeof(msg));
	if (rc)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	/* Go's wording and header for its two rules: its clients print the body */
	static const char *const go[] = { "X-Go-Pprof", "1", NULL };
	if (q.seconds_over) {
		int n = snprintf(msg, sizeof(msg),
				 "profile duration exceeds server's WriteTimeout (max %ld seconds)\n",
				 s->cfg.max_session_duration_seconds);
		return cp_http_reply(r, 400, "text/plain; charset=utf-8", msg, (size_t)n, go);
	}
	struct cp_serve_pids p;
	rc = cp_serve_resolve(s, target, tlen, q.pid, cp_http_peer_uid(r), &p, msg, sizeof(msg));
	if (rc)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	if (!cp_serve_claim(s, &p)) {
		int n = snprintf(msg, sizeof(msg),
				 "Could not enable CPU profiling: %s is being profiled already\n",
				 p.key);
		return cp_http_reply(r, 500, "text/plain; charset=utf-8", msg, (size_t)n, go);
	}
	struct cp_session *ss = cp_serve_session_start(s, r, &p, q.seconds, q.frequency);
	if (!ss) {
		cp_serve_release(s, &p);
		return;
	}
	__atomic_add_fetch(&s->profiles_running, 1, __ATOMIC_RELAXED);
	cp_session_wait(ss, 0);
	__atomic_sub_fetch(&s->profiles_running, 1, __ATOMIC_RELAXED);
	const struct cp_profile *prof = cp_session_profile(ss);
	char *buf = NULL;
	size_t len = 0;
	struct cp_error err = { 0 };
	FILE *f = open_memstream(&buf, &len);
	struct cp_view *v = prof && f ? cp_view_new(prof, NULL, &err) : NULL;
	rc = -1;
	if (v && what == PPROF) {
		rc = cp_format_pprof_write(f, v, NULL, "profile", &err);
	} else if (v) {
		struct cp_flame_opts fo = { .width = (unsigned)q.width, .minwidth = -1 };
		char title[128];
		snprintf(title, sizeof(title), "CPU: %s, %ld s at %ld Hz", p.key, q.seconds,
			 q.frequency);
		fo.title = title;
		rc = cp_format_flame_write(f, v, NULL, &fo, "flamegraph", &err);
	}
	if (f)
		fclose(f);
	if (rc == 0 && what == PPROF) {
		/* as Go's pprof.Profile */
		static const char *const hdr[] = { "Content-Disposition",
						   "attachment; filename=\"profile\"", NULL };
		cp_http_reply(r, 200, "application/octet-stream", buf, len, hdr);
	} else if (rc == 0) {
		cp_http_reply(r, 200, "image/svg+xml", buf, len, NULL);
	} else {
		struct cp_session_status st;
		cp_session_status(ss, &st);
		cp_http_reply_error(r, 500, "%s", st.error[0] ? st.error : err.msg);
	}
	free(buf);
	cp_view_free(v);
	cp_session_free(ss);
	cp_serve_release(s, &p);
	__atomic_add_fetch(&s->total_profiles, 1, __ATOMIC_RELAXED);
}

static void index_page(struct cp_server *s, struct cp_http_req *r, const char *target, size_t tlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return cp_http_reply_error(r, 500, "out of memory");
	fputs("<html>\n<head><title>/debug/pprof/</title></head>\n<body>\n/debug/pprof/<br>\n"
	      "<p>Set debug=1 as a query parameter to export in legacy text format</p>\n"
	      "<br>\nTypes of profiles available:\n<table>\n",
	      f);
	const char *pid = target ? NULL : "?pid=PID&amp;";
	fprintf(f, "<tr><td><a href=\"profile%sseconds=%ld\">profile</a></td><td>CPU profile of "
		   "%s%.*s (seconds, frequency)</td></tr>\n",
		pid ? pid : "?", s->cfg.default_seconds, target ? "target " : "process PID",
		(int)tlen, target ? target : "");
	fprintf(f, "<tr><td><a href=\"flamegraph%sseconds=%ld\">flamegraph</a></td><td>the same as "
		   "an SVG flame graph (width)</td></tr>\n",
		pid ? pid : "?", s->cfg.default_seconds);
	fputs("</table>\n", f);
	if (!target && s->cfg.ntargets) {
		fputs("<p>Configured targets:</p>\n<ul>\n", f);
		for (int i = 0; i < s->cfg.ntargets; i++)
			fprintf(f, "<li><a href=\"/t/%s/debug/pprof/\">%s</a></li>\n",
				s->cfg.targets[i].name, s->cfg.targets[i].name);
		fputs("</ul>\n", f);
	}
	fputs("</body>\n</html>\n", f);
	fclose(f);
	cp_http_reply(r, 200, "text/html; charset=utf-8", buf, len, NULL);
	free(buf);
}

void cp_serve_pprof(struct cp_server *s, struct cp_http_req *r, const char *rest,
		    const char *target, size_t tlen)
{
	if (!strcmp(rest, "/") || !*rest)
		return index_page(s, r, target, tlen);
	if (!strcmp(rest, "/profile"))
		return profile(s, r, target, tlen, PPROF);
	if (!strcmp(rest, "/flamegraph"))
		return profile(s, r, target, tlen, SVG);
	static const char *const go_only[] = { "/goroutine", "/mutex", "/block", "/threadcreate",
					       "/trace", "/cmdline", "/symbol" };
	for (size_t i = 0; i < sizeof(go_only) / sizeof(go_only[0]); i++)
		if (!strcmp(rest, go_only[i]))
			return cp_http_reply_error(r, 404,
						   "%s is a Go runtime profile; cprof serves "
						   "/debug/pprof/profile and /debug/pprof/flamegraph",
						   rest + 1);
	if (!strcmp(rest, "/heap") || !strcmp(rest, "/allocs") || !strcmp(rest, "/heap/flamegraph"))
		return cp_http_reply_error(r, 404,
					   "%s: heap profiles are not served yet; cprof serves "
					   "/debug/pprof/profile and /debug/pprof/flamegraph "
					   "(cprof heap records one to a file)",
					   rest + 1);
	cp_http_reply_error(r, 404, "no such endpoint '/debug/pprof%.64s' (there are /, profile, "
				    "flamegraph)", rest);
}
