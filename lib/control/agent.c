/* agent.c - cprof agent: heartbeats to cprof serve --control (libcurl,
 * one connection kept), commands run once (journal.c), their results
 * delivered through a spool in STATE_DIR/results:
 *
 *   ID.json    the completion (status, execution time, error, and once
 *              the profile is stored, results_path: its id)
 *   ID.pb.gz   the profile, until the server has stored it
 *
 * Both are written under a temporary name, fsynced and renamed, and go
 * when the server has acknowledged them, so a killed agent or an absent
 * server loses nothing; the profiles in the spool are bounded (the oldest
 * dropped, its completion saying so). */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/control-int.h"
#include "format/format.h"
#include "profile/profile.h"
#include "push/push.h"

struct cp_agent {
	struct cp_agent_opts o;
	char *server, *service, *hostname, *token, *ca_file, *state_dir, *pyroscope, *cache_dir;
	char *results;
	struct journal j;
	CURL *curl;
	int wake_fd;
	struct job *job;
	char last_ack[CP_UUID_LEN + 1];
	uint64_t interval_ns, backoff_ns;
};

static char *dup_or_null(const char *s)
{
	return s && *s ? cp_xstrdup(s) : NULL;
}

/* ---- the results spool ---------------------------------------------------------------- */

/* dir/name replaced whole (cp_write_file_atomic) */
static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return cp_write_file_atomic(path, data, len);
}

static int64_t spool_bytes(const char *dir, char *oldest, size_t oldsz)
{
	DIR *d = opendir(dir);
	int64_t total = 0;
	time_t at = 0;
	oldest[0] = '\0';
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 7 || strcmp(e->d_name + n - 6, ".pb.gz") || e->d_name[0] == '.')
			continue;
		char path[4400];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st))
			continue;
		total += st.st_size;
		if (!oldest[0] || st.st_mtime < at) {
			at = st.st_mtime;
			snprintf(oldest, oldsz, "%.*s", (int)(n - 6), e->d_name);
		}
	}
	if (d)
		closedir(d);
	return total;
}

static json_t *load_json(const char *dir, const char *id)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	return json_load_file(path, 0, NULL);
}

static void save_json(struct cp_agent *a, const char *id, json_t *j)
{
	char name[64];
	snprintf(name, sizeof(name), "%s.json", id);
	char *text = json_dumps(j, JSON_COMPACT);
	if (!text || write_file(a->results, name, text, strlen(text)))
		cp_log(CP_LOG_WARN, "agent: cannot write %s/%s: %s", a->results, name, strerror(errno));
	free(text);
}

static void note_error(json_t *j, const char *more)
{
	const char *had = json_string_value(json_object_get(j, "error_message"));
	char *m = cp_xasprintf("%s%s%s", had ? had : "", had && *had ? "; " : "", more);
	json_object_set_new(j, "error_message", json_string(m));
	free(m);
}

/* the profile as Pyroscope's ingest API takes it: folded stacks */
static void to_pyroscope(struct cp_agent *a, const char *id, struct cp_view *v,
			 const struct cp_profile *p, bool heap)
{
	char *text = NULL;
	size_t len = 0;
	struct cp_error err = { 0 };
	FILE *f = open_memstream(&text, &len);
	struct cp_folded_opts fo = { .weights = true };
	int rc = f ? cp_format_folded_write(f, v, &fo, "pyroscope", &err) : CP_E_FAIL;
	if (f)
		fclose(f);
	if (!rc) {
		uint64_t from = p->meta.time_nanos / 1000000000ull;
		uint64_t until = from + p->meta.duration_nanos / 1000000000ull + 1;
		char *name = cp_xasprintf("%s.%s{host=%s,command_id=%s}", a->service,
					  heap ? "alloc_space" : "cpu", a->hostname, id);
		char *en = curl_easy_escape(a->curl, name, 0);
		char *url = cp_xasprintf("%s/ingest?name=%s&from=%llu&until=%llu&format=folded"
					 "&spyName=cprof&units=%s&aggregationType=sum",
					 a->pyroscope, en, (unsigned long long)from,
					 (unsigned long long)until, heap ? "bytes" : "samples");
		long status;
		char why[256] = "";
		if (cp_push_post(a->curl, url, NULL, a->ca_file, "text/plain", text, len, 30, &status,
				 NULL, why, sizeof(why)) ||
		    status < 200 || status > 299)
			cp_log(CP_LOG_WARN, "agent: pyroscope %s: %s", a->pyroscope,
			       *why ? why : "refused");
		curl_free(en);
		free(url);
		free(name);
	}
	free(text);
}

