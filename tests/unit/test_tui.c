/* test_tui.c - lib/tui's browser model, driven with keys, without curses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui.h"

/* main -> run_rounds -> hot_sixty   6 samples (pid 1, tid 1, "main")
 * main -> run_rounds -> hot_thirty  3 samples (pid 2, tid 3, "other")
 * main -> run_rounds -> hot_ten     2 samples (pid 1, tid 2, "worker")
 * main -> memcpy (libc)             1 sample  (pid 1, tid 1, "main")
 * hot_sixty's machine code is stored, its samples at 0x1200 (1),
 * 0x1203 (3) and 0x1207 (2). */
static struct cp_profile *build(void)
{
	struct cp_profile *p = cp_profile_new();
	p->meta.command = cp_profile_intern(p, "./cpu_split 700");
	p->meta.sampler = cp_profile_intern(p, "perf_event");
	p->meta.duration_nanos = 1500000000;
	p->meta.lost_samples = 4;
	cp_profile_add_value_type(p, "samples", "count");
	struct cp_profile_mapping m = { .path = "/usr/bin/cpu_split", .build_id = "" };
	uint32_t map = cp_profile_add_mapping(p, &m);
	m.path = "/lib/libc.so.6";
	uint32_t libc = cp_profile_add_mapping(p, &m);
	static const char *const names[] = { "main",       "run_rounds", "hot_sixty",
					     "hot_thirty", "hot_ten",    "memcpy" };
	uint32_t loc[6];
	for (uint32_t i = 0; i < 6; i++) {
		struct cp_profile_line l = {
			.function = cp_profile_add_function(p, names[i], names[i], "a.c", i + 1),
			.line = 10,
		};
		loc[i] = cp_profile_add_location(p, i == 5 ? libc : map, 0x1000 + i * 0x100, &l, 1);
	}
	struct {
		uint32_t leaf;
		int n;
		uint32_t pid, tid;
		const char *comm;
	} rows[] = { { 2, 6, 1, 1, "main" },
		     { 3, 3, 2, 3, "other" },
		     { 4, 2, 1, 2, "worker" },
		     { 5, 1, 1, 1, "main" } };
	/* hot_sixty's samples fall on three of its instructions (see code) */
	struct cp_profile_line l6 = p->lines.v[p->locations.v[loc[2]].line_start];
	uint32_t sixty[3] = { loc[2], cp_profile_add_location(p, map, 0x1203, &l6, 1),
			      cp_profile_add_location(p, map, 0x1207, &l6, 1) };
	static const uint8_t code[] = {
		0x48, 0x89, 0xf8,       /* 0x1200 mov rax, rdi */
		0x48, 0x83, 0xc0, 0x01, /* 0x1203 add rax, 1 */
		0x48, 0x83, 0xc0, 0x02, /* 0x1207 add rax, 2 */
		0xc3,                   /* 0x120b ret */
	};
	struct cp_profile_code_line row = { .address = 0x1200, .file = "a.c", .line = 10 };
	cp_profile_add_code(p, map, l6.function, 0x1200, code, sizeof(code), &row, 1);
	p->meta.code_max = 1 << 20;
	for (size_t r = 0; r < 4; r++) {
		uint32_t st[3] = { loc[rows[r].leaf], loc[1], loc[0] };
		if (rows[r].leaf == 5)
			st[1] = loc[0];
		for (int i = 0; i < rows[r].n; i++) {
			if (rows[r].leaf == 2)
				st[0] = sixty[i == 0 ? 0 : i < 4 ? 1 : 2];
			uint32_t s = cp_profile_add_stack(p, st, rows[r].leaf == 5 ? 2 : 3);
			struct cp_profile_sample smp = { .stack = s,
							 .pid = rows[r].pid,
							 .tid = rows[r].tid,
							 .comm = cp_profile_intern(p,
										   rows[r].comm) };
			int64_t v = 1;
			cp_profile_add_sample(p, &smp, &v);
		}
	}
	return p;
}

