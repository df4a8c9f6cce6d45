/* record.c - the recording session: perf records in, profile model and
 * data file out.
 *
 * While the target runs this file keeps one cp_space per process (fed by
 * MMAP2, COMM-exec, FORK and EXIT records), unwinds each sample at once,
 * turns every PC into a (module, module-relative address) location,
 * interns locations and stacks in the model and streams the sample to the
 * data writer.  Raw stack copies never leave this process.  At the end
 * every distinct location is symbolized once and the symbols go into the
 * file, with the machine code and line rows of the sampled functions (for
 * annotate), which makes it self-contained.
 *
 * Not here: option parsing, signals, progress display (cmd/record.c), the
 * file format (lib/data), unwinding itself (lib/unwind).
 */
#include "sample/sample.h"

#include <asm/perf_regs.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "proc/proc.h"
#include "sample/record-int.h"

void cp_record_opts_init(struct cp_record_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->output = "cprof.data";
	o->perf.freq = 999;
	o->perf.callgraph = CP_CG_DWARF;
	o->perf.stack_size = 65528;
	o->perf.inherit = true;
	o->perf.enable_on_exec = true;
	o->code_max = CP_RECORD_CODE_MAX;
	o->debuginfod_timeout = CP_RECORD_DEBUGINFOD_TIMEOUT;
}

static uint32_t model_mapping(struct cp_recorder *r, const char *path, const char *build_id,
			      struct cp_module *mod, uint32_t flags)
{
	char key[4200];
	int n = snprintf(key, sizeof(key), "%s%c%s", path, 0, build_id ? build_id : "");
	if (n < 0 || (size_t)n >= sizeof(key))
		n = (int)sizeof(key) - 1;
	bool added;
	uint32_t id = cp_intern_add(&r->map_keys, key, (size_t)n, &added);
	if (added) {
		struct cp_profile_mapping m = { 0 };
		m.path = path;
		m.build_id = build_id && *build_id ? build_id
						   : (mod ? cp_module_build_id(mod) : "");
		m.flags = flags;
		uint32_t idx = cp_profile_add_mapping(r->model, &m);
		(void)idx; /* == id: both are dense and added together */
		CP_VEC_PUSH(r->map_modules, mod);
		struct cp_u64map *lm = cp_xcalloc(1, sizeof(*lm));
		cp_u64map_init(lm);
		CP_VEC_PUSH(r->locmaps, lm);
	} else if (mod && !r->map_modules.v[id]) {
		r->map_modules.v[id] = mod;
	}
	return id;
}

static bool is_file_path(const char *path)
{
	return path[0] == '/' && strncmp(path, "//anon", 6) != 0;
}

/* Where pid's files are (lib/proc: another mount namespace or root is
 * read through /proc/PID/root), looked up once per pid. */
static const struct cp_proc_root *root_of(struct cp_recorder *r, uint32_t pid)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&r->roots, pid, 0, &added);
	if (added) {
		struct cp_proc_root *pr = cp_xmalloc(sizeof(*pr));
		cp_proc_root_get((pid_t)pid, pr);
		*v = (uint64_t)(uintptr_t)pr;
	}
	return (const struct cp_proc_root *)(uintptr_t)*v;
}

/* A new program (exec) or a new process (fork) may have another root:
 * chroot and unshare are done just before an exec. */
static void forget_root(struct cp_recorder *r, uint32_t pid)
{
	uint64_t *v = cp_u64map_find(&r->roots, pid);
	if (!v)
		return;
	free((void *)(uintptr_t)*v);
	cp_u64map_del(&r->roots, pid);
}

/* The root to open pid's files through: "" for ours. */
static const char *root_path(const struct cp_proc_root *pr, uint32_t pid, char *buf, size_t size)
{
	if (!pr->foreign)
		return "";
	snprintf(buf, size, "/proc/%u/root", pid);
	return buf;
}

/* Add one executable mapping to a process's space.  from_maps: path was
 * read from /proc/PID/maps (made from our root), not from an mmap record
 * (made from the target's). */
