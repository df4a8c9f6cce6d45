/* proc.h - starting a target program, waiting for it, and reading /proc.
 *
 * cp_proc_spawn() forks a child that waits, stopped at a pipe, until
 * cp_proc_release() lets it exec the command, so the caller can attach
 * counters to the pid before the first instruction of the program runs.
 * Exec failures come back through a close-on-exec pipe as an errno, so the
 * caller can report "cannot run 'x'" instead of a mysterious exit 127.
 */
#ifndef CPROF_PROC_H
#define CPROF_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/core.h"

struct cp_child {
	pid_t pid;
	int go_fd;   /* write end: closing it lets the child exec */
	int err_fd;  /* read end: errno of a failed exec, EOF on success */
	int pidfd;   /* pollable; readable when the child exits (-1 if unsupported) */
};

/* Fork a child that will exec argv[0] (PATH lookup) once released.  The
 * child keeps cprof's process group, terminal and environment. */
int cp_proc_spawn(char *const argv[], struct cp_child *c, struct cp_error *err);
/* Check that argv0 names an executable (a path, or a name found in $PATH)
 * before anything is started.  0, or CP_E_NOENT / CP_E_PERM with
 * "cannot run 'x': ..." */
int cp_proc_check_exec(const char *argv0, struct cp_error *err);
/* The file argv0 runs (a path, or found in $PATH), malloc'ed; NULL when
 * there is none. */
char *cp_proc_find_exec(const char *argv0);
/* Let the child exec.  Returns 0 when exec succeeded, or CP_E_NOENT /
 * CP_E_PERM ("cannot run 'cmd': ...") after reaping the child. */
int cp_proc_release(struct cp_child *c, char *const argv[], struct cp_error *err);
/* Non-blocking reap: 1 and *status when the child has exited, 0 if not. */
int cp_proc_try_wait(struct cp_child *c, int *status);
void cp_proc_close(struct cp_child *c);

/* Exit code a shell would report for a wait status: the exit code, or
 * 128+N when killed by signal N. */
int cp_proc_exit_code(int status);

/* One line of /proc/PID/maps. */
struct cp_proc_map {
	uint64_t start, end, pgoff;
	char perms[5];
	const char *path; /* borrowed; "" for anonymous */
};
/* Call fn for each mapping of pid; stops early when fn returns non-zero.
 * Returns 0, or CP_E_NOENT when the process is gone. */
int cp_proc_maps(pid_t pid, int (*fn)(const struct cp_proc_map *m, void *arg), void *arg,
		 struct cp_error *err);
/* The thread name (comm) of pid/tid into buf; "" when unknown. */
void cp_proc_comm(pid_t pid, pid_t tid, char *buf, size_t size);
/* Whether the process exists. */
bool cp_proc_exists(pid_t pid);
/* A numeric field of /proc/PID/status ("Tgid", "TracerPid", "NSpid"):
 * its first number, or with last its last one (NSpid: the pid in the
 * innermost namespace).  false when there is no such process or field. */
bool cp_proc_status_field(pid_t pid, const char *key, bool last, long *out);
/* Where a process's files are, seen from cprof.  A process in another
 * mount namespace (a container) or under another root (chroot) has other
 * files at the same paths: they are opened through /proc/PID/root.  The
 * paths in its /proc/PID/maps are d_path()s made from *our* root: when its
 * root is not reachable from ours (another namespace while we are in a
 * chroot, say) or lies below ours (a chrooted target), they carry its
 * root's own path as a prefix, readlink(/proc/PID/root); mmap records,
 * written in the target's context, never do. */
struct cp_proc_root {
	bool foreign;      /* read its files through /proc/PID/root */
	uint32_t nspid;    /* its pid in its own (innermost) pid namespace */
	char prefix[1024]; /* its root as its maps paths show it; "" for "/" */
};
/* Fill *r for pid.  A process that is gone (or unreadable) counts as ours. */
void cp_proc_root_get(pid_t pid, struct cp_proc_root *r);
/* A path read from pid's /proc/PID/maps, relative to its root: path past
 * the prefix (borrowed from path), or NULL when the file lies outside its
 * root (opened from here, then, as the path says). */
const char *cp_proc_root_maps_path(const struct cp_proc_root *r, const char *path);

/* CP_E_PERM, "not allowed to profile process N: it belongs to uid U ...",
 * when we are not root and pid belongs to another user; else 0. */
int cp_proc_check_owner(pid_t pid, struct cp_error *err);

/* The name of syscall nr on this architecture ("nanosleep"), NULL when
 * unknown. */
const char *cp_syscall_name(long nr);
/* The number of the syscall called name on this architecture, -1 none. */
long cp_syscall_number(const char *name);

#endif
