/* symbolize.c - `cprof symbolize [-afiCsp] -e FILE [ADDR...]`: addresses to
 * functions, files and lines, with output byte-identical to binutils'
 * addr2line for the same flags.  The lookup is lib/symbol; this file reads
 * addresses and formats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "core/core.h"
#include "symbol/symbol.h"

static const char *const usage[] = {
	"cprof symbolize [-a] [-f] [-i] [-C] [-s] [-p] [-e <file>] [--debug-dir <dir>] [<address>...]",
	NULL,
};

static bool addresses, functions, inlines, demangle, basenames, pretty;
static const char *exe = "a.out";
static const char *debug_dir;

static const struct cp_option options[] = {
	CP_OPT_FLAG_('a', "addresses", "print each address before its symbols", &addresses),
	CP_OPT_FLAG_('f', "functions", "print function names", &functions),
	CP_OPT_FLAG_('i', "inlines", "print the inline frames that contain each address", &inlines),
	CP_OPT_FLAG_('C', "demangle", "demangle C++ and Rust names", &demangle),
	CP_OPT_FLAG_('s', "basenames", "strip directories from file names", &basenames),
	CP_OPT_FLAG_('p', "pretty-print", "one line per address, readable", &pretty),
	CP_OPT_STR_('e', "exe", "FILE", "the ELF file to symbolize against (default a.out)", &exe,
		    "file"),
	CP_OPT_STR_(0, "debug-dir", "DIR",
		    "where separate debug files live (default /usr/lib/debug)", &debug_dir, "dir"),
	CP_OPT_END_,
};

/* Output goes through one big buffer: formatting is the hot loop. */
struct out {
	char buf[1 << 16];
	size_t len;
};

static void out_flush(struct out *o)
{
	if (o->len)
		fwrite(o->buf, 1, o->len, stdout);
	o->len = 0;
	fflush(stdout);
}

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		fwrite(o->buf, 1, o->len, stdout);
		o->len = 0;
		if (n > sizeof(o->buf)) {
			fwrite(s, 1, n, stdout);
			return;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_uint(struct out *o, unsigned long v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(o, tmp + sizeof(tmp) - n, (size_t)n);
}

static void out_hex(struct out *o, uint64_t v, int digits)
{
	static const char hx[] = "0123456789abcdef";
	char tmp[16];
	for (int i = digits - 1; i >= 0; i--) {
		tmp[i] = hx[v & 15];
		v >>= 4;
	}
	out_mem(o, tmp, (size_t)digits);
}

static const char *shown_file(const char *file)
{
	if (!file)
		return "??";
	if (basenames) {
		const char *sl = strrchr(file, '/');
		if (sl)
			return sl + 1;
	}
	return file;
}

/* One address, formatted as addr2line's translate_addresses() does.  Its
 * discriminator is the innermost frame's, repeated on the inline callers
 * (addr2line keeps it in one variable across the loop). */
static void translate(struct out *o, struct cp_module *m, uint64_t pc, int bits)
{
	struct cp_symbol_frame fr[64];
	if (bits == 32)
		pc &= 0xffffffffu;
	if (addresses) {
		out_str(o, "0x");
		out_hex(o, pc, bits / 4);
		out_str(o, pretty ? ": " : "\n");
	}
	int n = m ? cp_module_lookup(m, pc, fr, (int)CP_ARRAY_SIZE(fr)) : 0;
	if (n <= 0) {
		if (functions)
			out_str(o, pretty ? "?? " : "??\n");
		out_str(o, "??:0\n");
		return;
	}
	if (!inlines)
		n = 1;
	unsigned discr = fr[0].discriminator;
	for (int i = 0; i < n; i++) {
		if (i && pretty)
			out_str(o, " (inlined by) ");
		if (functions) {
			out_str(o, fr[i].name ? fr[i].name : "??");
			out_str(o, pretty ? " at " : "\n");
		}
		out_str(o, shown_file(fr[i].file));
		out_mem(o, ":", 1);
		if (fr[i].line) {
			out_uint(o, (unsigned)fr[i].line);
			if (discr) {
				out_str(o, " (discriminator ");
				out_uint(o, discr);
				out_mem(o, ")", 1);
			}
		} else {
			out_mem(o, "?", 1);
		}
		out_mem(o, "\n", 1);
	}
}

/* Reads stdin in blocks; output is flushed before every read that may
 * block, so a process driving us through pipes (one address at a time, as
 * perf does with addr2line) always gets its answer. */
static int run_stdin(struct out *o, struct cp_module *m, int bits)
{
	static char buf[1 << 16];
	size_t pos = 0, have = 0; /* unread bytes are buf[pos, have) */
	bool eof = false;
	while (!eof || pos < have) {
		size_t left = have - pos;
		char *p = buf + pos;
		char *nl = left ? memchr(p, '\n', CP_MIN(left, 99)) : NULL;
		/* addr2line reads with fgets into 100 bytes: longer lines split */
		size_t take;
		if (nl)
			take = (size_t)(nl - p) + 1;
		else if (left >= 99)
			take = 99;
		else if (eof)
			take = left;
		else
			take = 0;
		if (take) {
			char line[100];
			memcpy(line, p, take);
			line[take] = '\0';
			pos += take;
			translate(o, m, strtoul(line, NULL, 16), bits);
			continue;
		}
		memmove(buf, p, left);
		pos = 0;
		have = left;
		out_flush(o);
		ssize_t r = read(0, buf + have, sizeof(buf) - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			cmd_error("symbolize", "cannot read standard input: %s", strerror(errno));
			return 1;
		}
		if (r == 0)
			eof = true;
		have += (size_t)r;
	}
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	int first;
	int rc = cp_opt_parse("symbolize", usage, options, argc, argv, false, &first);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct cp_symbol_opts so;
	cp_symbol_opts_init(&so);
	so.demangle = demangle;
	so.inlines = true;
	so.addr2line_compat = true;
	if (debug_dir)
		so.debug_dir = debug_dir;
	struct cp_symbolizer *s = cp_symbolizer_new(&so);
	struct cp_error err = { 0 };
	struct cp_module *m = cp_symbolizer_open(s, exe, NULL, NULL, &err);
	if (!m) {
		cmd_error("symbolize", "%s", err.msg);
		cp_symbolizer_free(s);
		return 1;
	}
	if (cp_module_kind(m) != CP_MODULE_ELF) {
		/* pseudo-modules ([vdso], [kernel.kallsyms], JIT maps) have
		 * no file:line, but the same output shape works for them */
		cp_log(CP_LOG_INFO, "'%s' is a pseudo-module: function names only", exe);
	}
	int bits = cp_module_addr_bits(m);
	struct out *o = cp_xmalloc(sizeof(*o));
	o->len = 0;
	rc = 0;
	if (first < argc) {
		for (int i = first; i < argc; i++)
			translate(o, m, strtoul(argv[i], NULL, 16), bits);
	} else {
		rc = run_stdin(o, m, bits);
	}
	out_flush(o);
	free(o);
	cp_symbolizer_free(s);
	return rc;
}
