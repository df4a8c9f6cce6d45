/* symbolizer.c - the symbolizer's module cache: each module (a file with
 * its root, or a pseudo-module) is opened once, failures included, and
 * everything a module holds is released here.
 *
 * The parts of a module: module.c (the mapped image, its segments,
 * build-id, debug file and unwind tables), tables.c (kernel and JIT
 * maps), elfsym.c and dwarf.c (the indexes lookups use, lookup.c).
 */
#include "symbol/symbol.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "symbol/symbol-int.h"

void cp_symbol_opts_init(struct cp_symbol_opts *o)
{
	o->demangle = true;
	o->inlines = true;
	o->debug_dir = "/usr/lib/debug";
	o->addr2line_compat = false;
	o->cache_dir = NULL;
}

struct cp_symbolizer *cp_symbolizer_new(const struct cp_symbol_opts *opts)
{
	struct cp_symbolizer *s = cp_xcalloc(1, sizeof(*s));
	if (opts)
		s->opts = *opts;
	else
		cp_symbol_opts_init(&s->opts);
	s->debug_dir = cp_xstrdup(s->opts.debug_dir ? s->opts.debug_dir : "/usr/lib/debug");
	s->opts.debug_dir = s->debug_dir;
	s->cache_dir = s->opts.cache_dir && *s->opts.cache_dir ? cp_xstrdup(s->opts.cache_dir) : NULL;
	s->opts.cache_dir = s->cache_dir;
	cp_u64map_init(&s->cache);
	elf_version(EV_CURRENT);
	return s;
}

static void module_free(struct cp_module *m)
{
	sym_pcache_release(m); /* first: saving reads the module's strings */
	sym_dwarf_release(m);
	sym_elf_release(m);
	sym_table_release(m);
	sym_demangle_release(m);
	CP_VEC_FREE(m->syms);
	sym_image_close(&m->img);
	sym_image_close(&m->dbg);
	sym_image_close(&m->mini);
	CP_VEC_FREE(m->segs);
	free(m->path);
	free(m->root);
	free(m);
}

void cp_symbolizer_free(struct cp_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->mods.n; i++)
		module_free(s->mods.v[i]);
	CP_VEC_FREE(s->mods);
	cp_u64map_release(&s->cache);
	sym_debuginfod_free(s);
	free(s->debug_dir);
	free(s->cache_dir);
	free(s);
}

static bool is_jit_map(const char *path)
{
	if (strncmp(path, "/tmp/perf-", 10))
		return false;
	const char *p = path + 10;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return !strcmp(p, ".map");
}

static int open_module(struct cp_module *m, struct cp_error *err)
{
	if (!strcmp(m->path, "[vdso]")) {
		m->kind = CP_MODULE_VDSO;
		return sym_vdso_open(m, err);
	}
	if (!strcmp(m->path, "[kernel.kallsyms]")) {
		m->kind = CP_MODULE_KERNEL;
		return sym_kernel_open(m, err);
	}
	if (is_jit_map(m->path)) {
		m->kind = CP_MODULE_JIT;
		return sym_jit_open(m, err);
	}
	m->kind = CP_MODULE_ELF;
	char *file = cp_xasprintf("%s%s", m->root ? m->root : "", m->path);
	int rc = sym_image_open(&m->img, file, err);
	free(file);
	if (rc < 0)
		return rc;
	return sym_elf_info(m, err);
}

static uint64_t cache_key(const char *path, const char *root)
{
	uint64_t h = cp_hash_bytes(path, strlen(path), 0x5eed);
	if (root)
		h = cp_hash_bytes(root, strlen(root), h ^ 0x9e3779b97f4a7c15ULL);
	return h;
}

static bool same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

struct cp_module *cp_symbolizer_open(struct cp_symbolizer *s, const char *path, const char *root,
				     const char *build_id, struct cp_error *err)
{
	if (root && !*root)
		root = NULL;
	struct cp_module *m = NULL;
	uint64_t key = cache_key(path, root);
	for (uint64_t k = key;; k++) {
		uint64_t *slot = cp_u64map_find(&s->cache, k);
		if (!slot)
			break;
		struct cp_module *c = s->mods.v[*slot];
		if (!strcmp(c->path, path) && same_str(c->root, root)) {
			m = c;
			break;
		}
	}
	if (!m) {
		m = cp_xcalloc(1, sizeof(*m));
		m->s = s;
		m->path = cp_xstrdup(path);
		m->root = root ? cp_xstrdup(root) : NULL;
		m->img.fd = -1;
		m->dbg.fd = -1;
		m->mini.fd = -1;
		if (open_module(m, &m->err) < 0) {
			m->failed = true;
			sym_image_close(&m->img);
			sym_table_release(m);
			CP_VEC_FREE(m->syms);
		}
		uint64_t k = key;
		while (cp_u64map_find(&s->cache, k))
			k++;
		cp_u64map_put(&s->cache, k, s->mods.n);
		CP_VEC_PUSH(s->mods, m);
	}
	if (m->failed) {
		if (err)
			*err = m->err;
		return NULL;
	}
	if (build_id && *build_id && m->build_id[0] && strcasecmp(build_id, m->build_id)) {
		cp_error_set(err, CP_E_NOENT, "'%s': build-id mismatch (want %s, file has %s)",
			     path, build_id, m->build_id);
		return NULL;
	}
	return m;
}
