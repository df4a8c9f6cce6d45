/* bpf.c - in-kernel counting for cprof strace-lite -c: four small BPF
 * programs on raw tracepoints add up each syscall's calls, errors and
 * time where the call happens, so nothing crosses to user space per call
 * (the tracepoint rings cost a perf record per edge: 4.5x on a
 * syscall-heavy program, against 1.7x here).
 *
 * Raw tracepoints (BPF_RAW_TRACEPOINT_OPEN), not the classic tracepoint
 * program type: that one builds the whole perf record before the program
 * runs, and measured twice as slow.  The programs are written here as
 * instructions (some forty each); no libbpf, no compiler at build time.
 *
 *   sys_enter   a followed process (its tgid in its slot of `follow`, an
 *               array indexed by tgid & mask like `enter`): the thread's
 *               entry time and syscall number go to its slot of `enter`
 *               (an array indexed by tid & mask, sized from pid_max; a slot
 *               still holding another thread's open call is counted as
 *               dropped, never silently reused);
 *   sys_exit    the slot's call, if it is this thread's, is added to the
 *               per-CPU `stats` entry of its number (atomically: the
 *               programs may be preempted): calls, errors (-4095
 *               ..-1), nanoseconds, min, max.  A command is counted from
 *               its successful exec on (its `follow` state goes 1 -> 2
 *               there), as strace counts: the exec counts, the calls
 *               before it and exit_group (never returns) do not;
 *   sched_process_fork   with -f, a child process of a followed one is
 *               followed (threads are followed by their tgid already);
 *   sched_process_exit   a followed process's last thread exits: its tgid
 *               leaves `follow` (room for the next; a reused pid is not
 *               counted).
 *
 * The fork and exit programs read task_struct's tgid and signal and
 * signal_struct's live at offsets from the kernel's BTF
 * (/sys/kernel/btf/vmlinux).  Slots are claimed with BPF atomics (5.12).
 * Needs CAP_BPF and CAP_PERFMON (root): elsewhere open() fails with
 * CP_E_PERM or CP_E_UNSUPPORTED and the caller counts through the rings. */
#include "trace/trace.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc/proc.h"

#define ST_CALLS 0
#define ST_ERRORS 8
#define ST_NS 16
#define ST_MIN 24
#define ST_MAX 32
#define ST_SIZE 40
#define IDX_BEYOND CP_TRACE_MAX_NR         /* numbers beyond the table */
#define IDX_DROPPED (CP_TRACE_MAX_NR + 1)  /* calls: slot collisions */
#define IDX_UNFOLLOWED (CP_TRACE_MAX_NR + 2) /* calls: children `follow` had no room for */
#define NSTATS (CP_TRACE_MAX_NR + 3)

enum { F_WAITING = 1, F_COUNTING = 2 };

struct cp_trace_bpf {
	int follow_fd, enter_fd, stats_fd;
	int prog_fd[4], link_fd[4];
	int ncpus;
	uint64_t dropped, unfollowed;
	uint32_t follow_mask; /* slots - 1 */
};

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* ---- a small assembler: instructions and forward jumps to labels ------- */

#define MAX_INSNS 96
#define MAX_LABELS 8

struct prog {
	struct bpf_insn v[MAX_INSNS];
	int n;
	int label[MAX_LABELS];  /* instruction index, -1 not placed */
	int fix_at[MAX_INSNS];  /* jumps to resolve: instruction, label */
	int fix_label[MAX_INSNS];
	int nfix;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n < MAX_INSNS)
		p->v[p->n] = (struct bpf_insn){
			.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
		};
	p->n++;
}

#define MOV_R(p, d, s) emit(p, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_I(p, d, i) emit(p, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV32_R(p, d, s) emit(p, BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU_I(p, op, d, i) emit(p, BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ALU_R(p, op, d, s) emit(p, BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define LDX(p, sz, d, s, off) emit(p, BPF_LDX | (sz) | BPF_MEM, d, s, off, 0)
#define STX(p, sz, d, off, s) emit(p, BPF_STX | (sz) | BPF_MEM, d, s, off, 0)
#define ST(p, sz, d, off, i) emit(p, BPF_ST | (sz) | BPF_MEM, d, 0, off, i)
#define CALL(p, fn) emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, fn)

