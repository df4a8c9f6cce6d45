/* setup.c - what comes before the first record: finding the interposer,
 * checking that a program can take it, the shared memory and the
 * environment of the child. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap/heap-int.h"
#include "proc/proc.h"

void cp_heap_opts_init(struct cp_heap_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->output = "cprof.data";
	o->debuginfod_timeout = 30;
}

char *cp_heap_find_lib(struct cp_error *err)
{
	const char *env = getenv(CP_HEAP_ENV_LIB);
	if (env && *env) {
		if (access(env, R_OK) == 0)
			return cp_xstrdup(env);
		cp_error_errno(err, CP_E_NOENT, errno, "cannot use $%s '%s'", CP_HEAP_ENV_LIB, env);
		return NULL;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		cp_error_errno(err, CP_E_NOENT, errno, "cannot find libcprof-heap.so: /proc/self/exe");
		return NULL;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	*slash = '\0';
	char *a = cp_xasprintf("%s/libcprof-heap.so", exe);
	if (access(a, R_OK) == 0)
		return a;
	char *b = cp_xasprintf("%s/../lib/cprof/libcprof-heap.so", exe);
	if (access(b, R_OK) == 0) {
		char *real = realpath(b, NULL);
		free(a);
		free(b);
		return real;
	}
	cp_error_set(err, CP_E_NOENT, "cannot find libcprof-heap.so (looked for '%s' and '%s'; "
		     "$%s names another)", a, b, CP_HEAP_ENV_LIB);
	free(a);
	free(b);
	return NULL;
}

int cp_heap_check_program(const char *path, struct cp_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* spawning will say why */
	struct stat st;
	Elf64_Ehdr eh;
	int rc = 0;
	if (fstat(fd, &st) == 0 &&
	    (((st.st_mode & S_ISUID) && st.st_uid != getuid()) ||
	     ((st.st_mode & S_ISGID) && st.st_gid != getgid()))) {
		rc = cp_error_set(err, CP_E_UNSUPPORTED,
				  "'%s' runs set-user-ID or set-group-ID: the dynamic loader ignores "
				  "LD_PRELOAD for it, so its allocations cannot be seen", path);
		goto out;
	}
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64)
		goto out; /* a script: its interpreter is checked when it loads */
	bool interp = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph))
			break;
		if (ph.p_type == PT_INTERP)
			interp = true;
	}
	if (!interp)
		rc = cp_error_set(err, CP_E_UNSUPPORTED,
				  "'%s' is statically linked: no library can be preloaded into it, "
				  "so its allocations cannot be seen", path);
out:
	close(fd);
	return rc;
}

/* cprof heap -p: the shared memory and the "alive" FIFO as files in a
 * private directory the target's owner can open; cprof holds the FIFO's
 * only writer, so the target sees it hang up when cprof dies. */
static int attach_files(struct cp_heap *h, int *fd, int *alive, struct cp_error *err)
{
	char tmpl[] = "/dev/shm/cprof-heap-XXXXXX", tmpl2[] = "/tmp/cprof-heap-XXXXXX";
	const char *dir = mkdtemp(tmpl);
	if (!dir)
		dir = mkdtemp(tmpl2);
	if (!dir)
		return cp_error_errno(err, CP_E_FAIL, errno, "cannot create a directory in /dev/shm");
	h->attach_dir = cp_xstrdup(dir);
	char *shm = cp_xasprintf("%s/shm", dir), *fifo = cp_xasprintf("%s/alive", dir);
	int rc = 0;
	*fd = open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd < 0 || mkfifo(fifo, 0600) < 0 ||
	    (*alive = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		rc = cp_error_errno(err, CP_E_FAIL, errno, "cannot create '%s'", *fd < 0 ? shm : fifo);
	} else {
		/* the target's owner must open them (as root we may attach to anyone) */
		long uid, gid;
		if (getuid() == 0 && cp_proc_status_field(h->opts.attach, "Uid", false, &uid) &&
		    cp_proc_status_field(h->opts.attach, "Gid", false, &gid) &&
		    (chown(dir, (uid_t)uid, (gid_t)gid) || chown(shm, (uid_t)uid, (gid_t)gid) ||
		     chown(fifo, (uid_t)uid, (gid_t)gid)))
			rc = cp_error_errno(err, CP_E_FAIL, errno, "cannot give '%s' to uid %ld", dir, uid);
	}
	free(shm);
	free(fifo);
	return rc;
}

