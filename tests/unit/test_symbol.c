/* test_symbol.c - lib/symbol: modules, symbolization with inline frames,
 * pseudo-modules and address spaces.  A small C program is compiled at test
 * time (cc -O2 -g) so the DWARF is real. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbol/symbol.h"
#include "symbol/symbol-int.h"

static char tmpdir[256];
static char binpath[512];
static bool have_bin;

/* Line numbers below are asserted: keep HELPER_LINE and CALL_LINE true. */
static const char prog_src[] =
	"#include <stdlib.h>\n"                                            /* 1 */
	"volatile int sink;\n"                                             /* 2 */
	"static inline __attribute__((always_inline)) int helper(int x)\n" /* 3 */
	"{\n"                                                              /* 4 */
	"\tsink = x * 7;\n"                                                /* 5 HELPER_LINE */
	"\treturn sink + 3;\n"                                             /* 6 */
	"}\n"                                                              /* 7 */
	"__attribute__((noinline)) int work(int n)\n"                      /* 8 */
	"{\n"                                                              /* 9 */
	"\tint s = 0;\n"                                                   /* 10 */
	"\tfor (int i = 0; i < n; i++)\n"                                  /* 11 */
	"\t\ts += helper(i);\n"                                            /* 12 CALL_LINE */
	"\treturn s;\n"                                                    /* 13 */
	"}\n"                                                              /* 14 */
	"int main(int argc, char **argv)\n"                                /* 15 */
	"{\n"                                                              /* 16 */
	"\treturn work(argc > 1 ? atoi(argv[1]) : 3) & 1;\n"               /* 17 */
	"}\n";
#define CALL_LINE 12

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/cprof-test-symbol.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	char src[512], cmd[2048];
	snprintf(src, sizeof(src), "%s/t.c", tmpdir);
	snprintf(binpath, sizeof(binpath), "%s/t", tmpdir);
	FILE *f = fopen(src, "w");
	if (!f)
		return -1;
	fputs(prog_src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cc -O2 -g -Wl,--build-id -o '%s' '%s' 2>/dev/null", binpath,
		 src);
	have_bin = system(cmd) == 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* st_value/st_size of a symbol, and the file offset of its first byte. */
