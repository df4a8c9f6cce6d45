/* opt.h - one option table per command feeds parsing, -h, --list-opts
 * (completions) and the docs-consistency test (git parse-options, curl's
 * option table). */
#ifndef CPROF_OPT_H
#define CPROF_OPT_H

#include <stdbool.h>
#include <stdio.h>

enum cp_opt_kind {
	CP_OPT_FLAG,   /* bool *dest = true (or false for --no-X style when neg) */
	CP_OPT_STRING, /* const char **dest */
	CP_OPT_LONG,   /* long *dest, checked against [min, max] */
	CP_OPT_LIST,   /* struct cp_strlist *dest; repeatable, comma-separated values split */
	CP_OPT_COUNT,  /* int *dest incremented */
	CP_OPT_END,
};

struct cp_strlist {
	const char **v;
	int n, cap;
};
/* Append a copy of s; cp_strlist_release frees the copies and the array. */
void cp_strlist_add(struct cp_strlist *l, const char *s);
void cp_strlist_release(struct cp_strlist *l);

struct cp_option {
	int short_name;       /* 0 = none */
	const char *long_name;
	const char *argname;  /* NULL: takes no argument */
	const char *help;
	enum cp_opt_kind kind;
	void *dest;
	long min, max;        /* CP_OPT_LONG range */
	const char *complete; /* completion hint: "file", "dir", "pid", "cmd" or "a|b|c" */
};

#define CP_OPT_FLAG_(s, l, h, d) { s, l, NULL, h, CP_OPT_FLAG, d, 0, 0, NULL }
#define CP_OPT_STR_(s, l, a, h, d, c) { s, l, a, h, CP_OPT_STRING, d, 0, 0, c }
#define CP_OPT_LONG_(s, l, a, h, d, mn, mx) { s, l, a, h, CP_OPT_LONG, d, mn, mx, NULL }
#define CP_OPT_LIST_(s, l, a, h, d, c) { s, l, a, h, CP_OPT_LIST, d, 0, 0, c }
#define CP_OPT_COUNT_(s, l, h, d) { s, l, NULL, h, CP_OPT_COUNT, d, 0, 0, NULL }
#define CP_OPT_END_ { 0, NULL, NULL, NULL, CP_OPT_END, NULL, 0, 0, NULL }

/* Parse argv (argv[0] is the command name).  With stop_at_nonopt, parsing
 * stops at the first non-option (for `record -- cmd args`).  On success
 * returns 0 and sets *optind_out to the first operand.  Prints usage and
 * returns 2 on a usage error; prints help (or --list-opts) and returns -1
 * when the caller should exit 0. */
int cp_opt_parse(const char *cmd, const char *const *usage, const struct cp_option *opts,
		 int argc, char **argv, bool stop_at_nonopt, int *optind_out);
void cp_opt_usage(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  FILE *out);
/* "cprof CMD: error: ..." on stderr. */
void cp_die_usage(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
