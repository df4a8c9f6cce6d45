/* attach.c - cprof heap -p: loading the interposer into a running process
 * and redirecting its allocation calls, through ptrace; and back.
 *
 * One thread of the target is borrowed for a few function calls: stopped
 * (PTRACE_SEIZE + PTRACE_INTERRUPT) at a moment it holds none of the C
 * library's locks as far as we can tell (running outside libc and the
 * loader, or blocked in a syscall that is not the allocator's or a lock's),
 * its registers and vector state saved, made to call dlopen(), dlsym() and
 * the interposer's cprof_heap_attach() with a return address of 0, so the
 * call ends in a SIGSEGV stop at address 0, then given its registers back
 * and let go.  Signals that arrive meanwhile are delivered (their handlers
 * run on top of the call).  The other threads keep running throughout.
 * The shared memory and the "alive" FIFO are files in a private directory
 * in /dev/shm, given to the target's owner, removed once it has them open.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "heap/heap-int.h"
#include "proc/proc.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#define CALL_TIMEOUT_MS 10000
#define SAFE_POINT_TRIES 2000 /* ~1 ms apart */

struct borrowed {
	pid_t tid;
	struct user_regs_struct regs;
	uint8_t xstate[16384];
	size_t xlen;
};

struct text_range {
	uint64_t lo, hi;
};

struct target_info {
	uint64_t dlopen, dlsym, dlerror;     /* in the target */
	struct text_range unsafe[8];         /* libc's and the loader's code */
	int nunsafe;
	char libc[4096];
};

/* ---- the target's C library ------------------------------------------------ */

/* Address of a dynamic symbol of the ELF file at path, loaded at bias. */
static int elf_symbols(const char *path, uint64_t bias, struct target_info *ti)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	while (e && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || !s.st_value ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC)
				continue;
			const char *n = elf_strptr(e, sh.sh_link, s.st_name);
			if (!n)
				continue;
			if (!strcmp(n, "dlopen"))
				ti->dlopen = bias + s.st_value;
			else if (!strcmp(n, "dlsym"))
				ti->dlsym = bias + s.st_value;
			else if (!strcmp(n, "dlerror"))
				ti->dlerror = bias + s.st_value;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return ti->dlopen && ti->dlsym && ti->dlerror ? 0 : -1;
}

static int maps_cb(const struct cp_proc_map *m, void *arg)
{
	struct target_info *ti = arg;
	const char *base = cp_basename(m->path);
	bool libc = !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-2.", 7);
	bool ld = !strncmp(base, "ld-linux", 8) || !strncmp(base, "ld-2.", 5);
	if (libc && m->pgoff == 0 && !ti->libc[0])
		snprintf(ti->libc, sizeof(ti->libc), "%s@%llx", m->path, (unsigned long long)m->start);
	if ((libc || ld) && m->perms[2] == 'x' && ti->nunsafe < 8)
		ti->unsafe[ti->nunsafe++] = (struct text_range){ m->start, m->end };
	return 0;
}

static int find_libc(pid_t pid, struct target_info *ti, struct cp_error *err)
{
	memset(ti, 0, sizeof(*ti));
	if (cp_proc_maps(pid, maps_cb, ti, err))
		return err ? err->code : CP_E_NOENT;
	char *at = strrchr(ti->libc, '@');
	if (!at)
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "process %d has no C library (libc.so) loaded: its allocations "
				    "cannot be redirected", (int)pid);
	*at = '\0';
	uint64_t start = strtoull(at + 1, NULL, 16);
	/* a shared library's first segment is at virtual address 0 */
	if (elf_symbols(ti->libc, start, ti))
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "cannot find dlopen, dlsym and dlerror in '%s' of process %d "
				    "(a C library older than glibc 2.34?)", ti->libc, (int)pid);
	return 0;
}

/* ---- borrowing a thread ------------------------------------------------------- */

