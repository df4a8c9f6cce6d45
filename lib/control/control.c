/* control.c - fleet control's state: requests merged into one command per
 * host, handed out by heartbeat, completed by the agents; tokens and the
 * rate limits are in tokens.c, heartbeats and completions in agents.c.  Every change that must happen once (a
 * merge, a command handed out, an acknowledgement) is one transaction
 * (cp_db_tx), so two servers on one PostgreSQL database cannot both make
 * it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control-int.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS cprof_tokens ("
	" id text PRIMARY KEY, service text NOT NULL, role text NOT NULL, sha256 text NOT NULL,"
	" created_ns bigint NOT NULL, revoked_ns bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS cprof_hosts ("
	" service text NOT NULL, hostname text NOT NULL, ip text NOT NULL, status text NOT NULL,"
	" first_seen_ns bigint NOT NULL, last_seen_ns bigint NOT NULL,"
	" PRIMARY KEY (service, hostname));"
	"CREATE TABLE IF NOT EXISTS cprof_commands ("
	" command_id text PRIMARY KEY, service text NOT NULL, hostname text NOT NULL,"
	" type text NOT NULL, duration bigint NOT NULL, frequency bigint NOT NULL,"
	" mode text NOT NULL, pids text NOT NULL, additional_args text NOT NULL,"
	" state text NOT NULL, created_ns bigint NOT NULL, sent_ns bigint NOT NULL DEFAULT 0,"
	" acked_ns bigint NOT NULL DEFAULT 0, ended_ns bigint NOT NULL DEFAULT 0,"
	" execution_time double precision NOT NULL DEFAULT 0,"
	" error_message text NOT NULL DEFAULT '', results_path text NOT NULL DEFAULT '',"
	" request_ids text NOT NULL);"
	"CREATE INDEX IF NOT EXISTS cprof_commands_host ON cprof_commands (service, hostname, state);"
	"CREATE INDEX IF NOT EXISTS cprof_commands_created ON cprof_commands (service, created_ns);"
	"CREATE TABLE IF NOT EXISTS cprof_audit ("
	" request_id text PRIMARY KEY, created_ns bigint NOT NULL, who text NOT NULL,"
	" service text NOT NULL, action text NOT NULL, command_ids text NOT NULL,"
	" body text NOT NULL);";

struct cp_control *cp_control_open(const char *where, const struct cp_control_opts *o,
				   struct cp_error *err)
{
	struct cp_db *db = cp_db_open(where, err);
	if (!db)
		return NULL;
	int rc;
	if (cp_db_is_pg(db)) {
		/* two servers starting together must not both create the tables */
		rc = cp_db_script(db, "SELECT pg_advisory_lock(7106);", err);
		if (!rc)
			rc = cp_db_script(db, schema, err);
		struct cp_error ignored = { 0 };
		cp_db_script(db, "SELECT pg_advisory_unlock(7106);", &ignored);
	} else {
		rc = cp_db_script(db, schema, err);
	}
	if (rc) {
		cp_db_close(db);
		return NULL;
	}
	struct cp_control *c = cp_xcalloc(1, sizeof(*c));
	c->db = db;
	c->rate = o && o->rate_per_s > 0 ? o->rate_per_s : 1;
	c->burst = o && o->burst > 0 ? o->burst : 10;
	c->grace_ns = o && o->expire_grace_ns > 0 ? o->expire_grace_ns : 120000000000ll;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void cp_control_close(struct cp_control *c)
{
	if (!c)
		return;
	control_tick(c, true);
	for (size_t i = 0; i < c->seen.n; i++)
		free(c->seen.v[i].key);
	CP_VEC_FREE(c->seen);
	cp_db_close(c->db);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void control_uuid(char out[CP_UUID_LEN + 1])
{
	char h[33];
	cp_random_hex(h, 16);
	h[12] = '4';                            /* version 4 */
	h[16] = "89ab"[strtol((char[]){ h[16], 0 }, NULL, 16) & 3]; /* variant 1 */
	snprintf(out, CP_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
		 h + 20);
}

static const char *type_name(enum cp_control_type t)
{
	return t == CP_CMD_STOP ? "stop" : "start";
}

/* pids as the database keeps them: sorted, unique, comma-separated */
static void pids_text(const int32_t *pids, int n, char *out, size_t outsz)
{
	int32_t s[CP_CONTROL_MAX_PIDS];
	int k = 0;
	for (int i = 0; i < n && k < CP_CONTROL_MAX_PIDS; i++) {
		int j = k;
		while (j > 0 && s[j - 1] > pids[i])
			j--;
		if (j > 0 && s[j - 1] == pids[i])
			continue;
		memmove(s + j + 1, s + j, sizeof(s[0]) * (size_t)(k - j));
		s[j] = pids[i];
		k++;
	}
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < k && len + 12 < outsz; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%d", i ? "," : "", s[i]);
}

int control_pids_parse(const char *text, int32_t *pids)
{
	int n = 0;
	for (const char *p = text; *p && n < CP_CONTROL_MAX_PIDS;) {
		pids[n++] = (int32_t)strtol(p, (char **)&p, 10);
		if (*p == ',')
			p++;
		else
			break;
	}
	return n;
}

/* ---- requests ------------------------------------------------------------------------ */

struct req_tx {
	struct cp_control *c;
	const struct cp_control_request *rq;
	struct cp_control_result *res;
	int64_t now;
};

static int unknown_hosts(struct cp_db *db, const struct cp_control_request *rq,
			 struct cp_error *err)
{
	struct cp_db_res r;
	const char *p[] = { rq->service };
	int rc = cp_db_exec(db, "SELECT hostname FROM cprof_hosts WHERE service = $1", p, 1, &r, err);
	if (rc)
		return rc;
	char missing[512] = "";
	int nmissing = 0;
	for (int h = 0; h < rq->nhosts; h++) {
		bool known = false;
		for (size_t i = 0; i < r.nrows && !known; i++)
			known = !strcmp(cp_db_get(&r, i, 0), rq->hosts[h].name);
		if (!known && nmissing++ < 8)
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%.64s",
				 *missing ? ", " : "", rq->hosts[h].name);
	}
	cp_db_res_free(&r);
	if (nmissing)
		return cp_error_set(err, CP_E_NOENT,
				    "unknown hostnames for service %s (no heartbeat from them): %s%s",
				    rq->service, missing, nmissing > 8 ? ", ..." : "");
	return 0;
}

