/* profile.h - the one in-memory profile model every format reads and writes.
 *
 * It mirrors pprof's profile.proto: mappings (modules), functions,
 * locations (an address in a mapping with its inline chain of lines),
 * stacks (interned arrays of location indices, leaf first) and samples
 * (a stack plus values and labels).  Recording-level facts (command,
 * event, unwinding statistics) live in `meta`.
 *
 * Ownership: a cp_profile owns everything reachable from it; every string
 * is interned with cp_profile_intern() and stays valid until
 * cp_profile_free().  Readers build a profile, writers only read one, and
 * nothing outside lib/profile frees parts of it.
 *
 * Indices are dense uint32 starting at 0, in insertion order; CP_NONE means
 * "no such entry".
 */
#ifndef CPROF_PROFILE_H
#define CPROF_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

#define CP_NONE UINT32_MAX

/* mapping flags */
#define CP_MAP_KERNEL 0x1u /* kernel or kernel module addresses */
#define CP_MAP_JIT 0x2u    /* symbols from a perf-PID.map JIT map */
#define CP_MAP_VDSO 0x4u
#define CP_MAP_ANON 0x8u   /* no backing file */

struct cp_profile_mapping {
	const char *path;     /* interned; "[vdso]", "[kernel.kallsyms]", "[jit]" ... */
	const char *build_id; /* interned lowercase hex, "" when unknown */
	uint64_t start, limit, offset; /* runtime range and file offset when known, else 0 */
	uint32_t flags;
};

/* function flags */
#define CP_FUNC_UNNAMED 0x1u /* no symbol names it: called "module+0xSTART" after its
			      * start in the unwind tables (stripped code); exports
			      * that can leave a location unsymbolized (pprof) do */

struct cp_profile_function {
	const char *name;        /* demangled display name, interned */
	const char *system_name; /* raw (mangled) name, interned; may equal name */
	const char *filename;    /* source file, "" when unknown */
	int64_t start_line;      /* 0 when unknown */
	uint32_t flags;          /* CP_FUNC_* */
};

/* One frame of a location's inline chain. */
struct cp_profile_line {
	uint32_t function; /* index into functions */
	int64_t line;      /* source line, 0 when unknown */
	bool inlined;      /* this frame was inlined into the next one */
};

/* An address in a mapping.  `address` is module-relative: the ELF virtual
 * address (st_value space) for file-backed modules, the absolute address
 * for the kernel and JIT code.  For frames other than the leaf it is the
 * return address minus one, so it falls inside the call instruction and
 * symbolizes to the call site's line.  Lines are innermost first (pprof
 * order): lines[0] is the innermost inlined frame, the last one the real
 * function.  A location with no lines is unsymbolized and shown as
 * "module+0xaddress". */
struct cp_profile_location {
	uint32_t mapping; /* CP_NONE when unknown */
	uint64_t address;
	uint32_t line_start; /* index into profile->lines */
	uint32_t nlines;
};

/* sample flags: how the stack was obtained */
#define CP_SAMPLE_COMPLETE 0x1u  /* unwinder reached the outermost frame */
#define CP_SAMPLE_CUT 0x2u       /* unwinding stopped at the end of the stack copy */
#define CP_SAMPLE_SPLICED 0x4u   /* DWARF stack continued with frame pointers */
#define CP_SAMPLE_NOINFO 0x8u    /* stopped: no unwind info for a frame */
#define CP_SAMPLE_BROKEN 0x10u   /* stopped: bad frame (corrupt stack, bad CFI) */
#define CP_SAMPLE_OFFCPU 0x20u   /* wall-clock sample of a blocked thread */

struct cp_profile_sample {
	uint32_t stack; /* index into stacks */
	uint32_t pid, tid;
	const char *comm; /* interned thread name at sample time, "" unknown */
	uint64_t time;    /* ns since the start of the recording */
	uint32_t flags;   /* CP_SAMPLE_* */
	uint32_t cpu;
	uint64_t stack_need; /* CUT samples: bytes of stack copy that would have kept it, 0 unknown */
	/* OFFCPU samples: the syscall the thread was blocked in ("nanosleep"),
	 * interned; "" or NULL unknown.  Only stored (and compared) for
	 * samples with CP_SAMPLE_OFFCPU. */
	const char *syscall;
};

