/* sample.h - samplers and the recording session.
 *
 * Two layers:
 *  - samplers.  cp_perf: perf_event_open on every CPU for a target
 *    (inherit: threads and children), the mmap'd ring buffers, and a reader
 *    that hands out records in time order across CPUs.  cp_ptrace: where
 *    perf_event is not allowed, a timer in cprof interrupts the traced
 *    threads (PTRACE_SEIZE + PTRACE_INTERRUPT), copies registers and stack
 *    and lets them go; it also does wall-clock sampling.  Both hand out the
 *    same cp_perf_event records.
 *  - cp_recorder: the recording session.  It turns records into the
 *    profile model while the target runs: tracks each process's mappings
 *    (MMAP2/COMM/FORK/EXIT), unwinds every sample (DWARF from the copied
 *    user stack, or the kernel's frame-pointer callchain), interns
 *    locations and stacks and streams samples to the data writer.  At the
 *    end it symbolizes every distinct location once and stores the
 *    symbols, so the file is self-contained.
 */
#ifndef CPROF_SAMPLE_H
#define CPROF_SAMPLE_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

/* ---- perf_event ---------------------------------------------------------- */

enum cp_callgraph { CP_CG_DWARF, CP_CG_FP, CP_CG_NONE };

struct cp_perf_opts {
	const char *event;     /* "cycles" (default, falls back), "cpu-clock", "task-clock" */
	int freq;              /* Hz */
	enum cp_callgraph callgraph;
	uint32_t stack_size;   /* dwarf: bytes of user stack copied per sample */
	bool stack_size_set;   /* the user chose stack_size: never shrink it */
	bool inherit;          /* follow children (threads are always followed) */
	bool enable_on_exec;   /* start counting when the target execs */
	bool attach;           /* an existing process: one event per existing thread */
	pid_t only_tid;        /* attach: sample this one thread only (0 = all) */
	bool system_wide;      /* every process on the machine (perf -a), on every CPU */
	bool user_only;        /* no kernel frames (and no kernel samples) */
	int mmap_pages;        /* data pages per CPU (power of two), 0 = automatic */
	/* Instead of a sampling event: the raw_syscalls:sys_enter and
	 * sys_exit tracepoints, every call's both edges with the
	 * tracepoint's raw data (cp_perf_sample.raw); with CP_CG_DWARF the
	 * registers and stack_size bytes of user stack on the enter records
	 * only; CP_CG_NONE: neither.  No kernel callchains. */
	bool syscalls;
	bool syscall_args;     /* syscalls: enter records carry the number and arguments
				* (always with CP_CG_DWARF; else only the exit says which
				* call it was: smaller records, less overhead in the
				* traced program) */
	const char *filter;    /* syscalls: tracepoint filter ("id == 0 || id == 1"), NULL none */
};

/* A decoded PERF_RECORD_SAMPLE; pointers borrow the ring buffer and live
 * only for the callback. */
struct cp_perf_sample {
	uint64_t ip;
	uint32_t pid, tid, cpu;
	uint64_t time, period;
	bool kernel_ip;
	uint64_t nr_kernel, nr_user; /* callchain split: kernel part, user part */
	const uint64_t *kchain;      /* kernel callchain entries, leaf first */
	const uint64_t *uchain;      /* user callchain (ip, return addresses) */
	uint64_t regs_abi;           /* 0 = no user regs (kernel thread) */
	uint64_t regs[24];           /* user regs indexed by PERF_REG_X86_* */
	const uint8_t *stack;        /* copy of the user stack from regs[SP] */
	uint64_t stack_size;         /* bytes requested */
	uint64_t stack_dyn;          /* bytes actually copied */
	bool offcpu;                 /* wall-clock: the thread was blocked */
	int32_t syscall;             /* offcpu: the syscall it was blocked in, -1 unknown */
	/* syscalls: the tracepoint's record: common header (u16 type...), then
	 * sys_enter {long id; unsigned long args[6]} or sys_exit {long id; long ret} */
	const uint8_t *raw;
	uint32_t raw_size;
	bool sys_enter;              /* syscalls: an enter record (else an exit) */
	int64_t sys_id;              /* syscalls: the call's number (-1: an enter
				      * without syscall_args nor stack) */
	uint64_t sys_args[6];        /* syscalls, enter: its arguments */
	int64_t sys_ret;             /* syscalls, exit: its return value */
};

