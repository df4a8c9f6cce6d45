/* profiles.c - /api/v1/profiles: the profile store behind cprof serve
 * --data (lib/store).  Uploads (a pprof profile, a cprof recording,
 * perf script text or folded stacks) are read into the model, written as
 * gzipped pprof and flame-graph JSON, and indexed; the list, one
 * profile's row, its blobs and its flame graph are read back. */
#include <jansson.h>
#include <stddef.h>
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
	long v; /* unix seconds, as Pyroscope's from and until (up to the year 2255) */
	if (cp_parse_long(s, 0, 9000000000L, &v))
		return -1;
	*out = (int64_t)v * 1000000000ll;
	return 0;
}

/* A row as a JSON object, written straight into b: the list answers up
 * to 10000 of them, and building jansson trees for them was half of a list
 * request's time (bench/store.sh). */
static void row_write(struct cp_buf *b, const struct cp_store_row *r)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{ "{\"id\":", offsetof(struct cp_store_row, id) },
		{ ",\"service\":", offsetof(struct cp_store_row, service) },
		{ ",\"labels\":", offsetof(struct cp_store_row, labels) },
		{ ",\"host\":", offsetof(struct cp_store_row, host) },
		{ ",\"sample_type\":", offsetof(struct cp_store_row, sample_type) },
		{ ",\"sha256\":", offsetof(struct cp_store_row, sha256) },
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		cp_buf_add_str(b, strs[i].key);
		cp_buf_add_json_str(b, (const char *)r + strs[i].off);
	}
	const struct {
		const char *key;
		int64_t v;
	} nums[] = {
		{ ",\"pid\":", r->pid },
		{ ",\"from_ns\":", r->from_ns },
		{ ",\"until_ns\":", r->until_ns },
		{ ",\"total\":", r->total },
		{ ",\"samples\":", r->samples },
		{ ",\"created_ns\":", r->created_ns },
		{ ",\"size\":", r->size + r->json_size },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		cp_buf_add_str(b, nums[i].key);
		cp_buf_add_i64(b, nums[i].v);
	}
	cp_buf_add_u8(b, '}');
}

static void reply_row(struct cp_http_req *r, unsigned status, const struct cp_store_row *row)
{
	struct cp_buf b = { 0 };
	row_write(&b, row);
	cp_buf_add_u8(&b, '\n');
	cp_http_reply_take(r, status, "application/json", b.p, b.len);
}

/* The profile as the store keeps it: pprof (a heap profile in Go's layout)
 * and the flame-graph tree. */