struct cp_profile_value_type {
	const char *type; /* "samples", "cpu" */
	const char *unit; /* "count", "nanoseconds" */
};

/* Facts about the recording as a whole.  Strings interned, "" when unknown. */
struct cp_profile_meta {
	const char *command;   /* the profiled command line, space-joined */
	const char *event;     /* "cpu-clock", "cycles" */
	const char *sampler;   /* "perf_event", "ptrace" */
	const char *callgraph; /* "dwarf", "fp" */
	const char *hostname;
	const char *os_release; /* uname -r */
	const char *arch;       /* "x86_64" */
	const char *cprof_version;
	/* the value type a reader of this profile shows by default (pprof's
	 * default_sample_type; the first event of a perf-script input), ""
	 * when the format has no such notion (see cp_view_default_value) */
	const char *default_type;
	uint64_t time_nanos;     /* wall-clock start, ns since the epoch */
	uint64_t duration_nanos; /* length of the recording */
	uint64_t period;         /* nominal period per sample in the value unit */
	uint32_t freq;           /* requested frequency, Hz (0 if not frequency based) */
	uint32_t stack_size;     /* user stack copy size in bytes (dwarf mode) */
	uint64_t lost_samples;   /* dropped by the kernel (ring buffer overrun) */
	uint64_t lost_records;   /* other records lost */
	int32_t exit_status;     /* target's status as a shell reports it, -1 unknown */
	/* Stored machine code (see struct cp_profile_code): the size cap the
	 * recorder used in bytes (0: no code was stored, e.g. a pprof input or
	 * a recording cut short), and how many sampled functions were left
	 * out because the cap was reached. */
	uint64_t code_max;
	uint32_t code_skipped;
};

struct cp_profile_stack {
	uint32_t start; /* index into profile->stack_locs */
	uint32_t len;
};

/* The machine code of one sampled function, stored at the end of a
 * recording so annotate works after the binary is gone or on another
 * machine.  One entry per (module, function): `mapping` is one mapping of
 * that module (any process's), `address` the function's start in the same
 * module-relative space as locations.  Its bytes are
 * code_bytes.v[bytes_start .. bytes_start + size) and its line-table rows
 * code_lines.v[line_start .. line_start + nlines), sorted by address. */
struct cp_profile_code {
	uint32_t mapping;  /* index into mappings */
	uint32_t function; /* the real (not inlined) function, index into functions */
	uint64_t address;  /* module-relative start */
	uint32_t size;     /* bytes of machine code */
	uint64_t bytes_start;
	uint32_t line_start, nlines;
};

/* One line-table row of stored code: the instructions from `address` up to
 * the next row's address (or the end of the function) come from file:line
 * (the innermost source line, inlined code included).  line 0 = no line. */
struct cp_profile_code_line {
	uint64_t address; /* module-relative */
	const char *file; /* interned, "" unknown */
	int64_t line;
};

struct cp_profile {
	struct cp_profile_meta meta;
	CP_VEC(struct cp_profile_value_type) value_types;
	CP_VEC(struct cp_profile_mapping) mappings;
	CP_VEC(struct cp_profile_function) functions;
	CP_VEC(struct cp_profile_line) lines;
	CP_VEC(struct cp_profile_location) locations;
	CP_VEC(struct cp_profile_stack) stacks;
	CP_VEC(uint32_t) stack_locs; /* stacks' location indices, leaf first */
	CP_VEC(struct cp_profile_sample) samples;
	CP_VEC(int64_t) values; /* samples.n * value_types.n, row-major */
	CP_VEC(struct cp_profile_code) code;            /* stored machine code */
	CP_VEC(uint8_t) code_bytes;                     /* bytes of every code entry */
	CP_VEC(struct cp_profile_code_line) code_lines; /* rows of every code entry */

	/* set by readers */
	bool truncated;          /* input ended early; what is here is complete */
	uint64_t truncated_at;   /* byte offset where the good part ends */
	char truncated_why[160]; /* human reason, "" when not truncated */

	/* private: interning state */
	struct cp_intern strings_;
	struct cp_intern stack_index_;
	struct cp_intern function_index_;
	struct cp_u64map code_index_; /* (path string id << 32 | function) -> code index */
};

/* Allocate an empty profile (meta strings set to ""; exit_status -1). */
struct cp_profile *cp_profile_new(void);
void cp_profile_free(struct cp_profile *p);