static bool elf_symbol(const char *file, const char *name, uint64_t *value, uint64_t *size,
		       uint64_t *offset)
{
	elf_version(EV_CURRENT);
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return false;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	bool found = false;
	for (Elf_Scn *scn = NULL; e && (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			if (gelf_getsym(d, (int)i, &s) &&
			    !strcmp(elf_strptr(e, sh.sh_link, s.st_name), name)) {
				*value = s.st_value;
				*size = s.st_size;
				found = true;
			}
		}
	}
	size_t n = 0;
	if (found && elf_getphdrnum(e, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    *value >= ph.p_vaddr && *value < ph.p_vaddr + ph.p_filesz)
				*offset = *value - ph.p_vaddr + ph.p_offset;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

static struct cp_symbolizer *new_symbolizer(void)
{
	struct cp_symbol_opts o;
	cp_symbol_opts_init(&o);
	assert_true(o.demangle);
	assert_true(o.inlines);
	assert_string_equal(o.debug_dir, "/usr/lib/debug");
	return cp_symbolizer_new(&o);
}

static void test_lookup_inline_chain(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	uint64_t work, size, off;
	assert_true(elf_symbol(binpath, "work", &work, &size, &off));
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, binpath, NULL, NULL, &err);
	assert_non_null(m);
	assert_int_equal(cp_module_kind(m), CP_MODULE_ELF);
	assert_string_equal(cp_module_path(m), binpath);
	assert_ptr_equal(cp_symbolizer_open(s, binpath, NULL, NULL, &err), m); /* cached */

	int inlined_hits = 0;
	for (uint64_t a = work; a < work + size; a++) {
		struct cp_symbol_frame fr[8];
		int n = cp_module_lookup(m, a, fr, 8);
		assert_true(n >= 1);
		/* the outermost frame is always the real function */
		assert_string_equal(fr[n - 1].name, "work");
		assert_false(fr[n - 1].inlined);
		assert_int_equal(fr[n - 1].sym_start, work);
		assert_non_null(fr[0].file);
		assert_string_equal(strrchr(fr[0].file, '/') + 1, "t.c");
		assert_true(fr[0].line >= 3 && fr[0].line <= 14);
		if (n == 2) {
			assert_string_equal(fr[0].name, "helper");
			assert_true(fr[0].inlined);
			assert_true(fr[0].line >= 5 && fr[0].line <= 6);
			assert_int_equal(fr[1].line, CALL_LINE);
			assert_string_equal(strrchr(fr[1].file, '/') + 1, "t.c");
			assert_int_equal(fr[0].decl_line, 3);
			inlined_hits++;
		}
	}
	assert_true(inlined_hits > 0);

	/* without inline frames only the real function is left */
	struct cp_symbol_opts o;
	cp_symbol_opts_init(&o);
	o.inlines = false;
	struct cp_symbolizer *s2 = cp_symbolizer_new(&o);
	struct cp_module *m2 = cp_symbolizer_open(s2, binpath, NULL, NULL, &err);
	assert_non_null(m2);
	for (uint64_t a = work; a < work + size; a++) {
		struct cp_symbol_frame fr[8];
		assert_int_equal(cp_module_lookup(m2, a, fr, 8), 1);
		assert_string_equal(fr[0].name, "work");
		assert_false(fr[0].inlined);
		assert_true(fr[0].line >= 8 && fr[0].line <= 14);
	}
	/* an address outside every section has no symbol */
	struct cp_symbol_frame fr[2];
	assert_int_equal(cp_module_lookup(m2, 0xfffffffffff0ULL, fr, 2), 0);
	cp_symbolizer_free(s2);
	cp_symbolizer_free(s);
}

static void test_module_basics(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	uint64_t work, size, off = 0;
	assert_true(elf_symbol(binpath, "work", &work, &size, &off));
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, binpath, NULL, NULL, &err);
	assert_non_null(m);

	const char *bid = cp_module_build_id(m);
	assert_int_equal(strlen(bid), 40);
	assert_int_equal(strspn(bid, "0123456789abcdef"), 40);
	assert_int_equal(cp_module_addr_bits(m), 64);

	/* same build-id (any case) is fine, another one fails */
	char upper[64];
	for (size_t i = 0; i <= strlen(bid); i++)
		upper[i] = (char)(bid[i] >= 'a' ? bid[i] - 32 : bid[i]);
	assert_ptr_equal(cp_symbolizer_open(s, binpath, NULL, upper, &err), m);
	assert_null(cp_symbolizer_open(s, binpath, NULL, "deadbeef", &err));
	assert_int_equal(err.code, CP_E_NOENT);
	assert_non_null(strstr(err.msg, "build-id mismatch"));

	uint64_t v = 0;
	assert_int_equal(cp_module_offset_to_vaddr(m, off, &v), 0);
	assert_int_equal(v, work);
	assert_int_equal(cp_module_offset_to_vaddr(m, 1ULL << 40, &v), -1);

	uint8_t a[16], b[16];
	assert_int_equal(cp_module_read(m, work, a, sizeof(a)), 0);
	FILE *f = fopen(binpath, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
	assert_int_equal(fread(b, 1, sizeof(b), f), sizeof(b));
	fclose(f);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(cp_module_read(m, 1ULL << 40, a, 4), -1);

	struct cp_module_unwind_info ui;
	assert_int_equal(cp_module_unwind_info(m, &ui), 0);
	assert_true(ui.eh_frame_hdr != 0 && ui.eh_frame_hdr_size != 0);
	assert_true(ui.eh_frame != 0 && ui.eh_frame_size != 0);
	assert_true(ui.text_start <= work && work < ui.text_end);
	if (ui.debug_frame_size)
		assert_true(ui.debug_frame_offset + ui.debug_frame_size <= ui.debug_image_size);

	/* failures are cached and keep their message */
	char missing[600];
	snprintf(missing, sizeof(missing), "%s/no-such-file", tmpdir);
	for (int i = 0; i < 2; i++) {
		memset(&err, 0, sizeof(err));
		assert_null(cp_symbolizer_open(s, missing, NULL, NULL, &err));
		assert_int_equal(err.code, CP_E_NOENT);
		assert_non_null(strstr(err.msg, "cannot open '"));
		assert_non_null(strstr(err.msg, "No such file or directory"));
	}
	/* a root prefix is prepended when reading */
	assert_non_null(cp_symbolizer_open(s, binpath + strlen(tmpdir), tmpdir, NULL, &err));
	cp_symbolizer_free(s);
}

static void test_jit_map(void **state)
{
	(void)state;
	char dir[600], file[700];
	snprintf(dir, sizeof(dir), "%s/tmp", tmpdir);
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/perf-4242.map", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("7f0000001000 100 jitted_one\n7f0000001100 80 _Z3fooi\nbad line\n"
	      "7f0000002000 10 js:someFunction [0x1234]\n",
	      f);
	fclose(f);
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, "/tmp/perf-4242.map", tmpdir, NULL, &err);
	assert_non_null(m);
	assert_int_equal(cp_module_kind(m), CP_MODULE_JIT);
	struct cp_symbol_frame fr[4];
	assert_int_equal(cp_module_lookup(m, 0x7f0000001010, fr, 4), 1);
	assert_string_equal(fr[0].name, "jitted_one");
	assert_int_equal(fr[0].sym_start, 0x7f0000001000);
	assert_int_equal(cp_module_lookup(m, 0x7f0000001120, fr, 4), 1);
	assert_string_equal(fr[0].name, "foo(int)");
	assert_string_equal(fr[0].system_name, "_Z3fooi");
	assert_int_equal(cp_module_lookup(m, 0x7f0000002004, fr, 4), 1);
	assert_string_equal(fr[0].name, "js:someFunction [0x1234]");
	assert_int_equal(cp_module_lookup(m, 0x7f0000001180, fr, 4), 0); /* gap */
	assert_int_equal(cp_module_lookup(m, 0x100, fr, 4), 0);
	/* the JIT appends while the target runs: a miss reads the map again,
	 * and names handed out before stay valid */
	const char *old_name = fr[0].name;
	f = fopen(file, "a");
	assert_non_null(f);
	fputs("7f0000003000 20 late_one\n7f0000001000 100 jitted_again\n", f);
	fclose(f);
	assert_int_equal(cp_module_lookup(m, 0x7f0000003008, fr, 4), 1);
	assert_string_equal(fr[0].name, "late_one");
	assert_string_equal(old_name, "js:someFunction [0x1234]");
	assert_int_equal(cp_module_lookup(m, 0x7f0000001010, fr, 4), 1);
	assert_string_equal(fr[0].name, "jitted_again"); /* the later line wins */
	uint64_t v;
	assert_int_equal(cp_module_offset_to_vaddr(m, 0x7f0000001010, &v), 0);
	assert_int_equal(v, 0x7f0000001010);
	cp_symbolizer_free(s);
}

