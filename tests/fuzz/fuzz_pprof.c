/* fuzz_pprof.c - libFuzzer harness for the pprof reader (lib/format/pprof.c):
 * any input must give a profile or a CP_E_FORMAT error, never a crash,
 * hang, leak or out-of-bounds read.  Seeds: tests/fuzz/corpus/pprof/
 * (small raw, not gzipped, messages, so that mutations reach the decoder;
 * gzipped inputs are inflated by the same code path).
 *
 * On success the profile is walked as a report would, written back as
 * pprof through two views (defaults; off-CPU samples without inline
 * frames), and the raw message written by the first view must read back:
 * everything the writer produces is valid input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t walk(const struct cp_profile *p)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		uint32_t n;
		const uint32_t *locs = cp_profile_stack_locs(p, p->samples.v[i].stack, &n);
		sum += strlen(p->samples.v[i].comm) + strlen(p->samples.v[i].syscall);
		for (uint32_t j = 0; j < n; j++) {
			const struct cp_profile_location *l = &p->locations.v[locs[j]];
			sum += l->address;
			if (l->mapping != CP_NONE)
				sum += strlen(p->mappings.v[l->mapping].path);
			for (uint32_t k = 0; k < l->nlines; k++)
				sum += strlen(
					p->functions.v[p->lines.v[l->line_start + k].function].name);
		}
		if (p->value_types.n)
			sum += (uint64_t)cp_profile_sample_values(p, i)[0];
	}
	return sum;
}

static void write_back(const struct cp_profile *p, const struct cp_view_opts *vo, bool check)
{
	struct cp_error err = { 0 };
	struct cp_view *v = cp_view_new(p, vo, &err);
	if (!v)
		return;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = check ? open_memstream(&buf, &len) : fopen("/dev/null", "w");
	struct cp_pprof_opts o = { .level = check ? 0 : 1 };
	if (cp_format_pprof_write(f, v, &o, "memory", &err) != 0)
		__builtin_trap();
	fclose(f);
	if (check) {
		struct cp_profile *q = NULL;
		if (cp_format_pprof_read(buf, len, "written", &q, &err) != 0 ||
		    q->samples.n > p->samples.n)
			__builtin_trap();
		cp_profile_free(q);
	}
	free(buf);
	cp_view_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_profile *p = NULL;
	struct cp_error err = { 0 };
	if (cp_format_pprof_read(data, size, "fuzz", &p, &err) != 0) {
		if (p || err.code != CP_E_FORMAT)
			__builtin_trap();
		return 0;
	}
	volatile uint64_t sum = walk(p);
	(void)sum;
	write_back(p, NULL, true);
	struct cp_view_opts vo = { .value_index = CP_NONE, .no_inline = true };
	vo.filter.cpu_state = CP_VIEW_OFF_CPU;
	write_back(p, &vo, false);
	cp_profile_free(p);
	return 0;
}
