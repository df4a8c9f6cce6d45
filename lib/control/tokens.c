/* tokens.c - fleet control's tokens (random secrets kept as their
 * SHA-256, scoped to a service and a role, revocable) and the per-token
 * request rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control-int.h"

static const char *role_name(enum cp_control_role r)
{
	return r == CP_ROLE_AGENT ? "agent" : "requester";
}

int cp_control_token_create(struct cp_control *c, const char *service, enum cp_control_role role,
			    char secret[CP_TOKEN_LEN + 1], struct cp_control_token *tok,
			    struct cp_error *err)
{
	memset(tok, 0, sizeof(*tok));
	if (!service || !*service || strlen(service) >= sizeof(tok->service))
		return cp_error_set(err, CP_E_USAGE, "token: a service name is needed");
	char sec[65], sum[65], now[24];
	cp_random_hex(tok->id, CP_TOKEN_ID_LEN / 2);
	cp_random_hex(sec, 32);
	snprintf(secret, CP_TOKEN_LEN + 1, "cprof_%s_%s", tok->id, sec);
	cp_sha256_hex(secret, strlen(secret), sum);
	snprintf(tok->service, sizeof(tok->service), "%s", service);
	tok->role = role;
	tok->created_ns = (int64_t)cp_realtime_ns();
	snprintf(now, sizeof(now), "%lld", (long long)tok->created_ns);
	const char *p[] = { tok->id, service, role_name(role), sum, now };
	return cp_db_exec(c->db,
			  "INSERT INTO cprof_tokens (id, service, role, sha256, created_ns)"
			  " VALUES ($1, $2, $3, $4, $5)",
			  p, 5, NULL, err);
}

int cp_control_token_revoke(struct cp_control *c, const char *id, struct cp_error *err)
{
	char now[24];
	snprintf(now, sizeof(now), "%lld", (long long)cp_realtime_ns());
	const char *p[] = { id, now };
	struct cp_db_res r;
	int rc = cp_db_exec(c->db,
			    "UPDATE cprof_tokens SET revoked_ns = $2 WHERE id = $1 AND revoked_ns = 0",
			    p, 2, &r, err);
	if (rc)
		return rc;
	long changed = r.changes;
	cp_db_res_free(&r);
	if (!changed)
		return cp_error_set(err, CP_E_NOENT, "token: no valid token with id '%.32s'", id);
	return 0;
}

static void token_from(const struct cp_db_res *r, size_t i, struct cp_control_token *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", cp_db_get(r, i, 0));
	snprintf(t->service, sizeof(t->service), "%s", cp_db_get(r, i, 1));
	t->role = !strcmp(cp_db_get(r, i, 2), "agent") ? CP_ROLE_AGENT : CP_ROLE_REQUESTER;
	t->created_ns = cp_db_get_i64(r, i, 3);
	t->revoked_ns = cp_db_get_i64(r, i, 4);
}

int cp_control_token_list(struct cp_control *c, cp_control_token_fn fn, void *arg,
			  struct cp_error *err)
{
	struct cp_db_res r;
	int rc = cp_db_exec(c->db,
			    "SELECT id, service, role, created_ns, revoked_ns FROM cprof_tokens"
			    " ORDER BY created_ns, id",
			    NULL, 0, &r, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < r.nrows; i++) {
		struct cp_control_token t;
		token_from(&r, i, &t);
		fn(&t, arg);
	}
	cp_db_res_free(&r);
	return 0;
}

int cp_control_token_check(struct cp_control *c, const char *text, struct cp_control_token *tok,
			   struct cp_error *err)
{
	char id[CP_TOKEN_ID_LEN + 1];
	if (strlen(text) != CP_TOKEN_LEN || strncmp(text, "cprof_", 6) || text[6 + CP_TOKEN_ID_LEN] != '_')
		return cp_error_set(err, CP_E_PERM, "not a cprof token");
	memcpy(id, text + 6, CP_TOKEN_ID_LEN);
	id[CP_TOKEN_ID_LEN] = '\0';
	char sum[65];
	cp_sha256_hex(text, strlen(text), sum);
	const char *p[] = { id };
	struct cp_db_res r;
	int rc = cp_db_exec(c->db,
			    "SELECT id, service, role, created_ns, revoked_ns, sha256 FROM cprof_tokens"
			    " WHERE id = $1",
			    p, 1, &r, err);
	if (rc)
		return rc;
	/* compared in constant time: the digests, not the secrets */
	unsigned diff = r.nrows ? 0 : 1;
	const char *want = r.nrows ? cp_db_get(&r, 0, 5) : "";
	for (size_t i = 0; i < 64; i++)
		diff |= (unsigned)(sum[i] ^ (want[0] ? want[i] : 0));
	if (!diff)
		token_from(&r, 0, tok);
	cp_db_res_free(&r);
	if (diff)
		return cp_error_set(err, CP_E_PERM, "unknown token");
	if (tok->revoked_ns)
		return cp_error_set(err, CP_E_PERM, "token %s was revoked", tok->id);
	return 0;
}

bool cp_control_rate_ok(struct cp_control *c, const struct cp_control_token *tok)
{
	uint64_t now = cp_now_ns();
	pthread_mutex_lock(&c->lock);
	struct bucket *b = NULL, *oldest = &c->buckets[0];
	for (size_t i = 0; i < sizeof(c->buckets) / sizeof(c->buckets[0]) && !b; i++) {
		if (!strcmp(c->buckets[i].id, tok->id))
			b = &c->buckets[i];
		else if (c->buckets[i].at_ns < oldest->at_ns)
			oldest = &c->buckets[i];
	}
	if (!b) { /* a token not seen lately: a full budget */
		b = oldest;
		snprintf(b->id, sizeof(b->id), "%s", tok->id);
		b->tokens = c->burst;
		b->at_ns = now;
	}
	b->tokens += c->rate * (double)(now - b->at_ns) / 1e9;
	if (b->tokens > c->burst)
		b->tokens = c->burst;
	b->at_ns = now;
	bool ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	pthread_mutex_unlock(&c->lock);
	return ok;
}