static int insert_command(struct cp_db *db, struct req_tx *t, const char *id, const char *host,
			  enum cp_control_type type, long duration, long freq, const char *mode,
			  const char *pids, struct cp_error *err)
{
	char d[24], f[24], now[24];
	snprintf(d, sizeof(d), "%ld", duration);
	snprintf(f, sizeof(f), "%ld", freq);
	snprintf(now, sizeof(now), "%lld", (long long)t->now);
	const char *p[] = { id,	  t->rq->service, host, type_name(type), d, f, mode, pids,
			    t->rq->additional_args, now, t->res->request_id };
	return cp_db_exec(db,
			  "INSERT INTO cprof_commands (command_id, service, hostname, type, duration,"
			  " frequency, mode, pids, additional_args, state, created_ns, request_ids)"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11)",
			  p, 11, NULL, err);
}

/* The host's command not yet handed out, if any: 1 and its row in *r. */
static int pending_of(struct cp_db *db, const char *service, const char *host,
		      struct cp_db_res *r, struct cp_error *err)
{
	const char *p[] = { service, host };
	int rc = cp_db_exec(db,
			    "SELECT " CMD_COLUMNS " FROM cprof_commands WHERE service = $1 AND"
			    " hostname = $2 AND state = 'pending' ORDER BY created_ns DESC LIMIT 1",
			    p, 2, r, err);
	if (rc)
		return -1;
	if (!r->nrows) {
		cp_db_res_free(r);
		return 0;
	}
	return 1;
}

