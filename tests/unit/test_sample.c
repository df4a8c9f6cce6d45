/* test_sample.c - lib/sample's recorder: the machine code it stores at the
 * end of a recording (for annotate).  Records the cpu_split fixture
 * ($FIXTURES, default build/fixtures) through the library, reads the file
 * back and compares the stored code with the binary.  Skips when the
 * fixture is missing or sampling is not allowed here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/data.h"
#include "proc/proc.h"
#include "profile/profile.h"
#include "sample/sample.h"

static char fixture[PATH_MAX];
static char outpath[256];

static int setup(void **state)
{
	(void)state;
	const char *fx = getenv("FIXTURES");
	char rel[900];
	snprintf(rel, sizeof(rel), "%s/cpu_split_nofp", fx && *fx ? fx : "build/fixtures");
	/* mappings carry the kernel's absolute path */
	if (!realpath(rel, fixture))
		snprintf(fixture, sizeof(fixture), "%s", rel);
	snprintf(outpath, sizeof(outpath), "%s/cprof-test-sample.%d.data",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(outpath);
	char old[300];
	snprintf(old, sizeof(old), "%s.old", outpath);
	unlink(old);
	return 0;
}

/* Record `cpu_split_nofp 300` with the given code cap and read the file
 * back; NULL (and a skip) when sampling is not possible here. */
static struct cp_profile *record(uint64_t code_max)
{
	if (access(fixture, X_OK) != 0)
		return NULL;
	char rounds[] = "300";
	char *argv[] = { fixture, rounds, NULL };
	struct cp_record_opts o;
	cp_record_opts_init(&o);
	o.output = outpath;
	o.code_max = code_max;
	o.command_line = fixture;
	struct cp_error err = { 0 };
	struct cp_child child;
	assert_int_equal(cp_proc_spawn(argv, &child, &err), 0);
	struct cp_recorder *r = cp_recorder_new(&o, &err);
	assert_non_null(r);
	if (cp_recorder_add_target(r, child.pid, &err)) {
		print_message("cannot sample here: %s\n", err.msg);
		kill(child.pid, SIGKILL);
		waitpid(child.pid, NULL, 0);
		cp_proc_close(&child);
		cp_recorder_free(r);
		return NULL;
	}
	assert_int_equal(cp_proc_release(&child, argv, &err), 0);
	int status = 0;
	bool exited = false;
	while (!exited) {
		struct pollfd fds[260];
		int n = cp_recorder_pollfds(r, fds, 256);
		poll(fds, (nfds_t)n, 50);
		assert_int_equal(cp_recorder_process(r, &err), 0);
		if (cp_recorder_reaped(r, child.pid, &status))
			exited = true;
		else if (cp_proc_try_wait(&child, &status))
			exited = true;
	}
	assert_int_equal(cp_recorder_finish(r, 0, &err), 0);
	cp_recorder_free(r);
	cp_proc_close(&child);
	struct cp_profile *p = NULL;
	if (cp_data_read(outpath, &p, &err))
		fail_msg("cannot read the recording: %s", err.msg);
	return p;
}

/* st_value, st_size and the file bytes of a function symbol. */
static uint8_t *elf_function(const char *file, const char *name, uint64_t *value, uint64_t *size)
{
	elf_version(EV_CURRENT);
	int fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	bool found = false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
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
	assert_true(found);
	uint8_t *bytes = NULL;
	size_t n = 0;
	assert_int_equal(elf_getphdrnum(e, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    *value >= ph.p_vaddr && *value + *size <= ph.p_vaddr + ph.p_filesz) {
			bytes = cp_xmalloc(*size);
			assert_int_equal(pread(fd, bytes, *size, (off_t)(*value - ph.p_vaddr +
									  ph.p_offset)),
					 (ssize_t)*size);
		}
	}
	elf_end(e);
	close(fd);
	assert_non_null(bytes);
	return bytes;
}

