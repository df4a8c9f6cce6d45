/* test_flame.c - lib/format/flame.c: the flame graph SVG.  Profiles are
 * built by hand; the checks read the SVG's static frames and the two trees
 * the script gets as data (with exact weights). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "format/format.h"
#include "profile/profile.h"

/* ---- building profiles ---------------------------------------------------- */

struct prof {
	struct cp_profile *p;
	uint32_t map; /* the main binary */
};

static void prof_init(struct prof *x)
{
	x->p = cp_profile_new();
	cp_profile_add_value_type(x->p, "samples", "count");
	struct cp_profile_mapping m = { .path = "/bin/app", .build_id = "" };
	x->map = cp_profile_add_mapping(x->p, &m);
}

static uint32_t add_map(struct prof *x, const char *path, uint32_t flags)
{
	struct cp_profile_mapping m = { .path = path, .build_id = "", .flags = flags };
	return cp_profile_add_mapping(x->p, &m);
}

/* A location of one function (or `name` inlined into `real`) in map. */
static uint32_t loc_in(struct prof *x, uint32_t map, const char *name, const char *real)
{
	struct cp_profile_line l[2];
	uint32_t n = 0;
	l[n++] = (struct cp_profile_line){
		.function = cp_profile_add_function(x->p, name, name, "", 0),
		.inlined = real != NULL,
	};
	if (real)
		l[n++] = (struct cp_profile_line){
			.function = cp_profile_add_function(x->p, real, real, "", 0),
		};
	return cp_profile_add_location(x->p, map, 0x1000 + x->p->locations.n, l, n);
}

static void add_locs(struct prof *x, const uint32_t *leaf_first, uint32_t n, int64_t count)
{
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(x->p, leaf_first, n) };
	cp_profile_add_sample(x->p, &s, &count);
}

/* Add `count` samples of the stack "a;b;c" (root first), frames in the
 * main binary. */
static void add_stack(struct prof *x, const char *folded, int64_t count)
{
	uint32_t locs[64], n = 0;
	char *copy = strdup(folded), *save = NULL;
	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
		locs[n++] = loc_in(x, x->map, t, NULL);
	free(copy);
	for (uint32_t i = 0; i < n / 2; i++) {
		uint32_t tmp = locs[i];
		locs[i] = locs[n - 1 - i];
		locs[n - 1 - i] = tmp;
	}
	add_locs(x, locs, n, count);
}

/* ---- rendering and reading the result --------------------------------------- */

static char *render2(struct cp_profile *p, struct cp_profile *base, const struct cp_flame_opts *o)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, NULL, &err);
	struct cp_view *bv = base ? cp_view_new(base, NULL, &err) : NULL;
	assert_non_null(v);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_flame_write(f, v, bv, o, "test", &err), 0);
	fclose(f);
	cp_view_free(v);
	if (bv)
		cp_view_free(bv);
	return buf;
}

static char *render(struct cp_profile *p, const struct cp_flame_opts *o)
{
	return render2(p, NULL, o);
}

#define MAXF 20000
#define MAXN 4096

/* The script's data: names, colours and the two trees. */
struct data {
	char *names[MAXN], *colors[MAXN];
	size_t nnames, ncolors;
	struct tree {
		bool reverse;
		double total;
		double *f;
		size_t n; /* frames */
	} t[2];
	int stride;
};

/* Parse a JSON string at *s (at its opening quote); ASCII \u escapes only. */
static char *json_str(const char **s)
{
	const char *p = *s;
	assert_int_equal(*p, '"');
	char *out = malloc(strlen(p) + 1), *o = out;
	for (p++; *p != '"'; p++) {
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				*o++ = (char)strtol((char[5]){ p[1], p[2], p[3], p[4], 0 }, NULL,
						    16);
				p += 4;
				continue;
			}
		}
		*o++ = *p;
	}
	*o = 0;
	*s = p + 1;
	return out;
}

static size_t json_strs(const char *svg, const char *key, char **out)
{
	const char *p = strstr(svg, key);
	assert_non_null(p);
	p += strlen(key);
	size_t n = 0;
	while (*p == '"' || *p == ',') {
		if (*p == ',')
			p++;
		out[n++] = json_str(&p);
	}
	assert_int_equal(*p, ']');
	return n;
}