/* Stripped code: no name is guessed from a symbol that does not hold the
 * address; the function's start and extent come from its FDE.  addr2line
 * mode keeps addr2line's answer (nothing here: no symbols at all). */
static void test_stripped_function_start(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	uint64_t work, size, off;
	assert_true(elf_symbol(binpath, "work", &work, &size, &off));
	char stripped[600], cmd[2048];
	snprintf(stripped, sizeof(stripped), "%s/t-stripped", tmpdir);
	snprintf(cmd, sizeof(cmd), "objcopy --strip-all '%s' '%s'", binpath, stripped);
	assert_int_equal(system(cmd), 0);
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_module *m = cp_symbolizer_open(s, stripped, NULL, NULL, NULL);
	assert_non_null(m);
	struct cp_symbol_frame fr[8];
	for (uint64_t a = work; a < work + size; a += size / 4 ? size / 4 : 1) {
		assert_int_equal(cp_module_lookup(m, a, fr, 8), 1);
		assert_null(fr[0].name);
		assert_int_equal(fr[0].sym_start, work);
	}
	uint64_t lo, hi;
	assert_int_equal(cp_module_function_extent(m, work + size / 2, &lo, &hi), 0);
	assert_int_equal(lo, work);
	assert_int_equal(hi, work + size);
	cp_symbolizer_free(s);

	struct cp_symbol_opts o;
	cp_symbol_opts_init(&o);
	o.addr2line_compat = true;
	s = cp_symbolizer_new(&o);
	m = cp_symbolizer_open(s, stripped, NULL, NULL, NULL);
	assert_non_null(m);
	assert_int_equal(cp_module_lookup(m, work + 1, fr, 8), 0);
	cp_symbolizer_free(s);
}

