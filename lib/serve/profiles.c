/* profiles.c - /api/v1/profiles: the profile store behind cprof serve
 * --data (lib/store).  Uploads (a pprof profile, a cprof recording,
 * perf script text or folded stacks) are read into the model, written as
 * gzipped pprof and flame-graph JSON, and indexed; the list, one
 * profile's row, its blobs and its flame graph are read back. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format/format.h"
#include "input/input.h"
#include "profile/profile.h"
#include "serve/serve-int.h"
#include "store/store.h"

/* The store's flame-graph JSON leaves out frames under this share of the
 * total: narrower than a pixel at any width a browser window has. */
#define JSON_MIN_PERCENT 0.02

int cp_serve_parse_time(const char *s, int64_t now_ns, int64_t *out)
{
	if (!strcmp(s, "now")) {
		*out = now_ns;
		return 0;
	}
	if (*s == '-') {
		char *end;
		long long n = strtoll(s + 1, &end, 10);
		static const struct {
			char unit;
			int64_t ns;
		} units[] = { { 's', 1000000000ll },
			      { 'm', 60 * 1000000000ll },
			      { 'h', 3600 * 1000000000ll },
			      { 'd', 86400 * 1000000000ll } };
		if (end == s + 1 || n < 0 || n > 100000 || end[0] == '\0' || end[1] != '\0')
			return -1;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (*end == units[i].unit) {
				*out = now_ns - (int64_t)n * units[i].ns;
				return 0;
			}
		return -1;
	}
	long v; /* unix seconds, as Pyroscope's from and until */
	if (cp_parse_long(s, 0, 1L << 40, &v))
		return -1;
	*out = (int64_t)v * 1000000000ll;
	return 0;
}

static json_t *row_json(const struct cp_store_row *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:s}", "id",
			 r->id, "service", r->service, "labels", r->labels, "host", r->host, "pid",
			 (json_int_t)r->pid, "from_ns", (json_int_t)r->from_ns, "until_ns",
			 (json_int_t)r->until_ns, "sample_type", r->sample_type, "total",
			 (json_int_t)r->total, "samples", (json_int_t)r->samples, "created_ns",
			 (json_int_t)r->created_ns, "size", (json_int_t)(r->size + r->json_size),
			 "sha256", r->sha256);
}

/* The profile as the store keeps it: pprof (a heap profile in Go's layout)
 * and the flame-graph tree. */
static int blobs(struct cp_profile *p, char **pb, size_t *pblen, char **json, size_t *jsonlen,
		 struct cp_store_row *row, struct cp_error *err)
{
	struct cp_view *v = cp_view_new(p, NULL, err);
	if (!v)
		return CP_E_FORMAT;
	uint32_t vi = cp_view_default_value(p);
	if (vi < p->value_types.n)
		snprintf(row->sample_type, sizeof(row->sample_type), "%s",
			 p->value_types.v[vi].type);
	row->total = cp_view_total(v);
	row->samples = (int64_t)cp_view_total_samples(v);
	struct cp_pprof_heap_columns cols;
	struct cp_pprof_opts po, *pop = NULL;
	struct cp_error herr;
	if (cp_format_heap_check(p, &herr) == 0 &&
	    cp_format_pprof_heap_opts(p, false, NULL, &cols, &po, &herr) == 0)
		pop = &po;
	FILE *f = open_memstream(pb, pblen);
	int rc = f ? cp_format_pprof_write(f, v, pop, "profile", err) : CP_E_FAIL;
	if (f)
		fclose(f);
	if (!rc) {
		f = open_memstream(json, jsonlen);
		rc = f ? cp_format_flame_json_write(f, v, JSON_MIN_PERCENT, "profile.json", err) :
			 CP_E_FAIL;
		if (f)
			fclose(f);
	}
	cp_view_free(v);
	return rc;
}