/* The stored code of the function named `name`, or NULL. */
static const struct cp_profile_code *code_of(const struct cp_profile *p, const char *name,
					     size_t *index)
{
	for (size_t i = 0; i < p->code.n; i++)
		if (!strcmp(p->functions.v[p->code.v[i].function].name, name)) {
			if (index)
				*index = i;
			return &p->code.v[i];
		}
	return NULL;
}

/* Samples whose leaf frame is in the function called name. */
static size_t leaf_samples(const struct cp_profile *p, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		uint32_t len;
		const uint32_t *locs = cp_profile_stack_locs(p, p->samples.v[i].stack, &len);
		if (!len)
			continue;
		const struct cp_profile_location *l = &p->locations.v[locs[0]];
		for (uint32_t j = 0; j < l->nlines; j++)
			n += !strcmp(p->functions.v[p->lines.v[l->line_start + j].function].name, name);
	}
	return n;
}

static void test_code_stored(void **state)
{
	(void)state;
	struct cp_profile *p = record(CP_RECORD_CODE_MAX);
	if (!p)
		skip();
	assert_int_equal(p->meta.code_max, 8u << 20);
	assert_int_equal(p->meta.code_skipped, 0);
	uint64_t value = 0, size = 0;
	uint8_t *bytes = elf_function(fixture, "hot_sixty", &value, &size);
	size_t idx;
	const struct cp_profile_code *c = code_of(p, "hot_sixty", &idx);
	assert_non_null(c);
	/* the most leaf samples: stored first */
	assert_int_equal(idx, 0);
	assert_string_equal(p->mappings.v[c->mapping].path, fixture);
	assert_int_equal(c->address, value);
	assert_int_equal(c->size, size);
	assert_memory_equal(p->code_bytes.v + c->bytes_start, bytes, size);
	free(bytes);
	/* rows: from the function's start, inside it, in cpu_split.c lines 10-14 */
	assert_true(c->nlines >= 2);
	for (uint32_t j = 0; j < c->nlines; j++) {
		const struct cp_profile_code_line *l = &p->code_lines.v[c->line_start + j];
		if (j == 0)
			assert_int_equal(l->address, value);
		else
			assert_true(l->address > p->code_lines.v[c->line_start + j - 1].address);
		assert_true(l->address < value + size);
		const char *base = strrchr(l->file, '/');
		assert_string_equal(base ? base + 1 : l->file, "cpu_split.c");
		assert_true(l->line >= 10 && l->line <= 14);
	}
	/* the other leaves are there too, once each; _start is a caller, so
	 * its code is not stored (unless a sample hit its own few
	 * instructions, which happens about once in a dozen runs) */
	assert_non_null(code_of(p, "hot_thirty", NULL));
	assert_non_null(code_of(p, "hot_ten", NULL));
	if (!leaf_samples(p, "_start"))
		assert_null(code_of(p, "_start", NULL));
	for (size_t i = 0; i < p->code.n; i++)
		for (size_t j = i + 1; j < p->code.n; j++)
			assert_false(p->code.v[i].function == p->code.v[j].function &&
				     !strcmp(p->mappings.v[p->code.v[i].mapping].path,
					     p->mappings.v[p->code.v[j].mapping].path));
	cp_profile_free(p);
}

static void test_code_cap(void **state)
{
	(void)state;
	struct cp_profile *p = record(0);
	if (!p)
		skip();
	assert_int_equal(p->code.n, 0);
	assert_int_equal(p->meta.code_max, 0);
	/* hot_sixty, hot_thirty, hot_ten at least */
	assert_true(p->meta.code_skipped >= 3);
	cp_profile_free(p);

	/* 100 bytes: the two hottest 45-byte functions fit, the cap stops at
	 * the third */
	p = record(100);
	assert_non_null(p);
	assert_int_equal(p->meta.code_max, 100);
	assert_int_equal(p->code.n, 2);
	assert_non_null(code_of(p, "hot_sixty", NULL));
	assert_non_null(code_of(p, "hot_thirty", NULL));
	assert_true(p->meta.code_skipped >= 1);
	cp_profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_stored),
		cmocka_unit_test(test_code_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
