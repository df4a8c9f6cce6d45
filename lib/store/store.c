/* store.c - the store's front: arguments checked once here, then the
 * backend's operations (store-int.h); labels, ids, checksums. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-int.h"

struct cp_store *cp_store_open(const char *dir, struct cp_error *err)
{
	if (!dir || !*dir) {
		cp_error_set(err, CP_E_USAGE, "store: no data directory given");
		return NULL;
	}
	if (!strncmp(dir, "postgresql://", 13) || !strncmp(dir, "postgres://", 11))
		return store_pg_open(dir, err);
	return store_sqlite_open(dir, err);
}

void cp_store_close(struct cp_store *s)
{
	if (s)
		s->ops->close(s);
}

bool cp_store_valid_service(const char *s, size_t n)
{
	if (!n || n >= 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

bool cp_store_valid_id(const char *s)
{
	if (!s || strlen(s) != CP_STORE_ID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

struct label {
	const char *k, *v;
	size_t klen, vlen;
};

static int label_cmp(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->k, y->k, n);
	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static bool key_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

int cp_store_canon_labels(const char *in, char *out, size_t outsz, struct cp_error *err)
{
	size_t n = strlen(in);
	while (n && isspace((unsigned char)in[n - 1]))
		n--;
	while (n && isspace((unsigned char)*in))
		in++, n--;
	if (n && *in == '{') {
		if (in[n - 1] != '}')
			return cp_error_set(err, CP_E_USAGE, "labels: '{' without its '}'");
		in++;
		n -= 2;
	}
	struct label ls[64];
	size_t nl = 0;
	for (size_t i = 0; i < n;) {
		while (i < n && (in[i] == ' ' || in[i] == ','))
			i++;
		if (i >= n)
			break;
		if (nl == sizeof(ls) / sizeof(ls[0]))
			return cp_error_set(err, CP_E_USAGE, "labels: more than 64");
		struct label *l = &ls[nl];
		l->k = in + i;
		while (i < n && key_char((unsigned char)in[i]))
			i++;
		l->klen = (size_t)(in + i - l->k);
		while (i < n && in[i] == ' ')
			i++;
		if (!l->klen || i >= n || in[i] != '=')
			return cp_error_set(err, CP_E_USAGE,
					    "labels: '%.*s' at byte %zu is not key=value (keys: "
					    "letters, digits, '_', '.', '-')",
					    (int)(n - i < 32 ? n - i : 32), in + i, i);
		i++;
		while (i < n && in[i] == ' ')
			i++;
		l->v = in + i;
		while (i < n && in[i] != ',') {
			unsigned char c = (unsigned char)in[i];
			if (c < 0x20 || c == 0x7f || c == '=' || c == '{' || c == '}')
				return cp_error_set(err, CP_E_USAGE,
						    "labels: value of '%.*s' has a '%c' at byte %zu",
						    (int)l->klen, l->k, c >= 0x20 ? c : '?', i);
			i++;
		}
		l->vlen = (size_t)(in + i - l->v);
		while (l->vlen && l->v[l->vlen - 1] == ' ')
			l->vlen--;
		/* k="v" as Prometheus writes it: quotes and blanks at the ends go
		 * (all of them, so that the canonical form reads back the same) */
		for (;;) {
			while (l->vlen && l->v[0] == ' ')
				l->v++, l->vlen--;
			while (l->vlen && l->v[l->vlen - 1] == ' ')
				l->vlen--;
			if (l->vlen < 2 || l->v[0] != '"' || l->v[l->vlen - 1] != '"')
				break;
			l->v++;
			l->vlen -= 2;
		}
		nl++;
	}
	qsort(ls, nl, sizeof(ls[0]), label_cmp);
	size_t o = 0;
	for (size_t i = 0; i < nl; i++) {
		if (i && !label_cmp(&ls[i], &ls[i - 1]))
			return cp_error_set(err, CP_E_USAGE, "labels: '%.*s' given twice",
					    (int)ls[i].klen, ls[i].k);
		int w = snprintf(out + o, outsz - o, "%s%.*s=%.*s", i ? "," : "", (int)ls[i].klen,
				 ls[i].k, (int)ls[i].vlen, ls[i].v);
		if (w < 0 || (size_t)w >= outsz - o)
			return cp_error_set(err, CP_E_USAGE, "labels: over %zu bytes", outsz - 1);
		o += (size_t)w;
	}
	if (!nl && outsz)
		out[0] = '\0';
	return 0;
}