static void jmp(struct prog *p, uint8_t op, uint8_t d, bool reg, uint8_t s, int32_t imm, int label)
{
	p->fix_at[p->nfix] = p->n;
	p->fix_label[p->nfix++] = label;
	emit(p, BPF_JMP | op | (reg ? BPF_X : BPF_K), d, reg ? s : 0, 0, reg ? 0 : imm);
}
#define JI(p, op, d, i, l) jmp(p, op, d, false, 0, i, l)
#define JR(p, op, d, s, l) jmp(p, op, d, true, s, 0, l)
#define GOTO(p, l) jmp(p, BPF_JA, 0, false, 0, 0, l)

static void label(struct prog *p, int l)
{
	p->label[l] = p->n;
}

static void ld_map(struct prog *p, uint8_t d, int fd)
{
	emit(p, BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd);
	emit(p, 0, 0, 0, 0, 0);
}

/* r0 = lookup(map, r10 + key_off); r1-r5 clobbered */
static void lookup(struct prog *p, int fd, int16_t key_off)
{
	ld_map(p, BPF_REG_1, fd);
	MOV_R(p, BPF_REG_2, BPF_REG_10);
	ALU_I(p, BPF_ADD, BPF_REG_2, key_off);
	CALL(p, BPF_FUNC_map_lookup_elem);
}

/* r1 = atomic fetch-and-add of r1 to *(u64 *)(r0 + off): the programs
 * may be preempted (syscall tracepoints may fault on newer kernels), so
 * even per-CPU counters are added atomically */
static void xadd(struct prog *p, int16_t off)
{
	emit(p, BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_0, BPF_REG_1, off, BPF_ADD | BPF_FETCH);
}

/* *(u64 *)(r0 + off) += 1; r1 = the value before */
static void inc(struct prog *p, int16_t off)
{
	MOV_I(p, BPF_REG_1, 1);
	xadd(p, off);
}

/* stats[idx].calls += 1 (idx at r10 + key_off) */
static void count(struct prog *p, int fd, int32_t idx, int16_t key_off, int out)
{
	ST(p, BPF_W, BPF_REG_10, key_off, idx);
	lookup(p, fd, key_off);
	JI(p, BPF_JEQ, BPF_REG_0, 0, out);
	inc(p, ST_CALLS);
}

