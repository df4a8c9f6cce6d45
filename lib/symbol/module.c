/* module.c - a module's file: mmapping an ELF image, its build-id and
 * PT_LOAD segments, the vDSO's image, separate debug files and unwind
 * tables.
 *
 * The bottom of lib/symbol: it calls no other file of it.  It does not
 * cache modules (symbolizer.c), symbolize (lookup.c) nor track address
 * spaces (space.c).
 */
#include "symbol/symbol.h"

#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbol/symbol-int.h"

void sym_image_close(struct sym_image *im)
{
	if (im->elf)
		elf_end(im->elf);
	if (im->map) {
		if (im->owned_map)
			free(im->map);
		else
			munmap(im->map, im->size);
	}
	if (im->fd >= 0)
		close(im->fd);
	memset(im, 0, sizeof(*im));
	im->fd = -1;
}


/* mmap a whole file read-only and hand it to libelf. */
int sym_image_open(struct sym_image *im, const char *file, struct cp_error *err)
{
	memset(im, 0, sizeof(*im));
	im->fd = open(file, O_RDONLY | O_CLOEXEC);
	if (im->fd < 0)
		return cp_error_errno(err, CP_E_NOENT, errno, "cannot open '%s'", file);
	struct stat st;
	if (fstat(im->fd, &st) < 0) {
		int e = errno;
		sym_image_close(im);
		return cp_error_errno(err, CP_E_IO, e, "cannot stat '%s'", file);
	}
	if (!S_ISREG(st.st_mode)) {
		sym_image_close(im);
		return cp_error_set(err, CP_E_FORMAT, "'%s' is not a regular file", file);
	}
	im->size = (size_t)st.st_size;
	if (im->size < sizeof(Elf64_Ehdr)) {
		sym_image_close(im);
		return cp_error_set(err, CP_E_FORMAT, "'%s' is not an ELF file", file);
	}
	/* writable copy-on-write: libelf rewrites headers in place when libdw
	 * decompresses SHF_COMPRESSED debug sections */
	im->map = mmap(NULL, im->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, im->fd, 0);
	if (im->map == MAP_FAILED) {
		int e = errno;
		im->map = NULL;
		sym_image_close(im);
		return cp_error_errno(err, CP_E_IO, e, "cannot map '%s'", file);
	}
	im->elf = elf_memory(im->map, im->size);
	if (!im->elf || elf_kind(im->elf) != ELF_K_ELF) {
		sym_image_close(im);
		return cp_error_set(err, CP_E_FORMAT, "'%s' is not an ELF file", file);
	}
	return 0;
}

Elf_Scn *sym_find_scn(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		if (!gelf_getshdr(scn, sh))
			continue;
		const char *n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

static void hexify(char *out, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Scan a note area for NT_GNU_BUILD_ID. */
static bool scan_notes(const uint8_t *p, size_t len, size_t align, char *out, size_t outsz)
{
	/* notes are 4- or 8-aligned; anything else in p_align/sh_addralign
	 * (0, 1, garbage that would wrap the offset) means 4 */
	align = align == 8 ? 8 : 4;
	size_t off = 0;
	while (off + 12 <= len) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		off += 12;
		size_t name_off = off;
		off += ((size_t)namesz + align - 1) & ~(align - 1);
		if (off > len || descsz > len - off)
			return false;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + name_off, "GNU", 4) &&
		    descsz > 0 && (size_t)descsz * 2 + 1 <= outsz) {
			hexify(out, p + off, descsz);
			return true;
		}
		off += ((size_t)descsz + align - 1) & ~(align - 1);
	}
	return false;
}

