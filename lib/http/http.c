/* http.c - libmicrohttpd underneath cp_http (see http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/http.h"

struct cp_http {
	struct MHD_Daemon *d;
	cp_http_handler fn;
	void *arg;
	uint16_t port;
	size_t max_body, max_upload;
	char **upload_prefixes;
	unsigned max_headers;
	bool tls, client_certs;
	char *token;
	char **public_paths;
	char **self_auth_prefixes;
	char **hosts; /* NULL: any */
	char *unix_path;
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
	size_t len, limit;
	bool too_big;
	bool answered; /* refused on its headers: the body is not kept */
};

static enum MHD_Result count_one(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	(void)key;
	(void)value;
	(*(unsigned *)cls)++;
	return MHD_YES;
}

/* The Host header's host part ("[::1]:6060" -> "::1"), in buf. */
static const char *host_part(const char *v, char *buf, size_t size)
{
	const char *e;
	if (*v == '[') {
		v++;
		e = strchr(v, ']');
		if (!e)
			return NULL;
	} else {
		e = strchr(v, ':');
		if (!e)
			e = v + strlen(v);
	}
	if ((size_t)(e - v) >= size)
		return NULL;
	memcpy(buf, v, (size_t)(e - v));
	buf[e - v] = '\0';
	return buf;
}

/* Compared in a time that depends on the token's length only. */
bool cp_http_same_secret(const char *given, const char *want)
{
	size_t lg = strlen(given), lw = strlen(want);
	unsigned char d = lg != lw;
	for (size_t i = 0; i < lw; i++)
		d |= (unsigned char)(want[i] ^ (i < lg ? given[i] : 0));
	return !d;
}

static bool client_cert_ok(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	gnutls_session_t ts = (gnutls_session_t)ci->tls_session;
	unsigned n = 0, status = 1;
	if (!gnutls_certificate_get_peers(ts, &n) || !n)
		return false;
	return gnutls_certificate_verify_peers2(ts, &status) == 0 && status == 0;
}

/* The checks every request passes before its handler: header count, Host
 * (DNS rebinding), client certificate, bearer token. */
