/* pg.c - the store on PostgreSQL (libpq): the index rows and the blobs
 * (bytea) in one table, so that several cprof serve replicas share a
 * store with no shared filesystem.  A profile is one INSERT: it is there
 * whole or not at all.  Each store has one connection, used by one
 * thread at a time; a broken connection is reset once and the request
 * tried again.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-int.h"

struct pgs {
	struct cp_store base;
	PGconn *c;
	pthread_mutex_t lock;
	char where[256]; /* for messages: host/db, never the password */
};

#define COLUMNS                                                                              \
	"id, service, labels, host, pid, from_ns, until_ns, sample_type, total, samples, " \
	"created_ns, size, json_size, sha256, json_sha256"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS cprof_profiles ("
	" id text PRIMARY KEY, service text NOT NULL, labels text NOT NULL, host text NOT NULL,"
	" pid bigint NOT NULL, from_ns bigint NOT NULL, until_ns bigint NOT NULL,"
	" sample_type text NOT NULL, total bigint NOT NULL, samples bigint NOT NULL,"
	" created_ns bigint NOT NULL, size bigint NOT NULL, json_size bigint NOT NULL,"
	" sha256 text NOT NULL, json_sha256 text NOT NULL, pprof bytea NOT NULL,"
	" json bytea NOT NULL);"
	"CREATE INDEX IF NOT EXISTS cprof_profiles_service_time ON cprof_profiles (service, from_ns);"
	"CREATE INDEX IF NOT EXISTS cprof_profiles_time ON cprof_profiles (from_ns);"
	"CREATE INDEX IF NOT EXISTS cprof_profiles_created ON cprof_profiles (created_ns, id);";

static int pg_error(struct pgs *p, struct cp_error *err, const char *what, const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(p->c);
	return cp_error_set(err, CP_E_IO, "store %s: %s: %.*s", p->where, what,
			    (int)strcspn(m ? m : "", "\n"), m ? m : "");
}

/* Run a statement with text parameters (NULL: none) and binary ones
 * (bin[i] with len[i]) after them; a connection that broke is reset and
 * the statement tried once more.  Lock held. */
static PGresult *run(struct pgs *p, const char *sql, int ntext, const char *const *text,
		     int nbin, const void *const *bin, const int *binlen, int result_binary)
{
	const char *vals[24];
	int lens[24], fmts[24];
	for (int i = 0; i < ntext; i++) {
		vals[i] = text[i];
		lens[i] = 0;
		fmts[i] = 0;
	}
	for (int i = 0; i < nbin; i++) {
		vals[ntext + i] = bin[i];
		lens[ntext + i] = binlen[i];
		fmts[ntext + i] = 1;
	}
	for (int attempt = 0;; attempt++) {
		PGresult *r = PQexecParams(p->c, sql, ntext + nbin, NULL, vals, lens, fmts,
					   result_binary);
		if (PQstatus(p->c) != CONNECTION_BAD || attempt)
			return r;
		PQclear(r);
		PQreset(p->c);
	}
}

static bool ok(const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static void copy_text(char *dst, size_t n, const PGresult *r, int row, int col)
{
	snprintf(dst, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int64_t num(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void row_from(const PGresult *r, int i, struct cp_store_row *w)
{
	memset(w, 0, sizeof(*w));
	copy_text(w->id, sizeof(w->id), r, i, 0);
	copy_text(w->service, sizeof(w->service), r, i, 1);
	copy_text(w->labels, sizeof(w->labels), r, i, 2);
	copy_text(w->host, sizeof(w->host), r, i, 3);
	w->pid = num(r, i, 4);
	w->from_ns = num(r, i, 5);
	w->until_ns = num(r, i, 6);
	copy_text(w->sample_type, sizeof(w->sample_type), r, i, 7);
	w->total = num(r, i, 8);
	w->samples = num(r, i, 9);
	w->created_ns = num(r, i, 10);
	w->size = num(r, i, 11);
	w->json_size = num(r, i, 12);
	copy_text(w->sha256, sizeof(w->sha256), r, i, 13);
	copy_text(w->json_sha256, sizeof(w->json_sha256), r, i, 14);
}

static int pg_put(struct cp_store *s, struct cp_store_row *row, const void *pb, size_t pblen,
		  const void *json, size_t jsonlen, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	char n[8][24];
	snprintf(n[0], 24, "%lld", (long long)row->pid);
	snprintf(n[1], 24, "%lld", (long long)row->from_ns);
	snprintf(n[2], 24, "%lld", (long long)row->until_ns);
	snprintf(n[3], 24, "%lld", (long long)row->total);
	snprintf(n[4], 24, "%lld", (long long)row->samples);
	snprintf(n[5], 24, "%lld", (long long)row->created_ns);
	snprintf(n[6], 24, "%lld", (long long)row->size);
	snprintf(n[7], 24, "%lld", (long long)row->json_size);
	const char *text[] = { row->id,	     row->service, row->labels, row->host, n[0],
			       n[1],	     n[2],	   row->sample_type, n[3], n[4],
			       n[5],	     n[6],	   n[7],	row->sha256, row->json_sha256 };
	const void *bin[] = { pb, json };
	int lens[] = { (int)pblen, (int)jsonlen };
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p,
			  "INSERT INTO cprof_profiles (" COLUMNS ", pprof, json) VALUES "
			  "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
			  "$16, $17)",
			  15, text, 2, bin, lens, 0);
	int rc = ok(r) ? 0 : pg_error(p, err, "insert", r);
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int pg_list(struct cp_store *s, const struct cp_store_query *qq, cp_store_row_fn fn,
		   void *arg, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	char sql[1400] = "SELECT " COLUMNS " FROM cprof_profiles WHERE TRUE";
	const char *text[24];
	char nums[3][24], *pats[16] = { 0 };
	int n = 0;
	if (qq->service && *qq->service) {
		text[n++] = qq->service;
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND service = $%d", n);
	}
	if (qq->from_ns) {
		snprintf(nums[0], 24, "%lld", (long long)qq->from_ns);
		text[n++] = nums[0];
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND until_ns > $%d", n);
	}
	if (qq->until_ns) {
		snprintf(nums[1], 24, "%lld", (long long)qq->until_ns);
		text[n++] = nums[1];
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " AND from_ns < $%d", n);
	}
	char *labels = cp_xstrdup(qq->labels ? qq->labels : "");
	int nl = 0;
	for (char *save = NULL, *t = strtok_r(labels, ",", &save); t && nl < 16;
	     t = strtok_r(NULL, ",", &save), nl++) {
		pats[nl] = cp_xasprintf(",%s,", t);
		text[n++] = pats[nl];
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
			 " AND strpos(',' || labels || ',', $%d) > 0", n);
	}
	snprintf(nums[2], 24, "%ld", qq->limit);
	text[n++] = nums[2];
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
		 " ORDER BY from_ns DESC, id LIMIT $%d", n);
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p, sql, n, text, 0, NULL, NULL, 0);
	int rc = ok(r) ? 0 : pg_error(p, err, "list", r);
	CP_VEC(struct cp_store_row) rows = { 0 };
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		CP_VEC_RESERVE(rows, rows.n + 1);
		row_from(r, i, &rows.v[rows.n++]);
	}
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; !rc && i < rows.n; i++)
		rc = fn(&rows.v[i], arg);
	CP_VEC_FREE(rows);
	for (int i = 0; i < nl; i++)
		free(pats[i]);
	free(labels);
	return rc;
}

