/* util.c - small helpers shared by every module: clocks, integer parsing,
 * reading /proc files, terminal and colour checks. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t cp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cp_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int cp_parse_long(const char *s, long min, long max, long *out)
{
	if (!s || !*s)
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !end || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cp_mkdir_p(const char *dir)
{
	char *d = cp_xstrdup(dir);
	int rc = 0;
	for (char *p = d + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(d, 0755) && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	int e = errno;
	free(d);
	errno = e;
	return rc;
}

char *cp_cache_dir(void)
{
	const char *c = getenv("CPROF_CACHE_DIR");
	if (c)
		return *c ? cp_xstrdup(c) : NULL;
	const char *x = getenv("XDG_CACHE_HOME");
	if (x && *x == '/')
		return cp_xasprintf("%s/cprof", x);
	const char *h = getenv("HOME");
	if (h && *h == '/')
		return cp_xasprintf("%s/.cache/cprof", h);
	return NULL;
}

int cp_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		      { "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 }, { "", 1e9 } };
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !(v >= 0))
		return -1;
	for (size_t i = 0; i < CP_ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		double t = v * units[i].ns;
		if (t >= 1.8e19)
			return -1;
		*ns = (uint64_t)(t + 0.5);
		return 0;
	}
	return -1;
}

char *cp_read_fd(int fd, size_t *lenp)
{
	size_t cap = 4096, len = 0;
	char *buf = cp_xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = cp_xrealloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

char *cp_read_file(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = cp_read_fd(fd, lenp);
	int e = errno;
	close(fd);
	errno = e;
	return buf;
}

long cp_read_long_file(const char *path, long def)
{
	char *s = cp_read_file(path, NULL);
	if (!s)
		return def;
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s)
		v = def;
	free(s);
	return v;
}

const char *cp_basename(const char *s)
{
	const char *p = strrchr(s, '/');
	return p ? p + 1 : s;
}

bool cp_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO);
}

size_t cp_utf8_next(const unsigned char *s, int32_t *cp)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;
	*cp = -1;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 1;
	}
	uint32_t v = c & (0x3f >> need);
	for (size_t i = 1; i <= need; i++) {
		unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
		if (s[i] < l || s[i] > h) /* the terminating NUL stops here too */
			return i;
		v = v << 6 | (s[i] & 0x3f);
	}
	*cp = (int32_t)v;
	return need + 1;
}

void cp_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

bool cp_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000ull),
			       .tv_nsec = (long)(deadline_ns % 1000000000ull) };
	return pthread_cond_timedwait(c, m, &ts) != ETIMEDOUT;
}

void cp_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

void cp_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	while (nbytes) {
		size_t want = nbytes < sizeof(b) ? nbytes : sizeof(b), got = 0;
		while (got < want) {
			ssize_t n = getrandom(b + got, want - got, 0);
			if (n > 0)
				got += (size_t)n;
		}
		for (size_t i = 0; i < want; i++) {
			*out++ = hex[b[i] >> 4];
			*out++ = hex[b[i] & 15];
		}
		nbytes -= want;
	}
	*out = '\0';
}

int cp_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cp_write_file_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = cp_xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = fd < 0 || cp_write_all(fd, data, len) || fsync(fd) ? -1 : 0;
	int e = errno;
	if (fd >= 0 && close(fd) && !rc) {
		rc = -1;
		e = errno;
	}
	if (!rc && rename(tmp, path)) {
		rc = -1;
		e = errno;
	}
	if (rc)
		unlink(tmp);
	free(tmp);
	errno = e;
	return rc;
}
