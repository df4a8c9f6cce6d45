/* decode.c - system call arguments as strace shows them.
 *
 * Each known call has a spec, one letter per argument (see kinds below):
 * what it is (file descriptor, path, flag set, buffer in or out...) and
 * so when it can be read: inputs at entry (a path, write's buffer,
 * execve's argv: after the call they may be gone), outputs at exit
 * (read's buffer, a stat structure, pipe's fds).  Without a memory
 * reader (the event engine) pointers print in hex and the rest still
 * decodes.  Calls without a spec print their raw arguments in hex.
 *
 * The decoded texts live in a per-thread slot until that thread's next
 * call. */
#include "trace/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sched.h>
#include <unistd.h>

#include "proc/proc.h"

/* argument kinds:
 *  d int   u unsigned   x hex   p pointer   F fd   D dirfd (AT_FDCWD)
 *  s path (in)   b buffer in, length next   B buffer out, length = ret
 *  O open flags  m mode (octal; after O only with O_CREAT/O_TMPFILE)
 *  P prot  M map flags  W whence  S signal  A address family
 *  T socket type  a sockaddr in, length next  R sockaddr out (accept)
 *  f futex op  i ioctl request  h sigprocmask how  k sigset in  K sigset out
 *  E epoll_ctl op  e epoll_event in  l pollfd array, count next
 *  t timespec in  v argv  n envp  w wait status out  X wait options
 *  C clone flags  Q access mode  c fcntl command  y struct stat out
 *  N sigaction in  q pipe fds out  L at flags  Z size (decimal unsigned) */
struct spec {
	const char *name;
	const char *args;
	char ret; /* 'd' decimal, 'x' hex, 'F' fd */
};

static const struct spec specs[] = {
	{ "read", "FBZ", 'd' },
	{ "write", "FbZ", 'd' },
	{ "pread64", "FBZd", 'd' },
	{ "pwrite64", "FbZd", 'd' },
	{ "readv", "FpZ", 'd' },
	{ "writev", "FpZ", 'd' },
	{ "open", "sOm", 'F' },
	{ "openat", "DsOm", 'F' },
	{ "creat", "sm", 'F' },
	{ "close", "F", 'd' },
	{ "lseek", "FdW", 'd' },
	{ "stat", "sy", 'd' },
	{ "lstat", "sy", 'd' },
	{ "fstat", "Fy", 'd' },
	{ "newfstatat", "DsyL", 'd' },
	{ "statx", "DsLxp", 'd' },
	{ "access", "sQ", 'd' },
	{ "faccessat", "DsQ", 'd' },
	{ "faccessat2", "DsQL", 'd' },
	{ "mmap", "pZPMFx", 'x' },
	{ "mprotect", "pZP", 'd' },
	{ "munmap", "pZ", 'd' },
	{ "brk", "p", 'x' },
	{ "socket", "ATd", 'F' },
	{ "connect", "Fau", 'd' },
	{ "bind", "Fau", 'd' },
	{ "listen", "Fd", 'd' },
	{ "accept", "FRp", 'F' },
	{ "accept4", "FRpx", 'F' },
	{ "sendto", "FbZxau", 'd' },
	{ "recvfrom", "FBZxpp", 'd' },
	{ "sendmsg", "Fpx", 'd' },
	{ "recvmsg", "Fpx", 'd' },
	{ "poll", "ldd", 'd' },
	{ "ppoll", "ldtkZ", 'd' },
	{ "epoll_create", "d", 'F' },
	{ "epoll_create1", "x", 'F' },
	{ "epoll_ctl", "FEFe", 'd' },
	{ "epoll_wait", "Fpdd", 'd' },
	{ "epoll_pwait", "FpddkZ", 'd' },
	{ "clone", "Cppp", 'd' },
	{ "clone3", "pZ", 'd' },
	{ "fork", "", 'd' },
	{ "vfork", "", 'd' },
	{ "execve", "svn", 'd' },
	{ "execveat", "DsvnL", 'd' },
	{ "wait4", "dwXp", 'd' },
	{ "exit", "d", 'd' },
	{ "exit_group", "d", 'd' },
	{ "kill", "dS", 'd' },
	{ "tkill", "dS", 'd' },
	{ "tgkill", "ddS", 'd' },
	{ "rt_sigaction", "SNpZ", 'd' },
	{ "rt_sigprocmask", "hkKZ", 'd' },
	{ "rt_sigreturn", "", 'd' },
	{ "futex", "pfdppd", 'd' },
	{ "ioctl", "Fix", 'd' },
	{ "nanosleep", "tp", 'd' },
	{ "clock_nanosleep", "ddtp", 'd' },
	{ "pipe", "q", 'd' },
	{ "pipe2", "qO", 'd' },
	{ "dup", "F", 'F' },
	{ "dup2", "FF", 'F' },
	{ "dup3", "FFO", 'F' },
	{ "fcntl", "Fcx", 'd' },
	{ "getdents64", "FpZ", 'd' },
	{ "getpid", "", 'd' },
	{ "getppid", "", 'd' },
	{ "gettid", "", 'd' },
	{ "getuid", "", 'd' },
	{ "geteuid", "", 'd' },
	{ "getgid", "", 'd' },
	{ "getegid", "", 'd' },
	{ "unlink", "s", 'd' },
	{ "unlinkat", "DsL", 'd' },
	{ "mkdir", "sm", 'd' },
	{ "mkdirat", "Dsm", 'd' },
	{ "chdir", "s", 'd' },
	{ "readlink", "sBZ", 'd' },
	{ "readlinkat", "DsBZ", 'd' },
	{ "rename", "ss", 'd' },
	{ "renameat2", "DsDsx", 'd' },
	{ "set_tid_address", "p", 'd' },
	{ "set_robust_list", "pZ", 'd' },
	{ "arch_prctl", "xp", 'd' },
	{ "prlimit64", "dxpp", 'd' },
	{ "rseq", "pZxx", 'd' },
	{ "getrandom", "BZx", 'd' },
	{ "madvise", "pZd", 'd' },
};

