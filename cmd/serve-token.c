/* serve-token.c - `cprof serve token create|list|revoke`: fleet
 * control's tokens in the store's database (lib/control). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"
#include "control/control.h"
#include "serve/serve.h"
#include "store/store.h"

static const char *const usage[] = {
	"cprof serve [--data DIR | --db URL | -c FILE] token create --service NAME --role agent|requester",
	"cprof serve [--data DIR | --db URL | -c FILE] token list",
	"cprof serve [--data DIR | --db URL | -c FILE] token revoke ID",
	NULL,
};

static const char *service, *role;

static const struct cp_option options[] = {
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

int cmd_serve_token(int argc, char **argv, const struct cp_serve_config *c)
{
	/* argv: token WHAT [options] [ID]; the options parsed after WHAT */
	const char *what = argc > 1 ? argv[1] : "";
	int first = 0;
	int rc = argc > 1 ? cp_opt_parse("serve token", usage, options, argc - 1, argv + 1, false,
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
		cp_die_usage("serve token", usage, options, "'%s': create, list or revoke", what);
		return 2;
	}
	if ((create || list) && nargs) {
		cp_die_usage("serve token", usage, options, "%s takes no argument ('%s')", what,
			     argv[first + 1]);
		return 2;
	}
	if (revoke && nargs != 1) {
		cp_die_usage("serve token", usage, options, "revoke takes one token id");
		return 2;
	}
	enum cp_control_role r = CP_ROLE_AGENT;
	if (create) {
		if (!service || !cp_store_valid_service(service, strlen(service))) {
			cp_die_usage("serve token", usage, options,
				     "--service: a service name (1 to 127 letters, digits, '-', '_' "
				     "or '.') is needed");
			return 2;
		}
		if (!role || (strcmp(role, "agent") && strcmp(role, "requester"))) {
			cp_die_usage("serve token", usage, options, "--role: agent or requester");
			return 2;
		}
		r = !strcmp(role, "agent") ? CP_ROLE_AGENT : CP_ROLE_REQUESTER;
	} else if (service || role) {
		cp_die_usage("serve token", usage, options, "--service and --role go with create");
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