static void finish(struct prog *p, int out)
{
	label(p, out);
	MOV_I(p, BPF_REG_0, 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (int i = 0; i < p->nfix; i++)
		p->v[p->fix_at[i]].off = (int16_t)(p->label[p->fix_label[i]] - p->fix_at[i] - 1);
}

/* ---- the programs --------------------------------------------------------- */

/* r0 = &follow[current tgid & mask], when it is this process's (else
 * out: not followed); r7 = pid_tgid.  A slot: u32 tgid, u32 state. */
static void followed(struct prog *p, const struct cp_trace_bpf *b, int out)
{
	CALL(p, BPF_FUNC_get_current_pid_tgid);
	MOV_R(p, BPF_REG_7, BPF_REG_0);
	ALU_I(p, BPF_RSH, BPF_REG_0, 32);
	ALU_I(p, BPF_AND, BPF_REG_0, (int32_t)b->follow_mask);
	STX(p, BPF_W, BPF_REG_10, -4, BPF_REG_0);
	lookup(p, b->follow_fd, -4);
	JI(p, BPF_JEQ, BPF_REG_0, 0, out);
	LDX(p, BPF_W, BPF_REG_1, BPF_REG_0, 0);
	MOV_R(p, BPF_REG_2, BPF_REG_7);
	ALU_I(p, BPF_RSH, BPF_REG_2, 32);
	JR(p, BPF_JNE, BPF_REG_1, BPF_REG_2, out);
}

/* r0 = &enter[tid & mask] (NULL: out) */
static void enter_slot(struct prog *p, const struct cp_trace_bpf *b, uint32_t mask, int out)
{
	MOV_R(p, BPF_REG_1, BPF_REG_7);
	ALU_I(p, BPF_AND, BPF_REG_1, (int32_t)mask);
	STX(p, BPF_W, BPF_REG_10, -8, BPF_REG_1);
	lookup(p, b->enter_fd, -8);
	JI(p, BPF_JEQ, BPF_REG_0, 0, out);
}

/* An enter slot: u64 key (nr << 32 | tid; 0 empty), u64 entry time.  The
 * key is claimed by exchange and released by compare-and-exchange, so a
 * call is either counted at its exit or, its slot taken by another
 * thread's enter, counted as dropped there: never both, never neither. */
static void prog_enter(struct prog *p, const struct cp_trace_bpf *b, uint32_t mask,
		       long nr_exit, long nr_exit_group)
{
	enum { OUT, STORE, CLEAR };
	MOV_R(p, BPF_REG_6, BPF_REG_1);
	followed(p, b, OUT);
	LDX(p, BPF_DW, BPF_REG_8, BPF_REG_6, 8); /* args[1]: the number */
	enter_slot(p, b, mask, OUT);
	MOV_R(p, BPF_REG_9, BPF_REG_0);
	/* exit and exit_group never return: their slot stays empty */
	JI(p, BPF_JEQ, BPF_REG_8, (int32_t)nr_exit, CLEAR);
	JI(p, BPF_JEQ, BPF_REG_8, (int32_t)nr_exit_group, CLEAR);
	MOV_R(p, BPF_REG_1, BPF_REG_8);
	ALU_I(p, BPF_LSH, BPF_REG_1, 32);
	MOV32_R(p, BPF_REG_2, BPF_REG_7);
	ALU_R(p, BPF_OR, BPF_REG_1, BPF_REG_2);
	emit(p, BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_9, BPF_REG_1, 0, BPF_XCHG);
	/* it held another thread's open call: that one is not counted */
	JI(p, BPF_JEQ, BPF_REG_1, 0, STORE);
	MOV32_R(p, BPF_REG_1, BPF_REG_1);
	MOV32_R(p, BPF_REG_2, BPF_REG_7);
	JR(p, BPF_JEQ, BPF_REG_1, BPF_REG_2, STORE);
	count(p, b->stats_fd, IDX_DROPPED, -12, STORE);
	label(p, STORE);
	CALL(p, BPF_FUNC_ktime_get_ns);
	STX(p, BPF_DW, BPF_REG_9, 8, BPF_REG_0);
	GOTO(p, OUT);
	label(p, CLEAR);
	ST(p, BPF_DW, BPF_REG_9, 0, 0);
	finish(p, OUT);
}

static void prog_exit(struct prog *p, const struct cp_trace_bpf *b, uint32_t mask,
		      long nr_execve, long nr_execveat)
{
	enum { OUT, EXEC, COUNT, IDX_OK, NOERR, SETMIN, NOMIN };
	MOV_R(p, BPF_REG_6, BPF_REG_1);
	followed(p, b, OUT);
	MOV_R(p, BPF_REG_8, BPF_REG_0); /* the slot: state at +4 */
	enter_slot(p, b, mask, OUT);
	MOV_R(p, BPF_REG_9, BPF_REG_0);
	/* this thread's open call, or nothing to count (entered before
	 * counting began, or its slot was taken: counted at that enter) */
	LDX(p, BPF_DW, BPF_REG_0, BPF_REG_9, 0);
	JI(p, BPF_JEQ, BPF_REG_0, 0, OUT);
	MOV32_R(p, BPF_REG_1, BPF_REG_0);
	MOV32_R(p, BPF_REG_2, BPF_REG_7);
	JR(p, BPF_JNE, BPF_REG_1, BPF_REG_2, OUT);
	LDX(p, BPF_DW, BPF_REG_1, BPF_REG_9, 8);
	STX(p, BPF_DW, BPF_REG_10, -16, BPF_REG_1); /* entry time */
	STX(p, BPF_DW, BPF_REG_10, -24, BPF_REG_0); /* key */
	MOV_I(p, BPF_REG_1, 0);
	emit(p, BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_9, BPF_REG_1, 0, BPF_CMPXCHG);
	LDX(p, BPF_DW, BPF_REG_9, BPF_REG_10, -24);
	JR(p, BPF_JNE, BPF_REG_0, BPF_REG_9, OUT); /* taken meanwhile */
	ALU_I(p, BPF_RSH, BPF_REG_9, 32); /* r9 = nr */
	LDX(p, BPF_W, BPF_REG_1, BPF_REG_8, 4);
	JI(p, BPF_JEQ, BPF_REG_1, F_COUNTING, COUNT);
	/* waiting for the command's exec: a successful one starts counting */
	JI(p, BPF_JEQ, BPF_REG_9, (int32_t)nr_execve, EXEC);
	JI(p, BPF_JEQ, BPF_REG_9, (int32_t)nr_execveat, EXEC);
	GOTO(p, OUT);
	label(p, EXEC);
	LDX(p, BPF_DW, BPF_REG_1, BPF_REG_6, 8); /* args[1]: the return */
	JI(p, BPF_JNE, BPF_REG_1, 0, OUT);
	ST(p, BPF_W, BPF_REG_8, 4, F_COUNTING);
	label(p, COUNT);
	JI(p, BPF_JLT, BPF_REG_9, CP_TRACE_MAX_NR, IDX_OK);
	MOV_I(p, BPF_REG_9, IDX_BEYOND);
	label(p, IDX_OK);
	STX(p, BPF_W, BPF_REG_10, -20, BPF_REG_9);
	CALL(p, BPF_FUNC_ktime_get_ns);
	LDX(p, BPF_DW, BPF_REG_1, BPF_REG_10, -16);
	ALU_R(p, BPF_SUB, BPF_REG_0, BPF_REG_1);
	MOV_R(p, BPF_REG_9, BPF_REG_0); /* r9 = ns */
	lookup(p, b->stats_fd, -20);
	JI(p, BPF_JEQ, BPF_REG_0, 0, OUT);
	inc(p, ST_CALLS);
	MOV_R(p, BPF_REG_7, BPF_REG_1); /* calls before */
	LDX(p, BPF_DW, BPF_REG_3, BPF_REG_6, 8);
	JI(p, BPF_JLT, BPF_REG_3, -4095, NOERR); /* unsigned: -4095..-1 are errors */
	inc(p, ST_ERRORS);
	label(p, NOERR);
	MOV_R(p, BPF_REG_1, BPF_REG_9);
	xadd(p, ST_NS);
	/* min and max: plain, a race there only blurs them */
	JI(p, BPF_JEQ, BPF_REG_7, 0, SETMIN);
	LDX(p, BPF_DW, BPF_REG_1, BPF_REG_0, ST_MIN);
	JR(p, BPF_JGE, BPF_REG_9, BPF_REG_1, NOMIN);
	label(p, SETMIN);
	STX(p, BPF_DW, BPF_REG_0, ST_MIN, BPF_REG_9);
	label(p, NOMIN);
	LDX(p, BPF_DW, BPF_REG_1, BPF_REG_0, ST_MAX);
	JR(p, BPF_JLE, BPF_REG_9, BPF_REG_1, OUT);
	STX(p, BPF_DW, BPF_REG_0, ST_MAX, BPF_REG_9);
	finish(p, OUT);
}

/* r0 = 0 when task->field (at r3 = task + off) was read to r10 + dst */
static void read_task_u32(struct prog *p, int16_t ctx_arg, int32_t off, int16_t dst)
{
	MOV_R(p, BPF_REG_1, BPF_REG_10);
	ALU_I(p, BPF_ADD, BPF_REG_1, dst);
	MOV_I(p, BPF_REG_2, 4);
	LDX(p, BPF_DW, BPF_REG_3, BPF_REG_6, ctx_arg);
	ALU_I(p, BPF_ADD, BPF_REG_3, off);
	CALL(p, BPF_FUNC_probe_read_kernel);
}

/* sched_process_fork(parent, child), in the parent: the child's slot is
 * claimed by compare-and-exchange (empty -> child tgid, parent's state);
 * taken by another process, the child is counted as not followed */
static void prog_fork(struct prog *p, const struct cp_trace_bpf *b, int32_t tgid_off)
{
	enum { OUT };
	MOV_R(p, BPF_REG_6, BPF_REG_1);
	followed(p, b, OUT);
	LDX(p, BPF_W, BPF_REG_1, BPF_REG_0, 4);
	STX(p, BPF_W, BPF_REG_10, -8, BPF_REG_1); /* the parent's state */
	read_task_u32(p, 8, tgid_off, -12);
	JI(p, BPF_JNE, BPF_REG_0, 0, OUT);
	LDX(p, BPF_W, BPF_REG_1, BPF_REG_10, -12);
	MOV_R(p, BPF_REG_2, BPF_REG_7);
	ALU_I(p, BPF_RSH, BPF_REG_2, 32);
	JR(p, BPF_JEQ, BPF_REG_1, BPF_REG_2, OUT); /* a thread */
	ALU_I(p, BPF_AND, BPF_REG_1, (int32_t)b->follow_mask);
	STX(p, BPF_W, BPF_REG_10, -16, BPF_REG_1);
	lookup(p, b->follow_fd, -16);
	JI(p, BPF_JEQ, BPF_REG_0, 0, OUT);
	MOV_R(p, BPF_REG_9, BPF_REG_0);
	LDX(p, BPF_W, BPF_REG_2, BPF_REG_10, -8);
	ALU_I(p, BPF_LSH, BPF_REG_2, 32);
	LDX(p, BPF_W, BPF_REG_3, BPF_REG_10, -12);
	ALU_R(p, BPF_OR, BPF_REG_2, BPF_REG_3);
	MOV_I(p, BPF_REG_0, 0);
	emit(p, BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_9, BPF_REG_2, 0, BPF_CMPXCHG);
	JI(p, BPF_JEQ, BPF_REG_0, 0, OUT);
	count(p, b->stats_fd, IDX_UNFOLLOWED, -20, OUT);
	finish(p, OUT);
}

/* sched_process_exit(task), in the task: the last thread of a process
 * (task->signal->live reached 0 before the tracepoint) takes its tgid
 * out of `follow`, so the entry is free for the next child and a reused
 * pid is never counted */
static void prog_gone(struct prog *p, const struct cp_trace_bpf *b, int32_t signal_off,
		      int32_t live_off)
{
	enum { OUT };
	MOV_R(p, BPF_REG_6, BPF_REG_1);
	MOV_R(p, BPF_REG_1, BPF_REG_10);
	ALU_I(p, BPF_ADD, BPF_REG_1, -16);
	MOV_I(p, BPF_REG_2, 8);
	LDX(p, BPF_DW, BPF_REG_3, BPF_REG_6, 0);
	ALU_I(p, BPF_ADD, BPF_REG_3, signal_off);
	CALL(p, BPF_FUNC_probe_read_kernel);
	JI(p, BPF_JNE, BPF_REG_0, 0, OUT);
	MOV_R(p, BPF_REG_1, BPF_REG_10);
	ALU_I(p, BPF_ADD, BPF_REG_1, -8);
	MOV_I(p, BPF_REG_2, 4);
	LDX(p, BPF_DW, BPF_REG_3, BPF_REG_10, -16);
	ALU_I(p, BPF_ADD, BPF_REG_3, live_off);
	CALL(p, BPF_FUNC_probe_read_kernel);
	JI(p, BPF_JNE, BPF_REG_0, 0, OUT);
	LDX(p, BPF_W, BPF_REG_1, BPF_REG_10, -8);
	JI(p, BPF_JNE, BPF_REG_1, 0, OUT); /* threads left */
	followed(p, b, OUT);
	ST(p, BPF_DW, BPF_REG_0, 0, 0);
	finish(p, OUT);
}

/* ---- task_struct's pid and tgid, from the kernel's BTF -------------------- */

/* The bytes of the data after a btf_type of kind k with vlen members. */
static long btf_extra(unsigned k, unsigned vlen)
{
	switch (k) {
	case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return 12;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC: case BTF_KIND_ENUM64:
		return 12l * vlen;
	case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO:
		return 8l * vlen;
	case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC: case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return -1;
	}
}

/* name_off's string, when the string section holds all of it */
static const char *btf_str(const char *strs, uint32_t str_len, uint32_t off)
{
	if (off >= str_len || !memchr(strs + off, 0, str_len - off))
		return NULL;
	return strs + off;
}

int cp_trace_btf_offsets(const void *btf, size_t len, struct cp_trace_btf_member *want,
			 size_t n, struct cp_error *err)
{
	const char *d = btf;
	struct btf_header h;
	size_t found = 0;
	for (size_t i = 0; i < n; i++)
		want[i].off = -1;
	if (len < sizeof(h))
		return cp_error_set(err, CP_E_FORMAT, "BTF: %zu bytes, shorter than its header", len);
	memcpy(&h, d, sizeof(h));
	if (h.magic != BTF_MAGIC)
		return cp_error_set(err, CP_E_FORMAT, "BTF: magic 0x%04x at offset 0, not 0x%04x",
				    h.magic, BTF_MAGIC);
	if ((uint64_t)h.hdr_len + h.type_off + h.type_len > len ||
	    (uint64_t)h.hdr_len + h.str_off + h.str_len > len)
		return cp_error_set(err, CP_E_FORMAT,
				    "BTF: its type or string section ends past its %zu bytes", len);
	const char *types = d + h.hdr_len + h.type_off, *strs = d + h.hdr_len + h.str_off;
	size_t pos = 0;
	while (found < n && pos + sizeof(struct btf_type) <= h.type_len) {
		struct btf_type t;
		memcpy(&t, types + pos, sizeof(t));
		pos += sizeof(t);
		unsigned k = BTF_INFO_KIND(t.info), vlen = BTF_INFO_VLEN(t.info);
		long extra = btf_extra(k, vlen);
		if (extra < 0 || pos + (size_t)extra > h.type_len)
			break;
		const char *name = k == BTF_KIND_STRUCT && t.name_off
					   ? btf_str(strs, h.str_len, t.name_off)
					   : NULL;
		for (size_t w = 0; name && w < n; w++) {
			if (want[w].off >= 0 || strcmp(name, want[w].st))
				continue;
			for (unsigned i = 0; i < vlen; i++) {
				struct btf_member m;
				memcpy(&m, types + pos + i * sizeof(m), sizeof(m));
				const char *mn = btf_str(strs, h.str_len, m.name_off);
				if (!mn || strcmp(mn, want[w].member))
					continue;
				uint32_t bits = BTF_INFO_KFLAG(t.info) ? BTF_MEMBER_BIT_OFFSET(m.offset)
								       : m.offset;
				want[w].off = (int32_t)(bits / 8);
				found++;
				break;
			}
		}
		pos += (size_t)extra;
	}
	for (size_t i = 0; i < n; i++)
		if (want[i].off < 0)
			return cp_error_set(err, CP_E_UNSUPPORTED, "BTF: no %s.%s", want[i].st,
					    want[i].member);
	return 0;
}

/* The offsets from the running kernel's BTF. */
static int btf_offsets(struct cp_trace_btf_member *want, size_t n, struct cp_error *err)
{
	static const char path[] = "/sys/kernel/btf/vmlinux";
	/* mapped where the kernel allows it (6.16): reading its 5 MB into
	 * fresh memory was a quarter of a short run's start-up */
	size_t len = 0;
	char *d = NULL;
	void *map = MAP_FAILED;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && !fstat(fd, &st) && st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			d = map;
			len = (size_t)st.st_size;
		}
	}
	if (fd >= 0)
		close(fd);
	if (!d)
		d = cp_read_file(path, &len);
	if (!d)
		return cp_error_set(err, CP_E_UNSUPPORTED, "%s: %s (a kernel without BTF)", path,
				    strerror(errno));
	struct cp_error e;
	int rc = cp_trace_btf_offsets(d, len, want, n, &e);
	if (map != MAP_FAILED)
		munmap(map, len);
	else
		free(d);
	if (rc)
		return cp_error_set(err, CP_E_UNSUPPORTED, "in-kernel counting: %s: %s", path,
				    e.msg);
	return 0;
}

