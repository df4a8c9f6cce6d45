/* fleet.c - fleet control's HTTP endpoints (cprof serve --control), in
 * the JSON of gProfiler's Performance Studio:
 *
 *   POST /api/metrics/profile_request     a requester token of the service
 *   POST /api/metrics/heartbeat           an agent token of the service
 *   POST /api/metrics/command_completion  an agent token of the service
 *   GET  /api/metrics/commands?service=S  a requester token of S
 *   GET  /api/metrics/agents?service=S    a requester token of S: the hosts
 *   POST /api/metrics/profiles?hostname=H&command_id=C
 *                                         an agent token: its result stored
 *
 * The server's own token (token_file) may do all of them for any
 * service.  The state is lib/control's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/control.h"
#include "input/input.h"
#include "profile/profile.h"
#include "serve/serve-int.h"
#include "store/store.h"

static void fail(struct cp_http_req *r, unsigned status, const char *msg)
{
	cp_serve_reply_json(r, status, json_pack("{s:b, s:s}", "success", 0, "message", msg));
}

/* The caller's token, allowed for service (NULL: any) in role; false
 * after answering 401 or 403.  *admin: the server's own token. */
static bool authorize(struct cp_server *s, struct cp_http_req *r, const char *service,
		      enum cp_control_role role, struct cp_control_token *tok)
{
	memset(tok, 0, sizeof(*tok));
	const char *a = cp_http_header(r, "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7)) {
		fail(r, 401, "a token is needed (Authorization: Bearer TOKEN)");
		return false;
	}
	const char *text = a + 7;
	if (s->admin_token && cp_http_same_secret(text, s->admin_token)) {
		snprintf(tok->id, sizeof(tok->id), "server");
		snprintf(tok->service, sizeof(tok->service), "%s", service ? service : "");
		tok->role = role;
		return true;
	}
	struct cp_error err = { 0 };
	int rc = cp_control_token_check(s->control, text, tok, &err);
	if (rc) {
		fail(r, rc == CP_E_PERM ? 401 : 500, err.msg);
		return false;
	}
	if (tok->role != role) {
		fail(r, 403, role == CP_ROLE_AGENT ? "this needs an agent token" :
						    "this needs a requester token");
		return false;
	}
	if (service && strcmp(service, tok->service)) {
		char m[300];
		snprintf(m, sizeof(m), "the token is for service %.64s, not %.64s", tok->service,
			 service);
		fail(r, 403, m);
		return false;
	}
	return true;
}

static json_t *parse_body(struct cp_http_req *r)
{
	size_t len;
	const char *body = cp_http_body(r, &len);
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		char m[300];
		snprintf(m, sizeof(m), "the body is not a JSON object: %s (line %d, column %d)",
			 j ? "another JSON value" : je.text, je.line, je.column);
		json_decref(j);
		fail(r, 400, m);
		return NULL;
	}
	return j;
}

/* A string member into out; false (after a 400) when it is missing and
 * needed, not a string, or too long. */
static bool str_member(struct cp_http_req *r, json_t *j, const char *key, bool need, char *out,
		       size_t outsz)
{
	json_t *v = json_object_get(j, key);
	char m[200];
	out[0] = '\0';
	if (!v || json_is_null(v)) {
		if (!need)
			return true;
		snprintf(m, sizeof(m), "%s: missing", key);
	} else if (!json_is_string(v)) {
		snprintf(m, sizeof(m), "%s: a string is needed", key);
	} else if (json_string_length(v) >= outsz || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(m, sizeof(m), "%s: at most %zu characters", key, outsz - 1);
	} else {
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
		return true;
	}
	fail(r, 400, m);
	return false;
}

static bool num_member(struct cp_http_req *r, json_t *j, const char *key, long dflt, long *out)
{
	json_t *v = json_object_get(j, key);
	*out = dflt;
	if (!v || json_is_null(v))
		return true;
	if (json_is_integer(v) && json_integer_value(v) >= -1000000000 &&
	    json_integer_value(v) <= 1000000000) {
		*out = (long)json_integer_value(v);
		return true;
	}
	char m[200];
	snprintf(m, sizeof(m), "%s: a whole number is needed", key);
	fail(r, 400, m);
	return false;
}

