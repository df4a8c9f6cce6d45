/* db.c - db.h's two engines: SQLite (statements prepared once and kept,
 * parameters bound by their $N names) and PostgreSQL (PQexecParams, a
 * broken connection reset once outside a transaction). */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"

#define CACHE 32

struct cp_db {
	bool pg;
	sqlite3 *lite;
	PGconn *conn;
	pthread_mutex_t lock; /* recursive: cp_db_exec inside cp_db_tx */
	int depth;            /* open transactions (lock held) */
	bool retry;           /* the last error was a serialization failure */
	char where[256];      /* for messages: a path, or host/db (never a password) */
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[CACHE];
	int ncache;
};

bool cp_db_is_pg(const struct cp_db *db)
{
	return db->pg;
}

const char *cp_db_get(const struct cp_db_res *r, size_t row, size_t col)
{
	if (row >= r->nrows || col >= r->ncols)
		return "";
	const char *c = r->cells[row * r->ncols + col];
	return c ? c : "";
}

int64_t cp_db_get_i64(const struct cp_db_res *r, size_t row, size_t col)
{
	return strtoll(cp_db_get(r, row, col), NULL, 10);
}

void cp_db_res_free(struct cp_db_res *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

/* ---- SQLite -------------------------------------------------------------------- */

static int lite_error(struct cp_db *db, struct cp_error *err, const char *sql)
{
	return cp_error_set(err, CP_E_IO, "database %s: %s (in: %.60s)", db->where,
			    sqlite3_errmsg(db->lite), sql);
}

static sqlite3_stmt *lite_prepare(struct cp_db *db, const char *sql)
{
	for (int i = 0; i < db->ncache; i++)
		if (!strcmp(db->cache[i].sql, sql)) {
			sqlite3_reset(db->cache[i].st);
			sqlite3_clear_bindings(db->cache[i].st);
			return db->cache[i].st;
		}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db->lite, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	if (db->ncache == CACHE) {
		sqlite3_finalize(db->cache[0].st);
		free(db->cache[0].sql);
		memmove(db->cache, db->cache + 1, sizeof(db->cache[0]) * (CACHE - 1));
		db->ncache--;
	}
	db->cache[db->ncache].sql = cp_xstrdup(sql);
	db->cache[db->ncache].st = st;
	db->ncache++;
	return st;
}

static int lite_exec(struct cp_db *db, const char *sql, const char *const *params, int nparams,
		     struct cp_db_res *res, struct cp_error *err)
{
	sqlite3_stmt *st = lite_prepare(db, sql);
	if (!st)
		return lite_error(db, err, sql);
	for (int i = 0; i < nparams; i++) {
		char name[16];
		snprintf(name, sizeof(name), "$%d", i + 1);
		int idx = sqlite3_bind_parameter_index(st, name);
		if (idx > 0 && params[i])
			sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT);
	}
	size_t ncols = (size_t)sqlite3_column_count(st), cap = 0;
	if (res) {
		memset(res, 0, sizeof(*res));
		res->ncols = ncols;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!res)
			continue;
		if ((res->nrows + 1) * ncols > cap)
			cp_grow((void **)&res->cells, sizeof(char *), (res->nrows + 1) * ncols, &cap);
		for (size_t c = 0; c < ncols; c++) {
			const unsigned char *t = sqlite3_column_text(st, (int)c);
			res->cells[res->nrows * ncols + c] = t ? cp_xstrdup((const char *)t) : NULL;
		}
		res->nrows++;
	}
	if (rc != SQLITE_DONE) {
		int out = lite_error(db, err, sql);
		sqlite3_reset(st);
		cp_db_res_free(res);
		return out;
	}
	if (res)
		res->changes = sqlite3_changes(db->lite);
	sqlite3_reset(st);
	return 0;
}

/* ---- PostgreSQL ------------------------------------------------------------------- */

static int pg_error(struct cp_db *db, struct cp_error *err, const PGresult *r, const char *sql)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn);
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	/* serialization failure, deadlock: cp_db_tx tries again */
	db->retry = state && (!strcmp(state, "40001") || !strcmp(state, "40P01"));
	return cp_error_set(err, CP_E_IO, "database %s: %.*s (in: %.60s)", db->where,
			    (int)strcspn(m ? m : "", "\n"), m ? m : "", sql);
}

