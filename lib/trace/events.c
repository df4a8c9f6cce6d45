/* events.c - the event engine of cprof strace-lite: the raw_syscalls
 * sys_enter and sys_exit tracepoints through perf_event, read from
 * lib/sample's rings with batched (watermark) wake-ups; the program never
 * stops.  Each thread's enter is paired with its exit and the call goes
 * to the sink.
 *
 * Without stacks the rings are read directly (cp_perf).  With stacks (-k,
 * --record) a cp_recorder reads them: it keeps the address spaces from
 * the MMAP/COMM/FORK records, unwinds the user stack copied with each
 * enter and hands both edges back here (on_syscall); --record then adds
 * one sample per finished call to the recorder's cprof.data: the stack
 * with the syscall as its leaf frame ("syscall:read"), the value 1 call
 * and the nanoseconds from entry to exit.
 *
 * Plain counting (o->bpf) goes to bpf.c when the kernel lets it: the
 * calls are added up there and reach the sink as totals at the end;
 * otherwise (o->bpf AUTO) the rings count and fallback says why.
 *
 * Counting follows strace's: a call counts when it returns, so the
 * program's own execve (whose exit is the first record: counting starts
 * at exec) counts, exit_group does not.  A call entered before counting
 * started (attach) is not reported: its start is unknown.  Records the
 * kernel dropped (the reader was late) are counted and reported, never
 * silently missing: an exit whose enter was lost is not paired with a
 * stale one. */
#include "trace/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"
#include "profile/profile.h"
#include "sample/sample.h"

struct pending {
	uint64_t enter_ns;
	uint64_t args[CP_TRACE_MAX_ARGS];
	int64_t nr;
	uint32_t pid;
	uint32_t stack; /* model stack of the enter, CP_NONE without */
	struct cp_profile_sample ps;
};

struct cp_trace_events {
	struct cp_trace_opts o;
	const struct cp_trace_sink *sink;
	struct cp_trace_decoder *dec;
	struct cp_trace_bpf *bpf; /* counting in the kernel (plain -c) */
	char *fallback;           /* why not, when it was asked for */
	struct cp_perf *perf;     /* without stacks */
	struct cp_recorder *rec;  /* with stacks */
	struct cp_perf_opts popts;
	char *filter;
	struct cp_u64map open; /* tid -> slot + 1 in pend */
	CP_VEC(struct pending) pend;
	CP_VEC(uint32_t) free_slots;
	struct cp_u64map sys_locs; /* syscall nr -> model location + 1 (--record) */
	uint32_t sys_mapping;      /* "[syscall]", the mapping of those locations */
	uint32_t locs[2049];
	uint64_t lost, dropped;
	long execve_nr, execveat_nr;
	long clone_nr[4]; /* clone, clone3, fork, vfork (-1: not on this architecture) */
	int64_t vals[2];
	bool record, failed;
	struct cp_error werr; /* first write failure of the recording */
};


/* A tracepoint filter for the set: ranges of numbers ("id >= 0 && id <=
 * 3 || id == 9"), NULL for every call. */
static char *make_filter(const struct cp_trace_set *set)
{
	struct cp_buf b = { 0 };
	int nr = 0;
	while (nr < CP_TRACE_MAX_NR) {
		if (!cp_trace_set_has(set, nr)) {
			nr++;
			continue;
		}
		int end = nr;
		while (end + 1 < CP_TRACE_MAX_NR && cp_trace_set_has(set, end + 1))
			end++;
		char part[64];
		if (end == nr)
			snprintf(part, sizeof(part), "%sid == %d", b.len ? " || " : "", nr);
		else
			snprintf(part, sizeof(part), "%s(id >= %d && id <= %d)", b.len ? " || " : "",
				 nr, end);
		cp_buf_add_str(&b, part);
		nr = end + 1;
	}
	if (!b.len)
		cp_buf_add_str(&b, "id == -1"); /* none: nothing passes */
	cp_buf_add_u8(&b, 0);
	return (char *)b.p;
}