static void data_parse(const char *svg, struct data *d)
{
	memset(d, 0, sizeof(*d));
	d->nnames = json_strs(svg, "\"names\":[", d->names);
	d->ncolors = json_strs(svg, "\"colors\":[", d->colors);
	d->stride = strstr(svg, "\"diff\":true") ? 7 : 5;
	const char *p = strstr(svg, "\"trees\":[");
	assert_non_null(p);
	for (int k = 0; k < 2; k++) {
		p = strstr(p, "{\"reverse\":");
		assert_non_null(p);
		d->t[k].reverse = !strncmp(p + 11, "true", 4);
		p = strstr(p, "\"total\":") + 8;
		d->t[k].total = strtod(p, NULL);
		p = strstr(p, "\"f\":[") + 5;
		d->t[k].f = calloc(MAXF * 7, sizeof(double));
		size_t n = 0;
		while (*p != ']') {
			char *end;
			d->t[k].f[n++] = strtod(p, &end);
			p = end;
			while (*p == ',' || *p == '\n')
				p++;
		}
		assert_int_equal(n % (size_t)d->stride, 0);
		d->t[k].n = n / (size_t)d->stride;
	}
}

static void data_free(struct data *d)
{
	for (size_t i = 0; i < d->nnames; i++)
		free(d->names[i]);
	for (size_t i = 0; i < d->ncolors; i++)
		free(d->colors[i]);
	free(d->t[0].f);
	free(d->t[1].f);
}

#define FD(d, k, i, field) ((d)->t[k].f[(size_t)(i) * (size_t)(d)->stride + (field)])
enum { F_DEPTH, F_X, F_W, F_NAME, F_COLOR, F_VAL, F_BASE };

static const char *fname(const struct data *d, int k, size_t i)
{
	return d->names[(size_t)FD(d, k, i, F_NAME)];
}

/* The frame named `name` at `depth` of tree k, or -1. */
static long find(const struct data *d, int k, const char *name, int depth)
{
	for (size_t i = 0; i < d->t[k].n; i++)
		if (!strcmp(fname(d, k, i), name) && (depth < 0 || FD(d, k, i, F_DEPTH) == depth))
			return (long)i;
	return -1;
}

/* Every frame lies inside its parent (the nearest frame before it in
 * pre-order with depth - 1), children's widths add up to at most the
 * parent's, and the root spans the total. */
static void check_nesting(const struct data *d, int k)
{
	const struct tree *t = &d->t[k];
	size_t n = t->n;
	assert_true(n >= 1);
	assert_int_equal(FD(d, k, 0, F_DEPTH), 0);
	assert_string_equal(fname(d, k, 0), "all");
	double *sum = calloc(n, sizeof(double));
	long stack[256];
	for (size_t i = 1; i < n; i++) {
		int depth = (int)FD(d, k, i, F_DEPTH);
		assert_true(depth >= 1 && depth < 256);
		stack[depth] = (long)i;
		long p = depth == 1 ? 0 : stack[depth - 1];
		assert_true(FD(d, k, p, F_DEPTH) == depth - 1);
		double x = FD(d, k, i, F_X), w = FD(d, k, i, F_W);
		assert_true(w > 0);
		assert_true(x >= FD(d, k, p, F_X) - 1e-9);
		assert_true(x + w <= FD(d, k, p, F_X) + FD(d, k, p, F_W) + 1e-6);
		sum[p] += w;
	}
	for (size_t i = 0; i < n; i++)
		assert_true(sum[i] <= FD(d, k, i, F_W) + 1e-6);
	free(sum);
}

/* Static frames: the <g> elements of the SVG, in data order. */
struct sframe {
	char title[256], fill[64], text[128];
	double x, y, w;
};