/* One lookup of addr in binpath, through a symbolizer with the cache in
 * dir (NULL: none); the frames' names joined into out. */
static int lookup_names(const char *dir, uint64_t addr, char *out, size_t size)
{
	struct cp_symbol_opts o;
	cp_symbol_opts_init(&o);
	o.cache_dir = dir;
	struct cp_symbolizer *s = cp_symbolizer_new(&o);
	struct cp_module *m = cp_symbolizer_open(s, binpath, NULL, NULL, NULL);
	assert_non_null(m);
	struct cp_symbol_frame fr[64];
	int n = cp_module_lookup(m, addr, fr, 64);
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s:%s:%d;", fr[i].name ? fr[i].name : "?",
					fr[i].file ? fr[i].file : "?", fr[i].line);
	cp_symbolizer_free(s); /* writes the cache */
	return n;
}

/* The symbol cache gives what a lookup gives, and a damaged cache file --
 * cut short, or with its counts and offsets wrong but a valid checksum --
 * is ignored, never read out of bounds. */
static void test_symbol_cache(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	uint64_t work, size, off;
	assert_true(elf_symbol(binpath, "work", &work, &size, &off));
	char dir[600], want[4096], got[4096];
	snprintf(dir, sizeof(dir), "%s/cache", tmpdir);
	int n = lookup_names(NULL, work + 4, want, sizeof(want));
	assert_true(n >= 1);
	assert_int_equal(lookup_names(dir, work + 4, got, sizeof(got)), n); /* fills it */
	assert_string_equal(got, want);
	assert_int_equal(lookup_names(dir, work + 4, got, sizeof(got)), n); /* from it */
	assert_string_equal(got, want);

	char cmd[1400], file[1400];
	snprintf(cmd, sizeof(cmd), "ls %s/symbols/*", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(file, sizeof(file), p));
	pclose(p);
	file[strcspn(file, "\n")] = '\0';
	size_t len;
	char *orig = cp_read_file(file, &len);
	assert_non_null(orig);
	for (size_t variant = 0; variant < 64; variant++) {
		char *b = cp_xmalloc(len);
		memcpy(b, orig, len);
		size_t blen = len;
		if (variant < 16) {
			blen = len * variant / 16; /* cut short */
		} else {
			/* damage a header or table word, then make the checksum fit */
			size_t at = (variant * 37) % (len - 12);
			uint32_t v = variant & 1 ? 0xffffffffu : (uint32_t)variant * 1000003u;
			memcpy(b + at, &v, 4);
			uint64_t sum = cp_hash_bytes(b, len - 8, 0x5eed);
			memcpy(b + len - 8, &sum, 8);
		}
		FILE *f = fopen(file, "w");
		assert_non_null(f);
		fwrite(b, 1, blen, f);
		fclose(f);
		free(b);
		/* whatever it made of the file: no crash (ASan watches), and a
		 * cache it could not read is replaced by a good one */
		lookup_names(dir, work + 4, got, sizeof(got));
		assert_int_equal(lookup_names(dir, work + 4, got, sizeof(got)), n);
	}
	free(orig);
}

/* Entries of size 0 end where the next address starts: with thousands of
 * them at one address (a JIT map or kallsyms from a container) that is
 * one pass, not one per entry. */
static void test_jit_zero_sizes(void **state)
{
	(void)state;
	char dir[600], file[700];
	snprintf(dir, sizeof(dir), "%s/tmp", tmpdir);
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/perf-4243.map", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	for (int i = 0; i < 100000; i++)
		fputs("7f0000005000 0 zero_a\n", f);
	fputs("7f0000006000 0 zero_b\n7f0000007000 10 sized\n", f);
	fclose(f);
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_module *m = cp_symbolizer_open(s, "/tmp/perf-4243.map", tmpdir, NULL, NULL);
	assert_non_null(m);
	struct cp_symbol_frame fr[4];
	assert_int_equal(cp_module_lookup(m, 0x7f0000005ff0, fr, 4), 1);
	assert_string_equal(fr[0].name, "zero_a");
	assert_int_equal(cp_module_lookup(m, 0x7f0000006ff0, fr, 4), 1);
	assert_string_equal(fr[0].name, "zero_b");
	assert_int_equal(cp_module_lookup(m, 0x7f0000007004, fr, 4), 1);
	assert_string_equal(fr[0].name, "sized");
	assert_int_equal(cp_module_lookup(m, 0x7f0000007010, fr, 4), 0);
	cp_symbolizer_free(s);
}

