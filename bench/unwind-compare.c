/* unwind-compare.c - measure cprof's DWARF unwinder (lib/unwind: libunwind's
 * remote interface with a per-address-space cache) against elfutils libdw
 * (dwfl_getthread_frames) on the very same samples.
 *
 * It runs each workload under lib/sample's perf_event sampler with a DWARF
 * stack copy, keeps every sample (user registers, stack bytes) and every
 * process's executable mappings (a cp_space fed by MMAP records, modules
 * opened with cp_symbolizer_open) in memory, and only then unwinds them
 * all, several passes per engine, interleaved.  Recording and unwinding
 * never overlap, so the figures are pure unwinding cost.
 *
 * The libdw side is set up the way a profiler that chose libdw would do it
 * well: one Dwfl per process (not per sample, as perf did for years), each
 * mapped module reported once at its load bias, dwfl_attach_state once,
 * and per sample only set_initial_registers and memory_read change.
 *
 * Neither engine gets the kernel's frame-pointer chain: this compares the
 * DWARF walks alone.  Mappings are the final ones of each process, which is
 * exact for workloads that do not dlopen (the ones `make bench` uses).
 *
 * Output, on stdout: one summary line, then one indented line per workload.
 */
#include <asm/perf_regs.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "proc/proc.h"
#include "sample/sample.h"
#include "symbol/symbol.h"
#include "unwind/unwind.h"

#define MAX_FRAMES 1024

struct proc;

struct sample {
	struct proc *proc;
	uint32_t tid;
	uint64_t regs[24];
	uint8_t *stack;
	uint64_t stack_len;
};

/* One process of a workload: its mappings and, for libdw, its Dwfl. */
struct proc {
	pid_t pid;
	struct cp_space *space;
	Dwfl *dwfl;
	bool dwfl_ok;
	const struct sample *cur; /* the sample libdw is unwinding */
};

struct workload {
	const char *cmdline;
	char *name;
	struct cp_symbolizer *symz;
	struct cp_u64map procs; /* pid -> struct proc* */
	CP_VEC(struct proc *) proc_list;
	CP_VEC(struct sample) samples;
	uint64_t lost;
	/* results */
	uint64_t frames_unw, frames_dw; /* per pass */
	CP_VEC(double) t_unw, t_dw;     /* seconds per pass */
	size_t identical;
	uint64_t *pcs_unw; /* first pass: MAX_FRAMES per sample */
	int *n_unw;
};

static bool verbose;

static struct proc *proc_of(struct workload *w, uint32_t pid, bool create)
{
	uint64_t *v = cp_u64map_find(&w->procs, pid);
	if (v)
		return (struct proc *)(uintptr_t)*v;
	if (!create)
		return NULL;
	struct proc *p = cp_xcalloc(1, sizeof(*p));
	p->pid = (pid_t)pid;
	p->space = cp_space_new((pid_t)pid);
	cp_u64map_put(&w->procs, pid, (uint64_t)(uintptr_t)p);
	CP_VEC_PUSH(w->proc_list, p);
	return p;
}

static int on_event(const struct cp_perf_event *ev, void *arg)
{
	struct workload *w = arg;
	switch (ev->kind) {
	case CP_PERF_MMAP: {
		if ((int32_t)ev->pid <= 0)
			return 0;
		struct proc *p = proc_of(w, ev->pid, true);
		struct cp_module *mod = NULL;
		if (!strcmp(ev->filename, "[vdso]"))
			mod = cp_symbolizer_open(w->symz, ev->filename, NULL, NULL, NULL);
		else if (ev->filename[0] == '/')
			mod = cp_symbolizer_open(w->symz, ev->filename, NULL,
						 ev->build_id[0] ? ev->build_id : NULL, NULL);
		cp_space_insert(p->space, ev->addr, ev->addr + ev->len, ev->pgoff, ev->filename, mod,
				0);
		return 0;
	}
	case CP_PERF_COMM:
		if (ev->comm_exec && ev->pid == ev->tid)
			cp_space_clear(proc_of(w, ev->pid, true)->space);
		return 0;
	case CP_PERF_FORK:
		if (ev->pid != ev->ppid) {
			struct proc *parent = proc_of(w, ev->ppid, false);
			struct proc *child = proc_of(w, ev->pid, true);
			if (parent) {
				cp_space_free(child->space);
				child->space = cp_space_clone(parent->space, (pid_t)ev->pid);
			}
		}
		return 0;
	case CP_PERF_LOST:
		w->lost += ev->lost;
		return 0;
	case CP_PERF_SAMPLE: {
		const struct cp_perf_sample *s = ev->sample;
		struct proc *p = proc_of(w, s->pid, false);
		if (!s->regs_abi || !p || !cp_space_count(p->space))
			return 0;
		struct sample x = { .proc = p, .tid = s->tid, .stack_len = s->stack_dyn };
		memcpy(x.regs, s->regs, sizeof(x.regs));
		x.stack = cp_xmalloc(s->stack_dyn ? s->stack_dyn : 1);
		memcpy(x.stack, s->stack, s->stack_dyn);
		CP_VEC_PUSH(w->samples, x);
		return 0;
	}
	case CP_PERF_EXIT:
		return 0;
	}
	return 0;
}

