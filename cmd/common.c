/* common.c - what commands share (see common.h): the sampling options,
 * progress line and summary of record and attach; the input, filters,
 * --sample-type and output files of report, convert and flame. */
#include "common.h"
#include "push/push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"

char *cmd_join_args(char **argv)
{
	struct cp_buf b = { 0 };
	for (int i = 0; argv[i]; i++) {
		if (i)
			cp_buf_add_u8(&b, ' ');
		cp_buf_add(&b, argv[i], strlen(argv[i]));
	}
	cp_buf_add_u8(&b, 0);
	return (char *)b.p;
}

char *cmd_proc_cmdline(pid_t pid)
{
	char path[64];
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	char *c = cp_read_file(path, &len);
	for (size_t i = 0; c && i + 1 < len; i++)
		if (c[i] == '\0')
			c[i] = ' ';
	return c;
}

int cmd_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !(*s >= '0' && *s <= '9'))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	const char *units = "kmgKMG", *u = *end ? strchr(units, *end) : NULL;
	if (u) {
		shift = 10 * (1 + (unsigned)(u - units) % 3);
		end++;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

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
	uint64_t code_max;
	if (a->code_max && cmd_parse_size(a->code_max, &code_max)) {
		cp_die_usage(cmd, usage, opts,
			     "--code-max: '%s' is not a size in bytes (e.g. 16M, 0 for none)",
			     a->code_max);
		return 2;
	}
	if (a->mmap_pages & (a->mmap_pages - 1)) {
		cp_die_usage(cmd, usage, opts, "--mmap-pages: %ld is not a power of two",
			     a->mmap_pages);
		return 2;
	}
	if (a->all_cpus && (a->wall || (a->sampler && !strcmp(a->sampler, "ptrace")))) {
		cp_die_usage(cmd, usage, opts,
			     "-a samples every process through perf_event: %s cannot",
			     a->wall ? "--wall (ptrace)" : "--sampler ptrace");
		return 2;
	}
	uint64_t every;
	unsigned formats;
	struct cp_error err = { 0 };
	if (a->every && (cp_parse_duration(a->every, &every) || every < 10000000ULL)) {
		cp_die_usage(cmd, usage, opts,
			     "--every: '%s' is not a duration of 10ms or more (e.g. 60s, 500ms, 2m)",
			     a->every);
		return 2;
	}
	if (!a->every && (a->output_dir || a->formats || a->keep || a->title)) {
		cp_die_usage(cmd, usage, opts, "%s applies to continuous recording (--every)",
			     a->output_dir ? "--output-dir"
			     : a->formats  ? "--format"
			     : a->keep     ? "--keep"
					   : "--title");
		return 2;
	}
	const char *push_opt = a->service	  ? "--service"
			       : a->labels	  ? "--labels"
			       : a->push_token_file ? "--push-token-file"
			       : a->push_ca	  ? "--push-ca"
			       : a->spool_dir	  ? "--spool-dir"
			       : a->spool_max	  ? "--spool-max"
						  : NULL;
	if (push_opt && !a->push) {
		cp_die_usage(cmd, usage, opts, "%s goes with --push", push_opt);
		return 2;
	}
	if (a->push && !a->every) {
		cp_die_usage(cmd, usage, opts, "--push sends periods: it needs --every");
		return 2;
	}
	if (a->push && !a->service) {
		cp_die_usage(cmd, usage, opts, "--push needs --service NAME (what the store files "
					       "the periods under)");
		return 2;
	}
	uint64_t spool_max;
	if (a->spool_max && (cmd_parse_size(a->spool_max, &spool_max) || spool_max < 4096)) {
		cp_die_usage(cmd, usage, opts,
			     "--spool-max: '%s' is not a size of 4K or more (K, M, G suffixes)",
			     a->spool_max);
		return 2;
	}
	if (a->every && a->output) {
		cp_die_usage(cmd, usage, opts,
			     "-o writes one recording; with --every the periods go to --output-dir");
		return 2;
	}
	if (a->formats && cp_period_parse_formats(a->formats, &formats, &err)) {
		cp_die_usage(cmd, usage, opts, "--format: %s", err.msg);
		return 2;
	}
	if (a->output_dir && !a->output_dir[0]) {
		cp_die_usage(cmd, usage, opts, "--output-dir: empty directory name");
		return 2;
	}
	if (a->output && !strcmp(a->output, "-") && isatty(STDOUT_FILENO)) {
		cmd_error(cmd, "refusing to write binary data to a terminal (-o -)");
		return 2;
	}
	return 0;
}