/* A command's result into the spool, then F in the journal. */
static void spool_result(struct cp_agent *a, const char *id, bool failed, double seconds,
			 const char *error, const struct cp_profile *p)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:s, s:s}", "command_id", id, "hostname",
			      a->hostname, "status", failed ? "failed" : "completed",
			      "execution_time", seconds, "error_message", error ? error : "",
			      "results_path", "");
	if (p) {
		struct cp_error err = { 0 };
		struct cp_view *v = cp_view_new(p, NULL, &err);
		char *pb = NULL;
		size_t len = 0;
		FILE *f = v ? open_memstream(&pb, &len) : NULL;
		int rc = f ? cp_format_pprof_write_auto(f, v, "profile", &err) : CP_E_FAIL;
		if (f)
			fclose(f);
		if (!rc) {
			/* room for it: the oldest profiles waiting go first */
			char oldest[128];
			while (spool_bytes(a->results, oldest, sizeof(oldest)) + (int64_t)len >
				       (int64_t)a->o.spool_max &&
			       *oldest) {
				char path[4400];
				snprintf(path, sizeof(path), "%s/%s.pb.gz", a->results, oldest);
				unlink(path);
				json_t *old = load_json(a->results, oldest);
				if (old) {
					note_error(old, "profile dropped: the agent's spool was full");
					save_json(a, oldest, old);
					json_decref(old);
				}
				cp_log(CP_LOG_WARN, "agent: spool full: the profile of %s dropped", oldest);
			}
			char name[64];
			snprintf(name, sizeof(name), "%s.pb.gz", id);
			if (write_file(a->results, name, pb, len))
				note_error(j, "the profile could not be spooled");
			uint32_t vi = cp_view_default_value(p);
			const char *type = vi < p->value_types.n ? p->value_types.v[vi].type : "";
			if (a->pyroscope)
				to_pyroscope(a, id, v, p, strstr(type, "space") != NULL);
		} else {
			note_error(j, err.msg);
		}
		free(pb);
		cp_view_free(v);
	}
	save_json(a, id, j);
	json_decref(j);
	struct cp_error err = { 0 };
	if (journal_mark(&a->j, id, 'F', &err))
		cp_log(CP_LOG_WARN, "%s", err.msg);
}

static bool ok_status(long s)
{
	return s >= 200 && s < 300;
}

/* Deliver what the spool holds; false when the server did not take it
 * (tried again later). */
