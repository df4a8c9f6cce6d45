/* peek.c - callers and callees of one frame (pprof's -peek), over a view.
 *
 * Frames are matched by (name, module), as the top table merges its rows,
 * so two static functions of the same name in one module are one entry
 * here as they are one row there.  Each sample counts once per edge even
 * when the frame recurs (pprof does the same), so no entry exceeds the
 * frame's total.  This file does not render anything.
 */
#include "profile/profile.h"

#include <stdlib.h>
#include <string.h>

struct peek_acc {
	CP_VEC(struct cp_view_peek_entry) v;
	struct cp_intern index; /* (name, module) pointers -> entry */
	CP_VEC(uint32_t) seen;  /* per entry: the last group counted (+1) */
};

static bool same_frame(const struct cp_view_frame *a, const struct cp_view_frame *b)
{
	return a == b || (!strcmp(a->name, b->name) && !strcmp(a->module, b->module));
}

/* Add group g's weight to the entry of frame fid, once per group. */
static void acc_add(struct peek_acc *a, struct cp_view *v, uint32_t fid, uint32_t g,
		    const struct cp_view_group *grp)
{
	const struct cp_view_frame *f = cp_view_frame(v, fid);
	const char *key[2] = { f->name, f->module };
	bool added;
	uint32_t e = cp_intern_add(&a->index, key, sizeof(key), &added);
	if (added) {
		struct cp_view_peek_entry pe = { .frame = fid, .name = f->name, .module = f->module };
		CP_VEC_PUSH(a->v, pe);
		CP_VEC_PUSH(a->seen, 0);
	}
	if (a->seen.v[e] == g + 1)
		return;
	a->seen.v[e] = g + 1;
	a->v.v[e].weight += grp->weight;
	a->v.v[e].samples += grp->samples;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct cp_view_peek_entry *a = pa, *b = pb;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	int c = strcmp(a->name, b->name);
	return c ? c : strcmp(a->module, b->module);
}

static struct cp_view_peek_entry *acc_finish(struct peek_acc *a, size_t *n)
{
	if (a->v.n)
		qsort(a->v.v, a->v.n, sizeof(*a->v.v), entry_cmp);
	*n = a->v.n;
	struct cp_view_peek_entry *out = a->v.v;
	cp_intern_release(&a->index);
	CP_VEC_FREE(a->seen);
	return out;
}

struct cp_view_peek *cp_view_peek(struct cp_view *v, uint32_t frame)
{
	struct cp_view_peek *pk = cp_xcalloc(1, sizeof(*pk));
	const struct cp_view_frame *target = cp_view_frame(v, frame);
	/* copy: cp_view_stack_frames may move the frame array */
	struct cp_view_frame t = *target;
	pk->frame = frame;
	pk->name = t.name;
	pk->module = t.module;
	pk->view_total = cp_view_total(v);
	pk->view_total_samples = cp_view_total_samples(v);
	struct peek_acc up, down;
	memset(&up, 0, sizeof(up));
	memset(&down, 0, sizeof(down));
	cp_intern_init(&up.index);
	cp_intern_init(&down.index);
	size_t ng;
	const struct cp_view_group *groups = cp_view_groups(v, &ng);
	for (size_t gi = 0; gi < ng; gi++) {
		const struct cp_view_group *g = &groups[gi];
		uint32_t n;
		const struct cp_view_stack_frame *sf = cp_view_stack_frames(v, g->stack, &n);
		bool in = false, root = false;
		for (uint32_t i = 0; i < n; i++) {
			if (!same_frame(cp_view_frame(v, sf[i].frame), &t))
				continue;
			in = true;
			if (i + 1 < n)
				acc_add(&up, v, sf[i + 1].frame, (uint32_t)gi, g);
			else
				root = true;
			if (i > 0)
				acc_add(&down, v, sf[i - 1].frame, (uint32_t)gi, g);
			/* the array may have moved: re-fetch it */
			sf = cp_view_stack_frames(v, g->stack, &n);
		}
		if (!in)
			continue;
		pk->total += g->weight;
		pk->total_samples += g->samples;
		if (root)
			pk->root += g->weight;
		if (same_frame(cp_view_frame(v, sf[0].frame), &t)) {
			pk->self += g->weight;
			pk->self_samples += g->samples;
		}
	}
	pk->callers = acc_finish(&up, &pk->ncallers);
	pk->callees = acc_finish(&down, &pk->ncallees);
	return pk;
}

void cp_view_peek_free(struct cp_view_peek *pk)
{
	if (!pk)
		return;
	free(pk->callers);
	free(pk->callees);
	free(pk);
}
