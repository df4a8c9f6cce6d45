/* store-fill.c - fill a profile store for bench/store.sh: N profiles
 * through cp_store_put (the server's own write path: files fsynced and
 * renamed, then the row), spread over SERVICES services, a week of time
 * and a few label values, each with the blobs of BLOB (a pprof file) and
 * a small flame-graph JSON.  Prints the profiles per second.
 *
 *   store-fill DIR N SERVICES BLOB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "store/store.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: store-fill DIR N SERVICES BLOB\n");
		return 2;
	}
	long n = atol(argv[2]), services = atol(argv[3]);
	size_t len;
	char *blob = cp_read_file(argv[4], &len);
	if (!blob || n <= 0 || services <= 0) {
		fprintf(stderr, "store-fill: bad arguments\n");
		return 2;
	}
	static const char json[] = "{\"name\":\"root\",\"value\":1,\"children\":[]}";
	struct cp_error err = { 0 };
	struct cp_store *s = cp_store_open(argv[1], &err);
	if (!s) {
		fprintf(stderr, "store-fill: %s\n", err.msg);
		return 1;
	}
	int64_t now = (int64_t)cp_realtime_ns(), week = 7 * 86400 * 1000000000ll;
	uint64_t t0 = cp_now_ns();
	for (long i = 0; i < n; i++) {
		struct cp_store_row r = { 0 };
		snprintf(r.service, sizeof(r.service), "svc%ld", i % services);
		snprintf(r.labels, sizeof(r.labels), "env=%s,host=h%ld", i % 3 ? "prod" : "dev",
			 i % 50);
		snprintf(r.host, sizeof(r.host), "h%ld", i % 50);
		snprintf(r.sample_type, sizeof(r.sample_type), "cpu");
		/* evenly over the week before now, newest last */
		r.from_ns = now - week + (int64_t)((double)week * (double)i / (double)n);
		r.until_ns = r.from_ns + 60000000000ll;
		r.total = 1000;
		r.samples = 1000;
		if (cp_store_put(s, &r, blob, len, json, sizeof(json) - 1, &err)) {
			fprintf(stderr, "store-fill: %s\n", err.msg);
			return 1;
		}
	}
	double secs = (double)(cp_now_ns() - t0) / 1e9;
	printf("%.0f\n", (double)n / secs);
	cp_store_close(s);
	free(blob);
	return 0;
}
