/* test_store.c - lib/store (files + SQLite): put, get, list filters and
 * order, blobs read back and checked, labels in canonical form and their
 * errors, retention by age and bytes, --check naming exactly the damaged
 * and the missing blob, leftovers of interrupted writes removed at open,
 * one process per directory, ids that are not ids refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "%s/cprof-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char *cmd = cp_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static struct cp_store *open_store(void)
{
	struct cp_error err = { 0 };
	struct cp_store *s = cp_store_open(dir, &err);
	if (!s)
		fail_msg("open: %s", err.msg);
	return s;
}

static void put(struct cp_store *s, struct cp_store_row *r, const char *service, const char *labels,
		int64_t from, const char *pb, const char *json)
{
	struct cp_error err = { 0 };
	memset(r, 0, sizeof(*r));
	snprintf(r->service, sizeof(r->service), "%s", service);
	snprintf(r->labels, sizeof(r->labels), "%s", labels);
	snprintf(r->host, sizeof(r->host), "h1");
	snprintf(r->sample_type, sizeof(r->sample_type), "cpu");
	r->pid = 42;
	r->from_ns = from;
	r->until_ns = from + 10;
	r->total = 100;
	r->samples = 7;
	if (cp_store_put(s, r, pb, strlen(pb), json, strlen(json), &err))
		fail_msg("put: %s", err.msg);
	assert_true(cp_store_valid_id(r->id));
}

struct ids {
	char v[16][CP_STORE_ID_LEN + 1];
	int n;
};

static int collect(const struct cp_store_row *row, void *arg)
{
	struct ids *ids = arg;
	memcpy(ids->v[ids->n++], row->id, CP_STORE_ID_LEN + 1);
	return 0;
}

static struct ids list(struct cp_store *s, const char *service, const char *labels, int64_t from,
		       int64_t until)
{
	struct ids ids = { .n = 0 };
	struct cp_store_query q = { .service = service, .labels = labels, .from_ns = from,
				    .until_ns = until };
	struct cp_error err = { 0 };
	if (cp_store_list(s, &q, collect, &ids, &err))
		fail_msg("list: %s", err.msg);
	return ids;
}

static void test_put_get_list(void **state)
{
	struct cp_store *s = open_store();
	struct cp_store_row a, b, c, got;
	put(s, &a, "web", "{region=eu, env=prod}", 1000, "pprof-a", "{\"name\":\"a\"}");
	put(s, &b, "web", "env=dev", 2000, "pprof-b", "{}");
	put(s, &c, "db", "", 3000, "pprof-c", "[]");
	assert_string_equal(a.labels, "env=prod,region=eu");
	struct cp_error err = { 0 };
	assert_int_equal(cp_store_get(s, a.id, &got, &err), 0);
	assert_string_equal(got.service, "web");
	assert_string_equal(got.labels, "env=prod,region=eu");
	assert_int_equal(got.from_ns, 1000);
	assert_int_equal(got.size, 7);
	assert_string_equal(got.sha256, a.sha256);

	struct ids all = list(s, NULL, NULL, 0, 0);
	assert_int_equal(all.n, 3); /* newest first */
	assert_string_equal(all.v[0], c.id);
	assert_string_equal(all.v[2], a.id);
	struct ids web = list(s, "web", NULL, 0, 0);
	assert_int_equal(web.n, 2);
	struct ids prod = list(s, NULL, "env=prod", 0, 0);
	assert_int_equal(prod.n, 1);
	assert_string_equal(prod.v[0], a.id);
	/* a label's value must match whole: env=pro is not env=prod */
	assert_int_equal(list(s, NULL, "env=pro", 0, 0).n, 0);
	/* time overlap: [1500, 2005) meets b only; [1005, 2001) a and b */
	assert_int_equal(list(s, NULL, NULL, 1500, 2005).n, 1);
	assert_int_equal(list(s, NULL, NULL, 1005, 2001).n, 2);

	void *data;
	size_t len;
	assert_int_equal(cp_store_read(s, b.id, CP_STORE_PPROF, &data, &len, &err), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "pprof-b", 7);
	free(data);
	assert_int_equal(cp_store_read(s, a.id, CP_STORE_JSON, &data, &len, &err), 0);
	assert_memory_equal(data, "{\"name\":\"a\"}", len);
	free(data);

	struct cp_store_stats st;
	assert_int_equal(cp_store_stats(s, &st, &err), 0);
	assert_int_equal(st.profiles, 3);
	assert_int_equal(st.bytes, 7 * 3 + 12 + 2 + 2);

	/* ids that are not ids never reach the filesystem */
	assert_int_equal(cp_store_get(s, "../../etc/passwd", &got, &err), CP_E_NOENT);
	assert_int_equal(cp_store_read(s, "0123456789abcdeF", CP_STORE_PPROF, &data, &len, &err),
			 CP_E_NOENT);
	assert_int_equal(cp_store_delete(s, "", &err), CP_E_NOENT);
	assert_int_equal(cp_store_delete(s, b.id, &err), 0);
	assert_int_equal(cp_store_get(s, b.id, &got, &err), CP_E_NOENT);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, b.id);
	assert_int_not_equal(access(path, F_OK), 0);
	cp_store_close(s);
}