/* Read the program headers and the build-id of an opened image. */
int sym_elf_info(struct cp_module *m, struct cp_error *err)
{
	Elf *elf = m->img.elf;
	GElf_Ehdr eh;
	size_t phnum;
	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &phnum) < 0)
		return cp_error_set(err, CP_E_FORMAT, "'%s': bad ELF header: %s", m->path,
				    elf_errmsg(-1));
	m->e_type = eh.e_type;
	const uint8_t *base = m->img.map;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD) {
			struct sym_seg sg = { ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz,
					      ph.p_flags };
			CP_VEC_PUSH(m->segs, sg);
		} else if (ph.p_type == PT_NOTE && !m->build_id[0] && ph.p_offset <= m->img.size &&
			   ph.p_filesz <= m->img.size - ph.p_offset) {
			scan_notes(base + ph.p_offset, ph.p_filesz, ph.p_align, m->build_id,
				   sizeof(m->build_id));
		}
	}
	if (!m->build_id[0]) {
		/* objects without program headers (debug files, relocatables) */
		for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
				continue;
			if (sh.sh_offset > m->img.size || sh.sh_size > m->img.size - sh.sh_offset)
				continue;
			if (scan_notes(base + sh.sh_offset, sh.sh_size, sh.sh_addralign,
				       m->build_id, sizeof(m->build_id)))
				break;
		}
	}
	return 0;
}

/* The vDSO is the same image in every process: copy ours. */
int sym_vdso_open(struct cp_module *m, struct cp_error *err)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return cp_error_set(err, CP_E_UNSUPPORTED, "no vdso in this process");
	size_t size = 0;
	char *maps = cp_read_file("/proc/self/maps", NULL);
	if (maps) {
		for (char *line = maps, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			unsigned long long lo, hi;
			if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2 &&
			    lo == base) {
				size = (size_t)(hi - lo);
				break;
			}
		}
		free(maps);
	}
	if (!size)
		return cp_error_set(err, CP_E_UNSUPPORTED, "cannot find the vdso mapping");
	memset(&m->img, 0, sizeof(m->img));
	m->img.fd = -1;
	m->img.map = cp_xmalloc(size);
	m->img.owned_map = true;
	m->img.size = size;
	memcpy(m->img.map, (const void *)base, size);
	m->img.elf = elf_memory(m->img.map, size);
	if (!m->img.elf || elf_kind(m->img.elf) != ELF_K_ELF)
		return cp_error_set(err, CP_E_FORMAT, "cannot parse the vdso image");
	return sym_elf_info(m, err);
}

enum cp_module_kind cp_module_kind(const struct cp_module *m)
{
	return m->kind;
}

const char *cp_module_path(const struct cp_module *m)
{
	return m->path;
}

const char *cp_module_build_id(const struct cp_module *m)
{
	return m->build_id;
}

int cp_module_addr_bits(const struct cp_module *m)
{
	return m->img.elf && gelf_getclass(m->img.elf) == ELFCLASS32 ? 32 : 64;
}

int cp_module_offset_to_vaddr(const struct cp_module *m, uint64_t off, uint64_t *vaddr)
{
	if (m->kind == CP_MODULE_KERNEL || m->kind == CP_MODULE_JIT) {
		*vaddr = off;
		return 0;
	}
	for (size_t i = 0; i < m->segs.n; i++) {
		const struct sym_seg *sg = &m->segs.v[i];
		/* the mapping of a segment starts at its page, so accept the
		 * page-aligned head too */
		uint64_t lo = sg->offset & ~(uint64_t)4095;
		uint64_t hi = sg->offset + CP_MAX(sg->filesz, sg->memsz);
		if (off >= lo && off < hi) {
			*vaddr = off - sg->offset + sg->vaddr;
			return 0;
		}
	}
	return -1;
}

int cp_module_read(const struct cp_module *m, uint64_t vaddr, void *buf, size_t len)
{
	if (!m->img.map)
		return -1;
	for (size_t i = 0; i < m->segs.n; i++) {
		const struct sym_seg *sg = &m->segs.v[i];
		if (vaddr < sg->vaddr || vaddr - sg->vaddr >= sg->filesz)
			continue;
		uint64_t rel = vaddr - sg->vaddr;
		if (len > sg->filesz - rel)
			return -1;
		uint64_t off = sg->offset + rel;
		if (off > m->img.size || len > m->img.size - off)
			return -1;
		memcpy(buf, (const uint8_t *)m->img.map + off, len);
		return 0;
	}
	return -1;
}

