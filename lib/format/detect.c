/* detect.c - input format detection by content, and the names of input
 * formats (cprof convert/flame --from).
 *
 * Detection looks at the first bytes only and decides between pprof
 * (gzip magic, or a protobuf message that starts like a profile),
 * perf-script text and folded stacks.  It does not recognise cprof data
 * files (the caller checks their magic first) and never parses a whole
 * input: the readers do that and report errors.
 */
#include "format/format.h"

#include <string.h>

/* ---- pprof ------------------------------------------------------------------- */

/* A ValueType message: only fields 1 and 2 (type, unit string indices),
 * both varints. */
static bool value_type_ok(const uint8_t *p, const uint8_t *end)
{
	struct cp_rd r = { p, end, false };
	while (r.p < r.end) {
		uint64_t tag, v;
		if (cp_rd_uvarint(&r, &tag) || (tag != 0x08 && tag != 0x10) ||
		    cp_rd_uvarint(&r, &v))
			return false;
	}
	return true;
}

/* profile.proto's Profile: the first field is sample_type (1, bytes) with
 * a complete ValueType; every field seen after it has a number the message
 * defines (1-14) and a wire type that fits it.  The window may cut the
 * last field. */
static bool looks_like_pprof(const uint8_t *p, size_t len)
{
	struct cp_rd r = { p, p + len, false };
	bool first = true;
	while (r.p < r.end) {
		uint64_t tag, v;
		if (cp_rd_uvarint(&r, &tag))
			return !first;
		uint64_t field = tag >> 3, wire = tag & 7;
		if (field < 1 || field > 14)
			return false;
		if (first && tag != 0x0a)
			return false;
		if (wire == 0) {
			if (cp_rd_uvarint(&r, &v))
				return !first;
		} else if (wire == 2) {
			const uint8_t *body;
			if (cp_rd_uvarint(&r, &v) || v > (uint64_t)(r.end - r.p) ||
			    cp_rd_bytes(&r, &body, (size_t)v))
				return !first;
			if (first && (v == 0 || !value_type_ok(body, body + v)))
				return false;
		} else {
			return false;
		}
		first = false;
	}
	return !first;
}

/* ---- text formats -------------------------------------------------------------- */

struct text_line {
	const char *s, *e;
};

/* The next non-empty line that is not a '#' comment, from *pos. */
static bool next_line(const char **pos, const char *end, struct text_line *l)
{
	const char *s = *pos;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		*pos = nl ? nl + 1 : end;
		const char *t = e;
		if (t > s && t[-1] == '\r')
			t--;
		if (t > s && s[0] != '#') {
			l->s = s;
			l->e = t;
			return true;
		}
		s = *pos;
	}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "comm PID[/TID] ..." : a name, blanks, a number (or two with '/'),
 * a blank; blanks before the name are allowed. */
static bool perf_header(const struct text_line *l)
{
	const char *s = l->s, *e = l->e;
	while (s < e && is_space(*s)) /* thread names are right-aligned without call chains */
		s++;
	if (s == e)
		return false;
	for (const char *q = s + 1; q < e; q++) {
		if (!is_space(*q))
			continue;
		const char *d = q;
		while (d < e && is_space(*d))
			d++;
		if (d == e || !is_digit(*d))
			continue;
		while (d < e && is_digit(*d))
			d++;
		if (d < e && *d == '/') {
			d++;
			if (d == e || !is_digit(*d))
				continue;
			while (d < e && is_digit(*d))
				d++;
		}
		if (d < e && is_space(*d))
			return true;
	}
	return false;
}

/* "\t  55d0c0e1f1a7 main+0x17 (/usr/bin/x)": indented, a hex address,
 * something, a module in parentheses. */
static bool perf_frame(const struct text_line *l)
{
	const char *s = l->s, *e = l->e;
	if (!is_space(*s))
		return false;
	while (s < e && is_space(*s))
		s++;
	const char *h = s;
	while (s < e && ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
		s++;
	if (s == h || s == e || !is_space(*s))
		return false;
	return e[-1] == ')' && memmem(s, (size_t)(e - s), " (", 2);
}

static bool perf_has_event(const struct text_line *l)
{
	return memmem(l->s, (size_t)(l->e - l->s), ": ", 2) || l->e[-1] == ':';
}

static bool folded_line(const struct text_line *l)
{
	const char *s = l->s, *e = l->e;
	if (is_space(*s))
		return false;
	const char *d = e;
	while (d > s && is_digit(d[-1]))
		d--;
	return d < e && d > s + 1 && d[-1] == ' ';
}

enum cp_input_format cp_format_detect(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return CP_INPUT_PPROF;
	if (len && b[0] == 0x0a && looks_like_pprof(b, len))
		return CP_INPUT_PPROF;
	const char *pos = buf, *end = pos + len;
	struct text_line a, n;
	if (!next_line(&pos, end, &a))
		return CP_INPUT_UNKNOWN;
	if (perf_header(&a)) {
		bool more = next_line(&pos, end, &n);
		if (more && !is_space(*a.s) && perf_frame(&n))
			return CP_INPUT_PERFSCRIPT;
		if (more && perf_header(&n) && perf_has_event(&a) && perf_has_event(&n))
			return CP_INPUT_PERFSCRIPT;
		if (!more && perf_has_event(&a) && (a.e[-1] == ':' || a.e[-1] == ')'))
			return CP_INPUT_PERFSCRIPT;
	}
	if (folded_line(&a))
		return CP_INPUT_FOLDED;
	return CP_INPUT_UNKNOWN;
}

static const char *const input_names[] = {
	[CP_INPUT_UNKNOWN] = "unknown",	       [CP_INPUT_CPROF] = "cprof",
	[CP_INPUT_PPROF] = "pprof",	       [CP_INPUT_PERFSCRIPT] = "perf-script",
	[CP_INPUT_FOLDED] = "folded",
};

const char *cp_format_input_name(enum cp_input_format f)
{
	if ((size_t)f >= CP_ARRAY_SIZE(input_names))
		return "unknown";
	return input_names[f];
}

int cp_format_parse_input(const char *s, enum cp_input_format *out, struct cp_error *err)
{
	for (size_t i = CP_INPUT_CPROF; i < CP_ARRAY_SIZE(input_names); i++) {
		if (s && !strcmp(s, input_names[i])) {
			*out = (enum cp_input_format)i;
			return 0;
		}
	}
	return cp_error_set(err, CP_E_USAGE,
			    "unknown input format '%s' (supported: cprof, pprof, perf-script, "
			    "folded)",
			    s ? s : "");
}