static void add_mapping(struct cp_recorder *r, struct cp_space *sp, uint64_t start, uint64_t len,
			uint64_t pgoff, const char *path, const char *build_id, bool from_maps)
{
	struct cp_module *mod = NULL;
	uint32_t flags = 0;
	char jit[64], rootbuf[48], full[128];
	uint32_t pid = (uint32_t)cp_space_pid(sp);
	const struct cp_proc_root *pr = root_of(r, pid);
	const char *root = root_path(pr, pid, rootbuf, sizeof(rootbuf));
	if (from_maps && is_file_path(path)) {
		const char *in = cp_proc_root_maps_path(pr, path);
		if (in)
			path = in;
		else
			root = ""; /* outside its root: the path is ours */
	}
	const char *mpath = path;
	if (!strcmp(path, "[vdso]")) {
		mod = cp_symbolizer_open(r->symz, path, NULL, NULL, NULL);
		flags = CP_MAP_VDSO;
	} else if (is_file_path(path)) {
		mod = cp_symbolizer_open(r->symz, path, root, build_id, NULL);
	} else {
		/* anonymous executable memory is JIT code: its symbols are in
		 * /tmp/perf-PID.map (PID as its own namespace numbers it) when
		 * the runtime writes one, often only after this mmap, so a
		 * missing map is looked for again when symbolizing.  Its
		 * addresses stay absolute. */
		snprintf(jit, sizeof(jit), "/tmp/perf-%u.map", pr->nspid);
		snprintf(full, sizeof(full), "%s%s", root, jit);
		if (access(full, R_OK) == 0)
			mod = cp_symbolizer_open(r->symz, jit, root, NULL, NULL);
		mpath = jit;
		flags = CP_MAP_JIT;
	}
	uint32_t id = model_mapping(r, cp_profile_intern(r->model, mpath), build_id, mod, flags);
	while (r->map_pids.n <= id)
		CP_VEC_PUSH(r->map_pids, pid);
	cp_space_insert(sp, start, start + len, pgoff, path, mod, id);
	cp_unwinder_forget(r->unw, sp);
}

static int maps_cb(const struct cp_proc_map *m, void *arg)
{
	void **a = arg;
	/* anonymous executable memory is JIT code, as perf's //anon */
	if (m->perms[2] == 'x')
		add_mapping(a[0], a[1], m->start, m->end - m->start, m->pgoff,
			    m->path[0] ? m->path : "//anon", NULL, true);
	return 0;
}

static struct cp_space *space_of(struct cp_recorder *r, uint32_t pid, bool create)
{
	uint64_t *v = cp_u64map_find(&r->spaces, pid);
	if (v)
		return (struct cp_space *)(uintptr_t)*v;
	if (!create)
		return NULL;
	struct cp_space *sp = cp_space_new((pid_t)pid);
	cp_u64map_put(&r->spaces, pid, (uint64_t)(uintptr_t)sp);
	return sp;
}

/* A process we have no mmap records for (already running): read its
 * mappings from /proc once. */
static void load_maps(struct cp_recorder *r, struct cp_space *sp)
{
	void *a[2] = { r, sp };
	cp_proc_maps(cp_space_pid(sp), maps_cb, a, NULL);
}

static void drop_space(struct cp_recorder *r, uint32_t pid)
{
	struct cp_space *sp = space_of(r, pid, false);
	if (!sp)
		return;
	cp_unwinder_forget(r->unw, sp);
	cp_space_free(sp);
	cp_u64map_del(&r->spaces, pid);
}

static struct tid_info *tid_of(struct cp_recorder *r, uint32_t tid)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&r->tids, tid, 0, &added);
	if (added) {
		struct tid_info *ti = cp_xcalloc(1, sizeof(*ti));
		ti->comm = "";
		*v = (uint64_t)(uintptr_t)ti;
		r->st.threads++;
	}
	return (struct tid_info *)(uintptr_t)*v;
}

static uint32_t location_of(struct cp_recorder *r, struct cp_space *sp, uint64_t pc,
			    bool kernel)
{
	uint32_t mapping = CP_NONE;
	uint64_t rel = pc;
	struct cp_u64map *lm = &r->unknown_locs;
	if (kernel) {
		/* kallsyms is opened at the end, when symbolizing: loading it
		 * here would stall the reader on the first kernel sample */
		if (r->kernel_mapping == CP_NONE)
			r->kernel_mapping =
				model_mapping(r, cp_profile_intern(r->model, "[kernel.kallsyms]"),
					      NULL, NULL, CP_MAP_KERNEL);
		mapping = r->kernel_mapping;
		lm = r->locmaps.v[mapping];
	} else if (sp) {
		const struct cp_mapping *m = cp_space_find(sp, pc);
		if (m) {
			uint64_t x;
			if (r->model->mappings.v[m->id].flags & CP_MAP_JIT)
				rel = pc;
			else if (m->module && cp_mapping_to_rel(m, pc, &x) == 0)
				rel = x;
			else
				rel = pc - m->start + m->pgoff;
			mapping = m->id;
			lm = r->locmaps.v[mapping];
		}
	}
	bool added;
	uint64_t *slot = cp_u64map_upsert(lm, rel, 0, &added);
	if (added)
		*slot = cp_profile_add_location(r->model, mapping, rel, NULL, 0);
	return (uint32_t)*slot;
}

