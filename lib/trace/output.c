/* output.c - the sink both engines report to: strace's lines (the
 * "[pid N] " prefix only while several tracees exist, " = " at column
 * 40, "-1 ENOENT (No such file or directory)", "+++ exited with N +++",
 * "--- SIGCHLD {...} ---", -t/-tt/-ttt, -T, -k stacks after each line)
 * or one JSON object per call; and the data of the tables at the end
 * (summary.c): one set of counts for the whole trace, or one per thread
 * or per process.
 *
 * A line is written when its call returns (one line per call, never split
 * into "<unfinished ...>" and "<... resumed>"); its timestamp is the
 * call's entry. */
#include "trace/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "profile/profile.h"
#include "proc/proc.h"

struct cp_trace_out {
	struct cp_trace_out_opts o;
	struct cp_trace_sink sink;
	struct cp_trace_stats *all;
	struct cp_u64map groups; /* tid or pid -> struct cp_trace_stats * */
	CP_VEC(uint64_t) group_keys;
	struct cp_u64map live;   /* tids seen and not ended */
	const struct cp_profile *model;
	uint64_t real_off;       /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t calls;
	struct cp_buf b;
	bool io_error;
};

/* Restart codes the kernel never lets a program see, as strace names them. */
static const char *restart_name(int e, const char **text)
{
	switch (e) {
	case 512:
		*text = "To be restarted if SA_RESTART is set";
		return "ERESTARTSYS";
	case 513:
		*text = "To be restarted";
		return "ERESTARTNOINTR";
	case 514:
		*text = "To be restarted if no handler";
		return "ERESTARTNOHAND";
	case 515:
		*text = "Inappropriate ioctl for device";
		return "ENOIOCTLCMD";
	case 516:
		*text = "Interrupted by signal";
		return "ERESTART_RESTARTBLOCK";
	}
	return NULL;
}

/* Bytes as strace quotes them: C escapes, octal for the rest. */
static void add_quoted(struct cp_buf *b, const char *s, size_t len, bool truncated)
{
	cp_buf_add_u8(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			cp_buf_add_str(b, "\\\"");
			continue;
		case '\\':
			cp_buf_add_str(b, "\\\\");
			continue;
		case '\n':
			cp_buf_add_str(b, "\\n");
			continue;
		case '\t':
			cp_buf_add_str(b, "\\t");
			continue;
		case '\r':
			cp_buf_add_str(b, "\\r");
			continue;
		case '\f':
			cp_buf_add_str(b, "\\f");
			continue;
		case '\v':
			cp_buf_add_str(b, "\\v");
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			cp_buf_add_u8(b, c);
		} else {
			/* the shortest octal form, unless a digit follows */
			bool digit = i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7';
			if (digit)
				cp_buf_printf(b, "\\%03o", c);
			else
				cp_buf_printf(b, "\\%o", c);
		}
	}
	cp_buf_add_u8(b, '"');
	if (truncated)
		cp_buf_add_str(b, "...");
}

/* Bytes as a JSON string: control characters \u-escaped, bytes over 0x7f
 * as \u00XX (each byte its own code point: always valid JSON, nothing
 * lost). */
static void add_json_bytes(struct cp_buf *b, const char *s, size_t len)
{
	cp_buf_add_u8(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			cp_buf_add_u8(b, '\\');
			cp_buf_add_u8(b, c);
		} else if (c == '\n') {
			cp_buf_add_str(b, "\\n");
		} else if (c == '\t') {
			cp_buf_add_str(b, "\\t");
		} else if (c < 0x20 || c >= 0x7f) {
			cp_buf_printf(b, "\\u%04x", c);
		} else {
			cp_buf_add_u8(b, c);
		}
	}
	cp_buf_add_u8(b, '"');
}

static void add_json_text(struct cp_buf *b, const char *s)
{
	add_json_bytes(b, s, strlen(s));
}

static void flush_line(struct cp_trace_out *out)
{
	if (out->b.len && fwrite(out->b.p, 1, out->b.len, out->o.f) != out->b.len)
		out->io_error = true;
	out->b.len = 0;
}

