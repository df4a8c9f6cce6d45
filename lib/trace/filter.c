/* filter.c - -e trace= expressions into sets of syscall numbers (see
 * trace.h): what strace accepts, checked item by item, each error naming
 * the item. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"
#include "trace/trace.h"

static void add(struct cp_trace_set *s, long nr)
{
	if (nr >= 0 && nr < CP_TRACE_MAX_NR)
		s->bits[nr / 64] |= 1ull << (nr % 64);
}

bool cp_trace_set_has(const struct cp_trace_set *s, long nr)
{
	return nr >= 0 && nr < CP_TRACE_MAX_NR && (s->bits[nr / 64] >> (nr % 64) & 1);
}

int cp_trace_set_count(const struct cp_trace_set *s)
{
	int n = 0;
	for (size_t i = 0; i < sizeof(s->bits) / sizeof(s->bits[0]); i++)
		n += __builtin_popcountll(s->bits[i]);
	return n;
}

/* s for a one-line message: at most 64 bytes, control characters as '?' */
static const char *shown(const char *s, char buf[65])
{
	size_t i = 0;
	for (; s[i] && i < 64; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* One item; the numbers it names added to s.  0 found, 1 matched nothing,
 * < 0 error (err set). */
static int item(const char *it, struct cp_trace_set *s, struct cp_error *err)
{
	int found = 0;
	if (!strcmp(it, "all")) {
		for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++)
			if (cp_syscall_name(nr))
				add(s, nr);
		return 0;
	}
	if (!strcmp(it, "none"))
		return 0;
	if (it[0] == '%') {
		unsigned bit = cp_trace_class_by_name(it);
		char b[65];
		if (!bit)
			return cp_error_set(err, CP_E_USAGE, "-e trace: unknown class '%s' (there are %s)",
					     shown(it, b), cp_trace_class_names());
		for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++) {
			const char *n = cp_syscall_name(nr);
			if (n && (cp_trace_classes(n) & bit)) {
				add(s, nr);
				found = 1;
			}
		}
		return found ? 0 : 1;
	}
	if (it[0] == '/') {
		/* glibc's regcomp takes memory exponential in nested and
		 * bounded repetitions ("a+++++...", "(a{9}){9}"): a syscall
		 * name needs neither, so bounds, a repetition of a repetition,
		 * more than 16 repetitions and long expressions are refused */
		char b[65];
		size_t len = strlen(it + 1);
		int reps = 0;
		for (size_t i = 1; i <= len; i++) {
			bool escaped = it[i - 1] == '\\';
			if (escaped || !strchr("*+?{", it[i]))
				continue;
			if (it[i] == '{' || ++reps > 16 || (i > 1 && strchr("*+?", it[i - 1])))
				return cp_error_set(err, CP_E_USAGE,
						    "-e trace: '%s': bounded, nested or over 16 "
						    "repetitions (a name needs none of them)",
						    shown(it, b));
		}
		if (len > 256)
			return cp_error_set(err, CP_E_USAGE,
					    "-e trace: '%s': a regular expression over 256 bytes",
					    shown(it, b));
		regex_t re;
		int rc = regcomp(&re, it + 1, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			return cp_error_set(err, CP_E_USAGE, "-e trace: '%s': %s", shown(it, b), why);
		}
		for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++) {
			const char *n = cp_syscall_name(nr);
			if (n && !regexec(&re, n, 0, NULL, 0)) {
				add(s, nr);
				found = 1;
			}
		}
		regfree(&re);
		return found ? 0 : 1;
	}
	long nr = cp_syscall_number(it);
	if (nr < 0)
		return 1;
	add(s, nr);
	return 0;
}

int cp_trace_set_parse(const char *expr, struct cp_trace_set *set, struct cp_error *err)
{
	memset(set, 0, sizeof(*set));
	const char *p = expr ? expr : "";
	bool negate = *p == '!';
	if (negate)
		p++;
	if (!*p)
		return cp_error_set(err, CP_E_USAGE, "-e trace: an empty list (names, %%classes, "
						     "/regex, all or none)");
	char *copy = cp_xstrdup(p), *save = NULL, b[65];
	int rc = 0;
	for (char *it = strtok_r(copy, ",", &save); it && !rc; it = strtok_r(NULL, ",", &save)) {
		bool optional = *it == '?';
		const char *name = it + optional;
		if (!*name) {
			rc = cp_error_set(err, CP_E_USAGE, "-e trace: an empty item in '%s'", shown(expr, b));
			break;
		}
		int r = item(name, set, err);
		if (r < 0)
			rc = r;
		else if (r > 0 && !optional)
			rc = cp_error_set(err, CP_E_USAGE,
					  name[0] == '%' || name[0] == '/' ?
						  "-e trace: '%s' matches no system call here" :
						  "-e trace: unknown system call '%s'",
					  shown(name, b));
	}
	if (!rc && (strstr(p, ",,") || p[strlen(p) - 1] == ',' || p[0] == ','))
		rc = cp_error_set(err, CP_E_USAGE, "-e trace: an empty item in '%s'", shown(expr, b));
	free(copy);
	if (!rc && negate)
		for (size_t i = 0; i < sizeof(set->bits) / sizeof(set->bits[0]); i++)
			set->bits[i] = ~set->bits[i];
	/* the complement holds only numbers this build has names for */
	if (!rc && negate)
		for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++)
			if (!cp_syscall_name(nr))
				set->bits[nr / 64] &= ~(1ull << (nr % 64));
	return rc;
}

void cp_trace_opts_init(struct cp_trace_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < CP_ARRAY_SIZE(o->set.bits); i++)
		o->set.bits[i] = ~0ull;
	o->decode = true;
	o->strsize = 32;
	o->stack_size = 8192;
}
