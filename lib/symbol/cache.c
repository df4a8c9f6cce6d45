/* cache.c - symbols that outlive a run, so that the next recording of the
 * same program finds them without reading any debug information:
 *
 *   CACHE/symbols/BUILDID-FLAGS   the frames of every address of that file
 *                                 resolved before (FLAGS: the options that
 *                                 shape an answer), with the identity of
 *                                 the debug information they came from;
 *   CACHE/kallsyms-BOOTID-HASH    the kernel's function symbols, for one
 *                                 boot and one set of loaded modules.
 *
 * A recording spends most of its own time, otherwise, decompressing libc's
 * debug file to name a few addresses and parsing 100k lines of
 * /proc/kallsyms.  Entries are checked before use: a file whose checksum,
 * bounds or identity do not match is ignored (and rewritten).  Files are
 * replaced whole (temporary name, then rename), so concurrent runs never
 * read half a file.
 */
#include "symbol/symbol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbol/symbol-int.h"

#define MAGIC "CPSC"
#define KMAGIC "CPKS"
#define VERSION 1u
#define MAX_FILE ((size_t)64 << 20)
#define MAX_ENTRIES (1u << 20)
#define NO_STR UINT32_MAX
#define KENT 20 /* start, end, name offset */

struct pc_entry {
	uint64_t addr;
	uint32_t first, n; /* frames */
};

struct pc_frame {
	uint32_t name, sysname, file;
	int32_t line;
	uint32_t discr, inlined;
	uint64_t sym_start;
	int64_t decl_line;
};

struct sym_pcache {
	char *path;
	char sig[600]; /* where the module's symbols come from */
	char *buf;     /* the file as loaded; strings point into it */
	struct cp_u64map index; /* addr -> 1 + slot in frames_at */
	CP_VEC(struct cp_symbol_frame) frames;
	CP_VEC(struct pc_entry) entries; /* first/n index frames */
	CP_VEC(char *) owned;            /* strings of entries added this run */
	bool dirty;
};

/* ---- files ------------------------------------------------------------------ */