/* End of the VMA holding the thread's stack, from /proc, cached per tid;
 * used to say how much stack copy a cut sample would have needed. */
struct vma_find {
	uint64_t addr, end;
};
static int vma_cb(const struct cp_proc_map *m, void *arg)
{
	struct vma_find *f = arg;
	if (f->addr >= m->start && f->addr < m->end) {
		f->end = m->end;
		return 1;
	}
	return 0;
}

static uint64_t stack_need(struct cp_recorder *r, uint32_t pid, struct tid_info *ti, uint64_t sp,
			   uint64_t need_addr)
{
	if (!ti->stack_top) {
		struct vma_find f = { sp, 0 };
		cp_proc_maps((pid_t)pid, vma_cb, &f, NULL);
		ti->stack_top = f.end ? f.end : 1;
	}
	if (ti->stack_top > sp + 1)
		return ti->stack_top - sp;
	/* the process was gone before its maps could be read (a reader
	 * behind a short run): as deep as a complete walk of this thread
	 * went, else only "more than the copy" */
	if (ti->read_end > need_addr && need_addr > sp)
		return ti->read_end - sp;
	return need_addr > sp ? need_addr - sp : 0;
}

/* The ptrace sampler sees no mmap records: when a sampled PC is in no
 * known mapping (after an exec, a dlopen), read /proc/PID/maps again, at
 * most every 20 ms per process (JIT code is never in a file mapping). */
static bool reload_maps(struct cp_recorder *r, struct cp_space *sp, uint32_t pid)
{
	uint64_t now = cp_now_ns();
	bool added;
	uint64_t *last = cp_u64map_upsert(&r->reloaded, pid, 0, &added);
	if (!added && now - *last < 20000000ULL)
		return false;
	size_t had = r->model->mappings.n;
	cp_unwinder_forget(r->unw, sp);
	cp_space_clear(sp);
	load_maps(r, sp);
	/* a reload that found new files (a process still loading its
	 * libraries) may be repeated at once; one that found nothing new
	 * waits 20 ms, so addresses that will never be mapped (garbage,
	 * JIT code that is gone) do not make every sample read /proc */
	*last = r->model->mappings.n > had ? now - 20000000ULL : now;
	return true;
}

/* One more sample whose leaf is loc (for the order of stored code). */
static void count_leaf(struct cp_recorder *r, uint32_t loc)
{
	if (loc >= r->leaf_hits.n) {
		size_t n = r->model->locations.n;
		CP_VEC_RESERVE(r->leaf_hits, n);
		memset(r->leaf_hits.v + r->leaf_hits.n, 0,
		       (n - r->leaf_hits.n) * sizeof(*r->leaf_hits.v));
		r->leaf_hits.n = n;
	}
	r->leaf_hits.v[loc]++;
}