static size_t static_frames(const char *svg, struct sframe *out, size_t max)
{
	const char *p = strstr(svg, "<g id=\"frames0\"");
	assert_non_null(p);
	size_t n = 0;
	while ((p = strstr(p, "<g><title>")) && n < max) {
		struct sframe *f = &out[n++];
		memset(f, 0, sizeof(*f));
		p += 10;
		const char *e = strstr(p, "</title>");
		memcpy(f->title, p, (size_t)(e - p));
		p = strstr(e, "<rect ");
		f->x = strtod(strstr(p, " x=\"") + 4, NULL);
		f->y = strtod(strstr(p, " y=\"") + 4, NULL);
		f->w = strtod(strstr(p, " width=\"") + 8, NULL);
		const char *fl = strstr(p, "fill=\"") + 6;
		memcpy(f->fill, fl, (size_t)(strchr(fl, '"') - fl));
		const char *end = strstr(p, "</g>");
		const char *tx = strstr(p, "<text ");
		if (tx && tx < end) {
			tx = strchr(tx, '>') + 1;
			memcpy(f->text, tx, (size_t)(strstr(tx, "</text>") - tx));
		}
	}
	return n;
}

/* ---- tests -------------------------------------------------------------- */

/* main -> {zeta 3, alpha -> {c 5}, alpha 2, mid 1}, and a second root */
static void build_basic(struct prof *x)
{
	prof_init(x);
	add_stack(x, "main;zeta", 3);
	add_stack(x, "main;alpha;c", 5);
	add_stack(x, "main;alpha", 2);
	add_stack(x, "main;mid", 1);
	add_stack(x, "start;zeta", 4);
}

static void test_widths_and_order(void **state)
{
	(void)state;
	struct prof x;
	build_basic(&x);
	char *svg = render(x.p, NULL);
	struct data d;
	data_parse(svg, &d);
	assert_false(d.t[0].reverse);
	assert_true(d.t[1].reverse);
	assert_true(d.t[0].total == 15);
	check_nesting(&d, 0);
	check_nesting(&d, 1);
	assert_true(FD(&d, 0, 0, F_W) == 15);
	long m = find(&d, 0, "main", 1), a = find(&d, 0, "alpha", 2), mi = find(&d, 0, "mid", 2),
	     z = find(&d, 0, "zeta", 2), s = find(&d, 0, "start", 1);
	assert_true(m > 0 && a > 0 && mi > 0 && z > 0 && s > 0);
	/* siblings by name, whatever the order they were seen in */
	assert_true(FD(&d, 0, m, F_X) < FD(&d, 0, s, F_X));
	assert_true(FD(&d, 0, a, F_X) == 0 && FD(&d, 0, a, F_W) == 7);
	assert_true(FD(&d, 0, mi, F_X) == 7 && FD(&d, 0, mi, F_W) == 1);
	assert_true(FD(&d, 0, z, F_X) == 8 && FD(&d, 0, z, F_W) == 3);
	assert_true(FD(&d, 0, s, F_X) == 11 && FD(&d, 0, s, F_W) == 4);
	/* the static SVG frames are the same frames, in px */
	struct sframe *sf = calloc(64, sizeof(*sf));
	size_t ns = static_frames(svg, sf, 64);
	assert_int_equal(ns, d.t[0].n);
	assert_true(sf[0].x == 10 && sf[0].w == 1180);
	assert_string_equal(sf[0].title, "all (15 samples, 100.00%)");
	assert_string_equal(sf[m].title, "main (11 samples, 73.33%)");
	assert_string_equal(sf[m].text, "main");
	assert_true(sf[m].w > 865 && sf[m].w < 866); /* 11/15 of 1180 */
	/* default: a flame (root at the bottom) */
	assert_true(sf[m].y < sf[0].y);
	assert_non_null(strstr(svg, ">Flame Graph</text>"));
	free(sf);
	data_free(&d);
	free(svg);
	cp_profile_free(x.p);
}

