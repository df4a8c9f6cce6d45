/* agents.c - fleet control's agent side of the server: heartbeats (the
 * next command for a host, handed out until acknowledged), completions,
 * and the periodic tick that writes last-seen times and expires commands
 * nobody completes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control-int.h"

/* Remember a host's heartbeat; true when the host is new to this process
 * (its row is then written at once: requests check hosts against it). */
static bool note_seen(struct cp_control *c, const struct cp_control_heartbeat *hb, int64_t now)
{
	char key[400];
	snprintf(key, sizeof(key), "%s\n%s", hb->service, hb->hostname);
	pthread_mutex_lock(&c->lock);
	struct seen *s = NULL;
	for (size_t i = 0; i < c->seen.n && !s; i++)
		if (!strcmp(c->seen.v[i].key, key))
			s = &c->seen.v[i];
	bool fresh = !s;
	if (fresh) {
		CP_VEC_RESERVE(c->seen, c->seen.n + 1);
		s = &c->seen.v[c->seen.n++];
		memset(s, 0, sizeof(*s));
		s->key = cp_xstrdup(key);
	}
	snprintf(s->ip, sizeof(s->ip), "%s", hb->ip);
	snprintf(s->status, sizeof(s->status), "%s", hb->status);
	s->last_ns = now;
	s->dirty = !fresh;
	pthread_mutex_unlock(&c->lock);
	return fresh;
}

static int write_host(struct cp_db *db, const char *service, const char *host, const char *ip,
		      const char *status, int64_t now, struct cp_error *err)
{
	char n[24];
	snprintf(n, sizeof(n), "%lld", (long long)now);
	const char *p[] = { service, host, ip, status, n };
	return cp_db_exec(db,
			  "INSERT INTO cprof_hosts (service, hostname, ip, status, first_seen_ns,"
			  " last_seen_ns) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (service,"
			  " hostname) DO UPDATE SET ip = excluded.ip, status = excluded.status,"
			  " last_seen_ns = excluded.last_seen_ns",
			  p, 5, NULL, err);
}

struct hb_tx {
	const struct cp_control_heartbeat *hb;
	struct cp_control_command *cmd;
	int64_t now;
};

static void command_from(const struct cp_db_res *r, struct cp_control_command *cmd)
{
	struct cp_control_row w;
	control_row_from(r, 0, &w);
	memset(cmd, 0, sizeof(*cmd));
	snprintf(cmd->command_id, sizeof(cmd->command_id), "%s", w.command_id);
	cmd->type = w.type;
	cmd->duration = w.duration;
	cmd->frequency = w.frequency;
	snprintf(cmd->mode, sizeof(cmd->mode), "%s", w.mode);
	cmd->npids = control_pids_parse(w.pids, cmd->pids);
	snprintf(cmd->additional_args, sizeof(cmd->additional_args), "%s", cp_db_get(r, 0, 8));
}

static const char next_sql[] = "SELECT " CMD_COLUMNS " FROM cprof_commands WHERE service = $1"
			       " AND hostname = $2 AND state IN ('pending', 'sent')"
			       " ORDER BY created_ns, command_id LIMIT 1";

/* the acknowledgement and the next command, as one transaction */
static int hb_tx(struct cp_db *db, void *arg, struct cp_error *err)
{
	struct hb_tx *t = arg;
	const struct cp_control_heartbeat *hb = t->hb;
	char n[24];
	snprintf(n, sizeof(n), "%lld", (long long)t->now);
	int rc = 0;
	if (hb->last_command_id[0]) {
		/* acknowledged: running, and never handed out again */
		const char *p[] = { hb->last_command_id, hb->service, hb->hostname, n };
		rc = cp_db_exec(db,
				"UPDATE cprof_commands SET state = 'running', acked_ns = $4"
				" WHERE command_id = $1 AND service = $2 AND hostname = $3"
				" AND state IN ('pending', 'sent')",
				p, 4, NULL, err);
	}
	struct cp_db_res r;
	const char *p[] = { hb->service, hb->hostname };
	if (rc || (rc = cp_db_exec(db, next_sql, p, 2, &r, err)))
		return rc;
	t->cmd->command_id[0] = '\0';
	if (r.nrows) {
		command_from(&r, t->cmd);
		if (!strcmp(cp_db_get(&r, 0, 9), "pending")) {
			const char *q[] = { t->cmd->command_id, n };
			rc = cp_db_exec(db,
					"UPDATE cprof_commands SET state = 'sent', sent_ns = $2"
					" WHERE command_id = $1 AND state = 'pending'",
					q, 2, NULL, err);
		}
	}
	cp_db_res_free(&r);
	return rc;
}

int cp_control_heartbeat(struct cp_control *c, const struct cp_control_heartbeat *hb,
			 struct cp_control_command *cmd, struct cp_error *err)
{
	int64_t now = (int64_t)cp_realtime_ns();
	memset(cmd, 0, sizeof(*cmd));
	if (note_seen(c, hb, now) &&
	    write_host(c->db, hb->service, hb->hostname, hb->ip, hb->status, now, err))
		return CP_E_IO;
	/* the usual heartbeat changes nothing: one read, no transaction */
	const char *p[] = { hb->service, hb->hostname };
	struct cp_db_res r;
	int rc = cp_db_exec(c->db, next_sql, p, 2, &r, err);
	if (rc)
		return rc;
	bool acks = hb->last_command_id[0] && r.nrows &&
		    !strcmp(cp_db_get(&r, 0, 0), hb->last_command_id);
	/* the host is handed its oldest command not yet acknowledged, so an
	 * acknowledgement names that one; any other last_command_id is one
	 * acknowledged before */
	bool quiet = !r.nrows || (!acks && !strcmp(cp_db_get(&r, 0, 9), "sent"));
	if (quiet) {
		if (r.nrows)
			command_from(&r, cmd); /* handed out, not yet acknowledged */
		cp_db_res_free(&r);
		return 0;
	}
	cp_db_res_free(&r);
	struct hb_tx t = { .hb = hb, .cmd = cmd, .now = now };
	return cp_db_tx(c->db, hb_tx, &t, err);
}

