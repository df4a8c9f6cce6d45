/* serve.c - `cprof serve`: pprof HTTP endpoints and profiling sessions
 * for the processes on this machine, and with a command, for the program
 * it runs (CPU and heap).  The options, the config file and the main
 * thread's wait here; the server is lib/serve's. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "control/control.h"
#include "common.h"
#include "core/core.h"
#include "serve/serve.h"
#include "store/store.h"

static const char *const usage[] = {
	"cprof serve [--config FILE] [--listen HOST:PORT | unix:/path] [options]",
	"cprof serve [options] [--] <command> [<args>...]",
	"cprof serve --print-config",
	"cprof serve [--data DIR | --db URL] token create|list|revoke ...",
	NULL,
};

static const char *config_file;
static bool print_config, check, control;
/* flags over the file: NULL when not given */
static const char *listen_arg, *token_file, *tls_cert, *tls_key, *tls_ca, *max_sessions,
	*max_seconds, *max_frequency, *chunk_size, *keep, *heap_sample, *data_dir, *db_url;

static const struct cp_option options[] = {
	CP_OPT_STR_('c', "config", "FILE", "read settings from an INI file (see --print-config)",
		    &config_file, "file"),
	CP_OPT_FLAG_(0, "print-config", "print every setting with its value and exit",
		     &print_config),
	CP_OPT_STR_('l', "listen", "ADDR",
		    "HOST:PORT, [IPV6]:PORT or unix:/path (default 127.0.0.1:6060; port 0: any "
		    "free port)",
		    &listen_arg, NULL),
	CP_OPT_STR_(0, "token-file", "FILE",
		    "require 'Authorization: Bearer TOKEN', the file's first line", &token_file,
		    "file"),
	CP_OPT_STR_(0, "tls-cert", "FILE", "serve HTTPS with this PEM certificate", &tls_cert,
		    "file"),
	CP_OPT_STR_(0, "tls-key", "FILE", "the PEM private key of --tls-cert", &tls_key, "file"),
	CP_OPT_STR_(0, "tls-client-ca", "FILE",
		    "require client certificates signed by this PEM CA (mTLS)", &tls_ca, "file"),
	CP_OPT_STR_(0, "max-sessions", "N", "sessions running at once (default 8)", &max_sessions,
		    NULL),
	CP_OPT_STR_(0, "max-seconds", "N", "longest profile or session (default 300)",
		    &max_seconds, NULL),
	CP_OPT_STR_(0, "max-frequency", "HZ", "highest sampling frequency (default 1000)",
		    &max_frequency, NULL),
	CP_OPT_STR_(0, "chunk-size", "BYTES", "pieces of a streamed session result (default 65536)",
		    &chunk_size, NULL),
	CP_OPT_STR_(0, "keep", "SECONDS", "how long finished sessions are kept (default 600)",
		    &keep, NULL),
	CP_OPT_STR_(0, "data", "DIR",
		    "keep profiles in the store in DIR (created if missing): /api/v1/profiles",
		    &data_dir, "dir"),
	CP_OPT_STR_(0, "db", "URL",
		    "keep the store in PostgreSQL (postgresql://USER@HOST:PORT/DB) instead of a "
		    "directory: servers given the same URL share it",
		    &db_url, NULL),
	CP_OPT_FLAG_(0, "check", "with --data or --db: check every stored profile against its "
		     "checksums, print what is damaged or missing and exit (1 if anything is)",
		     &check),
	CP_OPT_FLAG_(0, "control",
		     "fleet control: take profile requests for hosts and hand them to cprof agent "
		     "by heartbeat (/api/metrics/...; needs --data or --db)",
		     &control),
	CP_OPT_STR_(0, "heap-sample", "SIZE",
		    "with a command: sample one allocation per SIZE bytes on average (K, M, G "
		    "suffixes; default 512K, Go's rate)",
		    &heap_sample, NULL),
	CP_OPT_END_,
};