static void test_vdso_and_kernel(void **state)
{
	(void)state;
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, "[vdso]", NULL, NULL, &err);
	if (m) {
		assert_int_equal(cp_module_kind(m), CP_MODULE_VDSO);
		struct cp_module_unwind_info ui;
		assert_int_equal(cp_module_unwind_info(m, &ui), 0);
		assert_true(ui.text_end > ui.text_start);
		int named = 0;
		for (uint64_t a = ui.text_start; a < ui.text_end; a += 16) {
			struct cp_symbol_frame fr[4];
			if (cp_module_lookup(m, a, fr, 4) > 0 && fr[0].name)
				named++;
		}
		assert_true(named > 0);
	}
	m = cp_symbolizer_open(s, "[kernel.kallsyms]", NULL, NULL, &err);
	if (m) {
		assert_int_equal(cp_module_kind(m), CP_MODULE_KERNEL);
	} else {
		/* hidden addresses must say which sysctl to change */
		assert_true(err.code == CP_E_PERM || err.code == CP_E_NOENT);
		if (err.code == CP_E_PERM)
			assert_non_null(strstr(err.msg, "kptr_restrict"));
	}
	cp_symbolizer_free(s);
}

static void test_space(void **state)
{
	(void)state;
	struct cp_space *sp = cp_space_new(42);
	assert_int_equal(cp_space_pid(sp), 42);
	assert_null(cp_space_find(sp, 0x1000));
	cp_space_insert(sp, 0x1000, 0x5000, 0x0, "/a", NULL, 1);
	cp_space_insert(sp, 0x8000, 0x9000, 0x0, "/c", NULL, 3);
	assert_int_equal(cp_space_count(sp), 2);
	/* a mapping in the middle splits the old one, like mmap(MAP_FIXED) */
	cp_space_insert(sp, 0x2000, 0x3000, 0x7000, "/b", NULL, 2);
	assert_int_equal(cp_space_count(sp), 4);
	const struct cp_mapping *mp = cp_space_find(sp, 0x1fff);
	assert_non_null(mp);
	assert_string_equal(mp->path, "/a");
	assert_int_equal(mp->end, 0x2000);
	mp = cp_space_find(sp, 0x2000);
	assert_string_equal(mp->path, "/b");
	assert_int_equal(mp->pgoff, 0x7000);
	assert_int_equal(mp->id, 2);
	mp = cp_space_find(sp, 0x3000);
	assert_string_equal(mp->path, "/a");
	assert_int_equal(mp->start, 0x3000);
	assert_int_equal(mp->pgoff, 0x2000); /* the tail keeps its file offset */
	assert_null(cp_space_find(sp, 0x5000));
	assert_null(cp_space_find(sp, 0x7fff));
	/* replacing across several mappings */
	cp_space_insert(sp, 0x1800, 0x8800, 0x0, "/d", NULL, 4);
	assert_int_equal(cp_space_count(sp), 3);
	assert_string_equal(cp_space_get(sp, 0)->path, "/a");
	assert_int_equal(cp_space_get(sp, 0)->end, 0x1800);
	assert_string_equal(cp_space_get(sp, 1)->path, "/d");
	assert_string_equal(cp_space_get(sp, 2)->path, "/c");
	assert_int_equal(cp_space_get(sp, 2)->start, 0x8800);
	assert_int_equal(cp_space_get(sp, 2)->pgoff, 0x800);
	assert_null(cp_space_get(sp, 3));
	for (size_t i = 1; i < cp_space_count(sp); i++)
		assert_true(cp_space_get(sp, i - 1)->end <= cp_space_get(sp, i)->start);

	struct cp_space *c = cp_space_clone(sp, 43);
	assert_int_equal(cp_space_pid(c), 43);
	assert_int_equal(cp_space_count(c), 3);
	cp_space_clear(sp);
	assert_int_equal(cp_space_count(sp), 0);
	assert_null(cp_space_find(sp, 0x2000));
	assert_string_equal(cp_space_find(c, 0x2000)->path, "/d");
	uint64_t rel;
	assert_int_equal(cp_mapping_to_rel(cp_space_find(c, 0x2000), 0x2000, &rel), -1);
	cp_space_free(c);
	cp_space_free(sp);
}

