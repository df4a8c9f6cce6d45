/* fuzz_perfscript.c - libFuzzer harness for the perf script text reader
 * (the shared body and what it checks: fuzz-text.h).
 * Seeds: tests/fuzz/corpus/perfscript/.
 */
#include "fuzz-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_text_reader(cp_format_perfscript_read, data, size);
}