static char **split_words(char *s)
{
	CP_VEC(char *) v = { 0 };
	for (char *t = strtok(s, " "); t; t = strtok(NULL, " "))
		CP_VEC_PUSH(v, t);
	CP_VEC_PUSH(v, NULL);
	return v.v;
}

/* Run the workload to completion under the sampler, keeping every sample. */
static int capture(struct workload *w, struct cp_error *err)
{
	char *line = cp_xstrdup(w->cmdline);
	char **argv = split_words(line);
	int rc = -1;
	struct cp_child child;
	struct cp_perf *perf = NULL;
	if (!argv[0]) {
		cp_error_set(err, CP_E_USAGE, "empty command");
		goto out;
	}
	w->name = cp_xstrdup(cp_basename(argv[0]));
	if (cp_proc_check_exec(argv[0], err) || cp_proc_spawn(argv, &child, err))
		goto out;
	struct cp_perf_opts po = {
		.event = "cpu-clock",
		.freq = 999,
		.callgraph = CP_CG_DWARF,
		.stack_size = 65528,
		.inherit = true,
		.enable_on_exec = true,
	};
	if (cp_perf_open(child.pid, &po, &perf, err)) {
		kill(child.pid, SIGKILL);
		waitpid(child.pid, NULL, 0);
		cp_proc_close(&child);
		goto out;
	}
	if (cp_proc_release(&child, argv, err)) {
		cp_proc_close(&child);
		goto out;
	}
	int status = 0;
	for (;;) {
		struct pollfd fds[257];
		int n = cp_perf_pollfds(perf, fds, 256);
		if (child.pidfd >= 0) {
			fds[n].fd = child.pidfd;
			fds[n].events = POLLIN;
			n++;
		}
		poll(fds, (nfds_t)n, 100);
		cp_perf_read(perf, on_event, w);
		if (cp_proc_try_wait(&child, &status))
			break;
	}
	cp_perf_enable(perf, false);
	cp_perf_read(perf, on_event, w);
	cp_proc_close(&child);
	if (cp_proc_exit_code(status) != 0) {
		cp_error_set(err, CP_E_FAIL, "'%s' exited with status %d", w->cmdline,
			     cp_proc_exit_code(status));
		goto out;
	}
	rc = 0;
out:
	if (perf)
		cp_perf_close(perf);
	free(argv);
	free(line);
	return rc;
}

/* ---- libdw --------------------------------------------------------------- */

static bool read_word(const struct proc *p, const struct sample *s, uint64_t addr, uint64_t *val)
{
	uint64_t sp = s->regs[PERF_REG_X86_SP];
	if (addr >= sp && addr + 8 <= sp + s->stack_len && addr + 8 > addr) {
		memcpy(val, s->stack + (addr - sp), 8);
		return true;
	}
	const struct cp_mapping *m = cp_space_find(p->space, addr);
	uint64_t rel;
	return m && m->module && cp_mapping_to_rel(m, addr, &rel) == 0 &&
	       cp_module_read(m->module, rel, val, 8) == 0;
}

static pid_t dw_next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	struct proc *p = dwfl_arg;
	if (*thread_argp)
		return 0;
	*thread_argp = p;
	return p->cur ? (pid_t)p->cur->tid : p->pid;
}