/* ---- separate debug files ------------------------------------------------ */

static bool try_debug_file(struct cp_module *m, const char *file)
{
	struct sym_image im;
	if (sym_image_open(&im, file, NULL) < 0)
		return false;
	GElf_Shdr sh;
	if (!sym_find_scn(im.elf, ".debug_info", &sh) || sh.sh_type == SHT_NOBITS) {
		sym_image_close(&im);
		return false;
	}
	m->dbg = im;
	cp_log(CP_LOG_DEBUG, "'%s': using debug file '%s'", m->path, file);
	return true;
}

static void find_debug_file(struct cp_module *m)
{
	const char *dd = m->s->debug_dir;
	size_t bl = strlen(m->build_id);
	if (bl > 2) {
		char *f = cp_xasprintf("%s/.build-id/%.2s/%s.debug", dd, m->build_id,
				       m->build_id + 2);
		bool ok = try_debug_file(m, f);
		free(f);
		if (ok)
			return;
	}
	GElf_Shdr sh;
	Elf_Scn *scn = sym_find_scn(m->img.elf, ".gnu_debuglink", &sh);
	if (!scn || sh.sh_type == SHT_NOBITS || sh.sh_offset >= m->img.size)
		return;
	const char *link = (const char *)m->img.map + sh.sh_offset;
	size_t maxl = CP_MIN(sh.sh_size, m->img.size - sh.sh_offset);
	if (!memchr(link, '\0', maxl) || !*link)
		return;
	char *full = cp_xasprintf("%s%s", m->root ? m->root : "", m->path);
	char *slash = strrchr(full, '/');
	const char *dir = "";
	if (slash) {
		*slash = '\0';
		dir = full;
	}
	const char *dir_noroot = dir + (m->root && slash ? strlen(m->root) : 0);
	char *cands[3] = {
		cp_xasprintf("%s/%s", dir, link),
		cp_xasprintf("%s/.debug/%s", dir, link),
		cp_xasprintf("%s%s/%s", dd, dir_noroot, link),
	};
	char *self = cp_xasprintf("%s%s", m->root ? m->root : "", m->path);
	for (int i = 0; i < 3; i++)
		if (strcmp(cands[i], self) && try_debug_file(m, cands[i]))
			break;
	for (int i = 0; i < 3; i++)
		free(cands[i]);
	free(self);
	free(full);
}

/* ---- MiniDebugInfo -------------------------------------------------------- */

/* A compressed section may claim anything; real ones hold a few MiB. */
#define MINI_MAX ((size_t)64 << 20)

static void *xz_decode(const uint8_t *in, size_t in_size, size_t *out_size)
{
	lzma_stream st = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&st, (uint64_t)MINI_MAX * 2, 0) != LZMA_OK)
		return NULL;
	size_t cap = CP_MIN(CP_MAX(in_size * 4, (size_t)4096), MINI_MAX), len = 0;
	uint8_t *buf = cp_xmalloc(cap);
	st.next_in = in;
	st.avail_in = in_size;
	for (;;) {
		st.next_out = buf + len;
		st.avail_out = cap - len;
		lzma_ret r = lzma_code(&st, LZMA_FINISH);
		len = cap - st.avail_out;
		if (r == LZMA_STREAM_END)
			break;
		if (r != LZMA_OK || (st.avail_out && !st.avail_in) || cap == MINI_MAX) {
			lzma_end(&st);
			free(buf);
			return NULL;
		}
		if (!st.avail_out) {
			cap = CP_MIN(cap * 2, MINI_MAX);
			buf = cp_xrealloc(buf, cap);
		}
	}
	lzma_end(&st);
	*out_size = len;
	return buf;
}