struct fx {
	struct cp_profile *p;
	struct cp_tui_browser *b;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct cp_view_opts vo = { .value_index = CP_NONE };
	struct cp_error err = { 0 };
	x->p = build();
	x->b = cp_tui_browser_new(x->p, &vo, "test.cprof", &err);
	assert_non_null(x->b);
	cp_tui_browser_set_height(x->b, 10);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	cp_tui_browser_free(x->b);
	cp_profile_free(x->p);
	free(x);
	return 0;
}

static const char *name(struct cp_tui_browser *b, size_t i)
{
	return cp_tui_browser_row_name(b, i);
}

static const char *cur_name(struct cp_tui_browser *b)
{
	return name(b, cp_tui_browser_cursor(b));
}

static void keys(struct cp_tui_browser *b, const char *s)
{
	for (; *s; s++)
		assert_false(cp_tui_browser_key(b, (unsigned char)*s));
}

/* Row index of the first row named n, or -1. */
static long find_row(struct cp_tui_browser *b, const char *n)
{
	for (size_t i = 0; i < cp_tui_browser_nrows(b); i++)
		if (!strcmp(name(b, i), n))
			return (long)i;
	return -1;
}

static void test_top_sort(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	char buf[512];
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	assert_int_equal(cp_tui_browser_nrows(b), 6);
	assert_string_equal(name(b, 0), "hot_sixty");
	assert_string_equal(name(b, 1), "hot_thirty");
	assert_string_equal(name(b, 2), "hot_ten");
	assert_string_equal(name(b, 3), "memcpy");
	const char *r = cp_tui_browser_row(b, 0, buf, sizeof(buf), NULL);
	assert_non_null(strstr(r, " 50.00   50.00         6  hot_sixty"));
	assert_non_null(strstr(r, "cpu_split"));
	assert_non_null(strstr(cp_tui_browser_header(b, 0, buf, sizeof(buf)), "./cpu_split 700"));
	cp_tui_browser_header(b, 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "samples: 12 (lost 4)"));
	assert_non_null(strstr(buf, "duration: 1.50 s"));
	assert_non_null(strstr(buf, "sampler: perf_event"));
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "sorted by self"));
	/* the function column lines up with its title, everything fits in 80 */
	const char *title = cp_tui_browser_columns(b);
	r = cp_tui_browser_row(b, 0, buf, sizeof(buf), NULL);
	assert_int_equal(strstr(title, "Function") - title, strstr(r, "hot_sixty") - r);
	assert_int_equal(strstr(title, "Module") - title, strstr(r, "cpu_split") - r);
	assert_true(strlen(cp_tui_browser_hints(b)) <= 80);
	keys(b, "T");
	assert_true(strlen(cp_tui_browser_hints(b)) <= 80);
	keys(b, "q");
	keys(b, "s");
	assert_string_equal(name(b, 0), "main");
	assert_string_equal(name(b, 1), "run_rounds");
	assert_string_equal(name(b, 2), "hot_sixty");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "sorted by total"));
	keys(b, "s");
	assert_string_equal(name(b, 0), "hot_sixty");
	assert_string_equal(name(b, 1), "hot_ten");
	assert_string_equal(name(b, 2), "hot_thirty");
	assert_string_equal(name(b, 3), "main");
	keys(b, "s");
	assert_string_equal(name(b, 1), "hot_thirty");
}

static void test_navigation(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	cp_tui_browser_set_height(b, 3);
	keys(b, "jj");
	assert_int_equal(cp_tui_browser_cursor(b), 2);
	assert_int_equal(cp_tui_browser_first(b), 0);
	keys(b, "j");
	assert_int_equal(cp_tui_browser_first(b), 1);
	cp_tui_browser_key(b, CP_TUI_KEY_END);
	assert_int_equal(cp_tui_browser_cursor(b), 5);
	assert_int_equal(cp_tui_browser_first(b), 3);
	cp_tui_browser_key(b, CP_TUI_KEY_DOWN);
	assert_int_equal(cp_tui_browser_cursor(b), 5);
	cp_tui_browser_key(b, CP_TUI_KEY_PGUP);
	assert_int_equal(cp_tui_browser_cursor(b), 2);
	cp_tui_browser_key(b, CP_TUI_KEY_HOME);
	assert_int_equal(cp_tui_browser_cursor(b), 0);
	assert_int_equal(cp_tui_browser_first(b), 0);
}

