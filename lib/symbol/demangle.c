/* demangle.c - C++ and Rust names as binutils prints them, cached per
 * module so each raw name is demangled once.
 */
#include "symbol/symbol.h"

#include <libiberty/demangle.h>
#include <stdlib.h>
#include <string.h>

#include "symbol/symbol-int.h"

/* As bfd_demangle: leading dots and dollars and an "@VERSION" suffix are
 * kept around the demangled core. */
char *sym_demangle(const char *raw)
{
	if (!raw || !*raw)
		return NULL;
	const char *name = raw;
	while (*name == '.' || *name == '$')
		name++;
	size_t pre = (size_t)(name - raw);
	const char *suf = strchr(name, '@');
	char *core = suf ? cp_xstrndup(name, (size_t)(suf - name)) : NULL;
	char *res = cplus_demangle(core ? core : name, DMGL_PARAMS | DMGL_ANSI);
	free(core);
	if (!res)
		return NULL;
	if (pre || suf) {
		char *full = cp_xasprintf("%.*s%s%s", (int)pre, raw, res, suf ? suf : "");
		free(res);
		res = full;
	}
	return res;
}

const char *sym_demangled(struct cp_module *m, const char *raw)
{
	if (!raw)
		return NULL;
	if (!m->dmg_init) {
		cp_u64map_init(&m->dmg);
		m->dmg_init = true;
	}
	uint64_t *v = cp_u64map_find(&m->dmg, (uint64_t)(uintptr_t)raw);
	if (v)
		return *v > 1 ? (const char *)(uintptr_t)*v : raw;
	char *d = sym_demangle(raw);
	cp_u64map_put(&m->dmg, (uint64_t)(uintptr_t)raw, d ? (uint64_t)(uintptr_t)d : 1);
	return d ? d : raw;
}

void sym_demangle_release(struct cp_module *m)
{
	if (!m->dmg_init)
		return;
	for (size_t i = 0; i < m->dmg.cap; i++)
		if (m->dmg.used[i] && m->dmg.vals[i] > 1)
			free((char *)(uintptr_t)m->dmg.vals[i]);
	cp_u64map_release(&m->dmg);
	m->dmg_init = false;
}
