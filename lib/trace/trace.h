/* trace.h - what cprof strace-lite knows of system calls before it traces
 * any: the classes of strace's -e trace=%CLASS (classes.c: the project's
 * own table, by name, for every architecture) and -e trace= expressions
 * turned into a set of this build's syscall numbers (filter.c).  Names
 * and numbers are lib/proc's (gen/syscalls.h, from the kernel headers). */
#ifndef CPROF_TRACE_H
#define CPROF_TRACE_H

#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

enum cp_trace_class {
	CP_TC_FILE = 1 << 0,    /* %file: takes a file name */
	CP_TC_DESC = 1 << 1,    /* %desc: takes or returns a file descriptor */
	CP_TC_NETWORK = 1 << 2, /* %network: sockets */
	CP_TC_PROCESS = 1 << 3, /* %process: process life cycle */
	CP_TC_MEMORY = 1 << 4,  /* %memory: the address space */
	CP_TC_SIGNAL = 1 << 5,  /* %signal */
	CP_TC_IPC = 1 << 6,     /* %ipc: System V IPC */
	CP_TC_CREDS = 1 << 7,   /* %creds: user and group ids, capabilities */
	CP_TC_CLOCK = 1 << 8,   /* %clock: reading or setting clocks */
};

/* The classes of the syscall called name (0: none, or no such name). */
unsigned cp_trace_classes(const char *name);
/* The class called "%file" (with its %), 0 when there is none. */
unsigned cp_trace_class_by_name(const char *name);
/* "%file, %desc, ..." for messages. */
const char *cp_trace_class_names(void);

#define CP_TRACE_MAX_NR 1024

/* A set of syscall numbers of this architecture. */
struct cp_trace_set {
	uint64_t bits[CP_TRACE_MAX_NR / 64];
};

/* An -e trace= expression, strace's: a comma-separated list of syscall
 * names, %classes, /regular expressions (extended, matched against the
 * names), "all" or "none"; "?" before an item ignores it when it matches
 * nothing; "!" before the whole list takes its complement.  CP_E_USAGE
 * naming the item that is unknown or malformed; *set is filled. */
int cp_trace_set_parse(const char *expr, struct cp_trace_set *set, struct cp_error *err);
bool cp_trace_set_has(const struct cp_trace_set *set, long nr);
/* How many numbers the set holds. */
int cp_trace_set_count(const struct cp_trace_set *set);

/* ---- what both engines report ------------------------------------------ *
 * The event engine (events.c: raw_syscalls tracepoints through perf_event,
 * the program never stops) and the decode engine (ptrace.c: PTRACE_SEIZE,
 * arguments read from the tracee, decode.c) hand the same records to a
 * sink: one per finished call (or per call that never returned), one per
 * signal delivered, one per process that ended.  The sink (output.c) makes
 * strace's lines, JSON, the -c table or latency histograms of them. */

/* One decoded argument (or return value) as decode.c renders it. */
enum cp_trace_arg_kind {
	CP_TA_NUM, /* an integer: text is its decimal form (JSON: a number) */
	CP_TA_STR, /* bytes from the tracee: s/len (line mode: quoted, escaped;
		    * JSON: a string); truncated when longer than -s */
	CP_TA_SYM, /* anything else, text as shown: "AT_FDCWD", "O_RDONLY|O_CLOEXEC",
		    * "0x7ffd1000", "[{fd=3, events=POLLIN}]", "NULL" (JSON: a string) */
};

struct cp_trace_arg {
	enum cp_trace_arg_kind kind;
	const char *text; /* NUM, SYM: NUL-terminated */
	const char *s;    /* STR */
	size_t len;       /* STR: bytes in s */
	bool truncated;   /* STR: the tracee's string went on ("..." after it) */
	const char *path; /* -y: the path of the file descriptor this argument is, or NULL */
};

#define CP_TRACE_MAX_ARGS 6

struct cp_trace_call {
	uint32_t pid, tid;
	int nr;                   /* syscall number; cp_syscall_name() or "syscall_NNN" */
	uint64_t args[CP_TRACE_MAX_ARGS]; /* raw, as the tracee passed them */
	int64_t ret;              /* raw return; -4095..-1 are -errno */
	bool returned;            /* false: it never returned (exit_group, a thread's
				   * execve, the tracee was killed): "= ?" */
	uint64_t enter_ns, exit_ns; /* CLOCK_MONOTONIC; exit_ns 0 when !returned */
	uint64_t sys_ns;          /* ptrace engine: system CPU time of the call
				   * (for -c's default column), 0 unknown */
	/* decoded (may be absent: then the output prints raw hex arguments) */
	int nargs;                /* -1: not decoded */
	const struct cp_trace_arg *dargs;
	const struct cp_trace_arg *dret; /* decoded return (NULL: plain number or
					  * -1 ERRNO) e.g. "0x7f12000" for mmap,
					  * path for -y on a returned fd */
	uint32_t stack;           /* event engine with stacks: model stack id, CP_NONE
				   * (UINT32_MAX) none */
};

