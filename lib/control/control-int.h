/* control-int.h - what control.c, agents.c and tokens.c share. */
#ifndef CPROF_CONTROL_INT_H
#define CPROF_CONTROL_INT_H

#include <pthread.h>

#include "control/control.h"
#include "db/db.h"

/* a host's last heartbeat, kept in memory and written in batches */
struct seen {
	char *key; /* service '\n' hostname */
	char ip[64], status[32];
	int64_t last_ns;
	bool dirty;
};

/* a token's request budget */
struct bucket {
	char id[CP_TOKEN_ID_LEN + 1];
	double tokens;
	uint64_t at_ns;
};

struct cp_control {
	struct cp_db *db;
	double rate;
	int burst;
	int64_t grace_ns;
	pthread_mutex_t lock; /* seen, buckets, last_tick_ns */
	CP_VEC(struct seen) seen;
	struct bucket buckets[256];
	int64_t last_tick_ns;
};

#define CMD_COLUMNS                                                                          \
	"command_id, service, hostname, type, duration, frequency, mode, pids, "           \
	"additional_args, state, created_ns, sent_ns, acked_ns, ended_ns, execution_time, " \
	"error_message, results_path, request_ids"

void control_uuid(char out[CP_UUID_LEN + 1]);
/* a row of CMD_COLUMNS */
void control_row_from(const struct cp_db_res *r, size_t i, struct cp_control_row *w);
int control_pids_parse(const char *text, int32_t *pids);
/* cp_control_tick's work; force: even within a second of the last */
void control_tick(struct cp_control *c, bool force);

#endif