/* ---- maps, loading, attaching ---------------------------------------------- */

static int refused(struct cp_error *err, const char *what)
{
	int e = errno;
	return cp_error_set(err, e == EPERM || e == EACCES ? CP_E_PERM : CP_E_UNSUPPORTED,
			    "in-kernel counting: %s: %s", what, strerror(e));
}

static int map_create(enum bpf_map_type type, uint32_t key, uint32_t value, uint32_t max,
		      uint32_t flags, const char *name)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = key;
	a.value_size = value;
	a.max_entries = max;
	a.map_flags = flags;
	snprintf(a.map_name, sizeof(a.map_name), "%s", name);
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int prog_load(const struct prog *p, const char *name, struct cp_error *err)
{
	if (p->n > MAX_INSNS)
		return cp_error_set(err, CP_E_FAIL, "in-kernel counting: program %s too long", name);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	a.insns = (uint64_t)(uintptr_t)p->v;
	a.insn_cnt = (uint32_t)p->n;
	/* GPL-compatible (probe_read_kernel is a GPL helper); cprof is MIT */
	a.license = (uint64_t)(uintptr_t) "Dual MIT/GPL";
	snprintf(a.prog_name, sizeof(a.prog_name), "cprof_%s", name);
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	if (errno == EPERM || errno == EACCES)
		return refused(err, "loading a program");
	/* the verifier's reason, for a report */
	int e = errno;
	char log[4096] = "";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	size_t l = strlen(log);
	while (l && log[l - 1] == '\n')
		log[--l] = 0;
	const char *last = strrchr(log, '\n');
	cp_log(CP_LOG_DEBUG, "bpf program %s refused:\n%s", name, log);
	errno = e;
	return cp_error_set(err, CP_E_UNSUPPORTED, "in-kernel counting: program %s refused: %s%s%s",
			    name, strerror(e), l ? ": " : "", last ? last + 1 : log);
}

