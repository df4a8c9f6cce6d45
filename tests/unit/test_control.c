/* test_control.c - lib/control on SQLite: requests for one host merged
 * while not handed out (longest duration, highest frequency, union of
 * pids, the whole host winning), process- and host-level stops, a command
 * handed out until acknowledged and never after, completions (repeated:
 * accepted once), unknown hosts refused with nothing changed, tokens
 * (checked, scoped, revoked), the per-token rate, expiry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/control.h"

static char dir[256], path[300];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/cprof-control-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = cp_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static struct cp_control *open_ctl(const struct cp_control_opts *o)
{
	struct cp_error err = { 0 };
	struct cp_control *c = cp_control_open(path, o, &err);
	if (!c)
		fail_msg("open: %s", err.msg);
	return c;
}

static void beat(struct cp_control *c, const char *host, const char *ack,
		 struct cp_control_command *cmd)
{
	struct cp_control_heartbeat hb = { 0 };
	snprintf(hb.service, sizeof(hb.service), "web");
	snprintf(hb.hostname, sizeof(hb.hostname), "%s", host);
	snprintf(hb.last_command_id, sizeof(hb.last_command_id), "%s", ack ? ack : "");
	struct cp_error err = { 0 };
	if (cp_control_heartbeat(c, &hb, cmd, &err))
		fail_msg("heartbeat: %s", err.msg);
}

/* a request for one host; returns its command id in id ("" none) */
static int request(struct cp_control *c, enum cp_control_type type, const char *host, long duration,
		   long freq, const int32_t *pids, int npids, bool host_level, char *id)
{
	struct cp_control_request *rq = calloc(1, sizeof(*rq));
	struct cp_control_result *res = calloc(1, sizeof(*res));
	snprintf(rq->service, sizeof(rq->service), "web");
	snprintf(rq->mode, sizeof(rq->mode), "cpu");
	snprintf(rq->who, sizeof(rq->who), "test");
	rq->type = type;
	rq->duration = duration;
	rq->frequency = freq;
	rq->host_level_stop = host_level;
	rq->nhosts = 1;
	snprintf(rq->hosts[0].name, sizeof(rq->hosts[0].name), "%s", host);
	if (npids)
		memcpy(rq->hosts[0].pids, pids, sizeof(int32_t) * (size_t)npids);
	rq->hosts[0].npids = npids;
	struct cp_error err = { 0 };
	int rc = cp_control_request(c, rq, res, &err);
	if (id)
		snprintf(id, CP_UUID_LEN + 1, "%s", rc ? "" : res->command_ids[0]);
	free(rq);
	free(res);
	return rc;
}

struct states {
	int n;
	char state[16][16], pids[16][64], type[16][8];
	long duration[16], frequency[16];
};

static void add_state(const struct cp_control_row *r, void *arg)
{
	struct states *s = arg;
	if (s->n >= 16)
		return;
	/* newest first */
	snprintf(s->state[s->n], 16, "%s", r->state);
	snprintf(s->pids[s->n], 64, "%.63s", r->pids);
	snprintf(s->type[s->n], 8, "%s", r->type == CP_CMD_STOP ? "stop" : "start");
	s->duration[s->n] = r->duration;
	s->frequency[s->n] = r->frequency;
	s->n++;
}

static struct states states(struct cp_control *c)
{
	struct states s = { 0 };
	struct cp_error err = { 0 };
	assert_int_equal(cp_control_commands(c, "web", 100, add_state, &s, &err), 0);
	return s;
}