static void deliver(struct cp_trace_events *t, struct pending *pe, uint32_t tid, bool returned,
		    int64_t ret, uint64_t exit_ns)
{
	if (pe->nr < 0)
		return; /* never returned, and only the exit would have said which */
	if (t->o.subset && !cp_trace_set_has(&t->o.set, pe->nr))
		return;
	struct cp_trace_call c = {
		.pid = pe->pid,
		.tid = tid,
		.nr = (int)pe->nr,
		.ret = ret,
		.returned = returned,
		.enter_ns = pe->enter_ns,
		.exit_ns = returned ? exit_ns : 0,
		.nargs = -1,
		.stack = pe->stack,
	};
	memcpy(c.args, pe->args, sizeof(c.args));
	if (t->o.decode && t->dec) {
		cp_trace_decode_enter(t->dec, &c, NULL);
		cp_trace_decode_exit(t->dec, &c, NULL);
	}
	if (t->rec && pe->stack != CP_NONE && t->o.stacks)
		cp_recorder_symbolize_new(t->rec);
	if (t->sink && t->sink->call)
		t->sink->call(t->sink->arg, &c);
}

/* The location of the leaf frame "syscall:NAME" of --record's stacks. */
static uint32_t syscall_loc(struct cp_trace_events *t, struct cp_profile *m, int64_t nr)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&t->sys_locs, (uint64_t)nr, 0, &added);
	if (!added)
		return (uint32_t)(*v - 1);
	char nb[32], name[64];
	snprintf(name, sizeof(name), "syscall:%s",
		 cp_trace_syscall_name((int)nr, nb, sizeof(nb)));
	struct cp_profile_line line = {
		.function = cp_profile_add_function(m, name, name, "", 0),
	};
	if (t->sys_mapping == CP_NONE) {
		struct cp_profile_mapping mp = { .path = "[syscall]", .build_id = "" };
		t->sys_mapping = cp_profile_add_mapping(m, &mp);
	}
	uint32_t loc = cp_profile_add_location(m, t->sys_mapping, (uint64_t)nr, &line, 1);
	*v = (uint64_t)loc + 1;
	return loc;
}

/* --record: one sample per finished call, its time inside the call. */
static void record_call(struct cp_trace_events *t, struct pending *pe, uint64_t exit_ns)
{
	if (t->failed || (t->o.subset && !cp_trace_set_has(&t->o.set, pe->nr)))
		return;
	struct cp_profile *m = cp_recorder_model(t->rec);
	uint32_t n = 0;
	const uint32_t *locs = cp_profile_stack_locs(m, pe->stack, &n);
	if (n > CP_ARRAY_SIZE(t->locs) - 1)
		n = CP_ARRAY_SIZE(t->locs) - 1;
	t->locs[0] = syscall_loc(t, m, pe->nr);
	memcpy(t->locs + 1, locs, n * sizeof(*locs));
	struct cp_profile_sample s = pe->ps;
	s.stack = cp_profile_add_stack(m, t->locs, n + 1);
	t->vals[0] = exit_ns > pe->enter_ns ? (int64_t)(exit_ns - pe->enter_ns) : 0;
	t->vals[1] = 1;
	if (cp_recorder_add_sample(t->rec, &s, t->vals, &t->werr))
		t->failed = true;
}

static struct pending *pending_of(struct cp_trace_events *t, uint32_t tid)
{
	uint64_t *v = cp_u64map_find(&t->open, tid);
	return v ? &t->pend.v[*v - 1] : NULL;
}

static void close_pending(struct cp_trace_events *t, uint32_t tid)
{
	uint64_t *v = cp_u64map_find(&t->open, tid);
	if (!v)
		return;
	CP_VEC_PUSH(t->free_slots, (uint32_t)(*v - 1));
	cp_u64map_del(&t->open, tid);
}

static bool is_clone(const struct cp_trace_events *t, int64_t nr)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(t->clone_nr); i++)
		if (t->clone_nr[i] >= 0 && nr == t->clone_nr[i])
			return true;
	return false;
}

