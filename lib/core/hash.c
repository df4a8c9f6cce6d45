/* hash.c - an open-addressing uint64 map and a byte-string interner.  Both
 * are on the recorder's per-sample path (stack and location interning), so
 * they avoid allocation per lookup and keep probing linear. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

uint64_t cp_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *s = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = cp_hash_u64(h ^ w) + 0x9e3779b97f4a7c15ULL;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, n);
	return cp_hash_u64(h ^ w ^ (n << 56));
}

void cp_u64map_init(struct cp_u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void cp_u64map_release(struct cp_u64map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

static size_t slot_of(const struct cp_u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = cp_hash_u64(key) & mask;
	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & mask;
	return i;
}

static void u64map_rehash(struct cp_u64map *m, size_t cap)
{
	struct cp_u64map old = *m;
	m->cap = cap;
	m->n = 0;
	m->keys = cp_xcalloc(cap, sizeof(uint64_t));
	m->vals = cp_xcalloc(cap, sizeof(uint64_t));
	m->used = cp_xcalloc(cap, 1);
	for (size_t i = 0; i < old.cap; i++) {
		if (old.used[i]) {
			size_t s = slot_of(m, old.keys[i]);
			m->used[s] = 1;
			m->keys[s] = old.keys[i];
			m->vals[s] = old.vals[i];
			m->n++;
		}
	}
	free(old.keys);
	free(old.vals);
	free(old.used);
}

uint64_t *cp_u64map_find(const struct cp_u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t s = slot_of(m, key);
	return m->used[s] ? &m->vals[s] : NULL;
}

uint64_t *cp_u64map_upsert(struct cp_u64map *m, uint64_t key, uint64_t def, bool *added)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		u64map_rehash(m, m->cap ? m->cap * 2 : 64);
	size_t s = slot_of(m, key);
	if (added)
		*added = !m->used[s];
	if (!m->used[s]) {
		m->used[s] = 1;
		m->keys[s] = key;
		m->vals[s] = def;
		m->n++;
	}
	return &m->vals[s];
}

void cp_u64map_put(struct cp_u64map *m, uint64_t key, uint64_t val)
{
	*cp_u64map_upsert(m, key, val, NULL) = val;
}

bool cp_u64map_del(struct cp_u64map *m, uint64_t key)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1, i = slot_of(m, key);
	if (!m->used[i])
		return false;
	m->used[i] = 0;
	m->n--;
	/* backward-shift deletion keeps probe chains intact */
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->used[j])
			break;
		size_t home = cp_hash_u64(m->keys[j]) & mask;
		bool move = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
		if (move) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->used[i] = 1;
			m->used[j] = 0;
			i = j;
		}
	}
	return true;
}

void cp_intern_init(struct cp_intern *t)
{
	memset(t, 0, sizeof(*t));
}

void cp_intern_release(struct cp_intern *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->items[i]);
	free(t->items);
	free(t->lens);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static size_t intern_slot(const struct cp_intern *t, const void *p, size_t len, uint64_t h)
{
	size_t mask = t->nslots - 1, i = h & mask;
	for (;;) {
		uint32_t id = t->slots[i];
		if (!id)
			return i;
		id--;
		if (t->lens[id] == len && memcmp(t->items[id], p, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static void intern_rehash(struct cp_intern *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 256;
	free(t->slots);
	t->slots = cp_xcalloc(ns, sizeof(uint32_t));
	t->nslots = ns;
	for (size_t id = 0; id < t->n; id++) {
		uint64_t h = cp_hash_bytes(t->items[id], t->lens[id], 0);
		size_t mask = ns - 1, i = h & mask;
		while (t->slots[i])
			i = (i + 1) & mask;
		t->slots[i] = (uint32_t)id + 1;
	}
}

uint32_t cp_intern_add(struct cp_intern *t, const void *p, size_t len, bool *added)
{
	if ((t->n + 1) * 2 > t->nslots)
		intern_rehash(t);
	size_t s = intern_slot(t, p, len, cp_hash_bytes(p, len, 0));
	if (t->slots[s]) {
		if (added)
			*added = false;
		return t->slots[s] - 1;
	}
	if (t->n == t->cap) {
		size_t c = t->cap;
		cp_grow((void **)&t->items, sizeof(char *), t->n + 1, &c);
		size_t c2 = t->cap;
		cp_grow((void **)&t->lens, sizeof(uint32_t), t->n + 1, &c2);
		t->cap = c;
	}
	char *copy = cp_xmalloc(len + 1);
	memcpy(copy, p, len);
	copy[len] = '\0';
	t->items[t->n] = copy;
	t->lens[t->n] = (uint32_t)len;
	t->slots[s] = (uint32_t)t->n + 1;
	if (added)
		*added = true;
	return (uint32_t)t->n++;
}