static void test_merge_and_stops(void **state)
{
	(void)state;
	struct cp_control *c = open_ctl(NULL);
	struct cp_control_command cmd;
	char a[40], b[40];
	int32_t p12[] = { 1, 2 }, p23[] = { 3, 2 }, p2[] = { 2 }, p13[] = { 1, 3 };
	/* a host never seen: refused, nothing made */
	assert_int_equal(request(c, CP_CMD_START, "web-01", 60, 11, NULL, 0, false, a), CP_E_NOENT);
	assert_int_equal(states(c).n, 0);
	beat(c, "web-01", NULL, &cmd);
	assert_string_equal(cmd.command_id, "");
	/* two starts before a heartbeat: one command, merged */
	assert_int_equal(request(c, CP_CMD_START, "web-01", 60, 11, p12, 2, false, a), 0);
	assert_int_equal(request(c, CP_CMD_START, "web-01", 30, 99, p23, 2, false, b), 0);
	assert_string_equal(a, b);
	struct states s = states(c);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.pids[0], "1,2,3");
	assert_int_equal(s.duration[0], 60);
	assert_int_equal(s.frequency[0], 99);
	/* a process-level stop removes a pid from it */
	assert_int_equal(request(c, CP_CMD_STOP, "web-01", 0, 0, p2, 1, false, b), 0);
	assert_string_equal(a, b);
	assert_string_equal(states(c).pids[0], "1,3");
	/* handed out until acknowledged, then never again */
	beat(c, "web-01", NULL, &cmd);
	assert_string_equal(cmd.command_id, a);
	assert_int_equal(cmd.npids, 2);
	assert_int_equal(cmd.frequency, 99);
	beat(c, "web-01", NULL, &cmd);
	assert_string_equal(cmd.command_id, a);
	assert_string_equal(states(c).state[0], "sent");
	beat(c, "web-01", a, &cmd);
	assert_string_equal(cmd.command_id, "");
	assert_string_equal(states(c).state[0], "running");
	beat(c, "web-01", a, &cmd);
	assert_string_equal(cmd.command_id, "");
	/* a start for a running host does not merge into it: a new command */
	assert_int_equal(request(c, CP_CMD_START, "web-01", 10, 11, NULL, 0, false, b), 0);
	assert_string_not_equal(a, b);
	/* the whole host wins over pid lists */
	char d[40];
	assert_int_equal(request(c, CP_CMD_START, "web-01", 5, 11, p13, 2, false, d), 0);
	assert_string_equal(b, d);
	s = states(c);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.pids[0], "");
	assert_int_equal(s.duration[0], 10);
	/* a host-level stop: the pending one cancelled, a stop for the running */
	assert_int_equal(request(c, CP_CMD_STOP, "web-01", 0, 0, NULL, 0, true, d), 0);
	s = states(c);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.type[0], "stop");
	assert_string_equal(s.state[0], "pending");
	assert_string_equal(s.state[1], "cancelled");
	assert_string_equal(s.state[2], "running");
	beat(c, "web-01", a, &cmd);
	assert_string_equal(cmd.command_id, d);
	assert_int_equal(cmd.type, CP_CMD_STOP);
	/* completions: recorded once; again accepted, unchanged; unknown 404 */
	struct cp_control_completion cc = { 0 };
	snprintf(cc.service, sizeof(cc.service), "web");
	snprintf(cc.hostname, sizeof(cc.hostname), "web-01");
	snprintf(cc.command_id, sizeof(cc.command_id), "%.36s", a);
	snprintf(cc.results_path, sizeof(cc.results_path), "0123456789abcdef");
	cc.execution_time = 60.5;
	struct cp_error err = { 0 };
	assert_int_equal(cp_control_complete(c, &cc, &err), 0);
	cc.failed = true;
	assert_int_equal(cp_control_complete(c, &cc, &err), 0);
	assert_string_equal(states(c).state[2], "completed");
	snprintf(cc.hostname, sizeof(cc.hostname), "web-02");
	assert_int_equal(cp_control_complete(c, &cc, &err), CP_E_NOENT);
	cp_control_close(c);
}

static void test_process_stop_running(void **state)
{
	(void)state;
	struct cp_control *c = open_ctl(NULL);
	struct cp_control_command cmd;
	char a[40], b[40];
	int32_t p12[] = { 1, 2 }, p1[] = { 1 }, p2[] = { 2 };
	beat(c, "h", NULL, &cmd);
	assert_int_equal(request(c, CP_CMD_START, "h", 60, 11, p12, 2, false, a), 0);
	beat(c, "h", NULL, &cmd);
	beat(c, "h", a, &cmd);
	/* pid 1 leaves the running command: a start with pid 2 replaces it */
	assert_int_equal(request(c, CP_CMD_STOP, "h", 0, 0, p1, 1, false, b), 0);
	beat(c, "h", a, &cmd);
	assert_string_equal(cmd.command_id, b);
	assert_int_equal(cmd.type, CP_CMD_START);
	assert_int_equal(cmd.npids, 1);
	assert_int_equal(cmd.pids[0], 2);
	assert_int_equal(cmd.duration, 60);
	beat(c, "h", b, &cmd);
	/* the last pid leaves: a stop */
	assert_int_equal(request(c, CP_CMD_STOP, "h", 0, 0, p2, 1, false, a), 0);
	beat(c, "h", b, &cmd);
	assert_string_equal(cmd.command_id, a);
	assert_int_equal(cmd.type, CP_CMD_STOP);
	/* a pending command losing its last pid is cancelled */
	beat(c, "h", a, &cmd);
	assert_int_equal(request(c, CP_CMD_START, "h", 60, 11, p1, 1, false, a), 0);
	assert_int_equal(request(c, CP_CMD_STOP, "h", 0, 0, p1, 1, false, b), 0);
	assert_string_equal(a, b);
	assert_string_equal(states(c).state[0], "cancelled");
	beat(c, "h", NULL, &cmd);
	assert_string_equal(cmd.command_id, "");
	cp_control_close(c);
}