void heap_attach_dir_remove(struct cp_heap *h)
{
	if (!h->attach_dir)
		return;
	char *shm = cp_xasprintf("%s/shm", h->attach_dir);
	char *fifo = cp_xasprintf("%s/alive", h->attach_dir);
	unlink(shm);
	unlink(fifo);
	rmdir(h->attach_dir);
	free(shm);
	free(fifo);
	free(h->attach_dir);
	h->attach_dir = NULL;
}

/* The shared memory: a header and the rings, untouched pages costing
 * nothing until a thread writes into its ring. */
int heap_shm_create(struct cp_heap *h, struct cp_error *err)
{
	size_t size = CP_HEAP_SHM_SIZE(CP_HEAP_RINGS);
	int fd = -1, pfd[2] = { -1, -1 }, rc;
	if (h->opts.attach) {
		if ((rc = attach_files(h, &fd, &pfd[1], err))) {
			if (fd >= 0)
				close(fd);
			if (pfd[1] >= 0)
				close(pfd[1]);
			heap_attach_dir_remove(h);
			return rc;
		}
	} else {
		fd = memfd_create("cprof-heap", 0);
		if (fd < 0)
			return cp_error_errno(err, CP_E_FAIL, errno, "cannot create shared memory");
		if (pipe(pfd) < 0) {
			close(fd);
			return cp_error_errno(err, CP_E_FAIL, errno, "cannot create a pipe");
		}
		/* the write end stays ours alone: the child sees it hang up when we die */
		fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	}
	h->shm_fd = fd;
	h->pipe_rd = pfd[0];
	h->pipe_wr = pfd[1];
	if (ftruncate(fd, (off_t)size) < 0)
		return cp_error_errno(err, CP_E_FAIL, errno, "cannot size shared memory");
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return cp_error_errno(err, CP_E_FAIL, errno, "cannot map shared memory");
	h->shm = p;
	h->shm_size = size;
	struct cp_heap_shm *s = h->shm;
	s->magic = CP_HEAP_MAGIC;
	s->version = CP_HEAP_VERSION;
	s->flags = (h->opts.frame_pointers ? CP_HEAP_F_FP : 0) | (h->opts.follow ? CP_HEAP_F_FOLLOW : 0);
	s->sample_interval = h->opts.sample_interval;
	s->seed = h->opts.seed;
	s->nrings = CP_HEAP_RINGS;
	s->ring_bytes = CP_HEAP_RING_BYTES;
	return 0;
}

void heap_shm_release(struct cp_heap *h)
{
	heap_attach_dir_remove(h);
	if (h->shm)
		munmap(h->shm, h->shm_size);
	if (h->shm_fd >= 0)
		close(h->shm_fd);
	if (h->pipe_rd >= 0)
		close(h->pipe_rd);
	if (h->pipe_wr >= 0)
		close(h->pipe_wr);
	h->shm = NULL;
	h->shm_fd = h->pipe_rd = h->pipe_wr = -1;
}

int cp_heap_env_set(struct cp_heap *h, struct cp_error *err)
{
	const char *pre = getenv("LD_PRELOAD");
	free(h->saved_preload);
	h->saved_preload = pre ? cp_xstrdup(pre) : NULL;
	char *v = pre && *pre ? cp_xasprintf("%s:%s", h->lib, pre) : cp_xstrdup(h->lib);
	char fds[64];
	snprintf(fds, sizeof(fds), "%d,%d", h->shm_fd, h->pipe_rd);
	int rc = 0;
	if (setenv("LD_PRELOAD", v, 1) || setenv(CP_HEAP_ENV_FD, fds, 1))
		rc = cp_error_errno(err, CP_E_FAIL, errno, "cannot set the environment");
	free(v);
	return rc;
}

void cp_heap_env_restore(struct cp_heap *h)
{
	if (h->saved_preload)
		setenv("LD_PRELOAD", h->saved_preload, 1);
	else
		unsetenv("LD_PRELOAD");
	unsetenv(CP_HEAP_ENV_FD);
	/* the child has its copy of the read end */
	if (h->pipe_rd >= 0)
		close(h->pipe_rd);
	h->pipe_rd = -1;
}
