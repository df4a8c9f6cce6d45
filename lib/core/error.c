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
