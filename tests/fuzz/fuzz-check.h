/* fuzz-check.h - CHECK(cond): an invariant of a harness; when it fails,
 * name it and abort, so libFuzzer keeps the input. */
#ifndef CPROF_FUZZ_CHECK_H
#define CPROF_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
