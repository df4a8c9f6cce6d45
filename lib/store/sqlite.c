/* sqlite.c - the default store: blobs as files in a data directory, the
 * index in SQLite (WAL, synchronous=FULL).  The write order is store.h's.
 * One process per directory (an exclusive lock on DIR/lock); its threads
 * share one connection under a mutex, and write their files outside it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store-int.h"

struct sq {
	struct cp_store base;
	char *dir;
	int dirfd, lockfd;
	sqlite3 *db;
	pthread_mutex_t lock;
	int64_t max_span; /* the longest until_ns - from_ns stored (lock held) */
	/* prepared statements by their text, reused (lock held): preparing
	 * was a fifth of a list request's time */
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[24];
	int ncache;
};

/* A statement for sql, reset and unbound, from the cache (lock held);
 * never finalized by the caller. */
static int prepared(struct sq *q, const char *sql, sqlite3_stmt **st)
{
	for (int i = 0; i < q->ncache; i++)
		if (!strcmp(q->cache[i].sql, sql)) {
			*st = q->cache[i].st;
			sqlite3_reset(*st);
			sqlite3_clear_bindings(*st);
			return SQLITE_OK;
		}
	int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (q->ncache == (int)(sizeof(q->cache) / sizeof(q->cache[0]))) {
		/* full: drop the oldest */
		sqlite3_finalize(q->cache[0].st);
		free(q->cache[0].sql);
		memmove(q->cache, q->cache + 1, sizeof(q->cache[0]) * (size_t)(q->ncache - 1));
		q->ncache--;
	}
	q->cache[q->ncache].sql = cp_xstrdup(sql);
	q->cache[q->ncache].st = *st;
	q->ncache++;
	return SQLITE_OK;
}

static const char *const blob_name[] = { "profile.pb.gz", "profile.json" };

static int db_error(struct sq *q, struct cp_error *err, const char *what)
{
	return cp_error_set(err, CP_E_IO, "store %s: index: %s: %s", q->dir, what,
			    sqlite3_errmsg(q->db));
}

/* ---- files ------------------------------------------------------------------ */

static int write_all(int dirfd, const char *name, const void *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			errno = e ? e : EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* rm -r of DIR/rel: the store's trees are two levels deep at most
 * (tmp/ID/FILE), so the recursion is bounded. */
static void remove_tree_depth(int dirfd, const char *rel, int depth)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (unlinkat(fd, e->d_name, 0) && errno == EISDIR && depth > 0)
				remove_tree_depth(fd, e->d_name, depth - 1);
		}
		if (d)
			closedir(d);
		else
			close(fd);
	}
	unlinkat(dirfd, rel, AT_REMOVEDIR);
}

static void remove_tree(int dirfd, const char *rel)
{
	remove_tree_depth(dirfd, rel, 2);
}

static int read_blob(struct sq *q, const char *id, enum cp_store_blob which, void **data,
		     size_t *len, struct cp_error *err)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "%s/%s", id, blob_name[which]);
	int fd = openat(q->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cp_error_errno(err, errno == ENOENT ? CP_E_NOENT : CP_E_IO, errno,
				      "store %s: %s", q->dir, rel);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	if (fstat(fd, &st) == 0 && st.st_size >= 0) {
		buf = cp_xmalloc((size_t)st.st_size + 1);
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		free(buf);
		return cp_error_set(err, CP_E_IO, "store %s: %s: cannot be read", q->dir, rel);
	}
	*data = buf;
	*len = got;
	return 0;
}

/* ---- rows ------------------------------------------------------------------- */

