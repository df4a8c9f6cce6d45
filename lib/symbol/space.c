/* space.c - a process's address space as a sorted vector of mappings with
 * mmap semantics (a new mapping replaces or splits what it overlaps), and
 * the runtime -> module-relative address translation.
 *
 * It does not read /proc: the recorder feeds it from mmap records.
 */
#include "symbol/symbol.h"

#include <stdlib.h>
#include <string.h>

#include "symbol/symbol-int.h"

struct cp_space {
	pid_t pid;
	CP_VEC(struct cp_mapping) maps; /* sorted by start, non-overlapping */
};

struct cp_space *cp_space_new(pid_t pid)
{
	struct cp_space *sp = cp_xcalloc(1, sizeof(*sp));
	sp->pid = pid;
	return sp;
}

void cp_space_clear(struct cp_space *sp)
{
	for (size_t i = 0; i < sp->maps.n; i++)
		free((char *)sp->maps.v[i].path);
	sp->maps.n = 0;
}

void cp_space_free(struct cp_space *sp)
{
	if (!sp)
		return;
	cp_space_clear(sp);
	CP_VEC_FREE(sp->maps);
	free(sp);
}

struct cp_space *cp_space_clone(const struct cp_space *sp, pid_t pid)
{
	struct cp_space *c = cp_space_new(pid);
	CP_VEC_RESERVE(c->maps, sp->maps.n);
	for (size_t i = 0; i < sp->maps.n; i++) {
		struct cp_mapping m = sp->maps.v[i];
		m.path = cp_xstrdup(m.path);
		c->maps.v[c->maps.n++] = m;
	}
	return c;
}

pid_t cp_space_pid(const struct cp_space *sp)
{
	return sp->pid;
}

size_t cp_space_count(const struct cp_space *sp)
{
	return sp->maps.n;
}

const struct cp_mapping *cp_space_get(const struct cp_space *sp, size_t i)
{
	return i < sp->maps.n ? &sp->maps.v[i] : NULL;
}

/* Index of the first mapping whose end is above addr. */
static size_t first_ending_after(const struct cp_space *sp, uint64_t addr)
{
	size_t lo = 0, hi = sp->maps.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp->maps.v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void cp_space_insert(struct cp_space *sp, uint64_t start, uint64_t end, uint64_t pgoff,
		     const char *path, struct cp_module *module, uint32_t id)
{
	if (end <= start)
		return;
	size_t i = first_ending_after(sp, start);
	/* mappings [i, j) overlap [start, end) */
	size_t j = i;
	while (j < sp->maps.n && sp->maps.v[j].start < end)
		j++;
	struct cp_mapping head = { 0 }, tail = { 0 };
	bool has_head = false, has_tail = false;
	if (i < j && sp->maps.v[i].start < start) {
		head = sp->maps.v[i];
		head.end = start;
		head.path = cp_xstrdup(head.path);
		has_head = true;
	}
	if (i < j && sp->maps.v[j - 1].end > end) {
		tail = sp->maps.v[j - 1];
		tail.pgoff += end - tail.start;
		tail.start = end;
		tail.path = cp_xstrdup(tail.path);
		has_tail = true;
	}
	for (size_t k = i; k < j; k++)
		free((char *)sp->maps.v[k].path);
	size_t nnew = 1 + has_head + has_tail;
	size_t removed = j - i;
	CP_VEC_RESERVE(sp->maps, sp->maps.n - removed + nnew);
	memmove(&sp->maps.v[i + nnew], &sp->maps.v[j], (sp->maps.n - j) * sizeof(*sp->maps.v));
	sp->maps.n = sp->maps.n - removed + nnew;
	size_t k = i;
	if (has_head)
		sp->maps.v[k++] = head;
	struct cp_mapping m = { start, end, pgoff, module, cp_xstrdup(path ? path : ""), id };
	sp->maps.v[k++] = m;
	if (has_tail)
		sp->maps.v[k] = tail;
}

const struct cp_mapping *cp_space_find(const struct cp_space *sp, uint64_t addr)
{
	size_t i = first_ending_after(sp, addr);
	if (i < sp->maps.n && sp->maps.v[i].start <= addr)
		return &sp->maps.v[i];
	return NULL;
}

int cp_mapping_to_rel(const struct cp_mapping *m, uint64_t addr, uint64_t *rel)
{
	if (!m->module || addr < m->start || addr >= m->end)
		return -1;
	switch (cp_module_kind(m->module)) {
	case CP_MODULE_KERNEL:
	case CP_MODULE_JIT:
		*rel = addr;
		return 0;
	case CP_MODULE_ELF:
	case CP_MODULE_VDSO:
		break;
	}
	return cp_module_offset_to_vaddr(m->module, m->pgoff + (addr - m->start), rel);
}