static void test_ties_by_module(void **state)
{
	(void)state;
	struct prof x;
	prof_init(&x);
	uint32_t lb = add_map(&x, "/lib/libb.so", 0), la = add_map(&x, "/lib/liba.so", 0);
	uint32_t root = loc_in(&x, x.map, "main", NULL);
	uint32_t s1[] = { loc_in(&x, lb, "dup", NULL), root };
	uint32_t s2[] = { loc_in(&x, la, "dup", NULL), root };
	add_locs(&x, s1, 2, 1);
	add_locs(&x, s2, 2, 2);
	char *svg = render(x.p, NULL);
	struct data d;
	data_parse(svg, &d);
	/* two frames named dup: liba's (weight 2) first */
	long a = find(&d, 0, "dup", 2);
	assert_true(a > 0);
	assert_true(FD(&d, 0, a, F_X) == 0 && FD(&d, 0, a, F_W) == 2);
	assert_true(FD(&d, 0, a + 1, F_X) == 2 && FD(&d, 0, a + 1, F_W) == 1);
	assert_string_equal(fname(&d, 0, a + 1), "dup");
	data_free(&d);
	free(svg);
	cp_profile_free(x.p);
}

static void test_more_frames(void **state)
{
	(void)state;
	struct prof x;
	prof_init(&x);
	add_stack(&x, "main;big", 10000);
	char name[32];
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "main;small%02d", i);
		add_stack(&x, name, 1);
	}
	add_stack(&x, "main", 7); /* self weight */
	struct cp_flame_opts o = { .minwidth = 1 };
	char *svg = render(x.p, &o);
	struct data d;
	data_parse(svg, &d);
	check_nesting(&d, 0);
	long b = find(&d, 0, "big", 2), m = find(&d, 0, "(50 more)", 2);
	assert_true(b > 0 && m > 0);
	assert_int_equal(find(&d, 0, "small07", -1), -1);
	assert_true(FD(&d, 0, b, F_W) == 10000);
	/* the merged frame comes last and holds exactly their weight */
	assert_true(FD(&d, 0, m, F_X) == 10000 && FD(&d, 0, m, F_W) == 50);
	assert_string_equal(d.colors[(size_t)FD(&d, 0, m, F_COLOR)], "rgb(190,190,190)");
	assert_true(FD(&d, 0, 0, F_W) == 10057);
	data_free(&d);
	free(svg);

	/* with minwidth 0 every frame stays */
	o.minwidth = 0;
	svg = render(x.p, &o);
	data_parse(svg, &d);
	assert_true(find(&d, 0, "small07", 2) > 0);
	assert_int_equal(find(&d, 0, "(50 more)", -1), -1);
	data_free(&d);
	free(svg);
	cp_profile_free(x.p);
}

/* Many distinct stacks: the graph stays bounded, the totals exact. */
static void test_bounded(void **state)
{
	(void)state;
	struct prof x;
	prof_init(&x);
	uint64_t r = 42;
	char buf[512];
	int64_t total = 0;
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)snprintf(buf, sizeof(buf), "root");
		int depth = 3 + (int)(r % 20);
		for (int k = 0; k < depth; k++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, ";f%u",
						(unsigned)((r >> 33) % (k < 3 ? 4 : 300)));
		}
		add_stack(&x, buf, 1 + (int64_t)(r >> 60));
		total += 1 + (int64_t)(r >> 60);
	}
	struct cp_flame_opts o = { .minwidth = 0 };
	char *svg = render(x.p, &o);
	struct data d;
	data_parse(svg, &d);
	for (int k = 0; k < 2; k++) {
		assert_true(d.t[k].n <= 24000); /* FLAME_MAX_FRAMES */
		assert_true(FD(&d, k, 0, F_W) == (double)total);
		check_nesting(&d, k);
	}
	data_free(&d);
	free(svg);
	cp_profile_free(x.p);
}

