/* fuzz_serve_config.c - libFuzzer harness for cprof serve's INI config
 * (lib/serve/config.c): any text must give a config or an error naming
 * the line, never a crash, leak or out-of-bounds read.
 * Seeds: tests/fuzz/corpus/serve_config/.
 *
 * The input (a NUL-terminated copy) is read over the defaults.  A config
 * that reads is printed as --print-config does; that text must read back
 * into a fresh config that prints the same, and a deep copy must print
 * the same too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static char *print(const struct cp_serve_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	CHECK(f != NULL);
	cp_serve_config_print(f, c);
	CHECK(fclose(f) == 0);
	return buf;
}

static void same(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen == blen && !memcmp(a, b, alen))
		return;
	fprintf(stderr, "---- printed first:\n%s\n---- printed after reading it back:\n%s\n", a,
		b);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct cp_serve_config c;
	struct cp_error err = { 0 };
	cp_serve_config_init(&c);
	if (cp_serve_config_parse(&c, text, "fuzz.ini", &err)) {
		CHECK(err.code != 0);
		CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		CHECK(!strncmp(err.msg, "fuzz.ini", 8));
		cp_serve_config_release(&c);
		free(text);
		return 0;
	}
	size_t len1, len2, len3;
	char *p1 = print(&c, &len1);

	struct cp_serve_config back;
	cp_serve_config_init(&back);
	if (cp_serve_config_parse(&back, p1, "printed.ini", &err)) {
		fprintf(stderr, "---- printed:\n%s\n---- does not read back: %s\n", p1, err.msg);
		abort();
	}
	char *p2 = print(&back, &len2);
	same(p1, len1, p2, len2);

	struct cp_serve_config copy;
	cp_serve_config_copy(&copy, &c);
	char *p3 = print(&copy, &len3);
	same(p1, len1, p3, len3);

	free(p1);
	free(p2);
	free(p3);
	cp_serve_config_release(&copy);
	cp_serve_config_release(&back);
	cp_serve_config_release(&c);
	free(text);
	return 0;
}