static bool dw_get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	*thread_argp = dwfl_arg;
	return true;
}

static bool dw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
	struct proc *p = dwfl_arg;
	uint64_t v;
	if (!read_word(p, p->cur, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool dw_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct proc *p = thread_arg;
	const uint64_t *r = p->cur->regs;
	/* DWARF numbering on x86_64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
	static const int perf_of_dwarf[17] = {
		PERF_REG_X86_AX,  PERF_REG_X86_DX,  PERF_REG_X86_CX,  PERF_REG_X86_BX,
		PERF_REG_X86_SI,  PERF_REG_X86_DI,  PERF_REG_X86_BP,  PERF_REG_X86_SP,
		PERF_REG_X86_R8,  PERF_REG_X86_R9,  PERF_REG_X86_R10, PERF_REG_X86_R11,
		PERF_REG_X86_R12, PERF_REG_X86_R13, PERF_REG_X86_R14, PERF_REG_X86_R15,
		PERF_REG_X86_IP,
	};
	Dwarf_Word regs[17];
	for (int i = 0; i < 17; i++)
		regs[i] = r[perf_of_dwarf[i]];
	return dwfl_thread_state_registers(thread, 0, 17, regs);
}

static const Dwfl_Thread_Callbacks dw_thread_callbacks = {
	.next_thread = dw_next_thread,
	.get_thread = dw_get_thread,
	.memory_read = dw_memory_read,
	.set_initial_registers = dw_set_initial_registers,
};

static char *debuginfo_path;
static const Dwfl_Callbacks dw_offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

/* Our own vDSO image in a memfd: the target's is the same kernel's, and
 * libdwfl wants a file descriptor. */
static int vdso_fd(void)
{
	static int fd = -2;
	if (fd != -2)
		return fd < 0 ? -1 : dup(fd);
	fd = -1;
	uint64_t base = getauxval(AT_SYSINFO_EHDR);
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t start, end;
	while (base && f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]") ||
		    sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) != 2 || start != base)
			continue;
		int m = memfd_create("vdso", MFD_CLOEXEC);
		if (m >= 0 && write(m, (const void *)(uintptr_t)start, end - start) ==
				      (ssize_t)(end - start))
			fd = m;
		else if (m >= 0)
			close(m);
		break;
	}
	if (f)
		fclose(f);
	return fd < 0 ? -1 : dup(fd);
}

static void dw_setup(struct proc *p)
{
	p->dwfl = dwfl_begin(&dw_offline_callbacks);
	if (!p->dwfl)
		return;
	dwfl_report_begin(p->dwfl);
	CP_VEC(const struct cp_module *) done = { 0 };
	for (size_t i = 0; i < cp_space_count(p->space); i++) {
		const struct cp_mapping *m = cp_space_get(p->space, i);
		bool seen = false;
		for (size_t j = 0; j < done.n; j++)
			seen |= done.v[j] == m->module;
		uint64_t vaddr;
		if (!m->module || seen || cp_module_offset_to_vaddr(m->module, m->pgoff, &vaddr))
			continue;
		CP_VEC_PUSH(done, m->module);
		uint64_t bias = m->start - vaddr;
		Dwfl_Module *dm;
		if (cp_module_kind(m->module) == CP_MODULE_VDSO) {
			int fd = vdso_fd();
			dm = fd < 0 ? NULL
				    : dwfl_report_elf(p->dwfl, "[vdso]", "[vdso]", fd, bias, true);
			if (!dm && fd >= 0)
				close(fd);
		} else {
			dm = dwfl_report_elf(p->dwfl, cp_basename(m->path), m->path, -1, bias, true);
		}
		if (!dm && verbose)
			fprintf(stderr, "unwind-compare: libdw: cannot report '%s': %s\n", m->path,
				dwfl_errmsg(-1));
	}
	CP_VEC_FREE(done);
	dwfl_report_end(p->dwfl, NULL, NULL);
	p->dwfl_ok = dwfl_attach_state(p->dwfl, NULL, p->pid, &dw_thread_callbacks, p);
	if (!p->dwfl_ok)
		fprintf(stderr, "unwind-compare: libdw: dwfl_attach_state: %s\n", dwfl_errmsg(-1));
}

struct dw_walk {
	uint64_t *pcs;
	int n, max;
};

