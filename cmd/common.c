/* common.c - sampling options, progress line and summary shared by the
 * record and attach commands. */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"

int sampling_check(const char *cmd, const char *const *usage, const struct cp_option *opts,
		   const struct sampling_args *a)
{
	if (a->event && strcmp(a->event, "cycles") && strcmp(a->event, "cpu-clock") &&
	    strcmp(a->event, "task-clock")) {
		cp_die_usage(cmd, usage, opts,
			     "--event: unknown event '%s' (cycles, cpu-clock, task-clock)", a->event);
		return 2;
	}
	if (strcmp(a->callgraph, "dwarf") && strcmp(a->callgraph, "fp")) {
		cp_die_usage(cmd, usage, opts, "--call-graph: '%s' is not dwarf or fp",
			     a->callgraph);
		return 2;
	}
	if (a->sampler && strcmp(a->sampler, "perf") && strcmp(a->sampler, "ptrace")) {
		cp_die_usage(cmd, usage, opts, "--sampler: '%s' is not perf or ptrace", a->sampler);
		return 2;
	}
	if (a->wall && a->sampler && !strcmp(a->sampler, "perf")) {
		cp_die_usage(cmd, usage, opts,
			     "--wall needs the ptrace sampler (perf_event cannot sample blocked "
			     "threads)");
		return 2;
	}
	bool ptrace = a->wall || (a->sampler && !strcmp(a->sampler, "ptrace"));
	if (ptrace && a->event && strcmp(a->event, "cpu-clock")) {
		cp_die_usage(cmd, usage, opts, "--event %s needs the perf sampler (ptrace samples %s)",
			     a->event, a->wall ? "wall-clock time" : "cpu-clock");
		return 2;
	}
	if (ptrace && a->mmap_pages) {
		cp_die_usage(cmd, usage, opts, "--mmap-pages applies to the perf sampler only");
		return 2;
	}
	if (a->stack_size && a->stack_size % 8) {
		cp_die_usage(cmd, usage, opts, "--stack-size: %ld is not a multiple of 8",
			     a->stack_size);
		return 2;
	}
	if (a->mmap_pages & (a->mmap_pages - 1)) {
		cp_die_usage(cmd, usage, opts, "--mmap-pages: %ld is not a power of two",
			     a->mmap_pages);
		return 2;
	}
	if (!strcmp(a->output, "-") && isatty(STDOUT_FILENO)) {
		cmd_error(cmd, "refusing to write binary data to a terminal (-o -)");
		return 2;
	}
	return 0;
}

void sampling_fill(const struct sampling_args *a, struct cp_record_opts *o)
{
	o->output = a->output;
	o->perf.event = a->event;
	o->perf.freq = (int)a->freq;
	o->perf.callgraph = strcmp(a->callgraph, "fp") ? CP_CG_DWARF : CP_CG_FP;
	if (a->stack_size) {
		o->perf.stack_size = (uint32_t)a->stack_size;
		o->perf.stack_size_set = true;
	}
	o->perf.mmap_pages = (int)a->mmap_pages;
	o->sampler = !a->sampler		      ? CP_SAMPLER_AUTO
		     : !strcmp(a->sampler, "ptrace") ? CP_SAMPLER_PTRACE
						      : CP_SAMPLER_PERF;
	o->wall = a->wall;
}

void sampling_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigprocmask(SIG_BLOCK, set, NULL);
}

void sampling_progress(const char *cmd, const struct cp_recorder *rec, uint64_t start_ns,
		       bool final)
{
	struct cp_record_stats st;
	cp_recorder_stats(rec, &st);
	double secs = (double)(cp_now_ns() - start_ns) / 1e9;
	fprintf(stderr, "\rcprof %s: %.1f s, %llu samples, %llu lost\033[K", cmd, secs,
		(unsigned long long)st.samples, (unsigned long long)st.lost);
	if (final)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

void sampling_summary(const char *cmd, const struct cp_recorder *rec,
		      const struct sampling_args *a)
{
	struct cp_record_stats st;
	cp_recorder_stats(rec, &st);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	cp_log(CP_LOG_INFO,
	       "recorder cpu time %.3f s user, %.3f s system; %llu complete, %llu cut, "
	       "%llu spliced, %llu without unwind info",
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	       (unsigned long long)st.complete, (unsigned long long)st.cut,
	       (unsigned long long)st.spliced, (unsigned long long)st.noinfo);
	if (st.samples)
		cp_log(CP_LOG_INFO, "first sample stored %.1f ms after the start, at %llu.%06llu",
		       (double)st.first_sample_ns / 1e6,
		       (unsigned long long)(st.first_sample_realtime / 1000000000ULL),
		       (unsigned long long)(st.first_sample_realtime % 1000000000ULL / 1000));
	if (st.lost)
		cmd_warning(cmd,
			    "%llu samples lost (ring buffer overrun); try a larger --mmap-pages or "
			    "a lower -F",
			    (unsigned long long)st.lost);
	if (!a->quiet)
		fprintf(stderr, "cprof %s: %llu sample%s (%s%s, %ld Hz) written to %s\n", cmd,
			(unsigned long long)st.samples, st.samples == 1 ? "" : "s",
			st.event ? st.event : "?",
			cp_recorder_sampler(rec) && !strcmp(cp_recorder_sampler(rec), "ptrace")
				? " via ptrace"
				: "",
			a->freq,
			strcmp(a->output, "-") ? a->output : "standard output");
}