static void add_prefix(struct cp_trace_out *out, uint32_t tid, uint64_t ns)
{
	struct cp_buf *b = &out->b;
	if (out->live.n > 1)
		cp_buf_printf(b, "[pid %5u] ", tid);
	if (out->o.timestamps) {
		uint64_t rt = ns + out->real_off;
		time_t sec = (time_t)(rt / 1000000000ull);
		unsigned us = (unsigned)(rt % 1000000000ull / 1000);
		if (out->o.timestamps >= 3) {
			cp_buf_printf(b, "%lld.%06u ", (long long)sec, us);
		} else {
			struct tm tm;
			localtime_r(&sec, &tm);
			cp_buf_printf(b, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
			if (out->o.timestamps == 2)
				cp_buf_printf(b, ".%06u", us);
			cp_buf_add_u8(b, ' ');
		}
	}
}

static void add_arg(struct cp_buf *b, const struct cp_trace_arg *a)
{
	switch (a->kind) {
	case CP_TA_STR:
		add_quoted(b, a->s, a->len, a->truncated);
		break;
	default:
		cp_buf_add_str(b, a->text ? a->text : "?");
		break;
	}
	if (a->path)
		cp_buf_printf(b, "<%s>", a->path);
}

/* " > module(function) [0xADDR]" per frame, inline frames each on its own
 * line, innermost first, as strace -k. */
static void add_stack_lines(struct cp_trace_out *out, uint32_t stack)
{
	const struct cp_profile *m = out->model;
	if (!m || stack == CP_NONE || stack >= m->stacks.n)
		return;
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(m, stack, &n);
	for (uint32_t i = 0; i < n; i++) {
		const struct cp_profile_location *l = &m->locations.v[locs[i]];
		const char *mod = l->mapping != CP_NONE ? m->mappings.v[l->mapping].path : "?";
		if (!l->nlines) {
			cp_buf_printf(&out->b, " > %s() [0x%llx]\n", mod, (unsigned long long)l->address);
			continue;
		}
		for (uint32_t k = 0; k < l->nlines; k++) {
			const struct cp_profile_line *ln = &m->lines.v[l->line_start + k];
			const struct cp_profile_function *f = &m->functions.v[ln->function];
			cp_buf_printf(&out->b, " > %s(%s", mod, f->name);
			if (f->filename && *f->filename && ln->line)
				cp_buf_printf(&out->b, " %s:%lld", f->filename, (long long)ln->line);
			cp_buf_printf(&out->b, ") [0x%llx]%s\n", (unsigned long long)l->address,
				ln->inlined ? " (inlined)" : "");
		}
	}
}

static void add_json_stack(struct cp_trace_out *out, uint32_t stack)
{
	const struct cp_profile *m = out->model;
	struct cp_buf *b = &out->b;
	if (!m || stack == CP_NONE || stack >= m->stacks.n)
		return;
	uint32_t n;
	const uint32_t *locs = cp_profile_stack_locs(m, stack, &n);
	cp_buf_add_str(b, ",\"stack\":[");
	bool first = true;
	for (uint32_t i = 0; i < n; i++) {
		const struct cp_profile_location *l = &m->locations.v[locs[i]];
		const char *mod = l->mapping != CP_NONE ? m->mappings.v[l->mapping].path : "";
		uint32_t nl = l->nlines ? l->nlines : 1;
		for (uint32_t k = 0; k < nl; k++) {
			cp_buf_add_str(b, first ? "{" : ",{");
			first = false;
			if (l->nlines) {
				const struct cp_profile_line *ln = &m->lines.v[l->line_start + k];
				const struct cp_profile_function *f = &m->functions.v[ln->function];
				cp_buf_add_str(b, "\"function\":");
				add_json_text(b, f->name);
				if (f->filename && *f->filename) {
					cp_buf_add_str(b, ",\"file\":");
					add_json_text(b, f->filename);
					cp_buf_printf(b, ",\"line\":%lld", (long long)ln->line);
				}
				if (ln->inlined)
					cp_buf_add_str(b, ",\"inlined\":true");
				cp_buf_add_str(b, ",");
			}
			cp_buf_add_str(b, "\"module\":");
			add_json_text(b, mod);
			cp_buf_printf(b, ",\"address\":\"0x%llx\"}", (unsigned long long)l->address);
		}
	}
	cp_buf_add_str(b, "]");
}

static void text_line(struct cp_trace_out *out, const struct cp_trace_call *c)
{
	struct cp_buf *b = &out->b;
	char nb[32];
	add_prefix(out, c->tid, c->enter_ns);
	cp_buf_printf(b, "%s(", cp_trace_syscall_name(c->nr, nb, sizeof(nb)));
	if (c->nargs < 0) {
		for (int i = 0; i < CP_TRACE_MAX_ARGS; i++)
			cp_buf_printf(b, "%s%#llx", i ? ", " : "", (unsigned long long)c->args[i]);
	}
	for (int i = 0; i < c->nargs; i++) {
		if (i)
			cp_buf_add_str(b, ", ");
		add_arg(b, &c->dargs[i]);
	}
	cp_buf_add_u8(b, ')');
	/* "= " at column 40 of the line (prefix included), as strace */
	size_t col = b->len;
	while (col < 39) {
		cp_buf_add_u8(b, ' ');
		col++;
	}
	if (!c->returned) {
		cp_buf_add_str(b, " = ?");
	} else if (c->ret < 0 && c->ret >= -4095) {
		int e = (int)-c->ret;
		const char *text, *rn = restart_name(e, &text);
		if (rn) {
			cp_buf_printf(b, " = ? %s (%s)", rn, text);
		} else {
			const char *name = cp_trace_errno_name(e);
			if (name)
				cp_buf_printf(b, " = -1 %s (%s)", name, strerror(e));
			else
				cp_buf_printf(b, " = -1 E%d (%s)", e, strerror(e));
		}
	} else if (c->dret) {
		cp_buf_add_str(b, " = ");
		add_arg(b, c->dret);
	} else {
		cp_buf_printf(b, " = %lld", (long long)c->ret);
	}
	if (out->o.durations && c->returned) {
		uint64_t d = c->exit_ns > c->enter_ns ? c->exit_ns - c->enter_ns : 0;
		cp_buf_printf(b, " <%llu.%06llu>", (unsigned long long)(d / 1000000000ull),
			(unsigned long long)(d % 1000000000ull / 1000));
	}
	cp_buf_add_u8(b, '\n');
	if (out->o.stacks)
		add_stack_lines(out, c->stack);
}

static void json_arg(struct cp_buf *b, const struct cp_trace_arg *a)
{
	if (a->path)
		cp_buf_add_str(b, "{\"fd\":");
	if (a->kind == CP_TA_STR)
		add_json_bytes(b, a->s, a->len);
	else if (a->kind == CP_TA_NUM && a->text)
		cp_buf_add_str(b, a->text);
	else
		add_json_text(b, a->text ? a->text : "");
	if (a->path) {
		cp_buf_add_str(b, ",\"path\":");
		add_json_text(b, a->path);
		cp_buf_add_u8(b, '}');
	}
}

static void json_line(struct cp_trace_out *out, const struct cp_trace_call *c)
{
	struct cp_buf *b = &out->b;
	char nb[32];
	cp_buf_printf(b, "{\"time_ns\":%llu,\"pid\":%u,\"tid\":%u,\"syscall\":",
		(unsigned long long)(c->enter_ns + out->real_off), c->pid, c->tid);
	add_json_text(b, cp_trace_syscall_name(c->nr, nb, sizeof(nb)));
	cp_buf_add_str(b, ",\"args\":[");
	if (c->nargs < 0)
		for (int i = 0; i < CP_TRACE_MAX_ARGS; i++)
			cp_buf_printf(b, "%s\"%#llx\"", i ? "," : "", (unsigned long long)c->args[i]);
	for (int i = 0; i < c->nargs; i++) {
		if (i)
			cp_buf_add_u8(b, ',');
		json_arg(b, &c->dargs[i]);
	}
	cp_buf_add_u8(b, ']');
	if (!c->returned) {
		cp_buf_add_str(b, ",\"ret\":null,\"returned\":false");
	} else {
		if (c->ret < 0 && c->ret >= -4095) {
			int e = (int)-c->ret;
			const char *text, *name = restart_name(e, &text);
			if (!name)
				name = cp_trace_errno_name(e);
			cp_buf_printf(b, ",\"ret\":-1,\"errno\":");
			if (name)
				add_json_text(b, name);
			else
				cp_buf_printf(b, "%d", e);
		} else if (c->dret && c->dret->kind != CP_TA_NUM) {
			/* pointers (mmap, brk) as strings, the number kept */
			cp_buf_add_str(b, ",\"ret\":");
			add_json_text(b, c->dret->text ? c->dret->text : "");
		} else {
			cp_buf_printf(b, ",\"ret\":%lld", (long long)c->ret);
		}
		if (c->dret && c->dret->path) {
			cp_buf_add_str(b, ",\"ret_path\":");
			add_json_text(b, c->dret->path);
		}
		cp_buf_printf(b, ",\"duration_ns\":%llu",
			(unsigned long long)(c->exit_ns > c->enter_ns ? c->exit_ns - c->enter_ns : 0));
	}
	add_json_stack(out, c->stack);
	cp_buf_add_str(b, "}\n");
}

static struct cp_trace_stats *group_of(struct cp_trace_out *out, uint64_t key)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&out->groups, key, 0, &added);
	if (added) {
		*v = (uint64_t)(uintptr_t)cp_trace_stats_new(out->o.latency);
		CP_VEC_PUSH(out->group_keys, key);
	}
	return (struct cp_trace_stats *)(uintptr_t)*v;
}