static int on_sample(struct cp_recorder *r, const struct cp_perf_sample *s)
{
	/* syscall exits carry no stack: straight to the caller */
	if (r->opts.on_syscall && !s->regs_abi)
		return r->opts.on_syscall(r->opts.on_syscall_arg, s, NULL);
	struct cp_space *sp = space_of(r, s->pid, false);
	bool added;
	cp_u64map_upsert(&r->seen_pids, s->pid, 0, &added);
	if (added)
		r->st.processes++;
	if (!sp) {
		sp = space_of(r, s->pid, true);
		load_maps(r, sp);
	}
	if (r->pt && !cp_space_find(sp, s->ip))
		reload_maps(r, sp, s->pid);
	struct tid_info *ti = tid_of(r, s->tid);
	if (!*ti->comm) {
		char comm[64];
		cp_proc_comm((pid_t)s->pid, (pid_t)s->tid, comm, sizeof(comm));
		ti->comm = cp_profile_intern(r->model, comm);
	}
	int n = 0;
	/* kernel part, leaf first */
	for (uint64_t i = 0; i < s->nr_kernel && n < MAX_FRAMES; i++)
		r->locs[n++] = location_of(r, sp, i == 0 ? s->kchain[i] : s->kchain[i] - 1, true);
	uint32_t flags = 0;
	struct cp_profile_sample ps = { 0 };
	int ubase = n;
	if (r->opts.perf.callgraph == CP_CG_DWARF && s->regs_abi) {
		struct cp_unwind_input in = {
			.space = sp,
			.regs = s->regs,
			.stack = s->stack,
			.stack_len = s->stack_dyn,
			.fp_chain = s->uchain,
			.fp_len = s->nr_user,
		};
		struct cp_unwind_result res;
		cp_unwind_dwarf(r->unw, &in, r->pcs, MAX_FRAMES - n, &res);
		/* ptrace: a frame in a mapping we do not know yet (a library
		 * loaded since we last read the maps) ends the walk early, or
		 * sends it on with guesses: unwind again with fresh maps */
		if (r->pt && res.unmapped && reload_maps(r, sp, s->pid))
			cp_unwind_dwarf(r->unw, &in, r->pcs, MAX_FRAMES - n, &res);
		switch (res.stop) {
		case CP_UNWIND_COMPLETE:
			flags |= CP_SAMPLE_COMPLETE;
			r->st.complete++;
			if (res.read_end > ti->read_end)
				ti->read_end = res.read_end;
			break;
		case CP_UNWIND_CUT:
			flags |= CP_SAMPLE_CUT;
			r->st.cut++;
			ps.stack_need = stack_need(r, s->pid, ti, s->regs[PERF_REG_X86_SP],
						   res.need_addr);
			break;
		case CP_UNWIND_NOINFO:
			flags |= CP_SAMPLE_NOINFO;
			r->st.noinfo++;
			break;
		default:
			flags |= CP_SAMPLE_BROKEN;
			break;
		}
		if (res.spliced) {
			flags |= CP_SAMPLE_SPLICED;
			r->st.spliced++;
		}
		for (int i = 0; i < res.n; i++) {
			uint64_t pc = r->pcs[i];
			/* return addresses point after the call: step back into it */
			if (i > 0 || s->kernel_ip)
				pc--;
			r->locs[n++] = location_of(r, sp, pc, false);
		}
	} else if (s->nr_user) {
		for (uint64_t i = 0; i < s->nr_user && n < MAX_FRAMES; i++) {
			uint64_t pc = s->uchain[i];
			if (i > 0 || s->kernel_ip)
				pc--;
			r->locs[n++] = location_of(r, sp, pc, false);
		}
	}
	if (n == ubase && n == 0)
		r->locs[n++] = location_of(r, sp, s->ip, s->kernel_ip);
	ps.stack = cp_profile_add_stack(r->model, r->locs, (uint32_t)n);
	count_leaf(r, r->locs[0]);
	ps.pid = s->pid;
	ps.tid = s->tid;
	ps.comm = ti->comm;
	ps.time = s->time > r->start_ns ? s->time - r->start_ns : 0;
	if (s->offcpu) {
		flags |= CP_SAMPLE_OFFCPU;
		const char *name = s->syscall >= 0 ? cp_syscall_name(s->syscall) : NULL;
		ps.syscall = cp_profile_intern(r->model, name ? name : "");
	}
	ps.flags = flags;
	ps.cpu = s->cpu;
	if (r->opts.on_syscall)
		return r->opts.on_syscall(r->opts.on_syscall_arg, s, &ps);
	r->vals[0] = 1;
	r->vals[1] = (int64_t)s->period;
	r->st.samples++;
	if (r->opts.periodic) {
		CP_VEC_PUSH(r->psamples, ps);
		CP_VEC_PUSH(r->pvalues, r->vals[0]);
		CP_VEC_PUSH(r->pvalues, r->vals[1]);
	} else {
		struct cp_error err;
		if (cp_data_writer_add_sample(r->writer, &ps, r->vals, &err)) {
			cp_log(CP_LOG_ERROR, "%s", err.msg);
			return -1;
		}
	}
	if (r->st.samples == 1) {
		r->st.first_sample_realtime = cp_realtime_ns();
		r->st.first_sample_ns = cp_now_ns() - r->start_ns;
	}
	return 0;
}