static bool deliver(struct cp_agent *a)
{
	DIR *d = opendir(a->results);
	if (!d)
		return false;
	struct dirent *e;
	bool all = true;
	while (all && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n != CP_UUID_LEN + 5 || strcmp(e->d_name + CP_UUID_LEN, ".json"))
			continue;
		char id[CP_UUID_LEN + 1];
		memcpy(id, e->d_name, CP_UUID_LEN);
		id[CP_UUID_LEN] = '\0';
		json_t *j = load_json(a->results, id);
		if (!j) {
			char path[4400];
			snprintf(path, sizeof(path), "%s/%s", a->results, e->d_name);
			unlink(path);
			continue;
		}
		char pbpath[4400];
		snprintf(pbpath, sizeof(pbpath), "%s/%s.pb.gz", a->results, id);
		size_t len;
		char *pb = cp_read_file(pbpath, &len);
		long status;
		char why[256] = "";
		struct cp_buf reply = { 0 };
		if (pb) {
			char *h = curl_easy_escape(a->curl, a->hostname, 0);
			char *url = cp_xasprintf("%s/api/metrics/profiles?hostname=%s&command_id=%s",
						 a->server, h, id);
			curl_free(h);
			int rc = cp_push_post(a->curl, url, a->token, a->ca_file,
					      "application/octet-stream", pb, len, 120, &status, &reply,
					      why, sizeof(why));
			free(url);
			free(pb);
			if (!rc && ok_status(status)) {
				cp_buf_add_u8(&reply, 0);
				json_t *r = json_loads((char *)reply.p, 0, NULL);
				const char *sid = json_string_value(json_object_get(r, "id"));
				json_object_set_new(j, "results_path", json_string(sid ? sid : ""));
				json_decref(r);
				save_json(a, id, j);
				unlink(pbpath);
			} else if (!rc && (status == 400 || status == 413)) {
				cp_buf_add_u8(&reply, 0);
				note_error(j, "the server refused the profile");
				save_json(a, id, j);
				unlink(pbpath);
			} else {
				all = false;
			}
			cp_buf_release(&reply);
		}
		if (all) {
			json_object_set_new(j, "service_name", json_string(a->service));
			char *body = json_dumps(j, JSON_COMPACT);
			char *url = cp_xasprintf("%s/api/metrics/command_completion", a->server);
			int rc = cp_push_post(a->curl, url, a->token, a->ca_file, "application/json",
					      body, strlen(body), 30, &status, NULL, why, sizeof(why));
			free(url);
			free(body);
			/* 404: the server does not know the command (another
			 * server's, or expired and forgotten): nothing to retry */
			if (!rc && (ok_status(status) || status == 404 || status == 400)) {
				char path[4400];
				snprintf(path, sizeof(path), "%s/%s", a->results, e->d_name);
				unlink(path);
				struct cp_error err = { 0 };
				if (journal_mark(&a->j, id, 'D', &err))
					cp_log(CP_LOG_WARN, "%s", err.msg);
			} else {
				all = false;
			}
		}
		json_decref(j);
	}
	closedir(d);
	return all;
}

/* ---- commands --------------------------------------------------------------------- */

static void finish_job(struct cp_agent *a)
{
	if (!a->job)
		return;
	job_stop(a->job);
	double secs = 0;
	char why[512] = "";
	const struct cp_profile *p = job_finish(a->job, &secs, why, sizeof(why));
	spool_result(a, job_id(a->job), !p, secs, p ? "" : why, p);
	job_free(a->job);
	a->job = NULL;
}

static void run_command(struct cp_agent *a, const struct cp_control_command *cmd)
{
	snprintf(a->last_ack, sizeof(a->last_ack), "%s", cmd->command_id);
	/* never twice: a command in the journal was run (or is running) */
	if (journal_state(&a->j, cmd->command_id))
		return;
	struct cp_error err = { 0 };
	if (journal_mark(&a->j, cmd->command_id, 'R', &err)) {
		cp_log(CP_LOG_ERROR, "%s: command %s not run", err.msg, cmd->command_id);
		return;
	}
	cp_log(CP_LOG_INFO, "agent: command %s: %s", cmd->command_id,
	       cmd->type == CP_CMD_STOP ? "stop" : "start");
	/* a start replaces what runs, a stop ends it: its result is kept */
	finish_job(a);
	if (cmd->type == CP_CMD_STOP) {
		spool_result(a, cmd->command_id, false, 0, "", NULL);
		return;
	}
	a->job = job_start(cmd, &a->o, a->wake_fd, &err);
	if (!a->job)
		spool_result(a, cmd->command_id, true, 0, err.msg, NULL);
}