static int apply_flags(struct cp_serve_config *c)
{
	struct {
		const char *flag, *key, *value;
	} set[] = {
		{ "--listen", "listen", listen_arg },
		{ "--token-file", "token_file", token_file },
		{ "--tls-cert", "tls_cert", tls_cert },
		{ "--tls-key", "tls_key", tls_key },
		{ "--tls-client-ca", "tls_client_ca", tls_ca },
		{ "--max-sessions", "max_concurrent_sessions", max_sessions },
		{ "--max-seconds", "max_session_duration_seconds", max_seconds },
		{ "--max-frequency", "max_frequency_hz", max_frequency },
		{ "--chunk-size", "chunk_size_bytes", chunk_size },
		{ "--keep", "keep_finished_seconds", keep },
		{ "--heap-sample", "heap_sample_bytes", heap_sample },
		{ "--data", "data_dir", data_dir },
		{ "--db", "db", db_url },
		{ "--control", "enabled", control ? "1" : NULL },
	};
	char bytes[32];
	uint64_t v;
	if (heap_sample) { /* a size with a suffix, as cprof heap --sample */
		if (cmd_parse_size(heap_sample, &v) || !v || v > (1u << 30)) {
			cp_die_usage("serve", usage, options,
				     "--heap-sample: '%s' is not a size from 1 byte to 1G", heap_sample);
			return 2;
		}
		snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)v);
		set[10].value = bytes; /* --heap-sample's row */
	}
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		struct cp_error err;
		if (set[i].value && cp_serve_config_set(c, set[i].key, set[i].value, &err)) {
			cp_die_usage("serve", usage, options, "%s: %s", set[i].flag, err.msg);
			return 2;
		}
	}
	return 0;
}

static void print_problem(const char *line, void *arg)
{
	(void)arg;
	printf("%s\n", line);
}

/* --check: the store's blobs against the index, and files no row names. */
static int run_check(struct cp_serve_config *c)
{
	struct cp_error err;
	const char *where = *c->db_url ? c->db_url : c->data_dir;
	if (!*where) {
		cmd_error("serve", "--check needs --data DIR or --db URL (or data_dir, db in the "
				   "config)");
		cp_serve_config_release(c);
		return 2;
	}
	struct cp_store *st = cp_store_open(where, &err);
	if (!st) {
		cmd_error("serve", "%s", err.msg);
		cp_serve_config_release(c);
		return 1;
	}
	long n = cp_store_check(st, print_problem, NULL, &err);
	struct cp_store_stats sts = { 0 };
	cp_store_stats(st, &sts, &err);
	if (n < 0)
		cmd_error("serve", "%s", err.msg);
	else
		fprintf(stderr, "cprof serve: %s: %lld profiles, %lld bytes checked, %ld problem%s\n",
			*c->db_url ? "the database" : c->data_dir, (long long)sts.profiles, (long long)sts.bytes, n,
			n == 1 ? "" : "s");
	cp_store_close(st);
	cp_serve_config_release(c);
	return n == 0 ? 0 : 1;
}

/* ---- cprof serve token create|list|revoke ------------------------------------- */

static const char *const token_usage[] = {
	"cprof serve [--data DIR | --db URL | -c FILE] token create --service NAME --role agent|requester",
	"cprof serve [--data DIR | --db URL | -c FILE] token list",
	"cprof serve [--data DIR | --db URL | -c FILE] token revoke ID",
	NULL,
};

static const char *service, *role;

static const struct cp_option token_options[] = {
	CP_OPT_STR_(0, "service", "NAME", "create: the service the token is for", &service, NULL),
	CP_OPT_STR_(0, "role", "ROLE",
		    "create: agent (heartbeats and completions) or requester (profile requests, "
		    "reading commands)",
		    &role, "agent|requester"),
	CP_OPT_END_,
};