static int pg_get(struct cp_store *s, const char *id, struct cp_store_row *row,
		  struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p, "SELECT " COLUMNS " FROM cprof_profiles WHERE id = $1", 1, &id, 0,
			  NULL, NULL, 0);
	int rc;
	if (!ok(r))
		rc = pg_error(p, err, "get", r);
	else if (!PQntuples(r))
		rc = cp_error_set(err, CP_E_NOENT, "no profile '%s'", id);
	else {
		row_from(r, 0, row);
		rc = 0;
	}
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int pg_read(struct cp_store *s, const struct cp_store_row *row, enum cp_store_blob which,
		   void **data, size_t *len, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	const char *id = row->id;
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p,
			  which == CP_STORE_PPROF ? "SELECT pprof FROM cprof_profiles WHERE id = $1" :
						    "SELECT json FROM cprof_profiles WHERE id = $1",
			  1, &id, 0, NULL, NULL, 1);
	int rc;
	if (!ok(r)) {
		rc = pg_error(p, err, "read", r);
	} else if (!PQntuples(r)) {
		rc = cp_error_set(err, CP_E_NOENT, "no profile '%s'", id);
	} else {
		size_t n = (size_t)PQgetlength(r, 0, 0);
		char *b = cp_xmalloc(n + 1);
		memcpy(b, PQgetvalue(r, 0, 0), n);
		b[n] = '\0';
		*data = b;
		*len = n;
		rc = 0;
	}
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int pg_delete(struct cp_store *s, const char *id, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p, "DELETE FROM cprof_profiles WHERE id = $1", 1, &id, 0, NULL, NULL, 0);
	int rc = !ok(r)			     ? pg_error(p, err, "delete", r) :
		 strcmp(PQcmdTuples(r), "0") ? 0 :
					       cp_error_set(err, CP_E_NOENT, "no profile '%s'", id);
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int pg_oldest(struct cp_store *s, int64_t before, int64_t max_bytes, struct store_id **ids,
		     size_t *n, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	char b[24], m[24];
	snprintf(b, sizeof(b), "%lld", (long long)before);
	snprintf(m, sizeof(m), "%lld", (long long)max_bytes);
	const char *text[] = { b, m };
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p,
			  "SELECT id FROM (SELECT id, created_ns, SUM(size + json_size) OVER "
			  "(ORDER BY created_ns DESC, id DESC ROWS UNBOUNDED PRECEDING) AS upto "
			  "FROM cprof_profiles) t WHERE ($1::bigint > 0 AND created_ns < $1::bigint) "
			  "OR ($2::bigint > 0 AND upto > $2::bigint) ORDER BY created_ns, id",
			  2, text, 0, NULL, NULL, 0);
	int rc = ok(r) ? 0 : pg_error(p, err, "retention", r);
	CP_VEC(struct store_id) v = { 0 };
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		struct store_id id;
		copy_text(id.s, sizeof(id.s), r, i, 0);
		CP_VEC_PUSH(v, id);
	}
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	*ids = v.v;
	*n = v.n;
	return rc;
}