void sampling_fill(const struct sampling_args *a, struct cp_record_opts *o)
{
	o->output = a->output ? a->output : "cprof.data";
	o->periodic = a->every != NULL;
	o->perf.system_wide = a->all_cpus;
	static char *cache_dir; /* lives as long as the command */
	if (!cache_dir)
		cache_dir = cp_cache_dir();
	o->cache_dir = cache_dir;
	o->perf.user_only = a->user_only;
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
	if (a->code_max)
		cmd_parse_size(a->code_max, &o->code_max); /* checked by sampling_check */
	o->debuginfod_timeout = (double)a->debuginfod_timeout;
}

void sampling_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR2); /* --every: end the period now */
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
			a->every	       ? "periods (below)"
			: !a->output	       ? "cprof.data"
			: strcmp(a->output, "-") ? a->output
					       : "standard output");
}

/* ---- continuous recording ---------------------------------------------------- */

static void push_sink(void *arg, const struct cp_profile *p)
{
	struct cp_error err = { 0 };
	if (cp_push_profile(arg, p, &err))
		cp_log(CP_LOG_WARN, "%s", err.msg);
}

static int push_start(const struct sampling_args *a, struct periodic *P, struct cp_error *err)
{
	char *token = NULL, *spool = NULL;
	if (a->push_token_file) {
		token = cp_read_file(a->push_token_file, NULL);
		if (!token)
			return cp_error_errno(err, CP_E_USAGE, errno, "--push-token-file %s",
					      a->push_token_file);
		token[strcspn(token, "\r\n")] = '\0';
	}
	if (a->spool_dir) {
		spool = cp_xstrdup(a->spool_dir);
	} else if (a->output_dir) {
		spool = cp_xasprintf("%s/.spool", a->output_dir);
	} else {
		char *cache = cp_cache_dir();
		spool = cache ? cp_xasprintf("%s/spool/%s", cache, a->service) : NULL;
		free(cache);
		if (!spool) {
			free(token);
			return cp_error_set(err, CP_E_USAGE,
					    "--push: no spool directory (give --spool-dir; HOME is "
					    "not set)");
		}
	}
	uint64_t spool_max = 0;
	if (a->spool_max)
		cmd_parse_size(a->spool_max, &spool_max); /* checked before */
	struct cp_push_opts po = { .url = a->push, .service = a->service, .labels = a->labels,
				   .token = token, .ca_file = a->push_ca, .spool_dir = spool,
				   .spool_max = spool_max };
	P->push = cp_push_new(&po, err);
	free(token);
	free(spool);
	return P->push ? 0 : err->code;
}

int periodic_start(const char *cmd, const struct sampling_args *a, struct periodic *P)
{
	memset(P, 0, sizeof(*P));
	if (!a->every)
		return 0;
	struct cp_period_opts o = {
		.dir = a->output_dir ? a->output_dir : ".",
		.formats = CP_PERIOD_CPROF | CP_PERIOD_PPROF | CP_PERIOD_SVG,
		.keep = (unsigned)a->keep,
		.title = a->title,
	};
	struct cp_error err = { 0 };
	if (a->formats)
		cp_period_parse_formats(a->formats, &o.formats, &err); /* checked before */
	cp_parse_duration(a->every, &P->every_ns);
	if (a->push) {
		if (push_start(a, P, &err)) {
			cmd_error(cmd, "%s", err.msg);
			return err.code == CP_E_USAGE ? 2 : 1;
		}
		o.sink = push_sink;
		o.sink_arg = P->push;
		if (!a->output_dir && !a->formats)
			o.formats = 0; /* only the store, no files here */
	}
	P->w = cp_period_writer_new(&o, &err);
	if (!P->w) {
		cmd_error(cmd, "%s", err.msg);
		cp_push_close(P->push, 0, NULL);
		P->push = NULL;
		return 1;
	}
	return 0; /* the first cut is set by periodic_anchor() */
}

void periodic_anchor(struct periodic *P, const struct cp_recorder *rec)
{
	if (P->w && rec)
		P->next_cut = cp_recorder_start_ns(rec) + P->every_ns;
}

int periodic_timeout(const struct periodic *P, int dflt)
{
	if (!P->w)
		return dflt;
	uint64_t now = cp_now_ns();
	if (P->cut_now || now >= P->next_cut)
		return 0;
	uint64_t ms = (P->next_cut - now + 999999) / 1000000;
	return ms < (uint64_t)dflt ? (int)ms : dflt;
}

