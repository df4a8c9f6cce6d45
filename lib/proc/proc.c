/* proc.c - spawning the profiled command and reading /proc.  The spawn
 * handshake (a "go" pipe and a close-on-exec error pipe) lets the recorder
 * open its counters on the child before exec, so the program's first
 * instructions are sampled, and tells a missing command apart from a
 * program that exits 127 on its own. */
#include "proc/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int xpidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int cp_proc_spawn(char *const argv[], struct cp_child *c, struct cp_error *err)
{
	int go[2], ep[2];
	c->pid = -1;
	c->go_fd = c->err_fd = c->pidfd = -1;
	if (pipe2(go, O_CLOEXEC) < 0)
		return cp_error_errno(err, CP_E_FAIL, errno, "cannot create a pipe");
	if (pipe2(ep, O_CLOEXEC) < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		return cp_error_errno(err, CP_E_FAIL, e, "cannot create a pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		close(ep[0]);
		close(ep[1]);
		return cp_error_errno(err, CP_E_FAIL, e, "cannot fork");
	}
	if (pid == 0) {
		char b;
		close(go[1]);
		close(ep[0]);
		/* the signal dispositions of the recorder are not the program's */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		close(go[0]);
		execvp(argv[0], argv);
		int e = errno;
		ssize_t w = write(ep[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(go[0]);
	close(ep[1]);
	c->pid = pid;
	c->go_fd = go[1];
	c->err_fd = ep[0];
	c->pidfd = xpidfd_open(pid);
	return 0;
}

/* The executable argv0 names (PATH lookup as execvp does), malloc'ed, or
 * NULL with errno (EACCES when one was found but is not executable). */
static char *find_exec(const char *argv0)
{
	if (strchr(argv0, '/')) {
		if (access(argv0, X_OK) == 0)
			return cp_xstrdup(argv0);
		return NULL;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int seen_eacces = 0;
	while (*path) {
		size_t n = strcspn(path, ":");
		char buf[4096];
		snprintf(buf, sizeof(buf), "%.*s/%s", n ? (int)n : 1, n ? path : ".", argv0);
		if (access(buf, X_OK) == 0)
			return cp_xstrdup(buf);
		if (errno == EACCES)
			seen_eacces = 1;
		path += n;
		if (*path == ':')
			path++;
	}
	errno = seen_eacces ? EACCES : ENOENT;
	return NULL;
}

char *cp_proc_find_exec(const char *argv0)
{
	return *argv0 ? find_exec(argv0) : NULL;
}

int cp_proc_check_exec(const char *argv0, struct cp_error *err)
{
	if (!*argv0)
		return cp_error_set(err, CP_E_NOENT, "cannot run '': empty command name");
	char *p = find_exec(argv0);
	if (p) {
		free(p);
		return 0;
	}
	if (strchr(argv0, '/'))
		return cp_error_errno(err, errno == EACCES ? CP_E_PERM : CP_E_NOENT, errno,
				      "cannot run '%s'", argv0);
	if (errno == EACCES)
		return cp_error_set(err, CP_E_PERM, "cannot run '%s': Permission denied", argv0);
	return cp_error_set(err, CP_E_NOENT, "cannot run '%s': command not found", argv0);
}

int cp_proc_release(struct cp_child *c, char *const argv[], struct cp_error *err)
{
	int e = 0;
	close(c->go_fd);
	c->go_fd = -1;
	ssize_t r;
	while ((r = read(c->err_fd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(c->err_fd);
	c->err_fd = -1;
	if (r == (ssize_t)sizeof(e)) {
		int st;
		while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
		return cp_error_errno(err, e == EACCES ? CP_E_PERM : CP_E_NOENT, e,
				      "cannot run '%s'", argv[0]);
	}
	return 0;
}

int cp_proc_try_wait(struct cp_child *c, int *status)
{
	if (c->pid <= 0)
		return 0;
	pid_t r = waitpid(c->pid, status, WNOHANG);
	if (r == c->pid) {
		c->pid = -1;
		return 1;
	}
	return 0;
}

void cp_proc_close(struct cp_child *c)
{
	if (c->go_fd >= 0)
		close(c->go_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->go_fd = c->err_fd = c->pidfd = -1;
}

int cp_proc_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int cp_proc_maps(pid_t pid, int (*fn)(const struct cp_proc_map *m, void *arg), void *arg,
		 struct cp_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return cp_error_errno(err, errno == ENOENT ? CP_E_NOENT : CP_E_FAIL, errno,
				      "cannot read '%s'", path);
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (getline(&line, &cap, f) > 0) {
		struct cp_proc_map m;
		int pos = 0;
		unsigned long long s, e, off;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s%n", &s, &e, m.perms, &off, &pos) < 4)
			continue;
		char *p = line + pos;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\n")] = '\0';
		m.start = s;
		m.end = e;
		m.pgoff = off;
		m.path = p;
		if ((rc = fn(&m, arg)) != 0)
			break;
	}
	free(line);
	fclose(f);
	return rc < 0 ? rc : 0;
}

void cp_proc_comm(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[80];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	char *s = cp_read_file(path, NULL);
	buf[0] = '\0';
	if (!s)
		return;
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, size, "%s", s);
	free(s);
}

bool cp_proc_exists(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

bool cp_proc_status_field(pid_t pid, const char *key, bool last, long *out)
{
	char path[64], pat[40];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(pat, sizeof(pat), "\n%s:", key);
	char *st = cp_read_file(path, NULL);
	const char *p = st ? strstr(st, pat) : NULL;
	bool found = false;
	if (p) {
		/* the numbers on the line: "NSpid:\t4242\t1" */
		char *q = (char *)p + strlen(pat), *e;
		for (;;) {
			long v = strtol(q, &e, 10);
			if (e == q || !strchr(" \t", *q))
				break;
			*out = v;
			found = true;
			if (!last)
				break;
			q = e;
		}
	}
	free(st);
	return found;
}

static bool same_link(const char *a, const char *b)
{
	char x[128], y[128];
	ssize_t n1 = readlink(a, x, sizeof(x));
	ssize_t n2 = readlink(b, y, sizeof(y));
	return n1 <= 0 || n2 <= 0 || (n1 == n2 && !memcmp(x, y, (size_t)n1));
}

void cp_proc_root_get(pid_t pid, struct cp_proc_root *r)
{
	char path[64];
	memset(r, 0, sizeof(*r));
	r->nspid = (uint32_t)pid;
	/* NSpid: the pid in each nested namespace, innermost last */
	long inner;
	if (cp_proc_status_field(pid, "NSpid", true, &inner))
		r->nspid = (uint32_t)inner;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	bool other_ns = !same_link(path, "/proc/self/ns/mnt");
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	ssize_t n = readlink(path, r->prefix, sizeof(r->prefix) - 1);
	if (n <= 0 || n == sizeof(r->prefix) - 1 || r->prefix[0] != '/')
		n = 0; /* gone, unreadable, or too long to be a prefix we strip */
	r->prefix[n] = '\0';
	if (n == 1)
		r->prefix[0] = '\0';
	r->foreign = other_ns || r->prefix[0];
}

const char *cp_proc_root_maps_path(const struct cp_proc_root *r, const char *path)
{
	if (!r->prefix[0])
		return path;
	size_t n = strlen(r->prefix);
	if (strncmp(path, r->prefix, n) || path[n] != '/')
		return NULL;
	return path + n;
}

int cp_proc_check_owner(pid_t pid, struct cp_error *err)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (geteuid() != 0 && stat(path, &st) == 0 && st.st_uid != geteuid())
		return cp_error_set(err, CP_E_PERM,
				    "not allowed to profile process %d: it belongs to uid %u (run "
				    "as root or as that user)",
				    (int)pid, (unsigned)st.st_uid);
	return 0;
}
