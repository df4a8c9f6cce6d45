/* opt.c - option parsing from a cp_option table (getopt_long underneath),
 * the -h text and the hidden --list-opts used by the shell completions. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "core/core.h"

void cp_strlist_add(struct cp_strlist *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = cp_xrealloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = cp_xstrdup(s);
}

void cp_strlist_release(struct cp_strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free((char *)l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void cp_opt_usage(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  FILE *out)
{
	for (int i = 0; usage && usage[i]; i++)
		fprintf(out, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	fputc('\n', out);
	for (const struct cp_option *o = opts; o->kind != CP_OPT_END; o++) {
		char left[64];
		int n = 0;
		if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c, ", o->short_name);
		else
			n = snprintf(left, sizeof(left), "    ");
		snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->long_name,
			 o->argname ? " " : "", o->argname ? o->argname : "");
		if (strlen(left) > 26)
			fprintf(out, "    %s\n%32s%s\n", left, "", o->help);
		else
			fprintf(out, "    %-26s  %s\n", left, o->help);
	}
	fprintf(out, "    %-26s  %s\n", "-h, --help", "show this help");
}

void cp_die_usage(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cprof %s: error: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cp_opt_usage(cmd, usage, opts, stderr);
}

static void list_opts(const struct cp_option *opts)
{
	for (const struct cp_option *o = opts; o->kind != CP_OPT_END; o++) {
		printf("--%s%s", o->long_name, o->argname ? "=" : "");
		if (o->short_name)
			printf(" -%c", o->short_name);
		if (o->complete)
			printf(" %s", o->complete);
		putchar('\n');
	}
	printf("--help -h\n");
}

int cp_opt_parse(const char *cmd, const char *const *usage, const struct cp_option *opts,
		 int argc, char **argv, bool stop_at_nonopt, int *optind_out)
{
	int n = 0;
	while (opts[n].kind != CP_OPT_END)
		n++;
	struct option *lo = cp_xcalloc((size_t)n + 3, sizeof(*lo));
	char *so = cp_xmalloc((size_t)n * 2 + 8);
	size_t sl = 0;
	if (stop_at_nonopt)
		so[sl++] = '+';
	so[sl++] = ':';
	for (int i = 0; i < n; i++) {
		lo[i].name = opts[i].long_name;
		lo[i].has_arg = opts[i].argname ? required_argument : no_argument;
		lo[i].val = 0x1000 + i;
		if (opts[i].short_name) {
			so[sl++] = (char)opts[i].short_name;
			if (opts[i].argname)
				so[sl++] = ':';
		}
	}
	so[sl++] = 'h';
	so[sl] = '\0';
	lo[n].name = "help";
	lo[n].val = 'h';
	lo[n + 1].name = "list-opts";
	lo[n + 1].val = 0x0fff;

	int ret = 0;
	optind = 1;
	opterr = 0;
	for (;;) {
		int li = -1;
		int c = getopt_long(argc, argv, so, lo, &li);
		if (c == -1)
			break;
		if (c == 'h') {
			cp_opt_usage(cmd, usage, opts, stdout);
			ret = -1;
			goto out;
		}
		if (c == 0x0fff) {
			list_opts(opts);
			ret = -1;
			goto out;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			if (c == ':')
				cp_die_usage(cmd, usage, opts, "option '%s' needs an argument", bad);
			else if (optopt && optopt < 0x1000)
				cp_die_usage(cmd, usage, opts, "unknown option '-%c'", optopt);
			else
				cp_die_usage(cmd, usage, opts, "unknown option '%s'", bad);
			ret = 2;
			goto out;
		}
		const struct cp_option *o = NULL;
		if (c >= 0x1000)
			o = &opts[c - 0x1000];
		else
			for (int i = 0; i < n; i++)
				if (opts[i].short_name == c)
					o = &opts[i];
		if (!o)
			continue;
		switch (o->kind) {
		case CP_OPT_FLAG:
			*(bool *)o->dest = true;
			break;
		case CP_OPT_COUNT:
			(*(int *)o->dest)++;
			break;
		case CP_OPT_STRING:
			*(const char **)o->dest = optarg;
			break;
		case CP_OPT_LONG: {
			long v;
			if (cp_parse_long(optarg, o->min, o->max, &v)) {
				cp_die_usage(cmd, usage, opts,
					     "--%s: '%s' is not a number in %ld..%ld", o->long_name,
					     optarg, o->min, o->max);
				ret = 2;
				goto out;
			}
			*(long *)o->dest = v;
			break;
		}
		case CP_OPT_LIST: {
			char *copy = cp_xstrdup(optarg), *save = NULL;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				cp_strlist_add((struct cp_strlist *)o->dest, t);
			free(copy);
			break;
		}
		case CP_OPT_END:
			break;
		}
	}
	*optind_out = optind;
out:
	free(lo);
	free(so);
	return ret;
}
