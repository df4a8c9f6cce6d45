/* symbolize.c - attach symbols (inline chains) to a profile's locations.
 *
 * The recorder calls this once at the end of a recording, so the file
 * carries its own symbols; report and convert call it for a recording
 * that was cut short before its symbol section was written, using the
 * binaries on this machine when their build-ids match.
 */
#include "sample/sample.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "profile/profile.h"
#include "symbol/symbol.h"

size_t cp_sample_symbolize(struct cp_profile *p, struct cp_symbolizer *s,
			   struct cp_module *const *mods, bool open_files)
{
	return cp_sample_symbolize_from(p, s, mods, open_files, 0);
}

size_t cp_sample_symbolize_from(struct cp_profile *p, struct cp_symbolizer *s,
				struct cp_module *const *mods, bool open_files, uint32_t first)
{
	struct cp_symbol_frame fr[64];
	struct cp_profile_line lines[64];
	struct cp_symbolizer *own = NULL;
	if (!s) {
		struct cp_symbol_opts so;
		cp_symbol_opts_init(&so);
		s = own = cp_symbolizer_new(&so);
	}
	struct cp_module **opened = cp_xcalloc(p->mappings.n + 1, sizeof(*opened));
	bool *tried = cp_xcalloc(p->mappings.n + 1, sizeof(*tried));
	size_t done = 0;
	for (uint32_t i = first; i < p->locations.n; i++) {
		struct cp_profile_location *loc = &p->locations.v[i];
		if (loc->mapping == CP_NONE || loc->mapping >= p->mappings.n || loc->nlines)
			continue;
		struct cp_module *mod = mods ? mods[loc->mapping] : NULL;
		const struct cp_profile_mapping *pm = &p->mappings.v[loc->mapping];
		if (!mod && open_files && !(pm->flags & (CP_MAP_KERNEL | CP_MAP_ANON))) {
			if (!tried[loc->mapping]) {
				tried[loc->mapping] = true;
				opened[loc->mapping] =
					cp_symbolizer_open(s, pm->path, NULL,
							   *pm->build_id ? pm->build_id : NULL, NULL);
			}
			mod = opened[loc->mapping];
		}
		if (!mod)
			continue;
		int n = cp_module_lookup(mod, loc->address, fr, (int)CP_ARRAY_SIZE(fr));
		uint32_t k = 0;
		for (int j = 0; j < n; j++) {
			if (!fr[j].name)
				continue;
			lines[k].function = cp_profile_add_function(
				p, fr[j].name, fr[j].system_name ? fr[j].system_name : fr[j].name,
				fr[j].file ? fr[j].file : "", fr[j].decl_line);
			lines[k].line = fr[j].line;
			lines[k].inlined = fr[j].inlined;
			k++;
		}
		if (!k && n > 0 && fr[n - 1].sym_start) {
			/* no symbol names it, but its start is known: one
			 * function "module+0xSTART" for all of its addresses */
			char name[300];
			snprintf(name, sizeof(name), "%s+0x%" PRIx64, cp_basename(pm->path),
				 fr[n - 1].sym_start);
			lines[0].function = cp_profile_add_function(p, name, name, "", 0);
			cp_profile_set_function_flags(p, lines[0].function, CP_FUNC_UNNAMED);
			lines[0].line = fr[0].line;
			lines[0].inlined = false;
			k = 1;
		}
		if (k) {
			cp_profile_set_location_lines(p, i, lines, k);
			done++;
		}
	}
	free(opened);
	free(tried);
	cp_symbolizer_free(own);
	return done;
}
