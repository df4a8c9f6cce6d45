/* store-int.h - what the store's files share: the backend operations
 * (sqlite.c: files + SQLite; a PostgreSQL backend implements the same),
 * and the helpers of store.c. */
#ifndef CPROF_STORE_INT_H
#define CPROF_STORE_INT_H

#include "store/store.h"

struct store_id {
	char s[CP_STORE_ID_LEN + 1];
};

struct cp_store_ops {
	int (*put)(struct cp_store *s, struct cp_store_row *row, const void *pb, size_t pblen,
		   const void *json, size_t jsonlen, struct cp_error *err);
	int (*list)(struct cp_store *s, const struct cp_store_query *q, cp_store_row_fn fn,
		    void *arg, struct cp_error *err);
	int (*get)(struct cp_store *s, const char *id, struct cp_store_row *row,
		   struct cp_error *err);
	int (*read)(struct cp_store *s, const struct cp_store_row *row, enum cp_store_blob which,
		    void **data, size_t *len, struct cp_error *err);
	int (*delete)(struct cp_store *s, const char *id, struct cp_error *err);
	/* ids of the rows to go, oldest first: created before, then over bytes */
	int (*oldest)(struct cp_store *s, int64_t created_before_ns, int64_t max_bytes,
		      struct store_id **ids, size_t *n, struct cp_error *err);
	int (*stats)(struct cp_store *s, struct cp_store_stats *st, struct cp_error *err);
	long (*check)(struct cp_store *s, cp_store_problem_fn fn, void *arg, struct cp_error *err);
	void (*close)(struct cp_store *s);
};

struct cp_store {
	const struct cp_store_ops *ops;
	void *impl;
};

/* sqlite.c */
struct cp_store *store_sqlite_open(const char *dir, struct cp_error *err);
/* pg.c: a postgresql:// URL (libpq's connection URI) */
struct cp_store *store_pg_open(const char *url, struct cp_error *err);

#endif
