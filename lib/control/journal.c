/* journal.c - the agent's journal of command ids (STATE_DIR/journal): a
 * line per step, "R id" (received: written and fsynced before the
 * command runs), "F id" (finished: its result is in the results spool),
 * "D id" (delivered).  An id in the journal is never run again; one whose
 * last step is R was running when the agent died.  Rewritten (temporary
 * name, fsync, rename) with the newest ids when it grows long. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/control-int.h"

#define JOURNAL_KEEP 1024 /* ids kept by a rewrite */

static struct journal_entry *find(struct journal *j, const char *id)
{
	for (size_t i = j->n; i-- > 0;)
		if (!strcmp(j->v[i].id, id))
			return &j->v[i];
	return NULL;
}

static void note(struct journal *j, const char *id, char st)
{
	struct journal_entry *e = find(j, id);
	if (!e) {
		CP_VEC_RESERVE(*j, j->n + 1);
		e = &j->v[j->n++];
		snprintf(e->id, sizeof(e->id), "%s", id);
	}
	e->st = st;
}

/* the newest JOURNAL_KEEP ids, each with its last step */
static int rewrite(struct journal *j, struct cp_error *err)
{
	size_t from = j->n > JOURNAL_KEEP ? j->n - JOURNAL_KEEP : 0;
	struct cp_buf b = { 0 };
	for (size_t i = from; i < j->n; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "%c %s\n", j->v[i].st, j->v[i].id);
		cp_buf_add(&b, line, (size_t)n);
	}
	int rc = cp_write_file_atomic(j->path, b.p, b.len);
	int e = errno;
	cp_buf_release(&b);
	if (rc)
		return cp_error_errno(err, CP_E_IO, e, "agent: journal %s", j->path);
	memmove(j->v, j->v + from, sizeof(j->v[0]) * (j->n - from));
	j->n -= from;
	j->lines = j->n;
	return 0;
}

int journal_open(struct journal *j, const char *dir, struct cp_error *err)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->path = cp_xasprintf("%s/journal", dir);
	size_t len;
	char *text = cp_read_file(j->path, &len);
	if (!text && errno != ENOENT)
		return cp_error_errno(err, CP_E_IO, errno, "agent: journal %s", j->path);
	int line = 0;
	for (char *p = text, *save = NULL, *l = text ? strtok_r(p, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		line++;
		/* a line cut short by a crash is the last one: skipped */
		if (strlen(l) != 2 + CP_UUID_LEN || !strchr("RFD", l[0]) || l[1] != ' ')
			continue;
		note(j, l + 2, l[0]);
	}
	free(text);
	j->lines = line;
	if (line > 4 * JOURNAL_KEEP && rewrite(j, err))
		return CP_E_IO;
	j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return cp_error_errno(err, CP_E_IO, errno, "agent: journal %s", j->path);
	return 0;
}

char journal_state(const struct journal *j, const char *id)
{
	for (size_t i = j->n; i-- > 0;)
		if (!strcmp(j->v[i].id, id))
			return j->v[i].st;
	return 0;
}

int journal_mark(struct journal *j, const char *id, char st, struct cp_error *err)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%c %s\n", st, id);
	if (cp_write_all(j->fd, line, (size_t)n) || fdatasync(j->fd))
		return cp_error_errno(err, CP_E_IO, errno, "agent: journal %s", j->path);
	note(j, id, st);
	if (++j->lines > 4 * JOURNAL_KEEP) {
		close(j->fd);
		j->fd = -1;
		if (rewrite(j, err))
			return CP_E_IO;
		j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (j->fd < 0)
			return cp_error_errno(err, CP_E_IO, errno, "agent: journal %s", j->path);
	}
	return 0;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	CP_VEC_FREE(*j);
	memset(j, 0, sizeof(*j));
	j->fd = -1;
}