/* Intern a string; the result lives as long as the profile.  NULL -> "". */
const char *cp_profile_intern(struct cp_profile *p, const char *s);
const char *cp_profile_intern_n(struct cp_profile *p, const char *s, size_t n);

/* Append a value type; returns its index. */
uint32_t cp_profile_add_value_type(struct cp_profile *p, const char *type, const char *unit);
/* Index of the value type named `type` ("cpu", "alloc_space"), CP_NONE when
 * the profile has none. */
uint32_t cp_profile_value_index(const struct cp_profile *p, const char *type);
/* Append a mapping (strings are interned by the call). */
uint32_t cp_profile_add_mapping(struct cp_profile *p, const struct cp_profile_mapping *m);
/* Add a function, deduplicated on (name, system_name, filename, start_line). */
uint32_t cp_profile_add_function(struct cp_profile *p, const char *name, const char *system_name,
				 const char *filename, int64_t start_line);
/* Add flags (CP_FUNC_*) to a function. */
void cp_profile_set_function_flags(struct cp_profile *p, uint32_t function, uint32_t flags);
/* Append a location (not deduplicated: callers intern (mapping, address)
 * themselves when they need to).  Lines are copied; n may be 0. */
uint32_t cp_profile_add_location(struct cp_profile *p, uint32_t mapping, uint64_t address,
				 const struct cp_profile_line *lines, uint32_t n);
/* Replace a location's lines (symbolization happens after the location was
 * created).  The old lines stay in the array, unreferenced. */
void cp_profile_set_location_lines(struct cp_profile *p, uint32_t loc,
				  const struct cp_profile_line *lines, uint32_t n);
/* Intern a stack (location indices, leaf first); returns its index. */
uint32_t cp_profile_add_stack(struct cp_profile *p, const uint32_t *locs, uint32_t n);
/* Append a sample; values has value_types.n entries.  s->comm and
 * s->syscall must be interned in p (or NULL for ""). */
void cp_profile_add_sample(struct cp_profile *p, const struct cp_profile_sample *s,
			   const int64_t *values);

/* Store a function's machine code and line rows (copied; row files are
 * interned by the call).  Rows must be sorted by address.  Returns the
 * code index.  One entry per (mapping path, function): a second call for
 * the same pair is ignored and returns the first entry's index. */
uint32_t cp_profile_add_code(struct cp_profile *p, uint32_t mapping, uint32_t function,
			     uint64_t address, const uint8_t *bytes, uint32_t size,
			     const struct cp_profile_code_line *rows, uint32_t nrows);
/* The stored code of `function` in the module whose mapping path is
 * `path` (NULL: any module), or NULL.  Borrowed, valid until the profile
 * changes. */
const struct cp_profile_code *cp_profile_find_code(const struct cp_profile *p, uint32_t function,
						   const char *path);

static inline const uint32_t *cp_profile_stack_locs(const struct cp_profile *p, uint32_t stack,
						    uint32_t *n)
{
	*n = p->stacks.v[stack].len;
	return p->stack_locs.v + p->stacks.v[stack].start;
}

static inline const int64_t *cp_profile_sample_values(const struct cp_profile *p, size_t i)
{
	return p->values.v + i * p->value_types.n;
}

/* A new profile holding n samples of src (values: n rows of
 * src->value_types.n) and only the definitions they use: mappings,
 * functions (with their flags), locations, stacks and the stored code of
 * those functions, renumbered densely; meta and value types copied.  The
 * samples' comm and syscall strings may be src's.  The caller frees it. */
struct cp_profile *cp_profile_subset(const struct cp_profile *src,
				     const struct cp_profile_sample *samples, const int64_t *values,
				     size_t n);

/* Add every sample of src to dst (the definitions they use added to
 * dst's, shared where equal).  An empty dst (no value types) takes src's
 * value types and meta; otherwise the value types must be the same
 * (CP_E_USAGE), and dst's time range grows to cover src's. */
int cp_profile_merge(struct cp_profile *dst, const struct cp_profile *src, struct cp_error *err);

/* Display name of a location's frame when it has no symbol:
 * "module+0xADDR" (module basename), written into buf. */
const char *cp_profile_unknown_name(const struct cp_profile *p, uint32_t loc, char *buf,
				    size_t size);