static int wait_stop(pid_t tid, int *status, int timeout_ms)
{
	struct timespec d = { 0, 1000000 };
	for (int i = 0; i < timeout_ms; i++) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&d, NULL);
	}
	return -1;
}

static bool in_ranges(const struct target_info *ti, uint64_t a)
{
	for (int i = 0; i < ti->nunsafe; i++)
		if (a >= ti->unsafe[i].lo && a < ti->unsafe[i].hi)
			return true;
	return false;
}

/* Whether a stopped thread may be borrowed: not inside the C library or
 * the loader (it could hold their locks), unless blocked in a syscall that
 * is neither the allocator's nor (before `late`) a lock's. */
static bool safe_point(const struct target_info *ti, const struct user_regs_struct *r, bool late)
{
	if ((long long)r->orig_rax >= 0) {
		switch (r->orig_rax) {
		case SYS_mmap: case SYS_munmap: case SYS_mremap: case SYS_brk:
		case SYS_madvise: case SYS_mprotect:
			return false;
		case SYS_futex:
			return late;
		default:
			return true;
		}
	}
	return !in_ranges(ti, r->rip);
}

static int get_state(struct borrowed *b)
{
	if (ptrace(PTRACE_GETREGS, b->tid, NULL, &b->regs) < 0)
		return -1;
	struct iovec io = { b->xstate, sizeof(b->xstate) };
	b->xlen = ptrace(PTRACE_GETREGSET, b->tid, (void *)NT_X86_XSTATE, &io) == 0 ? io.iov_len : 0;
	return 0;
}

static void put_state(const struct borrowed *b)
{
	ptrace(PTRACE_SETREGS, b->tid, NULL, &b->regs);
	if (b->xlen) {
		struct iovec io = { (void *)b->xstate, b->xlen };
		ptrace(PTRACE_SETREGSET, b->tid, (void *)NT_X86_XSTATE, &io);
	}
}

/* Seize the threads of pid in turn until one stops at a safe point. */
static int borrow(pid_t pid, const struct target_info *ti, struct borrowed *b,
		  struct cp_error *err)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	for (int tries = 0; tries < SAFE_POINT_TRIES;) {
		DIR *d = opendir(dir);
		if (!d)
			return cp_error_errno(err, CP_E_NOENT, errno, "process %d", (int)pid);
		struct dirent *de;
		while ((de = readdir(d)) && tries < SAFE_POINT_TRIES) {
			pid_t tid = (pid_t)atoi(de->d_name);
			if (tid <= 0)
				continue;
			tries++;
			if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
				if (errno == EPERM) {
					closedir(d);
					return cp_error_errno(err, CP_E_PERM, errno,
							      "cannot trace process %d (kernel.yama."
							      "ptrace_scope, or another tracer)", (int)pid);
				}
				continue;
			}
			int st;
			if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 || wait_stop(tid, &st, 1000) ||
			    !WIFSTOPPED(st)) {
				ptrace(PTRACE_DETACH, tid, NULL, NULL);
				continue;
			}
			b->tid = tid;
			if (get_state(b) == 0 && safe_point(ti, &b->regs, tries > SAFE_POINT_TRIES / 2)) {
				closedir(d);
				return 0;
			}
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
		closedir(d);
	}
	return cp_error_set(err, CP_E_FAIL,
			    "no thread of process %d stopped outside the C library's allocator "
			    "and locks in %d tries; try again", (int)pid, SAFE_POINT_TRIES);
}

static void give_back(struct borrowed *b)
{
	put_state(b);
	ptrace(PTRACE_DETACH, b->tid, NULL, NULL);
	free(b);
}

static int write_mem(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)(uintptr_t)addr, len };
	if (process_vm_writev(tid, &l, 1, &r, 1, 0) == (ssize_t)len)
		return 0;
	for (size_t i = 0; i < len; i += 8) {
		long w = 0;
		size_t n = len - i < 8 ? len - i : 8;
		if (n < 8)
			w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(addr + i), NULL);
		memcpy(&w, (const char *)buf + i, n);
		if (ptrace(PTRACE_POKEDATA, tid, (void *)(uintptr_t)(addr + i), (void *)w) < 0)
			return -1;
	}
	return 0;
}

