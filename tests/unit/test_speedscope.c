/* test_speedscope.c - lib/format/speedscope.c: the exact JSON of a small
 * two-thread profile (time order, root-first stacks, inline chains, frame
 * files and lines, string escaping), value and filter selection, and a
 * strict JSON checker run over names made of arbitrary bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "profile/profile.h"

/* Bytes that need every kind of escape: quote, backslash, control
 * characters, DEL (legal in JSON), valid UTF-8 (é, U+1F525), a lone 0xff,
 * a truncated 3-byte sequence, an overlong '/', and a UTF-16 surrogate. */
#define WEIRD "q\"b\\c\x01\n\t\x7f \xc3\xa9\xff\xe2\x82x\xc0\xaf\xed\xa0\x80\xf0\x9f\x94\xa5"
#define WEIRD_JSON                                                                                 \
	"q\\\"b\\\\c\\u0001\\n\\t\x7f \xc3\xa9\\ufffd\\ufffdx\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"  \
	"\xf0\x9f\x94\xa5"

enum { V_SAMPLES, V_CPU, V_HEAP };

static uint32_t fn(struct cp_profile *p, const char *name, const char *file, int64_t line)
{
	return cp_profile_add_function(p, name, name, file, line);
}

static void sample(struct cp_profile *p, uint32_t stack, uint32_t tid, const char *comm,
		   uint64_t time, int64_t cpu, int64_t heap)
{
	struct cp_profile_sample s = {
		.stack = stack,
		.pid = 10,
		.tid = tid,
		.comm = cp_profile_intern(p, comm),
		.time = time,
	};
	int64_t v[3] = { 1, cpu, heap };
	cp_profile_add_sample(p, &s, v);
}

/* Threads 10 "main" and 11 "worker" of pid 10, samples out of time order:
 *   S1 = main -> work -> helper (inlined into work)
 *   S2 = main -> WEIRD
 *   S3 = main -> app+0x40 (unsymbolized) */
static struct cp_profile *build(void)
{
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	cp_profile_add_value_type(p, "heap", "bytes");
	struct cp_profile_mapping m = { .path = "/bin/app", .build_id = "" };
	uint32_t map = cp_profile_add_mapping(p, &m);
	struct cp_profile_line l_main = { .function = fn(p, "main", "/src/app.c", 10), .line = 12 };
	struct cp_profile_line l_inl[2] = {
		{ .function = fn(p, "helper", "/src/app.h", 5), .line = 6, .inlined = true },
		{ .function = fn(p, "work", "/src/app.c", 20), .line = 22 },
	};
	struct cp_profile_line l_weird = { .function = fn(p, WEIRD, "", 0), .line = 0 };
	uint32_t main_loc = cp_profile_add_location(p, map, 0x10, &l_main, 1);
	uint32_t work_loc = cp_profile_add_location(p, map, 0x20, l_inl, 2);
	uint32_t weird_loc = cp_profile_add_location(p, map, 0x30, &l_weird, 1);
	uint32_t unk_loc = cp_profile_add_location(p, map, 0x40, NULL, 0);
	uint32_t s1[] = { work_loc, main_loc }, s2[] = { weird_loc, main_loc },
		 s3[] = { unk_loc, main_loc };
	uint32_t st1 = cp_profile_add_stack(p, s1, 2);
	uint32_t st2 = cp_profile_add_stack(p, s2, 2);
	uint32_t st3 = cp_profile_add_stack(p, s3, 2);
	sample(p, st1, 11, "worker", 500, 1000, 0);
	sample(p, st2, 10, "main", 300, 2000, 64);
	sample(p, st1, 10, "main", 100, 3000, 0);
	sample(p, st3, 11, "worker", 200, 0, 32);
	sample(p, st2, 10, "main", 300, 4000, 0); /* same time as the 2nd: stays after it */
	return p;
}

static char *render_opts(const struct cp_profile *p, const struct cp_view_opts *o, const char *name)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, o, &err);
	assert_non_null(v);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cp_format_speedscope_write(f, v, name, "test", &err), 0);
	assert_int_equal(fclose(f), 0);
	cp_view_free(v);
	return buf;
}

static char *render(const struct cp_profile *p, uint32_t value_index)
{
	struct cp_view_opts o = { .value_index = value_index };
	return render_opts(p, &o, "test");
}

