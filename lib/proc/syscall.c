/* syscall.c - x86-64 (the build machine's) syscall numbers to names, for
 * off-CPU samples and the syscall tracer.  The table is generated at build
 * time from the C library's <sys/syscall.h> (Makefile: gen/syscalls.h). */
#include "proc/proc.h"

#include <stddef.h>

static const char *const names[] = {
#include "gen/syscalls.h"
};

const char *cp_syscall_name(long nr)
{
	if (nr < 0 || (size_t)nr >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[nr];
}