static int dw_frame_cb(Dwfl_Frame *state, void *arg)
{
	struct dw_walk *wk = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	wk->pcs[wk->n++] = pc;
	return wk->n < wk->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

static int dw_unwind(struct proc *p, const struct sample *s, uint64_t *pcs, int max)
{
	if (!p->dwfl_ok)
		return 0;
	struct dw_walk wk = { pcs, 0, max };
	p->cur = s;
	/* the return value only says how the walk ended (end of stack, a
	 * failed memory read, our abort): the frames delivered so far are the
	 * result either way, as for the libunwind side */
	dwfl_getthread_frames(p->dwfl, (pid_t)s->tid, dw_frame_cb, &wk);
	return wk.n;
}

/* ---- libunwind through lib/unwind ---------------------------------------- */

static int unw_unwind(struct cp_unwinder *u, const struct sample *s, uint64_t *pcs, int max)
{
	struct cp_unwind_input in = {
		.space = s->proc->space,
		.regs = s->regs,
		.stack = s->stack,
		.stack_len = s->stack_len,
	};
	struct cp_unwind_result res;
	cp_unwind_dwarf(u, &in, pcs, max, &res);
	return res.n;
}

/* ---- the measurement ----------------------------------------------------- */

static double secs_since(uint64_t t0)
{
	return (double)(cp_now_ns() - t0) / 1e9;
}

static void run_passes(struct workload *w, int passes)
{
	struct cp_unwinder *u = cp_unwinder_new();
	size_t ns = w->samples.n;
	uint64_t *pcs = cp_xmalloc(MAX_FRAMES * sizeof(*pcs));
	w->pcs_unw = cp_xmalloc(ns * MAX_FRAMES * sizeof(uint64_t));
	w->n_unw = cp_xcalloc(ns ? ns : 1, sizeof(int));
	for (size_t i = 0; i < w->proc_list.n; i++)
		dw_setup(w->proc_list.v[i]);
	for (int pass = 0; pass < passes; pass++) {
		uint64_t frames = 0, t0 = cp_now_ns();
		for (size_t i = 0; i < ns; i++) {
			uint64_t *out = pass ? pcs : w->pcs_unw + i * MAX_FRAMES;
			int n = unw_unwind(u, &w->samples.v[i], out, MAX_FRAMES);
			if (!pass)
				w->n_unw[i] = n;
			frames += (uint64_t)n;
		}
		CP_VEC_PUSH(w->t_unw, secs_since(t0));
		w->frames_unw = frames;

		frames = 0;
		size_t same = 0;
		t0 = cp_now_ns();
		for (size_t i = 0; i < ns; i++) {
			const struct sample *s = &w->samples.v[i];
			int n = dw_unwind(s->proc, s, pcs, MAX_FRAMES);
			frames += (uint64_t)n;
			if (pass)
				continue;
			/* outside the timed work only in effect: a compare of a
			 * few hundred words per sample, on the first pass */
			const uint64_t *a = w->pcs_unw + i * MAX_FRAMES;
			if (n == w->n_unw[i] && !memcmp(a, pcs, (size_t)n * sizeof(*pcs))) {
				same++;
			} else if (verbose) {
				fprintf(stderr, "%s sample %zu: libunwind %d frames, libdw %d:",
					w->name, i, w->n_unw[i], n);
				for (int k = 0; k < CP_MAX(n, w->n_unw[i]) && k < 8; k++)
					fprintf(stderr, " %#" PRIx64 "/%#" PRIx64,
						k < w->n_unw[i] ? a[k] : 0, k < n ? pcs[k] : 0);
				fputc('\n', stderr);
			}
		}
		CP_VEC_PUSH(w->t_dw, secs_since(t0));
		w->frames_dw = frames;
		if (!pass)
			w->identical = same;
	}
	free(pcs);
	cp_unwinder_free(u);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_rate(const char *engine, uint64_t frames, uint64_t samples, double t,
		       const char *sep)
{
	printf("%s %.2f M frames/s (%.1f k samples/s)%s", engine, (double)frames / t / 1e6,
	       (double)samples / t / 1e3, sep);
}

static void free_workload(struct workload *w)
{
	for (size_t i = 0; i < w->samples.n; i++)
		free(w->samples.v[i].stack);
	CP_VEC_FREE(w->samples);
	for (size_t i = 0; i < w->proc_list.n; i++) {
		struct proc *p = w->proc_list.v[i];
		if (p->dwfl)
			dwfl_end(p->dwfl);
		cp_space_free(p->space);
		free(p);
	}
	CP_VEC_FREE(w->proc_list);
	cp_u64map_release(&w->procs);
	CP_VEC_FREE(w->t_unw);
	CP_VEC_FREE(w->t_dw);
	free(w->pcs_unw);
	free(w->n_unw);
	cp_symbolizer_free(w->symz);
	free(w->name);
}

static void log_sink(enum cp_log_level level, const char *msg, void *arg)
{
	fprintf(stderr, "unwind-compare: %s\n", msg);
}

static void usage(FILE *f)
{
	fputs("usage: unwind-compare [-n PASSES] [-v] 'COMMAND [ARGS]'...\n"
	      "  Record each command (DWARF stack copies, 999 Hz cpu-clock), then unwind every\n"
	      "  sample with libunwind (lib/unwind) and libdw; print frames/s and agreement.\n"
	      "  -n PASSES  timed passes per engine (default 5; the median pass is reported)\n"
	      "  -v         list samples where the engines disagree, on stderr\n",
	      f);
}

int main(int argc, char **argv)
{
	long passes = 5;
	int c;
	while ((c = getopt(argc, argv, "+n:vh")) != -1) {
		switch (c) {
		case 'n':
			if (cp_parse_long(optarg, 1, 1000, &passes)) {
				usage(stderr);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cp_log_set_sink(log_sink, NULL);
	cp_log_set_level(verbose ? CP_LOG_NOTICE : CP_LOG_WARN);
	int nw = argc - optind;
	struct workload *ws = cp_xcalloc((size_t)nw, sizeof(*ws));
	int rc = 0;
	for (int i = 0; i < nw && !rc; i++) {
		struct workload *w = &ws[i];
		struct cp_symbol_opts so;
		cp_symbol_opts_init(&so);
		w->symz = cp_symbolizer_new(&so);
		cp_u64map_init(&w->procs);
		w->cmdline = argv[optind + i];
		struct cp_error err;
		if (capture(w, &err)) {
			fprintf(stderr, "unwind-compare: %s\n", err.msg);
			rc = 1;
		} else if (w->samples.n == 0) {
			fprintf(stderr, "unwind-compare: no samples from '%s'\n", w->cmdline);
			rc = 1;
		}
	}
	for (int i = 0; i < nw && !rc; i++)
		run_passes(&ws[i], (int)passes);
	if (!rc) {
		uint64_t fu = 0, fd = 0, ns = 0, same = 0;
		double tu = 0, td = 0;
		for (int i = 0; i < nw; i++) {
			struct workload *w = &ws[i];
			fu += w->frames_unw;
			fd += w->frames_dw;
			ns += w->samples.n;
			same += w->identical;
			tu += median(w->t_unw.v, w->t_unw.n);
			td += median(w->t_dw.v, w->t_dw.n);
		}
		printf("unwind: ");
		print_rate("libunwind", fu, ns, tu, ", ");
		print_rate("libdw", fd, ns, td, ", ");
		printf("identical on %.1f%% of %" PRIu64 " samples; libunwind %.2fx the speed of libdw\n",
		       100.0 * (double)same / (double)ns, ns, td / tu);
		for (int i = 0; i < nw; i++) {
			struct workload *w = &ws[i];
			double t1 = median(w->t_unw.v, w->t_unw.n);
			double t2 = median(w->t_dw.v, w->t_dw.n);
			printf("  %s: %.0f frames/sample; ", w->name,
			       (double)w->frames_unw / (double)w->samples.n);
			print_rate("libunwind", w->frames_unw, w->samples.n, t1, ", ");
			print_rate("libdw", w->frames_dw, w->samples.n, t2, ", ");
			printf("identical %zu/%zu", w->identical, w->samples.n);
			if (w->lost)
				printf(", %" PRIu64 " lost", w->lost);
			putchar('\n');
		}
	}
	for (int i = 0; i < nw; i++)
		free_workload(&ws[i]);
	free(ws);
	return rc;
}