static int on_event(const struct cp_perf_event *ev, void *arg)
{
	struct cp_recorder *r = arg;
	switch (ev->kind) {
	case CP_PERF_SAMPLE:
		return on_sample(r, ev->sample);
	case CP_PERF_MMAP: {
		if ((int32_t)ev->pid <= 0)
			return 0; /* kernel modules */
		struct cp_space *sp = space_of(r, ev->pid, true);
		add_mapping(r, sp, ev->addr, ev->len, ev->pgoff, ev->filename, ev->build_id,
			    false);
		return 0;
	}
	case CP_PERF_COMM: {
		struct tid_info *ti = tid_of(r, ev->tid);
		ti->comm = cp_profile_intern(r->model, ev->comm);
		if (ev->comm_exec && ev->pid == ev->tid) {
			struct cp_space *sp = space_of(r, ev->pid, true);
			cp_unwinder_forget(r->unw, sp);
			cp_space_clear(sp);
			forget_root(r, ev->pid);
		}
		return 0;
	}
	case CP_PERF_FORK: {
		struct tid_info *parent = tid_of(r, ev->ptid);
		struct tid_info *child = tid_of(r, ev->tid);
		child->comm = parent->comm;
		if (ev->pid != ev->ppid) {
			struct cp_space *psp = space_of(r, ev->ppid, false);
			drop_space(r, ev->pid);
			forget_root(r, ev->pid);
			if (psp) {
				struct cp_space *c = cp_space_clone(psp, (pid_t)ev->pid);
				cp_u64map_put(&r->spaces, ev->pid, (uint64_t)(uintptr_t)c);
			}
		}
		return 0;
	}
	case CP_PERF_EXIT:
		if (r->opts.on_thread_exit)
			r->opts.on_thread_exit(r->opts.on_syscall_arg, ev->pid, ev->tid);
		if (ev->pid == ev->tid)
			drop_space(r, ev->pid);
		return 0;
	case CP_PERF_LOST:
		r->st.lost += ev->lost;
		if (r->opts.on_lost)
			r->opts.on_lost(r->opts.on_syscall_arg, ev->lost);
		return 0;
	}
	return 0;
}

uint64_t cp_recorder_start_ns(const struct cp_recorder *r)
{
	return r->start_ns;
}

struct cp_recorder *cp_recorder_new(const struct cp_record_opts *o, struct cp_error *err)
{
	struct cp_recorder *r = cp_xcalloc(1, sizeof(*r));
	r->opts = *o;
	r->model = cp_profile_new();
	struct cp_symbol_opts so;
	cp_symbol_opts_init(&so);
	so.cache_dir = o->cache_dir;
	r->symz = cp_symbolizer_new(&so);
	r->unw = cp_unwinder_new();
	cp_u64map_init(&r->spaces);
	cp_u64map_init(&r->tids);
	cp_u64map_init(&r->unknown_locs);
	cp_u64map_init(&r->seen_pids);
	cp_u64map_init(&r->reloaded);
	cp_u64map_init(&r->roots);
	cp_intern_init(&r->map_keys);
	cp_u64map_init(&r->code_done);
	r->kernel_mapping = CP_NONE;
	r->exit_status = -1;
	r->start_ns = cp_now_ns();
	r->last_flush_ns = r->start_ns;
	r->period_start_ns = r->start_ns;

	struct cp_profile *p = r->model;
	struct cp_profile_meta *m = &p->meta;
	struct utsname u;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	m->hostname = cp_profile_intern(p, host);
	if (uname(&u) == 0) {
		m->os_release = cp_profile_intern(p, u.release);
		m->arch = cp_profile_intern(p, u.machine);
	}
	m->command = cp_profile_intern(p, o->command_line);
	m->callgraph = cp_profile_intern(p, o->perf.callgraph == CP_CG_FP ? "fp" : "dwarf");
	m->cprof_version = cp_profile_intern(p, CP_VERSION);
	m->time_nanos = cp_realtime_ns();
	m->freq = (uint32_t)o->perf.freq;
	m->stack_size = o->perf.callgraph == CP_CG_DWARF ? o->perf.stack_size : 0;
	m->exit_status = -1;
	return r;
}

