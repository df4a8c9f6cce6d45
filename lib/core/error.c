/* error.c - the fixed-buffer error carrier used by every lib function, and
 * the process-wide log sink.  The sink defaults to stderr so a library user
 * who installs nothing still sees warnings. */
#include "core/core.h"

#include <errno.h>
#include <string.h>

int cp_error_set(struct cp_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int cp_error_errno(struct cp_error *err, int code, int errnum, const char *fmt, ...)
{
	if (code == 0)
		code = -errnum;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		size_t l = strlen(err->msg);
		snprintf(err->msg + l, sizeof(err->msg) - l, ": %s", strerror(errnum));
		err->code = code;
	}
	return code;
}

void cp_error_prefix(struct cp_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char pre[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t lp = strlen(pre), lo = strnlen(old, sizeof(old) - 1), cap = sizeof(err->msg) - 1;
	size_t n = CP_MIN(lp, cap);
	memcpy(err->msg, pre, n);
	if (n + 2 <= cap) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
	}
	size_t k = CP_MIN(lo, cap - n);
	memcpy(err->msg + n, old, k);
	err->msg[n + k] = '\0';
}

void cp_error_clear(struct cp_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

static void default_sink(enum cp_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "notice", "info", "debug" };
	(void)arg;
	fprintf(stderr, "cprof: %s: %s\n", names[level], msg);
}

static cp_log_sink_fn log_sink = default_sink;
static void *log_arg;
static enum cp_log_level log_level = CP_LOG_NOTICE;

void cp_log_set_sink(cp_log_sink_fn fn, void *arg)
{
	log_sink = fn ? fn : default_sink;
	log_arg = arg;
}

void cp_log_set_level(enum cp_log_level max_level)
{
	log_level = max_level;
}

enum cp_log_level cp_log_get_level(void)
{
	return log_level;
}

void cp_log(enum cp_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_sink(level, msg, log_arg);
}