/* One syscall's calls added up in the kernel (bpf.c: plain -c). */
struct cp_trace_totals {
	int nr; /* CP_TRACE_MAX_NR: numbers beyond the table */
	uint64_t calls, errors, total_ns, min_ns, max_ns;
};

struct cp_trace_sink {
	void *arg;
	/* a call finished (or never will) */
	void (*call)(void *arg, const struct cp_trace_call *c);
	/* a signal was delivered to tid: "--- SIGCHLD {si_signo=SIGCHLD, ...} ---";
	 * info is the text between the braces (decode.c), "" when unknown */
	void (*signal)(void *arg, uint32_t pid, uint32_t tid, int signo, const char *info,
		       uint64_t ns);
	/* a traced process ended: wait status as waitpid() gives it */
	void (*exit)(void *arg, uint32_t pid, int status, uint64_t ns);
	/* calls counted in the kernel, one syscall at a time, at the end */
	void (*totals)(void *arg, const struct cp_trace_totals *tt);
};

/* The name of syscall nr, or "syscall_NNN" into buf when this build's
 * headers do not know it (newer kernel). */
const char *cp_trace_syscall_name(int nr, char *buf, size_t size);

/* What a trace is asked to do; both engines read it. */
struct cp_trace_opts {
	struct cp_trace_set set; /* the calls to report */
	bool subset;             /* set is not every call (-e trace= given) */
	bool follow;             /* -f: children too (threads always) */
	bool attach;             /* the targets are running processes (-p), not a
				  * command waiting to exec */
	bool decode;             /* decode arguments (lines and JSON) */
	int strsize;             /* -s: bytes of strings shown (default 32) */
	bool paths;              /* -y: paths of file descriptors */
	bool stacks;             /* -k / --record: user stacks (event engine) */
	uint32_t stack_size;     /* bytes of user stack copied per call (8192) */
	int mmap_pages;          /* event engine: ring pages per CPU, 0 automatic */
	const char *record;      /* --record: the profile to write, NULL none */
	const char *command_line; /* for the profile's meta */
	enum cp_trace_bpf_use {
		CP_TRACE_BPF_NEVER, /* the tracepoint rings */
		CP_TRACE_BPF_AUTO,  /* count in the kernel when it can (bpf.c), else the rings */
		CP_TRACE_BPF_ONLY,  /* count in the kernel or fail */
	} bpf;                   /* only for plain counting: no lines, stacks, latency
				  * or per-thread tables */
};
void cp_trace_opts_init(struct cp_trace_opts *o);

/* ---- decode.c: arguments, from the tracee's memory or without it -------- */

/* How a decoder reads the tracee: read len bytes at addr into buf;
 * returns the bytes read (short at the end of a mapping), -1 failure. */
struct cp_trace_mem {
	ssize_t (*read)(void *arg, uint32_t tid, uint64_t addr, void *buf, size_t len);
	void *arg;
};

struct cp_trace_decoder;
struct cp_trace_decoder *cp_trace_decoder_new(const struct cp_trace_opts *o);
void cp_trace_decoder_free(struct cp_trace_decoder *d);
/* At entry: decode what the call takes in (paths, execve's argv, write's
 * buffer) while it is still there; mem NULL: no memory (pointers in hex). */
void cp_trace_decode_enter(struct cp_trace_decoder *d, struct cp_trace_call *c,
			   const struct cp_trace_mem *mem);
/* At exit: what the call gave back (read's buffer, stat, returned fd's
 * path with -y); fills c->nargs/dargs/dret, valid until the next call on
 * the same thread. */
void cp_trace_decode_exit(struct cp_trace_decoder *d, struct cp_trace_call *c,
			  const struct cp_trace_mem *mem);
/* The thread ended: forget its pending entry. */
void cp_trace_decode_forget(struct cp_trace_decoder *d, uint32_t tid);
/* siginfo as strace shows it between braces, into buf. */
const char *cp_trace_siginfo(const siginfo_t *si, char *buf, size_t size);
/* "SIGCHLD", or "SIG123" into buf */
const char *cp_trace_signame(int signo, char *buf, size_t size);
/* "ENOENT" / "No such file or directory" for an errno; NULL unknown */
const char *cp_trace_errno_name(int e);