static bool admit(struct cp_http *h, struct cp_http_req *r)
{
	unsigned n = 0;
	MHD_get_connection_values(r->c, MHD_HEADER_KIND, count_one, &n);
	if (n > h->max_headers) {
		cp_http_reply_error(r, 431, "%u header fields, at most %u", n, h->max_headers);
		return false;
	}
	if (h->hosts) {
		const char *v = cp_http_header(r, "Host");
		char buf[256];
		const char *host = v ? host_part(v, buf, sizeof(buf)) : NULL;
		bool ok = false;
		for (size_t i = 0; host && h->hosts[i] && !ok; i++)
			ok = !strcasecmp(host, h->hosts[i]);
		if (!ok) {
			cp_http_reply_error(r, 403, "Host '%.64s' is not one this server answers to "
						    "(allowed_hosts)", v ? v : "");
			return false;
		}
	}
	if (h->client_certs && !client_cert_ok(r->c)) {
		cp_http_reply_error(r, 403, "a client certificate signed by the server's "
					    "tls_client_ca is required");
		return false;
	}
	bool public = false;
	for (size_t i = 0; h->public_paths && h->public_paths[i]; i++)
		public |= !strcmp(r->path, h->public_paths[i]);
	for (size_t i = 0; h->self_auth_prefixes && h->self_auth_prefixes[i]; i++)
		public |= !strncmp(r->path, h->self_auth_prefixes[i], strlen(h->self_auth_prefixes[i]));
	if (h->token && !public) {
		const char *a = cp_http_header(r, "Authorization");
		if (!a || strncasecmp(a, "Bearer ", 7) || !cp_http_same_secret(a + 7, h->token)) {
			static const char *const hdr[] = { "WWW-Authenticate", "Bearer", NULL };
			static const char msg[] = "{\"error\":\"a bearer token is required "
						  "(Authorization: Bearer TOKEN)\"}\n";
			cp_http_reply(r, 401, "application/json", msg, sizeof(msg) - 1, hdr);
			return false;
		}
	}
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **state)
{
	struct cp_http *h = cls;
	(void)version;
	if (!*state) { /* the headers: checked now, then come back for the body */
		struct body *b = cp_xcalloc(1, sizeof(struct body));
		b->limit = h->max_body;
		for (size_t i = 0; h->upload_prefixes && h->upload_prefixes[i]; i++)
			if (!strncmp(url, h->upload_prefixes[i], strlen(h->upload_prefixes[i])))
				b->limit = h->max_upload;
		*state = b;
		/* a request that may not be made, or whose declared body is over
		 * the limit, is answered before any of its body is read: an
		 * unauthenticated client cannot make the server buffer an upload */
		struct cp_http_req r = { .c = c, .method = method, .path = url, .body = "" };
		const char *cl = cp_http_header(&r, "Content-Length");
		unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
		if (!admit(h, &r)) {
			b->answered = true;
		} else if (cl && declared > b->limit) {
			cp_http_reply_error(&r, 413, "request body over %zu bytes", b->limit);
			b->answered = true;
		}
		return MHD_YES;
	}
	struct body *b = *state;
	if (b->answered) {
		*data_size = 0;
		return MHD_YES;
	}
	if (*data_size) {
		if (b->len + *data_size > b->limit) {
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
		cp_http_reply_error(&r, 413, "request body over %zu bytes", b->limit);
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

/* A listening unix socket at path, for anyone on the machine to connect
 * to (each request's caller is checked by uid); a stale socket file is
 * replaced, any other file is not. */
static int unix_listen(const char *path, struct cp_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (strlen(path) >= sizeof(sa.sun_path))
		return cp_error_set(err, CP_E_USAGE, "unix socket path '%s' is too long", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return cp_error_set(err, CP_E_USAGE, "%s exists and is not a socket", path);
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			return cp_error_set(err, CP_E_FAIL, "%s: a server is listening there already",
					    path);
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cp_error_errno(err, CP_E_FAIL, errno, "socket");
	mode_t old = umask(0);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || listen(fd, 128)) {
		int e = errno;
		close(fd);
		return cp_error_errno(err, CP_E_FAIL, e, "cannot listen on %s", path);
	}
	return fd;
}

static char **dup_list(const char *const *l)
{
	size_t n = 0;
	while (l[n])
		n++;
	char **c = cp_xcalloc(n + 1, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = cp_xstrdup(l[i]);
	return c;
}

static void free_list(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

static void free_h(struct cp_http *h)
{
	free_list(h->hosts);
	free(h->token);
	free_list(h->public_paths);
	free_list(h->self_auth_prefixes);
	free_list(h->upload_prefixes);
	free(h->unix_path);
	free(h);
}

struct cp_http *cp_http_start(const struct cp_http_opts *o, cp_http_handler fn, void *arg,
			      struct cp_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(o->port) };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(o->port) };
	struct sockaddr *addr = (struct sockaddr *)&sa;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG;
	int lfd = -1;
	if (o->unix_path) {
		lfd = unix_listen(o->unix_path, err);
		if (lfd < 0)
			return NULL;
	} else if (inet_pton(AF_INET6, o->host, &sa6.sin6_addr) == 1) {
		addr = (struct sockaddr *)&sa6;
		flags |= MHD_USE_IPv6;
	} else if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) {
		cp_error_set(err, CP_E_USAGE, "listen address '%s' is not an IP address", o->host);
		return NULL;
	}
	if (o->cert_pem)
		flags |= MHD_USE_TLS;
	struct cp_http *h = cp_xcalloc(1, sizeof(*h));
	h->fn = fn;
	h->arg = arg;
	h->max_body = o->max_body ? o->max_body : 65536;
	h->upload_prefixes = o->upload_prefixes ? dup_list(o->upload_prefixes) : NULL;
	h->max_upload = o->max_upload > h->max_body ? o->max_upload : h->max_body;
	h->max_headers = o->max_headers ? o->max_headers : 64;
	h->tls = o->cert_pem != NULL;
	h->client_certs = o->cert_pem && o->ca_pem;
	h->token = o->token ? cp_xstrdup(o->token) : NULL;
	h->public_paths = o->public_paths ? dup_list(o->public_paths) : NULL;
	h->self_auth_prefixes = o->self_auth_prefixes ? dup_list(o->self_auth_prefixes) : NULL;
	h->hosts = o->hosts ? dup_list(o->hosts) : NULL;
	h->unix_path = o->unix_path ? cp_xstrdup(o->unix_path) : NULL;
	struct MHD_OptionItem opts[] = {
		{ lfd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR, lfd,
		  lfd >= 0 ? NULL : addr },
		{ MHD_OPTION_CONNECTION_LIMIT, o->max_conns ? o->max_conns : 256, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s ? o->timeout_s : 30, NULL },
		/* request line and headers must fit: 414/431 beyond */
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 65536, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ o->cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->cert_pem },
		{ o->cert_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)o->key_pem },
		{ o->cert_pem && o->ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
		  (void *)o->ca_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	/* MHD_OPTION_END ends the array at the first unused TLS slot */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	if (!h->d) {
		if (o->unix_path)
			cp_error_set(err, CP_E_FAIL, "cannot serve on unix:%s", o->unix_path);
		else if (o->cert_pem)
			cp_error_set(err, CP_E_FAIL,
				     "cannot listen on %s:%u with TLS (in use, or the certificate "
				     "and key do not go together)",
				     o->host, (unsigned)o->port);
		else
			cp_error_set(err, CP_E_FAIL, "cannot listen on %s:%u (%s)", o->host,
				     (unsigned)o->port, "in use, or not an address of this machine");
		if (lfd >= 0) {
			close(lfd);
			unlink(o->unix_path);
		}
		free_h(h);
		return NULL;
	}
	const union MHD_DaemonInfo *info =
		lfd >= 0 ? NULL : MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
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
	if (h->unix_path)
		unlink(h->unix_path);
	free_h(h);
}

const char *cp_http_method(const struct cp_http_req *r)
{
	return r->method;
}

const char *cp_http_path(const struct cp_http_req *r)
{
	return r->path;
}

const char *cp_http_header(const struct cp_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}

long cp_http_peer_uid(const struct cp_http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) ||
	    ss.ss_family != AF_UNIX ||
	    getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return -1;
	return (long)cr.uid;
}

void cp_http_peer_addr(const struct cp_http_req *r, char *out, size_t outsz)
{
	out[0] = '\0';
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)outsz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
			  (socklen_t)outsz);
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
	size_t block;
	cp_http_read_fn read;
	void (*done)(void *arg);
	void *arg;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	/* libmicrohttpd may offer more room than the block size it was given */
	size_t n = st->read(st->arg, pos, buf, max < st->block ? max : st->block);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	if (st->done)
		st->done(st->arg);
	free(st);
}

