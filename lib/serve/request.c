/* request.c - the parameters of cprof serve's requests, validated into
 * plain structs (see serve.h); nothing here touches a process or a socket,
 * so the fuzz harnesses drive it directly. */
#include <jansson.h>
#include <string.h>

#include "serve/serve.h"
#include "store/store.h"

static int number(const char *s, long min, long max, long dflt, long *out)
{
	if (!s) {
		*out = dflt;
		return 0;
	}
	return cp_parse_long(s, min, max, out);
}

int cp_serve_parse_profile_query(const struct cp_serve_config *c, cp_serve_query_fn q, void *arg,
				 bool need_pid, struct cp_serve_profile_req *out, char *msg,
				 size_t msgsz)
{
	memset(out, 0, sizeof(*out));
	long v;
	const char *s = q(arg, "pid");
	if (s || need_pid) {
		if (!s) {
			snprintf(msg, msgsz, "pid: which process? (pid=1234, or a configured "
					     "target's /t/NAME/ path)");
			return 400;
		}
		if (cp_parse_long(s, 1, 0x3fffffff, &v)) {
			snprintf(msg, msgsz, "pid: '%.32s' is not a process id", s);
			return 400;
		}
		out->pid = (pid_t)v;
	}
	/* Go parses seconds as an integer and answers 400 for anything else */
	if (number(q(arg, "seconds"), 1, 1L << 40, c->default_seconds, &out->seconds)) {
		snprintf(msg, msgsz, "seconds: not a positive number of seconds");
		return 400;
	}
	out->seconds_over = out->seconds > c->max_session_duration_seconds;
	s = q(arg, "frequency");
	if (!s)
		s = q(arg, "hz"); /* Go's runtime/pprof calls it the rate */
	if (number(s, 1, c->max_frequency_hz, c->default_frequency_hz, &out->frequency)) {
		snprintf(msg, msgsz, "frequency: 1 to %ld Hz", c->max_frequency_hz);
		return 400;
	}
	if (number(q(arg, "width"), 100, 100000, 1200, &out->width)) {
		snprintf(msg, msgsz, "width: 100 to 100000 pixels");
		return 400;
	}
	return 0;
}

int cp_serve_parse_heap_query(const struct cp_serve_config *c, cp_serve_query_fn q, void *arg,
			      struct cp_serve_heap_req *out, char *msg, size_t msgsz)
{
	memset(out, 0, sizeof(*out));
	long v;
	if (number(q(arg, "seconds"), 0, 1L << 40, 0, &out->seconds)) {
		snprintf(msg, msgsz, "seconds: not a number of seconds (0: totals since the start)");
		return 400;
	}
	out->seconds_over = out->seconds > c->max_session_duration_seconds;
	if (number(q(arg, "gc"), 0, 1L << 40, 0, &v)) {
		snprintf(msg, msgsz, "gc: not a number");
		return 400;
	}
	if (number(q(arg, "debug"), 0, 1L << 40, 0, &v)) {
		snprintf(msg, msgsz, "debug: not a number");
		return 400;
	}
	if (v) {
		snprintf(msg, msgsz, "debug=%ld: cprof serves heap profiles as pprof protobuf only "
				     "(debug=0; go tool pprof -traces or -raw shows them as text)",
			 v);
		return 400;
	}
	const char *t = q(arg, "sample_type");
	static const char *const types[] = { "alloc_objects", "alloc_space", "inuse_objects",
					     "inuse_space" };
	for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(t, types[i]))
			out->sample_type = types[i];
	if (t && !out->sample_type) {
		snprintf(msg, msgsz, "sample_type: '%.32s' is not alloc_objects, alloc_space, "
				     "inuse_objects or inuse_space", t);
		return 400;
	}
	if (number(q(arg, "width"), 100, 100000, 1200, &out->width)) {
		snprintf(msg, msgsz, "width: 100 to 100000 pixels");
		return 400;
	}
	return 0;
}