/* Structural equality (same mappings, functions, locations, stacks,
 * samples, values and meta), used by round-trip tests.  On difference,
 * writes what differs into why (nullable). */
bool cp_profile_equal(const struct cp_profile *a, const struct cp_profile *b, char *why,
		      size_t why_size);


/* ---- views: filters, frames, top table, call tree (view.c) --------------
 *
 * A view is a filtered, weighted reading of a profile, built once and then
 * asked for a top table, a call tree or the distinct stacks (folded
 * output).  Samples are grouped per distinct (stack[, comm, pid, tid,
 * state]) first, and each distinct stack is expanded into frames once, so a
 * million samples aggregate in a fraction of a second.
 *
 * Frames: a stack's locations (leaf first) each expand into their inline
 * chain, innermost first, so a sample's frame list (leaf first) is the
 * concatenation.  A location without lines is one frame named by
 * cp_profile_unknown_name() ("module+0xADDR"); one without a mapping, and
 * an empty stack, is the frame "[unknown]" in module "[unknown]" (a bare
 * address is never a name).  A frame's identity is (function index, or the
 * unknown name, plus the mapping's path): the inlined flag is not part of
 * it, and the same library mapped into two processes is one module. */

/* Sort / aggregation keys (perf report --sort). */
enum cp_view_key {
	CP_VIEW_KEY_COMM,
	CP_VIEW_KEY_PID,
	CP_VIEW_KEY_TID,
	CP_VIEW_KEY_MODULE,   /* alias "dso" */
	CP_VIEW_KEY_FUNCTION, /* alias "sym" */
	CP_VIEW_KEY_SRCLINE,  /* "file.c:42" of the frame's source line */
	CP_VIEW_KEY_STATE,    /* "on-cpu", "off-cpu:SYSCALL" (cp_view_sample_state) */
};
#define CP_VIEW_MAX_KEYS 7

/* cp_view_filter.cpu_state */
#define CP_VIEW_ON_CPU 1  /* samples without CP_SAMPLE_OFFCPU only */
#define CP_VIEW_OFF_CPU 2 /* samples with CP_SAMPLE_OFFCPU only */

/* Sample filter: a sample matches when it matches every non-empty list
 * (comm compared exactly) and the cpu_state selection.  Arrays are
 * borrowed. */
struct cp_view_filter {
	const uint32_t *pids;
	size_t npids;
	const uint32_t *tids;
	size_t ntids;
	const char *const *comms;
	size_t ncomms;
	int cpu_state; /* 0 all, CP_VIEW_ON_CPU on-CPU samples only, CP_VIEW_OFF_CPU off-CPU only */
	bool user_only; /* no kernel frames; samples with no other frame are left out */
};

struct cp_view_opts {
	struct cp_view_filter filter;
	uint32_t value_index;                    /* weight; CP_NONE = cp_view_default_value() */
	bool no_inline;                          /* keep only each location's real function */
	enum cp_view_key keys[CP_VIEW_MAX_KEYS]; /* top-table keys, in order */
	size_t nkeys;                            /* 0 = "function,module" */
};

/* Parse a perf-style key list ("comm,pid,sym,dso,srcline,state") into keys.
 * Duplicates and unknown names are CP_E_USAGE ("unknown sort key 'x'
 * (supported: ...)"). */
int cp_view_parse_keys(const char *s, enum cp_view_key *keys, size_t *nkeys, struct cp_error *err);
/* Parse decimal ids (pids, tids: "12") into a new array the caller frees
 * (NULL when n is 0).  CP_E_USAGE names the bad entry:
 * "bad pid 'x' (expected a number)", with `what` = "pid". */
int cp_view_parse_ids(const char *what, const char *const *strs, size_t n, uint32_t **out,
		      struct cp_error *err);
/* Name of a key as the user types it ("function"). */
const char *cp_view_key_name(enum cp_view_key k);

/* The default weight: meta.default_type when the profile has that type,
 * else the last value type when its type is "cpu" or "wall", else value 0;
 * CP_NONE when the profile has no values (each sample weighs 1). */
uint32_t cp_view_default_value(const struct cp_profile *p);
bool cp_view_filter_empty(const struct cp_view_filter *f);
bool cp_view_sample_matches(const struct cp_view_filter *f, const struct cp_profile_sample *s);
/* Whether any sample of p matches f (stops at the first): "is there
 * anything to show" without aggregating a view. */
