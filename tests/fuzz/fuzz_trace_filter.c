/* fuzz_trace_filter.c - libFuzzer harness for cprof strace-lite's -e trace=
 * expressions (lib/trace/filter.c): any text gives a set or a one-line
 * error naming the problem, never a crash, leak or out-of-bounds read.
 * Seeds: tests/fuzz/corpus/trace_filter/.
 *
 * The input (a NUL-terminated copy) is parsed; a set holds only numbers
 * this build names; the expression with "!" before it gives exactly the
 * complement among the named numbers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"
#include "trace/trace.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *text = malloc(size + 2);
	text[0] = '!';
	memcpy(text + 1, data, size);
	text[size + 1] = '\0';
	struct cp_trace_set s, neg;
	struct cp_error err = { 0 };
	int rc = cp_trace_set_parse(text + 1, &s, &err);
	if (rc) {
		CHECK(rc == CP_E_USAGE);
		CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		CHECK(strchr(err.msg, '\n') == NULL);
		CHECK(!strncmp(err.msg, "-e trace: ", 10));
	} else {
		for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++)
			CHECK(!cp_trace_set_has(&s, nr) || cp_syscall_name(nr));
		/* "!" + a list that does not start with "!" is its complement */
		if (text[1] != '!' && !cp_trace_set_parse(text, &neg, &err))
			for (long nr = 0; nr < CP_TRACE_MAX_NR; nr++)
				if (cp_syscall_name(nr))
					CHECK(cp_trace_set_has(&s, nr) != cp_trace_set_has(&neg, nr));
	}
	free(text);
	return 0;
}
