/* folded.c - folded stacks, the input of FlameGraph's flamegraph.pl (and of
 * `cprof flame`): "root;caller;leaf COUNT" per distinct stack.
 *
 * Stacks come from a view (filters, inline handling and weights are the
 * view's); this file only renders frame names, merges stacks whose text
 * is equal and sorts the lines.  It does not read folded input.
 */
#include "format/format.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Frame names must not contain the separators of the format. */
static void add_name(struct cp_buf *b, const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r')
			c = ' ';
		cp_buf_add_u8(b, (uint8_t)c);
	}
}

struct folded_line {
	uint64_t samples;
	int64_t weight;
};

static int line_cmp(const void *pa, const void *pb, void *arg)
{
	const struct cp_intern *texts = arg;
	return strcmp(cp_intern_get(texts, *(const uint32_t *)pa),
		      cp_intern_get(texts, *(const uint32_t *)pb));
}

int cp_format_folded_write(FILE *out, struct cp_view *v, const struct cp_folded_opts *o,
			   const char *what, struct cp_error *err)
{
	struct cp_intern texts;
	CP_VEC(struct folded_line) lines = { 0 };
	struct cp_buf b = { 0 };
	size_t ng;
	const struct cp_view_group *g = cp_view_groups(v, &ng);
	cp_intern_init(&texts);
	for (size_t i = 0; i < ng; i++) {
		uint32_t n;
		const struct cp_view_stack_frame *fr = cp_view_stack_frames(v, g[i].stack, &n);
		b.len = 0;
		for (uint32_t k = n; k-- > 0;) {
			add_name(&b, cp_view_frame(v, fr[k].frame)->name);
			if (k)
				cp_buf_add_u8(&b, ';');
		}
		bool added;
		uint32_t id = cp_intern_add(&texts, b.p, b.len, &added);
		if (added) {
			struct folded_line l = { 0 };
			CP_VEC_PUSH(lines, l);
		}
		lines.v[id].samples += g[i].samples;
		lines.v[id].weight += g[i].weight;
	}
	uint32_t *order = cp_xmalloc((lines.n + 1) * sizeof(*order));
	for (size_t i = 0; i < lines.n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, lines.n, sizeof(*order), line_cmp, &texts);
	bool weights = o && o->weights;
	for (size_t i = 0; i < lines.n; i++) {
		const struct folded_line *l = &lines.v[order[i]];
		if (weights)
			fprintf(out, "%s %" PRId64 "\n", cp_intern_get(&texts, order[i]),
				l->weight);
		else
			fprintf(out, "%s %" PRIu64 "\n", cp_intern_get(&texts, order[i]),
				l->samples);
	}
	free(order);
	CP_VEC_FREE(lines);
	cp_buf_release(&b);
	cp_intern_release(&texts);
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}
