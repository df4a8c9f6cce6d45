/* config.c - cprof serve's settings: one table of keys drives the INI
 * reader (libinih), --print-config and the command-line overrides. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

enum kind { K_STR, K_LONG };

struct key {
	const char *section, *name;
	enum kind kind;
	size_t off;
	long min, max;
	const char *dflt;
	const char *help;
};

#define S(sec, n, f, d, h) { sec, n, K_STR, offsetof(struct cp_serve_config, f), 0, 0, d, h }
#define L(sec, n, f, mn, mx, d, h) \
	{ sec, n, K_LONG, offsetof(struct cp_serve_config, f), mn, mx, d, h }

static const struct key keys[] = {
	S("server", "listen", listen, "127.0.0.1:6060",
	  "HOST:PORT, [IPV6]:PORT or unix:/path; any address but loopback or a unix socket "
	  "needs token_file or tls_client_ca"),
	S("server", "token_file", token_file, "",
	  "a file whose first line is the bearer token (Authorization: Bearer TOKEN)"),
	S("server", "tls_cert", tls_cert, "", "PEM certificate (chain): serve HTTPS"),
	S("server", "tls_key", tls_key, "", "PEM private key of tls_cert"),
	S("server", "tls_client_ca", tls_client_ca, "",
	  "PEM CA: clients must present a certificate it signed (mTLS)"),
	S("server", "allowed_hosts", allowed_hosts, "",
	  "Host header values accepted besides localhost, 127.0.0.1 and [::1] "
	  "(comma-separated; DNS rebinding is refused)"),
	L("server", "max_connections", max_connections, 1, 4096, "256",
	  "connections at once (each has a thread)"),
	L("server", "max_request_bytes", max_request_bytes, 256, 16 << 20, "65536",
	  "largest request body (413 beyond)"),
	L("server", "max_headers", max_headers, 4, 1024, "64",
	  "most header fields in a request (431 beyond)"),
	L("server", "request_timeout_seconds", request_timeout_seconds, 1, 3600, "30",
	  "an idle connection is closed after this"),
	L("limits", "max_concurrent_sessions", max_concurrent_sessions, 1, 256, "8",
	  "sessions running at once (429 with Retry-After beyond)"),
	L("limits", "max_session_duration_seconds", max_session_duration_seconds, 1, 86400, "300",
	  "longest profile or session (pprof: 400 with X-Go-Pprof beyond)"),
	L("limits", "max_frequency_hz", max_frequency_hz, 1, 100000, "1000",
	  "highest sampling frequency a request may ask for"),
	L("limits", "default_seconds", default_seconds, 1, 86400, "30",
	  "seconds= when a pprof request gives none (Go's default)"),
	L("limits", "default_frequency_hz", default_frequency_hz, 1, 100000, "100",
	  "frequency= when a request gives none"),
	L("limits", "chunk_size_bytes", chunk_size_bytes, 1024, 16 << 20, "65536",
	  "pieces of a session's streamed result"),
	L("limits", "keep_finished_seconds", keep_finished_seconds, 1, 7 * 86400, "600",
	  "how long a finished session's result is kept"),
	L("limits", "heap_sample_bytes", heap_sample_bytes, 1, 1L << 30, "524288",
	  "cprof serve -- command: one allocation sampled per this many bytes on average "
	  "(Go's MemProfileRate)"),
	S("store", "data_dir", data_dir, "",
	  "keep profiles here: the store (SQLite index + files) and /api/v1/profiles "
	  "(empty: none)"),
	S("store", "db", db_url, "",
	  "postgresql://USER@HOST:PORT/DB: the store in PostgreSQL instead of data_dir, shared "
	  "by every server given the same URL"),
	L("store", "retention_days", retention_days, 0, 36500, "0",
	  "remove stored profiles older than this (0: keep)"),
	L("store", "retention_bytes", retention_bytes, 0, 1L << 50, "0",
	  "remove the oldest stored profiles beyond this many bytes (0: no limit)"),
	L("store", "max_upload_bytes", max_upload_bytes, 65536, 1L << 30, "33554432",
	  "largest profile upload (413 beyond)"),
	L("control", "enabled", control, 0, 1, "0",
	  "1: fleet control (/api/metrics/...: profile requests, agents' heartbeats); needs "
	  "data_dir or db"),
	L("control", "requests_per_minute", control_requests_per_minute, 1, 1000000, "60",
	  "profile requests a requester token may make per minute (429 beyond)"),
	L("control", "burst", control_burst, 1, 100000, "10",
	  "profile requests a requester token may make at once"),
	L("control", "expire_seconds", control_expire_seconds, 10, 86400, "120",
	  "a command not taken by its host, or not completed this long after its duration, "
	  "expires"),
	S("targets", "allow_uids", allow_uids, "",
	  "only processes of these user ids (comma-separated; empty: any)"),
	S("targets", "allow_names", allow_names, "",
	  "only processes of these names (comm, comma-separated; empty: any)"),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* libinih reads a line into INI_MAX_LINE bytes and parses what does not
 * fit as another line (a continuation of the value when it starts with a
 * blank), and cuts section names to 49 bytes (its MAX_SECTION - 1): such
 * lines are refused rather than read wrong.  So is a value whose
 * "key = value" line would not fit, so that what --print-config prints
 * reads back. */