void periodic_tick(struct periodic *P, struct cp_recorder *rec)
{
	if (!P->w)
		return;
	uint64_t now = cp_now_ns();
	if (!P->cut_now && now < P->next_cut)
		return;
	/* the period ends at its scheduled time, whenever we woke up (the
	 * samples carry their own times); SIGUSR2 ends it now */
	uint64_t boundary = P->cut_now ? now : P->next_cut;
	P->cut_now = false;
	P->next_cut += P->every_ns;
	if (P->next_cut <= now) /* a long stall: skip ahead, never a burst of cuts */
		P->next_cut = now + P->every_ns;
	cp_period_writer_submit(P->w, cp_recorder_cut(rec, boundary));
	P->periods++;
}

int periodic_finish(const char *cmd, struct periodic *P, struct cp_recorder *rec,
		    const struct sampling_args *a)
{
	if (!P->w)
		return 0;
	if (!rec) { /* nothing was recorded: just stop the writer */
		cp_period_writer_close(P->w, NULL, NULL);
		P->w = NULL;
		cp_push_close(P->push, 0, NULL);
		P->push = NULL;
		return 0;
	}
	cp_period_writer_submit(P->w, cp_recorder_cut(rec, 0));
	P->periods++;
	struct cp_period_stats st;
	struct cp_error err = { 0 };
	int rc = cp_period_writer_close(P->w, &st, &err);
	P->w = NULL;
	if (rc)
		cmd_error(cmd, "%s", err.msg);
	if (st.dropped)
		cmd_warning(cmd, "%llu period%s dropped unwritten: the disk fell behind",
			    (unsigned long long)st.dropped, st.dropped == 1 ? "" : "s");
	if (!a->quiet && (!P->push || a->output_dir || a->formats))
		fprintf(stderr, "cprof %s: %llu period%s written to %s\n", cmd,
			(unsigned long long)st.written, st.written == 1 ? "" : "s",
			a->output_dir ? a->output_dir : ".");
	if (P->push) {
		/* what is spooled goes now if the server is there; what is not
		 * stays in the spool for the next run */
		struct cp_push_stats ps;
		cp_push_close(P->push, 10000000000ull, &ps);
		P->push = NULL;
		if (ps.dropped || ps.rejected)
			cmd_warning(cmd, "%llu period%s not sent (%llu over the spool's limit, %llu "
					 "refused by the server)",
				    (unsigned long long)(ps.dropped + ps.rejected),
				    ps.dropped + ps.rejected == 1 ? "" : "s",
				    (unsigned long long)ps.dropped, (unsigned long long)ps.rejected);
		if (!a->quiet || ps.pending)
			fprintf(stderr, "cprof %s: %llu period%s sent to %s%s%llu waiting in the "
					"spool\n",
				cmd, (unsigned long long)ps.sent, ps.sent == 1 ? "" : "s", a->push,
				ps.pending ? "; " : ", ", (unsigned long long)ps.pending);
	}
	return rc ? 1 : 0;
}

/* ---- reading profiles: report, convert, flame ---------------------------- */

int io_filter_make(const struct cp_strlist *comms, const struct cp_strlist *pids,
		   const struct cp_strlist *tids, bool user_only, struct io_filter *fs,
		   struct cp_error *err)
{
	size_t np = (size_t)pids->n, nt = (size_t)tids->n;
	memset(fs, 0, sizeof(*fs));
	if (cp_view_parse_ids("pid", pids->v, np, &fs->pids, err) ||
	    cp_view_parse_ids("tid", tids->v, nt, &fs->tids, err))
		return -1;
	fs->f.pids = fs->pids;
	fs->f.npids = np;
	fs->f.tids = fs->tids;
	fs->f.ntids = nt;
	fs->f.comms = comms->v;
	fs->f.ncomms = (size_t)comms->n;
	fs->f.user_only = user_only;
	return 0;
}

void io_filter_release(struct io_filter *fs)
{
	free(fs->pids);
	free(fs->tids);
	memset(fs, 0, sizeof(*fs));
}

const char *io_default_input(void)
{
	struct stat st;
	if (!isatty(STDIN_FILENO) && fstat(STDIN_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
	     (S_ISREG(st.st_mode) && st.st_size > 0)))
		return "-";
	return "cprof.data";
}

int io_parse_from(const char *cmd, const char *const *usage, const struct cp_option *opts,
		  const char *s, enum cp_input_format *out)
{
	struct cp_error err = { 0 };
	*out = CP_INPUT_UNKNOWN;
	if (!s)
		return 0;
	if (cp_format_parse_input(s, out, &err) < 0) {
		cp_die_usage(cmd, usage, opts, "--from: %s", err.msg);
		return 2;
	}
	return 0;
}

/* A progress note for inputs big enough to take a moment, on a terminal. */
static void progress(const char *cmd, const char *path, bool done)
{
	struct stat st;
	if (!cp_stderr_is_tty() || !strcmp(path, "-") || stat(path, &st) ||
	    st.st_size < 32 * 1024 * 1024)
		return;
	if (done)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "cprof %s: reading '%s' (%.0f MB)...", cmd, path,
			(double)st.st_size / 1e6);
	fflush(stderr);
}