#define COLUMNS                                                                              \
	"id, service, labels, host, pid, from_ns, until_ns, sample_type, total, samples, " \
	"created_ns, size, json_size, sha256, json_sha256"

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static void row_from(sqlite3_stmt *st, struct cp_store_row *r)
{
	memset(r, 0, sizeof(*r));
	copy_text(r->id, sizeof(r->id), st, 0);
	copy_text(r->service, sizeof(r->service), st, 1);
	copy_text(r->labels, sizeof(r->labels), st, 2);
	copy_text(r->host, sizeof(r->host), st, 3);
	r->pid = sqlite3_column_int64(st, 4);
	r->from_ns = sqlite3_column_int64(st, 5);
	r->until_ns = sqlite3_column_int64(st, 6);
	copy_text(r->sample_type, sizeof(r->sample_type), st, 7);
	r->total = sqlite3_column_int64(st, 8);
	r->samples = sqlite3_column_int64(st, 9);
	r->created_ns = sqlite3_column_int64(st, 10);
	r->size = sqlite3_column_int64(st, 11);
	r->json_size = sqlite3_column_int64(st, 12);
	copy_text(r->sha256, sizeof(r->sha256), st, 13);
	copy_text(r->json_sha256, sizeof(r->json_sha256), st, 14);
}

static int sq_put(struct cp_store *s, struct cp_store_row *row, const void *pb, size_t pblen,
		  const void *json, size_t jsonlen, struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "tmp/%s", row->id);
	if (mkdirat(q->dirfd, tmp, 0750))
		return cp_error_errno(err, CP_E_IO, errno, "store %s: %s", q->dir, tmp);
	int tfd = openat(q->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = tfd >= 0 && !write_all(tfd, blob_name[0], pb, pblen) &&
		  !write_all(tfd, blob_name[1], json, jsonlen) && !fsync(tfd);
	int e = errno;
	if (tfd >= 0)
		close(tfd);
	/* the directory appears whole, then DIR's entry is made durable */
	if (!ok || renameat(q->dirfd, tmp, q->dirfd, row->id) || fsync(q->dirfd)) {
		e = ok ? errno : e;
		remove_tree(q->dirfd, tmp);
		remove_tree(q->dirfd, row->id);
		return cp_error_errno(err, CP_E_IO, e, "store %s: writing profile %s", q->dir,
				      row->id);
	}
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db,
				    "INSERT INTO profiles (" COLUMNS ") VALUES "
				    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, row->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, row->labels, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, row->host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, row->pid);
		sqlite3_bind_int64(st, 6, row->from_ns);
		sqlite3_bind_int64(st, 7, row->until_ns);
		sqlite3_bind_text(st, 8, row->sample_type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, row->total);
		sqlite3_bind_int64(st, 10, row->samples);
		sqlite3_bind_int64(st, 11, row->created_ns);
		sqlite3_bind_int64(st, 12, row->size);
		sqlite3_bind_int64(st, 13, row->json_size);
		sqlite3_bind_text(st, 14, row->sha256, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 15, row->json_sha256, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	int out = rc == SQLITE_DONE ? 0 : db_error(q, err, "insert");
	sqlite3_finalize(st);
	if (!out && row->until_ns - row->from_ns > q->max_span)
		q->max_span = row->until_ns - row->from_ns;
	pthread_mutex_unlock(&q->lock);
	if (out)
		remove_tree(q->dirfd, row->id);
	return out;
}

