/* server.c - cprof serve's server: the security rules checked before it
 * listens, routing, Go's one-profile-per-target rule, starting sessions. */
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/serve-int.h"
#include "control/control.h"
#include "store/store.h"

bool cp_serve_claim(struct cp_server *s, const struct cp_serve_pids *p)
{
	bool ok = true;
	pthread_mutex_lock(&s->busy_lock);
	int nfree = 0;
	for (size_t i = 0; i < sizeof(s->busy) / sizeof(s->busy[0]); i++) {
		nfree += !s->busy[i];
		for (int k = 0; k < p->n; k++)
			ok &= s->busy[i] != p->pids[k];
	}
	ok &= nfree >= p->n;
	for (size_t i = 0, k = 0; ok && k < (size_t)p->n; i++)
		if (!s->busy[i])
			s->busy[i] = p->pids[k++];
	pthread_mutex_unlock(&s->busy_lock);
	return ok;
}

void cp_serve_release(struct cp_server *s, const struct cp_serve_pids *p)
{
	pthread_mutex_lock(&s->busy_lock);
	for (size_t i = 0; i < sizeof(s->busy) / sizeof(s->busy[0]); i++)
		for (int k = 0; k < p->n; k++)
			if (s->busy[i] == p->pids[k])
				s->busy[i] = 0;
	pthread_mutex_unlock(&s->busy_lock);
}

struct cp_session *cp_serve_session_start(struct cp_server *s, struct cp_http_req *r,
					  const struct cp_serve_pids *p, long seconds, long freq,
					  void (*done)(void *arg, const struct cp_profile *prof),
					  void *done_arg)
{
	struct cp_session_opts o = { .npids = p->n,
				     .duration_ns = (uint64_t)seconds * 1000000000ull,
				     .freq = (int)freq,
				     .cache_dir = s->cache_dir,
				     .done = done,
				     .done_arg = done_arg };
	memcpy(o.pids, p->pids, sizeof(pid_t) * (size_t)p->n);
	struct cp_error err = { 0 };
	struct cp_session *ss = cp_session_start(&o, &err);
	if (!ss)
		cp_http_reply_error(r,
				    err.code == CP_E_NOENT ? 404 :
				    err.code == CP_E_PERM  ? 403 :
							     500,
				    "%s", err.msg);
	return ss;
}

void cp_serve_reply_json(struct cp_http_req *r, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	char *line = cp_xasprintf("%s\n", text ? text : "{}");
	cp_http_reply(r, status, "application/json", line, strlen(line), NULL);
	free(line);
	free(text);
	json_decref(j);
}

static void route(struct cp_http_req *r, void *arg)
{
	struct cp_server *s = arg;
	const char *path = cp_http_path(r);
	__atomic_add_fetch(&s->total_requests, 1, __ATOMIC_RELAXED);
	if (!strncmp(path, "/api/v1/", 8) || !strcmp(path, "/api/v1"))
		return cp_serve_api(s, r, path + 7);
	if (!strcmp(path, "/ingest"))
		return cp_serve_ingest(s, r);
	if (!strncmp(path, "/api/metrics/", 13))
		return cp_serve_fleet(s, r, path + 12);
	/* the one POST outside the API: pprof's symbol lookups, at
	 * /debug/pprof/symbol and, for a profile fetched from any other path
	 * (the store's), at /symbolz: go tool pprof asks there when a mapping
	 * has an address without a name, and gives up unless it is answered */
	size_t plen = strlen(path);
	bool symbolz = !strcmp(path, "/symbolz");
	bool symbol = symbolz || (plen >= 19 && !strcmp(path + plen - 19, "/debug/pprof/symbol"));
	if (strcmp(cp_http_method(r), "GET") && strcmp(cp_http_method(r), "HEAD") &&
	    (!symbol || strcmp(cp_http_method(r), "POST")))
		return cp_http_reply_error(r, 405, "method %.16s: only GET here", cp_http_method(r));
	if (symbolz)
		return cp_serve_pprof(s, r, "/symbol", NULL, 0);
	if (!strcmp(path, "/health"))
		return cp_http_reply(r, 200, "application/json", "{\"status\":\"ok\"}\n", 16, NULL);
	if (cp_serve_ui(r, path))
		return;
	const char *target = NULL;
	size_t tlen = 0;
	if (!strncmp(path, "/t/", 3)) {
		/* a configured target: /t/NAME/debug/pprof/... (Parca's and Alloy's
		 * path_prefix) */
		target = path + 3;
		const char *e = strchr(target, '/');
		tlen = e ? (size_t)(e - target) : strlen(target);
		path = target + tlen;
	}
	if (!strncmp(path, "/debug/pprof", 12) && (path[12] == '\0' || path[12] == '/'))
		return cp_serve_pprof(s, r, path + 12, target, tlen);
	cp_http_reply_error(r, 404, "no such endpoint '%.64s' (there are /health, /debug/pprof/, "
				    "/t/NAME/debug/pprof/, /api/v1/sessions, /api/v1/status)",
			    cp_http_path(r));
}