/* 0 and *cmd (command_id "" for none) when the server answered. */
static int heartbeat(struct cp_agent *a, struct cp_control_command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "service_name", a->service,
			      "hostname", a->hostname, "ip_address", "", "last_command_id",
			      a->last_ack, "status", a->job ? "profiling" : "idle", "timestamp", ts);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	char *url = cp_xasprintf("%s/api/metrics/heartbeat", a->server);
	long status;
	char why[256] = "";
	struct cp_buf reply = { 0 };
	int rc = cp_push_post(a->curl, url, a->token, a->ca_file, "application/json", body,
			      strlen(body), 30, &status, &reply, why, sizeof(why));
	free(url);
	free(body);
	if (rc || !ok_status(status)) {
		cp_buf_add_u8(&reply, 0);
		cp_log(status == 401 || status == 403 ? CP_LOG_ERROR : CP_LOG_DEBUG,
		       "agent: heartbeat to %s: %s%.200s", a->server, rc ? why : "refused: ",
		       rc ? "" : (char *)reply.p);
		cp_buf_release(&reply);
		return -1;
	}
	cp_buf_add_u8(&reply, 0);
	json_t *r = json_loads((char *)reply.p, 0, NULL);
	cp_buf_release(&reply);
	json_t *pc = json_object_get(r, "profiling_command");
	const char *id = json_string_value(json_object_get(r, "command_id"));
	if (json_is_object(pc) && id && strlen(id) == CP_UUID_LEN) {
		snprintf(cmd->command_id, sizeof(cmd->command_id), "%s", id);
		const char *type = json_string_value(json_object_get(pc, "command_type"));
		cmd->type = type && !strcmp(type, "stop") ? CP_CMD_STOP : CP_CMD_START;
		json_t *cfg = json_object_get(pc, "combined_config");
		cmd->duration = (long)json_integer_value(json_object_get(cfg, "duration"));
		cmd->frequency = (long)json_integer_value(json_object_get(cfg, "frequency"));
		const char *mode = json_string_value(json_object_get(cfg, "profiling_mode"));
		snprintf(cmd->mode, sizeof(cmd->mode), "%s", mode ? mode : "cpu");
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(cfg, "pids"), i, v)
			if (cmd->npids < CP_CONTROL_MAX_PIDS && json_is_integer(v))
				cmd->pids[cmd->npids++] = (int32_t)json_integer_value(v);
		if (cmd->type == CP_CMD_START && (cmd->duration < 1 || cmd->frequency < 1)) {
			/* a command this agent cannot run: failed, not a crash */
			snprintf(cmd->mode, sizeof(cmd->mode), "invalid");
		}
	}
	json_decref(r);
	return 0;
}

/* ---- the loop ---------------------------------------------------------------------- */

struct cp_agent *cp_agent_new(const struct cp_agent_opts *o, struct cp_error *err)
{
	if (!o->server || (strncmp(o->server, "http://", 7) && strncmp(o->server, "https://", 8))) {
		cp_error_set(err, CP_E_USAGE, "--server: an http:// or https:// URL is needed");
		return NULL;
	}
	if (!o->state_dir || !*o->state_dir) {
		cp_error_set(err, CP_E_USAGE, "--state-dir: a directory is needed");
		return NULL;
	}
	struct cp_agent *a = cp_xcalloc(1, sizeof(*a));
	a->server = cp_xstrdup(o->server);
	size_t sl = strlen(a->server);
	while (sl && a->server[sl - 1] == '/')
		a->server[--sl] = '\0';
	a->service = cp_xstrdup(o->service);
	a->hostname = cp_xstrdup(o->hostname);
	a->token = dup_or_null(o->token);
	a->ca_file = dup_or_null(o->ca_file);
	a->state_dir = cp_xstrdup(o->state_dir);
	a->pyroscope = dup_or_null(o->pyroscope);
	a->cache_dir = dup_or_null(o->cache_dir);
	a->o = *o;
	a->o.cache_dir = a->cache_dir;
	if (!a->o.spool_max)
		a->o.spool_max = 256ull << 20;
	a->interval_ns = o->heartbeat_ns ? o->heartbeat_ns : 30000000000ull;
	a->results = cp_xasprintf("%s/results", a->state_dir);
	a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->j.fd = -1;
	if ((mkdir(a->state_dir, 0700) && errno != EEXIST) ||
	    (mkdir(a->results, 0700) && errno != EEXIST)) {
		cp_error_errno(err, CP_E_IO, errno, "agent: state directory %s", a->state_dir);
		cp_agent_free(a);
		return NULL;
	}
	a->curl = curl_easy_init();
	if (!a->curl || a->wake_fd < 0 || journal_open(&a->j, a->state_dir, err)) {
		if (!err->msg[0])
			cp_error_set(err, CP_E_FAIL, "agent: cannot start libcurl");
		cp_agent_free(a);
		return NULL;
	}
	/* commands received and never finished: the agent was killed while
	 * they ran (their profiler died with it); each gets a failed
	 * completion, none runs again */
	for (size_t i = 0; i < a->j.n; i++)
		if (a->j.v[i].st == 'R') {
			char id[CP_UUID_LEN + 1];
			snprintf(id, sizeof(id), "%s", a->j.v[i].id);
			cp_log(CP_LOG_WARN, "agent: command %s was running when the agent stopped: "
					    "failed", id);
			spool_result(a, id, true, 0, "agent restarted", NULL);
		}
	/* acknowledge the newest command seen, so that it is not handed
	 * out again */
	if (a->j.n)
		snprintf(a->last_ack, sizeof(a->last_ack), "%s", a->j.v[a->j.n - 1].id);
	return a;
}