Elf *sym_mini_elf(struct cp_module *m)
{
	if (m->mini_tried)
		return m->mini.elf;
	m->mini_tried = true;
	m->mini.fd = -1;
	GElf_Shdr sh;
	Elf_Scn *scn = m->img.elf ? sym_find_scn(m->img.elf, ".gnu_debugdata", &sh) : NULL;
	if (!scn || sh.sh_type == SHT_NOBITS || sh.sh_offset > m->img.size ||
	    sh.sh_size > m->img.size - sh.sh_offset)
		return NULL;
	size_t size;
	void *elf_bytes = xz_decode((const uint8_t *)m->img.map + sh.sh_offset, sh.sh_size, &size);
	if (!elf_bytes)
		return NULL;
	m->mini.map = elf_bytes;
	m->mini.size = size;
	m->mini.owned_map = true;
	m->mini.elf = elf_memory(elf_bytes, size);
	if (!m->mini.elf || elf_kind(m->mini.elf) != ELF_K_ELF) {
		sym_image_close(&m->mini);
		return NULL;
	}
	cp_log(CP_LOG_DEBUG, "'%s': using its MiniDebugInfo (%zu bytes)", m->path, size);
	return m->mini.elf;
}

Elf *sym_debug_elf(struct cp_module *m)
{
	if (!m->img.elf)
		return NULL;
	GElf_Shdr sh;
	if (sym_find_scn(m->img.elf, ".debug_info", &sh) && sh.sh_type != SHT_NOBITS)
		return m->img.elf;
	if (!m->dbg_tried) {
		m->dbg_tried = true;
		find_debug_file(m);
	}
	if (!m->dbg.elf && !m->dfd_tried && m->s->dfd) {
		m->dfd_tried = true;
		char *path = sym_debuginfod_find(m);
		if (path)
			try_debug_file(m, path);
		free(path);
	}
	return m->dbg.elf;
}

int cp_module_unwind_info(const struct cp_module *cm, struct cp_module_unwind_info *out)
{
	struct cp_module *m = (struct cp_module *)cm; /* lazily opens the debug file */
	memset(out, 0, sizeof(*out));
	if (!m->img.elf)
		return -1;
	size_t phnum;
	if (elf_getphdrnum(m->img.elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(m->img.elf, (int)i, &ph) && ph.p_type == PT_GNU_EH_FRAME) {
				out->eh_frame_hdr = ph.p_vaddr;
				out->eh_frame_hdr_size = ph.p_memsz;
			}
		}
	}
	GElf_Shdr sh;
	if (sym_find_scn(m->img.elf, ".eh_frame", &sh) && sh.sh_type != SHT_NOBITS) {
		out->eh_frame = sh.sh_addr;
		out->eh_frame_size = sh.sh_size;
	}
	struct sym_image *ims[2] = { &m->img, NULL };
	if (!sym_find_scn(m->img.elf, ".debug_frame", &sh) || sh.sh_type == SHT_NOBITS) {
		if (!m->dbg_tried)
			sym_debug_elf(m);
		ims[0] = m->dbg.elf ? &m->dbg : NULL;
	}
	if (ims[0] && sym_find_scn(ims[0]->elf, ".debug_frame", &sh) && sh.sh_type != SHT_NOBITS &&
	    sh.sh_offset <= ims[0]->size && sh.sh_size <= ims[0]->size - sh.sh_offset &&
	    !(sh.sh_flags & SHF_COMPRESSED)) {
		out->debug_frame_offset = sh.sh_offset;
		out->debug_frame_size = sh.sh_size;
		out->debug_image = ims[0]->map;
		out->debug_image_size = ims[0]->size;
	}
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < m->segs.n; i++) {
		const struct sym_seg *sg = &m->segs.v[i];
		if (!(sg->flags & PF_X))
			continue;
		lo = CP_MIN(lo, sg->vaddr);
		hi = CP_MAX(hi, sg->vaddr + sg->memsz);
	}
	if (hi) {
		out->text_start = lo;
		out->text_end = hi;
	}
	return 0;
}