static void on_call(void *arg, const struct cp_trace_call *c)
{
	struct cp_trace_out *out = arg;
	out->calls++;
	cp_u64map_put(&out->live, c->tid, 1);
	if (out->o.summary || out->o.latency) {
		cp_trace_stats_add(out->all, c, out->o.cpu_time);
		if (out->o.per_thread)
			cp_trace_stats_add(group_of(out, c->tid), c, out->o.cpu_time);
		else if (out->o.per_process)
			cp_trace_stats_add(group_of(out, c->pid), c, out->o.cpu_time);
	}
	if (out->o.lines) {
		if (out->o.json)
			json_line(out, c);
		else
			text_line(out, c);
		flush_line(out);
	}
	/* a thread that will not return is gone; a process leaves with its
	 * "+++ exited" line */
	if (!c->returned && c->tid != c->pid)
		cp_u64map_del(&out->live, c->tid);
}

static void on_totals(void *arg, const struct cp_trace_totals *tt)
{
	struct cp_trace_out *out = arg;
	out->calls += tt->calls;
	cp_trace_stats_add_totals(out->all, tt);
}

static void on_signal(void *arg, uint32_t pid, uint32_t tid, int signo, const char *info,
		      uint64_t ns)
{
	struct cp_trace_out *out = arg;
	char sb[32];
	if (!out->o.lines)
		return;
	const char *name = cp_trace_signame(signo, sb, sizeof(sb));
	if (out->o.json) {
		cp_buf_printf(&out->b, "{\"time_ns\":%llu,\"pid\":%u,\"tid\":%u,\"signal\":",
			(unsigned long long)(ns + out->real_off), pid, tid);
		add_json_text(&out->b, name);
		cp_buf_add_str(&out->b, ",\"info\":");
		add_json_text(&out->b, info ? info : "");
		cp_buf_add_str(&out->b, "}\n");
	} else {
		add_prefix(out, tid, ns);
		cp_buf_printf(&out->b, "--- %s {%s} ---\n", name, info ? info : "");
	}
	flush_line(out);
}

