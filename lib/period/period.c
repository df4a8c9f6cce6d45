/* period.c - writing the periods of a continuous recording: a queue, one
 * thread that renders each period in its formats, atomic file creation,
 * latest.* links and rotation.
 *
 * The thread touches nothing but the period profiles handed to it (each
 * is self-contained, see cp_profile_subset) and the directory, so the
 * sampling thread and it share only the queue.
 */
#include "period/period.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/data.h"
#include "format/format.h"

static const struct {
	unsigned bit;
	const char *name, *ext;
} formats[] = {
	{ CP_PERIOD_CPROF, "cprof", ".cprof" },
	{ CP_PERIOD_PPROF, "pprof", ".pb.gz" },
	{ CP_PERIOD_SVG, "svg", ".svg" },
	{ CP_PERIOD_FOLDED, "folded", ".folded" },
};
#define SUPPORTED "cprof, pprof, svg, folded"
#define NAME_LEN 24 /* "2026-12-04T10:00:00.000Z" */

int cp_period_parse_formats(const char *list, unsigned *out, struct cp_error *err)
{
	*out = 0;
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		unsigned bit = 0;
		for (size_t i = 0; i < CP_ARRAY_SIZE(formats); i++)
			if (strlen(formats[i].name) == n && !strncmp(p, formats[i].name, n))
				bit = formats[i].bit;
		if (!bit)
			return cp_error_set(err, CP_E_USAGE, "unknown format '%.*s' (supported: %s)",
					    (int)n, p, SUPPORTED);
		if (*out & bit)
			return cp_error_set(err, CP_E_USAGE, "format '%.*s' given twice", (int)n, p);
		*out |= bit;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

bool cp_period_is_name(const char *name, const char *ext)
{
	/* digits and separators at fixed places: 2026-12-04T10:00:00.000Z */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	for (size_t i = 0; i < NAME_LEN; i++) {
		if (shape[i] == 'd' ? (name[i] < '0' || name[i] > '9') : name[i] != shape[i])
			return false;
	}
	return !strcmp(name + NAME_LEN, ext);
}

struct job {
	struct cp_profile *p;
	struct job *next;
};

struct cp_period_writer {
	struct cp_period_opts o;
	char *dir, *title;
	int dirfd;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	unsigned queued;
	bool closing;
	struct cp_period_stats st;
	char first_error[sizeof(((struct cp_error *)0)->msg)];
	uint64_t last_ms; /* the last name's time, ms since the epoch */
};

/* ---- one file ------------------------------------------------------------ */

struct render {
	struct cp_period_writer *w;
	struct cp_profile *p;
	const char *name; /* the period's name, for the subtitle */
};

static int render(FILE *f, int fd, unsigned fmt, const struct render *R, const char *what,
		  struct cp_error *err)
{
	struct cp_profile *p = R->p;
	if (fmt == CP_PERIOD_CPROF) {
		struct cp_data_writer *dw = cp_data_writer_open_fd(fd, what, p, err);
		if (!dw)
			return err->code;
		size_t nv = p->value_types.n;
		for (size_t i = 0; i < p->samples.n; i++) {
			int rc = cp_data_writer_add_sample(dw, &p->samples.v[i],
							   p->values.v + i * nv, err);
			if (rc) {
				cp_data_writer_abort(dw);
				return rc;
			}
		}
		return cp_data_writer_finish(dw, err);
	}
	/* pprof carries every value type (its default first); the graph and
	 * folded stacks count samples, as flame and convert do */
	struct cp_view_opts vo = { .value_index = fmt == CP_PERIOD_PPROF
							  ? CP_NONE
							  : cp_profile_value_index(p, "samples") };
	struct cp_view *v = cp_view_new(p, &vo, err);
	if (!v)
		return err->code;
	int rc;
	if (fmt == CP_PERIOD_PPROF) {
		rc = cp_format_pprof_write(f, v, NULL, what, err);
	} else if (fmt == CP_PERIOD_FOLDED) {
		struct cp_folded_opts fo = { .weights = true };
		rc = cp_format_folded_write(f, v, &fo, what, err);
	} else {
		char title[512], sub[256];
		if (R->w->title)
			snprintf(title, sizeof(title), "%s", R->w->title);
		else
			snprintf(title, sizeof(title), "cprof: %s", p->meta.command);
		snprintf(sub, sizeof(sub), "%s, %.1f s, %zu samples%s", R->name,
			 (double)p->meta.duration_nanos / 1e9, p->samples.n,
			 p->meta.lost_samples ? " (some lost)" : "");
		struct cp_flame_opts fo = { .title = title, .subtitle = sub, .minwidth = -1 };
		rc = cp_format_flame_write(f, v, NULL, &fo, what, err);
	}
	cp_view_free(v);
	return rc;
}

/* Write one file: unnamed, synced, then named.  0 or an error. */
static int write_one(struct cp_period_writer *w, const struct render *R, unsigned fmt,
		     const char *file, struct cp_error *err)
{
	char tmp[NAME_LEN + 32], what[4200];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", file);
	snprintf(what, sizeof(what), "'%s/%s'", w->dir, file);
	int fd = openat(w->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	bool anon = fd >= 0;
	if (!anon) {
		fd = openat(w->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return cp_error_errno(err, CP_E_IO, errno, "cannot create %s", what);
	}
	int rc = 0;
	if (fmt == CP_PERIOD_CPROF) {
		rc = render(NULL, fd, fmt, R, what, err);
	} else {
		int fd2 = dup(fd);
		FILE *f = fd2 >= 0 ? fdopen(fd2, "w") : NULL;
		if (!f) {
			if (fd2 >= 0)
				close(fd2);
			rc = cp_error_errno(err, CP_E_IO, errno, "cannot write %s", what);
		} else {
			rc = render(f, fd, fmt, R, what, err);
			if (fclose(f) && !rc)
				rc = cp_error_errno(err, CP_E_IO, errno, "cannot write %s", what);
		}
	}
	if (!rc && fsync(fd))
		rc = cp_error_errno(err, CP_E_IO, errno, "cannot write %s", what);
	if (!rc && anon) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		unlinkat(w->dirfd, tmp, 0); /* a killed run's leftover */
		if (linkat(AT_FDCWD, proc, w->dirfd, tmp, AT_SYMLINK_FOLLOW))
			rc = cp_error_errno(err, CP_E_IO, errno, "cannot link %s", what);
	}
	if (!rc && renameat(w->dirfd, tmp, w->dirfd, file))
		rc = cp_error_errno(err, CP_E_IO, errno, "cannot rename '%s/%s' to %s", w->dir, tmp,
				    what);
	if (rc)
		unlinkat(w->dirfd, tmp, 0);
	close(fd);
	return rc;
}

/* latest.EXT -> file, replaced atomically. */
static void link_latest(struct cp_period_writer *w, const char *file, const char *ext)
{
	char tmp[64], latest[64];
	snprintf(latest, sizeof(latest), "latest%s", ext);
	snprintf(tmp, sizeof(tmp), ".latest%s.tmp", ext);
	unlinkat(w->dirfd, tmp, 0);
	if (symlinkat(file, w->dirfd, tmp) || renameat(w->dirfd, tmp, w->dirfd, latest)) {
		cp_log(CP_LOG_WARN, "cannot link '%s/%s' to '%s': %s", w->dir, latest, file,
		       strerror(errno));
		unlinkat(w->dirfd, tmp, 0);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory, to list: a descriptor of its own (a dup of dirfd would
 * share the read position). */
static DIR *open_dir(struct cp_period_writer *w)
{
	int fd = openat(w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* Delete the oldest files of one format beyond keep. */
static void rotate(struct cp_period_writer *w, const char *ext)
{
	DIR *d = open_dir(w);
	if (!d)
		return;
	CP_VEC(char *) names = { 0 };
	struct dirent *e;
	while ((e = readdir(d)))
		if (cp_period_is_name(e->d_name, ext))
			CP_VEC_PUSH(names, cp_xstrdup(e->d_name));
	closedir(d);
	if (names.n > w->o.keep) {
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
		for (size_t i = 0; i < names.n - w->o.keep; i++)
			if (unlinkat(w->dirfd, names.v[i], 0) && errno != ENOENT)
				cp_log(CP_LOG_WARN, "cannot delete '%s/%s': %s", w->dir,
				       names.v[i], strerror(errno));
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.v[i]);
	CP_VEC_FREE(names);
}

/* The period's name: its UTC start, strictly after the previous name. */
static void period_name(struct cp_period_writer *w, const struct cp_profile *p, char *buf)
{
	uint64_t ms = p->meta.time_nanos / 1000000;
	if (ms <= w->last_ms)
		ms = w->last_ms + 1;
	w->last_ms = ms;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char t20[32];
	strftime(t20, sizeof(t20), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, NAME_LEN + 8, "%.19s.%03uZ", t20, (unsigned)(ms % 1000));
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void write_period(struct cp_period_writer *w, struct cp_profile *p)
{
	uint64_t cpu0 = thread_cpu_ns();
	char name[NAME_LEN + 8];
	period_name(w, p, name);
	struct render R = { w, p, name };
	bool failed = false;
	for (size_t i = 0; i < CP_ARRAY_SIZE(formats); i++) {
		if (!(w->o.formats & formats[i].bit))
			continue;
		char file[NAME_LEN + 16];
		snprintf(file, sizeof(file), "%s%s", name, formats[i].ext);
		struct cp_error err = { 0 };
		if (write_one(w, &R, formats[i].bit, file, &err)) {
			cp_log(CP_LOG_WARN, "%s", err.msg);
			pthread_mutex_lock(&w->mu);
			if (!w->first_error[0])
				snprintf(w->first_error, sizeof(w->first_error), "%s", err.msg);
			pthread_mutex_unlock(&w->mu);
			failed = true;
			continue;
		}
		link_latest(w, file, formats[i].ext);
		if (w->o.keep)
			rotate(w, formats[i].ext);
	}
	fsync(w->dirfd);
	if (w->o.sink)
		w->o.sink(w->o.sink_arg, p);
	cp_log(CP_LOG_DEBUG, "period %s written: %.2f ms of CPU, %zu samples", name,
	       (double)(thread_cpu_ns() - cpu0) / 1e6, p->samples.n);
	pthread_mutex_lock(&w->mu);
	if (failed)
		w->st.failed++;
	else
		w->st.written++;
	pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
	struct cp_period_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->closing)
			pthread_cond_wait(&w->cv, &w->mu);
		struct job *j = w->head;
		if (!j)
			break; /* closing, nothing left */
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		pthread_mutex_unlock(&w->mu);
		write_period(w, j->p);
		cp_profile_free(j->p);
		free(j);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- the writer -------------------------------------------------------- */

/* Hidden temporary files of ours a killed run left behind. */
static void clean_leftovers(struct cp_period_writer *w)
{
	DIR *d = open_dir(w);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		size_t len = strlen(n);
		if (n[0] != '.' || len < 5 || strcmp(n + len - 4, ".tmp"))
			continue;
		bool ours = !strncmp(n, ".latest.", 8);
		for (size_t i = 0; !ours && i < CP_ARRAY_SIZE(formats); i++) {
			char ext[32];
			snprintf(ext, sizeof(ext), "%s.tmp", formats[i].ext);
			ours = cp_period_is_name(n + 1, ext);
		}
		if (ours)
			unlinkat(w->dirfd, n, 0);
	}
	closedir(d);
}

struct cp_period_writer *cp_period_writer_new(const struct cp_period_opts *o, struct cp_error *err)
{
	if (!o->dir || !*o->dir || (!o->formats && !o->sink)) {
		cp_error_set(err, CP_E_USAGE, "no output directory or no format");
		return NULL;
	}
	if (cp_mkdir_p(o->dir)) {
		cp_error_errno(err, errno == EACCES ? CP_E_PERM : CP_E_IO, errno,
			       "cannot create directory '%s'", o->dir);
		return NULL;
	}
	int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		cp_error_errno(err, CP_E_IO, errno, "cannot open directory '%s'", o->dir);
		return NULL;
	}
	if (faccessat(dfd, ".", W_OK, AT_EACCESS)) {
		cp_error_errno(err, CP_E_PERM, errno, "cannot write to directory '%s'", o->dir);
		close(dfd);
		return NULL;
	}
	struct cp_period_writer *w = cp_xcalloc(1, sizeof(*w));
	w->o = *o;
	w->dir = cp_xstrdup(o->dir);
	w->title = o->title ? cp_xstrdup(o->title) : NULL;
	w->o.dir = w->dir;
	w->o.title = w->title;
	if (!w->o.max_queue)
		w->o.max_queue = 4;
	w->dirfd = dfd;
	clean_leftovers(w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	int e = pthread_create(&w->thread, NULL, writer_main, w);
	if (e) {
		cp_error_errno(err, CP_E_FAIL, e, "cannot start the writing thread");
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		close(dfd);
		free(w->dir);
		free(w->title);
		free(w);
		return NULL;
	}
	return w;
}

void cp_period_writer_submit(struct cp_period_writer *w, struct cp_profile *p)
{
	struct job *j = cp_xcalloc(1, sizeof(*j));
	j->p = p;
	struct job *drop = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->queued >= w->o.max_queue && w->head) {
		drop = w->head;
		w->head = drop->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		w->st.dropped++;
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (drop) {
		cp_log(CP_LOG_WARN,
		       "the disk falls behind: a period was dropped unwritten (%u waiting)",
		       w->o.max_queue);
		cp_profile_free(drop->p);
		free(drop);
	}
}

void cp_period_writer_stats(struct cp_period_writer *w, struct cp_period_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

int cp_period_writer_close(struct cp_period_writer *w, struct cp_period_stats *st,
			   struct cp_error *err)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	w->closing = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (st)
		*st = w->st;
	int rc = 0;
	if (w->st.failed)
		rc = cp_error_set(err, CP_E_IO, "%s", w->first_error);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	close(w->dirfd);
	free(w->dir);
	free(w->title);
	free(w);
	return rc;
}