/* Start the ptrace sampler on pid. */
static int open_ptrace(struct cp_recorder *r, pid_t pid, struct cp_error *err)
{
	const struct cp_perf_opts *po = &r->opts.perf;
	struct cp_ptrace_opts o = {
		.freq = po->freq,
		.callgraph = po->callgraph,
		.stack_size = po->stack_size,
		.wall = r->opts.wall,
		.inherit = po->inherit,
		.only_tid = po->only_tid,
	};
	int rc = cp_ptrace_open(&o, &r->pt, err);
	if (rc)
		return rc;
	rc = cp_ptrace_add(r->pt, pid, !po->attach, err);
	if (rc) {
		cp_ptrace_close(r->pt);
		r->pt = NULL;
	}
	return rc;
}

/* Which sampler, and the facts about it in the model. */
static int open_sampler(struct cp_recorder *r, pid_t pid, struct cp_error *err)
{
	struct cp_profile *p = r->model;
	const char *ev;
	/* another user's process: neither sampler may, say so once */
	if (r->opts.perf.attach && cp_proc_check_owner(pid, err))
		return CP_E_PERM;
	if (r->opts.sampler != CP_SAMPLER_PTRACE && !r->opts.wall) {
		struct cp_error perr;
		int rc = cp_perf_open(pid, &r->opts.perf, &r->perf, &perr);
		/* ptrace cannot sample the whole machine */
		if (rc && (r->opts.sampler == CP_SAMPLER_PERF || rc == CP_E_NOENT ||
			   rc == CP_E_USAGE || r->opts.perf.system_wide)) {
			if (err)
				*err = perr;
			return rc;
		}
		if (rc) {
			/* perf_event refused: ptrace, with a notice; when
			 * ptrace is refused too its reason is the useful one */
			if (open_ptrace(r, pid, err))
				return err ? err->code : CP_E_PERM;
			if (rc == CP_E_PERM)
				cp_log(CP_LOG_NOTICE,
				       "perf_event_open is not allowed here "
				       "(kernel.perf_event_paranoid=%ld, or a seccomp filter); "
				       "sampling with ptrace instead",
				       cp_read_long_file("/proc/sys/kernel/perf_event_paranoid", -99));
			else
				cp_log(CP_LOG_NOTICE, "%s; sampling with ptrace instead", perr.msg);
		}
	} else {
		int rc = open_ptrace(r, pid, err);
		if (rc)
			return rc;
	}
	if (r->perf) {
		ev = cp_perf_event_name(r->perf);
		p->meta.sampler = cp_profile_intern(p, "perf_event");
		p->meta.period = cp_perf_period_ns(r->perf);
		p->meta.stack_size = cp_perf_stack_size(r->perf);
	} else {
		ev = r->opts.wall ? "wall-clock" : "cpu-clock";
		p->meta.sampler = cp_profile_intern(p, "ptrace");
		p->meta.period = 1000000000ULL / (uint64_t)(r->opts.perf.freq > 0 ? r->opts.perf.freq : 99);
		p->meta.stack_size = r->opts.perf.stack_size;
	}
	p->meta.event = cp_profile_intern(p, ev);
	r->st.event = p->meta.event;
	if (p->value_types.n == 0) {
		cp_profile_add_value_type(p, "samples", "count");
		if (!strcmp(ev, "cycles"))
			cp_profile_add_value_type(p, "cycles", "count");
		else if (!strcmp(ev, "wall-clock"))
			cp_profile_add_value_type(p, "wall", "nanoseconds");
		else
			cp_profile_add_value_type(p, "cpu", "nanoseconds");
	}
	return 0;
}

static void close_sampler(struct cp_recorder *r)
{
	if (r->perf)
		cp_perf_close(r->perf);
	if (r->pt)
		cp_ptrace_close(r->pt);
	r->perf = NULL;
	r->pt = NULL;
}