static void on_proc_exit(void *arg, uint32_t pid, int status, uint64_t ns)
{
	struct cp_trace_out *out = arg;
	char sb[32];
	if (out->o.lines) {
		if (out->o.json) {
			cp_buf_printf(&out->b, "{\"time_ns\":%llu,\"pid\":%u,",
				(unsigned long long)(ns + out->real_off), pid);
			if (WIFSIGNALED(status)) {
				cp_buf_add_str(&out->b, "\"killed_by\":");
				add_json_text(&out->b,
					      cp_trace_signame(WTERMSIG(status), sb, sizeof(sb)));
				if (WCOREDUMP(status))
					cp_buf_add_str(&out->b, ",\"core_dumped\":true");
			} else {
				cp_buf_printf(&out->b, "\"exited\":%d", WEXITSTATUS(status));
			}
			cp_buf_add_str(&out->b, "}\n");
		} else {
			add_prefix(out, pid, ns);
			if (WIFSIGNALED(status))
				cp_buf_printf(&out->b, "+++ killed by %s%s +++\n",
					cp_trace_signame(WTERMSIG(status), sb, sizeof(sb)),
					WCOREDUMP(status) ? " (core dumped)" : "");
			else
				cp_buf_printf(&out->b, "+++ exited with %d +++\n", WEXITSTATUS(status));
		}
		flush_line(out);
	}
	cp_u64map_del(&out->live, pid);
}