static void test_tree(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	char buf[512];
	keys(b, "jj\n"); /* hot_ten */
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TREE);
	assert_string_equal(cur_name(b), "hot_ten");
	long m = find_row(b, "main"), r = find_row(b, "run_rounds"), s = find_row(b, "hot_sixty");
	long t = find_row(b, "hot_ten");
	assert_true(m >= 0 && m < r && r < s && r < t);
	const char *row = cp_tui_browser_row(b, (size_t)m, buf, sizeof(buf), NULL);
	assert_non_null(strstr(row, "100.00    0.00  - main"));
	/* collapse main with Left from run_rounds' children: Left goes to the caller */
	cp_tui_browser_key(b, CP_TUI_KEY_LEFT);
	assert_string_equal(cur_name(b), "run_rounds");
	cp_tui_browser_key(b, CP_TUI_KEY_LEFT);
	assert_string_equal(cur_name(b), "run_rounds");
	assert_int_equal(find_row(b, "hot_ten"), -1);
	cp_tui_browser_key(b, CP_TUI_KEY_RIGHT);
	assert_true(find_row(b, "hot_ten") > 0);
	keys(b, "\n");
	assert_int_equal(find_row(b, "hot_ten"), -1);
	keys(b, "-");
	assert_int_equal(cp_tui_browser_nrows(b), 1);
	assert_string_equal(cur_name(b), "main");
	keys(b, "+");
	assert_int_equal(cp_tui_browser_nrows(b), 6);
	/* percentages of run_rounds */
	keys(b, "j");
	assert_string_equal(cur_name(b), "run_rounds");
	keys(b, "%");
	row = cp_tui_browser_row(b, 0, buf, sizeof(buf), NULL);
	assert_non_null(strstr(row, "109.09"));
	row = cp_tui_browser_row(b, (size_t)find_row(b, "hot_sixty"), buf, sizeof(buf), NULL);
	assert_non_null(strstr(row, " 54.55   54.55"));
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "% of run_rounds"));
	keys(b, "%");
	row = cp_tui_browser_row(b, (size_t)find_row(b, "hot_sixty"), buf, sizeof(buf), NULL);
	assert_non_null(strstr(row, " 50.00   50.00"));
	/* inverted: leaves at the roots, the cursor stays on run_rounds */
	keys(b, "i");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "inverted"));
	assert_string_equal(cur_name(b), "run_rounds");
	keys(b, "-");
	assert_string_equal(name(b, 0), "hot_sixty");
	assert_string_equal(name(b, 1), "hot_thirty");
	keys(b, "i");
	assert_string_equal(name(b, 0), "main");
	/* q back to the table, q there quits */
	keys(b, "q");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	keys(b, "T");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TREE);
	keys(b, "T");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	assert_true(cp_tui_browser_key(b, 'q'));
}

static void test_search(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	keys(b, "/hot_t");
	assert_true(cp_tui_browser_searching(b));
	assert_string_equal(cp_tui_browser_status(b), "/hot_t");
	keys(b, "\n");
	assert_false(cp_tui_browser_searching(b));
	assert_string_equal(cur_name(b), "hot_thirty");
	keys(b, "n");
	assert_string_equal(cur_name(b), "hot_ten");
	keys(b, "n");
	assert_string_equal(cur_name(b), "hot_thirty");
	keys(b, "N");
	assert_string_equal(cur_name(b), "hot_ten");
	keys(b, "/nothing\n");
	assert_string_equal(cp_tui_browser_status(b), "no match for 'nothing'");
	assert_string_equal(cur_name(b), "hot_ten");
	/* Esc cancels, Backspace edits */
	keys(b, "/mex\x7f\x7f"
		"emc\x1b");
	assert_false(cp_tui_browser_searching(b));
	assert_string_equal(cur_name(b), "hot_ten");
	keys(b, "/memc\n");
	assert_string_equal(cur_name(b), "memcpy");
	/* the tree searches closed subtrees too */
	keys(b, "T-/hot_sixty\n");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TREE);
	assert_string_equal(cur_name(b), "hot_sixty");
}

