/* push.c - the spool and the sending thread of push.h. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/format.h"
#include "push/push.h"
#include "store/store.h"

#define SPOOL_EXT ".pb.gz"
#define NAME_LEN 41 /* 20 digits '-' 20 digits */

struct cp_push {
	struct cp_push_opts o;
	char *url, *service, *labels, *token, *ca_file, *dir;
	int dirfd;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool closing, started;
	uint64_t give_up_at; /* closing: stop trying after this (CLOCK_MONOTONIC) */
	struct cp_push_stats st;
};

/* ---- the spool ------------------------------------------------------------- */

static bool spool_name(const char *s)
{
	size_t n = strlen(s);
	if (n != NAME_LEN + strlen(SPOOL_EXT) || strcmp(s + NAME_LEN, SPOOL_EXT) || s[20] != '-')
		return false;
	for (size_t i = 0; i < NAME_LEN; i++)
		if (i != 20 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The spooled files, oldest first (names sort by time); their total size. */
static char **spool_list(struct cp_push *p, size_t *n, uint64_t *bytes)
{
	*n = 0;
	if (bytes)
		*bytes = 0;
	int fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char **v = NULL;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!spool_name(e->d_name))
			continue;
		if (*n == cap)
			cp_grow((void **)&v, sizeof(*v), *n + 1, &cap);
		v[(*n)++] = cp_xstrdup(e->d_name);
		struct stat st;
		if (bytes && fstatat(p->dirfd, e->d_name, &st, 0) == 0)
			*bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static void spool_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Make room for a file of `incoming` bytes: drop the oldest spooled
 * files while the spool and it would be over the limit. */
static void spool_trim(struct cp_push *p, uint64_t incoming)
{
	size_t n;
	uint64_t bytes;
	char **v = spool_list(p, &n, &bytes);
	for (size_t i = 0; i < n && bytes + incoming > p->o.spool_max; i++) {
		struct stat st;
		if (fstatat(p->dirfd, v[i], &st, 0) || unlinkat(p->dirfd, v[i], 0))
			continue;
		bytes -= (uint64_t)st.st_size;
		pthread_mutex_lock(&p->mu);
		p->st.dropped++;
		pthread_mutex_unlock(&p->mu);
		cp_log(CP_LOG_WARN, "push: spool %s over %llu bytes: dropped %s, not sent", p->dir,
		       (unsigned long long)p->o.spool_max, v[i]);
	}
	spool_free(v, n);
}

int cp_push_profile(struct cp_push *p, const struct cp_profile *prof, struct cp_error *err)
{
	uint64_t from = prof->meta.time_nanos, until = from + prof->meta.duration_nanos;
	char name[NAME_LEN + 16], tmp[NAME_LEN + 32];
	snprintf(name, sizeof(name), "%020llu-%020llu" SPOOL_EXT, (unsigned long long)from,
		 (unsigned long long)until);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	int fd = openat(p->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return cp_error_errno(err, CP_E_IO, errno, "push: spool %s", p->dir);
	}
	struct cp_view *v = cp_view_new(prof, NULL, err);
	int rc = v ? cp_format_pprof_write_auto(f, v, name, err) : err->code;
	cp_view_free(v);
	if (fflush(f) || fsync(fileno(f)))
		rc = rc ? rc : cp_error_errno(err, CP_E_IO, errno, "push: spool %s/%s", p->dir, tmp);
	fclose(f);
	struct stat st;
	if (!rc && fstatat(p->dirfd, tmp, &st, 0) == 0)
		spool_trim(p, (uint64_t)st.st_size);
	if (!rc && renameat(p->dirfd, tmp, p->dirfd, name))
		rc = cp_error_errno(err, CP_E_IO, errno, "push: spool %s/%s", p->dir, name);
	if (rc) {
		unlinkat(p->dirfd, tmp, 0);
		return rc;
	}
	pthread_mutex_lock(&p->mu);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* ---- sending --------------------------------------------------------------- */

static size_t keep_reply(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct cp_buf *b = arg;
	size_t n = size * nmemb, room = b->len < 65536 ? 65536 - b->len : 0;
	cp_buf_add(b, ptr, n < room ? n : room); /* the start: a JSON answer, an error */
	return n;
}

int cp_push_post(void *curl, const char *url, const char *token, const char *ca_file,
		 const char *ctype, const void *data, size_t len, long timeout_s, long *status,
		 struct cp_buf *reply, char *errbuf, size_t errsz)
{
	CURL *c = curl;
	char *ct = cp_xasprintf("Content-Type: %s", ctype);
	struct curl_slist *h = curl_slist_append(NULL, ct);
	char *auth = token ? cp_xasprintf("Authorization: Bearer %s", token) : NULL;
	if (auth)
		h = curl_slist_append(h, auth);
	/* no "Expect: 100-continue": the body follows at once */
	h = curl_slist_append(h, "Expect:");
	struct cp_buf sink = { 0 };
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_reply);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply ? reply : &sink);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ca_file) {
		/* that CA alone: not the system's directory as well (parsing
		 * it was most of an idle agent's memory) */
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	CURLcode cc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (cc != CURLE_OK && errbuf)
		snprintf(errbuf, errsz, "%s", curl_easy_strerror(cc));
	cp_buf_release(&sink);
	curl_slist_free_all(h);
	free(auth);
	free(ct);
	return cc == CURLE_OK ? 0 : -1;
}

enum outcome { SENT, RETRY, REJECTED, GONE };

/* POST one spooled file. */
static enum outcome send_one(struct cp_push *p, CURL *c, const char *name)
{
	size_t len;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	char *data = cp_read_file(path, &len);
	if (!data)
		return GONE; /* dropped from the spool meanwhile */
	/* the time range is the profile's own (ns), not the name's */
	char *svc = curl_easy_escape(c, p->service, 0), *lab = curl_easy_escape(c, p->labels, 0);
	char *url = cp_xasprintf("%s/api/v1/profiles?service=%s&labels=%s", p->url, svc, lab);
	curl_free(svc);
	curl_free(lab);
	struct cp_buf body = { 0 };
	long status;
	char why[256];
	int cc = cp_push_post(c, url, p->token, p->ca_file, "application/octet-stream", data, len,
			      60, &status, &body, why, sizeof(why));
	enum outcome out;
	if (cc) {
		cp_log(CP_LOG_DEBUG, "push: %s: %s", p->url, why);
		out = RETRY;
	} else if (status >= 200 && status < 300) {
		out = SENT;
	} else if (status == 400 || status == 413) {
		cp_buf_add_u8(&body, 0);
		cp_log(CP_LOG_WARN, "push: %s refused %s (HTTP %ld): %.*s", p->url, name, status,
		       (int)strcspn(body.p ? (char *)body.p : "", "\n"), body.p ? (char *)body.p : "");
		out = REJECTED;
	} else {
		cp_log(CP_LOG_DEBUG, "push: %s: HTTP %ld", p->url, status);
		out = RETRY;
	}
	cp_buf_release(&body);
	free(url);
	free(data);
	return out;
}

static void *sender(void *arg)
{
	struct cp_push *p = arg;
	CURL *c = curl_easy_init();
	uint64_t backoff = 0; /* ns; 0: not backing off */
	for (;;) {
		size_t n;
		char **v = spool_list(p, &n, NULL);
		bool failed = false;
		for (size_t i = 0; i < n && !failed; i++) {
			pthread_mutex_lock(&p->mu);
			bool give_up = p->closing && cp_now_ns() >= p->give_up_at;
			pthread_mutex_unlock(&p->mu);
			if (give_up)
				break;
			enum outcome o = c ? send_one(p, c, v[i]) : RETRY;
			pthread_mutex_lock(&p->mu);
			if (o == SENT)
				p->st.sent++;
			else if (o == REJECTED)
				p->st.rejected++;
			else if (o == RETRY)
				p->st.retries++;
			pthread_mutex_unlock(&p->mu);
			if (o == SENT || o == REJECTED)
				unlinkat(p->dirfd, v[i], 0);
			failed = o == RETRY;
		}
		size_t left = n;
		spool_free(v, n);
		v = spool_list(p, &left, NULL);
		spool_free(v, left);
		backoff = !failed ? 0 : !backoff ? 1000000000ull : backoff * 2;
		if (backoff > 60000000000ull)
			backoff = 60000000000ull;
		pthread_mutex_lock(&p->mu);
		p->st.pending = left;
		uint64_t now = cp_now_ns();
		/* closing: stop when all is sent, the time is up, or the server
		 * is away (the spool keeps the rest for the next run) */
		if (p->closing && (!left || failed || now >= p->give_up_at)) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		if (!failed && left) { /* more came while sending */
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		/* wait for a new file, the close, or the end of the backoff */
		uint64_t wake = failed ? now + backoff : now + 3600000000000ull;
		if (p->closing && wake > p->give_up_at)
			wake = p->give_up_at;
		if (failed) {
			/* a backoff is waited out whatever arrives meanwhile */
			while (cp_cond_wait_until(&p->cv, &p->mu, wake) &&
			       !(p->closing && cp_now_ns() >= p->give_up_at))
				;
		} else {
			cp_cond_wait_until(&p->cv, &p->mu, wake);
		}
		pthread_mutex_unlock(&p->mu);
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

/* ---- life ------------------------------------------------------------------ */

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct cp_push *cp_push_new(const struct cp_push_opts *o, struct cp_error *err)
{
	if (!o->url || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))) {
		cp_error_set(err, CP_E_USAGE, "--push: '%s' is not an http:// or https:// URL",
			     o->url ? o->url : "");
		return NULL;
	}
	if (!o->service || !cp_store_valid_service(o->service, strlen(o->service))) {
		cp_error_set(err, CP_E_USAGE,
			     "--service: '%s' is not 1 to 127 letters, digits, '-', '_' or '.'",
			     o->service ? o->service : "");
		return NULL;
	}
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init);
	struct cp_push *p = cp_xcalloc(1, sizeof(*p));
	p->o = *o;
	p->url = cp_xstrdup(o->url);
	size_t ul = strlen(p->url);
	while (ul && p->url[ul - 1] == '/')
		p->url[--ul] = '\0';
	p->service = cp_xstrdup(o->service);
	p->labels = cp_xstrdup(o->labels ? o->labels : "");
	p->token = o->token ? cp_xstrdup(o->token) : NULL;
	p->ca_file = o->ca_file ? cp_xstrdup(o->ca_file) : NULL;
	p->dir = cp_xstrdup(o->spool_dir);
	p->o.spool_max = o->spool_max ? o->spool_max : 256ull << 20;
	p->dirfd = -1;
	pthread_mutex_init(&p->mu, NULL);
	cp_cond_init(&p->cv);
	if (cp_mkdir_p(p->dir) || (p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		cp_error_errno(err, CP_E_IO, errno, "--spool-dir %s", p->dir);
		cp_push_close(p, 0, NULL);
		return NULL;
	}
	/* temporary files of a killed run */
	int fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, ".tmp-", 5))
			unlinkat(p->dirfd, e->d_name, 0);
	if (d)
		closedir(d);
	if (pthread_create(&p->thread, NULL, sender, p)) {
		cp_error_set(err, CP_E_FAIL, "push: cannot start a thread");
		cp_push_close(p, 0, NULL);
		return NULL;
	}
	p->started = true;
	return p;
}

void cp_push_stats(struct cp_push *p, struct cp_push_stats *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	pthread_mutex_unlock(&p->mu);
}

void cp_push_close(struct cp_push *p, uint64_t wait_ns, struct cp_push_stats *st)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->closing = true;
		p->give_up_at = cp_now_ns() + wait_ns;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	if (st) {
		size_t n = 0;
		char **v = p->dirfd >= 0 ? spool_list(p, &n, NULL) : NULL;
		spool_free(v, n);
		p->st.pending = n;
		*st = p->st;
	}
	if (p->dirfd >= 0)
		close(p->dirfd);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->url);
	free(p->service);
	free(p->labels);
	free(p->token);
	free(p->ca_file);
	free(p->dir);
	free(p);
}