static int pg_stats(struct cp_store *s, struct cp_store_stats *st, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	pthread_mutex_lock(&p->lock);
	PGresult *r = run(p, "SELECT COUNT(*), COALESCE(SUM(size + json_size), 0) FROM "
			     "cprof_profiles",
			  0, NULL, 0, NULL, NULL, 0);
	int rc = ok(r) && PQntuples(r) == 1 ? 0 : pg_error(p, err, "stats", r);
	if (!rc) {
		st->profiles = num(r, 0, 0);
		st->bytes = num(r, 0, 1);
	}
	PQclear(r);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static long pg_check(struct cp_store *s, cp_store_problem_fn fn, void *arg, struct cp_error *err)
{
	struct pgs *p = (struct pgs *)s;
	long problems = 0;
	char last_created[24] = "-9223372036854775808", last_id[CP_STORE_ID_LEN + 1] = "";
	for (;;) {
		const char *text[] = { last_created, last_id };
		pthread_mutex_lock(&p->lock);
		PGresult *r = run(p,
				  "SELECT " COLUMNS ", pprof, json FROM cprof_profiles WHERE "
				  "(created_ns, id) > ($1::bigint, $2) ORDER BY created_ns, id LIMIT 64",
				  2, text, 0, NULL, NULL, 1);
		pthread_mutex_unlock(&p->lock);
		if (!ok(r)) {
			pg_error(p, err, "check", r);
			PQclear(r);
			return CP_E_IO;
		}
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			/* binary results: numbers are big-endian, text as is */
			struct cp_store_row w = { 0 };
			copy_text(w.id, sizeof(w.id), r, i, 0);
			uint64_t created = 0, size = 0, jsize = 0;
			for (int k = 0; k < 8; k++) {
				created = created << 8 | (uint8_t)PQgetvalue(r, i, 10)[k];
				size = size << 8 | (uint8_t)PQgetvalue(r, i, 11)[k];
				jsize = jsize << 8 | (uint8_t)PQgetvalue(r, i, 12)[k];
			}
			copy_text(w.sha256, sizeof(w.sha256), r, i, 13);
			copy_text(w.json_sha256, sizeof(w.json_sha256), r, i, 14);
			static const char *const names[] = { "profile.pb.gz", "profile.json" };
			for (int b = 0; b < 2; b++) {
				const char *data = PQgetvalue(r, i, 15 + b);
				size_t len = (size_t)PQgetlength(r, i, 15 + b);
				char sum[65], line[160];
				cp_sha256_hex(data, len, sum);
				if (len != (b ? jsize : size) || strcmp(sum, b ? w.json_sha256 : w.sha256)) {
					snprintf(line, sizeof(line), "%s: %s: %s", w.id, names[b],
						 len != (b ? jsize : size) ? "size differs from the index" :
									     "checksum mismatch");
					fn(line, arg);
					problems++;
				}
			}
			snprintf(last_created, sizeof(last_created), "%lld", (long long)created);
			memcpy(last_id, w.id, sizeof(last_id));
		}
		PQclear(r);
		if (n < 64)
			break;
	}
	return problems;
}

static void pg_close(struct cp_store *s)
{
	struct pgs *p = (struct pgs *)s;
	if (p->c)
		PQfinish(p->c);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const struct cp_store_ops pg_ops = {
	.put = pg_put,
	.list = pg_list,
	.get = pg_get,
	.read = pg_read,
	.delete = pg_delete,
	.oldest = pg_oldest,
	.stats = pg_stats,
	.check = pg_check,
	.close = pg_close,
};

struct cp_store *store_pg_open(const char *url, struct cp_error *err)
{
	struct pgs *p = cp_xcalloc(1, sizeof(*p));
	p->base.ops = &pg_ops;
	pthread_mutex_init(&p->lock, NULL);
	p->c = PQconnectdb(url);
	snprintf(p->where, sizeof(p->where), "%s:%s/%s", PQhost(p->c) ? PQhost(p->c) : "?",
		 PQport(p->c) ? PQport(p->c) : "?", PQdb(p->c) ? PQdb(p->c) : "?");
	if (PQstatus(p->c) != CONNECTION_OK) {
		pg_error(p, err, "cannot connect", NULL);
		pg_close(&p->base);
		return NULL;
	}
	/* replicas starting together: one creates the table, under a lock */
	PGresult *r = PQexec(p->c, "SELECT pg_advisory_lock(7362917)");
	PQclear(r);
	r = PQexec(p->c, schema);
	int rc = ok(r) ? 0 : pg_error(p, err, "schema", r);
	PQclear(r);
	r = PQexec(p->c, "SELECT pg_advisory_unlock(7362917)");
	PQclear(r);
	if (rc) {
		pg_close(&p->base);
		return NULL;
	}
	return &p->base;
}