static void test_filters(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	char buf[512];
	keys(b, "t");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_PICKER);
	assert_int_equal(cp_tui_browser_nrows(b), 4);
	assert_non_null(strstr(cp_tui_browser_row(b, 0, buf, sizeof(buf), NULL), "all"));
	const char *r = cp_tui_browser_row(b, 1, buf, sizeof(buf), NULL);
	assert_non_null(strstr(r, "      1  main"));
	assert_non_null(strstr(r, "58.33%"));
	r = cp_tui_browser_row(b, 2, buf, sizeof(buf), NULL);
	assert_non_null(strstr(r, "      3  other"));
	keys(b, "j\n"); /* tid 1 */
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	assert_int_equal(cp_tui_browser_nrows(b), 4);
	assert_string_equal(name(b, 0), "hot_sixty");
	assert_int_equal(find_row(b, "hot_thirty"), -1);
	cp_tui_browser_header(b, 2, buf, sizeof(buf));
	assert_non_null(strstr(buf, "thread 1 (main)"));
	assert_non_null(strstr(buf, "7 samples"));
	/* the module picker narrows the rows */
	keys(b, "m");
	assert_int_equal(cp_tui_browser_nrows(b), 3);
	keys(b, "/libc\n\n");
	assert_int_equal(cp_tui_browser_nrows(b), 1);
	assert_string_equal(name(b, 0), "memcpy");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "module libc.so.6"));
	/* a picker opens on the active choice; "all" clears: first the
	 * module, then the thread */
	keys(b, "m");
	assert_int_equal(cp_tui_browser_cursor(b), 2);
	assert_string_equal(cp_tui_browser_row(b, 0, buf, sizeof(buf), NULL),
			    "all (clear this filter)");
	keys(b, "g\n");
	assert_int_equal(cp_tui_browser_nrows(b), 4);
	keys(b, "tg\n");
	assert_int_equal(cp_tui_browser_nrows(b), 6);
	assert_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "filter"));
	/* the process picker: pid 2 only ran hot_thirty */
	keys(b, "p");
	assert_int_equal(cp_tui_browser_nrows(b), 3);
	keys(b, "G\n");
	assert_string_equal(name(b, 0), "hot_thirty");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "process 2 (other)"));
	/* q on a picker cancels */
	keys(b, "pq");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	assert_string_equal(name(b, 0), "hot_thirty");
}

static void test_peek(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	char buf[512];
	keys(b, "s"); /* by total: run_rounds second */
	keys(b, "jc");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_PEEK);
	assert_string_equal(cur_name(b), "run_rounds");
	long caller = find_row(b, "main"), self = (long)cp_tui_browser_cursor(b);
	long s = find_row(b, "hot_sixty"), t = find_row(b, "hot_ten");
	assert_true(caller >= 0 && caller < self && self < s && s < t);
	const char *r = cp_tui_browser_row(b, (size_t)s, buf, sizeof(buf), NULL);
	assert_non_null(strstr(r, " 54.55%         6    hot_sixty  cpu_split"));
	/* Enter on a callee peeks at it */
	cp_tui_browser_key(b, CP_TUI_KEY_DOWN);
	cp_tui_browser_key(b, CP_TUI_KEY_DOWN);
	keys(b, "\n");
	assert_string_equal(cur_name(b), "hot_sixty");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "of hot_sixty"));
	keys(b, "q");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
}

static void test_help_annotate(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	char buf[512];
	keys(b, "?");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_HELP);
	bool tab = false, sort = false;
	for (size_t i = 0; i < cp_tui_browser_nrows(b); i++) {
		cp_tui_browser_row(b, i, buf, sizeof(buf), NULL);
		tab |= strstr(buf, "Tab shift-Tab") != NULL;
		sort |= strstr(buf, "sort by self, total, name") != NULL;
	}
	assert_true(tab && sort);
	keys(b, "\x1b");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	/* no stored code: the error goes to the status line, the screen stays */
	keys(b, "ja");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	assert_non_null(strstr(cp_tui_browser_status(b), "hot_thirty"));
	struct cp_error err = { 0 };
	assert_true(cp_tui_browser_annotate(b, "hot_thirty", NULL, &err) < 0);
	assert_string_equal(err.msg, cp_tui_browser_status(b));
	keys(b, "x");
	assert_non_null(strstr(cp_tui_browser_status(b), "? lists the keys"));
	keys(b, "j");
	assert_string_equal(cp_tui_browser_status(b), "");
}