/* Replace path with buf whole; failures are silent (a cache is optional). */
static void write_whole(const char *path, const void *buf, size_t len)
{
	char *dir = cp_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (slash && cp_mkdir_p(dir)) {
		free(dir);
		return;
	}
	free(dir);
	char *tmp = cp_xasprintf("%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0;
	for (size_t off = 0; ok && off < len;) {
		ssize_t w = write(fd, (const char *)buf + off, len - off);
		if (w <= 0)
			ok = false;
		else
			off += (size_t)w;
	}
	if (fd >= 0 && close(fd))
		ok = false;
	if (!ok || rename(tmp, path))
		unlink(tmp);
	free(tmp);
}

/* A string of the pool at off (NUL-terminated inside it), or NULL. */
static const char *pool_str(const char *pool, size_t size, uint32_t off, bool *bad)
{
	if (off == NO_STR)
		return NULL;
	if (off >= size || !memchr(pool + off, '\0', size - off)) {
		*bad = true;
		return NULL;
	}
	return pool + off;
}

/* ---- per-module address cache -------------------------------------------------- */

/* What a module's answers depend on besides its build-id: its debug file
 * (path, size and time), or the module itself. */
static void signature(struct cp_module *m, char *sig, size_t size)
{
	Elf *dbg = sym_debug_elf(m);
	struct stat st;
	if (dbg && dbg != m->img.elf && m->dbg.fd >= 0 && fstat(m->dbg.fd, &st) == 0)
		snprintf(sig, size, "debug %lld %lld.%09ld", (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	else
		snprintf(sig, size, "%s%s", dbg ? "self" : "none",
			 sym_mini_elf(m) && !m->s->opts.addr2line_compat ? " mini" : "");
}

static unsigned opt_flags(const struct cp_symbolizer *s)
{
	return (s->opts.demangle ? 1u : 0) | (s->opts.inlines ? 2u : 0);
}

static bool load_pcache(struct sym_pcache *pc, const char *buf, size_t len)
{
	/* header: magic, version, sig length, sig, counts */
	const char *p = buf, *end = buf + len;
	uint32_t v, siglen, ne, nf, ps;
	if (len < 4 + 4 * 5 + 8 || memcmp(p, MAGIC, 4))
		return false;
	uint64_t sum;
	memcpy(&sum, end - 8, 8);
	if (sum != cp_hash_bytes(buf, len - 8, 0x5eed))
		return false;
	end -= 8;
	p += 4;
	memcpy(&v, p, 4);
	memcpy(&siglen, p + 4, 4);
	p += 8;
	if (v != VERSION || siglen >= sizeof(pc->sig) || siglen > (size_t)(end - p) ||
	    memcmp(p, pc->sig, siglen) || pc->sig[siglen])
		return false;
	p += siglen;
	if ((size_t)(end - p) < 12)
		return false;
	memcpy(&ne, p, 4);
	memcpy(&nf, p + 4, 4);
	memcpy(&ps, p + 8, 4);
	p += 12;
	if (ne > MAX_ENTRIES || nf > MAX_ENTRIES * 8u ||
	    (uint64_t)ne * sizeof(struct pc_entry) + (uint64_t)nf * sizeof(struct pc_frame) + ps !=
		    (uint64_t)(end - p))
		return false;
	const char *ents = p, *frs = p + (size_t)ne * sizeof(struct pc_entry);
	const char *pool = frs + (size_t)nf * sizeof(struct pc_frame);
	bool bad = false;
	CP_VEC_RESERVE(pc->frames, nf);
	for (uint32_t i = 0; i < nf && !bad; i++) {
		struct pc_frame f;
		memcpy(&f, frs + (size_t)i * sizeof(f), sizeof(f));
		struct cp_symbol_frame *o = &pc->frames.v[i];
		memset(o, 0, sizeof(*o));
		o->name = pool_str(pool, ps, f.name, &bad);
		o->system_name = pool_str(pool, ps, f.sysname, &bad);
		o->file = pool_str(pool, ps, f.file, &bad);
		o->line = f.line;
		o->discriminator = f.discr;
		o->inlined = f.inlined != 0;
		o->sym_start = f.sym_start;
		o->decl_line = f.decl_line;
	}
	pc->frames.n = nf;
	for (uint32_t i = 0; i < ne && !bad; i++) {
		struct pc_entry e;
		memcpy(&e, ents + (size_t)i * sizeof(e), sizeof(e));
		if (e.first > nf || e.n > nf - e.first || e.n > 64) {
			bad = true;
			break;
		}
		CP_VEC_PUSH(pc->entries, e);
		cp_u64map_put(&pc->index, e.addr, pc->entries.n);
	}
	if (bad) {
		pc->frames.n = 0;
		pc->entries.n = 0;
		cp_u64map_release(&pc->index);
		cp_u64map_init(&pc->index);
	}
	return !bad;
}

/* The module's cache, loaded on first use; NULL when there is none. */
static struct sym_pcache *pcache_of(struct cp_module *m)
{
	if (m->pc_tried)
		return m->pc;
	m->pc_tried = true;
	const char *dir = m->s->cache_dir;
	if (!dir || m->kind != CP_MODULE_ELF || !m->build_id[0] || m->s->opts.addr2line_compat)
		return NULL;
	struct sym_pcache *pc = cp_xcalloc(1, sizeof(*pc));
	cp_u64map_init(&pc->index);
	pc->path = cp_xasprintf("%s/symbols/%s-%u", dir, m->build_id, opt_flags(m->s));
	signature(m, pc->sig, sizeof(pc->sig));
	size_t len = 0;
	char *buf = cp_read_file(pc->path, &len);
	if (buf && len <= MAX_FILE && load_pcache(pc, buf, len)) {
		pc->buf = buf;
		cp_log(CP_LOG_DEBUG, "'%s': %zu addresses from the symbol cache", m->path,
		       pc->entries.n);
	} else {
		free(buf);
		pc->dirty = buf != NULL; /* stale or damaged: replace it */
	}
	m->pc = pc;
	return pc;
}

int sym_pcache_get(struct cp_module *m, uint64_t addr, struct cp_symbol_frame *frames, int max)
{
	struct sym_pcache *pc = pcache_of(m);
	if (!pc)
		return -1;
	uint64_t *v = cp_u64map_find(&pc->index, addr);
	if (!v)
		return -1;
	const struct pc_entry *e = &pc->entries.v[*v - 1];
	int n = (int)CP_MIN((uint32_t)max, e->n);
	memcpy(frames, pc->frames.v + e->first, (size_t)n * sizeof(*frames));
	return n;
}

static const char *own(struct sym_pcache *pc, const char *s)
{
	if (!s)
		return NULL;
	char *c = cp_xstrdup(s);
	CP_VEC_PUSH(pc->owned, c);
	return c;
}

void sym_pcache_put(struct cp_module *m, uint64_t addr, const struct cp_symbol_frame *frames,
		    int n)
{
	struct sym_pcache *pc = m->pc;
	if (!pc || n < 0 || n > 64 || pc->entries.n >= MAX_ENTRIES ||
	    cp_u64map_find(&pc->index, addr))
		return;
	struct pc_entry e = { addr, (uint32_t)pc->frames.n, (uint32_t)n };
	for (int i = 0; i < n; i++) {
		struct cp_symbol_frame f = frames[i];
		f.name = own(pc, f.name);
		f.system_name = own(pc, f.system_name);
		f.file = own(pc, f.file);
		CP_VEC_PUSH(pc->frames, f);
	}
	CP_VEC_PUSH(pc->entries, e);
	cp_u64map_put(&pc->index, addr, pc->entries.n);
	pc->dirty = true;
}

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

/* The pool offset of s, stored once however often it is used. */
static uint32_t pool_add(struct cp_buf *pool, struct cp_intern *seen, struct u32vec *offs,
			 const char *s)
{
	if (!s)
		return NO_STR;
	bool added;
	uint32_t id = cp_intern_add(seen, s, strlen(s), &added);
	if (added) {
		CP_VEC_PUSH(*offs, (uint32_t)pool->len);
		cp_buf_add(pool, s, strlen(s) + 1);
	}
	return offs->v[id];
}

static void save_pcache(struct sym_pcache *pc)
{
	struct cp_buf out = { 0 }, pool = { 0 };
	struct cp_intern seen;
	cp_intern_init(&seen);
	struct u32vec offs = { 0 };
	CP_VEC(struct pc_frame) frames = { 0 };
	for (size_t i = 0; i < pc->frames.n; i++) {
		const struct cp_symbol_frame *f = &pc->frames.v[i];
		struct pc_frame o = {
			pool_add(&pool, &seen, &offs, f->name),
			pool_add(&pool, &seen, &offs, f->system_name),
			pool_add(&pool, &seen, &offs, f->file),
			f->line,
			f->discriminator,
			f->inlined ? 1u : 0,
			f->sym_start,
			f->decl_line,
		};
		CP_VEC_PUSH(frames, o);
	}
	uint32_t v = VERSION, siglen = (uint32_t)strlen(pc->sig);
	uint32_t ne = (uint32_t)pc->entries.n, nf = (uint32_t)frames.n, ps = (uint32_t)pool.len;
	cp_buf_add(&out, MAGIC, 4);
	cp_buf_add(&out, &v, 4);
	cp_buf_add(&out, &siglen, 4);
	cp_buf_add(&out, pc->sig, siglen);
	cp_buf_add(&out, &ne, 4);
	cp_buf_add(&out, &nf, 4);
	cp_buf_add(&out, &ps, 4);
	cp_buf_add(&out, pc->entries.v, ne * sizeof(struct pc_entry));
	cp_buf_add(&out, frames.v, nf * sizeof(struct pc_frame));
	cp_buf_add(&out, pool.p, pool.len);
	uint64_t sum = cp_hash_bytes(out.p, out.len, 0x5eed);
	cp_buf_add(&out, &sum, 8);
	write_whole(pc->path, out.p, out.len);
	cp_buf_release(&out);
	cp_buf_release(&pool);
	cp_intern_release(&seen);
	CP_VEC_FREE(offs);
	CP_VEC_FREE(frames);
}

void sym_pcache_release(struct cp_module *m)
{
	struct sym_pcache *pc = m->pc;
	if (!pc)
		return;
	if (pc->dirty && pc->entries.n)
		save_pcache(pc);
	for (size_t i = 0; i < pc->owned.n; i++)
		free(pc->owned.v[i]);
	CP_VEC_FREE(pc->owned);
	CP_VEC_FREE(pc->frames);
	CP_VEC_FREE(pc->entries);
	cp_u64map_release(&pc->index);
	free(pc->buf);
	free(pc->path);
	free(pc);
	m->pc = NULL;
}

/* ---- the kernel's symbols, per boot --------------------------------------------- */

/* CACHE/kallsyms-BOOTID-HASH: one boot (KASLR moves the kernel at every
 * boot) and one set of loaded modules. */
static char *kcache_path(const struct cp_module *m)
{
	const char *dir = m->s->cache_dir;
	if (!dir || (m->root && *m->root))
		return NULL;
	char *boot = cp_read_file("/proc/sys/kernel/random/boot_id", NULL);
	size_t mlen = 0;
	char *mods = cp_read_file("/proc/modules", &mlen);
	char *path = NULL;
	if (boot) {
		boot[strcspn(boot, "\n")] = '\0';
		path = cp_xasprintf("%s/kallsyms-%s-%016llx", dir, boot,
				    (unsigned long long)cp_hash_bytes(mods ? mods : "", mlen, 7));
	}
	free(boot);
	free(mods);
	return path;
}

int sym_kcache_load(struct cp_module *m)
{
	char *path = kcache_path(m);
	if (!path)
		return -1;
	size_t len = 0;
	char *buf = cp_read_file(path, &len);
	free(path);
	uint32_t n, ps;
	if (!buf || len < 4 + 8 + 8 || len > MAX_FILE || memcmp(buf, KMAGIC, 4)) {
		free(buf);
		return -1;
	}
	uint64_t sum;
	memcpy(&sum, buf + len - 8, 8);
	memcpy(&n, buf + 4, 4);
	memcpy(&ps, buf + 8, 4);
	size_t need = 12 + (size_t)n * KENT + ps + 8;
	if (sum != cp_hash_bytes(buf, len - 8, 0x5eed) || len != need) {
		free(buf);
		return -1;
	}
	const char *ents = buf + 12, *pool = ents + (size_t)n * KENT;
	bool bad = false;
	CP_VEC_RESERVE(m->syms, n);
	for (uint32_t i = 0; i < n && !bad; i++) {
		uint64_t a, b;
		uint32_t off;
		memcpy(&a, ents + (size_t)i * KENT, 8);
		memcpy(&b, ents + (size_t)i * KENT + 8, 8);
		memcpy(&off, ents + (size_t)i * KENT + 16, 4);
		const char *name = pool_str(pool, ps, off, &bad);
		bad |= b < a || (i && a < m->syms.v[i - 1].start);
		m->syms.v[i] = (struct sym_ent){ a, b, name, NULL };
	}
	if (bad || !n) {
		free(buf);
		m->syms.n = 0;
		return -1;
	}
	m->syms.n = n;
	m->strpool = buf;
	m->syms_done = true; /* sorted, ends set: as finish_syms leaves them */
	return 0;
}

void sym_kcache_save(const struct cp_module *m)
{
	char *path = kcache_path(m);
	if (!path)
		return;
	struct cp_buf out = { 0 }, pool = { 0 };
	uint32_t n = (uint32_t)m->syms.n;
	cp_buf_add(&out, KMAGIC, 4);
	cp_buf_add(&out, &n, 4);
	size_t ps_at = out.len;
	uint32_t ps = 0;
	cp_buf_add(&out, &ps, 4);
	for (size_t i = 0; i < m->syms.n; i++) {
		uint32_t off = (uint32_t)pool.len;
		cp_buf_add(&out, &m->syms.v[i].start, 8);
		cp_buf_add(&out, &m->syms.v[i].end, 8);
		cp_buf_add(&out, &off, 4);
		const char *s = m->syms.v[i].name ? m->syms.v[i].name : "";
		cp_buf_add(&pool, s, strlen(s) + 1);
	}
	ps = (uint32_t)pool.len;
	memcpy(out.p + ps_at, &ps, 4);
	cp_buf_add(&out, pool.p, pool.len);
	uint64_t sum = cp_hash_bytes(out.p, out.len, 0x5eed);
	cp_buf_add(&out, &sum, 8);
	write_whole(path, out.p, out.len);
	cp_buf_release(&out);
	cp_buf_release(&pool);
	free(path);
}