static int sq_list(struct cp_store *s, const struct cp_store_query *qq, cp_store_row_fn fn,
		   void *arg, struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	char sql[1024] = "SELECT " COLUMNS " FROM profiles WHERE 1";
	if (qq->service && *qq->service)
		strcat(sql, " AND service = ?1");
	/* rows overlapping [from, ...): until_ns > from, and so (no profile
	 * being longer than max_span) from_ns > from - max_span, which the
	 * index on (service, from_ns) narrows to the rows near the range */
	if (qq->from_ns)
		strcat(sql, " AND until_ns > ?2 AND from_ns > ?5");
	if (qq->until_ns)
		strcat(sql, " AND from_ns < ?3");
	/* each wanted label as ",k=v," inside ",labels," */
	char *labels = cp_xstrdup(qq->labels ? qq->labels : "");
	int nl = 0;
	for (char *save = NULL, *t = strtok_r(labels, ",", &save); t && nl < 16;
	     t = strtok_r(NULL, ",", &save), nl++)
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
			 " AND instr(',' || labels || ',', ?%d) > 0", 10 + nl);
	/* ties broken by rowid (the later insert first): the index entries end
	 * in it, so the rows come in index order; "id" as the tie-break made
	 * SQLite sort every match in a temporary b-tree */
	strcat(sql, " ORDER BY from_ns DESC, rowid DESC LIMIT ?4");
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *st = NULL;
	int rc = prepared(q, sql, &st), out = 0;
	if (rc == SQLITE_OK) {
		if (qq->service && *qq->service)
			sqlite3_bind_text(st, 1, qq->service, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, qq->from_ns);
		sqlite3_bind_int64(st, 3, qq->until_ns);
		sqlite3_bind_int64(st, 4, qq->limit);
		sqlite3_bind_int64(st, 5, qq->from_ns - q->max_span - 1);
		strcpy(labels, qq->labels ? qq->labels : "");
		int i = 0;
		for (char *save = NULL, *t = strtok_r(labels, ",", &save); t && i < 16;
		     t = strtok_r(NULL, ",", &save), i++) {
			char *pat = cp_xasprintf(",%s,", t);
			sqlite3_bind_text(st, 10 + i, pat, -1, SQLITE_TRANSIENT);
			free(pat);
		}
		/* rows are copied out and the lock dropped before fn runs: a
		 * callback may take its time (it writes to a socket) */
		CP_VEC(struct cp_store_row) rows = { 0 };
		CP_VEC_RESERVE(rows, 16); /* 256 rows of 1.2 KB were an mmap and page faults per request */
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			CP_VEC_RESERVE(rows, rows.n + 1);
			row_from(st, &rows.v[rows.n++]);
		}
		if (rc != SQLITE_DONE)
			out = db_error(q, err, "list");
		sqlite3_reset(st);
		pthread_mutex_unlock(&q->lock);
		for (size_t k = 0; !out && k < rows.n; k++)
			out = fn(&rows.v[k], arg);
		CP_VEC_FREE(rows);
	} else {
		out = db_error(q, err, "list");
		pthread_mutex_unlock(&q->lock);
	}
	free(labels);
	return out;
}

static int sq_get(struct cp_store *s, const char *id, struct cp_store_row *row,
		  struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *st = NULL;
	int rc = prepared(q, "SELECT " COLUMNS " FROM profiles WHERE id = ?1", &st), out;
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		row_from(st, row);
		out = 0;
	} else if (rc == SQLITE_DONE) {
		out = cp_error_set(err, CP_E_NOENT, "no profile '%s'", id);
	} else {
		out = db_error(q, err, "get");
	}
	if (st)
		sqlite3_reset(st);
	pthread_mutex_unlock(&q->lock);
	return out;
}

static int sq_read(struct cp_store *s, const struct cp_store_row *row, enum cp_store_blob which,
		   void **data, size_t *len, struct cp_error *err)
{
	return read_blob((struct sq *)s, row->id, which, data, len, err);
}

static int sq_delete(struct cp_store *s, const char *id, struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db, "DELETE FROM profiles WHERE id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	int changed = sqlite3_changes(q->db);
	int out = rc == SQLITE_DONE ? 0 : db_error(q, err, "delete");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->lock);
	if (out)
		return out;
	if (!changed)
		return cp_error_set(err, CP_E_NOENT, "no profile '%s'", id);
	remove_tree(q->dirfd, id); /* the row is gone: a crash here leaves an orphan */
	return 0;
}

static int sq_oldest(struct cp_store *s, int64_t before, int64_t max_bytes,
		     struct store_id **ids, size_t *n, struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *st = NULL;
	/* oldest first, with the bytes of the rows after each one: a row goes
	 * when it is too old or the newer ones and it exceed the cap */
	int rc = sqlite3_prepare_v2(
		q->db,
		"SELECT id, created_ns, SUM(size + json_size) OVER (ORDER BY created_ns DESC, id "
		"DESC ROWS UNBOUNDED PRECEDING) FROM profiles ORDER BY created_ns, id",
		-1, &st, NULL);
	CP_VEC(struct store_id) v = { 0 };
	int out = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t created = sqlite3_column_int64(st, 1), upto = sqlite3_column_int64(st, 2);
			if ((before && created < before) || (max_bytes && upto > max_bytes)) {
				struct store_id id;
				copy_text(id.s, sizeof(id.s), st, 0);
				CP_VEC_PUSH(v, id);
			}
		}
		if (rc != SQLITE_DONE)
			out = db_error(q, err, "retention");
	} else {
		out = db_error(q, err, "retention");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->lock);
	*ids = v.v;
	*n = v.n;
	return out;
}