static void test_mapping_to_rel(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	uint64_t work, size, off;
	assert_true(elf_symbol(binpath, "work", &work, &size, &off));
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, binpath, NULL, NULL, &err);
	assert_non_null(m);
	/* the executable segment mapped at a random base, as ld.so does */
	uint64_t pgoff = off & ~0xfffULL, base = 0x7f1234560000ULL;
	struct cp_space *sp = cp_space_new(1);
	cp_space_insert(sp, base, base + 0x10000, pgoff, binpath, m, 0);
	uint64_t runtime = base + (off - pgoff);
	const struct cp_mapping *mp = cp_space_find(sp, runtime);
	assert_non_null(mp);
	assert_ptr_equal(mp->module, m);
	uint64_t rel = 0;
	assert_int_equal(cp_mapping_to_rel(mp, runtime, &rel), 0);
	assert_int_equal(rel, work);
	struct cp_symbol_frame fr[4];
	int n = cp_module_lookup(m, rel, fr, 4);
	assert_true(n >= 1);
	assert_string_equal(fr[n - 1].name, "work");
	assert_int_equal(cp_mapping_to_rel(mp, base - 1, &rel), -1);
	cp_space_free(sp);
	cp_symbolizer_free(s);
}

/* A line program whose header_length is shorter than the header's own
 * fixed fields (found by fuzz_symbol): the "program" then starts inside
 * the header and opcode 0xfb would read standard_opcode_lengths[0xfb]
 * far past the section.  The header must be rejected. */
static void test_lines_short_header(void **state)
{
	(void)state;
	static const uint8_t unit[] = {
		11,   0, 0, 0, /* unit_length */
		2,    0,       /* version */
		0,    0, 0, 0, /* header_length: 0 */
		1,             /* minimum_instruction_length */
		1,             /* default_is_stmt */
		0xfb,          /* line_base */
		14,            /* line_range */
		255,           /* opcode_base */
	};
	/* an exactly-sized heap copy, so ASan sees any read past it */
	uint8_t *sec = malloc(sizeof(unit));
	assert_non_null(sec);
	memcpy(sec, unit, sizeof(unit));
	struct sym_line_scratch sc = { 0 };
	struct dw_row *rows = NULL;
	size_t nrows = 0;
	assert_int_equal(sym_decode_lines(sec, sizeof(unit), 0, NULL, 0, &sc, &rows, &nrows), -1);
	assert_null(rows);
	char **names = NULL;
	size_t nnames = 0;
	struct sym_str_secs ss = { 0 };
	assert_int_equal(sym_line_files(sec, sizeof(unit), 0, NULL, &ss, &names, &nnames), -1);
	free(sec);
	CP_VEC_FREE(sc.rows);
	CP_VEC_FREE(sc.seqs);
}

/* DW_LNS_advance_line with a 9-byte SLEB128 (sign bit at shift 63) and
 * line advances that overflow the register: decoded without undefined
 * behaviour, the rows after them still right. */