static int on_syscall(void *arg, const struct cp_perf_sample *s, const struct cp_profile_sample *ps)
{
	struct cp_trace_events *t = arg;
	struct pending *pe = pending_of(t, s->tid);
	if (s->sys_enter) {
		if (pe) {
			/* an enter over an enter: the exit between was lost */
			t->dropped++;
		} else {
			uint32_t slot;
			if (t->free_slots.n) {
				slot = t->free_slots.v[--t->free_slots.n];
			} else {
				struct pending z = { 0 };
				CP_VEC_PUSH(t->pend, z);
				slot = (uint32_t)t->pend.n - 1;
			}
			cp_u64map_put(&t->open, s->tid, (uint64_t)slot + 1);
			pe = &t->pend.v[slot];
		}
		pe->enter_ns = s->time;
		pe->nr = s->sys_id;
		pe->pid = s->pid;
		memcpy(pe->args, s->sys_args, sizeof(pe->args));
		pe->stack = ps ? ps->stack : CP_NONE;
		if (ps)
			pe->ps = *ps;
		return 0;
	}
	if (pe && pe->nr < 0)
		pe->nr = s->sys_id; /* enters without arguments: the exit says which */
	if (!pe || pe->nr != s->sys_id) {
		if (pe) {
			/* the enter of this exit was lost, and the exit of the
			 * pending enter: drop both, never pair them */
			t->dropped++;
			close_pending(t, s->tid);
		}
		/* a new thread's or child's first record: clone's return in it
		 * (strace counts the parent's call only) */
		if (s->sys_ret == 0 && is_clone(t, s->sys_id))
			return 0;
		/* the exec that started counting: its exit is the first record */
		if (s->sys_id == t->execve_nr || s->sys_id == t->execveat_nr) {
			struct pending ex = {
				.enter_ns = s->time,
				.nr = s->sys_id,
				.pid = s->pid,
				.stack = CP_NONE,
			};
			deliver(t, &ex, s->tid, true, s->sys_ret, s->time);
		} else {
			t->dropped++;
		}
		return 0;
	}
	if (t->record && pe->stack != CP_NONE)
		record_call(t, pe, s->time);
	deliver(t, pe, s->tid, true, s->sys_ret, s->time);
	close_pending(t, s->tid);
	return 0;
}

/* Records were dropped here: any open call's exit may be among them, and
 * the next exit of that thread would pair with the wrong enter (same
 * number, wrong time and stack).  Close them all; their exits, if they
 * come, find nothing open and count as dropped too. */
static void on_lost(void *arg, uint64_t n)
{
	struct cp_trace_events *t = arg;
	t->lost += n;
	for (size_t i = 0; i < t->open.cap; i++)
		if (t->open.used && t->open.used[i])
			t->dropped++;
	cp_u64map_release(&t->open);
	cp_u64map_init(&t->open);
	t->free_slots.n = 0;
	for (size_t i = 0; i < t->pend.n; i++)
		CP_VEC_PUSH(t->free_slots, (uint32_t)i);
}

static int on_event(const struct cp_perf_event *ev, void *arg)
{
	struct cp_trace_events *t = arg;
	switch (ev->kind) {
	case CP_PERF_SAMPLE:
		return on_syscall(t, ev->sample, NULL);
	case CP_PERF_EXIT: {
		/* a thread ended inside a call (exit_group, killed): "= ?" */
		struct pending *pe = pending_of(t, ev->tid);
		if (pe) {
			deliver(t, pe, ev->tid, false, 0, 0);
			close_pending(t, ev->tid);
		}
		if (t->dec)
			cp_trace_decode_forget(t->dec, ev->tid);
		return 0;
	}
	case CP_PERF_LOST:
		on_lost(t, ev->lost);
		return 0;
	default:
		return 0;
	}
}

static void rec_exit_hook(void *arg, uint32_t pid, uint32_t tid)
{
	struct cp_perf_event ev = { .kind = CP_PERF_EXIT, .pid = pid, .tid = tid };
	on_event(&ev, arg);
}