static int set_state(struct cp_db *db, const char *id, const char *state, const char *msg,
		     int64_t now, struct cp_error *err)
{
	char n[24];
	snprintf(n, sizeof(n), "%lld", (long long)now);
	const char *p[] = { id, state, msg, n };
	return cp_db_exec(db,
			  "UPDATE cprof_commands SET state = $2, error_message = $3, ended_ns = $4"
			  " WHERE command_id = $1",
			  p, 4, NULL, err);
}

/* Whether the host has a command handed out and not yet ended. */
static int active_of(struct cp_db *db, const char *service, const char *host,
		     struct cp_db_res *r, struct cp_error *err)
{
	const char *p[] = { service, host };
	if (cp_db_exec(db,
		       "SELECT " CMD_COLUMNS " FROM cprof_commands WHERE service = $1 AND"
		       " hostname = $2 AND state IN ('sent', 'running') AND type = 'start'"
		       " ORDER BY created_ns DESC LIMIT 1",
		       p, 2, r, err))
		return -1;
	if (!r->nrows) {
		cp_db_res_free(r);
		return 0;
	}
	return 1;
}

static int apply_host(struct cp_db *db, struct req_tx *t, int h, struct cp_error *err)
{
	const struct cp_control_request *rq = t->rq;
	const struct cp_control_host *host = &rq->hosts[h];
	char *out = t->res->command_ids[h];
	char pids[512];
	pids_text(host->pids, host->npids, pids, sizeof(pids));
	struct cp_db_res r;
	int has = pending_of(db, rq->service, host->name, &r, err);
	if (has < 0)
		return CP_E_IO;
	if (rq->type == CP_CMD_START) {
		if (has && !strcmp(cp_db_get(&r, 0, 3), "start") && !strcmp(cp_db_get(&r, 0, 6), rq->mode)) {
			/* merge: the longest duration, the highest frequency, the
			 * union of the pids; the whole host wins over pid lists */
			long d = cp_db_get_i64(&r, 0, 4), f = cp_db_get_i64(&r, 0, 5);
			const char *old = cp_db_get(&r, 0, 7);
			char merged[512] = "";
			if (*old && host->npids) {
				int32_t all[2 * CP_CONTROL_MAX_PIDS];
				int n = control_pids_parse(old, all);
				for (int i = 0; i < host->npids && n < 2 * CP_CONTROL_MAX_PIDS; i++)
					all[n++] = host->pids[i];
				pids_text(all, n < CP_CONTROL_MAX_PIDS ? n : CP_CONTROL_MAX_PIDS, merged,
					  sizeof(merged));
			}
			char ds[24], fs[24], ids[1100];
			snprintf(ds, sizeof(ds), "%ld", d > rq->duration ? d : rq->duration);
			snprintf(fs, sizeof(fs), "%ld", f > rq->frequency ? f : rq->frequency);
			snprintf(ids, sizeof(ids), "%.1000s,%s", cp_db_get(&r, 0, 17), t->res->request_id);
			snprintf(out, CP_UUID_LEN + 1, "%s", cp_db_get(&r, 0, 0));
			const char *p[] = { out, ds, fs, merged, ids };
			cp_db_res_free(&r);
			return cp_db_exec(db,
					  "UPDATE cprof_commands SET duration = $2, frequency = $3,"
					  " pids = $4, request_ids = $5 WHERE command_id = $1",
					  p, 5, NULL, err);
		}
		if (has)
			cp_db_res_free(&r);
		control_uuid(out);
		return insert_command(db, t, out, host->name, CP_CMD_START, rq->duration,
				      rq->frequency, rq->mode, pids, err);
	}
	/* stop */
	char msg[128];
	snprintf(msg, sizeof(msg), "stopped by request %s", t->res->request_id);
	if (rq->host_level_stop || !host->npids) {
		/* everything of the host: the command not handed out is
		 * cancelled; one running gets a stop after it */
		int rc = 0;
		if (has) {
			rc = set_state(db, cp_db_get(&r, 0, 0), "cancelled", msg, t->now, err);
			cp_db_res_free(&r);
		}
		struct cp_db_res a;
		int act = rc ? -1 : active_of(db, rq->service, host->name, &a, err);
		if (act < 0)
			return CP_E_IO;
		if (!act)
			return 0;
		cp_db_res_free(&a);
		control_uuid(out);
		return insert_command(db, t, out, host->name, CP_CMD_STOP, 0, 0, "", "", err);
	}
	/* process level: the pids leave the command that has them; one left
	 * without pids ends */
	struct cp_db_res a;
	int act = has ? 0 : active_of(db, rq->service, host->name, &a, err);
	if (act < 0)
		return CP_E_IO;
	struct cp_db_res *cur = has ? &r : act ? &a : NULL;
	if (!cur || !strcmp(cp_db_get(cur, 0, 3), "stop") || !*cp_db_get(cur, 0, 7)) {
		/* nothing to remove pids from (none, or the whole host) */
		if (cur)
			cp_db_res_free(cur);
		return 0;
	}
	int32_t keep[CP_CONTROL_MAX_PIDS], all[CP_CONTROL_MAX_PIDS];
	int n = control_pids_parse(cp_db_get(cur, 0, 7), all), k = 0;
	for (int i = 0; i < n; i++) {
		bool gone = false;
		for (int j = 0; j < host->npids && !gone; j++)
			gone = host->pids[j] == all[i];
		if (!gone)
			keep[k++] = all[i];
	}
	char left[512];
	pids_text(keep, k, left, sizeof(left));
	int rc = 0;
	if (has) {
		snprintf(out, CP_UUID_LEN + 1, "%s", cp_db_get(cur, 0, 0));
		if (!k) {
			rc = set_state(db, out, "cancelled", msg, t->now, err);
		} else {
			const char *p[] = { out, left };
			rc = cp_db_exec(db, "UPDATE cprof_commands SET pids = $2 WHERE command_id = $1",
					p, 2, NULL, err);
		}
	} else if (k < n) {
		/* the running command goes on without those pids: a new start
		 * with the rest replaces it, or a stop when none is left */
		control_uuid(out);
		if (k)
			rc = insert_command(db, t, out, host->name, CP_CMD_START,
					    cp_db_get_i64(cur, 0, 4), cp_db_get_i64(cur, 0, 5),
					    cp_db_get(cur, 0, 6), left, err);
		else
			rc = insert_command(db, t, out, host->name, CP_CMD_STOP, 0, 0, "", "", err);
	}
	cp_db_res_free(cur);
	return rc;
}