#define LINE_MAX_BYTES (INI_MAX_LINE - 3)
#define SECTION_MAX_BYTES 49

static char **str_at(struct cp_serve_config *c, const struct key *k)
{
	return (char **)((char *)c + k->off);
}

static long *long_at(struct cp_serve_config *c, const struct key *k)
{
	return (long *)((char *)c + k->off);
}

void cp_serve_config_init(struct cp_serve_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].kind == K_STR)
			*str_at(c, &keys[i]) = cp_xstrdup(keys[i].dflt);
		else
			*long_at(c, &keys[i]) = strtol(keys[i].dflt, NULL, 10);
	}
}

void cp_serve_config_release(struct cp_serve_config *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kind == K_STR)
			free(*str_at(c, &keys[i]));
	for (int i = 0; i < c->ntargets; i++) {
		free(c->targets[i].name);
		free(c->targets[i].pidfile);
		free(c->targets[i].cmdline);
	}
	free(c->targets);
	memset(c, 0, sizeof(*c));
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if ((!section || !strcmp(keys[i].section, section)) && !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static int set_key(struct cp_serve_config *c, const struct key *k, const char *value, char *msg,
		   size_t msgsz)
{
	if (k->kind == K_STR) {
		free(*str_at(c, k));
		*str_at(c, k) = cp_xstrdup(value);
		return 0;
	}
	long v;
	if (cp_parse_long(value, k->min, k->max, &v)) {
		snprintf(msg, msgsz, "%s: '%s' is not a number from %ld to %ld", k->name, value,
			 k->min, k->max);
		return -1;
	}
	*long_at(c, k) = v;
	return 0;
}

void cp_serve_config_copy(struct cp_serve_config *dst, const struct cp_serve_config *src)
{
	cp_serve_config_init(dst);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (k->kind == K_STR)
			set_key(dst, k, *(char *const *)((const char *)src + k->off), NULL, 0);
		else
			*long_at(dst, k) = *(const long *)((const char *)src + k->off);
	}
	dst->ntargets = src->ntargets;
	dst->targets = cp_xcalloc((size_t)src->ntargets + 1, sizeof(*dst->targets));
	for (int i = 0; i < src->ntargets; i++) {
		const struct cp_serve_target *t = &src->targets[i];
		dst->targets[i].name = cp_xstrdup(t->name);
		dst->targets[i].pidfile = t->pidfile ? cp_xstrdup(t->pidfile) : NULL;
		dst->targets[i].cmdline = t->cmdline ? cp_xstrdup(t->cmdline) : NULL;
	}
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > SECTION_MAX_BYTES - 7) /* "target." */
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