struct slot {
	struct cp_trace_arg a[CP_TRACE_MAX_ARGS];
	struct cp_trace_arg ret;
	char *text[CP_TRACE_MAX_ARGS + 1];
	char *bytes[CP_TRACE_MAX_ARGS + 1]; /* the last: the returned fd's path */
	bool entered;
	int nr;
};

struct cp_trace_decoder {
	struct cp_trace_opts o;
	struct cp_u64map slots; /* tid -> struct slot * */
	const struct spec *by_nr[CP_TRACE_MAX_NR];
	struct cp_buf b; /* scratch for one argument's text */
};

struct cp_trace_decoder *cp_trace_decoder_new(const struct cp_trace_opts *o)
{
	struct cp_trace_decoder *d = cp_xcalloc(1, sizeof(*d));
	d->o = *o;
	if (d->o.strsize <= 0)
		d->o.strsize = 32;
	cp_u64map_init(&d->slots);
	for (size_t i = 0; i < CP_ARRAY_SIZE(specs); i++) {
		long nr = cp_syscall_number(specs[i].name);
		if (nr >= 0 && nr < CP_TRACE_MAX_NR)
			d->by_nr[nr] = &specs[i];
	}
	return d;
}

static void slot_clear(struct slot *s)
{
	for (int i = 0; i <= CP_TRACE_MAX_ARGS; i++) {
		free(s->text[i]);
		s->text[i] = NULL;
	}
	for (int i = 0; i <= CP_TRACE_MAX_ARGS; i++) {
		free(s->bytes[i]);
		s->bytes[i] = NULL;
	}
	memset(s->a, 0, sizeof(s->a));
	memset(&s->ret, 0, sizeof(s->ret));
	s->entered = false;
}

void cp_trace_decode_forget(struct cp_trace_decoder *d, uint32_t tid)
{
	uint64_t *v = cp_u64map_find(&d->slots, tid);
	if (!v)
		return;
	struct slot *s = (struct slot *)(uintptr_t)*v;
	slot_clear(s);
	free(s);
	cp_u64map_del(&d->slots, tid);
}

void cp_trace_decoder_free(struct cp_trace_decoder *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->slots.cap; i++)
		if (d->slots.used && d->slots.used[i]) {
			struct slot *s = (struct slot *)(uintptr_t)d->slots.vals[i];
			slot_clear(s);
			free(s);
		}
	cp_u64map_release(&d->slots);
	cp_buf_release(&d->b);
	free(d);
}

static struct slot *slot_of(struct cp_trace_decoder *d, uint32_t tid)
{
	bool added;
	uint64_t *v = cp_u64map_upsert(&d->slots, tid, 0, &added);
	if (added)
		*v = (uint64_t)(uintptr_t)cp_xcalloc(1, sizeof(struct slot));
	return (struct slot *)(uintptr_t)*v;
}

/* ---- small formatting helpers ------------------------------------------- */

struct flag {
	uint64_t v;
	const char *name;
};

/* "A|B|0x40", or zero's name / "0" */
static void add_flags(struct cp_buf *b, uint64_t v, const struct flag *f, size_t n,
		      const char *zero)
{
	if (!v) {
		cp_buf_add_str(b, zero ? zero : "0");
		return;
	}
	bool first = true;
	for (size_t i = 0; i < n; i++)
		if (f[i].v && (v & f[i].v) == f[i].v) {
			cp_buf_printf(b, "%s%s", first ? "" : "|", f[i].name);
			first = false;
			v &= ~f[i].v;
		}
	if (v)
		cp_buf_printf(b, "%s%#llx", first ? "" : "|", (unsigned long long)v);
}

static const char *lookup(const struct flag *f, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].v == v)
			return f[i].name;
	return NULL;
}

#define F(x) { x, #x }