int cp_trace_events_open(const struct cp_trace_opts *o, const struct cp_trace_sink *sink,
			 struct cp_trace_events **out, struct cp_error *err)
{
	struct cp_trace_events *t = cp_xcalloc(1, sizeof(*t));
	t->o = *o;
	t->sink = sink;
	cp_u64map_init(&t->open);
	cp_u64map_init(&t->sys_locs);
	t->sys_mapping = CP_NONE;
	t->execve_nr = cp_syscall_number("execve");
	t->execveat_nr = cp_syscall_number("execveat");
	static const char *const clones[] = { "clone", "clone3", "fork", "vfork" };
	for (size_t i = 0; i < CP_ARRAY_SIZE(clones); i++)
		t->clone_nr[i] = cp_syscall_number(clones[i]);
	if (o->bpf != CP_TRACE_BPF_NEVER) {
		struct cp_error berr;
		int rc = cp_trace_bpf_open(o, &t->bpf, &berr);
		if (!rc) {
			*out = t;
			return 0;
		}
		if (o->bpf == CP_TRACE_BPF_ONLY) {
			if (err)
				*err = berr;
			cp_trace_events_free(t);
			return rc;
		}
		t->fallback = cp_xstrdup(berr.msg);
	}
	if (o->decode)
		t->dec = cp_trace_decoder_new(o);
	if (o->subset)
		t->filter = make_filter(&o->set);
	struct cp_perf_opts *po = &t->popts;
	memset(po, 0, sizeof(*po));
	po->syscalls = true;
	po->syscall_args = o->decode;
	po->filter = t->filter;
	po->callgraph = o->stacks ? CP_CG_DWARF : CP_CG_NONE;
	po->stack_size = o->stack_size ? o->stack_size : 8192;
	po->stack_size_set = true;
	po->inherit = o->follow;
	po->user_only = true;
	po->mmap_pages = o->mmap_pages;
	/* a running process: every thread, now; a command: from its exec */
	po->attach = o->attach;
	po->enable_on_exec = !o->attach;
	t->record = o->record != NULL;
	if (o->stacks || o->record) {
		struct cp_record_opts ro;
		cp_record_opts_init(&ro);
		ro.perf = *po;
		ro.perf.callgraph = CP_CG_DWARF;
		ro.output = o->record;
		ro.periodic = o->record == NULL;
		ro.command_line = o->command_line ? o->command_line : "";
		ro.code_max = o->record ? CP_RECORD_CODE_MAX : 0;
		ro.on_syscall = on_syscall;
		ro.on_thread_exit = rec_exit_hook;
		ro.on_lost = on_lost;
		ro.on_syscall_arg = t;
		t->rec = cp_recorder_new(&ro, err);
		if (!t->rec) {
			cp_trace_events_free(t);
			return err ? err->code : CP_E_FAIL;
		}
		struct cp_profile *m = cp_recorder_model(t->rec);
		/* time first: what report and flame show by default */
		cp_profile_add_value_type(m, "syscall", "nanoseconds");
		cp_profile_add_value_type(m, "calls", "count");
	}
	*out = t;
	return 0;
}

int cp_trace_events_add(struct cp_trace_events *t, pid_t pid, struct cp_error *err)
{
	bool attach = t->o.attach;
	if (t->bpf)
		return cp_trace_bpf_add(t->bpf, pid, attach, err);
	if (t->rec)
		return cp_recorder_add_target(t->rec, pid, err);
	if (t->perf) {
		if (!attach)
			return cp_error_set(err, CP_E_USAGE, "only attach mode takes several targets");
		int rc = cp_perf_add(t->perf, pid, err);
		if (!rc)
			cp_perf_enable(t->perf, true);
		return rc;
	}
	int rc = cp_perf_open(pid, &t->popts, &t->perf, err);
	if (rc)
		return rc;
	if (attach)
		cp_perf_enable(t->perf, true);
	return 0;
}

