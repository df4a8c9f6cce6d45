/* tables.c - the symbol tables that are lists of [start, end) names: the
 * kernel's (/proc/kallsyms) and a JIT's (/tmp/perf-PID.map, perf's
 * format, read again when it grows).  Addresses are absolute.
 */
#include "symbol/symbol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "symbol/symbol-int.h"

static int cmp_sym(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* same start: file order (names lie in one buffer), the last wins */
	return x->name < y->name ? -1 : x->name > y->name;
}

/* Sort symbols and close open-ended ones at the next symbol's start. */
static void finish_syms(struct cp_module *m)
{
	if (m->syms.n)
		qsort(m->syms.v, m->syms.n, sizeof(*m->syms.v), cmp_sym);
	/* from the end, so that many symbols at one address cost one pass */
	uint64_t next = 0;
	bool have_next = false;
	for (size_t i = m->syms.n; i-- > 0;) {
		struct sym_ent *e = &m->syms.v[i];
		if (i + 1 < m->syms.n && m->syms.v[i + 1].start > e->start) {
			next = m->syms.v[i + 1].start;
			have_next = true;
		}
		if (e->end <= e->start)
			e->end = have_next ? next : e->start + 4096;
	}
	m->syms_done = true;
}

int sym_kernel_open(struct cp_module *m, struct cp_error *err)
{
	if (sym_kcache_load(m) == 0)
		return 0;
	char file[4096];
	snprintf(file, sizeof(file), "%s/proc/kallsyms", m->root ? m->root : "");
	size_t len;
	char *buf = cp_read_file(file, &len);
	if (!buf)
		return cp_error_errno(err, CP_E_NOENT, errno, "cannot open '%s'", file);
	m->strpool = buf;
	bool nonzero = false;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *end;
		uint64_t addr = strtoull(line, &end, 16);
		if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		char type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		char *name = end + 3;
		char *tab = strchr(name, '\t');
		if (tab)
			*tab = '\0';
		if (addr)
			nonzero = true;
		struct sym_ent e = { addr, 0, name, NULL };
		CP_VEC_PUSH(m->syms, e);
	}
	if (!nonzero && m->syms.n)
		return cp_error_set(err, CP_E_PERM,
				    "kernel addresses are hidden in '%s' (kernel.kptr_restrict)",
				    file);
	finish_syms(m);
	sym_kcache_save(m);
	return 0;
}

/* JIT maps (perf's /tmp/perf-PID.map): "START SIZE name" lines, hex. */
int sym_jit_open(struct cp_module *m, struct cp_error *err)
{
	char file[4096];
	snprintf(file, sizeof(file), "%s%s", m->root ? m->root : "", m->path);
	size_t len;
	char *buf = cp_read_file(file, &len);
	if (!buf)
		return cp_error_errno(err, CP_E_NOENT, errno, "cannot open '%s'", file);
	if (m->strpool)
		CP_VEC_PUSH(m->old_pools, m->strpool);
	m->strpool = buf;
	m->jit_size = len;
	m->syms.n = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *e1, *e2;
		uint64_t start = strtoull(line, &e1, 16);
		if (e1 == line || *e1 != ' ')
			continue;
		uint64_t size = strtoull(e1 + 1, &e2, 16);
		if (e2 == e1 + 1 || *e2 != ' ')
			continue;
		struct sym_ent e = { start, start + size, e2 + 1, NULL };
		CP_VEC_PUSH(m->syms, e);
	}
	finish_syms(m);
	return 0;
}

bool sym_jit_reload(struct cp_module *m)
{
	char file[4096];
	struct stat st;
	snprintf(file, sizeof(file), "%s%s", m->root ? m->root : "", m->path);
	if (stat(file, &st) < 0 || (uint64_t)st.st_size == m->jit_size)
		return false;
	return sym_jit_open(m, NULL) == 0;
}

/* Kernel and JIT tables: containment by [start, end). */
static long table_find(struct cp_module *m, uint64_t addr)
{
	size_t lo = 0, hi = m->syms.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		if (addr < m->syms.v[i].end)
			return (long)i;
		if (lo - i > 8)
			break;
	}
	return -1;
}

int sym_table_lookup(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *fr, int max)
{
	long i = table_find(m, addr);
	if (i < 0 && m->kind == CP_MODULE_JIT && sym_jit_reload(m))
		i = table_find(m, addr);
	if (i < 0 || max < 1)
		return 0;
	struct sym_ent *e = &m->syms.v[i];
	memset(fr, 0, sizeof(*fr));
	fr->system_name = e->name;
	fr->name = m->s->opts.demangle ? sym_demangled(m, e->name) : e->name;
	fr->sym_start = e->start;
	return 1;
}

int sym_table_extent(struct cp_module *m, uint64_t addr, uint64_t *start, uint64_t *end)
{
	long i = table_find(m, addr);
	if (i < 0)
		return -1;
	*start = m->syms.v[i].start;
	*end = m->syms.v[i].end;
	return 0;
}

void sym_table_release(struct cp_module *m)
{
	free(m->strpool);
	m->strpool = NULL;
	for (size_t i = 0; i < m->old_pools.n; i++)
		free(m->old_pools.v[i]);
	CP_VEC_FREE(m->old_pools);
}