static void test_labels(void **state)
{
	char out[128];
	struct cp_error err = { 0 };
	assert_int_equal(cp_store_canon_labels(" {b=2, a = \"x y\"} ", out, sizeof(out), &err), 0);
	assert_string_equal(out, "a=x y,b=2");
	assert_int_equal(cp_store_canon_labels("", out, sizeof(out), &err), 0);
	assert_string_equal(out, "");
	const char *bad[] = { "=x", "a=1,a=2", "a=b=c", "{a=1", "a b=1", "a=\x01", "a=}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(cp_store_canon_labels(bad[i], out, sizeof(out), &err), CP_E_USAGE);
		assert_non_null(strstr(err.msg, "labels"));
	}
	assert_int_equal(cp_store_canon_labels("a=0123456789,b=0123456789", out, 16, &err),
			 CP_E_USAGE);
}

static void test_retention(void **state)
{
	struct cp_store *s = open_store();
	struct cp_store_row r[5];
	for (int i = 0; i < 5; i++)
		put(s, &r[i], "web", "", 1000 * i, "0123456789", "0123456789"); /* 20 bytes each */
	long removed = 0;
	struct cp_error err = { 0 };
	/* at most 60 bytes: the two oldest go */
	assert_int_equal(cp_store_retain(s, 0, 60, &removed, &err), 0);
	assert_int_equal(removed, 2);
	struct ids left = list(s, NULL, NULL, 0, 0);
	assert_int_equal(left.n, 3);
	assert_string_equal(left.v[2], r[2].id);
	/* by age: stored before the fourth one */
	assert_int_equal(cp_store_retain(s, r[3].created_ns, 0, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(list(s, NULL, NULL, 0, 0).n, 2);
	assert_int_equal(cp_store_check(s, NULL, NULL, &err), 0);
	cp_store_close(s);
}

struct lines {
	char v[8][160];
	int n;
};

static void problem(const char *line, void *arg)
{
	struct lines *l = arg;
	if (l->n < 8)
		snprintf(l->v[l->n], sizeof(l->v[0]), "%s", line);
	l->n++;
}

static void test_check(void **state)
{
	struct cp_store *s = open_store();
	struct cp_store_row a, b, c;
	put(s, &a, "web", "", 1, "aaaa", "{}");
	put(s, &b, "web", "", 2, "bbbb", "{}");
	put(s, &c, "web", "", 3, "cccc", "{}");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/profile.pb.gz", dir, a.id);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 1), 1);
	close(fd);
	snprintf(path, sizeof(path), "%s/%s/profile.json", dir, b.id);
	assert_int_equal(unlink(path), 0);
	struct lines l = { .n = 0 };
	struct cp_error err = { 0 };
	assert_int_equal(cp_store_check(s, problem, &l, &err), 2);
	char want1[80], want2[80];
	snprintf(want1, sizeof(want1), "%s: profile.pb.gz: checksum mismatch", a.id);
	snprintf(want2, sizeof(want2), "%s: profile.json: missing", b.id);
	assert_true((!strcmp(l.v[0], want1) && !strcmp(l.v[1], want2)) ||
		    (!strcmp(l.v[1], want1) && !strcmp(l.v[0], want2)));
	void *data;
	size_t len;
	assert_int_equal(cp_store_read(s, a.id, CP_STORE_PPROF, &data, &len, &err), CP_E_FORMAT);
	assert_non_null(strstr(err.msg, "damaged"));
	cp_store_close(s);
}

static void test_leftovers_and_lock(void **state)
{
	struct cp_store *s = open_store();
	struct cp_store_row a;
	put(s, &a, "web", "", 1, "aaaa", "{}");
	struct cp_error err = { 0 };
	/* one process per directory */
	assert_null(cp_store_open(dir, &err));
	assert_non_null(strstr(err.msg, "in use"));
	cp_store_close(s);
	/* an interrupted write: a half directory under tmp, and one renamed
	 * into place whose row was never committed */
	char path[512];
	snprintf(path, sizeof(path), "%s/tmp/0123456789abcdef", dir);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/fedcba9876543210", dir);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/fedcba9876543210/profile.pb.gz", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("half", f);
	fclose(f);
	s = open_store();
	snprintf(path, sizeof(path), "%s/fedcba9876543210", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/tmp/0123456789abcdef", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(cp_store_check(s, NULL, NULL, &err), 0);
	struct cp_store_row got;
	assert_int_equal(cp_store_get(s, a.id, &got, &err), 0);
	cp_store_close(s);
	/* an index that is not one */
	cp_store_close(NULL);
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	f = fopen(path, "w");
	fputs("this is no database, just text that goes on for more than a header would", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/index.sqlite-wal", dir);
	unlink(path);
	assert_null(cp_store_open(dir, &err));
	assert_non_null(strstr(err.msg, "index.sqlite"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_list, setup, teardown),
		cmocka_unit_test(test_labels),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_and_lock, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
