/* http.c - libmicrohttpd underneath cp_http (see http.h). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "http/http.h"

struct cp_http {
	struct MHD_Daemon *d;
	cp_http_handler fn;
	void *arg;
	uint16_t port;
	size_t max_body;
};

struct cp_http_req {
	struct MHD_Connection *c;
	const char *method, *path;
	const char *body;
	size_t body_len;
	int replied;
};

/* per request: the body as it arrives */
struct body {
	char *p;
	size_t len;
	bool too_big;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **state)
{
	struct cp_http *h = cls;
	(void)version;
	if (!*state) { /* the headers: come back for the body */
		*state = cp_xcalloc(1, sizeof(struct body));
		return MHD_YES;
	}
	struct body *b = *state;
	if (*data_size) {
		if (b->len + *data_size > h->max_body) {
			b->too_big = true;
		} else {
			b->p = cp_xrealloc(b->p, b->len + *data_size + 1);
			memcpy(b->p + b->len, data, *data_size);
			b->len += *data_size;
			b->p[b->len] = '\0';
		}
		*data_size = 0;
		return MHD_YES;
	}
	struct cp_http_req r = { .c = c, .method = method, .path = url,
				 .body = b->p ? b->p : "", .body_len = b->len };
	if (b->too_big)
		cp_http_reply_error(&r, 413, "request body over %zu bytes", h->max_body);
	else
		h->fn(&r, h->arg);
	if (!r.replied)
		cp_http_reply_error(&r, 500, "no reply");
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	struct body *b = *state;
	if (b) {
		free(b->p);
		free(b);
		*state = NULL;
	}
}

struct cp_http *cp_http_start(const struct cp_http_opts *o, cp_http_handler fn, void *arg,
			      struct cp_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(o->port) };
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) {
		cp_error_set(err, CP_E_USAGE, "listen address '%s' is not an IPv4 address", o->host);
		return NULL;
	}
	struct cp_http *h = cp_xcalloc(1, sizeof(*h));
	h->fn = fn;
	h->arg = arg;
	h->max_body = o->max_body ? o->max_body : 65536;
	h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_CONNECTION_LIMIT, o->max_conns ? o->max_conns : 256,
				MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s ? o->timeout_s : 30,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (!h->d) {
		cp_error_set(err, CP_E_FAIL, "cannot listen on %s:%u", o->host, (unsigned)o->port);
		free(h);
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : o->port;
	return h;
}

uint16_t cp_http_port(const struct cp_http *h)
{
	return h->port;
}

void cp_http_stop(struct cp_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

const char *cp_http_method(const struct cp_http_req *r)
{
	return r->method;
}

const char *cp_http_path(const struct cp_http_req *r)
{
	return r->path;
}

const char *cp_http_query(const struct cp_http_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, key);
}

const char *cp_http_body(const struct cp_http_req *r, size_t *len)
{
	if (len)
		*len = r->body_len;
	return r->body;
}

struct stream {
	cp_http_read_fn read;
	void (*done)(void *arg);
	void *arg;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	size_t n = st->read(st->arg, pos, buf, max);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	if (st->done)
		st->done(st->arg);
	free(st);
}

void cp_http_reply_stream(struct cp_http_req *r, unsigned status, const char *ctype, size_t block,
			  cp_http_read_fn read, void (*done)(void *arg), void *arg)
{
	struct stream *st = cp_xcalloc(1, sizeof(*st));
	st->read = read;
	st->done = done;
	st->arg = arg;
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, block, stream_read, st, stream_free);
	if (!resp) {
		stream_free(st);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_queue_response(r->c, status, resp);
	MHD_destroy_response(resp);
	r->replied = 1;
}

void cp_http_reply(struct cp_http_req *r, unsigned status, const char *ctype, const void *body,
		   size_t len, const char *const *headers)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	MHD_queue_response(r->c, status, resp);
	MHD_destroy_response(resp);
	r->replied = 1;
}

void cp_http_reply_error(struct cp_http_req *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *j = json_pack("{s:s}", "error", msg);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	const char *body = text ? text : "{\"error\":\"out of memory\"}";
	char *line = cp_xasprintf("%s\n", body);
	cp_http_reply(r, status, "application/json", line, strlen(line), NULL);
	free(line);
	free(text);
	json_decref(j);
}