static void test_lines_sleb_and_wrap(void **state)
{
	(void)state;
	static const uint8_t unit[] = {
		0, 0, 0, 0, /* unit_length, patched below */
		3, 0,       /* version */
		0, 0, 0, 0, /* header_length, patched below */
	};
	uint8_t buf[128];
	size_t n = sizeof(unit);
	memcpy(buf, unit, n);
	/* min_inst, default_is_stmt, line_base, line_range, opcode_base and
	 * the 9 standard opcode lengths; empty directory and file tables */
	static const uint8_t hdr[] = { 1, 1, 0xfb, 14, 10, 0, 1, 1, 1, 1, 0, 0, 0, 1 };
	memcpy(buf + n, hdr, sizeof(hdr));
	n += sizeof(hdr);
	buf[n++] = 0;               /* include_directories */
	buf[n++] = 0;               /* file_names */
	buf[6] = (uint8_t)(n - 10); /* header_length */
	static const uint8_t prog[] = {
		0, 9,    2,    0x00, 0x10, 0,    0,    0,    0,    0,    0, /* set_address 0x1000 */
		3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,    /* advance_line -1 */
		3, 5, /* advance_line +5: line 5 */
		1,    /* copy */
		3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, /* +INT64_MAX */
		3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, /* +INT64_MAX: wraps */
		2, 16,                                                   /* advance_pc 16 */
		0, 1,    1,                                              /* end_sequence */
	};
	memcpy(buf + n, prog, sizeof(prog));
	n += sizeof(prog);
	buf[0] = (uint8_t)(n - 4);
	uint8_t *sec = malloc(n);
	assert_non_null(sec);
	memcpy(sec, buf, n);
	struct sym_line_scratch sc = { 0 };
	struct dw_row *rows = NULL;
	size_t nrows = 0;
	assert_int_equal(sym_decode_lines(sec, n, 0, NULL, 0, &sc, &rows, &nrows), 0);
	assert_int_equal(nrows, 2);
	assert_int_equal(rows[0].addr, 0x1000);
	assert_int_equal(rows[0].line, 5);
	assert_false(rows[0].end);
	assert_int_equal(rows[1].addr, 0x1010);
	assert_true(rows[1].end);
	free(rows);
	free(sec);
	CP_VEC_FREE(sc.rows);
	CP_VEC_FREE(sc.seqs);
}

/* Set the offset and size of section `name` of a 64-bit ELF file by
 * rewriting its section header bytes (libelf would check the layout). */
static bool patch_section(const char *file, const char *name, uint64_t offset, uint64_t size)
{
	elf_version(EV_CURRENT);
	int fd = open(file, O_RDWR);
	if (fd < 0)
		return false;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	GElf_Ehdr eh;
	off_t pos = -1;
	if (e && gelf_getehdr(e, &eh) && gelf_getclass(e) == ELFCLASS64 &&
	    elf_getshdrstrndx(e, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; pos < 0 && (scn = elf_nextscn(e, scn));) {
			GElf_Shdr sh;
			const char *n;
			if (gelf_getshdr(scn, &sh) && (n = elf_strptr(e, shstrndx, sh.sh_name)) &&
			    !strcmp(n, name))
				pos = (off_t)(eh.e_shoff + elf_ndxscn(scn) * eh.e_shentsize);
		}
	}
	if (e)
		elf_end(e);
	/* Elf64_Shdr: sh_offset at 24, sh_size at 32 (host order = file order here) */
	bool ok = pos >= 0 && pwrite(fd, &offset, 8, pos + 24) == 8 &&
		  pwrite(fd, &size, 8, pos + 32) == 8;
	close(fd);
	return ok;
}

/* A .debug_frame whose offset + size wraps around (found by fuzz_symbol):
 * the unwinder must not be handed a range outside the file. */
static void test_unwind_info_bad_debug_frame(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	char bin[600], cmd[2048];
	snprintf(bin, sizeof(bin), "%s/df", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "cc -O1 -g -fno-asynchronous-unwind-tables -o '%s' '%s/t.c' 2>/dev/null", bin,
		 tmpdir);
	if (system(cmd) != 0)
		skip();
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_module *m = cp_symbolizer_open(s, bin, NULL, NULL, NULL);
	assert_non_null(m);
	struct cp_module_unwind_info ui;
	assert_int_equal(cp_module_unwind_info(m, &ui), 0);
	cp_symbolizer_free(s);
	if (!ui.debug_frame_size)
		skip(); /* this compiler put no .debug_frame in */
	assert_true(
		patch_section(bin, ".debug_frame", 0xff00000000000490ULL, 0x00ffffffffffffffULL));
	s = new_symbolizer();
	m = cp_symbolizer_open(s, bin, NULL, NULL, NULL);
	assert_non_null(m);
	assert_int_equal(cp_module_unwind_info(m, &ui), 0);
	assert_int_equal(ui.debug_frame_size, 0);
	assert_null(ui.debug_image);
	assert_true(ui.eh_frame_hdr == 0 || ui.text_start < ui.text_end);
	cp_symbolizer_free(s);
}

/* The line in effect at a (innermost frame), as cp_module_lookup says. */
static int lookup_line(struct cp_module *m, uint64_t a)
{
	struct cp_symbol_frame fr[8];
	int n = cp_module_lookup(m, a, fr, 8);
	return n > 0 ? fr[0].line : -1;
}

