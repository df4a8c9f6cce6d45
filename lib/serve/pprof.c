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
	int rc = cp_serve_parse_profile_query(&s->cfg, query, r, !target && !s->app, &q, msg,
					      sizeof(msg));
	if (rc)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	if (!target && !q.pid) /* the program cprof serve runs */
		q.pid = cp_serve_app_pid(s->app);
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
	struct cp_session *ss = cp_serve_session_start(s, r, &p, q.seconds, q.frequency, NULL, NULL);
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

enum heap_what { HEAP, ALLOCS, HEAP_SVG };

/* The program's heap profile (cprof serve -- command): Go's heap and
 * allocs (one profile, two default types) and a flame graph. */
static void heap(struct cp_server *s, struct cp_http_req *r, const char *target, size_t tlen,
		 enum heap_what what)
{
	char msg[300];
	if (target || !s->app)
		return cp_http_reply_error(
			r, 404,
			"heap profiles are of the program cprof serve runs (cprof serve -- command), "
			"at /debug/pprof/heap%s",
			!s->app ? "; this server runs none (cprof heap -p PID records a running "
				  "process's to a file)" : "");
	struct cp_serve_heap_req q;
	int rc = cp_serve_parse_heap_query(&s->cfg, query, r, &q, msg, sizeof(msg));
	if (rc)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	if (q.seconds_over) {
		static const char *const go[] = { "X-Go-Pprof", "1", NULL };
		int n = snprintf(msg, sizeof(msg),
				 "profile duration exceeds server's WriteTimeout (max %ld seconds)\n",
				 s->cfg.max_session_duration_seconds);
		return cp_http_reply(r, 400, "text/plain; charset=utf-8", msg, (size_t)n, go);
	}
	/* the allow lists and a unix caller's right to trace it, as for CPU */
	struct cp_serve_pids p;
	rc = cp_serve_resolve(s, NULL, 0, cp_serve_app_pid(s->app), cp_http_peer_uid(r), &p, msg,
			      sizeof(msg));
	if (rc && rc != 404)
		return cp_http_reply_error(r, (unsigned)rc, "%s", msg);
	struct cp_error err = { 0 };
	struct cp_profile *prof = cp_serve_app_heap(s->app, q.seconds, &err);
	if (!prof)
		return cp_http_reply_error(r, 404, "%s", err.msg);
	const char *dflt = q.sample_type ? q.sample_type : what == ALLOCS ? "alloc_space" :
										"inuse_space";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cp_view_opts vo = { .value_index = cp_profile_value_index(prof, dflt) };
	struct cp_view *v = f ? cp_view_new(prof, &vo, &err) : NULL;
	rc = -1;
	if (v && what != HEAP_SVG) {
		struct cp_pprof_heap_columns cols;
		struct cp_pprof_opts po;
		if (cp_format_pprof_heap_opts(prof, false, dflt, &cols, &po, &err) == 0)
			rc = cp_format_pprof_write(f, v, &po, what == ALLOCS ? "allocs" : "heap", &err);
	} else if (v) {
		struct cp_flame_opts fo = { .width = (unsigned)q.width, .minwidth = -1 };
		char title[160];
		snprintf(title, sizeof(title), "%s of process %d%s", dflt,
			 (int)cp_serve_app_pid(s->app),
			 q.seconds ? " (in the last seconds)" : " (since its start)");
		fo.title = title;
		rc = cp_format_flame_write(f, v, NULL, &fo, "heap flamegraph", &err);
	}
	if (f)
		fclose(f);
	if (rc == 0 && what != HEAP_SVG) {
		/* as Go's handler for a named profile */
		const char *const hdr[] = { "Content-Disposition",
					    what == ALLOCS ? "attachment; filename=\"allocs\"" :
							     "attachment; filename=\"heap\"",
					    NULL };
		cp_http_reply(r, 200, "application/octet-stream", buf, len, hdr);
	} else if (rc == 0) {
		cp_http_reply(r, 200, "image/svg+xml", buf, len, NULL);
	} else {
		cp_http_reply_error(r, 500, "%s", err.msg[0] ? err.msg : "out of memory");
	}
	free(buf);
	cp_view_free(v);
	cp_profile_free(prof);
	__atomic_add_fetch(&s->total_profiles, 1, __ATOMIC_RELAXED);
}