static int blobs(const struct cp_profile *p, char **pb, size_t *pblen, char **json, size_t *jsonlen,
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
	FILE *f = open_memstream(pb, pblen);
	int rc = f ? cp_format_pprof_write_auto(f, v, "profile", err) : CP_E_FAIL;
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

int cp_serve_store_profile(struct cp_server *s, const struct cp_profile *p, const char *service,
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

unsigned cp_serve_status_of(int code)
{
	return code == CP_E_USAGE || code == CP_E_FORMAT || code == CP_E_TRUNCATED ? 400 :
	       code == CP_E_NOENT					   ? 404 :
									     500;
}

static void upload(struct cp_server *s, struct cp_http_req *r)
{
	const char *service = cp_http_query(r, "service");
	if (!service || !cp_store_valid_service(service, strlen(service)))
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
		return cp_http_reply_error(r, cp_serve_status_of(rc), "%s", err.msg);
	struct cp_store_row row;
	rc = cp_serve_store_profile(s, p, service, labels ? canon : "", from, until, &row, &err);
	cp_profile_free(p);
	if (rc)
		return cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	reply_row(r, 201, &row);
}

void cp_serve_ingest(struct cp_server *s, struct cp_http_req *r)
{
	if (!s->store)
		return cp_http_reply_error(r, 404, "this server keeps no profiles (cprof serve "
						   "--data DIR)");
	if (strcmp(cp_http_method(r), "POST"))
		return cp_http_reply_error(r, 405, "method %.16s: only POST here",
					   cp_http_method(r));
	/* name=APP.TYPE{k=v,...} */
	char service[128], labels[512], msg[300];
	struct cp_error err = { 0 };
	if (cp_serve_parse_app_name(cp_http_query(r, "name"), service, labels, msg, sizeof(msg)))
		return cp_http_reply_error(r, 400, "%s", msg);
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
		return cp_http_reply_error(r, cp_serve_status_of(rc), "%s", err.msg);
	if (!until && from)
		until = now;
	struct cp_store_row row;
	rc = cp_serve_store_profile(s, p, service, labels, from, until, &row, &err);
	cp_profile_free(p);
	if (rc)
		return cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	reply_row(r, 200, &row);
}

static int add_row(const struct cp_store_row *row, void *arg)
{
	struct cp_buf *b = arg;
	if (b->len > 13)
		cp_buf_add_u8(b, ',');
	row_write(b, row);
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
	struct cp_buf b = { 0 };
	cp_buf_add_str(&b, "{\"profiles\":["); /* 13 bytes: add_row's first-row test */
	struct cp_error err = { 0 };
	int rc = cp_store_list(s->store, &q, add_row, &b, &err);
	if (rc) {
		cp_buf_release(&b);
		return cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	}
	cp_buf_add_str(&b, "]}\n");
	cp_http_reply_take(r, 200, "application/json", b.p, b.len);
}

/* width= and minwidth= of a flame-graph request; false (and a 400 sent)
 * when one is bad.  The web pages ask for minwidth=1: frames narrower
 * than a pixel merge on the server, and a 200k-frame profile stays a few
 * thousand elements in the browser. */
static bool flame_query(struct cp_http_req *r, struct cp_flame_opts *fo)
{
	long width = 1200;
	const char *ws = cp_http_query(r, "width"), *ms = cp_http_query(r, "minwidth");
	if (ws && cp_parse_long(ws, 100, 100000, &width)) {
		cp_http_reply_error(r, 400, "width: 100 to 100000 pixels");
		return false;
	}
	fo->width = (unsigned)width;
	fo->minwidth = -1;
	if (ms) {
		char *end;
		double mw = strtod(ms, &end);
		if (end == ms || *end || !(mw >= 0 && mw <= 1000)) {
			cp_http_reply_error(r, 400, "minwidth: 0 to 1000 pixels");
			return false;
		}
		fo->minwidth = mw;
	}
	return true;
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
			return cp_http_reply_error(r, cp_serve_status_of(rc), "%s", err.msg);
		return reply_row(r, 200, &row);
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
		return cp_http_reply_take(r, 200, json ? "application/json" : "application/octet-stream",
					  data, len);
	}
	struct cp_profile *p = NULL;
	rc = cp_input_read_mem(data, len, id, CP_INPUT_PPROF, &p, NULL, &err);
	free(data);
	char *buf = NULL;
	size_t blen = 0;
	struct cp_view *v = rc ? NULL : cp_view_new(p, NULL, &err);
	FILE *f = v ? open_memstream(&buf, &blen) : NULL;
	struct cp_flame_opts fo = { 0 };
	if (!flame_query(r, &fo))
		rc = -1;
	else if (f)
		rc = cp_format_flame_write(f, v, NULL, &fo, "flame.svg", &err);
	if (f)
		fclose(f);
	if (!rc && v)
		cp_http_reply(r, 200, "image/svg+xml", buf, blen, NULL);
	else if (rc != -1)
		cp_http_reply_error(r, rc == CP_E_USAGE ? 400 : 500, "%s", err.msg);
	free(buf);
	cp_view_free(v);
	cp_profile_free(p);
}

/* ---- merge and diff ---------------------------------------------------------- */

struct merge_arg {
	struct cp_server *s;
	struct cp_profile *m;
	char type[64]; /* the first row's sample type: rows of others are skipped */
	long merged, skipped;
	struct cp_error err;
	int rc;
};

static int merge_row(const struct cp_store_row *row, void *arg)
{
	struct merge_arg *a = arg;
	if (!a->type[0])
		snprintf(a->type, sizeof(a->type), "%s", row->sample_type);
	if (strcmp(a->type, row->sample_type)) {
		a->skipped++;
		return 0;
	}
	void *data = NULL;
	size_t len = 0;
	struct cp_profile *p = NULL;
	int rc = cp_store_read(a->s->store, row->id, CP_STORE_PPROF, &data, &len, &a->err);
	if (!rc)
		rc = cp_input_read_mem(data, len, row->id, CP_INPUT_PPROF, &p, NULL, &a->err);
	free(data);
	if (!rc)
		rc = cp_profile_merge(a->m, p, &a->err);
	cp_profile_free(p);
	if (rc)
		return a->rc = rc;
	a->merged++;
	return 0;
}

/* The stored profiles of a query merged into one; NULL with a reply sent
 * when there is none or one cannot be read. */
static struct cp_profile *merged(struct cp_server *s, struct cp_http_req *r,
				 const struct cp_store_query *q, const char *sample_type,
				 long *count)
{
	struct merge_arg a = { .s = s, .m = cp_profile_new() };
	if (sample_type)
		snprintf(a.type, sizeof(a.type), "%s", sample_type);
	struct cp_store_query qq = *q;
	if (!qq.limit)
		qq.limit = 1000;
	int rc = cp_store_list(s->store, &qq, merge_row, &a, &a.err);
	if (rc || !a.merged) {
		if (rc)
			cp_http_reply_error(r, a.rc == CP_E_USAGE || rc == CP_E_USAGE ? 400 : 500, "%s",
					    a.err.msg);
		else
			cp_http_reply_error(r, 404, "no stored profile matches%s",
					    a.skipped ? " with that sample type" : "");
		cp_profile_free(a.m);
		return NULL;
	}
	*count = a.merged;
	return a.m;
}

/* A query from the request's service, labels, from, until and limit; false
 * after replying 400. */
static bool query_of(struct cp_http_req *r, struct cp_store_query *q, const char *from_key,
		     const char *until_key)
{
	int64_t now = (int64_t)cp_realtime_ns();
	memset(q, 0, sizeof(*q));
	q->service = cp_http_query(r, "service");
	q->labels = cp_http_query(r, "labels");
	const char *fs = from_key ? cp_http_query(r, from_key) : NULL,
		   *us = until_key ? cp_http_query(r, until_key) : NULL,
		   *ls = cp_http_query(r, "limit");
	if ((fs && cp_serve_parse_time(fs, now, &q->from_ns)) ||
	    (us && cp_serve_parse_time(us, now, &q->until_ns))) {
		cp_http_reply_error(r, 400, "from, until: unix seconds, 'now' or -N[smhd]");
		return false;
	}
	if (ls && cp_parse_long(ls, 1, 10000, &q->limit)) {
		cp_http_reply_error(r, 400, "limit: 1 to 10000");
		return false;
	}
	return true;
}

/* "A..B": two times (unix seconds, now, -N[smhd]). */
static bool range_of(const char *s, int64_t *from, int64_t *until)
{
	const char *dots = s ? strstr(s, "..") : NULL;
	if (!dots || dots - s > 32)
		return false;
	char a[40];
	memcpy(a, s, (size_t)(dots - s));
	a[dots - s] = '\0';
	int64_t now = (int64_t)cp_realtime_ns();
	return !cp_serve_parse_time(a, now, from) && !cp_serve_parse_time(dots + 2, now, until) &&
	       *from < *until;
}

static void reply_profile(struct cp_http_req *r, struct cp_profile *p, const char *format,
			  const char *title)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, NULL, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = v ? open_memstream(&buf, &len) : NULL;
	int rc = CP_E_FAIL;
	const char *ctype = "application/octet-stream";
	if (f && !strcmp(format, "pprof")) {
		rc = cp_format_pprof_write_auto(f, v, "merged profile", &err);
	} else if (f && !strcmp(format, "folded")) {
		struct cp_folded_opts fo = { .weights = true };
		rc = cp_format_folded_write(f, v, &fo, "merged profile", &err);
		ctype = "text/plain; charset=utf-8";
	} else if (f && !strcmp(format, "json")) {
		rc = cp_format_flame_json_write(f, v, JSON_MIN_PERCENT, "merged profile", &err);
		ctype = "application/json";
	} else if (f) {
		struct cp_flame_opts fo = { .title = title, .minwidth = -1 };
		rc = cp_format_flame_write(f, v, NULL, &fo, "merged profile", &err);
		ctype = "image/svg+xml";
	}
	if (f)
		fclose(f);
	if (!rc)
		cp_http_reply(r, 200, ctype, buf, len, NULL);
	else
		cp_http_reply_error(r, 500, "%s", err.msg[0] ? err.msg : "out of memory");
	free(buf);
	cp_view_free(v);
}