static int attach(int prog_fd, const char *tp)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.raw_tracepoint.name = (uint64_t)(uintptr_t)tp;
	a.raw_tracepoint.prog_fd = (uint32_t)prog_fd;
	return (int)sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
}

/* slots of enter and follow: one per possible tid, within reason (1M:
 * 16 and 8 MB); env: the tests' way to make them share */
static uint32_t id_slots(const char *env)
{
	long pid_max = 4194304;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		if (fscanf(f, "%ld", &pid_max) != 1)
			pid_max = 4194304;
		fclose(f);
	}
	uint32_t n = 1024;
	while (n < pid_max && n < (1u << 20))
		n <<= 1;
	const char *t = getenv(env);
	if (t && atoi(t) > 0)
		n = (uint32_t)atoi(t);
	return n;
}

/* Our pid namespace is the initial one (NSpid lists one id per level):
 * the programs see that one's ids. */
static bool initial_pid_ns(void)
{
	size_t len;
	char *s = cp_read_file("/proc/self/status", &len);
	if (!s)
		return false;
	const char *l = strstr(s, "\nNSpid:");
	int ids = 0;
	for (const char *p = l ? l + 7 : ""; *p && *p != '\n';) {
		p += strspn(p, " \t");
		size_t d = strspn(p, "0123456789");
		if (!d)
			break;
		ids++;
		p += d;
	}
	free(s);
	return ids == 1;
}

