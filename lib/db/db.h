/* db.h - a thin SQL wrapper over SQLite and PostgreSQL (libpq) for the
 * parts of cprof serve that keep state in the store's database (fleet
 * control: commands, tokens, audit).  One SQL text serves both engines:
 * parameters are written $1, $2, ... (SQLite binds them by name), values
 * go in and come out as text, and the SQL sticks to what both understand
 * (INSERT ... ON CONFLICT, UPDATE ... RETURNING, bigint/text columns).
 *
 * A cp_db is one connection shared by the threads of a process under a
 * lock; cp_db_tx runs a function as one transaction (SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: SERIALIZABLE, retried when the server reports a
 * serialization failure), so that several server processes on one
 * PostgreSQL database never both act on what only one may (hand out one
 * command, merge two requests).
 */
#ifndef CPROF_DB_H
#define CPROF_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct cp_db;

/* where: a postgresql:// (or postgres://) URL, else the path of an SQLite
 * database file (created when missing; WAL).  CP_E_IO naming it (never a
 * password) when it cannot be opened. */
struct cp_db *cp_db_open(const char *where, struct cp_error *err);
void cp_db_close(struct cp_db *db);
bool cp_db_is_pg(const struct cp_db *db);

/* The rows a statement returned, as text (NULL for SQL NULL). */
struct cp_db_res {
	size_t nrows, ncols;
	char **cells; /* nrows * ncols */
	long changes; /* rows an INSERT/UPDATE/DELETE touched */
};
const char *cp_db_get(const struct cp_db_res *r, size_t row, size_t col); /* "" for NULL */
int64_t cp_db_get_i64(const struct cp_db_res *r, size_t row, size_t col);
void cp_db_res_free(struct cp_db_res *r);

/* Run one statement with nparams text parameters ($1..; a NULL entry is
 * SQL NULL); its rows into *res when res is given (free them with
 * cp_db_res_free).  CP_E_IO with the engine's message. */
int cp_db_exec(struct cp_db *db, const char *sql, const char *const *params, int nparams,
	       struct cp_db_res *res, struct cp_error *err);
/* Several statements without parameters (a schema). */
int cp_db_script(struct cp_db *db, const char *sql, struct cp_error *err);

/* fn as one transaction: committed when it returns 0, rolled back
 * otherwise (its return is then cp_db_tx's).  fn may run more than once
 * on PostgreSQL (a serialization failure retries it from the start), so
 * it changes nothing outside the database before it returns. */
typedef int (*cp_db_tx_fn)(struct cp_db *db, void *arg, struct cp_error *err);
int cp_db_tx(struct cp_db *db, cp_db_tx_fn fn, void *arg, struct cp_error *err);

#endif