static const struct flag open_flags[] = {
	F(O_WRONLY), F(O_RDWR),	    F(O_CREAT),	   F(O_EXCL),	  F(O_NOCTTY),
	F(O_TRUNC),  F(O_APPEND),   F(O_NONBLOCK), F(O_DSYNC),	  F(O_ASYNC),
	F(O_DIRECT), F(O_LARGEFILE), F(O_DIRECTORY), F(O_NOFOLLOW), F(O_NOATIME),
	F(O_CLOEXEC), F(O_PATH),
};
static const struct flag prot_flags[] = { F(PROT_READ), F(PROT_WRITE), F(PROT_EXEC) };
static const struct flag map_flags[] = {
	F(MAP_SHARED),	  F(MAP_PRIVATE),   F(MAP_FIXED),     F(MAP_ANONYMOUS),
	F(MAP_GROWSDOWN), F(MAP_DENYWRITE), F(MAP_EXECUTABLE), F(MAP_LOCKED),
	F(MAP_NORESERVE), F(MAP_POPULATE),  F(MAP_NONBLOCK),  F(MAP_STACK),
	F(MAP_HUGETLB),	  F(MAP_FIXED_NOREPLACE),
};
static const struct flag clone_flags[] = {
	F(CLONE_VM),	     F(CLONE_FS),	    F(CLONE_FILES),	  F(CLONE_SIGHAND),
	F(CLONE_PIDFD),	     F(CLONE_PTRACE),	    F(CLONE_VFORK),	  F(CLONE_PARENT),
	F(CLONE_THREAD),     F(CLONE_NEWNS),	    F(CLONE_SYSVSEM),	  F(CLONE_SETTLS),
	F(CLONE_PARENT_SETTID), F(CLONE_CHILD_CLEARTID), F(CLONE_DETACHED), F(CLONE_UNTRACED),
	F(CLONE_CHILD_SETTID), F(CLONE_NEWCGROUP),  F(CLONE_NEWUTS),	  F(CLONE_NEWIPC),
	F(CLONE_NEWUSER),    F(CLONE_NEWPID),	    F(CLONE_NEWNET),	  F(CLONE_IO),
};
static const struct flag at_flags[] = {
	F(AT_SYMLINK_NOFOLLOW), F(AT_REMOVEDIR), F(AT_SYMLINK_FOLLOW), F(AT_NO_AUTOMOUNT),
	F(AT_EMPTY_PATH),	F(AT_EACCESS),
};
static const struct flag access_flags[] = { F(R_OK), F(W_OK), F(X_OK) };
static const struct flag wait_flags[] = { F(WNOHANG), F(WUNTRACED), F(WCONTINUED), F(__WALL),
					  F(__WCLONE), F(__WNOTHREAD) };
static const struct flag poll_flags[] = { F(POLLIN), F(POLLPRI), F(POLLOUT), F(POLLERR),
					  F(POLLHUP), F(POLLNVAL), F(POLLRDNORM), F(POLLWRNORM),
					  F(POLLRDHUP) };
static const struct flag epoll_flags[] = { F(EPOLLIN), F(EPOLLPRI), F(EPOLLOUT), F(EPOLLERR),
					   F(EPOLLHUP), F(EPOLLRDHUP), F(EPOLLET), F(EPOLLONESHOT),
					   F(EPOLLEXCLUSIVE) };
static const struct flag families[] = { F(AF_UNSPEC), F(AF_UNIX), F(AF_INET), F(AF_INET6),
					F(AF_NETLINK), F(AF_PACKET) };
static const struct flag sock_types[] = { F(SOCK_STREAM), F(SOCK_DGRAM), F(SOCK_RAW),
					  F(SOCK_SEQPACKET) };
static const struct flag whences[] = { F(SEEK_SET), F(SEEK_CUR), F(SEEK_END), F(SEEK_DATA),
				       F(SEEK_HOLE) };
static const struct flag fcntl_cmds[] = {
	F(F_DUPFD), F(F_GETFD), F(F_SETFD), F(F_GETFL), F(F_SETFL), F(F_GETLK), F(F_SETLK),
	F(F_SETLKW), F(F_SETOWN), F(F_GETOWN), F(F_DUPFD_CLOEXEC), F(F_SETPIPE_SZ),
	F(F_GETPIPE_SZ), F(F_OFD_GETLK), F(F_OFD_SETLK), F(F_OFD_SETLKW),
};
static const struct flag epoll_ops[] = { F(EPOLL_CTL_ADD), F(EPOLL_CTL_DEL), F(EPOLL_CTL_MOD) };
static const struct flag how_ops[] = { F(SIG_BLOCK), F(SIG_UNBLOCK), F(SIG_SETMASK) };
static const struct flag futex_ops[] = {
	F(FUTEX_WAIT),	     F(FUTEX_WAKE),	    F(FUTEX_FD),	   F(FUTEX_REQUEUE),
	F(FUTEX_CMP_REQUEUE), F(FUTEX_WAKE_OP),	    F(FUTEX_LOCK_PI),	   F(FUTEX_UNLOCK_PI),
	F(FUTEX_TRYLOCK_PI), F(FUTEX_WAIT_BITSET), F(FUTEX_WAKE_BITSET), F(FUTEX_WAIT_REQUEUE_PI),
	F(FUTEX_CMP_REQUEUE_PI), F(FUTEX_LOCK_PI2),
};
static const struct flag ioctls[] = {
	{ 0x5401, "TCGETS" },	  { 0x5402, "TCSETS" },	    { 0x5403, "TCSETSW" },
	{ 0x540f, "TIOCGPGRP" },  { 0x5410, "TIOCSPGRP" },  { 0x5413, "TIOCGWINSZ" },
	{ 0x5414, "TIOCSWINSZ" }, { 0x541b, "FIONREAD" },   { 0x5421, "FIONBIO" },
	{ 0x5451, "FIOCLEX" },	  { 0x5450, "FIONCLEX" },
};