/* Go's symbol endpoint, which go tool pprof asks about the locations of a
 * profile that have no function (a mapping without HasFunctions), and
 * fails the whole profile when it cannot: every profile served here was
 * symbolized as far as this machine allows before it left, so the answer
 * to a lookup (POST "0xADDR+0xADDR...") names nothing more and the
 * addresses stay as they are.  GET: Go's "num_symbols" line. */
static void symbol(struct cp_http_req *r)
{
	static const char count[] = "num_symbols: 1\n";
	if (strcmp(cp_http_method(r), "POST"))
		return cp_http_reply(r, 200, "text/plain; charset=utf-8", count, sizeof(count) - 1,
				     NULL);
	size_t len = 0;
	const char *b = cp_http_body(r, &len);
	for (size_t i = 0; b && i < len; i++)
		if (!strchr("0123456789abcdefABCDEFx+\r\n", b[i]) || !b[i])
			return cp_http_reply_error(r, 400,
						   "body: hexadecimal addresses joined by '+' are "
						   "expected (byte %zu)", i);
	cp_http_reply(r, 200, "text/plain; charset=utf-8", "", 0, NULL);
}

static void index_page(struct cp_server *s, struct cp_http_req *r, const char *target, size_t tlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return cp_http_reply_error(r, 500, "out of memory");
	fputs("<html>\n<head><title>/debug/pprof/</title></head>\n<body>\n/debug/pprof/<br>\n"
	      "<br>\nTypes of profiles available:\n<table>\n",
	      f);
	const char *pid = target || s->app ? NULL : "?pid=PID&amp;";
	fprintf(f, "<tr><td><a href=\"profile%sseconds=%ld\">profile</a></td><td>CPU profile of "
		   "%s%.*s (seconds, frequency)</td></tr>\n",
		pid ? pid : "?", s->cfg.default_seconds,
		target ? "target " : s->app ? "the program (or pid=PID)" : "process PID",
		(int)tlen, target ? target : "");
	fprintf(f, "<tr><td><a href=\"flamegraph%sseconds=%ld\">flamegraph</a></td><td>the same as "
		   "an SVG flame graph (width)</td></tr>\n",
		pid ? pid : "?", s->cfg.default_seconds);
	if (!target && s->app)
		fputs("<tr><td><a href=\"heap\">heap</a></td><td>the program's sampled heap: "
		      "in use and allocated since its start (seconds=N: in the next N s), "
		      "inuse_space first</td></tr>\n"
		      "<tr><td><a href=\"allocs\">allocs</a></td><td>the same, alloc_space "
		      "first</td></tr>\n"
		      "<tr><td><a href=\"heap/flamegraph\">heap/flamegraph</a></td><td>an SVG "
		      "flame graph of it (sample_type, width)</td></tr>\n",
		      f);
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
	if (!strcmp(rest, "/symbol"))
		return symbol(r);
	static const char *const go_only[] = { "/goroutine", "/mutex", "/block", "/threadcreate",
					       "/trace", "/cmdline" };
	for (size_t i = 0; i < sizeof(go_only) / sizeof(go_only[0]); i++)
		if (!strcmp(rest, go_only[i]))
			return cp_http_reply_error(r, 404,
							   "%s is a Go runtime profile; cprof serves "
						   "/debug/pprof/profile and flamegraph, and for "
						   "the program it runs heap, allocs and "
						   "heap/flamegraph",
						   rest + 1);
	if (!strcmp(rest, "/heap"))
		return heap(s, r, target, tlen, HEAP);
	if (!strcmp(rest, "/allocs"))
		return heap(s, r, target, tlen, ALLOCS);
	if (!strcmp(rest, "/heap/flamegraph"))
		return heap(s, r, target, tlen, HEAP_SVG);
	cp_http_reply_error(r, 404, "no such endpoint '/debug/pprof%.64s' (there are /, profile, "
				    "flamegraph, heap, allocs, heap/flamegraph)", rest);
}