/* CPUs a per-CPU map holds values for: /sys/devices/system/cpu/possible
 * ("0-3", "0,2-5"), the highest plus one. */
static int possible_cpus(void)
{
	size_t len;
	char *s = cp_read_file("/sys/devices/system/cpu/possible", &len);
	long n = sysconf(_SC_NPROCESSORS_CONF);
	if (s) {
		for (char *p = s; *p;) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (v + 1 > n)
				n = v + 1;
			p = end + strspn(end, ",-\n");
		}
		free(s);
	}
	return n > 0 ? (int)n : 1;
}

void cp_trace_bpf_free(struct cp_trace_bpf *b)
{
	if (!b)
		return;
	for (int i = 0; i < 4; i++) {
		if (b->link_fd[i] >= 0)
			close(b->link_fd[i]);
		if (b->prog_fd[i] >= 0)
			close(b->prog_fd[i]);
	}
	int fds[] = { b->follow_fd, b->enter_fd, b->stats_fd };
	for (size_t i = 0; i < CP_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(b);
}

int cp_trace_bpf_open(const struct cp_trace_opts *o, struct cp_trace_bpf **out,
		      struct cp_error *err)
{
	*out = NULL;
	if (!initial_pid_ns())
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "in-kernel counting: not from inside a pid namespace");
	struct cp_trace_btf_member offs[] = {
		{ "task_struct", "tgid", -1 },
		{ "task_struct", "signal", -1 },
		{ "signal_struct", "live", -1 },
	};
	int rc = btf_offsets(offs, CP_ARRAY_SIZE(offs), err);
	if (rc)
		return rc;
	long nr_exit = cp_syscall_number("exit"), nr_exit_group = cp_syscall_number("exit_group");
	long nr_execve = cp_syscall_number("execve"), nr_execveat = cp_syscall_number("execveat");
	/* before 5.11 maps were charged to RLIMIT_MEMLOCK */
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &rl);
	struct cp_trace_bpf *b = cp_xcalloc(1, sizeof(*b));
	for (int i = 0; i < 4; i++)
		b->prog_fd[i] = b->link_fd[i] = -1;
	b->ncpus = possible_cpus();
	uint32_t slots = id_slots("CPROF_TEST_BPF_SLOTS");
	uint32_t fslots = id_slots("CPROF_TEST_BPF_FOLLOW");
	b->follow_mask = fslots - 1;
	/* arrays: their lookups are inlined (a hash's are calls, on every syscall) */
	b->follow_fd = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, fslots, 0, "cprof_follow");
	b->enter_fd = b->follow_fd < 0 ? -1
				       : map_create(BPF_MAP_TYPE_ARRAY, 4, 16, slots, 0, "cprof_enter");
	b->stats_fd = b->enter_fd < 0 ? -1
				      : map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, ST_SIZE, NSTATS, 0,
						   "cprof_stats");
	if (b->stats_fd < 0) {
		rc = refused(err, "creating a map");
		goto fail;
	}
	static const char *const names[4] = { "enter", "exit", "fork", "gone" };
	static const char *const tps[4] = { "sys_enter", "sys_exit", "sched_process_fork",
					    "sched_process_exit" };
	for (int i = 0; i < 4; i++) {
		if (i == 2 && !o->follow)
			continue;
		struct prog p;
		memset(&p, 0, sizeof(p));
		for (int l = 0; l < MAX_LABELS; l++)
			p.label[l] = -1;
		if (i == 0)
			prog_enter(&p, b, slots - 1, nr_exit, nr_exit_group);
		else if (i == 1)
			prog_exit(&p, b, slots - 1, nr_execve, nr_execveat);
		else if (i == 2)
			prog_fork(&p, b, offs[0].off);
		else
			prog_gone(&p, b, offs[1].off, offs[2].off);
		if ((b->prog_fd[i] = prog_load(&p, names[i], err)) < 0) {
			rc = err ? err->code : CP_E_UNSUPPORTED;
			goto fail;
		}
	}
	/* the bookkeeping first, the counting last */
	static const int order[4] = { 3, 2, 1, 0 };
	for (int k = 0; k < 4; k++) {
		int i = order[k];
		if (b->prog_fd[i] < 0)
			continue;
		if ((b->link_fd[i] = attach(b->prog_fd[i], tps[i])) < 0) {
			char what[64];
			snprintf(what, sizeof(what), "attaching to %s", tps[i]);
			rc = refused(err, what);
			goto fail;
		}
	}
	*out = b;
	return 0;