static void test_annotate(void **state)
{
	struct cp_tui_browser *b = ((struct fx *)*state)->b;
	char buf[512];
	enum cp_tui_style st;
	keys(b, "a");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_ANNOTATE);
	assert_string_equal(cp_tui_browser_status(b), "");
	assert_int_equal(cp_tui_browser_nrows(b), 5);
	cp_tui_browser_row(b, 0, buf, sizeof(buf), &st);
	assert_non_null(strstr(buf, "a.c:10"));
	assert_int_equal(st, CP_TUI_STYLE_DIM);
	assert_string_equal(cp_tui_browser_row(b, 2, buf, sizeof(buf), &st),
			    "  50.00      1203  add rax, 1");
	assert_int_equal(st, CP_TUI_STYLE_HOT);
	assert_string_equal(cp_tui_browser_row(b, 4, buf, sizeof(buf), NULL),
			    "             120b  ret");
	assert_non_null(
		strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)),
		       "Annotate hot_sixty (cpu_split) 0x1200-0x120c, 6 samples (50.00% of all)"));
	/* the cursor starts on the hottest instruction; Tab follows the hot spots */
	assert_int_equal(cp_tui_browser_cursor(b), 2);
	keys(b, "\t");
	assert_int_equal(cp_tui_browser_cursor(b), 3);
	keys(b, "\t");
	assert_int_equal(cp_tui_browser_cursor(b), 1);
	keys(b, "\t");
	assert_int_equal(cp_tui_browser_cursor(b), 2);
	cp_tui_browser_key(b, CP_TUI_KEY_BTAB);
	assert_int_equal(cp_tui_browser_cursor(b), 1);
	keys(b, "/ret\n");
	assert_int_equal(cp_tui_browser_cursor(b), 4);
	keys(b, "q");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_TOP);
	/* from the peek screen too */
	keys(b, "ca");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_ANNOTATE);
	keys(b, "q");
	assert_int_equal(cp_tui_browser_screen(b), CP_TUI_PEEK);
}

/* v cycles the value types: two here, "calls" and "bytes", whose orders
 * differ; the header says which, a profile with one says so */
static void test_value_types(void **state)
{
	struct cp_profile *p = cp_profile_new();
	cp_profile_add_value_type(p, "calls", "count");
	cp_profile_add_value_type(p, "bytes", "bytes");
	struct cp_profile_mapping m = { .path = "/usr/bin/app", .build_id = "" };
	uint32_t map = cp_profile_add_mapping(p, &m);
	const char *names[2] = { "many_small", "few_big" };
	int64_t vals[2][2] = { { 100, 800 }, { 2, 1 << 20 } };
	for (uint32_t i = 0; i < 2; i++) {
		struct cp_profile_line l = {
			.function = cp_profile_add_function(p, names[i], names[i], "a.c", 1) };
		uint32_t loc = cp_profile_add_location(p, map, 0x1000 + i, &l, 1);
		struct cp_profile_sample smp = { .stack = cp_profile_add_stack(p, &loc, 1) };
		cp_profile_add_sample(p, &smp, vals[i]);
	}
	struct cp_view_opts vo = { .value_index = 0 };
	struct cp_tui_browser *b = cp_tui_browser_new(p, &vo, "heap.cprof", NULL);
	assert_non_null(b);
	char buf[512];
	assert_string_equal(name(b, 0), "many_small");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "|  calls"));
	keys(b, "v");
	assert_string_equal(name(b, 0), "few_big");
	assert_non_null(strstr(cp_tui_browser_header(b, 2, buf, sizeof(buf)), "|  bytes"));
	assert_non_null(strstr(cp_tui_browser_status(b), "showing bytes"));
	keys(b, "Tq"); /* the tree and back */
	keys(b, "v");
	assert_string_equal(name(b, 0), "many_small");
	cp_tui_browser_free(b);
	cp_profile_free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_top_sort, setup, teardown),
		cmocka_unit_test(test_value_types),
		cmocka_unit_test_setup_teardown(test_navigation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help_annotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_annotate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
