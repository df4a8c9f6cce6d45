/* agent.c - `cprof agent`: takes start/stop commands from cprof serve
 * --control by heartbeat and runs them on this host (lib/control). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "control/control.h"
#include "store/store.h"

static const char *const usage[] = {
	"cprof agent --server URL --service NAME --token-file FILE [options]",
	NULL,
};

static const char *server, *service, *token_file, *hostname_arg, *heartbeat_arg, *state_dir,
	*spool_max_arg, *push_arg, *ca_file, *heap_sample_arg;

static const struct cp_option options[] = {
	CP_OPT_STR_(0, "server", "URL", "the control server, cprof serve --control (http(s)://HOST:PORT)",
		    &server, NULL),
	CP_OPT_STR_(0, "service", "NAME", "the service this host runs (its agent token's)", &service,
		    NULL),
	CP_OPT_STR_(0, "token-file", "FILE",
		    "the agent token (cprof serve token create --role agent), the file's first line",
		    &token_file, "file"),
	CP_OPT_STR_(0, "hostname", "NAME",
		    "the name requests give this host (default: the system's host name)",
		    &hostname_arg, NULL),
	CP_OPT_STR_(0, "heartbeat", "TIME", "between heartbeats (default 30s; e.g. 500ms, 10s, 1m)",
		    &heartbeat_arg, NULL),
	CP_OPT_STR_(0, "state-dir", "DIR",
		    "the journal of commands and the results not yet delivered (default "
		    "/var/lib/cprof-agent)",
		    &state_dir, "dir"),
	CP_OPT_STR_(0, "spool-max", "SIZE",
		    "profiles kept while the server is away, at most (default 256M; K, M, G)",
		    &spool_max_arg, NULL),
	CP_OPT_STR_(0, "push", "pyroscope=URL",
		    "also send each profile to Pyroscope's ingest API at URL", &push_arg, NULL),
	CP_OPT_STR_(0, "ca", "FILE", "PEM CA for an https server (default: the system's)", &ca_file,
		    "file"),
	CP_OPT_STR_(0, "heap-sample", "SIZE",
		    "heap mode: sample one allocation per SIZE bytes on average (default 512K)",
		    &heap_sample_arg, NULL),
	CP_OPT_END_,
};

#define USAGE_ERROR(...)                                               \
	do {                                                           \
		cp_die_usage("agent", usage, options, __VA_ARGS__);    \
		return 2;                                              \
	} while (0)

int cmd_agent(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("agent", usage, options, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (first < argc)
		USAGE_ERROR("unexpected argument '%s'", argv[first]);
	if (!server)
		USAGE_ERROR("--server: the control server's URL is needed");
	if (!service || !cp_store_valid_service(service, strlen(service)))
		USAGE_ERROR("--service: a service name (1 to 127 letters, digits, '-', '_' or '.') is "
			    "needed");
	if (!token_file)
		USAGE_ERROR("--token-file: the agent token is needed");
	struct cp_agent_opts o = { .server = server, .service = service, .ca_file = ca_file,
				   .state_dir = state_dir ? state_dir : "/var/lib/cprof-agent" };
	if (heartbeat_arg && (cp_parse_duration(heartbeat_arg, &o.heartbeat_ns) ||
			      o.heartbeat_ns < 100000000ull || o.heartbeat_ns > 3600000000000ull))
		USAGE_ERROR("--heartbeat: '%s' is not a duration from 100ms to 1h", heartbeat_arg);
	if (spool_max_arg && (cmd_parse_size(spool_max_arg, &o.spool_max) || o.spool_max < 4096))
		USAGE_ERROR("--spool-max: '%s' is not a size of 4K or more", spool_max_arg);
	if (heap_sample_arg && (cmd_parse_size(heap_sample_arg, &o.heap_sample) || !o.heap_sample ||
				o.heap_sample > (1u << 30)))
		USAGE_ERROR("--heap-sample: '%s' is not a size from 1 byte to 1G", heap_sample_arg);
	if (push_arg) {
		if (strncmp(push_arg, "pyroscope=", 10) ||
		    (strncmp(push_arg + 10, "http://", 7) && strncmp(push_arg + 10, "https://", 8)))
			USAGE_ERROR("--push: pyroscope=http(s)://HOST:PORT, not '%s'", push_arg);
		o.pyroscope = push_arg + 10;
	}
	char host[256];
	if (hostname_arg) {
		snprintf(host, sizeof(host), "%s", hostname_arg);
	} else if (gethostname(host, sizeof(host))) {
		cmd_error("agent", "no host name: give --hostname");
		return 2;
	}
	o.hostname = host;
	char *token = cp_read_file(token_file, NULL);
	if (!token) {
		cmd_error("agent", "--token-file %s: %s", token_file, strerror(errno));
		return 2;
	}
	token[strcspn(token, "\r\n")] = '\0';
	o.token = token;
	char *cache = cp_cache_dir();
	o.cache_dir = cache;
	/* TERM and INT end it cleanly; the threads it starts take no signals */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct cp_error err = { 0 };
	struct cp_agent *a = cp_agent_new(&o, &err);
	if (!a) {
		cmd_error("agent", "%s", err.msg);
		free(token);
		free(cache);
		return err.code == CP_E_USAGE ? 2 : 1;
	}
	fprintf(stderr, "cprof agent: %s as host %s of service %s, heartbeat every %.1f s\n", server,
		host, service, (double)(o.heartbeat_ns ? o.heartbeat_ns : 30000000000ull) / 1e9);
	rc = cp_agent_run(a, sfd, &err);
	if (rc)
		cmd_error("agent", "%s", err.msg);
	cp_agent_free(a);
	close(sfd);
	free(token);
	free(cache);
	return rc ? 1 : 0;
}