/* ---- output.c, summary.c: what the user sees ---------------------------- */

struct cp_trace_out_opts {
	FILE *f;                 /* where lines, JSON and tables go */
	bool lines;              /* a line (or JSON object) per call */
	bool summary;            /* -c / -C: the table at the end */
	bool latency;            /* --latency: percentiles and histograms at the end */
	bool json;               /* JSON instead of text */
	int timestamps;          /* 0, -t 1, -tt 2, -ttt 3 */
	bool durations;          /* -T: <seconds> after each line */
	const char *sort;        /* -S: time (default), calls, errors, name, avg-time,
				  * min-time, max-time, nothing */
	bool per_thread, per_process; /* tables per thread / per process */
	bool cpu_time;           /* the table's time is each call's system CPU time
				  * (ptrace engine), not entry-to-exit wall time */
	bool stacks;             /* -k: each call's stack after it */
};

struct cp_profile;
struct cp_trace_out;
struct cp_trace_out *cp_trace_out_new(const struct cp_trace_out_opts *o);
/* The sink the engines report to. */
const struct cp_trace_sink *cp_trace_out_sink(struct cp_trace_out *out);
/* The model stacks of calls come from (-k with the event engine). */
void cp_trace_out_set_model(struct cp_trace_out *out, const struct cp_profile *model);
/* "-S KEY" is one of the keys: 0, else CP_E_USAGE naming it. */
int cp_trace_sort_check(const char *key, struct cp_error *err);
/* The tables asked for, and how many events were lost and calls left
 * out because of that (a line saying so, also in JSON; why: the reason
 * when no event was lost, NULL for the rings'); returns 0 or CP_E_IO when
 * the output could not be written. */
int cp_trace_out_finish(struct cp_trace_out *out, uint64_t lost, uint64_t dropped,
			const char *why, struct cp_error *err);
/* How many calls were reported (after the filter). */
uint64_t cp_trace_out_calls(const struct cp_trace_out *out);
void cp_trace_out_free(struct cp_trace_out *out);

/* summary.c (the output's tables; output.c feeds it) */
struct cp_trace_stats;
struct cp_trace_stats *cp_trace_stats_new(bool latency);
void cp_trace_stats_add(struct cp_trace_stats *st, const struct cp_trace_call *c, bool cpu_time);
/* Calls added up elsewhere (the kernel). */
void cp_trace_stats_add_totals(struct cp_trace_stats *st, const struct cp_trace_totals *tt);
/* The -c table (strace's columns) or, JSON, one object {"calls":[...],"total":{...}}. */
void cp_trace_stats_table(const struct cp_trace_stats *st, FILE *f, const char *sort, bool json,
			  bool cpu_time);
/* --latency: p50/p90/p99/max per syscall and a log2 histogram each. */
void cp_trace_stats_latency(const struct cp_trace_stats *st, FILE *f, bool json);
void cp_trace_stats_free(struct cp_trace_stats *st);

/* ---- events.c: the event engine ------------------------------------------ */

struct pollfd;
struct cp_trace_events;
/* Prepare (nothing traced yet).  With o->stacks or o->record the stacks
 * are unwound (a recorder; o->record names the profile to write). */
int cp_trace_events_open(const struct cp_trace_opts *o, const struct cp_trace_sink *sink,
			 struct cp_trace_events **out, struct cp_error *err);
/* Trace pid: our child waiting to exec (counting starts at its exec), or
 * with o->attach a running process (every thread, never stopped; several
 * may be added). */
int cp_trace_events_add(struct cp_trace_events *t, pid_t pid, struct cp_error *err);
int cp_trace_events_pollfds(const struct cp_trace_events *t, struct pollfd *fds, int max);
/* Pair and deliver everything the rings hold now. */
int cp_trace_events_read(struct cp_trace_events *t, struct cp_error *err);
/* Stop, drain, deliver; exit_status >= 0 (the program ended): calls still
 * open never returned.  Writes the --record profile. */
int cp_trace_events_finish(struct cp_trace_events *t, int exit_status, struct cp_error *err);
/* "in-kernel" (bpf.c) or "tracepoints": what counts. */
const char *cp_trace_events_engine(const struct cp_trace_events *t);
/* Why in-kernel counting was asked for (CP_TRACE_BPF_AUTO) and not used,
 * NULL when it was or was not asked. */