/* Every reply: its type, nosniff, the extra headers (name, value pairs,
 * NULL-ended; nullable), queued and marked sent; resp NULL (out of
 * memory): nothing is sent, the handler's 500 fallback stays. */
static void queue(struct cp_http_req *r, unsigned status, const char *ctype,
		  struct MHD_Response *resp, const char *const *headers)
{
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

void cp_http_reply_stream(struct cp_http_req *r, unsigned status, const char *ctype, size_t block,
			  cp_http_read_fn read, void (*done)(void *arg), void *arg)
{
	struct stream *st = cp_xcalloc(1, sizeof(*st));
	st->block = block;
	st->read = read;
	st->done = done;
	st->arg = arg;
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, block, stream_read, st, stream_free);
	if (!resp)
		stream_free(st);
	queue(r, status, ctype, resp, NULL);
}

void cp_http_reply(struct cp_http_req *r, unsigned status, const char *ctype, const void *body,
		   size_t len, const char *const *headers)
{
	queue(r, status, ctype,
	      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY), headers);
}

void cp_http_reply_take(struct cp_http_req *r, unsigned status, const char *ctype, void *body,
			size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(body);
	queue(r, status, ctype, resp, NULL);
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

/* ---- multipart/form-data and urlencoded bodies ---------------------------- */

struct form {
	const char *want;
	char *data;
	size_t len, max;
	bool found, too_big;
};

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *transfer_encoding, const char *data, uint64_t off,
				  size_t size)
{
	struct form *f = cls;
	(void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
	if (!key || strcmp(key, f->want))
		return MHD_YES;
	if (f->found && off == 0 && f->len) /* a second field of that name: the first counts */
		return MHD_YES;
	f->found = true;
	if (off != f->len || f->len + size > f->max) {
		f->too_big = f->len + size > f->max;
		return f->too_big ? MHD_NO : MHD_YES;
	}
	f->data = cp_xrealloc(f->data, f->len + size + 1);
	memcpy(f->data + f->len, data, size);
	f->len += size;
	f->data[f->len] = '\0';
	return MHD_YES;
}

int cp_http_form_field(struct cp_http_req *r, const char *name, char **data, size_t *len,
		       struct cp_error *err)
{
	*data = NULL;
	*len = 0;
	struct form f = { .want = name, .max = r->body_len };
	struct MHD_PostProcessor *pp = MHD_create_post_processor(r->c, 65536, form_field, &f);
	if (!pp)
		return cp_error_set(err, CP_E_USAGE,
				    "body: not multipart/form-data or a urlencoded form (Content-Type)");
	enum MHD_Result ok = MHD_post_process(pp, r->body, r->body_len);
	MHD_destroy_post_processor(pp);
	if (ok != MHD_YES && !f.too_big) {
		free(f.data);
		return cp_error_set(err, CP_E_FORMAT, "body: a malformed form");
	}
	if (!f.found) {
		free(f.data);
		return cp_error_set(err, CP_E_NOENT, "body: no form field '%s'", name);
	}
	*data = f.data ? f.data : cp_xstrdup("");
	*len = f.len;
	return 0;
}
