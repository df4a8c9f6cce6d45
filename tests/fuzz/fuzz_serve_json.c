/* fuzz_serve_json.c - libFuzzer harness for the body of cprof serve's
 * POST /api/v1/sessions (lib/serve/request.c): any bytes must give a
 * session request within the limits or a 400 with a message, never a
 * crash, leak or out-of-bounds read.  Seeds: tests/fuzz/corpus/serve_json/.
 *
 * The body is a copy of exactly the input's bytes, not NUL-terminated, as
 * the server hands it over.  It is parsed with the default config.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_serve_config cfg;
	cp_serve_config_init(&cfg);
	/* a copy of exactly size bytes, so reads past the end are caught */
	char *body = malloc(size ? size : 1);
	memcpy(body, data, size);
	struct cp_serve_session_req out;
	char msg[300];
	memset(msg, 0, sizeof(msg));
	int rc = cp_serve_parse_session_json(&cfg, body, size, &out, msg, sizeof(msg));
	if (rc) {
		CHECK(rc == 400);
		CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
		CHECK(msg[0] != '\0');
	} else {
		size_t tlen = strnlen(out.target, sizeof(out.target));
		CHECK(tlen < sizeof(out.target));
		CHECK((out.pid > 0) != (tlen > 0));
		CHECK(out.pid >= 0);
		CHECK(out.duration >= 1 && out.duration <= cfg.max_session_duration_seconds);
		CHECK(out.frequency >= 1 && out.frequency <= cfg.max_frequency_hz);
	}
	free(body);
	cp_serve_config_release(&cfg);
	return 0;
}