static bool pid_list(struct cp_http_req *r, json_t *a, const char *what, struct cp_control_host *h)
{
	if (!a || json_is_null(a))
		return true;
	size_t i;
	json_t *v;
	char m[200];
	if (!json_is_array(a) || json_array_size(a) > CP_CONTROL_MAX_PIDS) {
		snprintf(m, sizeof(m), "%s: a list of at most %d pids is needed", what,
			 CP_CONTROL_MAX_PIDS);
		fail(r, 400, m);
		return false;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 4194304) {
			snprintf(m, sizeof(m), "%s: pids are whole numbers from 1 to 4194304", what);
			fail(r, 400, m);
			return false;
		}
		h->pids[h->npids++] = (int32_t)json_integer_value(v);
	}
	return true;
}

static bool valid_host(const char *h)
{
	if (!*h)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

/* The request's hosts: target_hostnames (with the pids for all), or
 * gProfiler's target_hosts {"host": [pids]}. */
static bool hosts_of(struct cp_http_req *r, json_t *j, struct cp_control_request *rq)
{
	json_t *names = json_object_get(j, "target_hostnames"), *map = json_object_get(j, "target_hosts");
	json_t *pids = json_object_get(j, "pids");
	if (names && !json_is_null(names)) {
		size_t i;
		json_t *v;
		if (!json_is_array(names) || json_array_size(names) > CP_CONTROL_MAX_HOSTS) {
			fail(r, 400, "target_hostnames: a list of at most 256 host names is needed");
			return false;
		}
		json_array_foreach(names, i, v) {
			struct cp_control_host *h = &rq->hosts[rq->nhosts++];
			if (!json_is_string(v) || json_string_length(v) >= sizeof(h->name) ||
			    !valid_host(json_string_value(v))) {
				fail(r, 400, "target_hostnames: host names (letters, digits, '-', '.', '_')");
				return false;
			}
			snprintf(h->name, sizeof(h->name), "%s", json_string_value(v));
			if (!pid_list(r, pids, "pids", h))
				return false;
		}
	}
	if (map && !json_is_null(map)) {
		const char *k;
		json_t *v;
		if (!json_is_object(map) || json_object_size(map) + (size_t)rq->nhosts > CP_CONTROL_MAX_HOSTS) {
			fail(r, 400, "target_hosts: an object {\"host\": [pids]} of at most 256 hosts");
			return false;
		}
		json_object_foreach(map, k, v) {
			struct cp_control_host *h = &rq->hosts[rq->nhosts++];
			if (strlen(k) >= sizeof(h->name) || !valid_host(k)) {
				fail(r, 400, "target_hosts: host names (letters, digits, '-', '.', '_')");
				return false;
			}
			snprintf(h->name, sizeof(h->name), "%s", k);
			if (!pid_list(r, v, "target_hosts", h))
				return false;
		}
	}
	if (!rq->nhosts) {
		fail(r, 400, "target_hostnames (or target_hosts): at least one host");
		return false;
	}
	return true;
}

static void iso_time(int64_t ns, char *out, size_t outsz)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void profile_request(struct cp_server *s, struct cp_http_req *r)
{
	json_t *j = parse_body(r);
	if (!j)
		return;
	struct cp_control_request *rq = cp_xcalloc(1, sizeof(*rq));
	char type[16], level[16];
	json_t *extra = json_object_get(j, "additional_args");
	if (!str_member(r, j, "service_name", true, rq->service, sizeof(rq->service)) ||
	    !str_member(r, j, "command_type", true, type, sizeof(type)) ||
	    !str_member(r, j, "profiling_mode", false, rq->mode, sizeof(rq->mode)) ||
	    !str_member(r, j, "stop_level", false, level, sizeof(level)) ||
	    !num_member(r, j, "duration", 60, &rq->duration) ||
	    !num_member(r, j, "frequency", 11, &rq->frequency))
		goto out;
	if (!cp_store_valid_service(rq->service, strlen(rq->service))) {
		fail(r, 400, "service_name: 1 to 127 letters, digits, '-', '_' or '.'");
		goto out;
	}
	struct cp_control_token tok;
	if (!authorize(s, r, rq->service, CP_ROLE_REQUESTER, &tok))
		goto out;
	if (!cp_control_rate_ok(s->control, &tok)) {
		fail(r, 429, "too many requests for this token: try again later");
		goto out;
	}
	if (!strcmp(type, "start")) {
		rq->type = CP_CMD_START;
	} else if (!strcmp(type, "stop")) {
		rq->type = CP_CMD_STOP;
	} else {
		fail(r, 400, "command_type: start or stop");
		goto out;
	}
	if (!*rq->mode)
		snprintf(rq->mode, sizeof(rq->mode), "cpu");
	if (!*level || !strcmp(level, "process")) {
		rq->host_level_stop = false;
	} else if (!strcmp(level, "host")) {
		rq->host_level_stop = true;
	} else {
		fail(r, 400, "stop_level: process or host");
		goto out;
	}
	if (extra && !json_is_null(extra)) {
		char *t = json_dumps(extra, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(rq->additional_args, sizeof(rq->additional_args), "%s", t ? t : "");
		free(t);
	}
	if (!hosts_of(r, j, rq))
		goto out;
	snprintf(rq->who, sizeof(rq->who), "%s", tok.id);
	size_t blen;
	const char *body = cp_http_body(r, &blen);
	snprintf(rq->body, sizeof(rq->body), "%.*s", (int)blen, body);
	struct cp_control_result *res = cp_xcalloc(1, sizeof(*res));
	struct cp_error err = { 0 };
	int rc = cp_control_request(s->control, rq, res, &err);
	if (rc) {
		fail(r, rc == CP_E_USAGE ? 400 : rc == CP_E_NOENT ? 404 : 500, err.msg);
	} else {
		json_t *ids = json_object();
		const char *first = NULL;
		for (int h = 0; h < rq->nhosts; h++) {
			const char *id = res->command_ids[h];
			json_object_set_new(ids, rq->hosts[h].name, *id ? json_string(id) : json_null());
			if (*id && !first)
				first = id;
		}
		char when[32];
		iso_time(res->estimated_completion_ns, when, sizeof(when));
		cp_serve_reply_json(r, 200,
				    json_pack("{s:b, s:s, s:s, s:s?, s:o, s:s}", "success", 1,
					      "message", res->message, "request_id", res->request_id,
					      "command_id", first, "command_ids", ids,
					      "estimated_completion_time", when));
	}
	free(res);
out:
	free(rq);
	json_decref(j);
}

static json_t *command_json(const struct cp_control_command *c)
{
	json_t *pids = json_array();
	for (int i = 0; i < c->npids; i++)
		json_array_append_new(pids, json_integer(c->pids[i]));
	return json_pack("{s:s, s:{s:I, s:I, s:s, s:o}, s:s}", "command_type",
			 c->type == CP_CMD_STOP ? "stop" : "start", "combined_config", "duration",
			 (json_int_t)c->duration, "frequency", (json_int_t)c->frequency,
			 "profiling_mode", c->mode, "pids", pids, "additional_args", c->additional_args);
}

static void heartbeat(struct cp_server *s, struct cp_http_req *r)
{
	json_t *j = parse_body(r);
	if (!j)
		return;
	struct cp_control_heartbeat hb;
	memset(&hb, 0, sizeof(hb));
	if (!str_member(r, j, "service_name", true, hb.service, sizeof(hb.service)) ||
	    !str_member(r, j, "hostname", true, hb.hostname, sizeof(hb.hostname)) ||
	    !str_member(r, j, "ip_address", false, hb.ip, sizeof(hb.ip)) ||
	    !str_member(r, j, "last_command_id", false, hb.last_command_id,
			sizeof(hb.last_command_id)) ||
	    !str_member(r, j, "status", false, hb.status, sizeof(hb.status)))
		goto out;
	if (!valid_host(hb.hostname)) {
		fail(r, 400, "hostname: letters, digits, '-', '.', '_'");
		goto out;
	}
	/* the address the heartbeat came from when the agent does not say */
	if (!hb.ip[0])
		cp_http_peer_addr(r, hb.ip, sizeof(hb.ip));
	struct cp_control_token tok;
	if (!authorize(s, r, hb.service, CP_ROLE_AGENT, &tok))
		goto out;
	struct cp_control_command cmd;
	struct cp_error err = { 0 };
	int rc = cp_control_heartbeat(s->control, &hb, &cmd, &err);
	if (rc)
		fail(r, 500, err.msg);
	else if (!cmd.command_id[0])
		cp_serve_reply_json(r, 200,
				    json_pack("{s:b, s:s, s:n, s:n}", "success", 1, "message",
					      "no command", "profiling_command", "command_id"));
	else
		cp_serve_reply_json(r, 200,
				    json_pack("{s:b, s:s, s:o, s:s}", "success", 1, "message",
					      "a command", "profiling_command", command_json(&cmd),
					      "command_id", cmd.command_id));
out:
	json_decref(j);
}

static void completion(struct cp_server *s, struct cp_http_req *r)
{
	json_t *j = parse_body(r);
	if (!j)
		return;
	struct cp_control_completion cc;
	memset(&cc, 0, sizeof(cc));
	char status[16];
	json_t *et = json_object_get(j, "execution_time");
	if (!str_member(r, j, "command_id", true, cc.command_id, sizeof(cc.command_id)) ||
	    !str_member(r, j, "hostname", true, cc.hostname, sizeof(cc.hostname)) ||
	    !str_member(r, j, "status", true, status, sizeof(status)) ||
	    !str_member(r, j, "error_message", false, cc.error_message, sizeof(cc.error_message)) ||
	    !str_member(r, j, "results_path", false, cc.results_path, sizeof(cc.results_path)) ||
	    !str_member(r, j, "service_name", false, cc.service, sizeof(cc.service)))
		goto out;
	if (strcmp(status, "completed") && strcmp(status, "failed")) {
		fail(r, 400, "status: completed or failed");
		goto out;
	}
	cc.failed = !strcmp(status, "failed");
	if (et && !json_is_null(et)) {
		if (!json_is_number(et) || json_number_value(et) < 0) {
			fail(r, 400, "execution_time: seconds, a number");
			goto out;
		}
		cc.execution_time = json_number_value(et);
	}
	struct cp_control_token tok;
	/* the service is the agent token's; service_name, when given, must
	 * be the same */
	if (!authorize(s, r, *cc.service ? cc.service : NULL, CP_ROLE_AGENT, &tok))
		goto out;
	if (!*cc.service)
		snprintf(cc.service, sizeof(cc.service), "%s", tok.service);
	if (!*cc.service) {
		fail(r, 400, "service_name: needed with the server's token");
		goto out;
	}
	struct cp_error err = { 0 };
	int rc = cp_control_complete(s->control, &cc, &err);
	if (rc)
		fail(r, rc == CP_E_NOENT ? 404 : 500, err.msg);
	else
		cp_serve_reply_json(r, 200, json_pack("{s:b, s:s}", "success", 1, "message", "recorded"));
out:
	json_decref(j);
}

static void add_command(const struct cp_control_row *w, void *arg)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I,"
			      " s:f, s:s, s:s, s:s}",
			      "command_id", w->command_id, "service_name", w->service, "hostname",
			      w->hostname, "command_type", w->type == CP_CMD_STOP ? "stop" : "start",
			      "duration", (json_int_t)w->duration, "frequency",
			      (json_int_t)w->frequency, "profiling_mode", w->mode, "pids", w->pids,
			      "state", w->state, "created_ns", (json_int_t)w->created_ns, "sent_ns",
			      (json_int_t)w->sent_ns, "acked_ns", (json_int_t)w->acked_ns,
			      "ended_ns", (json_int_t)w->ended_ns, "execution_time",
			      w->execution_time, "error_message", w->error_message, "results_path",
			      w->results_path, "request_ids", w->request_ids);
	json_array_append_new(arg, o);
}