int cp_agent_run(struct cp_agent *a, int stop_fd, struct cp_error *err)
{
	(void)err;
	uint64_t next = cp_now_ns();
	bool pending = true; /* results may wait in the spool */
	for (;;) {
		uint64_t now = cp_now_ns();
		if (a->job && job_done(a->job)) {
			finish_job(a);
			pending = true;
		}
		if (now >= next) {
			struct cp_control_command cmd;
			if (heartbeat(a, &cmd) == 0) {
				a->backoff_ns = 0;
				/* a little earlier at random, never later: a fleet does
				 * not beat in step */
				next = now + a->interval_ns - (uint64_t)(rand() % 10) * a->interval_ns / 100;
				if (cmd.command_id[0]) {
					run_command(a, &cmd);
					pending = true;
					/* the acknowledgement, and the next command, now */
					next = now;
				}
				if (pending)
					pending = !deliver(a);
				/* idle between heartbeats: what TLS and JSON freed goes
				 * back to the system */
				if (!a->job)
					malloc_trim(0);
			} else {
				/* the server is away: back off, doubling with jitter,
				 * to four heartbeat intervals at most */
				uint64_t cap = 4 * a->interval_ns;
				a->backoff_ns = a->backoff_ns ? a->backoff_ns * 2 : 1000000000ull;
				if (a->backoff_ns > cap)
					a->backoff_ns = cap;
				next = now + a->backoff_ns / 2 +
				       (uint64_t)((double)(a->backoff_ns / 2) * ((double)rand() / RAND_MAX));
			}
		}
		now = cp_now_ns();
		int timeout = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		struct pollfd fds[2] = { { .fd = stop_fd, .events = POLLIN },
					 { .fd = a->wake_fd, .events = POLLIN } };
		int n = poll(fds, 2, timeout);
		if (n > 0 && (fds[0].revents & POLLIN))
			break;
		if (n > 0 && (fds[1].revents & POLLIN)) {
			uint64_t v;
			if (read(a->wake_fd, &v, sizeof(v)) < 0) {
				/* nothing: woken anyway */
			}
		}
	}
	/* stopped: what runs ends now, its result spooled, delivered if the
	 * server takes it at once */
	if (a->job) {
		finish_job(a);
		deliver(a);
	}
	return 0;
}

void cp_agent_free(struct cp_agent *a)
{
	if (!a)
		return;
	if (a->job)
		job_free(a->job);
	journal_close(&a->j);
	if (a->curl)
		curl_easy_cleanup(a->curl);
	if (a->wake_fd >= 0)
		close(a->wake_fd);
	free(a->server);
	free(a->service);
	free(a->hostname);
	free(a->token);
	free(a->ca_file);
	free(a->state_dir);
	free(a->pyroscope);
	free(a->cache_dir);
	free(a->results);
	free(a);
}