bool cp_view_filter_any(const struct cp_profile *p, const struct cp_view_filter *f);
/* A sample's state as the state key shows it, written into buf (which is
 * returned): "on-cpu" without CP_SAMPLE_OFFCPU, else "off-cpu:SYSCALL",
 * or "off-cpu" when the syscall is unknown (NULL or ""). */
const char *cp_view_sample_state(const struct cp_profile_sample *s, char *buf, size_t size);

/* One distinct frame of the view. */
struct cp_view_frame {
	const char *name;   /* display name (demangled), never empty */
	const char *module; /* mapping basename, or "[unknown]" */
	const char *path;   /* mapping path, "" when unknown */
	uint32_t function;  /* function index, CP_NONE for unsymbolized frames */
};

/* One occurrence of a frame in a stack. */
struct cp_view_stack_frame {
	uint32_t frame; /* cp_view_frame() id */
	/* the location this occurrence comes from (its address, for formats
	 * that show one), CP_NONE for the "[unknown]" frame of an empty stack
	 * or of a location index out of range */
	uint32_t loc;
	bool inlined;   /* this occurrence is an inlined call */
	int64_t line;   /* source line of this occurrence, 0 unknown */
};

/* Filtered samples grouped by distinct stack (and comm/pid/tid/state when
 * the view's keys use them; otherwise those fields are ""/0).  Sample
 * counts (here and in every *_samples field) add up each sample's value of
 * the "samples"/"count" type when the profile has one (a pprof sample can
 * stand for many), else count 1 per sample. */
struct cp_view_group {
	uint32_t stack;
	uint32_t pid, tid;
	const char *comm;
	const char *state; /* cp_view_sample_state() text, owned by the view */
	int64_t weight;
	uint64_t samples;
};

struct cp_view;

/* Build a view over p (borrowed: p must outlive the view and not change
 * while it exists).  The options are copied, the filter's arrays too; o
 * may be NULL for the defaults.  Errors: CP_E_USAGE for a value index out
 * of range.  Free with cp_view_free. */
struct cp_view *cp_view_new(const struct cp_profile *p, const struct cp_view_opts *o,
			    struct cp_error *err);
void cp_view_free(struct cp_view *v);
const struct cp_profile *cp_view_profile(const struct cp_view *v);
/* The view's options as used: value_index resolved (CP_NONE only when the
 * profile has no values), the filter's arrays the view's own copies. */
const struct cp_view_opts *cp_view_options(const struct cp_view *v);
/* Sum of the weights and number of the samples that pass the filter. */
int64_t cp_view_total(const struct cp_view *v);
uint64_t cp_view_total_samples(const struct cp_view *v);
/* Groups, in first-seen order; borrowed, valid until cp_view_free. */
const struct cp_view_group *cp_view_groups(const struct cp_view *v, size_t *n);
/* Frames of a stack, leaf first; borrowed, valid until the next call on v
 * (expansion is cached per stack, the array may move). */
const struct cp_view_stack_frame *cp_view_stack_frames(struct cp_view *v, uint32_t stack,
						       uint32_t *n);
/* A frame by id (borrowed, valid until the next cp_view_stack_frames). */
const struct cp_view_frame *cp_view_frame(const struct cp_view *v, uint32_t id);

/* Top table: one row per distinct key tuple.
 *
 * Self follows perf: a sample's time belongs to the function whose machine
 * code was running, i.e. the real function of the leaf location (the first
 * frame of the stack that is not an inlined call), with the source line of
 * the innermost frame.  Total counts every frame of the stack, inline
 * frames included, once per sample even when the key recurs; so a function
 * that only ever runs inlined has self 0 and the total of its inlined
 * code (with no_inline it has no row at all). */
struct cp_view_row {
	const char *comm;          /* when keyed by comm, else "" */
	uint32_t pid, tid;         /* when keyed by pid / tid, else 0 */
	const char *name, *module; /* when keyed by function / module, else "" */
	const char *srcline;       /* when keyed by srcline ("file.c:42", "[unknown]"), else "" */
	const char *state;         /* when keyed by state ("on-cpu", "off-cpu:futex"), else "" */
	int64_t self, total;       /* weights */
	uint64_t self_samples, total_samples;
};