static int sq_stats(struct cp_store *s, struct cp_store_stats *sts, struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(q->db,
				    "SELECT COUNT(*), COALESCE(SUM(size + json_size), 0) FROM profiles",
				    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int out = 0;
	if (rc == SQLITE_ROW) {
		sts->profiles = sqlite3_column_int64(st, 0);
		sts->bytes = sqlite3_column_int64(st, 1);
	} else {
		out = db_error(q, err, "stats");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->lock);
	return out;
}

static bool row_exists(struct sq *q, const char *id)
{
	struct cp_store_row r;
	struct cp_error e;
	return sq_get(&q->base, id, &r, &e) == 0;
}

static long sq_check(struct cp_store *s, cp_store_problem_fn fn, void *arg, struct cp_error *err)
{
	struct sq *q = (struct sq *)s;
	long problems = 0;
	int64_t last_created = INT64_MIN;
	char last_id[CP_STORE_ID_LEN + 1] = "";
	/* the rows, in batches, in a stable order */
	for (;;) {
		pthread_mutex_lock(&q->lock);
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(q->db,
					    "SELECT " COLUMNS " FROM profiles WHERE (created_ns, id) > "
					    "(?1, ?2) ORDER BY created_ns, id LIMIT 256",
					    -1, &st, NULL);
		CP_VEC(struct cp_store_row) rows = { 0 };
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, last_created);
			sqlite3_bind_text(st, 2, last_id, -1, SQLITE_TRANSIENT);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
				struct cp_store_row r;
				row_from(st, &r);
				CP_VEC_PUSH(rows, r);
			}
		}
		int bad = rc != SQLITE_DONE;
		if (bad)
			db_error(q, err, "check");
		sqlite3_finalize(st);
		pthread_mutex_unlock(&q->lock);
		if (bad) {
			CP_VEC_FREE(rows);
			return CP_E_IO;
		}
		for (size_t i = 0; i < rows.n; i++) {
			const struct cp_store_row *r = &rows.v[i];
			for (int b = 0; b < 2; b++) {
				void *data;
				size_t len;
				struct cp_error e;
				char line[160];
				int rrc = read_blob(q, r->id, (enum cp_store_blob)b, &data, &len, &e);
				if (rrc) {
					snprintf(line, sizeof(line), "%s: %s: %s", r->id, blob_name[b],
						 rrc == CP_E_NOENT ? "missing" : "cannot be read");
					fn(line, arg);
					problems++;
					continue;
				}
				char sum[65];
				cp_sha256_hex(data, len, sum);
				free(data);
				if ((int64_t)len != (b ? r->json_size : r->size) ||
				    strcmp(sum, b ? r->json_sha256 : r->sha256)) {
					snprintf(line, sizeof(line), "%s: %s: %s", r->id, blob_name[b],
						 (int64_t)len != (b ? r->json_size : r->size) ?
							 "size differs from the index" :
							 "checksum mismatch");
					fn(line, arg);
					problems++;
				}
			}
		}
		size_t n = rows.n;
		if (n) {
			last_created = rows.v[n - 1].created_ns;
			memcpy(last_id, rows.v[n - 1].id, sizeof(last_id));
		}
		CP_VEC_FREE(rows);
		if (n < 256)
			break;
	}
	/* directories no row names */
	int fd = openat(q->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!cp_store_valid_id(e->d_name) || row_exists(q, e->d_name))
			continue;
		char line[160];
		snprintf(line, sizeof(line), "%.16s: no index row (files without a profile)",
			 e->d_name);
		fn(line, arg);
		problems++;
	}
	if (d)
		closedir(d);
	return problems;
}