static void test_inverted_reverse(void **state)
{
	(void)state;
	struct prof x;
	build_basic(&x);
	struct cp_flame_opts o = { .minwidth = -1, .inverted = true };
	char *svg = render(x.p, &o);
	struct sframe sf[32];
	size_t ns = static_frames(svg, sf, 32);
	assert_true(ns > 3);
	/* an icicle: root on top, callees below */
	assert_true(sf[0].y == 36 && sf[1].y == 52);
	assert_non_null(strstr(svg, ">Icicle Graph</text>"));
	assert_non_null(strstr(svg, "\"inverted\":true"));
	free(svg);

	o = (struct cp_flame_opts){ .minwidth = -1, .reverse = true };
	svg = render(x.p, &o);
	struct data d;
	data_parse(svg, &d);
	assert_true(d.t[0].reverse);
	assert_false(d.t[1].reverse);
	check_nesting(&d, 0);
	/* merged from the leaves: leaf functions at depth 1, callers above */
	long z = find(&d, 0, "zeta", 1), c = find(&d, 0, "c", 1), a = find(&d, 0, "alpha", 1);
	assert_true(z > 0 && c > 0 && a > 0);
	assert_true(FD(&d, 0, z, F_W) == 7);
	assert_true(FD(&d, 0, a, F_W) == 2);
	assert_int_equal(find(&d, 0, "main", 1), -1);
	long zs = find(&d, 0, "start", 2);
	assert_true(zs > 0 && FD(&d, 0, zs, F_W) == 4);
	/* the other tree is the top-down one */
	assert_true(find(&d, 1, "main", 1) > 0);
	data_free(&d);
	free(svg);
	cp_profile_free(x.p);
}

static void test_diff(void **state)
{
	(void)state;
	struct prof nx, bx;
	prof_init(&bx);
	add_stack(&bx, "main;grow", 10);
	add_stack(&bx, "main;shrink", 20);
	add_stack(&bx, "main;same", 10);
	add_stack(&bx, "main;gone", 10);
	prof_init(&nx);
	add_stack(&nx, "main;shrink", 5);
	add_stack(&nx, "main;grow", 30);
	add_stack(&nx, "main;same", 10);
	add_stack(&nx, "main;fresh", 5);
	char *svg = render2(nx.p, bx.p, NULL);
	assert_non_null(strstr(svg, ">Differential Flame Graph</text>"));
	struct data d;
	data_parse(svg, &d);
	assert_int_equal(d.stride, 7);
	check_nesting(&d, 0);
	check_nesting(&d, 1);
	long g = find(&d, 0, "grow", 2), s = find(&d, 0, "shrink", 2), v = find(&d, 0, "gone", 2),
	     f = find(&d, 0, "fresh", 2), sm = find(&d, 0, "same", 2);
	assert_true(g > 0 && s > 0 && v > 0 && f > 0 && sm > 0);
	const char *cg = d.colors[(size_t)FD(&d, 0, g, F_COLOR)];
	const char *cs = d.colors[(size_t)FD(&d, 0, s, F_COLOR)];
	assert_true(!strncmp(cg, "rgb(255,", 8));
	assert_true(strlen(cs) > 5 && !strcmp(cs + strlen(cs) - 5, ",255)"));
	assert_string_equal(d.colors[(size_t)FD(&d, 0, v, F_COLOR)], "url(#hatch)");
	assert_true(!strncmp(d.colors[(size_t)FD(&d, 0, f, F_COLOR)], "rgb(255,0,0)", 12));
	assert_string_equal(d.colors[(size_t)FD(&d, 0, sm, F_COLOR)], "rgb(235,235,235)");
	/* the vanished frame still has room, and the values are both there */
	assert_true(FD(&d, 0, v, F_W) > 0);
	assert_true(FD(&d, 0, v, F_VAL) == 0 && FD(&d, 0, v, F_BASE) == 10);
	assert_true(FD(&d, 0, g, F_VAL) == 30 && FD(&d, 0, g, F_BASE) == 10);
	/* a deeper red for a larger change */
	struct sframe *sf = calloc(64, sizeof(*sf));
	size_t ns = static_frames(svg, sf, 64);
	assert_int_equal(ns, d.t[0].n);
	assert_string_equal(sf[g].title, "grow (before 10, after 30, +20 / +200.00%)");
	assert_string_equal(sf[s].title, "shrink (before 20, after 5, -15 / -75.00%)");
	assert_string_equal(sf[v].title, "gone (before 10, after 0, -10 / -100.00%)");
	assert_string_equal(sf[f].title, "fresh (before 0, after 5, +5 / new)");
	assert_string_equal(sf[v].fill, "url(#hatch)");
	assert_non_null(strstr(svg, "<pattern id=\"hatch\""));
	data_free(&d);
	free(svg);

	/* normalised: doubling every new stack (zero-weight samples take no
	 * room) scales the base of 50 to the new total of 100: "same" is
	 * unchanged */
	add_stack(&nx, "main;grow", 0);
	add_stack(&nx, "main;same", 10);
	add_stack(&nx, "main;shrink", 5);
	add_stack(&nx, "main;fresh", 5);
	add_stack(&nx, "main;grow", 30);
	struct cp_flame_opts o = { .minwidth = -1, .normalize = true };
	svg = render2(nx.p, bx.p, &o);
	data_parse(svg, &d);
	sm = find(&d, 0, "same", 2);
	assert_true(FD(&d, 0, sm, F_BASE) == 20 && FD(&d, 0, sm, F_VAL) == 20);
	assert_string_equal(d.colors[(size_t)FD(&d, 0, sm, F_COLOR)], "rgb(235,235,235)");
	assert_true(FD(&d, 0, 0, F_W) == 100);
	check_nesting(&d, 0);
	data_free(&d);
	free(svg);
	free(sf);
	cp_profile_free(nx.p);
	cp_profile_free(bx.p);
}