/* ---- memory ------------------------------------------------------------- */

static ssize_t rd(const struct cp_trace_mem *m, uint32_t tid, uint64_t addr, void *buf, size_t len)
{
	if (!m || !m->read || !addr)
		return -1;
	return m->read(m->arg, tid, addr, buf, len);
}

static bool rd_all(const struct cp_trace_mem *m, uint32_t tid, uint64_t addr, void *buf, size_t len)
{
	return rd(m, tid, addr, buf, len) == (ssize_t)len;
}

static void add_ptr(struct cp_buf *b, uint64_t p)
{
	if (p)
		cp_buf_printf(b, "%#llx", (unsigned long long)p);
	else
		cp_buf_add_str(b, "NULL");
}

/* A NUL-terminated string of at most max bytes; *trunc when it goes on. */
static char *rd_str(const struct cp_trace_mem *m, uint32_t tid, uint64_t addr, size_t max,
		    size_t *len, bool *trunc)
{
	char *s = cp_xmalloc(max + 1);
	size_t n = 0;
	*trunc = false;
	while (n < max + 1) {
		/* up to the end of the page: the next one may be unmapped */
		size_t chunk = 4096 - ((addr + n) & 4095);
		if (chunk > max + 1 - n)
			chunk = max + 1 - n;
		ssize_t r = rd(m, tid, addr + n, s + n, chunk);
		if (r <= 0)
			break;
		char *z = memchr(s + n, 0, (size_t)r);
		if (z) {
			*len = (size_t)(z - s);
			return s;
		}
		n += (size_t)r;
	}
	if (n == 0) {
		free(s);
		return NULL;
	}
	if (n > max) {
		n = max;
		*trunc = true;
	}
	*len = n;
	return s;
}

/* ---- argument kinds ----------------------------------------------------- */

static void sigset_text(struct cp_buf *b, uint64_t set)
{
	cp_buf_add_u8(b, '[');
	bool first = true;
	for (int s = 1; s <= 64; s++)
		if (set & (1ull << (s - 1))) {
			const char *n = s < SIGRTMIN ? sigabbrev_np(s) : NULL;
			if (n)
				cp_buf_printf(b, "%s%s", first ? "" : " ", n);
			else
				cp_buf_printf(b, "%s%d", first ? "" : " ", s);
			first = false;
		}
	cp_buf_add_u8(b, ']');
}

static void mode_text(struct cp_buf *b, uint64_t mode, bool type)
{
	if (type) {
		const char *t = S_ISREG(mode)    ? "S_IFREG"
				: S_ISDIR(mode)  ? "S_IFDIR"
				: S_ISCHR(mode)  ? "S_IFCHR"
				: S_ISBLK(mode)  ? "S_IFBLK"
				: S_ISFIFO(mode) ? "S_IFIFO"
				: S_ISLNK(mode)  ? "S_IFLNK"
				: S_ISSOCK(mode) ? "S_IFSOCK"
						 : NULL;
		if (t)
			cp_buf_printf(b, "%s|", t);
	}
	cp_buf_printf(b, "%#04llo", (unsigned long long)(mode & 07777));
}

static void sockaddr_text(struct cp_buf *b, const uint8_t *sa, size_t len)
{
	uint16_t fam;
	if (len < 2) {
		cp_buf_add_str(b, "{...}");
		return;
	}
	memcpy(&fam, sa, 2);
	const char *fn = lookup(families, CP_ARRAY_SIZE(families), fam);
	if (fn)
		cp_buf_printf(b, "{sa_family=%s", fn);
	else
		cp_buf_printf(b, "{sa_family=%u", fam);
	char ip[64];
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, sa, sizeof(in));
		inet_ntop(AF_INET, &in.sin_addr, ip, sizeof(ip));
		cp_buf_printf(b, ", sin_port=htons(%u), sin_addr=inet_addr(\"%s\")}", ntohs(in.sin_port), ip);
	} else if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in;
		memcpy(&in, sa, sizeof(in));
		inet_ntop(AF_INET6, &in.sin6_addr, ip, sizeof(ip));
		cp_buf_printf(b, ", sin6_port=htons(%u), sin6_addr=inet_pton(\"%s\")}", ntohs(in.sin6_port), ip);
	} else if (fam == AF_UNIX) {
		size_t n = len > 2 ? strnlen((const char *)sa + 2, len - 2) : 0;
		if (n == 0 && len > 3) /* abstract */
			cp_buf_printf(b, ", sun_path=@\"%.*s\"}", (int)strnlen((const char *)sa + 3, len - 3),
			    (const char *)sa + 3);
		else
			cp_buf_printf(b, ", sun_path=\"%.*s\"}", (int)n, (const char *)sa + 2);
	} else {
		cp_buf_add_str(b, ", ...}");
	}
}