struct cp_trace_out *cp_trace_out_new(const struct cp_trace_out_opts *o)
{
	struct cp_trace_out *out = cp_xcalloc(1, sizeof(*out));
	out->o = *o;
	out->sink = (struct cp_trace_sink){
		.arg = out,
		.call = on_call,
		.signal = on_signal,
		.exit = on_proc_exit,
		.totals = on_totals,
	};
	out->all = cp_trace_stats_new(o->latency);
	cp_u64map_init(&out->groups);
	cp_u64map_init(&out->live);
	out->real_off = cp_realtime_ns() - cp_now_ns();
	return out;
}

const struct cp_trace_sink *cp_trace_out_sink(struct cp_trace_out *out)
{
	return &out->sink;
}

void cp_trace_out_set_model(struct cp_trace_out *out, const struct cp_profile *model)
{
	out->model = model;
}

uint64_t cp_trace_out_calls(const struct cp_trace_out *out)
{
	return out->calls;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int cp_trace_out_finish(struct cp_trace_out *out, uint64_t lost, uint64_t dropped,
			const char *why, struct cp_error *err)
{
	FILE *f = out->o.f;
	bool grouped = out->o.per_thread || out->o.per_process;
	const char *what = out->o.per_thread ? "thread" : "process";
	const char *whats = out->o.per_thread ? "threads" : "processes";
	if (out->o.summary) {
		if (!out->o.json)
			fprintf(f, out->o.cpu_time
					   ? "(seconds: system CPU time inside the calls)\n"
					   : "(seconds: wall time from entry to exit of each call, "
					     "as strace -w)\n");
		if (grouped) {
			qsort(out->group_keys.v, out->group_keys.n, sizeof(uint64_t), cmp_u64);
			for (size_t i = 0; i < out->group_keys.n; i++) {
				uint64_t k = out->group_keys.v[i];
				if (out->o.json)
					fprintf(f, "{\"%s\":%llu}\n", out->o.per_thread ? "tid" : "pid",
						(unsigned long long)k);
				else
					fprintf(f, "%s%s %llu:\n", i ? "\n" : "", what,
						(unsigned long long)k);
				cp_trace_stats_table(group_of(out, k), f, out->o.sort, out->o.json,
						     out->o.cpu_time);
			}
			if (!out->o.json)
				fprintf(f, "\nall %s:\n", whats);
		}
		cp_trace_stats_table(out->all, f, out->o.sort, out->o.json, out->o.cpu_time);
	}
	if (out->o.latency) {
		if (out->o.summary && !out->o.json)
			fputc('\n', f);
		cp_trace_stats_latency(out->all, f, out->o.json);
	}
	if (lost || dropped) {
		if (out->o.json)
			fprintf(f, "{\"lost_events\":%llu,\"unpaired_calls\":%llu}\n",
				(unsigned long long)lost, (unsigned long long)dropped);
		else if (lost)
			fprintf(f,
				"%llu events lost: the reader fell behind and the kernel dropped "
				"them; %llu calls whose enter or exit was lost are not counted "
				"(a larger --mmap-pages helps)\n",
				(unsigned long long)lost, (unsigned long long)dropped);
		else
			fprintf(f, "%llu calls are not counted: %s\n", (unsigned long long)dropped,
				why ? why
				    : "their enter or exit was not seen (entered before tracing "
				      "began)");
	}
	if (fflush(f) || ferror(f) || out->io_error)
		return cp_error_errno(err, CP_E_IO, errno ? errno : EIO, "cannot write the output");
	return 0;
}

void cp_trace_out_free(struct cp_trace_out *out)
{
	if (!out)
		return;
	for (size_t i = 0; i < out->group_keys.n; i++) {
		uint64_t *v = cp_u64map_find(&out->groups, out->group_keys.v[i]);
		if (v)
			cp_trace_stats_free((struct cp_trace_stats *)(uintptr_t)*v);
	}
	CP_VEC_FREE(out->group_keys);
	cp_u64map_release(&out->groups);
	cp_u64map_release(&out->live);
	cp_trace_stats_free(out->all);
	cp_buf_release(&out->b);
	free(out);
}