struct parse_state {
	struct cp_serve_config *c;
	char msg[512];
};

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct cp_serve_config *c = ps->c;
	if (strlen(name) + 3 + strlen(value) > LINE_MAX_BYTES) {
		snprintf(ps->msg, sizeof(ps->msg), "%.64s: a value over %d bytes", name,
			 LINE_MAX_BYTES - 3 - (int)strlen(name));
		return 0;
	}
	if (!strncmp(section, "target.", 7)) {
		const char *tname = section + 7;
		if (!valid_name(tname)) {
			snprintf(ps->msg, sizeof(ps->msg),
				 "[%.64s]: a target name is 1-42 letters, digits, '-', '_' or '.'",
				 section);
			return 0;
		}
		struct cp_serve_target *t = NULL;
		for (int i = 0; i < c->ntargets; i++)
			if (!strcmp(c->targets[i].name, tname))
				t = &c->targets[i];
		if (!t) {
			if (c->ntargets >= 256) {
				snprintf(ps->msg, sizeof(ps->msg), "more than 256 targets");
				return 0;
			}
			c->targets = cp_xrealloc(c->targets, sizeof(*t) * (size_t)(c->ntargets + 1));
			t = &c->targets[c->ntargets++];
			memset(t, 0, sizeof(*t));
			t->name = cp_xstrdup(tname);
		}
		char **dst = !strcmp(name, "pidfile") ? &t->pidfile :
			     !strcmp(name, "cmdline") ? &t->cmdline :
							NULL;
		if (!dst) {
			snprintf(ps->msg, sizeof(ps->msg),
				 "[%.64s]: unknown key '%.64s' (a target has pidfile and cmdline)",
				 section, name);
			return 0;
		}
		free(*dst);
		*dst = cp_xstrdup(value);
		return 1;
	}
	bool known_section = false;
	for (size_t i = 0; i < NKEYS; i++)
		known_section |= !strcmp(keys[i].section, section);
	if (!known_section) {
		snprintf(ps->msg, sizeof(ps->msg),
			 "unknown section [%.64s] (there are [server], [limits], [store], [targets] "
			 "and [target.NAME])",
			 section);
		return 0;
	}
	const struct key *k = find_key(section, name);
	if (!k) {
		snprintf(ps->msg, sizeof(ps->msg), "[%s]: unknown key '%.64s'", section, name);
		return 0;
	}
	return set_key(c, k, value, ps->msg, sizeof(ps->msg)) == 0;
}

static int check(struct cp_serve_config *c, const char *name, struct cp_error *err)
{
	for (int i = 0; i < c->ntargets; i++) {
		struct cp_serve_target *t = &c->targets[i];
		if (!!t->pidfile == !!t->cmdline || (t->pidfile && !*t->pidfile) ||
		    (t->cmdline && !*t->cmdline))
			return cp_error_set(err, CP_E_USAGE,
					    "%s: [target.%s] needs one of pidfile or cmdline", name,
					    t->name);
	}
	return 0;
}