static char *fd_path(uint32_t pid, int64_t fd)
{
	if (fd < 0)
		return NULL;
	char link[64], target[4096];
	snprintf(link, sizeof(link), "/proc/%u/fd/%lld", pid, (long long)fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = 0;
	return cp_xstrdup(target);
}

/* Whether kind k is read at exit (an output). */
static bool is_output(char k)
{
	return strchr("BRKwyq", k) != NULL;
}

/* Render argument i (kind k) of c into slot s. */
static void render(struct cp_trace_decoder *d, struct slot *s, const struct cp_trace_call *c,
		   const struct cp_trace_mem *m, int i, char k)
{
	struct cp_buf *b = &d->b;
	b->len = 0;
	uint64_t v = c->args[i];
	int64_t sv = (int64_t)v;
	struct cp_trace_arg *a = &s->a[i];
	a->kind = CP_TA_SYM;
	uint32_t tid = c->tid;
	switch (k) {
	case 'd':
		cp_buf_printf(b, "%d", (int)sv);
		a->kind = CP_TA_NUM;
		break;
	case 'u':
	case 'Z':
		cp_buf_printf(b, "%llu", (unsigned long long)v);
		a->kind = CP_TA_NUM;
		break;
	case 'x':
		cp_buf_printf(b, "%#llx", (unsigned long long)v);
		break;
	case 'p':
		add_ptr(b, v);
		break;
	case 'D':
		if ((int)sv == AT_FDCWD) {
			cp_buf_add_str(b, "AT_FDCWD");
			break;
		}
		/* fall through */
	case 'F':
		cp_buf_printf(b, "%d", (int)sv);
		a->kind = CP_TA_NUM;
		if (d->o.paths)
			a->path = s->bytes[i] = fd_path(c->pid, (int)sv);
		break;
	case 's':
	case 'b':
	case 'B': {
		size_t max = (size_t)d->o.strsize, len = 0;
		bool trunc = false;
		char *str = NULL;
		if (k == 's') {
			str = rd_str(m, tid, v, max, &len, &trunc);
		} else {
			int64_t want = k == 'b' ? (int64_t)c->args[i + 1] : c->ret;
			if (want > 0 && m) {
				size_t n = (size_t)want < max ? (size_t)want : max;
				str = cp_xmalloc(n + 1);
				if (rd_all(m, tid, v, str, n)) {
					len = n;
					trunc = (size_t)want > max;
				} else {
					free(str);
					str = NULL;
				}
			} else if (want <= 0 && m && v) {
				str = cp_xstrdup("");
			}
		}
		if (!str) {
			add_ptr(b, v);
			break;
		}
		a->kind = CP_TA_STR;
		a->s = s->bytes[i] = str;
		a->len = len;
		a->truncated = trunc;
		return;
	}
	case 'O': {
		/* the access mode first, as strace: O_RDONLY|O_CLOEXEC */
		uint64_t acc = v & O_ACCMODE, rest = v & ~(uint64_t)O_ACCMODE & ~(uint64_t)O_LARGEFILE;
		cp_buf_add_str(b, acc == O_WRONLY ? "O_WRONLY" : acc == O_RDWR ? "O_RDWR" : "O_RDONLY");
		if (rest) {
			cp_buf_add_u8(b, '|');
			add_flags(b, rest, open_flags, CP_ARRAY_SIZE(open_flags), NULL);
		}
		break;
	}
	case 'm':
		mode_text(b, v, false);
		break;
	case 'P':
		add_flags(b, v, prot_flags, CP_ARRAY_SIZE(prot_flags), "PROT_NONE");
		break;
	case 'M':
		add_flags(b, v, map_flags, CP_ARRAY_SIZE(map_flags), NULL);
		break;
	case 'W': {
		const char *w = lookup(whences, CP_ARRAY_SIZE(whences), v);
		w ? cp_buf_add_str(b, w) : cp_buf_printf(b, "%d", (int)v);
		break;
	}
	case 'S': {
		const char *n = (int)v > 0 && (int)v < SIGRTMIN ? sigabbrev_np((int)v) : NULL;
		if (n)
			cp_buf_printf(b, "SIG%s", n);
		else
			cp_buf_printf(b, "%d", (int)v);
		break;
	}
	case 'A': {
		const char *n = lookup(families, CP_ARRAY_SIZE(families), v);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%d", (int)v);
		break;
	}
	case 'T': {
		const char *n = lookup(sock_types, CP_ARRAY_SIZE(sock_types), v & 0xf);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%d", (int)(v & 0xf));
		if (v & SOCK_CLOEXEC)
			cp_buf_add_str(b, "|SOCK_CLOEXEC");
		if (v & SOCK_NONBLOCK)
			cp_buf_add_str(b, "|SOCK_NONBLOCK");
		break;
	}
	case 'a':
	case 'R': {
		uint8_t sa[128];
		uint64_t len = c->args[i + 1];
		if (k == 'R') { /* accept: the length is in memory */
			uint32_t l32;
			len = v && rd_all(m, tid, c->args[i + 1], &l32, 4) ? l32 : 0;
		}
		if (len > sizeof(sa))
			len = sizeof(sa);
		if (v && len && rd_all(m, tid, v, sa, (size_t)len))
			sockaddr_text(b, sa, (size_t)len);
		else
			add_ptr(b, v);
		break;
	}
	case 'f': {
		int op = (int)v & FUTEX_CMD_MASK;
		const char *n = lookup(futex_ops, CP_ARRAY_SIZE(futex_ops), (uint64_t)op);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%d", op);
		if (v & FUTEX_PRIVATE_FLAG)
			cp_buf_add_str(b, "_PRIVATE");
		if (v & FUTEX_CLOCK_REALTIME)
			cp_buf_add_str(b, "|FUTEX_CLOCK_REALTIME");
		break;
	}
	case 'i': {
		const char *n = lookup(ioctls, CP_ARRAY_SIZE(ioctls), (uint32_t)v);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%#x", (unsigned)v);
		break;
	}
	case 'h': {
		const char *n = lookup(how_ops, CP_ARRAY_SIZE(how_ops), v);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%d", (int)v);
		break;
	}
	case 'k':
	case 'K': {
		uint64_t set;
		if (v && rd_all(m, tid, v, &set, 8))
			sigset_text(b, set);
		else
			add_ptr(b, v);
		break;
	}
	case 'E': {
		const char *n = lookup(epoll_ops, CP_ARRAY_SIZE(epoll_ops), v);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%d", (int)v);
		break;
	}
	case 'e': {
		struct epoll_event ev;
		if (v && rd_all(m, tid, v, &ev, sizeof(ev))) {
			cp_buf_add_str(b, "{events=");
			add_flags(b, ev.events, epoll_flags, CP_ARRAY_SIZE(epoll_flags), NULL);
			cp_buf_printf(b, ", data=%#llx}", (unsigned long long)ev.data.u64);
		} else {
			add_ptr(b, v);
		}
		break;
	}
	case 'l': {
		uint64_t n = c->args[i + 1];
		if (!v || !m || n > 1024) {
			add_ptr(b, v);
			break;
		}
		cp_buf_add_u8(b, '[');
		for (uint64_t j = 0; j < n && j < 16; j++) {
			struct pollfd p;
			if (!rd_all(m, tid, v + j * sizeof(p), &p, sizeof(p)))
				break;
			cp_buf_printf(b, "%s{fd=%d, events=", j ? ", " : "", p.fd);
			add_flags(b, (uint16_t)p.events, poll_flags, CP_ARRAY_SIZE(poll_flags), NULL);
			cp_buf_add_u8(b, '}');
		}
		if (n > 16)
			cp_buf_add_str(b, ", ...");
		cp_buf_add_u8(b, ']');
		break;
	}
	case 't': {
		struct timespec ts;
		if (v && rd_all(m, tid, v, &ts, sizeof(ts)))
			cp_buf_printf(b, "{tv_sec=%lld, tv_nsec=%ld}", (long long)ts.tv_sec, ts.tv_nsec);
		else
			add_ptr(b, v);
		break;
	}
	case 'v': {
		if (!v || !m) {
			add_ptr(b, v);
			break;
		}
		cp_buf_add_u8(b, '[');
		for (int j = 0; j < 32; j++) {
			uint64_t p;
			if (!rd_all(m, tid, v + (uint64_t)j * 8, &p, 8) || !p)
				break;
			if (j == 31) {
				cp_buf_add_str(b, ", ...");
				break;
			}
			size_t len;
			bool trunc;
			char *str = rd_str(m, tid, p, (size_t)d->o.strsize, &len, &trunc);
			cp_buf_add_str(b, j ? ", \"" : "\"");
			for (size_t q = 0; str && q < len; q++) {
				unsigned char ch = (unsigned char)str[q];
				if (ch == '"' || ch == '\\')
					cp_buf_printf(b, "\\%c", ch);
				else if (ch >= 0x20 && ch < 0x7f)
					cp_buf_add_u8(b, ch);
				else
					cp_buf_printf(b, "\\%o", ch);
			}
			cp_buf_add_str(b, trunc ? "\"..." : "\"");
			free(str);
		}
		cp_buf_add_u8(b, ']');
		break;
	}
	case 'n': {
		int count = 0;
		for (; m && v && count < 100000; count++) {
			uint64_t p;
			if (!rd_all(m, tid, v + (uint64_t)count * 8, &p, 8) || !p)
				break;
		}
		add_ptr(b, v);
		if (m && v)
			cp_buf_printf(b, " /* %d vars */", count);
		break;
	}
	case 'w': {
		int st;
		if (v && c->ret > 0 && rd_all(m, tid, v, &st, 4)) {
			if (WIFEXITED(st))
				cp_buf_printf(b, "[{WIFEXITED(s) && WEXITSTATUS(s) == %d}]", WEXITSTATUS(st));
			else if (WIFSIGNALED(st))
				cp_buf_printf(b, "[{WIFSIGNALED(s) && WTERMSIG(s) == SIG%s%s}]",
				    sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
				    WCOREDUMP(st) ? " && WCOREDUMP(s)" : "");
			else if (WIFSTOPPED(st))
				cp_buf_printf(b, "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIG%s}]",
				    sigabbrev_np(WSTOPSIG(st)) ? sigabbrev_np(WSTOPSIG(st)) : "?");
			else
				cp_buf_printf(b, "[%#x]", st);
		} else {
			add_ptr(b, v);
		}
		break;
	}
	case 'X':
		add_flags(b, v, wait_flags, CP_ARRAY_SIZE(wait_flags), NULL);
		break;
	case 'C':
		add_flags(b, v & ~0xffull, clone_flags, CP_ARRAY_SIZE(clone_flags), NULL);
		if (v & 0xff) {
			const char *n = sigabbrev_np((int)(v & 0xff));
			cp_buf_printf(b, "%sSIG%s", (v & ~0xffull) ? "|" : "", n ? n : "?");
		}
		break;
	case 'Q':
		add_flags(b, v, access_flags, CP_ARRAY_SIZE(access_flags), "F_OK");
		break;
	case 'c': {
		const char *n = lookup(fcntl_cmds, CP_ARRAY_SIZE(fcntl_cmds), v);
		n ? cp_buf_add_str(b, n) : cp_buf_printf(b, "%d", (int)v);
		break;
	}
	case 'L':
		add_flags(b, v, at_flags, CP_ARRAY_SIZE(at_flags), NULL);
		break;
	case 'y': {
		struct stat st;
		if (v && c->ret == 0 && rd_all(m, tid, v, &st, sizeof(st))) {
			cp_buf_add_str(b, "{st_mode=");
			mode_text(b, st.st_mode, true);
			cp_buf_printf(b, ", st_size=%lld, ...}", (long long)st.st_size);
		} else {
			add_ptr(b, v);
		}
		break;
	}
	case 'N': {
		struct {
			uint64_t handler, flags, restorer, mask;
		} sa;
		if (v && rd_all(m, tid, v, &sa, sizeof(sa))) {
			cp_buf_add_str(b, "{sa_handler=");
			if (sa.handler == (uint64_t)(uintptr_t)SIG_DFL)
				cp_buf_add_str(b, "SIG_DFL");
			else if (sa.handler == (uint64_t)(uintptr_t)SIG_IGN)
				cp_buf_add_str(b, "SIG_IGN");
			else
				cp_buf_printf(b, "%#llx", (unsigned long long)sa.handler);
			cp_buf_add_str(b, ", sa_mask=");
			sigset_text(b, sa.mask);
			cp_buf_printf(b, ", sa_flags=%#llx}", (unsigned long long)sa.flags);
		} else {
			add_ptr(b, v);
		}
		break;
	}
	case 'q': {
		int fds[2];
		if (v && c->ret == 0 && rd_all(m, tid, v, fds, sizeof(fds)))
			cp_buf_printf(b, "[%d, %d]", fds[0], fds[1]);
		else
			add_ptr(b, v);
		break;
	}
	default:
		cp_buf_printf(b, "%#llx", (unsigned long long)v);
		break;
	}
	cp_buf_add_u8(b, 0);
	free(s->text[i]);
	s->text[i] = cp_xstrdup((const char *)b->p);
	a->text = s->text[i];
}

static const struct spec *spec_of(const struct cp_trace_decoder *d, int nr)
{
	return nr >= 0 && nr < CP_TRACE_MAX_NR ? d->by_nr[nr] : NULL;
}

void cp_trace_decode_enter(struct cp_trace_decoder *d, struct cp_trace_call *c,
			   const struct cp_trace_mem *mem)
{
	struct slot *s = slot_of(d, c->tid);
	slot_clear(s);
	s->entered = true;
	s->nr = c->nr;
	const struct spec *sp = spec_of(d, c->nr);
	if (!sp)
		return;
	for (int i = 0; sp->args[i] && i < CP_TRACE_MAX_ARGS; i++)
		if (!is_output(sp->args[i]))
			render(d, s, c, mem, i, sp->args[i]);
}

void cp_trace_decode_exit(struct cp_trace_decoder *d, struct cp_trace_call *c,
			  const struct cp_trace_mem *mem)
{
	struct slot *s = slot_of(d, c->tid);
	const struct spec *sp = spec_of(d, c->nr);
	if (!s->entered || s->nr != c->nr) {
		/* no entry seen (the exec's return): decode what is left */
		cp_trace_decode_enter(d, c, c->nr == cp_syscall_number("execve") ? NULL : mem);
	}
	s->entered = false;
	if (!sp) {
		/* raw: the arguments in hex, trailing zeros left out */
		int n = CP_TRACE_MAX_ARGS;
		while (n > 0 && !c->args[n - 1])
			n--;
		for (int i = 0; i < n; i++) {
			char t[32];
			snprintf(t, sizeof(t), "%#llx", (unsigned long long)c->args[i]);
			free(s->text[i]);
			s->text[i] = cp_xstrdup(t);
			s->a[i] = (struct cp_trace_arg){ .kind = CP_TA_SYM, .text = s->text[i] };
		}
		c->nargs = n;
		c->dargs = s->a;
		c->dret = NULL;
		return;
	}
	int n = (int)strlen(sp->args);
	for (int i = 0; i < n; i++) {
		char k = sp->args[i];
		bool failed = c->returned && c->ret < 0 && c->ret >= -4095;
		if (is_output(k)) {
			if (c->returned && !failed)
				render(d, s, c, mem, i, k);
			else
				render(d, s, c, NULL, i, 'p');
		}
	}
	/* openat's mode only with O_CREAT or O_TMPFILE, as strace */
	const char *m = strchr(sp->args, 'm');
	if (m && m > sp->args && m[-1] == 'O') {
		uint64_t fl = c->args[m - sp->args - 1];
		if (!(fl & O_CREAT) && (fl & O_TMPFILE) != O_TMPFILE)
			n--;
	}
	c->nargs = n;
	c->dargs = s->a;
	c->dret = NULL;
	if (c->returned && !(c->ret < 0 && c->ret >= -4095)) {
		if (sp->ret == 'x') {
			char t[32];
			snprintf(t, sizeof(t), "%#llx", (unsigned long long)c->ret);
			free(s->text[CP_TRACE_MAX_ARGS]);
			s->text[CP_TRACE_MAX_ARGS] = cp_xstrdup(t);
			s->ret = (struct cp_trace_arg){ .kind = CP_TA_SYM,
							.text = s->text[CP_TRACE_MAX_ARGS] };
			c->dret = &s->ret;
		} else if (sp->ret == 'F' && d->o.paths) {
			char t[32];
			snprintf(t, sizeof(t), "%lld", (long long)c->ret);
			free(s->text[CP_TRACE_MAX_ARGS]);
			s->text[CP_TRACE_MAX_ARGS] = cp_xstrdup(t);
			/* the returned fd's path: kept in the slot's text of the return */
			char *path = fd_path(c->pid, c->ret);
			s->ret = (struct cp_trace_arg){ .kind = CP_TA_NUM,
							.text = s->text[CP_TRACE_MAX_ARGS] };
			free(s->bytes[CP_TRACE_MAX_ARGS]);
			s->bytes[CP_TRACE_MAX_ARGS] = path;
			s->ret.path = path;
			c->dret = &s->ret;
		}
	}
}

/* ---- names -------------------------------------------------------------- */

const char *cp_trace_syscall_name(int nr, char *buf, size_t size)
{
	const char *n = cp_syscall_name(nr);
	if (n)
		return n;
	snprintf(buf, size, "syscall_%d", nr);
	return buf;
}

const char *cp_trace_signame(int signo, char *buf, size_t size)
{
	const char *n = signo > 0 && signo < SIGRTMIN ? sigabbrev_np(signo) : NULL;
	if (n)
		snprintf(buf, size, "SIG%s", n);
	else if (signo >= SIGRTMIN && signo <= SIGRTMAX)
		snprintf(buf, size, "SIGRT_%d", signo - SIGRTMIN);
	else
		snprintf(buf, size, "SIG%d", signo);
	return buf;
}

const char *cp_trace_errno_name(int e)
{
	return strerrorname_np(e);
}

static const char *code_name(const siginfo_t *si)
{
	switch (si->si_code) {
	case SI_USER:
		return "SI_USER";
	case SI_KERNEL:
		return "SI_KERNEL";
	case SI_QUEUE:
		return "SI_QUEUE";
	case SI_TIMER:
		return "SI_TIMER";
	case SI_TKILL:
		return "SI_TKILL";
	}
	if (si->si_signo == SIGCHLD)
		switch (si->si_code) {
		case CLD_EXITED:
			return "CLD_EXITED";
		case CLD_KILLED:
			return "CLD_KILLED";
		case CLD_DUMPED:
			return "CLD_DUMPED";
		case CLD_TRAPPED:
			return "CLD_TRAPPED";
		case CLD_STOPPED:
			return "CLD_STOPPED";
		case CLD_CONTINUED:
			return "CLD_CONTINUED";
		}
	if (si->si_signo == SIGSEGV)
		switch (si->si_code) {
		case SEGV_MAPERR:
			return "SEGV_MAPERR";
		case SEGV_ACCERR:
			return "SEGV_ACCERR";
		}
	return NULL;
}

const char *cp_trace_siginfo(const siginfo_t *si, char *buf, size_t size)
{
	char sb[32], cb[16];
	const char *code = code_name(si);
	if (!code) {
		snprintf(cb, sizeof(cb), "%d", si->si_code);
		code = cb;
	}
	int n = snprintf(buf, size, "si_signo=%s, si_code=%s",
			 cp_trace_signame(si->si_signo, sb, sizeof(sb)), code);
	if (n < 0 || (size_t)n >= size)
		return buf;
	if (si->si_signo == SIGCHLD && si->si_code > 0)
		snprintf(buf + n, size - (size_t)n,
			 ", si_pid=%d, si_uid=%u, si_status=%d, si_utime=%ld, si_stime=%ld",
			 (int)si->si_pid, (unsigned)si->si_uid, si->si_status, (long)si->si_utime,
			 (long)si->si_stime);
	else if (si->si_code <= 0 || si->si_code == SI_USER)
		snprintf(buf + n, size - (size_t)n, ", si_pid=%d, si_uid=%u", (int)si->si_pid,
			 (unsigned)si->si_uid);
	else if (si->si_signo == SIGSEGV || si->si_signo == SIGBUS || si->si_signo == SIGILL ||
		 si->si_signo == SIGFPE)
		snprintf(buf + n, size - (size_t)n, ", si_addr=%p", si->si_addr);
	return buf;
}