int cp_recorder_add_target(struct cp_recorder *r, pid_t pid, struct cp_error *err)
{
	int rc;
	if ((r->perf || r->pt) && r->opts.perf.attach) {
		rc = r->perf ? cp_perf_add(r->perf, pid, err) : cp_ptrace_add(r->pt, pid, false, err);
		if (rc)
			return rc;
		load_maps(r, space_of(r, (uint32_t)pid, true));
		if (r->perf)
			cp_perf_enable(r->perf, true);
		return 0;
	}
	if (r->perf || r->pt)
		return cp_error_set(err, CP_E_USAGE, "only attach mode takes several targets");
	rc = open_sampler(r, pid, err);
	if (rc)
		return rc;
	/* the output is created only once sampling works, so a failed start
	 * leaves an existing recording where it was */
	if (!r->writer && !r->opts.periodic) {
		r->writer = cp_data_writer_open(r->opts.output, r->model, err);
		if (!r->writer) {
			close_sampler(r);
			return err ? err->code : CP_E_IO;
		}
	}
	if (r->opts.perf.system_wide) {
		/* processes already running get their mappings from /proc on
		 * their first sample; new ones announce theirs */
		cp_perf_enable(r->perf, true);
	} else if (r->opts.perf.attach || !r->opts.perf.enable_on_exec) {
		/* a running process: its mappings so far come from /proc */
		struct cp_space *sp = space_of(r, (uint32_t)pid, true);
		load_maps(r, sp);
		if (r->perf)
			cp_perf_enable(r->perf, true);
	}
	return 0;
}

int cp_recorder_start_external(struct cp_recorder *r, const char *sampler, const char *event,
			       struct cp_error *err)
{
	struct cp_profile *p = r->model;
	p->meta.sampler = cp_profile_intern(p, sampler);
	p->meta.event = cp_profile_intern(p, event);
	r->st.event = p->meta.event;
	if (!r->writer && !r->opts.periodic) {
		r->writer = cp_data_writer_open(r->opts.output, r->model, err);
		if (!r->writer)
			return err ? err->code : CP_E_IO;
	}
	return 0;
}

struct cp_profile *cp_recorder_model(struct cp_recorder *r)
{
	return r->model;
}

uint32_t cp_recorder_user_stack(struct cp_recorder *r, uint32_t pid, const uint64_t *rets,
				uint32_t n)
{
	struct cp_space *sp = space_of(r, pid, false);
	if (!sp) {
		sp = space_of(r, pid, true);
		load_maps(r, sp);
		r->st.processes++;
	}
	if (n > MAX_FRAMES)
		n = MAX_FRAMES;
	for (uint32_t i = 0; i < n; i++) {
		/* a library loaded since the maps were read: read them again,
		 * unless the process is gone (then what was read stays) */
		if (!cp_space_find(sp, rets[i] - 1) && cp_proc_exists((pid_t)pid))
			reload_maps(r, sp, pid);
		r->locs[i] = location_of(r, sp, rets[i] - 1, false);
	}
	if (n == 0)
		r->locs[n++] = location_of(r, NULL, 0, false);
	return cp_profile_add_stack(r->model, r->locs, n);
}

void cp_recorder_forget_process(struct cp_recorder *r, uint32_t pid)
{
	drop_space(r, pid);
	forget_root(r, pid);
	cp_u64map_del(&r->reloaded, pid);
}

int cp_recorder_add_sample(struct cp_recorder *r, const struct cp_profile_sample *s,
			   const int64_t *values, struct cp_error *err)
{
	if (!r->writer)
		return cp_error_set(err, CP_E_USAGE,
				    "no data file: a session without one takes snapshots");
	r->st.samples++;
	return cp_data_writer_add_sample(r->writer, s, values, err);
}

void cp_recorder_symbolize_new(struct cp_recorder *r)
{
	struct cp_profile *m = r->model;
	if (r->symbolized >= m->locations.n)
		return;
	cp_sample_symbolize_from(m, r->symz, r->map_modules.v, false, r->symbolized);
	r->symbolized = (uint32_t)m->locations.n;
}

const char *cp_recorder_sampler(const struct cp_recorder *r)
{
	const char *s = r->model->meta.sampler;
	return s && *s ? s : NULL;
}

bool cp_recorder_reaped(const struct cp_recorder *r, pid_t pid, int *status)
{
	return r->pt && cp_ptrace_reaped(r->pt, pid, status);
}

int cp_recorder_pollfds(const struct cp_recorder *r, struct pollfd *fds, int max)
{
	if (r->perf)
		return cp_perf_pollfds(r->perf, fds, max);
	return r->pt ? cp_ptrace_pollfds(r->pt, fds, max) : 0;
}

int cp_recorder_process(struct cp_recorder *r, struct cp_error *err)
{
	if (r->perf && cp_perf_read(r->perf, on_event, r))
		return cp_error_set(err, CP_E_IO, "cannot write the data file");
	if (r->pt && cp_ptrace_read(r->pt, on_event, r))
		return cp_error_set(err, CP_E_IO, "cannot write the data file");
	uint64_t now = cp_now_ns();
	if (r->writer && now - r->last_flush_ns >= 1000000000ULL) {
		r->last_flush_ns = now;
		int rc = cp_data_writer_flush(r->writer, err);
		if (rc)
			return rc;
	}
	return 0;
}