int cp_serve_store_profile(struct cp_server *s, struct cp_profile *p, const char *service,
			   const char *labels, int64_t from_ns, int64_t until_ns,
			   struct cp_store_row *row, struct cp_error *err)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->service, sizeof(row->service), "%s", service);
	snprintf(row->labels, sizeof(row->labels), "%s", labels ? labels : "");
	snprintf(row->host, sizeof(row->host), "%s", p->meta.hostname ? p->meta.hostname : "");
	row->from_ns = from_ns ? from_ns : (int64_t)p->meta.time_nanos;
	row->until_ns = until_ns ? until_ns : row->from_ns + (int64_t)p->meta.duration_nanos;
	if (!row->from_ns)
		row->from_ns = row->until_ns = (int64_t)cp_realtime_ns();
	/* the pid when every sample has the same */
	for (size_t i = 0; i < p->samples.n; i++) {
		int64_t pid = p->samples.v[i].pid;
		if (i && pid != row->pid) {
			row->pid = 0;
			break;
		}
		row->pid = pid;
	}
	char *pb = NULL, *json = NULL;
	size_t pblen = 0, jsonlen = 0;
	int rc = blobs(p, &pb, &pblen, &json, &jsonlen, row, err);
	if (!rc)
		rc = cp_store_put(s->store, row, pb, pblen, json, jsonlen, err);
	free(pb);
	free(json);
	if (!rc && (s->cfg.retention_days || s->cfg.retention_bytes)) {
		struct cp_error rerr;
		int64_t before = s->cfg.retention_days ?
					 (int64_t)cp_realtime_ns() -
						 (int64_t)s->cfg.retention_days * 86400000000000ll :
					 0;
		if (cp_store_retain(s->store, before, (int64_t)s->cfg.retention_bytes, NULL, &rerr))
			cp_log(CP_LOG_WARN, "store: retention: %s", rerr.msg);
	}
	return rc;
}

static unsigned status_of(int code)
{
	return code == CP_E_USAGE || code == CP_E_FORMAT || code == CP_E_TRUNCATED ? 400 :
	       code == CP_E_NOENT					   ? 404 :
									     500;
}

