/* nomask.c - libunwind's signal masking, answered without the kernel.
 *
 * Debian's libunwind is built without thread-local caches: every lookup
 * in an address space's register-rule cache (once per frame of every
 * stack unwound) takes the cache's lock inside sigprocmask(SIG_SETMASK,
 * all signals) and its restore, two system calls per frame.  Profiled
 * with cprof itself, recording every syscall of syscall_heavy with its
 * stack (strace-lite --record): 37% of the reader's time went there, the
 * reader fell behind and the ring dropped 72% of the calls.
 *
 * The mask exists so that a signal handler that unwinds cannot deadlock
 * on the lock it interrupted.  cprof unwinds only other processes'
 * stacks, from its own threads, and none of its signal handlers unwinds;
 * so sigprocmask calls made from libunwind's own code (its mapped text,
 * found by name) return at once, with an empty old mask.  Every other
 * caller gets libc's sigprocmask.  The lock itself stays.
 *
 * This file defines the executable's sigprocmask: the dynamic linker
 * binds libunwind's (and only calls through the PLT, never libc's own)
 * to it. */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RANGES 8

static struct {
	uintptr_t lo, hi;
} ranges[MAX_RANGES];
static int nranges;
static int (*libc_sigprocmask)(int, const sigset_t *, sigset_t *);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	if (!slash || strncmp(slash + 1, "libunwind", 9))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && nranges < MAX_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
		ranges[nranges].hi = ranges[nranges].lo + ph->p_memsz;
		nranges++;
	}
	return 0;
}

static void init(void)
{
	libc_sigprocmask = (int (*)(int, const sigset_t *, sigset_t *))dlsym(RTLD_NEXT, "sigprocmask");
	dl_iterate_phdr(add_object, NULL);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	pthread_once(&once, init);
	uintptr_t from = (uintptr_t)__builtin_return_address(0);
	for (int i = 0; i < nranges; i++)
		if (from >= ranges[i].lo && from < ranges[i].hi) {
			if (old)
				sigemptyset(old);
			return 0;
		}
	if (libc_sigprocmask)
		return libc_sigprocmask(how, set, old);
	return (int)syscall(SYS_rt_sigprocmask, how, set, old, (size_t)(_NSIG / 8));
}