static int check_lines(const char *text, const char *name, struct cp_error *err)
{
	int line = 1;
	for (const char *p = text; *p; line++) {
		size_t n = strcspn(p, "\n");
		if (n > LINE_MAX_BYTES)
			return cp_error_set(err, CP_E_USAGE, "%s:%d: a line over %d bytes", name, line,
					    LINE_MAX_BYTES);
		const char *s = p;
		if (line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
			s += 3; /* a UTF-8 BOM, which libinih skips */
		const char *bol = s;
		while (s < p + n && isspace((unsigned char)*s))
			s++;
		if (s < p + n && *s == '[' && strcspn(s + 1, "]\n") > SECTION_MAX_BYTES)
			return cp_error_set(err, CP_E_USAGE, "%s:%d: a section name over %d bytes",
					    name, line, SECTION_MAX_BYTES);
		/* libinih reads an indented line as more of the value above (and
		 * then the value is that line alone, its ';' no comment): a
		 * key indented under its section would silently become another
		 * key's value (an indented "[" line too: libinih looks for the
		 * continuation before it looks for a section) */
		if (s > bol && s < p + n && *s != ';' && *s != '#')
			return cp_error_set(err, CP_E_USAGE,
					    "%s:%d: an indented line (in this format indentation "
					    "continues the value above); start keys at the beginning "
					    "of the line",
					    name, line);
		p += n + (p[n] == '\n');
	}
	return 0;
}

int cp_serve_config_parse(struct cp_serve_config *c, const char *text, const char *name,
			  struct cp_error *err)
{
	int rc = check_lines(text, name, err);
	if (rc)
		return rc;
	struct parse_state ps = { .c = c };
	int line = ini_parse_string(text, on_key, &ps);
	if (line > 0)
		return cp_error_set(err, CP_E_USAGE, "%s:%d: %s", name, line,
				    ps.msg[0] ? ps.msg : "not 'key = value' or '[section]'");
	if (line < 0)
		return cp_error_set(err, CP_E_FAIL, "%s: cannot be read", name);
	return check(c, name, err);
}

int cp_serve_config_load(struct cp_serve_config *c, const char *path, struct cp_error *err)
{
	size_t len;
	char *text = cp_read_file(path, &len);
	if (!text)
		return cp_error_errno(err, CP_E_NOENT, errno, "config %s", path);
	if (len > (1 << 20)) {
		free(text);
		return cp_error_set(err, CP_E_USAGE, "%s: over 1 MiB, not a config file", path);
	}
	if (strlen(text) != len) {
		free(text);
		return cp_error_set(err, CP_E_USAGE, "%s: not a text file (a NUL byte)", path);
	}
	int rc = cp_serve_config_parse(c, text, path, err);
	free(text);
	return rc;
}

int cp_serve_config_set(struct cp_serve_config *c, const char *key, const char *value,
			struct cp_error *err)
{
	const struct key *k = find_key(NULL, key);
	char msg[256];
	if (!k)
		return cp_error_set(err, CP_E_USAGE, "no setting '%s'", key);
	if (set_key(c, k, value, msg, sizeof(msg)))
		return cp_error_set(err, CP_E_USAGE, "%s", msg);
	return 0;
}

void cp_serve_config_print(FILE *out, const struct cp_serve_config *c)
{
	fputs("# cprof serve configuration (cprof serve --config FILE); every key is shown\n"
	      "# with its value; flags on the command line win over the file.\n",
	      out);
	const char *section = NULL;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (!section || strcmp(section, k->section)) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		fprintf(out, "# %s (default: %s)\n", k->help, *k->dflt ? k->dflt : "none");
		if (k->kind == K_STR) {
			const char *v = *(char *const *)((const char *)c + k->off);
			/* "key = ;x" would read as an inline comment: "key =;x" */
			fprintf(out, "%s =%s%s\n", k->name, *v && *v != ';' ? " " : "", v);
		}
		else {
			fprintf(out, "%s = %ld\n", k->name, *(const long *)((const char *)c + k->off));
		}
	}
	fputs("\n# A target served at /t/NAME/debug/pprof/...: the process in a pidfile, or\n"
	      "# every process whose command line matches a regular expression (pgrep -f).\n"
	      "# [target.web]\n# pidfile = /run/web.pid\n# [target.workers]\n"
	      "# cmdline = ^/usr/bin/python3 worker\\.py\n",
	      out);
	for (int i = 0; i < c->ntargets; i++) {
		fprintf(out, "\n[target.%s]\n", c->targets[i].name);
		const char *pf = c->targets[i].pidfile, *cl = c->targets[i].cmdline;
		if (pf)
			fprintf(out, "pidfile =%s%s\n", *pf && *pf != ';' ? " " : "", pf);
		if (cl)
			fprintf(out, "cmdline =%s%s\n", *cl && *cl != ';' ? " " : "", cl);
	}
}

int cp_serve_parse_listen(const char *s, struct cp_serve_listen *out, struct cp_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!strncmp(s, "unix:", 5)) {
		const char *p = s + 5;
		if (*p != '/' || strlen(p) >= 108)
			return cp_error_set(err, CP_E_USAGE,
					    "listen: '%s': unix: needs an absolute path under 108 "
					    "bytes", s);
		out->kind = CP_LISTEN_UNIX;
		snprintf(out->host, sizeof(out->host), "%s", p);
		out->loopback = true;
		return 0;
	}
	const char *colon = strrchr(s, ':');
	const char *h = s, *he = colon;
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return cp_error_set(err, CP_E_USAGE, "listen: '%s' is not [IPV6]:PORT", s);
		h = s + 1;
		he = rb;
		colon = rb + 1;
	}
	long port;
	if (!colon || he - h <= 0 || (size_t)(he - h) >= sizeof(out->host) ||
	    cp_parse_long(colon + 1, 0, 65535, &port))
		return cp_error_set(err, CP_E_USAGE,
				    "listen: '%s' is not HOST:PORT, [IPV6]:PORT or unix:/path", s);
	memcpy(out->host, h, (size_t)(he - h));
	out->host[he - h] = '\0';
	out->port = (uint16_t)port;
	if (!strcmp(out->host, "localhost"))
		snprintf(out->host, sizeof(out->host), "127.0.0.1");
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, out->host, &a4) == 1) {
		out->kind = CP_LISTEN_INET;
		out->loopback = (ntohl(a4.s_addr) >> 24) == 127;
	} else if (inet_pton(AF_INET6, out->host, &a6) == 1) {
		out->kind = CP_LISTEN_INET6;
		out->loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	} else {
		return cp_error_set(err, CP_E_USAGE,
				    "listen: '%s' is not an IP address (give one, not a host name)",
				    out->host);
	}
	return 0;
}
