/* targets.c - which processes a request names, and whether it may have
 * them (see serve-int.h). */
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc.h"
#include "serve/serve-int.h"

/* Real, effective and saved uid of a process; false when it is gone. */
static bool proc_uids(pid_t pid, long uids[3])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *s = cp_read_file(path, NULL);
	if (!s)
		return false;
	char *u = strstr(s, "\nUid:");
	bool ok = u && sscanf(u + 5, "%ld %ld %ld", &uids[0], &uids[1], &uids[2]) == 3;
	free(s);
	return ok;
}

/* Whether name is in a comma-separated list. */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && t[-1] == ' ')
			t--;
		if ((size_t)(t - p) == n && !memcmp(p, name, n))
			return true;
		p = e;
	}
	return false;
}

/* May this request have the process: the config's allow lists, and over a
 * unix socket the caller's own right to trace it (root, or the user whose
 * process it is, with the same real, effective and saved uid, as the
 * kernel asks of ptrace). */
static int allowed(const struct cp_server *s, pid_t pid, long peer_uid, char *msg, size_t msgsz)
{
	long uids[3];
	if (!proc_uids(pid, uids)) {
		snprintf(msg, msgsz, "no process %d", (int)pid);
		return 404;
	}
	if (pid == getpid()) {
		snprintf(msg, msgsz, "process %d is this server", (int)pid);
		return 403;
	}
	const struct cp_serve_config *c = &s->cfg;
	if (*c->allow_uids) {
		char u[32];
		snprintf(u, sizeof(u), "%ld", uids[0]);
		if (!in_list(c->allow_uids, u)) {
			snprintf(msg, msgsz, "process %d (uid %ld) is not in allow_uids", (int)pid,
				 uids[0]);
			return 403;
		}
	}
	if (*c->allow_names) {
		char comm[64];
		cp_proc_comm(pid, pid, comm, sizeof(comm));
		if (!in_list(c->allow_names, comm)) {
			snprintf(msg, msgsz, "process %d (%s) is not in allow_names", (int)pid, comm);
			return 403;
		}
	}
	if (peer_uid > 0 && (uids[0] != peer_uid || uids[1] != peer_uid || uids[2] != peer_uid)) {
		snprintf(msg, msgsz, "uid %ld may not trace process %d (it runs as uid %ld)", peer_uid,
			 (int)pid, uids[1]);
		return 403;
	}
	return 0;
}

static const struct cp_serve_target *find_target(const struct cp_serve_config *c, const char *name,
						 size_t len)
{
	for (int i = 0; i < c->ntargets; i++)
		if (strlen(c->targets[i].name) == len && !memcmp(c->targets[i].name, name, len))
			return &c->targets[i];
	return NULL;
}

static int from_pidfile(const struct cp_serve_target *t, struct cp_serve_pids *out, char *msg,
			size_t msgsz)
{
	char *s = cp_read_file(t->pidfile, NULL);
	long pid;
	if (!s) {
		snprintf(msg, msgsz, "target %s: cannot read %s", t->name, t->pidfile);
		return 404;
	}
	s[strcspn(s, " \t\r\n")] = '\0';
	int bad = cp_parse_long(s, 1, 0x3fffffff, &pid);
	free(s);
	if (bad || !cp_proc_exists((pid_t)pid)) {
		snprintf(msg, msgsz, "target %s: %s names no running process", t->name, t->pidfile);
		return 404;
	}
	out->pids[out->n++] = (pid_t)pid;
	return 0;
}

/* Every process whose command line (arguments joined by spaces) matches,
 * as pgrep -f; never this server. */
static int from_cmdline(const struct cp_serve_target *t, struct cp_serve_pids *out, char *msg,
			size_t msgsz)
{
	regex_t re;
	if (regcomp(&re, t->cmdline, REG_EXTENDED | REG_NOSUB)) {
		snprintf(msg, msgsz, "target %s: cmdline is not a regular expression", t->name);
		return 500;
	}
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool more = false;
	while (d && (e = readdir(d))) {
		long pid;
		if (cp_parse_long(e->d_name, 1, 0x3fffffff, &pid) || pid == getpid())
			continue;
		char path[64];
		size_t len;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		char *cl = cp_read_file(path, &len);
		if (!cl)
			continue;
		for (size_t i = 0; i + 1 < len; i++)
			if (!cl[i])
				cl[i] = ' ';
		bool match = len && !regexec(&re, cl, 0, NULL, 0);
		free(cl);
		if (!match)
			continue;
		if (out->n == CP_SESSION_MAX_PIDS) {
			more = true;
			break;
		}
		out->pids[out->n++] = (pid_t)pid;
	}
	if (d)
		closedir(d);
	regfree(&re);
	if (more) {
		snprintf(msg, msgsz, "target %s: more than %d processes match", t->name,
			 CP_SESSION_MAX_PIDS);
		return 409;
	}
	if (!out->n) {
		snprintf(msg, msgsz, "target %s: no running process matches '%s'", t->name,
			 t->cmdline);
		return 404;
	}
	return 0;
}

int cp_serve_resolve(const struct cp_server *s, const char *name, size_t namelen, pid_t pid,
		     long peer_uid, struct cp_serve_pids *out, char *msg, size_t msgsz)
{
	memset(out, 0, sizeof(*out));
	if (name) {
		const struct cp_serve_target *t = find_target(&s->cfg, name, namelen);
		if (!t) {
			snprintf(msg, msgsz, "no target '%.*s' in the configuration",
				 (int)(namelen < 64 ? namelen : 64), name);
			return 404;
		}
		int rc = t->pidfile ? from_pidfile(t, out, msg, msgsz) :
				      from_cmdline(t, out, msg, msgsz);
		if (rc)
			return rc;
		snprintf(out->key, sizeof(out->key), "target %s", t->name);
	} else {
		out->pids[out->n++] = pid;
		snprintf(out->key, sizeof(out->key), "process %d", (int)pid);
	}
	for (int i = 0; i < out->n; i++) {
		int rc = allowed(s, out->pids[i], peer_uid, msg, msgsz);
		if (rc)
			return rc;
	}
	return 0;
}
