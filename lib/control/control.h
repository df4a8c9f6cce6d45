/* control.h - fleet control, the server side: profiling requests for
 * hosts of a service become one command per host (requests for a host not
 * yet handed out merge into one), agents take them by heartbeat and
 * report their completion.  The protocol is the one of gProfiler's
 * Performance Studio (POST /api/metrics/profile_request, heartbeat,
 * command_completion); lib/serve/fleet.c speaks its JSON, this module
 * keeps the state, in the store's database (lib/db: SQLite beside the
 * store, or the PostgreSQL database several servers share).
 *
 * A command's states: pending (made, not yet handed out) -> sent (in a
 * heartbeat's answer; handed out again until the host acknowledges it
 * with last_command_id) -> running (acknowledged: never handed out again)
 * -> completed | failed (the agent's completion) | expired (no completion
 * in time) ; or cancelled (a stop came before it was handed out, or a
 * newer command for the host replaced it before it was).
 *
 * Tokens: "cprof_" + 12 hex digits of id + "_" + 64 hex digits of
 * secret; the database keeps the id, the service, the role and the
 * secret's SHA-256, never the secret.  An agent token heartbeats and
 * completes for its service only; a requester token requests and reads
 * for its service only.
 */
#ifndef CPROF_CONTROL_H
#define CPROF_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct cp_control;

struct cp_control_opts {
	double rate_per_s; /* requests per second per token (0: 1) */
	int burst;         /* requests in a burst per token (0: 10) */
	int64_t expire_grace_ns; /* after a command's duration (0: 120 s) */
};

/* where: as cp_db_open (the store's index.sqlite, or a postgresql:// URL);
 * the tables are made when missing. */
struct cp_control *cp_control_open(const char *where, const struct cp_control_opts *o,
				   struct cp_error *err);
void cp_control_close(struct cp_control *c);

/* ---- tokens ------------------------------------------------------------------ */

enum cp_control_role { CP_ROLE_AGENT, CP_ROLE_REQUESTER };
#define CP_TOKEN_ID_LEN 12
#define CP_TOKEN_LEN (6 + CP_TOKEN_ID_LEN + 1 + 64)

struct cp_control_token {
	char id[CP_TOKEN_ID_LEN + 1];
	char service[128];
	enum cp_control_role role;
	int64_t created_ns, revoked_ns; /* revoked_ns 0: valid */
};

/* A new token for service and role: its text (shown once) in secret. */
int cp_control_token_create(struct cp_control *c, const char *service, enum cp_control_role role,
			    char secret[CP_TOKEN_LEN + 1], struct cp_control_token *tok,
			    struct cp_error *err);
/* CP_E_NOENT when there is no such token. */
int cp_control_token_revoke(struct cp_control *c, const char *id, struct cp_error *err);
typedef void (*cp_control_token_fn)(const struct cp_control_token *t, void *arg);
int cp_control_token_list(struct cp_control *c, cp_control_token_fn fn, void *arg,
			  struct cp_error *err);
/* The token a request presents (the text after "Bearer "): CP_E_PERM when
 * it is malformed, unknown or revoked. */
int cp_control_token_check(struct cp_control *c, const char *text, struct cp_control_token *tok,
			   struct cp_error *err);
/* Whether the token may make another request now (its rate); false: 429. */
bool cp_control_rate_ok(struct cp_control *c, const struct cp_control_token *tok);

/* ---- requests ------------------------------------------------------------------ */

#define CP_CONTROL_MAX_PIDS 64
#define CP_CONTROL_MAX_HOSTS 256
#define CP_UUID_LEN 36

enum cp_control_type { CP_CMD_START, CP_CMD_STOP };

struct cp_control_host {
	char name[256];
	int npids;
	int32_t pids[CP_CONTROL_MAX_PIDS]; /* none: the whole host */
};

struct cp_control_request {
	char service[128];
	enum cp_control_type type;
	long duration;  /* s, 1..86400 */
	long frequency; /* Hz, 1..1000 */
	char mode[16];  /* "cpu", "heap" */
	bool host_level_stop; /* stop_level "host" (else "process": the pids) */
	char additional_args[512];
	int nhosts;
	struct cp_control_host hosts[CP_CONTROL_MAX_HOSTS];
	char who[CP_TOKEN_ID_LEN + 1]; /* the requester's token id */
	char body[4096];               /* the request as received, for the audit table */
};

struct cp_control_result {
	char request_id[CP_UUID_LEN + 1];
	int ncommands;
	char command_ids[CP_CONTROL_MAX_HOSTS][CP_UUID_LEN + 1]; /* per host, "" none */
	int64_t estimated_completion_ns;
	char message[256];
};