int cp_serve_parse_session_json(const struct cp_serve_config *c, const char *body, size_t len,
				struct cp_serve_session_req *out, char *msg, size_t msgsz)
{
	memset(out, 0, sizeof(*out));
	out->duration = 10;
	out->frequency = c->default_frequency_hz;
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		snprintf(msg, msgsz, "body: a JSON object is expected (%s)",
			 j ? "not an object" : je.text);
		json_decref(j);
		return 400;
	}
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(j, key, v)
	{
		if (!strcmp(key, "target")) {
			const char *t = json_string_value(v);
			if (!t || !*t || strlen(t) >= sizeof(out->target)) {
				snprintf(msg, msgsz, "target: a configured target's name is expected");
				rc = 400;
				break;
			}
			snprintf(out->target, sizeof(out->target), "%s", t);
			continue;
		}
		if (!strcmp(key, "service") || !strcmp(key, "labels")) {
			/* keep the result in the store (cprof serve --data) */
			const char *t = json_string_value(v);
			struct cp_error err = { 0 };
			if (!strcmp(key, "service") && (!t || !cp_store_valid_service(t, strlen(t)))) {
				snprintf(msg, msgsz, "service: 1 to 127 letters, digits, '-', '_' or '.'");
				rc = 400;
				break;
			}
			if (!strcmp(key, "labels") &&
			    (!t || cp_store_canon_labels(t, out->labels, sizeof(out->labels), &err))) {
				snprintf(msg, msgsz, "%s", t ? err.msg : "labels: a string k=v,... is expected");
				rc = 400;
				break;
			}
			if (!strcmp(key, "service"))
				snprintf(out->service, sizeof(out->service), "%s", t);
			continue;
		}
		long *dst = !strcmp(key, "duration")  ? &out->duration :
			    !strcmp(key, "frequency") ? &out->frequency :
							NULL;
		if (!dst && strcmp(key, "pid")) {
			snprintf(msg, msgsz, "unknown field '%.64s' (pid or target, duration, frequency, "
					     "service, labels)",
				 key);
			rc = 400;
			break;
		}
		if (!json_is_integer(v)) {
			snprintf(msg, msgsz, "%s: an integer is expected", key);
			rc = 400;
			break;
		}
		json_int_t x = json_integer_value(v);
		if (!strcmp(key, "pid")) {
			if (x < 1 || x > 0x3fffffff) {
				snprintf(msg, msgsz, "pid: %lld is not a process id", (long long)x);
				rc = 400;
				break;
			}
			out->pid = (pid_t)x;
			continue;
		}
		*dst = x < -1 ? -1 : x > (json_int_t)1 << 40 ? (long)1 << 40 : (long)x;
	}
	json_decref(j);
	if (rc)
		return rc;
	if (out->labels[0] && !out->service[0]) {
		snprintf(msg, msgsz, "labels go with service (the store keeps the result under it)");
		return 400;
	}
	if (!out->pid == !out->target[0]) {
		snprintf(msg, msgsz, "pid or target: one of them names the process");
		return 400;
	}
	if (out->duration < 1 || out->duration > c->max_session_duration_seconds) {
		snprintf(msg, msgsz, "duration: 1 to %ld seconds", c->max_session_duration_seconds);
		return 400;
	}
	if (out->frequency < 1 || out->frequency > c->max_frequency_hz) {
		snprintf(msg, msgsz, "frequency: 1 to %ld Hz", c->max_frequency_hz);
		return 400;
	}
	return 0;
}

bool cp_serve_valid_id(const char *s, size_t len)
{
	if (len != 16)
		return false;
	for (size_t i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Pyroscope's profile types, the last part of its application names
 * ("web.cpu"): the service is what comes before. */
static const char *const pyroscope_types[] = {
	"cpu", "wall", "itimer", "alloc_objects", "alloc_space", "inuse_objects", "inuse_space",
	"goroutines", "mutex_count", "mutex_duration", "block_count", "block_duration",
	"lock_count", "lock_duration", "exceptions",
};

int cp_serve_parse_app_name(const char *name, char service[128], char labels[512], char *msg,
			    size_t msgsz)
{
	if (!name || !*name) {
		snprintf(msg, msgsz, "name: the application is needed (name=web.cpu{env=prod})");
		return 400;
	}
	size_t base = strcspn(name, "{");
	struct cp_error err = { 0 };
	labels[0] = '\0';
	if (name[base] && cp_store_canon_labels(name + base, labels, 512, &err)) {
		snprintf(msg, msgsz, "name: %s", err.msg);
		return 400;
	}
	size_t n = base;
	const char *dot = memrchr(name, '.', base);
	for (size_t i = 0; dot && i < sizeof(pyroscope_types) / sizeof(pyroscope_types[0]); i++)
		if ((size_t)(name + base - dot - 1) == strlen(pyroscope_types[i]) &&
		    !memcmp(dot + 1, pyroscope_types[i], strlen(pyroscope_types[i])))
			n = (size_t)(dot - name);
	if (!cp_store_valid_service(name, n)) {
		snprintf(msg, msgsz, "name: the application '%.*s' is not 1 to 127 letters, digits, "
				     "'-', '_' or '.'",
			 (int)(n < 64 ? n : 64), name);
		return 400;
	}
	memcpy(service, name, n);
	service[n] = '\0';
	return 0;
}
