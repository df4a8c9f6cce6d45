/* fuzz_symbol.c - libFuzzer harness for lib/symbol: a damaged or hostile
 * ELF file or JIT map must give answers or errors, never a crash, leak or
 * out-of-bounds read.  Seeds: tests/fuzz/corpus/symbol/.
 *
 * The first input byte is a mode byte, the rest the file:
 *  - bit 0 clear: an ELF file, written to a memfd and opened through
 *    /proc/self/fd/N; looked up at addresses spread over its loadable
 *    segments, plus its unwind tables and segment reads;
 *  - bit 0 set: a perf-PID.map text, written to /tmp/perf-N.map; the part
 *    after the first NUL byte (if any) is appended after the first
 *    lookups, so that the reload of a growing map runs too;
 *  - bit 1: opts.addr2line_compat, bit 2: no inline frames, bit 3: no
 *    demangling.
 * The debug directory points nowhere, so no file of the host machine is
 * read by build-id.
 *
 * Seeds (mode byte + file): tiny -nostdlib -static programs built with
 * gcc -g (DWARF 5), -gdwarf-4, -gdwarf-2 -gstrict-dwarf, -gz (compressed
 * sections), -fno-asynchronous-unwind-tables (.debug_frame), -m32, g++
 * (templates, a lambda), clang -gdwarf-5, a small shared object and an
 * objcopy --only-keep-debug file; linked with -z noseparate-code
 * -z max-page-size=0x1000 -z norelro to stay a few KiB.  Plus two JIT maps.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbol/symbol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch_str(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void lookup(struct cp_module *m, uint64_t addr)
{
	struct cp_symbol_frame fr[16];
	int n = cp_module_lookup(m, addr, fr, (int)(addr % 3 == 0 ? 1 : 16));
	for (int i = 0; i < n; i++) {
		touch_str(fr[i].name);
		touch_str(fr[i].system_name);
		touch_str(fr[i].file);
		sink += (size_t)fr[i].line + fr[i].discriminator + fr[i].sym_start;
	}
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void fuzz_elf(const struct cp_symbol_opts *o, const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_symbol", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (!write_all(fd, data, size))
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct cp_symbolizer *s = cp_symbolizer_new(o);
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, path, NULL, NULL, &err);
	if (m) {
		touch_str(cp_module_build_id(m));
		sink += (size_t)cp_module_addr_bits(m);
		/* addresses spread over the loadable segments, then a few fixed */
		for (uint64_t off = 0; off < size + 64; off += 48) {
			uint64_t va;
			if (cp_module_offset_to_vaddr(m, off, &va) == 0) {
				lookup(m, va);
				lookup(m, va + 1);
			}
		}
		static const uint64_t fixed[] = { 0,      1,          0x400000,       0x401000,
						  0x1000, UINT64_MAX, UINT64_MAX - 1, 1ull << 63 };
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			lookup(m, fixed[i]);

		struct cp_module_unwind_info ui;
		if (cp_module_unwind_info(m, &ui) == 0) {
			uint8_t buf[64];
			if (ui.debug_image && ui.debug_frame_size) {
				/* both ends of .debug_frame must lie in the image */
				uint64_t last = ui.debug_frame_offset + ui.debug_frame_size - 1;
				sink += ui.debug_image[ui.debug_frame_offset] +
					ui.debug_image[last];
			}
			const uint64_t at[] = { ui.eh_frame_hdr, ui.eh_frame, ui.text_start,
						ui.text_end - 1,
						ui.text_start + ui.eh_frame_hdr_size };
			for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
				for (size_t len = 1; len <= sizeof(buf); len *= 4)
					if (cp_module_read(m, at[i], buf, len) == 0)
						sink += buf[len - 1];
		}
		/* the cache hands back the same module */
		if (cp_symbolizer_open(s, path, NULL, NULL, NULL) != m)
			abort();
	} else {
		touch_str(err.msg);
	}
	cp_symbolizer_free(s);
	close(fd);
}

/* Look up each line's start address (and its neighbours). */
static void lookup_jit_lines(struct cp_module *m, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint64_t v = 0;
		size_t j = i;
		for (; j < n && j - i < 16; j++) {
			int c = p[j], d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if ((c | 32) >= 'a' && (c | 32) <= 'f')
				d = (c | 32) - 'a' + 10;
			else
				break;
			v = v << 4 | (uint64_t)d;
		}
		lookup(m, v);
		lookup(m, v - 1);
		lookup(m, v + 1);
		const uint8_t *nl = memchr(p + j, '\n', n - j);
		if (!nl)
			break;
		i = (size_t)(nl - p) + 1;
	}
}

static void fuzz_jit(const struct cp_symbol_opts *o, const uint8_t *data, size_t size)
{
	static unsigned counter;
	char path[64];
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		snprintf(path, sizeof(path), "/tmp/perf-%d%09u.map",
			 4000000 + (int)getpid() % 1000000, counter++ % 1000000000u);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		abort();
	const uint8_t *nul = memchr(data, '\0', size);
	size_t first = nul ? (size_t)(nul - data) : size;
	if (!write_all(fd, data, first))
		abort();
	struct cp_symbolizer *s = cp_symbolizer_new(o);
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, path, NULL, NULL, &err);
	if (m) {
		if (cp_module_kind(m) != CP_MODULE_JIT)
			abort();
		lookup_jit_lines(m, data, first);
		lookup(m, 0);
		lookup(m, UINT64_MAX);
		if (nul) {
			/* the map grows: a miss reads it again, earlier names live on */
			struct cp_symbol_frame fr[4];
			int n0 = cp_module_lookup(m, 0x1000, fr, 4);
			if (!write_all(fd, nul + 1, size - first - 1))
				abort();
			lookup_jit_lines(m, nul + 1, size - first - 1);
			lookup_jit_lines(m, data, first);
			for (int i = 0; i < n0; i++)
				touch_str(fr[i].name);
		}
	} else {
		touch_str(err.msg);
	}
	cp_symbolizer_free(s);
	close(fd);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct cp_symbol_opts o;
	cp_symbol_opts_init(&o);
	o.debug_dir = "/nonexistent/cprof-fuzz-debug";
	o.addr2line_compat = data[0] & 2;
	o.inlines = !(data[0] & 4);
	o.demangle = !(data[0] & 8);
	if (data[0] & 1)
		fuzz_jit(&o, data + 1, size - 1);
	else
		fuzz_elf(&o, data + 1, size - 1);
	return 0;
}