static void merge(struct cp_server *s, struct cp_http_req *r)
{
	const char *format = cp_http_query(r, "format");
	if (!format)
		format = "pprof";
	if (strcmp(format, "pprof") && strcmp(format, "folded") && strcmp(format, "svg") &&
	    strcmp(format, "json"))
		return cp_http_reply_error(r, 400, "format: pprof, folded, svg or json");
	struct cp_store_query q;
	if (!query_of(r, &q, "from", "until"))
		return;
	long n = 0;
	struct cp_profile *p = merged(s, r, &q, cp_http_query(r, "sample_type"), &n);
	if (!p)
		return;
	char title[200];
	snprintf(title, sizeof(title), "%.64s: %ld profiles merged", q.service ? q.service : "all",
		 n);
	reply_profile(r, p, format, title);
	cp_profile_free(p);
}

/* Two ranges (base=A..B, target=C..D) or two profiles (base_id, target_id)
 * as a differential flame graph, normalized as cprof flame --diff. */
static void diff(struct cp_server *s, struct cp_http_req *r)
{
	struct cp_store_query qb, qt;
	struct cp_flame_opts fo = { .normalize = true };
	if (!query_of(r, &qb, NULL, NULL) || !flame_query(r, &fo))
		return;
	qt = qb;
	const char *bid = cp_http_query(r, "base_id"), *tid = cp_http_query(r, "target_id");
	struct cp_profile *pb = NULL, *pt = NULL;
	long nb = 0, nt = 0;
	const char *type = cp_http_query(r, "sample_type");
	if (bid || tid) {
		struct cp_store_row rb, rt;
		struct cp_error err = { 0 };
		if (!bid || !tid || cp_store_get(s->store, bid, &rb, &err) ||
		    cp_store_get(s->store, tid, &rt, &err))
			return cp_http_reply_error(r, 404, "base_id and target_id: two stored "
							   "profiles are needed%s%s",
						   err.msg[0] ? ": " : "", err.msg);
		struct merge_arg a = { .s = s, .m = cp_profile_new() };
		if (merge_row(&rb, &a) || !a.merged) {
			cp_profile_free(a.m);
			return cp_http_reply_error(r, 500, "%s", a.err.msg);
		}
		pb = a.m;
		struct merge_arg b = { .s = s, .m = cp_profile_new() };
		snprintf(b.type, sizeof(b.type), "%s", a.type);
		if (merge_row(&rt, &b) || !b.merged) {
			cp_profile_free(pb);
			cp_profile_free(b.m);
			return cp_http_reply_error(r, b.skipped ? 400 : 500, "%s",
						   b.skipped ? "the two profiles have different "
							       "sample types" : b.err.msg);
		}
		pt = b.m;
		nb = nt = 1;
	} else {
		if (!range_of(cp_http_query(r, "base"), &qb.from_ns, &qb.until_ns) ||
		    !range_of(cp_http_query(r, "target"), &qt.from_ns, &qt.until_ns))
			return cp_http_reply_error(r, 400, "base, target: two time ranges FROM..UNTIL "
							   "(unix seconds, now, -N[smhd]), or "
							   "base_id and target_id");
		if (!(pb = merged(s, r, &qb, type, &nb)))
			return;
		char t[64];
		uint32_t vi = cp_view_default_value(pb);
		snprintf(t, sizeof(t), "%s", vi < pb->value_types.n ? pb->value_types.v[vi].type : "");
		if (!(pt = merged(s, r, &qt, type ? type : t, &nt))) {
			cp_profile_free(pb);
			return;
		}
	}
	struct cp_error err = { 0 };
	struct cp_view *vb = cp_view_new(pb, NULL, &err), *vt = vb ? cp_view_new(pt, NULL, &err) : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = vt ? open_memstream(&buf, &len) : NULL;
	int rc = CP_E_FAIL;
	if (f) {
		char title[200];
		snprintf(title, sizeof(title), "%.64s: %ld profiles against %ld", qb.service ? qb.service : "all", nt, nb);
		fo.title = title;
		rc = cp_format_flame_write(f, vt, vb, &fo, "diff", &err);
		fclose(f);
	}
	if (!rc)
		cp_http_reply(r, 200, "image/svg+xml", buf, len, NULL);
	else
		cp_http_reply_error(r, 500, "%s", err.msg[0] ? err.msg : "out of memory");
	free(buf);
	cp_view_free(vt);
	cp_view_free(vb);
	cp_profile_free(pt);
	cp_profile_free(pb);
}

void cp_serve_merge(struct cp_server *s, struct cp_http_req *r, bool is_diff)
{
	if (!s->store)
		return cp_http_reply_error(r, 404, "this server keeps no profiles (cprof serve "
						   "--data DIR)");
	if (strcmp(cp_http_method(r), "GET") && strcmp(cp_http_method(r), "HEAD"))
		return cp_http_reply_error(r, 405, "method %.16s: only GET here",
					   cp_http_method(r));
	if (is_diff)
		return diff(s, r);
	merge(s, r);
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