enum cp_perf_rec {
	CP_PERF_SAMPLE,
	CP_PERF_MMAP,   /* executable mapping */
	CP_PERF_COMM,   /* thread name (exec when comm_exec) */
	CP_PERF_FORK,
	CP_PERF_EXIT,
	CP_PERF_LOST,   /* ring buffer overrun: `lost` samples dropped */
};

struct cp_perf_event {
	enum cp_perf_rec kind;
	uint64_t time;
	uint32_t pid, tid, ppid, ptid;
	/* MMAP */
	uint64_t addr, len, pgoff;
	uint32_t prot;
	const char *filename;
	char build_id[41]; /* hex, "" unknown */
	/* COMM */
	const char *comm;
	bool comm_exec;
	/* LOST */
	uint64_t lost;
	const struct cp_perf_sample *sample;
};

struct cp_perf;

/* Open the sampling events for pid on every online CPU.  Falls back from
 * "cycles" to "cpu-clock" when there are no hardware counters (logs one
 * notice).  Permission failures give CP_E_PERM with a message naming
 * kernel.perf_event_paranoid, or the process's owner when attaching to
 * another user's process.  With o->attach, every existing thread of pid
 * gets its own events (threads started later are inherited), all writing
 * into one ring per CPU; they start disabled (cp_perf_enable). */
int cp_perf_open(pid_t pid, const struct cp_perf_opts *o, struct cp_perf **out,
		 struct cp_error *err);
/* Attach mode: add another process (all its threads) to the same rings. */
int cp_perf_add(struct cp_perf *p, pid_t pid, struct cp_error *err);
void cp_perf_close(struct cp_perf *p);
/* The event actually used ("cpu-clock" after a fallback) and its nominal
 * period per sample in nanoseconds (0 for cycles). */
const char *cp_perf_event_name(const struct cp_perf *p);
uint64_t cp_perf_period_ns(const struct cp_perf *p);
/* Bytes of user stack copied per sample (0 in fp mode). */
uint32_t cp_perf_stack_size(const struct cp_perf *p);
/* The id of tracepoint SYSTEM:NAME (tracefs events/SYSTEM/NAME/id).  When
 * tracefs is not mounted and we are root it is mounted for the lookup in
 * a short-lived child's own mount namespace (the system's mounts stay as
 * they were).  CP_E_UNSUPPORTED naming what is missing. */
int cp_perf_tracepoint_id(const char *system, const char *name, struct cp_error *err);
/* Fill pollfds (POLLIN) for the ring buffers; returns how many (<= max). */
int cp_perf_pollfds(const struct cp_perf *p, struct pollfd *fds, int max);
/* Enable / disable counting on every CPU. */
int cp_perf_enable(struct cp_perf *p, bool on);
/* Deliver every record available now, in time order across CPUs.  The
 * callback returns 0 to go on. */
int cp_perf_read(struct cp_perf *p, int (*cb)(const struct cp_perf_event *ev, void *arg),
		 void *arg);

/* ---- ptrace sampler ---------------------------------------------------------- */

struct cp_ptrace_opts {
	int freq;            /* Hz */
	enum cp_callgraph callgraph;
	uint32_t stack_size; /* bytes of stack copied per sample (both modes: fp walks it) */
	bool wall;           /* sample blocked threads too, marked offcpu */
	bool inherit;        /* follow child processes (threads are always followed) */
	pid_t only_tid;      /* attach: this one thread only (0 = all) */
};

struct cp_ptrace;

/* Prepare the sampler: the timer and a signalfd for SIGCHLD (SIGCHLD is
 * blocked in the calling thread).  No process is traced yet. */
int cp_ptrace_open(const struct cp_ptrace_opts *o, struct cp_ptrace **out, struct cp_error *err);
/* Trace pid.  spawned: pid is our child waiting to exec (cp_proc_spawn);
 * it is sampled from its exec on.  Otherwise every thread of a running
 * process is seized; nothing is stopped by the seizing itself.
 * Permission problems (yama ptrace_scope, another tracer, another user's
 * process, ptrace refused) are CP_E_PERM with a message saying which. */
int cp_ptrace_add(struct cp_ptrace *t, pid_t pid, bool spawned, struct cp_error *err);
int cp_ptrace_pollfds(const struct cp_ptrace *t, struct pollfd *fds, int max);
/* Handle every pending stop (signals are passed on unchanged, group stops
 * kept), take a round of samples when the timer has expired, and deliver
 * the records (samples, FORK, COMM on exec, EXIT) to cb. */
int cp_ptrace_read(struct cp_ptrace *t, int (*cb)(const struct cp_perf_event *ev, void *arg),
		   void *arg);