static bool valid_service(const char *s, size_t n)
{
	if (!n || n >= 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static void upload(struct cp_server *s, struct cp_http_req *r)
{
	const char *service = cp_http_query(r, "service");
	if (!service || !valid_service(service, strlen(service)))
		return cp_http_reply_error(r, 400, "service: 1 to 127 letters, digits, '-', '_' "
						   "or '.' (?service=web)");
	const char *labels = cp_http_query(r, "labels");
	char canon[512];
	struct cp_error err = { 0 };
	if (labels && cp_store_canon_labels(labels, canon, sizeof(canon), &err))
		return cp_http_reply_error(r, 400, "%s", err.msg);
	int64_t now = (int64_t)cp_realtime_ns(), from = 0, until = 0;
	const char *fs = cp_http_query(r, "from"), *us = cp_http_query(r, "until");
	if ((fs && cp_serve_parse_time(fs, now, &from)) || (us && cp_serve_parse_time(us, now, &until)))
		return cp_http_reply_error(r, 400, "from, until: unix seconds, 'now' or -N[smhd]");
	size_t len = 0;
	const char *body = cp_http_body(r, &len);
	struct cp_profile *p = NULL;
	int rc = cp_input_read_mem(body ? body : "", len, "the upload", CP_INPUT_UNKNOWN, &p, NULL,
				   &err);
	if (rc)
		return cp_http_reply_error(r, status_of(rc), "%s", err.msg);
	struct cp_store_row row;
	rc = cp_serve_store_profile(s, p, service, labels ? canon : "", from, until, &row, &err);
	cp_profile_free(p);
	if (rc)
		return cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	cp_serve_reply_json(r, 201, row_json(&row));
}

/* Pyroscope's profile types, the last part of its application names
 * ("web.cpu"): the service is what comes before. */
static const char *const pyroscope_types[] = {
	"cpu", "wall", "itimer", "alloc_objects", "alloc_space", "inuse_objects", "inuse_space",
	"goroutines", "mutex_count", "mutex_duration", "block_count", "block_duration",
	"lock_count", "lock_duration", "exceptions",
};

void cp_serve_ingest(struct cp_server *s, struct cp_http_req *r)
{
	if (!s->store)
		return cp_http_reply_error(r, 404, "this server keeps no profiles (cprof serve "
						   "--data DIR)");
	if (strcmp(cp_http_method(r), "POST"))
		return cp_http_reply_error(r, 405, "method %.16s: only POST here",
					   cp_http_method(r));
	/* name=APP.TYPE{k=v,...} */
	const char *name = cp_http_query(r, "name");
	if (!name || !*name)
		return cp_http_reply_error(r, 400, "name: the application is needed "
						   "(name=web.cpu{env=prod})");
	size_t base = strcspn(name, "{");
	char labels[512] = "";
	struct cp_error err = { 0 };
	if (name[base] && cp_store_canon_labels(name + base, labels, sizeof(labels), &err))
		return cp_http_reply_error(r, 400, "name: %s", err.msg);
	size_t n = base;
	const char *dot = memrchr(name, '.', base);
	for (size_t i = 0; dot && i < sizeof(pyroscope_types) / sizeof(pyroscope_types[0]); i++)
		if ((size_t)(name + base - dot - 1) == strlen(pyroscope_types[i]) &&
		    !memcmp(dot + 1, pyroscope_types[i], strlen(pyroscope_types[i])))
			n = (size_t)(dot - name);
	if (!valid_service(name, n))
		return cp_http_reply_error(r, 400, "name: the application '%.*s' is not 1 to 127 "
						   "letters, digits, '-', '_' or '.'",
					   (int)(n < 64 ? n : 64), name);
	char service[128];
	memcpy(service, name, n);
	service[n] = '\0';
	int64_t now = (int64_t)cp_realtime_ns(), from = 0, until = 0;
	const char *fs = cp_http_query(r, "from"), *us = cp_http_query(r, "until");
	if ((fs && cp_serve_parse_time(fs, now, &from)) || (us && cp_serve_parse_time(us, now, &until)))
		return cp_http_reply_error(r, 400, "from, until: unix seconds");
	const char *ct = cp_http_header(r, "Content-Type");
	bool form = ct && !strncasecmp(ct, "multipart/form-data", 19);
	const char *format = cp_http_query(r, "format");
	if (!format)
		format = form ? "pprof" : "folded";
	enum cp_input_format in = !strcmp(format, "folded") ? CP_INPUT_FOLDED :
				  !strcmp(format, "pprof")  ? CP_INPUT_PPROF :
							      CP_INPUT_UNKNOWN;
	if (in == CP_INPUT_UNKNOWN)
		return cp_http_reply_error(r, 400, "format: '%.32s' is not read here (folded or "
						   "pprof)", format);
	char *field = NULL;
	size_t len = 0;
	const char *body = cp_http_body(r, &len);
	if (form) {
		int rc = cp_http_form_field(r, "profile", &field, &len, &err);
		if (rc)
			return cp_http_reply_error(r, 400, "%s", err.msg);
		body = field;
	}
	struct cp_profile *p = NULL;
	int rc = cp_input_read_mem(body ? body : "", len, "the upload", in, &p, NULL, &err);
	free(field);
	if (rc)
		return cp_http_reply_error(r, status_of(rc), "%s", err.msg);
	if (!until && from)
		until = now;
	struct cp_store_row row;
	rc = cp_serve_store_profile(s, p, service, labels, from, until, &row, &err);
	cp_profile_free(p);
	if (rc)
		return cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	cp_serve_reply_json(r, 200, row_json(&row));
}

struct list_arg {
	json_t *a;
};

static int add_row(const struct cp_store_row *row, void *arg)
{
	struct list_arg *l = arg;
	json_array_append_new(l->a, row_json(row));
	return 0;
}

static void list(struct cp_server *s, struct cp_http_req *r)
{
	int64_t now = (int64_t)cp_realtime_ns();
	struct cp_store_query q = { .service = cp_http_query(r, "service"),
				    .labels = cp_http_query(r, "labels") };
	const char *fs = cp_http_query(r, "from"), *us = cp_http_query(r, "until"),
		   *ls = cp_http_query(r, "limit");
	if ((fs && cp_serve_parse_time(fs, now, &q.from_ns)) ||
	    (us && cp_serve_parse_time(us, now, &q.until_ns)))
		return cp_http_reply_error(r, 400, "from, until: unix seconds, 'now' or -N[smhd]");
	if (ls && cp_parse_long(ls, 1, 10000, &q.limit))
		return cp_http_reply_error(r, 400, "limit: 1 to 10000");
	struct list_arg l = { .a = json_array() };
	struct cp_error err = { 0 };
	int rc = cp_store_list(s->store, &q, add_row, &l, &err);
	if (rc) {
		json_decref(l.a);
		return cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	}
	cp_serve_reply_json(r, 200, json_pack("{s:o}", "profiles", l.a));
}

static void one(struct cp_server *s, struct cp_http_req *r, const char *rest)
{
	char id[CP_STORE_ID_LEN + 1];
	size_t n = strcspn(rest, "/");
	if (n != CP_STORE_ID_LEN)
		return cp_http_reply_error(r, 404, "no profile '%.*s'", (int)(n < 32 ? n : 32), rest);
	memcpy(id, rest, n);
	id[n] = '\0';
	const char *what = rest + n;
	struct cp_error err = { 0 };
	if (!*what) {
		struct cp_store_row row;
		int rc = cp_store_get(s->store, id, &row, &err);
		if (rc)
			return cp_http_reply_error(r, status_of(rc), "%s", err.msg);
		return cp_serve_reply_json(r, 200, row_json(&row));
	}
	bool pprof = !strcmp(what, "/profile.pb.gz"), json = !strcmp(what, "/profile.json"),
	     svg = !strcmp(what, "/flame.svg");
	if (!pprof && !json && !svg)
		return cp_http_reply_error(r, 404, "no '%.32s' of a profile (there are "
						   "profile.pb.gz, profile.json, flame.svg)",
					   what + 1);
	void *data = NULL;
	size_t len = 0;
	int rc = cp_store_read(s->store, id, json ? CP_STORE_JSON : CP_STORE_PPROF, &data, &len,
			       &err);
	if (rc)
		return cp_http_reply_error(r, rc == CP_E_NOENT ? 404 : 500, "%s", err.msg);
	if (!svg) {
		cp_http_reply(r, 200, json ? "application/json" : "application/octet-stream", data,
			      len, NULL);
		free(data);
		return;
	}
	struct cp_profile *p = NULL;
	rc = cp_input_read_mem(data, len, id, CP_INPUT_PPROF, &p, NULL, &err);
	free(data);
	char *buf = NULL;
	size_t blen = 0;
	struct cp_view *v = rc ? NULL : cp_view_new(p, NULL, &err);
	FILE *f = v ? open_memstream(&buf, &blen) : NULL;
	long width = 1200;
	const char *ws = cp_http_query(r, "width");
	if (ws && cp_parse_long(ws, 100, 100000, &width))
		width = -1;
	if (width < 0) {
		rc = cp_error_set(&err, CP_E_USAGE, "width: 100 to 100000 pixels");
	} else if (f) {
		struct cp_flame_opts fo = { .width = (unsigned)width, .minwidth = -1 };
		rc = cp_format_flame_write(f, v, NULL, &fo, "flame.svg", &err);
	}
	if (f)
		fclose(f);
	if (!rc && v)
		cp_http_reply(r, 200, "image/svg+xml", buf, blen, NULL);
	else
		cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	free(buf);
	cp_view_free(v);
	cp_profile_free(p);
}

void cp_serve_profiles(struct cp_server *s, struct cp_http_req *r, const char *rest)
{
	if (!s->store)
		return cp_http_reply_error(r, 404, "this server keeps no profiles (cprof serve "
						   "--data DIR)");
	const char *m = cp_http_method(r);
	if (!*rest) {
		if (!strcmp(m, "POST"))
			return upload(s, r);
		if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
			return list(s, r);
		return cp_http_reply_error(r, 405, "method %.16s: GET or POST here", m);
	}
	if (strcmp(m, "GET") && strcmp(m, "HEAD"))
		return cp_http_reply_error(r, 405, "method %.16s: only GET here", m);
	if (rest[0] != '/')
		return cp_http_reply_error(r, 404, "no such endpoint");
	one(s, r, rest + 1);
}