int cp_trace_events_pollfds(const struct cp_trace_events *t, struct pollfd *fds, int max)
{
	if (t->rec)
		return cp_recorder_pollfds(t->rec, fds, max);
	return t->perf ? cp_perf_pollfds(t->perf, fds, max) : 0;
}

int cp_trace_events_read(struct cp_trace_events *t, struct cp_error *err)
{
	if (t->rec) {
		int rc = cp_recorder_process(t->rec, err);
		if (rc)
			return rc;
	} else if (t->perf) {
		cp_perf_read(t->perf, on_event, t);
	}
	if (t->failed) {
		if (err)
			*err = t->werr;
		return t->werr.code ? t->werr.code : CP_E_IO;
	}
	return 0;
}

int cp_trace_events_finish(struct cp_trace_events *t, int exit_status, struct cp_error *err)
{
	int rc = 0;
	if (t->bpf) {
		rc = cp_trace_bpf_finish(t->bpf, &t->o, t->sink, err);
		t->dropped += cp_trace_bpf_dropped(t->bpf);
		uint32_t max;
		uint64_t unf = cp_trace_bpf_unfollowed(t->bpf, &max);
		if (unf)
			cp_log(CP_LOG_WARN,
			       "%llu child processes were not followed: their slot among the %u "
			       "of followed processes was another's (process ids beyond them); "
			       "their calls are not counted",
			       (unsigned long long)unf, max);
		return rc;
	}
	if (t->perf) {
		cp_perf_enable(t->perf, false);
		cp_perf_read(t->perf, on_event, t);
		cp_perf_close(t->perf);
		t->perf = NULL;
	}
	if (t->rec) {
		rc = cp_recorder_finish(t->rec, exit_status, err); /* losses: on_lost */
	}
	/* a call still open in a program that ended never returned */
	if (exit_status >= 0) {
		CP_VEC(uint64_t) tids = { 0 };
		for (size_t i = 0; i < t->open.cap; i++)
			if (t->open.used && t->open.used[i])
				CP_VEC_PUSH(tids, t->open.keys[i]);
		for (size_t i = 0; i < tids.n; i++) {
			struct pending *pe = pending_of(t, (uint32_t)tids.v[i]);
			if (pe)
				deliver(t, pe, (uint32_t)tids.v[i], false, 0, 0);
			close_pending(t, (uint32_t)tids.v[i]);
		}
		CP_VEC_FREE(tids);
	}
	if (!rc && t->failed) {
		if (err)
			*err = t->werr;
		rc = t->werr.code ? t->werr.code : CP_E_IO;
	}
	return rc;
}

const char *cp_trace_events_dropped_why(const struct cp_trace_events *t)
{
	return t->bpf ? "their thread's entry slot was taken by another thread's open call "
			"(thread ids beyond the in-kernel table, kernel.pid_max over 1048576)"
		      : NULL;
}

const char *cp_trace_events_engine(const struct cp_trace_events *t)
{
	return t->bpf ? "in-kernel" : "tracepoints";
}

const char *cp_trace_events_fallback(const struct cp_trace_events *t)
{
	return t->fallback;
}

uint64_t cp_trace_events_lost(const struct cp_trace_events *t)
{
	return t->lost;
}

uint64_t cp_trace_events_dropped(const struct cp_trace_events *t)
{
	return t->dropped;
}

const struct cp_profile *cp_trace_events_model(const struct cp_trace_events *t)
{
	return t->rec ? cp_recorder_model(t->rec) : NULL;
}

void cp_trace_events_free(struct cp_trace_events *t)
{
	if (!t)
		return;
	cp_trace_bpf_free(t->bpf);
	free(t->fallback);
	if (t->perf)
		cp_perf_close(t->perf);
	if (t->rec)
		cp_recorder_free(t->rec);
	if (t->dec)
		cp_trace_decoder_free(t->dec);
	cp_u64map_release(&t->open);
	cp_u64map_release(&t->sys_locs);
	CP_VEC_FREE(t->pend);
	CP_VEC_FREE(t->free_slots);
	free(t->filter);
	free(t);
}
