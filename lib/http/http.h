/* http.h - the HTTP layer of cprof serve: a thin wrapper over
 * libmicrohttpd (a thread per connection, so a request that waits for a
 * profile holds no other), TLS through its GnuTLS, the checks every
 * request passes before a handler sees it (header count, Host, client
 * certificate, bearer token), the request's method, path and query, and
 * replies (bytes, or a one-line JSON error).  No HTTP is parsed here. */
#ifndef CPROF_HTTP_H
#define CPROF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct cp_http_opts {
	const char *host;     /* IPv4 or IPv6 address ("127.0.0.1", "::1") */
	uint16_t port;        /* 0: any free port (cp_http_port says which) */
	const char *unix_path; /* listen on this unix socket instead (mode 0666: the
				* caller's uid is checked per request, cp_http_peer_uid) */
	unsigned max_conns;   /* concurrent connections */
	unsigned timeout_s;   /* idle connection timeout */
	size_t max_body;      /* larger request bodies get 413 (default 64 KiB) */
	/* Bodies to paths under these prefixes (NULL-ended; NULL none) may
	 * be up to max_upload bytes instead (profile uploads). */
	const char *const *upload_prefixes;
	size_t max_upload;
	unsigned max_headers; /* more header fields get 431 (default 64) */
	/* HTTPS: PEM texts (not paths), NULL for plain HTTP; with ca_pem a
	 * client must present a certificate it signed (else 403). */
	const char *cert_pem, *key_pem, *ca_pem;
	/* Every request but those for the public_paths (exact paths,
	 * NULL-ended) must carry "Authorization: Bearer <token>" (else 401);
	 * NULL token: none needed. */
	const char *token;
	const char *const *public_paths;
	/* Paths under these prefixes (NULL-ended) skip the token check: their
	 * handler checks credentials of its own (fleet control's tokens). */
	const char *const *self_auth_prefixes;
	/* Host header values accepted (the host part; any port), NULL-ended;
	 * NULL: any.  Others get 403 (DNS rebinding). */
	const char *const *hosts;
};

struct cp_http_req;
/* The handler answers every request with one cp_http_reply*; it runs in
 * the connection's thread and may block (waiting for a profile). */
typedef void (*cp_http_handler)(struct cp_http_req *r, void *arg);

struct cp_http;
struct cp_http *cp_http_start(const struct cp_http_opts *o, cp_http_handler fn, void *arg,
			      struct cp_error *err);
uint16_t cp_http_port(const struct cp_http *h);
void cp_http_stop(struct cp_http *h);

const char *cp_http_method(const struct cp_http_req *r);
const char *cp_http_path(const struct cp_http_req *r);
/* A request header, NULL when absent. */
const char *cp_http_header(const struct cp_http_req *r, const char *name);
/* The connecting process's uid on a unix socket, -1 on TCP. */
long cp_http_peer_uid(const struct cp_http_req *r);
/* The client's IP address as text ("127.0.0.1", "::1"), "" on a unix
 * socket. */
void cp_http_peer_addr(const struct cp_http_req *r, char *out, size_t outsz);
/* A query parameter, NULL when absent. */
const char *cp_http_query(const struct cp_http_req *r, const char *key);
/* The request body (NUL-terminated), len its size; "" when none. */
const char *cp_http_body(const struct cp_http_req *r, size_t *len);
/* One field of a multipart/form-data (or urlencoded) body, through
 * libmicrohttpd's post processor: a malloc'ed copy (NUL-terminated) in
 * *data.  CP_E_USAGE when the body is no form, CP_E_FORMAT when it is
 * malformed, CP_E_NOENT when the field is not there. */
int cp_http_form_field(struct cp_http_req *r, const char *name, char **data, size_t *len,
		       struct cp_error *err);
/* Reply: status, content type, body (copied), extra headers as name,
 * value pairs ending in NULL (nullable). */
void cp_http_reply(struct cp_http_req *r, unsigned status, const char *ctype, const void *body,
		   size_t len, const char *const *headers);
/* The same with a malloc'd body that the reply takes over (freed once
 * sent): no copy of a big body. */
void cp_http_reply_take(struct cp_http_req *r, unsigned status, const char *ctype, void *body,
			size_t len);
/* Reply with a body of unknown length sent with chunked transfer
 * encoding, in pieces of at most `block` bytes: read(arg, pos, buf, max)
 * returns the bytes put in buf, 0 at the end; done(arg) is called once
 * the reply is over (or abandoned). */
typedef size_t (*cp_http_read_fn)(void *arg, uint64_t pos, char *buf, size_t max);
void cp_http_reply_stream(struct cp_http_req *r, unsigned status, const char *ctype, size_t block,
			  cp_http_read_fn read, void (*done)(void *arg), void *arg);
/* Whether given is want, compared in a time that does not depend on where
 * they differ (tokens). */
bool cp_http_same_secret(const char *given, const char *want);
/* {"error":"<message>"} */
void cp_http_reply_error(struct cp_http_req *r, unsigned status, const char *fmt, ...)
	CP_PRINTF(3, 4);

#endif