static void test_escaping(void **state)
{
	(void)state;
	struct prof x;
	prof_init(&x);
	add_stack(&x, "main;a<b>&\"c'd\x01\xff\xc3\xa9]]>", 10);
	struct cp_flame_opts o = {
		.minwidth = -1, .title = "T<&>", .subtitle = "s\"'", .countname = "cpu <ns>"
	};
	char *svg = render(x.p, &o);
	assert_non_null(
		strstr(svg, "a&lt;b&gt;&amp;&quot;c&apos;d\xc3\xa9]]&gt; (10 cpu &lt;ns&gt;"));
	assert_non_null(strstr(svg, ">T&lt;&amp;&gt;</text>"));
	assert_non_null(strstr(svg, ">s&quot;&apos;</text>"));
	/* in the script's data: JSON, with nothing that ends the CDATA section */
	assert_non_null(strstr(svg, "\"a\\u003cb\\u003e\\u0026\\\"c'd\xc3\xa9]]\\u003e\""));
	const char *cdata = strstr(svg, "<![CDATA[");
	assert_non_null(cdata);
	const char *end = strstr(cdata, "]]>");
	assert_non_null(end);
	assert_non_null(strstr(end, "</script>"));
	assert_true(strstr(end, "</script>") == end + 3);
	for (const unsigned char *p = (const unsigned char *)svg; *p; p++) {
		assert_true(*p >= 0x20 || *p == '\n' || *p == '\t');
		assert_true(*p != 0xff);
	}
	free(svg);
	cp_profile_free(x.p);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct prof x;
	build_basic(&x);
	char *a = render(x.p, NULL), *b = render(x.p, NULL);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* the same stacks seen in another order give the same graph */
	struct prof y;
	prof_init(&y);
	add_stack(&y, "start;zeta", 4);
	add_stack(&y, "main;mid", 1);
	add_stack(&y, "main;alpha", 2);
	add_stack(&y, "main;alpha;c", 5);
	add_stack(&y, "main;zeta", 3);
	struct cp_flame_opts o = { .minwidth = -1, .palette = CP_FLAME_MEM };
	a = render(x.p, &o);
	b = render(y.p, &o);
	const char *fa = strstr(a, "<g id=\"frames0\""), *fb = strstr(b, "<g id=\"frames0\"");
	assert_non_null(fa);
	assert_string_equal(fa, fb);
	free(a);
	free(b);
	cp_profile_free(x.p);
	cp_profile_free(y.p);
}

static void parse_rgb(const char *s, int rgb[3])
{
	assert_int_equal(sscanf(s, "rgb(%d,%d,%d)", &rgb[0], &rgb[1], &rgb[2]), 3);
}

