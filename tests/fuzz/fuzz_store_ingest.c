/* fuzz_store_ingest.c - libFuzzer harness for what cprof serve's store
 * reads from an ingest request before the profile itself (the profile
 * readers have their own harnesses): Pyroscope's application names
 * ("app.cpu{k=v}", lib/serve/request.c), label sets in canonical form
 * (lib/store) and query times.  Canonical labels must read back to
 * themselves; a service must be a valid one; nothing may crash, leak or
 * read out of bounds.  Seeds: tests/fuzz/corpus/store_ingest/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "serve/serve.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	char service[128], labels[512], msg[300];
	memset(msg, 0, sizeof(msg));
	if (cp_serve_parse_app_name(s, service, labels, msg, sizeof(msg)) == 0) {
		CHECK(cp_store_valid_service(service, strlen(service)));
		char again[512];
		struct cp_error err = { 0 };
		CHECK(cp_store_canon_labels(labels, again, sizeof(again), &err) == 0);
		CHECK(!strcmp(again, labels));
	} else {
		CHECK(msg[0] != '\0' && memchr(msg, '\0', sizeof(msg)));
	}

	char canon[512];
	struct cp_error err = { 0 };
	if (cp_store_canon_labels(s, canon, sizeof(canon), &err) == 0) {
		char again[512];
		CHECK(cp_store_canon_labels(canon, again, sizeof(again), &err) == 0);
		CHECK(!strcmp(again, canon));
	} else {
		CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof(err.msg)));
	}

	int64_t t;
	if (cp_serve_parse_time(s, 1700000000000000000ll, &t) == 0)
		CHECK(t >= 1700000000000000000ll - 100000ll * 86400000000000ll);
	CHECK(cp_store_valid_id(s) == (strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16));
	free(s);
	return 0;
}