/* Why PTRACE_SEIZE of pid failed with errno e, as one actionable line
 * (another tracer, another user's process, yama's ptrace_scope, a
 * seccomp profile); CP_E_NOENT when it does not exist. */
int cp_ptrace_seize_error(pid_t pid, int e, struct cp_error *err);
/* Exit status of a traced child of ours that the sampler reaped. */
bool cp_ptrace_reaped(const struct cp_ptrace *t, pid_t pid, int *status);
/* Detach from every thread (each left running, or stopped if it was
 * stopped by a signal, with pending signals delivered) and free. */
void cp_ptrace_close(struct cp_ptrace *t);

/* ---- the recording session ----------------------------------------------- */

struct cp_profile_sample;

enum cp_sampler {
	CP_SAMPLER_AUTO,   /* perf_event; ptrace (with a notice) when it is not allowed */
	CP_SAMPLER_PERF,
	CP_SAMPLER_PTRACE,
};

struct cp_record_opts {
	const char *output;       /* "cprof.data" default, "-" stdout */
	struct cp_perf_opts perf;
	enum cp_sampler sampler;
	bool wall;                /* wall-clock (ptrace sampler): blocked threads too */
	const char *command_line; /* for the file's meta */
	/* Machine code stored at the end for annotate: at most this many
	 * bytes of code in all (default CP_RECORD_CODE_MAX; 0 = none).  The
	 * functions with the most leaf samples go first; a function larger
	 * than CP_RECORD_CODE_FN_MAX is never stored. */
	uint64_t code_max;
	/* With $DEBUGINFOD_URLS set, debug files missing on this machine are
	 * fetched at the end, for at most this many seconds in all (default
	 * CP_RECORD_DEBUGINFOD_TIMEOUT; 0 = never). */
	double debuginfod_timeout;
	/* Symbols kept across runs (cp_symbol_opts.cache_dir), NULL: none. */
	const char *cache_dir;
	/* Continuous recording: no output file; the samples are kept per
	 * period and cp_recorder_cut() turns each period into a profile. */
	bool periodic;
	/* With perf.syscalls: each tracepoint record goes here instead of
	 * into a sample; ps is its sample with the unwound model stack (an
	 * enter record with a user stack) or NULL (exit records, and enter
	 * records without registers).  The caller adds its own samples
	 * (cp_recorder_add_sample) with the values it chose.  Non-zero stops
	 * the read. */
	int (*on_syscall)(void *arg, const struct cp_perf_sample *s,
			  const struct cp_profile_sample *ps);
	/* ... and each thread's end (a call it was in never returns). */
	void (*on_thread_exit)(void *arg, uint32_t pid, uint32_t tid);
	/* ... and each overrun, where it happened in the merged stream: the
	 * n records dropped there may include any thread's edges. */
	void (*on_lost)(void *arg, uint64_t n);
	void *on_syscall_arg;
};
#define CP_RECORD_CODE_MAX (8ull << 20)
#define CP_RECORD_DEBUGINFOD_TIMEOUT 30
#define CP_RECORD_CODE_FN_MAX (1u << 20)
void cp_record_opts_init(struct cp_record_opts *o);

struct cp_record_stats {
	uint64_t samples, lost;
	uint64_t complete, cut, spliced, noinfo;
	uint64_t bytes;       /* written to the data file so far */
	uint64_t processes, threads;
	const char *event;    /* the event in use */
	uint64_t first_sample_ns;       /* first sample stored, ns after cp_recorder_new */
	uint64_t first_sample_realtime; /* ... as CLOCK_REALTIME ns */
};

struct cp_recorder;

/* Prepare a session (no counters, no output file yet). */
struct cp_recorder *cp_recorder_new(const struct cp_record_opts *o, struct cp_error *err);
/* Start sampling pid (and, with inherit, its children); the first call
 * also creates the output file.  With opts.perf.system_wide, pid is -1:
 * every process on the machine (perf_event only; CP_E_PERM names what it
 * needs). */
int cp_recorder_add_target(struct cp_recorder *r, pid_t pid, struct cp_error *err);
/* Pollable fds; returns the count (<= max). */
int cp_recorder_pollfds(const struct cp_recorder *r, struct pollfd *fds, int max);
/* Process everything available; writes a chunk when a second has passed
 * since the last one.  Returns 0 or an error (write failure). */
int cp_recorder_process(struct cp_recorder *r, struct cp_error *err);
/* Stop sampling, drain the buffers, symbolize, write the symbol section and
 * the end record (exit_status as a shell reports it, -1 unknown).  Safe to
 * call once; the recorder still needs cp_recorder_free. */