int cp_store_put(struct cp_store *s, struct cp_store_row *row, const void *pb, size_t pblen,
		 const void *json, size_t jsonlen, struct cp_error *err)
{
	if (!row->service[0])
		return cp_error_set(err, CP_E_USAGE, "store: a profile needs a service name");
	if (row->until_ns < row->from_ns)
		return cp_error_set(err, CP_E_USAGE, "store: the profile ends before it starts");
	char canon[sizeof(row->labels)];
	if (cp_store_canon_labels(row->labels, canon, sizeof(canon), err))
		return CP_E_USAGE;
	memcpy(row->labels, canon, sizeof(canon));
	cp_random_hex(row->id, CP_STORE_ID_LEN / 2);
	row->created_ns = (int64_t)cp_realtime_ns();
	row->size = (int64_t)pblen;
	row->json_size = (int64_t)jsonlen;
	cp_sha256_hex(pb, pblen, row->sha256);
	cp_sha256_hex(json, jsonlen, row->json_sha256);
	return s->ops->put(s, row, pb, pblen, json, jsonlen, err);
}

int cp_store_list(struct cp_store *s, const struct cp_store_query *q, cp_store_row_fn fn,
		  void *arg, struct cp_error *err)
{
	struct cp_store_query c = *q;
	char canon[512];
	if (c.labels && *c.labels) {
		if (cp_store_canon_labels(c.labels, canon, sizeof(canon), err))
			return CP_E_USAGE;
		c.labels = canon;
	}
	if (c.limit <= 0)
		c.limit = 1000;
	return s->ops->list(s, &c, fn, arg, err);
}

int cp_store_get(struct cp_store *s, const char *id, struct cp_store_row *row,
		 struct cp_error *err)
{
	if (!cp_store_valid_id(id))
		return cp_error_set(err, CP_E_NOENT, "no profile '%.32s'", id ? id : "");
	return s->ops->get(s, id, row, err);
}

int cp_store_read(struct cp_store *s, const char *id, enum cp_store_blob which, void **data,
		  size_t *len, struct cp_error *err)
{
	struct cp_store_row row;
	int rc = cp_store_get(s, id, &row, err);
	if (rc)
		return rc;
	rc = s->ops->read(s, &row, which, data, len, err);
	if (rc)
		return rc;
	char sum[65];
	cp_sha256_hex(*data, *len, sum);
	const char *want = which == CP_STORE_PPROF ? row.sha256 : row.json_sha256;
	if ((int64_t)*len != (which == CP_STORE_PPROF ? row.size : row.json_size) ||
	    strcmp(sum, want)) {
		free(*data);
		*data = NULL;
		return cp_error_set(err, CP_E_FORMAT, "profile %s: its %s is damaged (checksum)", id,
				    which == CP_STORE_PPROF ? "profile.pb.gz" : "profile.json");
	}
	return 0;
}

int cp_store_delete(struct cp_store *s, const char *id, struct cp_error *err)
{
	if (!cp_store_valid_id(id))
		return cp_error_set(err, CP_E_NOENT, "no profile '%.32s'", id ? id : "");
	return s->ops->delete(s, id, err);
}

int cp_store_retain(struct cp_store *s, int64_t created_before_ns, int64_t max_bytes,
		    long *removed, struct cp_error *err)
{
	struct store_id *ids = NULL;
	size_t n = 0;
	if (removed)
		*removed = 0;
	int rc = s->ops->oldest(s, created_before_ns, max_bytes, &ids, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = s->ops->delete(s, ids[i].s, err);
		if (rc == CP_E_NOENT) /* gone meanwhile */
			rc = 0;
		else if (!rc && removed)
			(*removed)++;
	}
	free(ids);
	return rc;
}

int cp_store_stats(struct cp_store *s, struct cp_store_stats *st, struct cp_error *err)
{
	return s->ops->stats(s, st, err);
}

static void ignore(const char *line, void *arg)
{
}

long cp_store_check(struct cp_store *s, cp_store_problem_fn fn, void *arg, struct cp_error *err)
{
	return s->ops->check(s, fn ? fn : ignore, arg, err);
}
