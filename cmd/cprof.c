/* cprof.c - main(): global flags, the subcommand table, nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"

static const struct cmd_desc commands[] = {
	{ "record", cmd_record, "run a command and record its CPU profile" },
	{ "heap", cmd_heap, "run a command and record every allocation (or a sample) with its stack" },
	{ "serve", cmd_serve, "pprof HTTP endpoints (CPU, and heap of a program it runs) and profiling sessions" },
	{ "agent", cmd_agent, "take start/stop commands from cprof serve --control by heartbeat" },
	{ "attach", cmd_attach, "sample running processes until Ctrl-C, -d or their exit" },
	{ "report", cmd_report, "show a recording: top functions, call tree" },
	{ "convert", cmd_convert, "convert profiles between formats: pprof, folded, speedscope, perf script" },
	{ "flame", cmd_flame, "draw an interactive flame graph (SVG) of any profile, or a differential one" },
	{ "strace-lite", cmd_strace_lite, "trace system calls: strace's lines, -c table, latency, stacks; -p never stops the process" },
	{ "symbolize", cmd_symbolize, "addresses to functions, files and lines (addr2line-compatible)" },
};

static const char *log_cmd = "";

static void vmsg(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "cprof%s%s: %s: ", *cmd ? " " : "", cmd, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cmd_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(cmd, "error", fmt, ap);
	va_end(ap);
}

void cmd_warning(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(cmd, "warning", fmt, ap);
	va_end(ap);
}

void cmd_notice(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(cmd, "notice", fmt, ap);
	va_end(ap);
}

static void log_sink(enum cp_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "notice", "info", "debug" };
	(void)arg;
	fprintf(stderr, "cprof%s%s: %s: %s\n", *log_cmd ? " " : "", log_cmd, names[level], msg);
}

void cmd_set_log_prefix(const char *cmd)
{
	log_cmd = cmd;
	cp_log_set_sink(log_sink, NULL);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: cprof [-v | --verbose] [--version] [-h | --help] <command> [<args>]\n\n"
		     "commands:\n");
	for (size_t i = 0; i < CP_ARRAY_SIZE(commands); i++)
		fprintf(out, "   %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'cprof <command> -h' lists a command's options; "
		     "'cprof help <command>' opens its manual page.\n");
}

static const struct cmd_desc *find_cmd(const char *name)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[64];
	if (lb >= CP_ARRAY_SIZE(d))
		return 99;
	for (size_t j = 0; j <= lb; j++)
		d[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = d[0];
		d[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = d[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			best = CP_MIN(best, d[j] + 1);
			best = CP_MIN(best, d[j - 1] + 1);
			d[j] = best;
			prev = cur;
		}
	}
	return d[lb];
}

/* Check stdout after the command, as git's run_builtin does: a write error
 * (disk full) must not pass silently.  EPIPE is the reader's choice. */
static int finish_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE) {
			fprintf(stderr, "cprof: error: cannot write to standard output: %s\n",
				strerror(errno));
			return rc ? rc : 1;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	int verbose = 0;
	int i = 1;
	/* A closed reader (| head) ends us quietly, like other filters. */
	signal(SIGPIPE, SIG_DFL);
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose++;
		} else if (!strcmp(a, "--version")) {
			printf("cprof %s\n", CP_VERSION);
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--list-cmds")) {
			for (size_t k = 0; k < CP_ARRAY_SIZE(commands); k++)
				printf("%s\n", commands[k].name);
			return 0;
		} else {
			fprintf(stderr, "cprof: error: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cp_log_set_level(verbose >= 2 ? CP_LOG_DEBUG : verbose ? CP_LOG_INFO : CP_LOG_NOTICE);
	if (!strcmp(argv[i], "help")) {
		if (i + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		if (!find_cmd(argv[i + 1])) {
			fprintf(stderr, "cprof: error: no such command '%s'\n", argv[i + 1]);
			return 2;
		}
		char page[64];
		snprintf(page, sizeof(page), "cprof-%s", argv[i + 1]);
		execlp("man", "man", page, (char *)NULL);
		fprintf(stderr, "cprof: error: cannot run 'man %s': %s\n", page, strerror(errno));
		return 1;
	}
	const struct cmd_desc *c = find_cmd(argv[i]);
	if (!c) {
		fprintf(stderr, "cprof: error: '%s' is not a cprof command\n", argv[i]);
		for (size_t k = 0; k < CP_ARRAY_SIZE(commands); k++)
			if (edit_distance(argv[i], commands[k].name) <= 2)
				fprintf(stderr, "\tdid you mean '%s'?\n", commands[k].name);
		usage(stderr);
		return 2;
	}
	cmd_set_log_prefix(c->name);
	return finish_stdout(c->fn(argc - i, argv + i));
}