static void add_host(const struct cp_control_host_row *h, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:I, s:I}", "hostname", h->hostname,
					     "ip_address", h->ip, "status", h->status,
					     "first_seen_ns", (json_int_t)h->first_seen_ns,
					     "last_seen_ns", (json_int_t)h->last_seen_ns));
}

static void agents(struct cp_server *s, struct cp_http_req *r)
{
	const char *service = cp_http_query(r, "service");
	if (!service || !cp_store_valid_service(service, strlen(service)))
		return fail(r, 400, "service: a service name is needed");
	struct cp_control_token tok;
	if (!authorize(s, r, service, CP_ROLE_REQUESTER, &tok))
		return;
	json_t *a = json_array();
	struct cp_error err = { 0 };
	if (cp_control_hosts(s->control, service, add_host, a, &err)) {
		json_decref(a);
		return fail(r, 500, err.msg);
	}
	cp_serve_reply_json(r, 200, json_pack("{s:b, s:o}", "success", 1, "agents", a));
}

static void commands(struct cp_server *s, struct cp_http_req *r)
{
	const char *service = cp_http_query(r, "service"), *ls = cp_http_query(r, "limit");
	long limit = 1000;
	if (!service || !cp_store_valid_service(service, strlen(service)))
		return fail(r, 400, "service: a service name is needed");
	if (ls && cp_parse_long(ls, 1, 100000, &limit))
		return fail(r, 400, "limit: 1 to 100000");
	struct cp_control_token tok;
	if (!authorize(s, r, service, CP_ROLE_REQUESTER, &tok))
		return;
	json_t *a = json_array();
	struct cp_error err = { 0 };
	if (cp_control_commands(s->control, service, limit, add_command, a, &err)) {
		json_decref(a);
		return fail(r, 500, err.msg);
	}
	cp_serve_reply_json(r, 200, json_pack("{s:b, s:o}", "success", 1, "commands", a));
}