static void test_palettes(void **state)
{
	(void)state;
	enum cp_flame_palette pal;
	struct cp_error err = { 0 };
	assert_int_equal(cp_flame_parse_palette("lang", &pal, &err), 0);
	assert_int_equal(pal, CP_FLAME_LANG);
	assert_int_equal(cp_flame_parse_palette("hot", &pal, &err), 0);
	assert_int_equal(pal, CP_FLAME_HOT);
	assert_int_equal(cp_flame_parse_palette("wakeup", &pal, &err), 0);
	assert_int_equal(pal, CP_FLAME_WAKEUP);
	assert_int_equal(cp_flame_parse_palette("x", &pal, &err), CP_E_USAGE);
	assert_string_equal(err.msg,
			    "unknown colour palette 'x' (supported: hot, mem, io, wakeup, lang)");

	struct prof x;
	prof_init(&x);
	uint32_t kmap = add_map(&x, "[kernel.kallsyms]", CP_MAP_KERNEL);
	uint32_t jmap = add_map(&x, "[jit]", CP_MAP_JIT);
	uint32_t lmap = add_map(&x, "/lib/x86_64-linux-gnu/libc.so.6", 0);
	uint32_t s[] = {
		loc_in(&x, kmap, "do_syscall_64", NULL),
		loc_in(&x, lmap, "write", NULL),
		loc_in(&x, jmap, "Interpreted::run", NULL),
		loc_in(&x, x.map, "helper", "work"),
		loc_in(&x, x.map, "main", NULL),
	};
	add_locs(&x, s, 5, 100);
	struct cp_flame_opts o = { .minwidth = -1, .palette = CP_FLAME_LANG };
	char *svg = render(x.p, &o);
	struct data d;
	data_parse(svg, &d);
	int k[3], l[3], j[3], in[3], m[3], w[3];
	parse_rgb(d.colors[(size_t)FD(&d, 0, find(&d, 0, "do_syscall_64", -1), F_COLOR)], k);
	parse_rgb(d.colors[(size_t)FD(&d, 0, find(&d, 0, "write", -1), F_COLOR)], l);
	parse_rgb(d.colors[(size_t)FD(&d, 0, find(&d, 0, "Interpreted::run", -1), F_COLOR)], j);
	parse_rgb(d.colors[(size_t)FD(&d, 0, find(&d, 0, "helper", -1), F_COLOR)], in);
	parse_rgb(d.colors[(size_t)FD(&d, 0, find(&d, 0, "main", -1), F_COLOR)], m);
	parse_rgb(d.colors[(size_t)FD(&d, 0, find(&d, 0, "work", -1), F_COLOR)], w);
	assert_true(k[0] >= 235 && k[1] >= 130 && k[1] < 180 && k[2] < 40);  /* kernel: orange */
	assert_true(l[0] >= 195 && l[1] >= 190 && l[2] < 90);                /* library: yellow */
	assert_true(j[1] >= 175 && j[0] < 100 && j[2] < 100);                /* JIT: green */
	assert_true(in[1] >= 200 && in[2] >= 200 && in[0] < 100);            /* inlined: aqua */
	assert_true(m[0] >= 210 && m[1] < 110 && w[0] >= 210 && w[1] < 110); /* user code: red */
	data_free(&d);
	free(svg);

	/* --hash: a name keeps its colour in another graph; without, colours
	 * are still a function of the frame, never random */
	struct prof y;
	prof_init(&y);
	add_stack(&y, "other;write", 3);
	for (int hash = 0; hash < 2; hash++) {
		o = (struct cp_flame_opts){ .minwidth = -1, .hash = hash };
		char *a = render(x.p, &o), *b = render(y.p, &o), *a2 = render(x.p, &o);
		assert_string_equal(a, a2);
		struct data da, db;
		data_parse(a, &da);
		data_parse(b, &db);
		const char *ca = da.colors[(size_t)FD(&da, 0, find(&da, 0, "main", -1), F_COLOR)];
		const char *cb = db.colors[(size_t)FD(&db, 0, find(&db, 0, "other", -1), F_COLOR)];
		assert_string_not_equal(ca, cb);
		if (hash) {
			/* write: in libc in x, in the main binary in y: same colour */
			ca = da.colors[(size_t)FD(&da, 0, find(&da, 0, "write", -1), F_COLOR)];
			cb = db.colors[(size_t)FD(&db, 0, find(&db, 0, "write", -1), F_COLOR)];
			assert_string_equal(ca, cb);
		}
		int hot[3];
		parse_rgb(ca, hot);
		assert_true(hot[0] >= 200 && hot[2] <= 55);
		data_free(&da);
		data_free(&db);
		free(a);
		free(a2);
		free(b);
	}
	cp_profile_free(x.p);
	cp_profile_free(y.p);
}