/* A token file (its first line) or a PEM file. */
static char *read_secret(const char *path, const char *what, bool first_line, struct cp_error *err)
{
	size_t len;
	char *s = cp_read_file(path, &len);
	if (!s) {
		cp_error_errno(err, CP_E_USAGE, errno, "%s %s", what, path);
		return NULL;
	}
	if (strlen(s) != len) {
		cp_error_set(err, CP_E_USAGE, "%s %s: not a text file", what, path);
		free(s);
		return NULL;
	}
	if (first_line) {
		s[strcspn(s, "\r\n")] = '\0';
		if (strlen(s) < 16) {
			cp_error_set(err, CP_E_USAGE,
				     "%s %s: the token's first line has %zu characters, at least 16 "
				     "are needed", what, path, strlen(s));
			free(s);
			return NULL;
		}
	}
	return s;
}

/* Split a comma-separated list into a NULL-ended array (strings in buf). */
static const char **split(const char *list, char **buf)
{
	*buf = cp_xstrdup(list);
	size_t n = 0;
	const char **v = cp_xcalloc(strlen(list) / 2 + 8, sizeof(*v));
	for (char *save = NULL, *t = strtok_r(*buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		v[n++] = t;
	return v;
}

struct cp_server *cp_server_start(const struct cp_serve_config *c, struct cp_serve_app *app,
				  struct cp_error *err)
{
	struct cp_serve_listen l;
	if (cp_serve_parse_listen(c->listen, &l, err))
		return NULL;
	if (c->default_frequency_hz > c->max_frequency_hz ||
	    c->default_seconds > c->max_session_duration_seconds) {
		cp_error_set(err, CP_E_USAGE,
			     "default_frequency_hz (%ld) or default_seconds (%ld) is over its maximum "
			     "(max_frequency_hz %ld, max_session_duration_seconds %ld)",
			     c->default_frequency_hz, c->default_seconds, c->max_frequency_hz,
			     c->max_session_duration_seconds);
		return NULL;
	}
	for (int i = 0; i < c->ntargets; i++) {
		regex_t re;
		if (c->targets[i].cmdline &&
		    regcomp(&re, c->targets[i].cmdline, REG_EXTENDED | REG_NOSUB)) {
			cp_error_set(err, CP_E_USAGE,
				     "[target.%s] cmdline '%s' is not a regular expression (POSIX "
				     "extended)", c->targets[i].name, c->targets[i].cmdline);
			return NULL;
		}
		if (c->targets[i].cmdline)
			regfree(&re);
	}
	bool tls = *c->tls_cert || *c->tls_key;
	if (tls && (!*c->tls_cert || !*c->tls_key)) {
		cp_error_set(err, CP_E_USAGE, "tls_cert and tls_key go together");
		return NULL;
	}
	if (*c->tls_client_ca && !tls) {
		cp_error_set(err, CP_E_USAGE, "tls_client_ca needs tls_cert and tls_key (HTTPS)");
		return NULL;
	}
	bool authed = *c->token_file || *c->tls_client_ca;
	if (!l.loopback && !authed) {
		cp_error_set(err, CP_E_USAGE,
			     "listening on %s needs token_file or tls_client_ca: anyone who can "
			     "reach it could profile this machine's processes",
			     c->listen);
		return NULL;
	}
	if (l.kind != CP_LISTEN_UNIX && geteuid() == 0 && !authed) {
		cp_error_set(err, CP_E_USAGE,
			     "running as root, %s needs token_file or tls_client_ca (any local "
			     "user could profile root's processes), or listen on unix:/path, where "
			     "each caller may profile only what it may trace",
			     c->listen);
		return NULL;
	}
	struct cp_server *s = cp_xcalloc(1, sizeof(*s));
	cp_serve_config_copy(&s->cfg, c);
	pthread_mutex_init(&s->busy_lock, NULL);
	pthread_mutex_init(&s->sess_lock, NULL);
	s->started_ns = cp_now_ns();
	s->app = app;
	s->cache_dir = cp_cache_dir();

	char *token = NULL, *cert = NULL, *key = NULL, *ca = NULL, *hostbuf = NULL;
	const char **extra = NULL, **hosts = NULL;
	if (*c->token_file && !(token = read_secret(c->token_file, "token_file", true, err)))
		goto out;
	if (tls && (!(cert = read_secret(c->tls_cert, "tls_cert", false, err)) ||
		    !(key = read_secret(c->tls_key, "tls_key", false, err))))
		goto out;
	if (*c->tls_client_ca && !(ca = read_secret(c->tls_client_ca, "tls_client_ca", false, err)))
		goto out;
	/* the Host header: on loopback only the loopback names (and
	 * allowed_hosts), elsewhere allowed_hosts when given */
	extra = split(c->allowed_hosts, &hostbuf);
	if (l.kind != CP_LISTEN_UNIX && (l.loopback || extra[0])) {
		size_t n = 0;
		while (extra[n])
			n++;
		hosts = cp_xcalloc(n + 4, sizeof(*hosts));
		size_t k = 0;
		if (l.loopback) {
			hosts[k++] = "localhost";
			hosts[k++] = "127.0.0.1";
			hosts[k++] = "::1";
		}
		for (size_t i = 0; i < n; i++)
			hosts[k++] = extra[i];
	}
	static const char *const uploads[] = { "/api/v1/profiles", "/ingest", "/api/metrics/profiles",
					       NULL };
	static const char *const fleet[] = { "/api/metrics/", NULL };
	struct cp_http_opts ho = {
		.host = l.host,
		.port = l.port,
		.unix_path = l.kind == CP_LISTEN_UNIX ? l.host : NULL,
		.max_conns = (unsigned)c->max_connections,
		.timeout_s = (unsigned)c->request_timeout_seconds,
		.max_body = (size_t)c->max_request_bytes,
		.max_headers = (unsigned)c->max_headers,
		.cert_pem = cert,
		.key_pem = key,
		.ca_pem = ca,
		.token = token,
		.public_paths = cp_serve_public_paths,
		.hosts = hosts,
		.upload_prefixes = *c->data_dir || *c->db_url ? uploads : NULL,
		/* fleet control's endpoints check their own tokens (fleet.c) */
		.self_auth_prefixes = c->control ? fleet : NULL,
		.max_upload = (size_t)c->max_upload_bytes,
	};
	if (*c->data_dir && *c->db_url) {
		cp_error_set(err, CP_E_USAGE, "data_dir and db: one store or the other");
		goto out;
	}
	const char *where = *c->db_url ? c->db_url : c->data_dir;
	if (c->control && !*where) {
		cp_error_set(err, CP_E_USAGE, "--control needs a store for its state: --data DIR or "
					      "--db URL (data_dir, db)");
		goto out;
	}
	if (*where && !(s->store = cp_store_open(where, err)))
		goto out;
	if (c->control) {
		/* the store's database: beside its index, or the same PostgreSQL */
		char *db = *c->db_url ? cp_xstrdup(c->db_url) :
					cp_xasprintf("%s/index.sqlite", c->data_dir);
		struct cp_control_opts co = {
			.rate_per_s = (double)c->control_requests_per_minute / 60.0,
			.burst = (int)c->control_burst,
			.expire_grace_ns = (int64_t)c->control_expire_seconds * 1000000000ll,
		};
		s->control = cp_control_open(db, &co, err);
		free(db);
		if (!s->control)
			goto out;
	}
	s->admin_token = token ? cp_xstrdup(token) : NULL;
	s->http = cp_http_start(&ho, route, s, err);
	if (!s->http)
		goto out;
	uint16_t port = cp_http_port(s->http);
	if (l.kind == CP_LISTEN_UNIX)
		snprintf(s->url, sizeof(s->url), "unix:%s", l.host);
	else
		snprintf(s->url, sizeof(s->url), "%s://%s%s%s:%u", tls ? "https" : "http",
			 l.kind == CP_LISTEN_INET6 ? "[" : "", l.host,
			 l.kind == CP_LISTEN_INET6 ? "]" : "", (unsigned)port);
out: /* the secrets are copied into the server: freed on both paths */
	free(token);
	free(cert);
	free(key);
	free(ca);
	free(hostbuf);
	free(extra);
	free(hosts);
	if (s->http)
		return s;
	cp_control_close(s->control);
	free(s->admin_token);
	cp_store_close(s->store);
	cp_serve_config_release(&s->cfg);
	free(s->cache_dir);
	free(s);
	return NULL;
}

const char *cp_server_url(const struct cp_server *s)
{
	return s->url;
}

void cp_server_stop(struct cp_server *s)
{
	if (!s)
		return;
	cp_http_stop(s->http);
	cp_serve_api_free(s);
	cp_control_close(s->control);
	free(s->admin_token);
	cp_store_close(s->store);
	cp_serve_config_release(&s->cfg);
	free(s->cache_dir);
	free(s);
}
