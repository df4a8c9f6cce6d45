/* syscall.c - the build machine's syscall numbers to names, for off-CPU
 * samples and the syscall tracer.  The table is generated at build time
 * from the kernel headers (scripts/gen-syscalls.sh: gen/syscalls.h). */
#include "proc/proc.h"

#include <stddef.h>
#include <string.h>

static const char *const names[] = {
#define CP_SYSCALL(nr, name) [nr] = #name,
#include "gen/syscalls.h"
#undef CP_SYSCALL
};

const char *cp_syscall_name(long nr)
{
	if (nr < 0 || (size_t)nr >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[nr];
}

long cp_syscall_number(const char *name)
{
	for (size_t nr = 0; name && nr < sizeof(names) / sizeof(names[0]); nr++)
		if (names[nr] && !strcmp(names[nr], name))
			return (long)nr;
	return -1;
}