static void check_rows(struct cp_module *m, uint64_t start, uint64_t end)
{
	struct cp_symbol_rows rows = { 0 };
	size_t n = cp_module_line_rows(m, start, end, &rows);
	assert_true(n > 1);
	assert_int_equal(rows.n, n);
	assert_int_equal(rows.v[0].addr, start);
	bool inlined_line = false;
	for (size_t i = 0; i < n; i++) {
		const struct cp_symbol_line_row *r = &rows.v[i];
		assert_true(r->addr >= start && r->addr < end);
		if (i)
			assert_true(r->addr > rows.v[i - 1].addr);
		assert_non_null(r->file);
		assert_string_equal(strrchr(r->file, '/') + 1, "t.c");
		assert_true(r->line >= 3 && r->line <= 14);
		inlined_line |= r->line == 5 || r->line == 6;
		/* every address up to the next row has the row's line */
		uint64_t next = i + 1 < n ? rows.v[i + 1].addr : end;
		for (uint64_t a = r->addr; a < next; a++)
			assert_int_equal(lookup_line(m, a), r->line);
	}
	assert_true(inlined_line);
	free(rows.v);
}

static void test_function_extent_and_rows(void **state)
{
	(void)state;
	if (!have_bin)
		skip();
	uint64_t work, size, off, lo, hi;
	assert_true(elf_symbol(binpath, "work", &work, &size, &off));
	struct cp_symbolizer *s = new_symbolizer();
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, binpath, NULL, NULL, &err);
	assert_non_null(m);
	for (uint64_t a = work; a < work + size; a++) {
		assert_int_equal(cp_module_function_extent(m, a, &lo, &hi), 0);
		assert_int_equal(lo, work);
		assert_int_equal(hi, work + size);
	}
	assert_int_equal(cp_module_function_extent(m, 0, &lo, &hi), -1);
	check_rows(m, work, work + size);
	/* a range starting mid-row starts with the row in effect there */
	struct cp_symbol_rows rows = { 0 };
	assert_true(cp_module_line_rows(m, work + 1, work + size, &rows) >= 1);
	assert_int_equal(rows.v[0].addr, work + 1);
	assert_int_equal(rows.v[0].line, lookup_line(m, work + 1));
	free(rows.v);
	cp_symbolizer_free(s);

	/* no symbol for work: the DWARF subprogram gives the same extent */
	char nosym[300], nodw[300], cmd[4096];
	snprintf(nosym, sizeof(nosym), "%s/t-nosym", tmpdir);
	snprintf(nodw, sizeof(nodw), "%s/t-nodwarf", tmpdir);
	snprintf(cmd, sizeof(cmd), "objcopy -N work '%s' '%s' && objcopy --strip-debug '%s' '%s'",
		 binpath, nosym, binpath, nodw);
	assert_int_equal(system(cmd), 0);
	s = new_symbolizer();
	m = cp_symbolizer_open(s, nosym, NULL, NULL, &err);
	assert_non_null(m);
	assert_int_equal(cp_module_function_extent(m, work + size / 2, &lo, &hi), 0);
	assert_int_equal(lo, work);
	assert_int_equal(hi, work + size);
	/* without DWARF: the symbol still gives the extent, there are no rows */
	m = cp_symbolizer_open(s, nodw, NULL, NULL, &err);
	assert_non_null(m);
	assert_int_equal(cp_module_function_extent(m, work + 1, &lo, &hi), 0);
	assert_int_equal(lo, work);
	assert_int_equal(hi, work + size);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(cp_module_line_rows(m, work, work + size, &rows), 0);
	assert_int_equal(rows.n, 0);
	free(rows.v);
	cp_symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_inline_chain),
		cmocka_unit_test(test_function_extent_and_rows),
		cmocka_unit_test(test_module_basics),
		cmocka_unit_test(test_jit_map),
		cmocka_unit_test(test_jit_zero_sizes),
		cmocka_unit_test(test_stripped_function_start),
		cmocka_unit_test(test_symbol_cache),
		cmocka_unit_test(test_vdso_and_kernel),
		cmocka_unit_test(test_space),
		cmocka_unit_test(test_mapping_to_rel),
		cmocka_unit_test(test_lines_short_header),
		cmocka_unit_test(test_lines_sleb_and_wrap),
		cmocka_unit_test(test_unwind_info_bad_debug_frame),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