void rec_open_late_modules(struct cp_recorder *r)
{
	if (r->kernel_mapping != CP_NONE && !r->map_modules.v[r->kernel_mapping])
		r->map_modules.v[r->kernel_mapping] =
			cp_symbolizer_open(r->symz, "[kernel.kallsyms]", NULL, NULL, NULL);
	for (size_t i = 0; i < r->model->mappings.n; i++) {
		if (!(r->model->mappings.v[i].flags & CP_MAP_JIT) || r->map_modules.v[i])
			continue;
		char rootbuf[48];
		const char *root = "";
		if (i < r->map_pids.n)
			root = root_path(root_of(r, r->map_pids.v[i]), r->map_pids.v[i], rootbuf,
					 sizeof(rootbuf));
		r->map_modules.v[i] = cp_symbolizer_open(r->symz, r->model->mappings.v[i].path,
							 root, NULL, NULL);
	}
	/* only now: a fetch must never stall the ring reader */
	if (!r->debuginfod_on)
		r->debuginfod_on = cp_symbolizer_debuginfod(r->symz, r->opts.debuginfod_timeout);
}

int cp_recorder_finish(struct cp_recorder *r, int exit_status, struct cp_error *err)
{
	if (r->finished || (!r->writer && !r->opts.periodic))
		return 0;
	r->finished = true;
	r->exit_status = exit_status;
	if (r->perf) {
		cp_perf_enable(r->perf, false);
		cp_perf_read(r->perf, on_event, r);
		cp_perf_close(r->perf);
		r->perf = NULL;
	}
	if (r->pt) {
		cp_ptrace_read(r->pt, on_event, r);
		cp_ptrace_close(r->pt);
		r->pt = NULL;
	}
	if (r->opts.periodic)
		return 0; /* the caller cuts the last period (cp_recorder_cut) */
	rec_open_late_modules(r);
	cp_sample_symbolize(r->model, r->symz, r->map_modules.v, false);
	rec_store_code(r);
	struct cp_profile_meta *m = &r->model->meta;
	m->duration_nanos = cp_now_ns() - r->start_ns;
	m->lost_samples = r->st.lost;
	m->exit_status = exit_status;
	int rc = cp_data_writer_finish(r->writer, err);
	r->writer = NULL;
	return rc;
}

void cp_recorder_stats(const struct cp_recorder *r, struct cp_record_stats *st)
{
	*st = r->st;
	st->bytes = r->writer ? cp_data_writer_bytes(r->writer) : 0;
}

void cp_recorder_free(struct cp_recorder *r)
{
	if (!r)
		return;
	close_sampler(r);
	if (r->writer)
		cp_data_writer_abort(r->writer);
	for (size_t i = 0; i < r->spaces.cap; i++)
		if (r->spaces.used[i])
			cp_space_free((struct cp_space *)(uintptr_t)r->spaces.vals[i]);
	for (size_t i = 0; i < r->tids.cap; i++)
		if (r->tids.used[i])
			free((void *)(uintptr_t)r->tids.vals[i]);
	for (size_t i = 0; i < r->roots.cap; i++)
		if (r->roots.used[i])
			free((void *)(uintptr_t)r->roots.vals[i]);
	for (size_t i = 0; i < r->locmaps.n; i++) {
		cp_u64map_release(r->locmaps.v[i]);
		free(r->locmaps.v[i]);
	}
	CP_VEC_FREE(r->locmaps);
	CP_VEC_FREE(r->map_modules);
	cp_u64map_release(&r->spaces);
	cp_u64map_release(&r->tids);
	cp_u64map_release(&r->unknown_locs);
	cp_u64map_release(&r->seen_pids);
	cp_u64map_release(&r->reloaded);
	cp_u64map_release(&r->roots);
	CP_VEC_FREE(r->map_pids);
	CP_VEC_FREE(r->leaf_hits);
	CP_VEC_FREE(r->psamples);
	CP_VEC_FREE(r->pvalues);
	cp_u64map_release(&r->code_done);
	cp_intern_release(&r->map_keys);
	cp_unwinder_free(r->unw);
	cp_symbolizer_free(r->symz);
	cp_profile_free(r->model);
	free(r);
}