static int request_tx(struct cp_db *db, void *arg, struct cp_error *err)
{
	struct req_tx *t = arg;
	const struct cp_control_request *rq = t->rq;
	int rc = unknown_hosts(db, rq, err);
	for (int h = 0; !rc && h < rq->nhosts; h++) {
		t->res->command_ids[h][0] = '\0';
		rc = apply_host(db, t, h, err);
	}
	if (rc)
		return rc;
	char ids[CP_CONTROL_MAX_HOSTS * (CP_UUID_LEN + 1) + 1] = "", now[24];
	for (int h = 0; h < rq->nhosts; h++)
		if (t->res->command_ids[h][0])
			snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s", *ids ? "," : "",
				 t->res->command_ids[h]);
	snprintf(now, sizeof(now), "%lld", (long long)t->now);
	const char *p[] = { t->res->request_id, now, rq->who, rq->service, type_name(rq->type), ids,
			    rq->body };
	return cp_db_exec(db,
			  "INSERT INTO cprof_audit (request_id, created_ns, who, service, action,"
			  " command_ids, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			  p, 7, NULL, err);
}

int cp_control_request(struct cp_control *c, const struct cp_control_request *rq,
		       struct cp_control_result *res, struct cp_error *err)
{
	memset(res, 0, sizeof(*res));
	if (!rq->nhosts)
		return cp_error_set(err, CP_E_USAGE, "target_hostnames: at least one host");
	if (rq->type == CP_CMD_START) {
		if (rq->duration < 1 || rq->duration > 86400)
			return cp_error_set(err, CP_E_USAGE, "duration: 1 to 86400 seconds, not %ld",
					    rq->duration);
		if (rq->frequency < 1 || rq->frequency > 1000)
			return cp_error_set(err, CP_E_USAGE, "frequency: 1 to 1000 Hz, not %ld",
					    rq->frequency);
	}
	control_uuid(res->request_id);
	struct req_tx t = { .c = c, .rq = rq, .res = res, .now = (int64_t)cp_realtime_ns() };
	int rc = cp_db_tx(c->db, request_tx, &t, err);
	if (rc)
		return rc;
	res->ncommands = rq->nhosts;
	res->estimated_completion_ns =
		rq->type == CP_CMD_START ? t.now + (int64_t)rq->duration * 1000000000ll : t.now;
	int made = 0;
	for (int h = 0; h < rq->nhosts; h++)
		made += !!res->command_ids[h][0];
	snprintf(res->message, sizeof(res->message), "%s request for %d host%s: %d command%s",
		 type_name(rq->type), rq->nhosts, rq->nhosts == 1 ? "" : "s", made,
		 made == 1 ? "" : "s");
	return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

void control_row_from(const struct cp_db_res *r, size_t i, struct cp_control_row *w)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->command_id, sizeof(w->command_id), "%s", cp_db_get(r, i, 0));
	snprintf(w->service, sizeof(w->service), "%s", cp_db_get(r, i, 1));
	snprintf(w->hostname, sizeof(w->hostname), "%s", cp_db_get(r, i, 2));
	w->type = !strcmp(cp_db_get(r, i, 3), "stop") ? CP_CMD_STOP : CP_CMD_START;
	w->duration = (long)cp_db_get_i64(r, i, 4);
	w->frequency = (long)cp_db_get_i64(r, i, 5);
	snprintf(w->mode, sizeof(w->mode), "%s", cp_db_get(r, i, 6));
	snprintf(w->pids, sizeof(w->pids), "%s", cp_db_get(r, i, 7));
	snprintf(w->state, sizeof(w->state), "%s", cp_db_get(r, i, 9));
	w->created_ns = cp_db_get_i64(r, i, 10);
	w->sent_ns = cp_db_get_i64(r, i, 11);
	w->acked_ns = cp_db_get_i64(r, i, 12);
	w->ended_ns = cp_db_get_i64(r, i, 13);
	w->execution_time = strtod(cp_db_get(r, i, 14), NULL);
	snprintf(w->error_message, sizeof(w->error_message), "%s", cp_db_get(r, i, 15));
	snprintf(w->results_path, sizeof(w->results_path), "%s", cp_db_get(r, i, 16));
	snprintf(w->request_ids, sizeof(w->request_ids), "%s", cp_db_get(r, i, 17));
}

int cp_control_commands(struct cp_control *c, const char *service, long limit,
			cp_control_row_fn fn, void *arg, struct cp_error *err)
{
	char l[24];
	snprintf(l, sizeof(l), "%ld", limit > 0 ? limit : 1000);
	const char *p[] = { service ? service : "", l };
	struct cp_db_res r;
	int rc = cp_db_exec(c->db,
			    "SELECT " CMD_COLUMNS " FROM cprof_commands WHERE ($1 = '' OR service = $1)"
			    " ORDER BY created_ns DESC, command_id LIMIT CAST($2 AS bigint)",
			    p, 2, &r, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < r.nrows; i++) {
		struct cp_control_row w;
		control_row_from(&r, i, &w);
		fn(&w, arg);
	}
	cp_db_res_free(&r);
	return 0;
}
