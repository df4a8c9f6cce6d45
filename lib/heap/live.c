/* live.c - the live blocks: address -> (site, size), the map every
 * allocation and free of a full-mode recording touches.  Open addressing
 * with keys and values side by side (one cache line per probe, where
 * cp_u64map's three arrays cost three), linear probing, deletion by
 * backward shift (no tombstones), at most half full.  Address 0 is never a
 * block, so it marks an empty slot. */
#include <stdlib.h>
#include <string.h>

#include "heap/heap-int.h"

static size_t home(const struct heap_live *m, uint64_t key)
{
	return (size_t)((key >> 4) * 0x9e3779b97f4a7c15ULL >> m->shift);
}

static void grow(struct heap_live *m)
{
	struct heap_live old = *m;
	m->cap = old.cap ? old.cap * 2 : 1024;
	m->shift = 64 - (unsigned)__builtin_ctzll(m->cap);
	m->e = cp_xcalloc(m->cap, sizeof(*m->e));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.e[i].key)
			heap_live_put(m, old.e[i].key, old.e[i].val);
	free(old.e);
}

uint64_t *heap_live_find(struct heap_live *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = home(m, key);; i = (i + 1) & mask) {
		if (m->e[i].key == key)
			return &m->e[i].val;
		if (!m->e[i].key)
			return NULL;
	}
}

void heap_live_put(struct heap_live *m, uint64_t key, uint64_t val)
{
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	size_t mask = m->cap - 1, i = home(m, key);
	while (m->e[i].key && m->e[i].key != key)
		i = (i + 1) & mask;
	if (!m->e[i].key)
		m->n++;
	m->e[i].key = key;
	m->e[i].val = val;
}

void heap_live_del(struct heap_live *m, uint64_t *val)
{
	struct heap_live_ent *e = (struct heap_live_ent *)((char *)val - offsetof(struct heap_live_ent, val));
	size_t mask = m->cap - 1, i = (size_t)(e - m->e), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->e[j].key)
			break;
		size_t k = home(m, m->e[j].key);
		/* an entry whose home lies cyclically in (i, j] stays */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->e[i] = m->e[j];
		i = j;
	}
	m->e[i].key = 0;
	m->n--;
}

void heap_live_release(struct heap_live *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}