static void sq_close(struct cp_store *s)
{
	struct sq *q = (struct sq *)s;
	for (int i = 0; i < q->ncache; i++) {
		sqlite3_finalize(q->cache[i].st);
		free(q->cache[i].sql);
	}
	if (q->db)
		sqlite3_close(q->db);
	if (q->dirfd >= 0)
		close(q->dirfd);
	if (q->lockfd >= 0)
		close(q->lockfd);
	pthread_mutex_destroy(&q->lock);
	free(q->dir);
	free(q);
}

static const struct cp_store_ops sq_ops = {
	.put = sq_put,
	.list = sq_list,
	.get = sq_get,
	.read = sq_read,
	.delete = sq_delete,
	.oldest = sq_oldest,
	.stats = sq_stats,
	.check = sq_check,
	.close = sq_close,
};

static const char schema[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = FULL;"
	"CREATE TABLE IF NOT EXISTS profiles ("
	" id TEXT PRIMARY KEY, service TEXT NOT NULL, labels TEXT NOT NULL, host TEXT NOT NULL,"
	" pid INTEGER NOT NULL, from_ns INTEGER NOT NULL, until_ns INTEGER NOT NULL,"
	" sample_type TEXT NOT NULL, total INTEGER NOT NULL, samples INTEGER NOT NULL,"
	" created_ns INTEGER NOT NULL, size INTEGER NOT NULL, json_size INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL, json_sha256 TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS profiles_service_time ON profiles (service, from_ns);"
	"CREATE INDEX IF NOT EXISTS profiles_time ON profiles (from_ns);"
	"CREATE INDEX IF NOT EXISTS profiles_created ON profiles (created_ns, id);";

/* Directories of writes that never reached the index: never acknowledged. */
static void remove_orphans(struct sq *q)
{
	remove_tree(q->dirfd, "tmp");
	int fd = openat(q->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	CP_VEC(struct store_id) gone = { 0 };
	while (d && (e = readdir(d)))
		if (cp_store_valid_id(e->d_name) && !row_exists(q, e->d_name)) {
			struct store_id id;
			memcpy(id.s, e->d_name, sizeof(id.s));
			CP_VEC_PUSH(gone, id);
		}
	if (d)
		closedir(d);
	for (size_t i = 0; i < gone.n; i++) {
		cp_log(CP_LOG_INFO, "store %s: removing %s, written but never indexed", q->dir,
		       gone.v[i].s);
		remove_tree(q->dirfd, gone.v[i].s);
	}
	CP_VEC_FREE(gone);
	mkdirat(q->dirfd, "tmp", 0750);
	fsync(q->dirfd);
}

struct cp_store *store_sqlite_open(const char *dir, struct cp_error *err)
{
	struct sq *q = cp_xcalloc(1, sizeof(*q));
	q->base.ops = &sq_ops;
	q->dir = cp_xstrdup(dir);
	q->dirfd = q->lockfd = -1;
	pthread_mutex_init(&q->lock, NULL);
	if (mkdir(dir, 0750) && errno != EEXIST) {
		cp_error_errno(err, CP_E_IO, errno, "store %s", dir);
		goto fail;
	}
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0) {
		cp_error_errno(err, CP_E_IO, errno, "store %s", dir);
		goto fail;
	}
	q->lockfd = openat(q->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (q->lockfd < 0 || flock(q->lockfd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			cp_error_set(err, CP_E_IO, "store %s: in use by another process", dir);
		else
			cp_error_errno(err, CP_E_IO, errno, "store %s/lock", dir);
		goto fail;
	}
	char *path = cp_xasprintf("%s/index.sqlite", dir);
	int rc = sqlite3_open_v2(path, &q->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	free(path);
	char *msg = NULL;
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(q->db, 5000);
		rc = sqlite3_exec(q->db, schema, NULL, NULL, &msg);
	}
	if (rc != SQLITE_OK) {
		cp_error_set(err, rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? CP_E_FORMAT : CP_E_IO,
			     "store %s: index.sqlite: %s", dir,
			     msg ? msg : q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		sqlite3_free(msg);
		goto fail;
	}
	remove_orphans(q);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(q->db, "SELECT COALESCE(MAX(until_ns - from_ns), 0) FROM profiles",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		q->max_span = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return &q->base;
fail:
	sq_close(&q->base);
	return NULL;
}
