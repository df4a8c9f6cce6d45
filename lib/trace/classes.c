/* classes.c - which system calls -e trace=%CLASS selects: strace's
 * classes (its TF, TD, TN, TP, TM, TS, TI, TC and TCL flags), as lists of
 * names so that one table serves every architecture (a name that an
 * architecture does not have is simply not there). */
#include <string.h>

#include "trace/trace.h"

static const struct {
	const char *name;
	unsigned bit;
	const char *calls; /* space-separated, with a space at each end */
} classes[] = {
	{ "%file", CP_TC_FILE,
	  " open stat lstat access truncate getcwd chdir rename mkdir rmdir creat link unlink"
	  " symlink readlink chmod chown lchown utime mknod uselib statfs pivot_root chroot acct"
	  " mount umount2 swapon swapoff quotactl setxattr lsetxattr getxattr lgetxattr listxattr"
	  " llistxattr removexattr lremovexattr utimes inotify_add_watch openat mkdirat mknodat"
	  " fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat"
	  " fchmodat faccessat utimensat fanotify_mark name_to_handle_at renameat2 execve execveat"
	  " statx open_tree move_mount fsconfig fspick openat2 faccessat2 mount_setattr fchmodat2"
	  " setxattrat getxattrat " },
	{ "%desc", CP_TC_DESC,
	  " read write open close fstat poll lseek mmap ioctl pread64 pwrite64 readv writev pipe"
	  " select dup dup2 sendfile fcntl flock fsync fdatasync ftruncate getdents fchdir creat"
	  " fchmod fchown fstatfs readahead fsetxattr fgetxattr flistxattr fremovexattr"
	  " epoll_create getdents64 fadvise64 epoll_wait epoll_ctl mq_open mq_timedsend"
	  " mq_timedreceive mq_notify mq_getsetattr inotify_init inotify_add_watch inotify_rm_watch"
	  " openat mkdirat mknodat fchownat futimesat newfstatat unlinkat renameat linkat"
	  " symlinkat readlinkat fchmodat faccessat pselect6 ppoll splice tee sync_file_range"
	  " vmsplice utimensat epoll_pwait signalfd timerfd_create eventfd fallocate"
	  " timerfd_settime timerfd_gettime signalfd4 eventfd2 epoll_create1 dup3 pipe2"
	  " inotify_init1 preadv pwritev perf_event_open fanotify_init fanotify_mark"
	  " name_to_handle_at open_by_handle_at syncfs setns finit_module renameat2 memfd_create"
	  " kexec_file_load bpf execveat userfaultfd copy_file_range preadv2 pwritev2 statx"
	  " pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount"
	  " fsopen fsconfig fsmount fspick pidfd_open openat2 pidfd_getfd faccessat2"
	  " process_madvise epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset"
	  " landlock_add_rule landlock_restrict_self memfd_secret process_mrelease cachestat"
	  " fchmodat2 setxattrat getxattrat " },
	{ "%network", CP_TC_NETWORK,
	  " sendfile socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen"
	  " getsockname getpeername socketpair setsockopt getsockopt getpmsg putpmsg accept4"
	  " recvmmsg sendmmsg " },
	{ "%process", CP_TC_PROCESS,
	  " clone fork vfork execve exit wait4 kill tkill exit_group tgkill waitid rt_sigqueueinfo"
	  " rt_tgsigqueueinfo execveat pidfd_send_signal clone3 " },
	{ "%memory", CP_TC_MEMORY,
	  " mmap mprotect munmap brk mremap msync mincore madvise shmat shmdt mlock munlock"
	  " mlockall munlockall io_setup io_destroy remap_file_pages mbind set_mempolicy"
	  " get_mempolicy migrate_pages move_pages mlock2 pkey_mprotect io_uring_register"
	  " set_mempolicy_home_node map_shadow_stack mseal " },
	{ "%signal", CP_TC_SIGNAL,
	  " rt_sigaction rt_sigprocmask rt_sigreturn pause kill rt_sigpending rt_sigtimedwait"
	  " rt_sigqueueinfo rt_sigsuspend sigaltstack tkill tgkill signalfd signalfd4"
	  " rt_tgsigqueueinfo pidfd_send_signal io_uring_enter " },
	{ "%ipc", CP_TC_IPC,
	  " shmget shmat shmctl semget semop semctl shmdt msgget msgsnd msgrcv msgctl semtimedop " },
	{ "%creds", CP_TC_CREDS,
	  " getuid getgid setuid setgid geteuid getegid setreuid setregid getgroups setgroups"
	  " setresuid getresuid setresgid getresgid setfsuid setfsgid capget capset prctl " },
	{ "%clock", CP_TC_CLOCK,
	  " gettimeofday adjtimex settimeofday time clock_settime clock_gettime clock_getres"
	  " clock_adjtime " },
};

unsigned cp_trace_classes(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > 64 || strchr(name, ' '))
		return 0;
	char key[68] = " ";
	memcpy(key + 1, name, n);
	key[n + 1] = ' ';
	key[n + 2] = '\0';
	unsigned bits = 0;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strstr(classes[i].calls, key))
			bits |= classes[i].bit;
	return bits;
}

unsigned cp_trace_class_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (!strcmp(classes[i].name, name))
			return classes[i].bit;
	return 0;
}

const char *cp_trace_class_names(void)
{
	return "%file, %desc, %network, %process, %memory, %signal, %ipc, %creds, %clock";
}