static void print_token(const struct cp_control_token *t, void *arg)
{
	(void)arg;
	char when[32] = "-", gone[32] = "-";
	time_t s = (time_t)(t->created_ns / 1000000000);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
	if (t->revoked_ns) {
		s = (time_t)(t->revoked_ns / 1000000000);
		strftime(gone, sizeof(gone), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
	}
	printf("%-12s  %-9s  %-20s  %-20s  %s\n", t->id, t->role == CP_ROLE_AGENT ? "agent" : "requester",
	       when, gone, t->service);
}

/* cprof serve ... token ...: argv from "token" on; fleet control's tokens
 * in the store's database (lib/control) */
static int serve_token(int argc, char **argv, const struct cp_serve_config *c)
{
	/* argv: token WHAT [options] [ID]; the options parsed after WHAT */
	const char *what = argc > 1 ? argv[1] : "";
	int first = 0;
	int rc = argc > 1 ? cp_opt_parse("serve token", token_usage, token_options, argc - 1, argv + 1, false,
					  &first) :
			    0;
	if (rc)
		return rc < 0 ? 0 : rc;
	argv++;
	argc--;
	first--; /* argv[first + 1] is the first operand after WHAT */
	int nargs = argc - first - 1;
	bool create = !strcmp(what, "create"), list = !strcmp(what, "list"),
	     revoke = !strcmp(what, "revoke");
	if (!create && !list && !revoke) {
		cp_die_usage("serve token", token_usage, token_options, "'%s': create, list or revoke", what);
		return 2;
	}
	if ((create || list) && nargs) {
		cp_die_usage("serve token", token_usage, token_options, "%s takes no argument ('%s')", what,
			     argv[first + 1]);
		return 2;
	}
	if (revoke && nargs != 1) {
		cp_die_usage("serve token", token_usage, token_options, "revoke takes one token id");
		return 2;
	}
	enum cp_control_role r = CP_ROLE_AGENT;
	if (create) {
		if (!service || !cp_store_valid_service(service, strlen(service))) {
			cp_die_usage("serve token", token_usage, token_options,
				     "--service: a service name (1 to 127 letters, digits, '-', '_' "
				     "or '.') is needed");
			return 2;
		}
		if (!role || (strcmp(role, "agent") && strcmp(role, "requester"))) {
			cp_die_usage("serve token", token_usage, token_options, "--role: agent or requester");
			return 2;
		}
		r = !strcmp(role, "agent") ? CP_ROLE_AGENT : CP_ROLE_REQUESTER;
	} else if (service || role) {
		cp_die_usage("serve token", token_usage, token_options, "--service and --role go with create");
		return 2;
	}
	if (!*c->data_dir && !*c->db_url) {
		cmd_error("serve", "token: the store is needed: --data DIR or --db URL (data_dir, db)");
		return 2;
	}
	struct cp_error err = { 0 };
	char *where = *c->db_url ? cp_xstrdup(c->db_url) :
				   cp_xasprintf("%s/index.sqlite", c->data_dir);
	/* a new store is made first (its directory and index); one that
	 * exists may be in use by a running server: its database is shared
	 * (SQLite's write-ahead log), the store's lock is not taken */
	struct stat sb;
	bool fresh = !*c->db_url && stat(where, &sb);
	struct cp_store *st = fresh ? cp_store_open(c->data_dir, &err) : NULL;
	cp_store_close(st);
	struct cp_control *ctl = !fresh || st ? cp_control_open(where, NULL, &err) : NULL;
	free(where);
	if (!ctl) {
		cmd_error("serve", "token: %s", err.msg);
		return 1;
	}
	if (create) {
		char secret[CP_TOKEN_LEN + 1];
		struct cp_control_token t;
		rc = cp_control_token_create(ctl, service, r, secret, &t, &err);
		if (!rc) {
			printf("%s\n", secret);
			fprintf(stderr, "cprof serve: token %s for service %s (%s); it is shown once, "
					"only its SHA-256 is kept\n",
				t.id, t.service, role);
		}
	} else if (list) {
		printf("%-12s  %-9s  %-20s  %-20s  %s\n", "ID", "ROLE", "CREATED", "REVOKED", "SERVICE");
		rc = cp_control_token_list(ctl, print_token, NULL, &err);
	} else {
		rc = cp_control_token_revoke(ctl, argv[first + 1], &err);
		if (!rc)
			fprintf(stderr, "cprof serve: token %s revoked\n", argv[first + 1]);
	}
	if (rc)
		cmd_error("serve", "%s", err.msg);
	cp_control_close(ctl);
	return rc ? 1 : 0;
}

int cmd_serve(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("serve", usage, options, argc, argv, true, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (first < argc && print_config) {
		cp_die_usage("serve", usage, options, "--print-config takes no command");
		return 2;
	}
	if (heap_sample && first >= argc && !print_config) {
		cp_die_usage("serve", usage, options,
			     "--heap-sample goes with a command (cprof serve -- ./app)");
		return 2;
	}
	struct cp_serve_config c;
	struct cp_error err;
	cp_serve_config_init(&c);
	if (config_file && cp_serve_config_load(&c, config_file, &err)) {
		cmd_error("serve", "%s", err.msg);
		cp_serve_config_release(&c);
		return err.code == CP_E_USAGE ? 2 : 1;
	}
	rc = apply_flags(&c);
	if (rc || print_config) {
		if (!rc)
			cp_serve_config_print(stdout, &c);
		cp_serve_config_release(&c);
		return rc;
	}
	if (check)
		return run_check(&c);
	/* fleet control's tokens; a program called token runs after "--" */
	if (first < argc && !strcmp(argv[first], "token") && strcmp(argv[first - 1], "--")) {
		rc = serve_token(argc - first, argv + first, &c);
		cp_serve_config_release(&c);
		return rc;
	}
	/* a thread per connection would each get a malloc arena of its own,
	 * which keeps what a finished profile freed: two arenas keep the
	 * server's memory near what it uses */
	mallopt(M_ARENA_MAX, 2);
	/* the server's threads take no signals: the main thread waits for them */
	sigset_t set;
	sampling_block_signals(&set);
	signal(SIGPIPE, SIG_IGN);
	struct cp_serve_app *app = NULL;
	char *cache = NULL, *cmdline = NULL;
	if (first < argc) {
		/* the program first, held before its exec: a server that cannot
		 * start leaves nothing running */
		cache = cp_cache_dir();
		cmdline = cmd_join_args(argv + first);
		app = cp_serve_app_spawn(argv + first, cmdline, (uint64_t)c.heap_sample_bytes, cache,
					 &err);
		if (!app) {
			cmd_error("serve", "%s", err.msg);
			cp_serve_config_release(&c);
			free(cache);
			free(cmdline);
			return err.code == CP_E_NOENT || err.code == CP_E_PERM ? 127 : 1;
		}
	}
	struct cp_server *s = cp_server_start(&c, app, &err);
	long sample_bytes = c.heap_sample_bytes;
	cp_serve_config_release(&c);
	if (!s) {
		cmd_error("serve", "%s", err.msg);
		cp_serve_app_free(app);
		free(cache);
		free(cmdline);
		return err.code == CP_E_USAGE ? 2 : 1;
	}
	fprintf(stderr, "cprof serve: listening on %s\n", cp_server_url(s));
	if (!app) {
		int sig;
		while (!sigwait(&set, &sig) && sig == SIGUSR2) /* --every's signal: not ours */
			;
		cp_server_stop(s);
		return 0;
	}
	fprintf(stderr, "cprof serve: running %s as process %d (heap: one sample per %ld bytes)\n",
		argv[first], (int)cp_serve_app_pid(app), sample_bytes);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct cp_error rerr = { 0 };
	rc = cp_serve_app_run(app, sigfd, &rerr);
	if (rerr.msg[0])
		cmd_error("serve", "%s", rerr.msg);
	else
		fprintf(stderr, "cprof serve: process %d exited (status %d); stopping\n",
			(int)cp_serve_app_pid(app), rc);
	cp_server_stop(s);
	cp_serve_app_free(app);
	if (sigfd >= 0)
		close(sigfd);
	free(cache);
	free(cmdline);
	return rc;
}
