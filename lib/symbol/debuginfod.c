/* debuginfod.c - debug files fetched by build-id from the servers in
 * $DEBUGINFOD_URLS, through elfutils' client library, which keeps them in
 * its cache ($DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client) and
 * remembers misses.
 *
 * The library is loaded (dlopen) only when DEBUGINFOD_URLS is set, as
 * elfutils' own libdw does: it brings libcurl and some thirty libraries
 * with it, whose loading would otherwise cost every cprof command a few
 * milliseconds.
 *
 * Off until the caller turns it on with a time budget (a recorder does so
 * at the end of a recording, never while it samples).  The budget bounds
 * all fetches together: a slow or absent server costs at most that long,
 * and the first failure that is not a plain "not there" ends the use of
 * debuginfod for the symbolizer, with one notice.
 */
#include "symbol/symbol.h"

#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbol/symbol-int.h"

/* The client's entry points, from the library loaded at first use. */
static struct {
	debuginfod_client *(*begin)(void);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
	void (*set_user_data)(debuginfod_client *, void *);
	void *(*get_user_data)(debuginfod_client *);
	const char *(*get_url)(debuginfod_client *);
	void (*end)(debuginfod_client *);
} api;

static bool load_api(void)
{
	static void *lib;
	if (lib)
		return true;
	void *h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return false;
	*(void **)&api.begin = dlsym(h, "debuginfod_begin");
	*(void **)&api.find_debuginfo = dlsym(h, "debuginfod_find_debuginfo");
	*(void **)&api.set_progressfn = dlsym(h, "debuginfod_set_progressfn");
	*(void **)&api.set_user_data = dlsym(h, "debuginfod_set_user_data");
	*(void **)&api.get_user_data = dlsym(h, "debuginfod_get_user_data");
	*(void **)&api.get_url = dlsym(h, "debuginfod_get_url");
	*(void **)&api.end = dlsym(h, "debuginfod_end");
	if (!api.begin || !api.find_debuginfo || !api.set_progressfn || !api.set_user_data ||
	    !api.get_user_data || !api.get_url || !api.end) {
		dlclose(h);
		return false;
	}
	lib = h; /* kept for the process's life, as libdw keeps it */
	return true;
}

struct sym_debuginfod {
	debuginfod_client *client;
	uint64_t deadline_ns, budget_ns;
	bool stopped; /* a failure or the budget: no more fetches */
	unsigned fetched, missed;
};

static int on_progress(debuginfod_client *c, long a, long b)
{
	(void)a;
	(void)b;
	struct sym_debuginfod *d = api.get_user_data(c);
	return d && cp_now_ns() > d->deadline_ns; /* nonzero aborts the transfer */
}

bool cp_symbolizer_debuginfod(struct cp_symbolizer *s, double seconds)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (s->dfd || seconds <= 0 || !urls || !*urls)
		return s->dfd != NULL;
	if (!load_api()) {
		cp_log(CP_LOG_NOTICE, "debuginfod: cannot load libdebuginfod.so.1 (%s); no debug "
				      "files fetched",
		       dlerror());
		return false;
	}
	debuginfod_client *c = api.begin();
	if (!c) {
		cp_log(CP_LOG_NOTICE, "debuginfod: cannot start its client; no debug files fetched");
		return false;
	}
	struct sym_debuginfod *d = cp_xcalloc(1, sizeof(*d));
	d->client = c;
	d->budget_ns = (uint64_t)(seconds * 1e9);
	d->deadline_ns = cp_now_ns() + d->budget_ns;
	api.set_user_data(c, d);
	api.set_progressfn(c, on_progress);
	s->dfd = d;
	return true;
}

void sym_debuginfod_free(struct cp_symbolizer *s)
{
	if (!s->dfd)
		return;
	api.end(s->dfd->client);
	free(s->dfd);
	s->dfd = NULL;
}

static void stop(struct sym_debuginfod *d, const char *path, const char *why)
{
	d->stopped = true;
	const char *url = api.get_url(d->client);
	if (!url || !*url)
		url = getenv("DEBUGINFOD_URLS");
	cp_log(CP_LOG_NOTICE,
	       "debuginfod: %s: %s (fetching the debug file of '%s'); other modules keep the "
	       "names they have",
	       url ? url : "", why, path);
}

char *sym_debuginfod_find(struct cp_module *m)
{
	struct sym_debuginfod *d = m->s->dfd;
	if (!d || d->stopped || m->kind != CP_MODULE_ELF || strlen(m->build_id) < 2)
		return NULL;
	if (cp_now_ns() > d->deadline_ns) {
		char why[64];
		snprintf(why, sizeof(why), "gave up after %.0f s", (double)d->budget_ns / 1e9);
		stop(d, m->path, why);
		return NULL;
	}
	char *path = NULL;
	int fd = api.find_debuginfo(d->client, (const unsigned char *)m->build_id, 0, &path);
	if (fd >= 0) {
		close(fd);
		d->fetched++;
		cp_log(CP_LOG_DEBUG, "'%s': debug file from debuginfod: '%s'", m->path, path);
		return path;
	}
	free(path);
	if (fd == -ENOENT) {
		d->missed++;
		return NULL;
	}
	if (cp_now_ns() > d->deadline_ns) {
		char why[64];
		snprintf(why, sizeof(why), "gave up after %.0f s", (double)d->budget_ns / 1e9);
		stop(d, m->path, why);
	} else {
		stop(d, m->path, strerror(-fd));
	}
	return NULL;
}