static void read_str(pid_t tid, uint64_t addr, char *buf, size_t size)
{
	struct iovec l = { buf, size - 1 }, r = { (void *)(uintptr_t)addr, size - 1 };
	ssize_t n = addr ? process_vm_readv(tid, &l, 1, &r, 1, 0) : -1;
	buf[n > 0 ? (size_t)n : 0] = '\0';
	buf[size - 1] = '\0';
}

/* Call fn(a1, a2) in the borrowed thread; the strings s1, s2 (nullable)
 * are put on its stack and passed instead of a1, a2. */
static int call(struct borrowed *b, uint64_t fn, const char *s1, const char *s2, uint64_t a1,
		uint64_t a2, uint64_t *ret, struct cp_error *err)
{
	struct user_regs_struct r = b->regs;
	uint64_t sp = (b->regs.rsp - 4096) & ~15ull; /* past the red zone, room to spare */
	const char *strs[2] = { s1, s2 };
	uint64_t *args[2] = { &a1, &a2 };
	for (int i = 0; i < 2; i++) {
		if (!strs[i])
			continue;
		size_t len = strlen(strs[i]) + 1;
		sp = (sp - len) & ~15ull;
		if (write_mem(b->tid, sp, strs[i], len))
			return cp_error_errno(err, CP_E_FAIL, errno,
					      "cannot write into thread %d's stack", (int)b->tid);
		*args[i] = sp;
	}
	uint64_t zero = 0;
	/* as after a call instruction: the return address at a 16-byte
	 * boundary minus 8 */
	sp = (sp & ~15ull) - 8;
	if (write_mem(b->tid, sp, &zero, 8)) /* the return address: 0 */
		return cp_error_errno(err, CP_E_FAIL, errno, "cannot write into thread %d's stack",
				      (int)b->tid);
	r.rsp = sp;
	r.rip = fn;
	r.rdi = a1;
	r.rsi = a2;
	r.rax = 0;
	r.orig_rax = (unsigned long long)-1; /* not in a syscall: nothing to restart */
	if (ptrace(PTRACE_SETREGS, b->tid, NULL, &r) < 0 || ptrace(PTRACE_CONT, b->tid, NULL, 0) < 0)
		return cp_error_errno(err, CP_E_FAIL, errno, "cannot run thread %d", (int)b->tid);
	for (;;) {
		int st;
		if (wait_stop(b->tid, &st, CALL_TIMEOUT_MS)) {
			/* it never came back: take the thread back where it was */
			ptrace(PTRACE_INTERRUPT, b->tid, NULL, NULL);
			wait_stop(b->tid, &st, 1000);
			return cp_error_set(err, CP_E_FAIL,
					    "a call in thread %d of the process did not return within %d s",
					    (int)b->tid, CALL_TIMEOUT_MS / 1000);
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return cp_error_set(err, CP_E_NOENT, "thread %d ended during the call",
					    (int)b->tid);
		int sig = WSTOPSIG(st);
		struct user_regs_struct now;
		ptrace(PTRACE_GETREGS, b->tid, NULL, &now);
		if (sig == SIGSEGV && now.rip == 0) {
			*ret = now.rax;
			return 0;
		}
		if (sig == SIGSEGV)
			return cp_error_set(err, CP_E_FAIL, "the call crashed in thread %d at %#llx",
					    (int)b->tid, (unsigned long long)now.rip);
		/* a group stop or an interrupt: go on; a signal: deliver it */
		int deliver = (st >> 16) == PTRACE_EVENT_STOP ? 0 : sig;
		ptrace(PTRACE_CONT, b->tid, NULL, (void *)(uintptr_t)deliver);
	}
}

/* ---- attach, detach ---------------------------------------------------------- */

/* Find the target's C library and borrow one of its threads; NULL with err. */
static struct borrowed *borrow_in(pid_t pid, struct target_info *ti, struct cp_error *err)
{
	if (find_libc(pid, ti, err))
		return NULL;
	struct borrowed *b = cp_xcalloc(1, sizeof(*b));
	if (borrow(pid, ti, b, err)) {
		free(b);
		return NULL;
	}
	return b;
}

int cp_heap_attach(struct cp_heap *h, pid_t pid, struct cp_error *err)
{
	struct cp_proc_root root;
	cp_proc_root_get(pid, &root);
	if (root.foreign)
		return cp_error_set(err, CP_E_UNSUPPORTED,
				    "process %d runs in another mount namespace or root (a "
				    "container): cprof heap -p cannot load its library there yet",
				    (int)pid);
	struct target_info ti;
	struct borrowed *b = borrow_in(pid, &ti, err);
	if (!b)
		return err ? err->code : CP_E_FAIL;
	int rc;
	uint64_t handle = 0, attach_fn = 0, detach_fn = 0, n = 0;
	rc = call(b, ti.dlopen, h->lib, NULL, 0, 2 /* RTLD_NOW */, &handle, err);
	if (!rc && !handle) {
		uint64_t msg = 0;
		char text[256] = "";
		if (call(b, ti.dlerror, NULL, NULL, 0, 0, &msg, NULL) == 0)
			read_str(b->tid, msg, text, sizeof(text));
		rc = cp_error_set(err, CP_E_FAIL, "process %d cannot load '%s': %s", (int)pid,
				  h->lib, text[0] ? text : "dlopen failed");
	}
	if (!rc)
		rc = call(b, ti.dlsym, NULL, CP_HEAP_ATTACH_FN, handle, 0, &attach_fn, err);
	if (!rc)
		rc = call(b, ti.dlsym, NULL, CP_HEAP_DETACH_FN, handle, 0, &detach_fn, err);
	if (!rc && (!attach_fn || !detach_fn))
		rc = cp_error_set(err, CP_E_FAIL, "'%s' is not cprof's interposer (no %s)", h->lib,
				  CP_HEAP_ATTACH_FN);
	if (!rc)
		rc = call(b, attach_fn, h->attach_dir, NULL, 0, 0, &n, err);
	if (!rc && (int)n == -EBUSY)
		rc = cp_error_set(err, CP_E_UNSUPPORTED,
				  "process %d was recorded by cprof heap -p before: attaching to "
				  "it a second time is not supported yet", (int)pid);
	else if (!rc && (int)n < 0)
		rc = cp_error_errno(err, CP_E_FAIL, -(int)n, "process %d could not start recording",
				    (int)pid);
	give_back(b);
	heap_attach_dir_remove(h); /* the process has them open now */
	if (rc)
		return rc;
	h->attached = pid;
	h->detach_fn = detach_fn;
	cp_log(CP_LOG_INFO, "heap: process %d: %d allocation entries redirected", (int)pid, (int)n);
	return 0;
}

int cp_heap_detach(struct cp_heap *h, struct cp_error *err)
{
	if (!h->attached)
		return 0;
	/* the hooks call straight through from now on */
	atomic_store(&h->shm->stop, 1);
	pid_t pid = h->attached;
	h->attached = 0;
	if (!cp_proc_exists(pid))
		return 0;
	struct target_info ti;
	struct borrowed *b = borrow_in(pid, &ti, err);
	if (!b)
		return err ? err->code : CP_E_FAIL;
	uint64_t n = 0;
	int rc = call(b, h->detach_fn, NULL, NULL, 0, 0, &n, err);
	give_back(b);
	if (!rc)
		cp_log(CP_LOG_INFO, "heap: process %d: %d allocation entries put back", (int)pid,
		       (int)n);
	return rc;
}