static bool valid_uuid(const char *s)
{
	if (strlen(s) != CP_UUID_LEN)
		return false;
	for (int i = 0; i < CP_UUID_LEN; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' :
							    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* An agent's result: the profile into the store under its token's
 * service, labelled with the host and the command; the row answered (its
 * id is the completion's results_path). */
static void upload(struct cp_server *s, struct cp_http_req *r)
{
	const char *host = cp_http_query(r, "hostname"), *cid = cp_http_query(r, "command_id");
	const char *svc = cp_http_query(r, "service_name");
	if (!host || !valid_host(host) || strlen(host) > 200)
		return fail(r, 400, "hostname: letters, digits, '-', '.', '_'");
	if (!cid || !valid_uuid(cid))
		return fail(r, 400, "command_id: a command id");
	if (svc && !cp_store_valid_service(svc, strlen(svc)))
		return fail(r, 400, "service_name: 1 to 127 letters, digits, '-', '_' or '.'");
	struct cp_control_token tok;
	if (!authorize(s, r, svc, CP_ROLE_AGENT, &tok))
		return;
	if (!*tok.service)
		return fail(r, 400, "service_name: needed with the server's token");
	size_t len = 0;
	const char *body = cp_http_body(r, &len);
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	int rc = cp_input_read_mem(body ? body : "", len, "the upload", CP_INPUT_UNKNOWN, &p, NULL,
				   &err);
	if (rc)
		return fail(r, cp_serve_status_of(rc), err.msg);
	/* the host as the requests name it */
	p->meta.hostname = cp_profile_intern(p, host);
	char labels[400];
	snprintf(labels, sizeof(labels), "command_id=%s,host=%s", cid, host);
	struct cp_store_row row;
	rc = cp_serve_store_profile(s, p, tok.service, labels, 0, 0, &row, &err);
	cp_profile_free(p);
	if (rc)
		return fail(r, rc == CP_E_USAGE ? 400 : 500, err.msg);
	cp_serve_reply_json(r, 201, json_pack("{s:b, s:s, s:s}", "success", 1, "id", row.id,
					      "message", "stored"));
}

void cp_serve_fleet(struct cp_server *s, struct cp_http_req *r, const char *rest)
{
	if (!s->control)
		return fail(r, 404, "fleet control is off (cprof serve --control, with --data or --db)");
	cp_control_tick(s->control);
	const char *m = cp_http_method(r);
	bool post = !strcmp(m, "POST");
	if (!strcmp(rest, "/profile_request") && post)
		return profile_request(s, r);
	if (!strcmp(rest, "/heartbeat") && post)
		return heartbeat(s, r);
	if (!strcmp(rest, "/command_completion") && post)
		return completion(s, r);
	if (!strcmp(rest, "/commands") && (!strcmp(m, "GET") || !strcmp(m, "HEAD")))
		return commands(s, r);
	if (!strcmp(rest, "/profiles") && post)
		return upload(s, r);
	if (!strcmp(rest, "/agents") && (!strcmp(m, "GET") || !strcmp(m, "HEAD")))
		return agents(s, r);
	if (!strcmp(rest, "/profile_request") || !strcmp(rest, "/heartbeat") ||
	    !strcmp(rest, "/command_completion") || !strcmp(rest, "/commands") ||
	    !strcmp(rest, "/profiles") || !strcmp(rest, "/agents"))
		return fail(r, 405, "method not allowed here");
	fail(r, 404, "no such endpoint (there are /api/metrics/profile_request, heartbeat, "
		     "command_completion, commands)");
}