static void test_countname_and_empty(void **state)
{
	(void)state;
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "samples", "count");
	cp_profile_add_value_type(p, "cpu", "nanoseconds");
	uint32_t fn = cp_profile_add_function(p, "spin", "spin", "", 0);
	struct cp_profile_line l = { .function = fn };
	uint32_t loc = cp_profile_add_location(p, CP_NONE, 0x10, &l, 1);
	struct cp_profile_sample s = { .stack = cp_profile_add_stack(p, &loc, 1) };
	int64_t v[2] = { 1, 1234567 };
	cp_profile_add_sample(p, &s, v);
	char *svg = render(p, NULL);
	assert_non_null(strstr(svg, "<title>spin (1,234,567 cpu ns, 100.00%)</title>"));
	free(svg);
	cp_profile_free(p);

	/* no samples: a graph with an empty "all" */
	p = cp_profile_new();
	svg = render(p, NULL);
	assert_non_null(strstr(svg, "<title>all (0 samples, 0.00%)</title>"));
	assert_non_null(strstr(svg, "</svg>\n"));
	free(svg);
	cp_profile_free(p);
}

static void test_labels(void **state)
{
	(void)state;
	struct prof x;
	prof_init(&x);
	add_stack(&x, "main;a_rather_long_function_name_that_does_not_fit", 2);
	add_stack(&x, "main;x", 98);
	struct cp_flame_opts o = { .minwidth = -1, .width = 600 };
	char *svg = render(x.p, &o);
	struct sframe sf[16];
	size_t n = static_frames(svg, sf, 16);
	assert_int_equal(n, 4);
	/* 2% of 580 px = 11.6 px: too narrow for three characters */
	assert_string_equal(sf[2].title,
			    "a_rather_long_function_name_that_does_not_fit (2 samples, 2.00%)");
	assert_string_equal(sf[2].text, "");
	o.width = 4000; /* 79.6 px: 10 characters */
	free(svg);
	svg = render(x.p, &o);
	static_frames(svg, sf, 16);
	assert_string_equal(sf[2].text, "a_rather..");
	free(svg);
	cp_profile_free(x.p);
}

/* the store's profile.json: the tree with exact values, pruned below a share */
static json_t *child(json_t *node, size_t i, const char *name, json_int_t value)
{
	json_t *c = json_array_get(json_object_get(node, "children"), i);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "name")), name);
	assert_int_equal(json_integer_value(json_object_get(c, "value")), value);
	return c;
}

static void test_json(void **state)
{
	(void)state;
	struct prof x;
	build_basic(&x);
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(x.p, NULL, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(cp_format_flame_json_write(f, v, 10, "test", &err), 0);
	fclose(f);
	json_error_t je;
	json_t *root = json_loads(buf, 0, &je);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "value")), 15);
	assert_int_equal(json_integer_value(json_object_get(root, "hidden")), 1); /* mid: 1 of 15 */
	json_t *m = child(root, 0, "main", 11);
	child(root, 1, "start", 4);
	json_t *a = child(m, 0, "alpha", 7);
	assert_int_equal(json_integer_value(json_object_get(a, "self")), 2);
	child(a, 0, "c", 5);
	child(m, 1, "zeta", 3);
	assert_int_equal(json_array_size(json_object_get(m, "children")), 2);
	json_decref(root);
	free(buf);
	cp_view_free(v);
	cp_profile_free(x.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widths_and_order), cmocka_unit_test(test_ties_by_module),
		cmocka_unit_test(test_more_frames),      cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_inverted_reverse), cmocka_unit_test(test_diff),
		cmocka_unit_test(test_escaping),         cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_palettes),         cmocka_unit_test(test_countname_and_empty),
		cmocka_unit_test(test_labels),           cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