static void test_tokens_and_rate(void **state)
{
	(void)state;
	struct cp_control_opts o = { .rate_per_s = 0.001, .burst = 3 };
	struct cp_control *c = open_ctl(&o);
	char secret[CP_TOKEN_LEN + 1];
	struct cp_control_token t, got;
	struct cp_error err = { 0 };
	assert_int_equal(cp_control_token_create(c, "web", CP_ROLE_AGENT, secret, &t, &err), 0);
	assert_int_equal(strlen(secret), CP_TOKEN_LEN);
	assert_int_equal(cp_control_token_check(c, secret, &got, &err), 0);
	assert_string_equal(got.service, "web");
	assert_int_equal(got.role, CP_ROLE_AGENT);
	/* one character changed; not a token at all */
	char bad[CP_TOKEN_LEN + 1];
	memcpy(bad, secret, sizeof(bad));
	bad[CP_TOKEN_LEN - 1] = bad[CP_TOKEN_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(cp_control_token_check(c, bad, &got, &err), CP_E_PERM);
	assert_int_equal(cp_control_token_check(c, "secret", &got, &err), CP_E_PERM);
	/* the secret is not in the database */
	char *cmd = cp_xasprintf("grep -c '%s' '%s' >/dev/null", secret + 19, path);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	/* three at once, then refused (the rate refills one in 1000 s) */
	assert_true(cp_control_rate_ok(c, &t));
	assert_true(cp_control_rate_ok(c, &t));
	assert_true(cp_control_rate_ok(c, &t));
	assert_false(cp_control_rate_ok(c, &t));
	assert_int_equal(cp_control_token_revoke(c, t.id, &err), 0);
	assert_int_equal(cp_control_token_check(c, secret, &got, &err), CP_E_PERM);
	assert_non_null(strstr(err.msg, "revoked"));
	assert_int_equal(cp_control_token_revoke(c, t.id, &err), CP_E_NOENT);
	cp_control_close(c);
}

static void test_expiry(void **state)
{
	(void)state;
	/* commands not taken within the grace time expire */
	struct cp_control_opts o = { .expire_grace_ns = 1 };
	struct cp_control *c = open_ctl(&o);
	struct cp_control_command cmd;
	char a[40];
	beat(c, "h", NULL, &cmd);
	assert_int_equal(request(c, CP_CMD_START, "h", 60, 11, NULL, 0, false, a), 0);
	usleep(2000);
	cp_control_close(c); /* closing ticks once more */
	c = open_ctl(&o);
	assert_string_equal(states(c).state[0], "expired");
	beat(c, "h", NULL, &cmd);
	assert_string_equal(cmd.command_id, "");
	cp_control_close(c);
}

static void test_quiet_heartbeats(void **state)
{
	(void)state;
	/* a heartbeat that changes nothing writes nothing: the write-ahead
	 * log stays as it was over 200 of them */
	struct cp_control *c = open_ctl(NULL);
	struct cp_control_command cmd;
	beat(c, "quiet", NULL, &cmd);
	char wal[320];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	struct stat a, b;
	assert_int_equal(stat(wal, &a), 0);
	for (int i = 0; i < 200; i++)
		beat(c, "quiet", NULL, &cmd);
	assert_int_equal(stat(wal, &b), 0);
	assert_int_equal(a.st_size, b.st_size);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	/* the batched last-seen time is written by the tick */
	cp_control_close(c);
	c = open_ctl(NULL);
	cp_control_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_and_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_stop_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_and_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_heartbeats, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
