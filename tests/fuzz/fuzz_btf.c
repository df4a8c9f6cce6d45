/* fuzz_btf.c - libFuzzer harness for the BTF reader of strace-lite's
 * in-kernel counting (lib/trace/bpf.c, cp_trace_btf_offsets): any bytes
 * give the members' offsets or a one-line error, never a crash, leak or
 * read outside the data (strings without their NUL, sections past the
 * end, member lists past the type section).  Seeds:
 * tests/fuzz/corpus/btf/ (small BTF blobs with task_struct and
 * signal_struct, as the kernel's).
 *
 * The input is copied to a buffer of exactly its size, so AddressSanitizer
 * sees any read past it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct cp_trace_btf_member want[] = {
		{ "task_struct", "tgid", -1 },
		{ "task_struct", "signal", -1 },
		{ "signal_struct", "live", -1 },
	};
	struct cp_error err = { 0 };
	int rc = cp_trace_btf_offsets(copy, size, want, 3, &err);
	if (rc) {
		CHECK(rc == CP_E_FORMAT || rc == CP_E_UNSUPPORTED);
		CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		CHECK(strchr(err.msg, '\n') == NULL);
		CHECK(!strncmp(err.msg, "BTF: ", 5));
	} else {
		for (int i = 0; i < 3; i++)
			CHECK(want[i].off >= 0);
	}
	free(copy);
	return 0;
}