const char *cp_trace_events_fallback(const struct cp_trace_events *t);
/* Records the kernel dropped (ring overrun), and calls that could not be
 * paired because of them. */
uint64_t cp_trace_events_lost(const struct cp_trace_events *t);
uint64_t cp_trace_events_dropped(const struct cp_trace_events *t);
/* Why calls were dropped when no event was lost, NULL: the rings' reason. */
const char *cp_trace_events_dropped_why(const struct cp_trace_events *t);
/* The model the stacks of calls index (NULL without stacks). */
const struct cp_profile *cp_trace_events_model(const struct cp_trace_events *t);
void cp_trace_events_free(struct cp_trace_events *t);

/* ---- bpf.c: plain counting in the kernel (the event engine's, for -c) ---- */

struct cp_trace_bpf;
/* Load and attach the counting programs (nothing counted until a process
 * is added).  CP_E_PERM (not root: CAP_BPF and CAP_PERFMON) or
 * CP_E_UNSUPPORTED (no BTF, a pid namespace, the verifier refused) with
 * the reason in one line. */
int cp_trace_bpf_open(const struct cp_trace_opts *o, struct cp_trace_bpf **out,
		      struct cp_error *err);
/* Follow process pid (its tgid): running (-p) counts from now, else it is
 * our child waiting to exec and counts from its successful exec. */
int cp_trace_bpf_add(struct cp_trace_bpf *b, pid_t pid, bool running, struct cp_error *err);
/* Detach, then hand each syscall's totals to sink->totals (filtered by
 * o->set). */
int cp_trace_bpf_finish(struct cp_trace_bpf *b, const struct cp_trace_opts *o,
			const struct cp_trace_sink *sink, struct cp_error *err);
/* A member whose byte offset the programs need (task_struct's tgid...). */
struct cp_trace_btf_member {
	const char *st, *member;
	int32_t off; /* -1: not found */
};
/* The byte offsets of n struct members in BTF data (the kernel's
 * /sys/kernel/btf/vmlinux format): 0, or CP_E_FORMAT (malformed: what and
 * where) / CP_E_UNSUPPORTED (a member not there) naming it. */
int cp_trace_btf_offsets(const void *btf, size_t len, struct cp_trace_btf_member *want,
			 size_t n, struct cp_error *err);
/* Calls not counted: their thread's entry slot was taken by another
 * thread's open call (only when pid_max is over a million). */
uint64_t cp_trace_bpf_dropped(const struct cp_trace_bpf *b);
/* Child processes not followed: their slot among the *max (pid_max, up
 * to 1M) was another process's. */
uint64_t cp_trace_bpf_unfollowed(const struct cp_trace_bpf *b, uint32_t *max);
void cp_trace_bpf_free(struct cp_trace_bpf *b);

/* ---- ptrace.c: the decode engine ---------------------------------------- */

struct cp_trace_ptrace;
/* Fork argv[0] (PATH lookup) seized before its exec; with o->subset a
 * seccomp-bpf filter installed in the child before exec makes only the
 * chosen calls stop (SECCOMP_RET_TRACE).  A command that cannot be run:
 * CP_E_NOENT / CP_E_PERM "cannot run 'x': ..." and nothing left behind. */
int cp_trace_ptrace_spawn(const struct cp_trace_opts *o, char *const argv[],
			  struct cp_trace_ptrace **out, struct cp_error *err);
/* Seize every thread of a running process (PTRACE_SEIZE: nothing stops
 * for the seizing; no seccomp, as strace).  Permission problems (yama,
 * another tracer, another user's process): CP_E_PERM, one line saying
 * which.  May be called for several pids. *t NULL: made. */
int cp_trace_ptrace_attach(const struct cp_trace_opts *o, pid_t pid,
			   struct cp_trace_ptrace **t, struct cp_error *err);
/* Trace until every tracee is gone, *stop becomes non-zero or deadline_ns
 * (CLOCK_MONOTONIC, 0 never) passes; then detach from what is left (each
 * left running, or stopped if a signal stopped it, pending signals kept).
 * Calls are delivered to sink as they finish.  *exit_status: the spawned
 * program's wait status, -1 when it did not end under trace. */
int cp_trace_ptrace_run(struct cp_trace_ptrace *t, const struct cp_trace_sink *sink,
			volatile sig_atomic_t *stop, uint64_t deadline_ns, int *exit_status,
			struct cp_error *err);
/* The spawned program's pid (0 for attach). */
pid_t cp_trace_ptrace_pid(const struct cp_trace_ptrace *t);
void cp_trace_ptrace_free(struct cp_trace_ptrace *t);

#endif
