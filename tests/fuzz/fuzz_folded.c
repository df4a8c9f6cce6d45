/* fuzz_folded.c - libFuzzer harness for the folded stacks reader (the shared body and what
 * it checks: fuzz-text.h).  Seeds: tests/fuzz/corpus/folded/.
 */
#include "fuzz-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_text_reader(cp_format_folded_read, data, size);
}