/* ---- a strict JSON checker (RFC 8259, UTF-8 validated) ---------------- */

struct js {
	const unsigned char *s;
	int depth;
};

static void ws(struct js *j)
{
	while (*j->s == ' ' || *j->s == '\n' || *j->s == '\t' || *j->s == '\r')
		j->s++;
}

static bool is_cont(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

static bool js_string(struct js *j)
{
	if (*j->s++ != '"')
		return false;
	for (;;) {
		unsigned char c = *j->s;
		if (c == '"') {
			j->s++;
			return true;
		}
		if (c < 0x20)
			return false; /* raw control character, or the end */
		if (c == '\\') {
			c = j->s[1];
			if (c == 'u') {
				for (int i = 2; i < 6; i++)
					if (!j->s[i] || !strchr("0123456789abcdefABCDEF", j->s[i]))
						return false;
				j->s += 6;
			} else if (c && strchr("\"\\/bfnrt", c)) {
				j->s += 2;
			} else {
				return false;
			}
			continue;
		}
		if (c < 0x80) {
			j->s++;
			continue;
		}
		const unsigned char *u = j->s;
		if (c >= 0xc2 && c <= 0xdf && is_cont(u[1], 0x80, 0xbf))
			j->s += 2;
		else if (c >= 0xe0 && c <= 0xef &&
			 is_cont(u[1], c == 0xe0 ? 0xa0 : 0x80, c == 0xed ? 0x9f : 0xbf) &&
			 is_cont(u[2], 0x80, 0xbf))
			j->s += 3;
		else if (c >= 0xf0 && c <= 0xf4 &&
			 is_cont(u[1], c == 0xf0 ? 0x90 : 0x80, c == 0xf4 ? 0x8f : 0xbf) &&
			 is_cont(u[2], 0x80, 0xbf) && is_cont(u[3], 0x80, 0xbf))
			j->s += 4;
		else
			return false;
	}
}

static bool js_value(struct js *j);

static bool js_number(struct js *j)
{
	if (*j->s == '-')
		j->s++;
	if (*j->s == '0')
		j->s++;
	else if (*j->s >= '1' && *j->s <= '9')
		while (*j->s >= '0' && *j->s <= '9')
			j->s++;
	else
		return false;
	if (*j->s == '.') {
		j->s++;
		if (!(*j->s >= '0' && *j->s <= '9'))
			return false;
		while (*j->s >= '0' && *j->s <= '9')
			j->s++;
	}
	return true;
}

static bool js_list(struct js *j, char close, bool object)
{
	j->s++;
	ws(j);
	if (*j->s == close) {
		j->s++;
		return true;
	}
	for (;;) {
		ws(j);
		if (object) {
			if (!js_string(j))
				return false;
			ws(j);
			if (*j->s++ != ':')
				return false;
		}
		if (!js_value(j))
			return false;
		ws(j);
		if (*j->s == close) {
			j->s++;
			return true;
		}
		if (*j->s++ != ',')
			return false;
	}
}

static bool js_value(struct js *j)
{
	bool ok;
	ws(j);
	if (++j->depth > 64)
		return false;
	if (*j->s == '{')
		ok = js_list(j, '}', true);
	else if (*j->s == '[')
		ok = js_list(j, ']', false);
	else if (*j->s == '"')
		ok = js_string(j);
	else
		ok = js_number(j);
	j->depth--;
	return ok;
}

static bool json_valid(const char *text)
{
	struct js j = { (const unsigned char *)text, 0 };
	if (!js_value(&j))
		return false;
	ws(&j);
	return *j.s == 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_exact(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	char *s = render(p, V_CPU);
	const char *want =
		"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
		"\"shared\":{\"frames\":[\n"
		"{\"name\":\"main\",\"file\":\"/src/app.c\",\"line\":10},\n"
		"{\"name\":\"work\",\"file\":\"/src/app.c\",\"line\":20},\n"
		"{\"name\":\"helper\",\"file\":\"/src/app.h\",\"line\":5},\n"
		"{\"name\":\"" WEIRD_JSON "\"}]},\n"
		"\"profiles\":[\n"
		"{\"type\":\"sampled\",\"name\":\"main (pid 10, tid 10)\",\"unit\":\"nanoseconds\","
		"\"startValue\":100,\"endValue\":9100,\n"
		"\"samples\":[[0,1,2],[0,3],[0,3]],\n"
		"\"weights\":[3000,2000,4000]},\n"
		"{\"type\":\"sampled\",\"name\":\"worker (pid 10, tid 11)\",\"unit\":\"nanoseconds\","
		"\"startValue\":500,\"endValue\":1500,\n"
		"\"samples\":[[0,1,2]],\n"
		"\"weights\":[1000]}],\n"
		"\"name\":\"test\",\"activeProfileIndex\":0,\"exporter\":\"cprof " CP_VERSION
		"\"}\n";
	assert_string_equal(s, want);
	assert_true(json_valid(s));
	free(s);
	cp_profile_free(p);
}

static void test_values(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	/* counts: unit none, every sample weighs 1, the unsymbolized frame
	 * appears (its sample had cpu 0 above) */
	char *s = render(p, V_SAMPLES);
	assert_true(json_valid(s));
	assert_non_null(strstr(s, "{\"name\":\"app+0x40\"}"));
	assert_non_null(strstr(s, "\"name\":\"main (pid 10, tid 10)\",\"unit\":\"none\","
				  "\"startValue\":0,\"endValue\":3,\n"
				  "\"samples\":[[0,1,2],[0,3],[0,3]],\n\"weights\":[1,1,1]}"));
	assert_non_null(strstr(s, "\"name\":\"worker (pid 10, tid 11)\",\"unit\":\"none\","
				  "\"startValue\":0,\"endValue\":2,\n"
				  "\"samples\":[[0,4],[0,1,2]],\n\"weights\":[1,1]}"));
	free(s);
	/* bytes: only the samples with heap weight */
	s = render(p, V_HEAP);
	assert_true(json_valid(s));
	assert_null(strstr(s, "\"helper\""));
	assert_non_null(strstr(s, "\"unit\":\"bytes\",\"startValue\":0,\"endValue\":64,\n"
				  "\"samples\":[[0,1]],\n\"weights\":[64]}"));
	assert_non_null(strstr(s, "\"unit\":\"bytes\",\"startValue\":0,\"endValue\":32,\n"
				  "\"samples\":[[0,2]],\n\"weights\":[32]}"));
	free(s);
	/* no default type, and the last type is not "cpu": value 0 */
	char *d = render(p, CP_NONE);
	s = render(p, V_SAMPLES);
	assert_string_equal(d, s);
	free(d);
	free(s);
	cp_profile_free(p);
}

static void test_filters(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	uint32_t tid = 11;
	struct cp_view_opts o = { .value_index = V_CPU };
	o.filter.tids = &tid;
	o.filter.ntids = 1;
	char *s = render_opts(p, &o, NULL);
	assert_true(json_valid(s));
	assert_null(strstr(s, "tid 10"));
	assert_null(strstr(s, "\\ufffd")); /* WEIRD is only in thread 10 */
	assert_non_null(strstr(s,
			       "\"profiles\":[\n{\"type\":\"sampled\",\"name\":\"worker (pid 10, "
			       "tid 11)\""));
	assert_non_null(strstr(s, "\"samples\":[[0,1,2]],\n\"weights\":[1000]}],\n\"name\":"
				  "\"cprof\","));
	free(s);

	const char *comm = "nobody";
	struct cp_view_opts none = { .value_index = V_CPU };
	none.filter.comms = &comm;
	none.filter.ncomms = 1;
	s = render_opts(p, &none, "empty");
	assert_true(json_valid(s));
	assert_non_null(
		strstr(s, "\"shared\":{\"frames\":[]},\n\"profiles\":[],\n\"name\":\"empty\""));
	free(s);

	struct cp_view_opts noinl = { .value_index = V_CPU, .no_inline = true };
	s = render_opts(p, &noinl, "x");
	assert_true(json_valid(s));
	assert_null(strstr(s, "helper"));
	assert_non_null(strstr(s, "\"samples\":[[0,1],[0,2],[0,2]],\n"));
	free(s);
	cp_profile_free(p);
}

/* No value types: each sample weighs 1; an empty comm is "[unknown]";
 * a comm needing escapes is escaped; samples far out of time order are
 * sorted. */
static void test_no_values_and_order(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	struct cp_profile_line ln[3] = {
		{ .function = fn(p, "a", "", 0) },
		{ .function = fn(p, "b", "", 0) },
		{ .function = fn(p, "c", "", 0) },
	};
	uint32_t locs[3];
	for (int i = 0; i < 3; i++)
		locs[i] = cp_profile_add_location(p, CP_NONE, (uint64_t)i, &ln[i], 1);
	uint32_t st[3];
	for (int i = 0; i < 3; i++)
		st[i] = cp_profile_add_stack(p, &locs[i], 1);
	for (int i = 0; i < 300; i++) {
		struct cp_profile_sample s = {
			.stack = st[i % 3],
			.pid = 7,
			.tid = 7,
			.comm = cp_profile_intern(p, i == 299 ? "we\"ird" : ""),
			.time = (uint64_t)(1000 - i), /* reverse time order */
		};
		cp_profile_add_sample(p, &s, NULL);
	}
	struct cp_profile_sample e = { .stack = st[0], .pid = 8, .tid = 9, .time = 5 };
	cp_profile_add_sample(p, &e, NULL);
	char *s = render(p, CP_NONE);
	assert_true(json_valid(s));
	/* the last sample in time order is the first added (time 1000):
	 * the name comes from the last non-empty comm in time order */
	assert_non_null(
		strstr(s, "\"name\":\"we\\\"ird (pid 7, tid 7)\",\"unit\":\"none\","
			  "\"startValue\":0,\"endValue\":300,\n\"samples\":[[0],[1],[2],[0],"));
	assert_non_null(strstr(s, "\"name\":\"[unknown] (pid 8, tid 9)\",\"unit\":\"none\","
				  "\"startValue\":0,\"endValue\":1,\n\"samples\":[[2]],"));
	/* sample 299 (time 701, stack 2) is first: frame c gets index 0 */
	assert_non_null(strstr(s, "\"frames\":[\n{\"name\":\"c\"},\n{\"name\":\"b\"},\n"
				  "{\"name\":\"a\"}]}"));
	free(s);
	cp_profile_free(p);
}

static void test_random_names(void **state)
{
	(void)state;
	unsigned seed = 12345;
	for (int round = 0; round < 200; round++) {
		struct cp_profile *p = cp_profile_new();
		cp_profile_add_value_type(p, "cpu", "nanoseconds");
		char name[40], file[40], comm[20];
		size_t n = (size_t)(rand_r(&seed) % 39) + 1;
		for (size_t i = 0; i < n; i++)
			name[i] = (char)(rand_r(&seed) % 255 + 1);
		name[n] = 0;
		n = (size_t)(rand_r(&seed) % 39);
		for (size_t i = 0; i < n; i++)
			file[i] = (char)(rand_r(&seed) % 255 + 1);
		file[n] = 0;
		n = (size_t)(rand_r(&seed) % 19);
		for (size_t i = 0; i < n; i++)
			comm[i] = (char)(rand_r(&seed) % 255 + 1);
		comm[n] = 0;
		struct cp_profile_line ln = { .function = fn(p, name, file, 3) };
		uint32_t loc = cp_profile_add_location(p, CP_NONE, 1, &ln, 1);
		struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, &loc, 1),
					       .pid = 1,
					       .tid = 1,
					       .comm = cp_profile_intern(p, comm) };
		int64_t v = 5;
		cp_profile_add_sample(p, &s, &v);
		struct cp_view_opts o = { .value_index = CP_NONE };
		char *out = render_opts(p, &o, name);
		if (!json_valid(out))
			fail_msg("invalid JSON in round %d: %s", round, out);
		free(out);
		cp_profile_free(p);
	}
}

static void test_write_error(void **state)
{
	(void)state;
	struct cp_profile *p = build();
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0); /* else the error shows only at fclose */
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, NULL, &err);
	assert_int_equal(cp_format_speedscope_write(f, v, NULL, "'out.json'", &err), CP_E_IO);
	assert_string_equal(err.msg, "cannot write to 'out.json'");
	fclose(f);
	cp_view_free(v);
	cp_profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),        cmocka_unit_test(test_values),
		cmocka_unit_test(test_filters),      cmocka_unit_test(test_no_values_and_order),
		cmocka_unit_test(test_random_names), cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
