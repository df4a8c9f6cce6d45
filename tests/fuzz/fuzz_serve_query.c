/* fuzz_serve_query.c - libFuzzer harness for the query strings of cprof
 * serve's /debug/pprof/profile, flamegraph, heap, allocs and
 * heap/flamegraph (lib/serve/request.c): any
 * parameters must give a request within the limits or a 400 with a
 * message, never a crash, leak or out-of-bounds read.
 * Seeds: tests/fuzz/corpus/serve_query/.
 *
 * The input is split as a URL query: '&' between parameters, the first
 * '=' between name and value (a name alone has the value ""); the lookup
 * answers the first parameter of a name, as libmicrohttpd does.  It is
 * parsed with the default config, with and without a pid required.  The
 * raw input (a NUL-terminated copy) is also a session id and a listen
 * address.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


struct param {
	char *key, *value;
};

struct query {
	struct param *v;
	size_t n;
};

static const char *lookup(void *arg, const char *key)
{
	const struct query *q = arg;
	for (size_t i = 0; i < q->n; i++)
		if (!strcmp(q->v[i].key, key))
			return q->v[i].value;
	return NULL;
}

static char *dup_range(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void split(const uint8_t *data, size_t size, struct query *q)
{
	q->v = NULL;
	q->n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '&')
			continue;
		const uint8_t *p = data + start;
		size_t n = i - start;
		const uint8_t *eq = memchr(p, '=', n);
		q->v = realloc(q->v, (q->n + 1) * sizeof(*q->v));
		struct param *pa = &q->v[q->n++];
		if (eq) {
			pa->key = dup_range(p, (size_t)(eq - p));
			pa->value = dup_range(eq + 1, n - (size_t)(eq - p) - 1);
		} else {
			pa->key = dup_range(p, n);
			pa->value = dup_range(p, 0);
		}
		start = i + 1;
	}
}

static void check_msg(const char *msg, size_t msgsz)
{
	CHECK(memchr(msg, '\0', msgsz) != NULL);
	CHECK(msg[0] != '\0');
}

static void profile_query(const struct cp_serve_config *c, struct query *q, bool need_pid)
{
	struct cp_serve_profile_req out;
	char msg[300];
	memset(msg, 0, sizeof(msg));
	int rc = cp_serve_parse_profile_query(c, lookup, q, need_pid, &out, msg, sizeof(msg));
	if (rc) {
		CHECK(rc == 400);
		check_msg(msg, sizeof(msg));
		return;
	}
	CHECK(out.seconds >= 1);
	CHECK(out.seconds_over == (out.seconds > c->max_session_duration_seconds));
	CHECK(out.frequency >= 1 && out.frequency <= c->max_frequency_hz);
	CHECK(out.width >= 100 && out.width <= 100000);
	CHECK(out.pid >= 0);
	if (need_pid)
		CHECK(out.pid >= 1);
	if (lookup(q, "pid"))
		CHECK(out.pid >= 1);
	else
		CHECK(out.pid == 0);
}

static void heap_query(const struct cp_serve_config *c, struct query *q)
{
	struct cp_serve_heap_req out;
	char msg[300];
	memset(msg, 0, sizeof(msg));
	int rc = cp_serve_parse_heap_query(c, lookup, q, &out, msg, sizeof(msg));
	if (rc) {
		CHECK(rc == 400);
		check_msg(msg, sizeof(msg));
		return;
	}
	CHECK(out.seconds >= 0);
	CHECK(out.seconds_over == (out.seconds > c->max_session_duration_seconds));
	CHECK(out.width >= 100 && out.width <= 100000);
	const char *t = lookup(q, "sample_type");
	CHECK(!t == !out.sample_type);
	if (t)
		CHECK(!strcmp(t, out.sample_type));
}

static void listen_addr(const char *s)
{
	struct cp_serve_listen l;
	struct cp_error err = { 0 };
	if (cp_serve_parse_listen(s, &l, &err)) {
		CHECK(err.msg[0] != '\0');
		CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		return;
	}
	size_t n = strnlen(l.host, sizeof(l.host));
	CHECK(n > 0 && n < sizeof(l.host));
	if (l.kind == CP_LISTEN_UNIX) {
		/* sockaddr_un's sun_path: 108 bytes with the NUL */
		CHECK(l.host[0] == '/' && n < 108 && l.loopback);
		CHECK(!strncmp(s, "unix:", 5) && !strcmp(s + 5, l.host));
	} else {
		CHECK(l.kind == CP_LISTEN_INET || l.kind == CP_LISTEN_INET6);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_serve_config cfg;
	cp_serve_config_init(&cfg);
	struct query q;
	split(data, size, &q);
	profile_query(&cfg, &q, true);
	profile_query(&cfg, &q, false);
	heap_query(&cfg, &q);
	for (size_t i = 0; i < q.n; i++) {
		free(q.v[i].key);
		free(q.v[i].value);
	}
	free(q.v);
	cp_serve_config_release(&cfg);

	char *s = dup_range(data, size);
	bool id = cp_serve_valid_id(s, size);
	if (id) {
		CHECK(size == 16);
		for (size_t i = 0; i < 16; i++)
			CHECK((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
	}
	listen_addr(s);
	free(s);
	return 0;
}
