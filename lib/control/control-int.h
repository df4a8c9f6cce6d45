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

/* ---- the agent's side ---- */

struct journal_entry {
	char id[CP_UUID_LEN + 1];
	char st; /* R received, F finished, D delivered */
};
struct journal {
	struct journal_entry *v;
	size_t n, cap;
	int fd;
	char *path;
	long lines;
};
int journal_open(struct journal *j, const char *dir, struct cp_error *err);
char journal_state(const struct journal *j, const char *id); /* 0: never seen */
int journal_mark(struct journal *j, const char *id, char st, struct cp_error *err);
void journal_close(struct journal *j);

struct job;
struct cp_profile;
/* Start a command's profiler; wake_fd (an eventfd) is written when it
 * ends by itself.  CP_E_USAGE for an unknown mode or bad pids. */
struct job *job_start(const struct cp_control_command *cmd, const struct cp_agent_opts *o,
		      int wake_fd, struct cp_error *err);
bool job_done(struct job *j);
void job_stop(struct job *j);
const struct cp_profile *job_finish(struct job *j, double *seconds, char *why, size_t whysz);
const char *job_id(const struct job *j);
void job_free(struct job *j);

#endif
