/* util.c - small helpers shared by every module: clocks, integer parsing,
 * reading /proc files, terminal and colour checks. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