struct cp_view_top {
	struct cp_view_row *rows; /* self desc, total desc, then the keys' text */
	size_t nrows;
	size_t hidden; /* rows dropped by percent_limit */
	enum cp_view_key keys[CP_VIEW_MAX_KEYS];
	size_t nkeys;
	int64_t total;
	uint64_t total_samples;
	struct cp_intern strings_; /* private: owns the srcline texts */
};

/* Aggregate the top table.  Rows whose total is below percent_limit % of
 * the view's total are dropped (counted in hidden).  The result borrows
 * strings from the view and the profile: free it before them, with
 * cp_view_top_free. */
struct cp_view_top *cp_view_top(struct cp_view *v, double percent_limit);
void cp_view_top_free(struct cp_view_top *t);

/* Call tree node; nodes are stored in pre-order (a parent before its
 * children, children by total desc then name). */
struct cp_view_node {
	uint32_t frame;            /* cp_view_frame() id */
	const char *name, *module; /* borrowed from the view / profile */
	bool inlined;              /* every occurrence merged here was inlined */
	uint32_t parent;           /* index in nodes, CP_NONE for roots */
	uint32_t depth;            /* 0 for roots */
	int64_t total, self;       /* self: samples whose walk ends here */
	uint64_t total_samples, self_samples;
};

struct cp_view_tree {
	struct cp_view_node *nodes;
	size_t n;
	size_t hidden; /* nodes pruned by percent_limit (with their subtrees) */
	bool inverted; /* leaf frames at the roots, callers below */
	int64_t total;
	uint64_t total_samples;
};

/* Build the call tree: top-down from the outermost frame (callers above
 * callees), or bottom-up when inverted.  Nodes merge by (function, module)
 * under the same parent.  Nodes whose total is below percent_limit % of
 * the view's total are pruned with their subtrees; the remaining totals
 * stay exact.  Free with cp_view_tree_free before the view. */
struct cp_view_tree *cp_view_tree(struct cp_view *v, bool inverted, double percent_limit);
void cp_view_tree_free(struct cp_view_tree *t);

/* Callers and callees of one frame (pprof's peek).  For each sample whose
 * stack contains the frame, at each occurrence (counted once per sample
 * when the frame recurs): the frame above it is a caller, the frame below
 * it a callee; an occurrence at the leaf adds to self, one at the
 * outermost position to `root` (no caller).  Entries are sorted by weight
 * desc, then name. */
struct cp_view_peek_entry {
	uint32_t frame;            /* cp_view_frame() id */
	const char *name, *module; /* borrowed from the view / profile */
	int64_t weight;            /* of samples through this edge */
	uint64_t samples;
};

struct cp_view_peek {
	uint32_t frame;
	const char *name, *module;
	int64_t self, total, root; /* root: weight of samples where the frame is outermost */
	uint64_t self_samples, total_samples;
	struct cp_view_peek_entry *callers, *callees;
	size_t ncallers, ncallees;
	int64_t view_total;
	uint64_t view_total_samples;
};

/* The id of the frame (name, module basename) in the view, or CP_NONE.
 * Frames exist once a stack using them was expanded: cp_view_top and
 * cp_view_tree expand every stack. */
uint32_t cp_view_find_frame(struct cp_view *v, const char *name, const char *module);
/* Peek at frame id `frame`; free with cp_view_peek_free before the view. */
struct cp_view_peek *cp_view_peek(struct cp_view *v, uint32_t frame);
void cp_view_peek_free(struct cp_view_peek *pk);

/* Facts about how the stacks of a whole profile were unwound (all samples,
 * unfiltered), for report headers. */
struct cp_view_stats {
	uint64_t samples;
	uint64_t complete; /* CP_SAMPLE_COMPLETE, or outermost frame is a thread/process start */
	uint64_t spliced;  /* CP_SAMPLE_SPLICED */
	uint64_t cut;      /* CP_SAMPLE_CUT */
	uint64_t cut_need_max;       /* largest stack_need of the CUT samples, 0 unknown */
	uint64_t offcpu;             /* CP_SAMPLE_OFFCPU (wall-clock samples of blocked threads) */
	uint64_t processes, threads; /* distinct pids and tids */
};
void cp_view_stats(const struct cp_profile *p, struct cp_view_stats *st);
/* Whether a function name is where stacks legitimately end (_start, main,
 * __libc_start_main, start_thread, clone, ...). */
bool cp_view_is_outermost_name(const char *name);

#endif