static int pg_exec(struct cp_db *db, const char *sql, const char *const *params, int nparams,
		   struct cp_db_res *res, struct cp_error *err)
{
	PGresult *r = NULL;
	for (int attempt = 0;; attempt++) {
		r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
		/* a connection that broke is reset and the statement tried once
		 * more, unless a transaction was open on it (then it is lost) */
		if (PQstatus(db->conn) != CONNECTION_BAD || attempt || db->depth)
			break;
		PQclear(r);
		PQreset(db->conn);
	}
	ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		int out = pg_error(db, err, r, sql);
		PQclear(r);
		return out;
	}
	if (res) {
		memset(res, 0, sizeof(*res));
		res->nrows = (size_t)PQntuples(r);
		res->ncols = (size_t)PQnfields(r);
		res->cells = cp_xcalloc(res->nrows * res->ncols + 1, sizeof(char *));
		for (size_t i = 0; i < res->nrows; i++)
			for (size_t c = 0; c < res->ncols; c++)
				if (!PQgetisnull(r, (int)i, (int)c))
					res->cells[i * res->ncols + c] =
						cp_xstrdup(PQgetvalue(r, (int)i, (int)c));
		res->changes = atol(PQcmdTuples(r));
	}
	PQclear(r);
	return 0;
}

/* ---- the front ---------------------------------------------------------------------- */

int cp_db_exec(struct cp_db *db, const char *sql, const char *const *params, int nparams,
	       struct cp_db_res *res, struct cp_error *err)
{
	pthread_mutex_lock(&db->lock);
	int rc = db->pg ? pg_exec(db, sql, params, nparams, res, err) :
			  lite_exec(db, sql, params, nparams, res, err);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int cp_db_script(struct cp_db *db, const char *sql, struct cp_error *err)
{
	pthread_mutex_lock(&db->lock);
	int rc = 0;
	if (db->pg) {
		PGresult *r = PQexec(db->conn, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			rc = pg_error(db, err, r, sql);
		PQclear(r);
	} else {
		char *msg = NULL;
		if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK)
			rc = cp_error_set(err, CP_E_IO, "database %s: %s", db->where,
					  msg ? msg : "error");
		sqlite3_free(msg);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int cp_db_tx(struct cp_db *db, cp_db_tx_fn fn, void *arg, struct cp_error *err)
{
	pthread_mutex_lock(&db->lock);
	int rc = 0;
	for (int attempt = 0; attempt < 50; attempt++) {
		db->retry = false;
		rc = cp_db_exec(db, db->pg ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN IMMEDIATE",
				NULL, 0, NULL, err);
		if (rc)
			break;
		db->depth++;
		rc = fn(db, arg, err);
		bool retry = db->retry;
		if (!rc)
			rc = cp_db_exec(db, "COMMIT", NULL, 0, NULL, err);
		retry |= db->retry;
		if (rc) {
			struct cp_error ignored = { 0 };
			cp_db_exec(db, "ROLLBACK", NULL, 0, NULL, &ignored);
		}
		db->depth--;
		if (!rc || !retry)
			break;
		/* another server took the rows first: again, after a short
		 * random pause so that the two do not collide again */
		struct timespec ts = { 0, (long)(rand() % 2000 + 100) * 1000L * (attempt + 1) };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

struct cp_db *cp_db_open(const char *where, struct cp_error *err)
{
	struct cp_db *db = cp_xcalloc(1, sizeof(*db));
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (!strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11)) {
		db->pg = true;
		db->conn = PQconnectdb(where);
		snprintf(db->where, sizeof(db->where), "%s/%s",
			 PQhost(db->conn) ? PQhost(db->conn) : "?", PQdb(db->conn) ? PQdb(db->conn) : "?");
		if (PQstatus(db->conn) != CONNECTION_OK) {
			const char *m = PQerrorMessage(db->conn);
			cp_error_set(err, CP_E_IO, "database %s: %.*s", db->where,
				     (int)strcspn(m, "\n"), m);
			cp_db_close(db);
			return NULL;
		}
		struct cp_error ignored = { 0 };
		cp_db_script(db, "SET client_min_messages = warning", &ignored);
		return db;
	}
	snprintf(db->where, sizeof(db->where), "%s", where);
	if (sqlite3_open_v2(where, &db->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						      SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		cp_error_set(err, CP_E_IO, "database %s: %s", where,
			     db->lite ? sqlite3_errmsg(db->lite) : "cannot be opened");
		cp_db_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db->lite, 5000);
	if (cp_db_script(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", err)) {
		cp_db_close(db);
		return NULL;
	}
	return db;
}

void cp_db_close(struct cp_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < db->ncache; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	if (db->lite)
		sqlite3_close(db->lite);
	if (db->conn)
		PQfinish(db->conn);
	pthread_mutex_destroy(&db->lock);
	free(db);
}