struct cp_profile *io_load(const char *cmd, const char *path, enum cp_input_format from,
			   struct cp_input_info *info)
{
	struct cp_error err = { 0 };
	struct cp_profile *p = NULL;
	struct cp_input_info local;
	if (!info)
		info = &local;
	progress(cmd, path, false);
	int rc = cp_input_read(path, from, &p, info, &err);
	progress(cmd, path, true);
	if (rc < 0) {
		cmd_error(cmd, "%s", err.msg);
		return NULL;
	}
	if (p->truncated) {
		cmd_warning(cmd, "recording is truncated: %s",
			    p->truncated_why[0] ? p->truncated_why : "the file ends early");
		cp_log(CP_LOG_INFO, "symbolized %zu locations from the files on this machine",
		       cp_sample_symbolize(p, NULL, NULL, true));
	} else if (info->format == CP_INPUT_PPROF) {
		/* pprof leaves code without symbols unsymbolized (ours does so
		 * for stripped code): like pprof itself, name it from the files
		 * on this machine whose build-ids match */
		cp_log(CP_LOG_INFO, "symbolized %zu locations from the files on this machine",
		       cp_sample_symbolize(p, NULL, NULL, true));
	}
	return p;
}

int io_pick_value(const char *cmd, const struct cp_profile *p, const char *type,
		  bool prefer_count, uint32_t *out)
{
	*out = CP_NONE;
	if (type) {
		*out = cp_profile_value_index(p, type);
		if (*out != CP_NONE)
			return 0;
		struct cp_buf b = { 0 };
		for (size_t i = 0; i < p->value_types.n; i++) {
			if (i)
				cp_buf_add(&b, ", ", 2);
			cp_buf_add(&b, p->value_types.v[i].type, strlen(p->value_types.v[i].type));
		}
		cp_buf_add_u8(&b, 0);
		cmd_error(cmd, "--sample-type: unknown sample type '%s' (this profile has: %s)",
			  type, p->value_types.n ? (const char *)b.p : "no sample types");
		cp_buf_release(&b);
		return -1;
	}
	if (prefer_count) {
		uint32_t i = cp_profile_value_index(p, "samples");
		if (i != CP_NONE && !strcmp(p->value_types.v[i].unit, "count"))
			*out = i;
	}
	return 0;
}

/* An output that exists and is not a regular file (/dev/null, a FIFO, a
 * terminal) is written into: renaming a temporary file over it would
 * replace the device. */
static int write_into(const char *cmd, const char *output, io_writer_fn write, void *arg)
{
	struct cp_error err = { 0 };
	FILE *f = fopen(output, "w");
	if (!f) {
		cmd_error(cmd, "cannot open '%s': %s", output, strerror(errno));
		return 1;
	}
	char *what = cp_xasprintf("'%s'", output);
	int rc = write(f, what, arg, &err) < 0;
	if (rc)
		cmd_error(cmd, "%s", err.msg);
	if (fclose(f) && !rc) {
		cmd_error(cmd, "cannot write '%s': %s", output, strerror(errno));
		rc = 1;
	}
	free(what);
	return rc;
}

int io_write_output(const char *cmd, const char *output, io_writer_fn write, void *arg)
{
	struct cp_error err = { 0 };
	if (!strcmp(output, "-")) {
		if (write(stdout, "standard output", arg, &err) < 0) {
			cmd_error(cmd, "%s", err.msg);
			return 1;
		}
		return 0;
	}
	struct stat st;
	if (stat(output, &st) == 0 && !S_ISREG(st.st_mode))
		return write_into(cmd, output, write, arg);
	char *tmp = cp_xasprintf("%s.tmp", output);
	int rc = 1;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		cmd_error(cmd, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return 1;
	}
	char *what = cp_xasprintf("'%s'", tmp);
	if (write(f, what, arg, &err) < 0) {
		cmd_error(cmd, "%s", err.msg);
		fclose(f);
	} else if (fflush(f) || fsync(fileno(f)) || ferror(f)) {
		cmd_error(cmd, "cannot write '%s': %s", tmp, strerror(errno));
		fclose(f);
	} else if (fclose(f)) {
		cmd_error(cmd, "cannot write '%s': %s", tmp, strerror(errno));
	} else if (rename(tmp, output)) {
		cmd_error(cmd, "cannot rename '%s' to '%s': %s", tmp, output, strerror(errno));
	} else {
		rc = 0;
	}
	if (rc)
		unlink(tmp);
	free(what);
	free(tmp);
	return rc;
}