fail:
	cp_trace_bpf_free(b);
	return rc;
}

int cp_trace_bpf_add(struct cp_trace_bpf *b, pid_t pid, bool running, struct cp_error *err)
{
	long tgid = pid;
	if (running && !cp_proc_status_field(pid, "Tgid", false, &tgid))
		return cp_error_set(err, CP_E_NOENT, "-p %d: no such process", (int)pid);
	uint32_t key = (uint32_t)tgid & b->follow_mask;
	uint64_t old = 0, val = (uint64_t)(running ? F_COUNTING : F_WAITING) << 32 | (uint32_t)tgid;
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)b->follow_fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)&old;
	if (!sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) && old && (uint32_t)old != (uint32_t)tgid)
		return cp_error_set(err, CP_E_FAIL,
				    "in-kernel counting: cannot follow %d: its slot is taken by "
				    "process %u (kernel.pid_max is over %u)",
				    (int)pid, (unsigned)(uint32_t)old, b->follow_mask + 1);
	a.value = (uint64_t)(uintptr_t)&val;
	a.flags = BPF_ANY;
	if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a))
		return cp_error_set(err, CP_E_FAIL, "in-kernel counting: following %d: %s", (int)pid,
				    strerror(errno));
	return 0;
}

int cp_trace_bpf_finish(struct cp_trace_bpf *b, const struct cp_trace_opts *o,
			const struct cp_trace_sink *sink, struct cp_error *err)
{
	/* detach: nothing is added while we read */
	for (int i = 0; i < 4; i++)
		if (b->link_fd[i] >= 0) {
			close(b->link_fd[i]);
			b->link_fd[i] = -1;
		}
	size_t vsz = ST_SIZE;
	uint64_t *v = cp_xcalloc((size_t)b->ncpus, vsz);
	int rc = 0;
	for (uint32_t idx = 0; idx < NSTATS; idx++) {
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)b->stats_fd;
		a.key = (uint64_t)(uintptr_t)&idx;
		a.value = (uint64_t)(uintptr_t)v;
		if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a)) {
			rc = cp_error_set(err, CP_E_FAIL, "in-kernel counting: reading the counts: %s",
					  strerror(errno));
			break;
		}
		struct cp_trace_totals tt = { .nr = (int)idx, .min_ns = UINT64_MAX };
		for (int c = 0; c < b->ncpus; c++) {
			const uint64_t *s = v + (size_t)c * (ST_SIZE / 8);
			if (!s[0])
				continue;
			tt.calls += s[0];
			tt.errors += s[1];
			tt.total_ns += s[2];
			if (s[3] < tt.min_ns)
				tt.min_ns = s[3];
			if (s[4] > tt.max_ns)
				tt.max_ns = s[4];
		}
		if (idx == IDX_DROPPED) {
			b->dropped = tt.calls;
			continue;
		}
		if (idx == IDX_UNFOLLOWED) {
			b->unfollowed = tt.calls;
			continue;
		}
		if (!tt.calls)
			continue;
		if (o->subset && (idx == IDX_BEYOND || !cp_trace_set_has(&o->set, idx)))
			continue;
		if (sink && sink->totals)
			sink->totals(sink->arg, &tt);
	}
	free(v);
	return rc;
}

uint64_t cp_trace_bpf_dropped(const struct cp_trace_bpf *b)
{
	return b->dropped;
}

uint64_t cp_trace_bpf_unfollowed(const struct cp_trace_bpf *b, uint32_t *max)
{
	*max = b->follow_mask + 1;
	return b->unfollowed;
}