int cp_control_complete(struct cp_control *c, const struct cp_control_completion *cc,
			struct cp_error *err)
{
	char n[24], e[32];
	snprintf(n, sizeof(n), "%lld", (long long)cp_realtime_ns());
	snprintf(e, sizeof(e), "%.3f", cc->execution_time);
	const char *p[] = { cc->command_id, cc->service,	  cc->hostname,	     cc->failed ? "failed" : "completed",
			    n,		    e,			  cc->error_message, cc->results_path };
	struct cp_db_res r;
	int rc = cp_db_exec(c->db,
			    "UPDATE cprof_commands SET state = $4, ended_ns = $5, execution_time = $6,"
			    " error_message = $7, results_path = $8 WHERE command_id = $1 AND"
			    " service = $2 AND hostname = $3 AND state IN ('pending', 'sent', 'running')",
			    p, 8, &r, err);
	if (rc)
		return rc;
	long changed = r.changes;
	cp_db_res_free(&r);
	if (changed)
		return 0;
	/* again (an agent that retried), or none such */
	rc = cp_db_exec(c->db,
			"SELECT state FROM cprof_commands WHERE command_id = $1 AND service = $2"
			" AND hostname = $3",
			p, 3, &r, err);
	if (rc)
		return rc;
	bool known = r.nrows > 0;
	cp_db_res_free(&r);
	if (!known)
		return cp_error_set(err, CP_E_NOENT, "no command %.40s for host %.64s of service %.64s",
				    cc->command_id, cc->hostname, cc->service);
	return 0;
}

void control_tick(struct cp_control *c, bool force)
{
	int64_t now = (int64_t)cp_realtime_ns();
	struct cp_error err = { 0 };
	/* last-seen times: copied out under the lock, written outside it */
	pthread_mutex_lock(&c->lock);
	if (!force && now - c->last_tick_ns < 1000000000ll) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->last_tick_ns = now;
	CP_VEC(struct seen) dirty = { 0 };
	for (size_t i = 0; i < c->seen.n; i++)
		if (c->seen.v[i].dirty) {
			CP_VEC_RESERVE(dirty, dirty.n + 1);
			dirty.v[dirty.n] = c->seen.v[i];
			dirty.v[dirty.n++].key = cp_xstrdup(c->seen.v[i].key);
			c->seen.v[i].dirty = false;
		}
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < dirty.n; i++) {
		char *nl = strchr(dirty.v[i].key, '\n');
		*nl = '\0';
		write_host(c->db, dirty.v[i].key, nl + 1, dirty.v[i].ip, dirty.v[i].status,
			   dirty.v[i].last_ns, &err);
		free(dirty.v[i].key);
	}
	CP_VEC_FREE(dirty);
	/* commands not taken within the grace time, and commands running
	 * past their duration and the grace time without a completion */
	char n[24], g[24];
	snprintf(n, sizeof(n), "%lld", (long long)now);
	snprintf(g, sizeof(g), "%lld", (long long)c->grace_ns);
	const char *p[] = { n, g };
	cp_db_exec(c->db,
		   "UPDATE cprof_commands SET state = 'expired', ended_ns = CAST($1 AS bigint),"
		   " error_message = 'not taken by the host in time' WHERE state IN ('pending',"
		   " 'sent') AND created_ns < CAST($1 AS bigint) - CAST($2 AS bigint)",
		   p, 2, NULL, &err);
	cp_db_exec(c->db,
		   "UPDATE cprof_commands SET state = 'expired', ended_ns = CAST($1 AS bigint),"
		   " error_message = 'no completion from the host' WHERE state = 'running' AND"
		   " acked_ns + duration * 1000000000 < CAST($1 AS bigint) - CAST($2 AS bigint)",
		   p, 2, NULL, &err);
}

void cp_control_tick(struct cp_control *c)
{
	control_tick(c, false);
}

int cp_control_hosts(struct cp_control *c, const char *service, cp_control_host_fn fn, void *arg,
		     struct cp_error *err)
{
	control_tick(c, true); /* the batched last-seen times first */
	const char *p[] = { service };
	struct cp_db_res r;
	int rc = cp_db_exec(c->db,
			    "SELECT hostname, ip, status, first_seen_ns, last_seen_ns FROM cprof_hosts"
			    " WHERE service = $1 ORDER BY hostname",
			    p, 1, &r, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < r.nrows; i++) {
		struct cp_control_host_row h;
		memset(&h, 0, sizeof(h));
		snprintf(h.hostname, sizeof(h.hostname), "%s", cp_db_get(&r, i, 0));
		snprintf(h.ip, sizeof(h.ip), "%s", cp_db_get(&r, i, 1));
		snprintf(h.status, sizeof(h.status), "%s", cp_db_get(&r, i, 2));
		h.first_seen_ns = cp_db_get_i64(&r, i, 3);
		h.last_seen_ns = cp_db_get_i64(&r, i, 4);
		fn(&h, arg);
	}
	cp_db_res_free(&r);
	return 0;
}
