/* alloc.c - allocation that aborts on failure, growable buffers, varints
 * and a bounded reader.  Out-of-memory is a crash (STYLE rule 1), never an
 * error path threaded through every caller. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "cprof: out of memory allocating %zu bytes\n", n);
	abort();
}

void *cp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *cp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *cp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *cp_xstrdup(const char *s)
{
	return cp_xstrndup(s, strlen(s));
}

char *cp_xstrndup(const char *s, size_t n)
{
	char *p = cp_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *cp_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom(strlen(fmt));
	return s;
}

void cp_grow(void **p, size_t esz, size_t need, size_t *cap)
{
	size_t c = *cap ? *cap : 8;
	while (c < need)
		c = c + c / 2 + 8;
	*p = cp_xrealloc(*p, c * esz);
	*cap = c;
}

void cp_buf_reserve(struct cp_buf *b, size_t extra)
{
	if (b->len + extra > b->cap)
		cp_grow((void **)&b->p, 1, b->len + extra, &b->cap);
}

void cp_buf_add(struct cp_buf *b, const void *data, size_t len)
{
	cp_buf_reserve(b, len);
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

void cp_buf_add_u8(struct cp_buf *b, uint8_t v)
{
	cp_buf_reserve(b, 1);
	b->p[b->len++] = v;
}

void cp_buf_add_uvarint(struct cp_buf *b, uint64_t v)
{
	cp_buf_reserve(b, 10);
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}

void cp_buf_add_svarint(struct cp_buf *b, int64_t v)
{
	cp_buf_add_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void cp_buf_add_str(struct cp_buf *b, const char *s)
{
	cp_buf_add(b, s, strlen(s));
}

void cp_buf_printf(struct cp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		cp_buf_add(b, tmp, (size_t)n);
		return;
	}
	cp_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void cp_buf_add_i64(struct cp_buf *b, int64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	cp_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void cp_buf_add_json_str(struct cp_buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str, *run = s;
	cp_buf_add_u8(b, '"');
	while (*s) {
		unsigned char c = *s;
		size_t skip = 1;
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0x80) {
			int32_t cp;
			skip = cp_utf8_next(s, &cp);
			if (cp >= 0) {
				s += skip;
				continue;
			}
		}
		cp_buf_add(b, run, (size_t)(s - run));
		if (c >= 0x80) {
			cp_buf_add(b, "\\ufffd", 6);
		} else if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			cp_buf_add(b, e, 2);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			cp_buf_add(b, e, 6);
		}
		s += skip;
		run = s;
	}
	cp_buf_add(b, run, (size_t)(s - run));
	cp_buf_add_u8(b, '"');
}

void cp_buf_release(struct cp_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int cp_rd_u8(struct cp_rd *r, uint8_t *v)
{
	if (r->bad || r->p >= r->end) {
		r->bad = true;
		return -1;
	}
	*v = *r->p++;
	return 0;
}

int cp_rd_uvarint(struct cp_rd *r, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->bad || r->p >= r->end)
			break;
		uint8_t c = *r->p++;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	r->bad = true;
	return -1;
}

int cp_rd_svarint(struct cp_rd *r, int64_t *v)
{
	uint64_t u;
	if (cp_rd_uvarint(r, &u))
		return -1;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

int cp_rd_bytes(struct cp_rd *r, const uint8_t **p, size_t len)
{
	if (r->bad || (size_t)(r->end - r->p) < len) {
		r->bad = true;
		return -1;
	}
	*p = r->p;
	r->p += len;
	return 0;
}

int cp_rd_str(struct cp_rd *r, const char **s, size_t *len)
{
	uint64_t n;
	const uint8_t *p;
	if (cp_rd_uvarint(r, &n) || n > SIZE_MAX || cp_rd_bytes(r, &p, (size_t)n))
		return -1;
	*s = (const char *)p;
	*len = (size_t)n;
	return 0;
}