/* Apply a request: per host, a new command or the merge into the host's
 * pending one.  CP_E_USAGE for bad values, CP_E_NOENT naming the hosts
 * never seen heartbeating for the service; nothing changes then. */
int cp_control_request(struct cp_control *c, const struct cp_control_request *rq,
		       struct cp_control_result *res, struct cp_error *err);

/* ---- agents ---------------------------------------------------------------------- */

struct cp_control_heartbeat {
	char service[128];
	char hostname[256];
	char ip[64];
	char last_command_id[CP_UUID_LEN + 1];
	char status[32];
};

struct cp_control_command {
	char command_id[CP_UUID_LEN + 1]; /* "" : nothing to do */
	enum cp_control_type type;
	long duration, frequency;
	char mode[16];
	int npids;
	int32_t pids[CP_CONTROL_MAX_PIDS];
	char additional_args[512];
};

/* A heartbeat: acknowledges last_command_id, answers the host's next
 * command (or none).  Writes to the database only when something
 * changes (the host's first heartbeat, an acknowledgement, a command
 * handed out); last-seen times are kept in memory and written in
 * batches. */
int cp_control_heartbeat(struct cp_control *c, const struct cp_control_heartbeat *hb,
			 struct cp_control_command *cmd, struct cp_error *err);

struct cp_control_completion {
	char service[128]; /* the agent token's */
	char command_id[CP_UUID_LEN + 1];
	char hostname[256];
	bool failed;
	double execution_time;
	char error_message[512];
	char results_path[512];
};
/* CP_E_NOENT: no such command for the host; a repeated completion of
 * a finished command is accepted and changes nothing. */
int cp_control_complete(struct cp_control *c, const struct cp_control_completion *cc,
			struct cp_error *err);

/* ---- reading ---------------------------------------------------------------------- */

struct cp_control_row {
	char command_id[CP_UUID_LEN + 1];
	char service[128], hostname[256];
	enum cp_control_type type;
	long duration, frequency;
	char mode[16];
	char pids[512]; /* "1,2,3", "" the whole host */
	char state[16];
	int64_t created_ns, sent_ns, acked_ns, ended_ns;
	double execution_time;
	char error_message[512], results_path[512], request_ids[1024];
};
typedef void (*cp_control_row_fn)(const struct cp_control_row *r, void *arg);
/* The commands of service ("" all), newest first, at most limit. */
int cp_control_commands(struct cp_control *c, const char *service, long limit,
			cp_control_row_fn fn, void *arg, struct cp_error *err);

struct cp_control_host_row {
	char hostname[256], ip[64], status[32];
	int64_t first_seen_ns, last_seen_ns;
};
typedef void (*cp_control_host_fn)(const struct cp_control_host_row *h, void *arg);
/* The hosts that have sent a heartbeat for service, by name (last_seen_ns
 * at most a second behind). */
int cp_control_hosts(struct cp_control *c, const char *service, cp_control_host_fn fn, void *arg,
		     struct cp_error *err);

/* ---- the agent (cprof agent) ------------------------------------------------------ */

struct cp_agent_opts {
	const char *server;    /* http(s)://HOST:PORT of cprof serve --control */
	const char *service;   /* its agent token's */
	const char *hostname;  /* as requests name this host */
	const char *token;     /* an agent token */
	const char *ca_file;   /* PEM CA for https, NULL: the system's */
	uint64_t heartbeat_ns; /* between heartbeats (0: 30 s) */
	const char *state_dir; /* the journal and the results not yet delivered */
	uint64_t spool_max;    /* bytes of results kept (0: 256 MiB) */
	const char *pyroscope; /* also send each profile to this Pyroscope URL, NULL none */
	const char *cache_dir; /* the symbol cache, NULL none */
	uint64_t heap_sample;  /* heap mode: mean bytes between samples (0: 512 KiB) */
};

struct cp_agent;

/* Check the options, open the journal in state_dir (created when
 * missing): a command it received and never finished (the agent was
 * killed) gets a failed completion, "agent restarted"; none is run
 * again. */
struct cp_agent *cp_agent_new(const struct cp_agent_opts *o, struct cp_error *err);
/* Heartbeat, run the commands, deliver their results, until stop_fd
 * (a signalfd, an eventfd) is readable; then stop a running profiler
 * (its result is kept for the next run if it cannot be delivered). */
int cp_agent_run(struct cp_agent *a, int stop_fd, struct cp_error *err);
void cp_agent_free(struct cp_agent *a);

/* Write the batched last-seen times and expire overdue commands, at most
 * once a second (the server calls it on each fleet request;
 * cp_control_close does it once more). */
void cp_control_tick(struct cp_control *c);

#endif