int cp_recorder_finish(struct cp_recorder *r, int exit_status, struct cp_error *err);
void cp_recorder_stats(const struct cp_recorder *r, struct cp_record_stats *st);
/* When the session began (CLOCK_MONOTONIC, as cp_now_ns()): the start of
 * its first period. */
uint64_t cp_recorder_start_ns(const struct cp_recorder *r);
/* Continuous recording (opts.periodic): end the current period at
 * boundary_ns (CLOCK_MONOTONIC, as cp_now_ns(); 0 or later than now: now)
 * and return it as a self-contained profile (the caller frees it): the
 * samples taken before the boundary (later ones go to the next period), with
 * every definition they use symbolized and the code of their sampled
 * functions, meta.time_nanos its start, duration_nanos its length,
 * lost_samples the samples the kernel dropped during it, exit_status the
 * target's once cp_recorder_finish() was called (that call drains the
 * buffers; cut after it for the last period).  Symbols, modules and code
 * persist across periods: each address is resolved once per run. */
struct cp_profile *cp_recorder_cut(struct cp_recorder *r, uint64_t boundary_ns);
/* Symbolize the locations that appeared since the last call (each once
 * per run), so a caller can print stacks as it goes. */
void cp_recorder_symbolize_new(struct cp_recorder *r);
/* The sampler in use ("perf_event", "ptrace"); NULL before a target. */
const char *cp_recorder_sampler(const struct cp_recorder *r);
/* Exit status of our child pid when the sampler reaped it (ptrace). */
bool cp_recorder_reaped(const struct cp_recorder *r, pid_t pid, int *status);
void cp_recorder_free(struct cp_recorder *r);

/* ---- stacks that another module collects (the heap tracker) ------------ *
 * A session without a sampler: the caller adds its value types to
 * cp_recorder_model() first, then starts the session, which creates the
 * output file; it turns return addresses into stacks and streams its own
 * samples.  cp_recorder_process() flushes, cp_recorder_finish() symbolizes
 * and ends the file as for a sampled recording. */
struct cp_profile;
struct cp_profile_sample;
int cp_recorder_start_external(struct cp_recorder *r, const char *sampler, const char *event,
			       struct cp_error *err);
struct cp_profile *cp_recorder_model(struct cp_recorder *r);
/* The model stack of n user-space return addresses of process pid,
 * innermost first (each is stepped back into its call instruction).
 * /proc/PID/maps is read again when an address is in no known mapping
 * and the process still exists. */
uint32_t cp_recorder_user_stack(struct cp_recorder *r, uint32_t pid, const uint64_t *rets,
				uint32_t n);
/* The process exec'd or exited: its mappings are read again when needed. */
void cp_recorder_forget_process(struct cp_recorder *r, uint32_t pid);
int cp_recorder_add_sample(struct cp_recorder *r, const struct cp_profile_sample *s,
			   const int64_t *values, struct cp_error *err);
/* With opts.periodic, an external session writes no file (start_external
 * opens none, add_sample is refused): the caller keeps its own values and
 * makes profiles of them with this.  The locations that appeared since
 * the last call are symbolized (each once per run), and the samples
 * (values: one per value type of the model, each sample's in a row) leave
 * as a self-contained profile that the caller frees: meta.time_nanos the
 * session's start, duration_nanos the time since. */
struct cp_profile *cp_recorder_snapshot(struct cp_recorder *r,
					const struct cp_profile_sample *samples,
					const int64_t *values, size_t n);

/* ---- symbolization of a model ------------------------------------------- */

struct cp_profile;
struct cp_symbolizer;
struct cp_module;
/* Symbolize every location of p that has no lines yet, once each, and
 * attach its inline chain.  mods (nullable) gives an open module per
 * mapping index (NULL entries are opened by path, checked against the
 * mapping's build-id).  Kernel mappings are symbolized only through mods:
 * kernel addresses from another boot or machine would be wrong.  s may be
 * NULL: a symbolizer is made (and freed) for the call.  Returns the number
 * of locations that got symbols. */
size_t cp_sample_symbolize(struct cp_profile *p, struct cp_symbolizer *s,
			   struct cp_module *const *mods, bool open_files);
/* The same for locations from index `first` on (those before were done). */
size_t cp_sample_symbolize_from(struct cp_profile *p, struct cp_symbolizer *s,
				struct cp_module *const *mods, bool open_files, uint32_t first);

#endif
