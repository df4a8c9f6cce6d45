/* code.c - the machine code of the sampled functions, stored in the
 * recording so that annotate works after the binaries are gone.  Called
 * once at the end of a recording, or at the end of every period of a
 * continuous one: a function is handled once per run, and the size cap
 * holds for the whole run.
 */
#include "sample/sample.h"

#include <stdlib.h>
#include <string.h>

#include "sample/record-int.h"

/* A sampled function to store: the real function of some location. */
struct code_fn {
	uint32_t mapping, function;
	struct cp_module *mod;
	uint64_t addr;  /* a sampled address in it (module-relative) */
	uint64_t leaf;  /* samples whose leaf location is in it */
	uint32_t order; /* first seen, for a stable order */
};

struct code_fns {
	struct code_fn *v;
	size_t n, cap;
};

static int cmp_code_fn(const void *a, const void *b)
{
	const struct code_fn *x = a, *y = b;
	if (x->leaf != y->leaf)
		return x->leaf > y->leaf ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The functions with samples of their own (a leaf location in them), one
 * per (module path, real function), most leaf samples first: the order
 * their code is stored in.  Functions seen only as callers are left out:
 * annotate shows where a function's own samples fell, so their code would
 * show nothing (on a short run, ld.so's start-up callers alone were 15 KB
 * of a 24 KB file). */
static void sampled_functions(struct cp_recorder *r, struct code_fns *out)
{
	struct cp_profile *p = r->model;
	struct cp_intern keys;
	cp_intern_init(&keys);
	for (uint32_t i = 0; i < p->locations.n; i++) {
		const struct cp_profile_location *l = &p->locations.v[i];
		if (l->mapping >= p->mappings.n || !l->nlines ||
		    (p->mappings.v[l->mapping].flags & (CP_MAP_KERNEL | CP_MAP_JIT | CP_MAP_ANON)))
			continue;
		struct cp_module *mod = r->map_modules.v[l->mapping];
		enum cp_module_kind kind = mod ? cp_module_kind(mod) : CP_MODULE_KERNEL;
		if (kind != CP_MODULE_ELF && kind != CP_MODULE_VDSO)
			continue;
		struct {
			const char *path;
			uint32_t function;
		} key;
		memset(&key, 0, sizeof(key));
		key.path = p->mappings.v[l->mapping].path; /* interned: one pointer per path */
		key.function = p->lines.v[l->line_start + l->nlines - 1].function;
		/* handled at an earlier period's end */
		uint64_t *done = cp_u64map_find(&r->code_done, key.function);
		if (done && *done == (uint64_t)(uintptr_t)key.path)
			continue;
		bool added;
		uint32_t k = cp_intern_add(&keys, &key, sizeof(key), &added);
		if (added) {
			struct code_fn f = { l->mapping, key.function, mod, l->address, 0, k };
			CP_VEC_PUSH(*out, f);
		}
		if (i < r->leaf_hits.n)
			out->v[k].leaf += r->leaf_hits.v[i];
	}
	cp_intern_release(&keys);
	size_t n = 0;
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].leaf)
			out->v[n++] = out->v[i];
	out->n = n;
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_code_fn);
}

/* Store the code and line rows of the sampled functions in the model, up
 * to opts.code_max bytes of code; each function's extent is looked up
 * once, in modules that are already open and indexed. */
void rec_store_code(struct cp_recorder *r)
{
	struct cp_profile *p = r->model;
	uint64_t cap = r->opts.code_max, used = r->code_used;
	struct code_fns fns = { 0 };
	sampled_functions(r, &fns);
	struct cp_symbol_rows rows = { 0 };
	CP_VEC(struct cp_profile_code_line) lines = { 0 };
	CP_VEC(uint8_t) buf = { 0 };
	bool full = cap == 0 || r->code_full;
	uint32_t skipped = p->meta.code_skipped;
	for (size_t i = 0; i < fns.n; i++) {
		const struct code_fn *f = &fns.v[i];
		cp_u64map_put(&r->code_done, f->function,
			      (uint64_t)(uintptr_t)p->mappings.v[f->mapping].path);
		uint64_t lo, hi;
		if (cp_module_function_extent(f->mod, f->addr, &lo, &hi))
			continue; /* no known extent: nothing to store */
		uint64_t size = hi - lo;
		if (full || size > CP_RECORD_CODE_FN_MAX || used + size > cap) {
			/* the cap stops adding; a huge function alone is skipped */
			full |= size <= CP_RECORD_CODE_FN_MAX;
			skipped++;
			continue;
		}
		CP_VEC_RESERVE(buf, size);
		if (cp_module_read(f->mod, lo, buf.v, size))
			continue;
		rows.n = 0;
		cp_module_line_rows(f->mod, lo, hi, &rows);
		CP_VEC_RESERVE(lines, rows.n);
		for (size_t j = 0; j < rows.n; j++)
			lines.v[j] = (struct cp_profile_code_line){
				rows.v[j].addr, rows.v[j].file ? rows.v[j].file : "", rows.v[j].line
			};
		cp_profile_add_code(p, f->mapping, f->function, lo, buf.v, (uint32_t)size, lines.v,
				    (uint32_t)rows.n);
		used += size;
	}
	p->meta.code_max = cap;
	p->meta.code_skipped = skipped;
	r->code_used = used;
	r->code_full = full;
	free(rows.v);
	CP_VEC_FREE(lines);
	CP_VEC_FREE(buf);
	CP_VEC_FREE(fns);
}

