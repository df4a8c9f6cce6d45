/* flamejson.c - a profile's flame-graph tree as JSON (the store's
 * profile.json): {"name": "root", "value": N, "children": [...]}, each
 * node {"name", "value", "self", "module"?}, children by value, callers
 * above callees; nodes under a minimum share are pruned server-side so a
 * browser never draws frames narrower than a pixel.  "top" holds the
 * functions with the most self weight over the whole profile, pruned
 * nodes included, so that a page's table is exact. */
#include <jansson.h>
#include <stdlib.h>

#include "format/format.h"
#include "profile/profile.h"

/* rows of "top": a table nobody scrolls further */
#define FLAME_JSON_TOP 1000

int cp_format_flame_json_write(FILE *out, struct cp_view *v, double min_percent, const char *what,
			       struct cp_error *err)
{
	struct cp_view_tree *t = cp_view_tree(v, false, min_percent);
	json_t *root = json_pack("{s:s, s:I, s:I, s:[]}", "name", "root", "value",
				 (json_int_t)t->total, "hidden", (json_int_t)t->hidden, "children");
	json_t **made = calloc(t->n + 1, sizeof(*made));
	if (!root || !made) {
		free(made);
		json_decref(root);
		cp_view_tree_free(t);
		return cp_error_set(err, CP_E_FAIL, "%s: out of memory", what);
	}
	struct cp_view_top *top = cp_view_top(v, 0);
	json_t *tops = json_array();
	for (size_t i = 0; top && i < top->nrows && i < FLAME_JSON_TOP; i++) {
		const struct cp_view_row *row = &top->rows[i];
		json_t *o = json_pack("{s:s, s:I, s:I}", "name", row->name ? row->name : "?",
				      "self", (json_int_t)row->self, "total", (json_int_t)row->total);
		if (o && row->module && *row->module)
			json_object_set_new(o, "module", json_string(row->module));
		json_array_append_new(tops, o);
	}
	if (top)
		cp_view_top_free(top);
	json_object_set_new(root, "top", tops);
	/* pre-order: a parent is made before its children */
	for (size_t i = 0; i < t->n; i++) {
		const struct cp_view_node *n = &t->nodes[i];
		json_t *o = json_pack("{s:s, s:I, s:I}", "name", n->name ? n->name : "?", "value",
				      (json_int_t)n->total, "self", (json_int_t)n->self);
		if (o && n->module && *n->module)
			json_object_set_new(o, "module", json_string(n->module));
		json_t *parent = n->parent == CP_NONE ? root : made[n->parent];
		json_t *kids = json_object_get(parent, "children");
		if (!kids) {
			kids = json_array();
			json_object_set_new(parent, "children", kids);
		}
		json_array_append_new(kids, o);
		made[i] = o;
	}
	int rc = json_dumpf(root, out, JSON_COMPACT) ? CP_E_IO : 0;
	if (!rc && fputc('\n', out) == EOF)
		rc = CP_E_IO;
	free(made);
	json_decref(root);
	cp_view_tree_free(t);
	if (rc)
		return cp_error_set(err, CP_E_IO, "%s: cannot be written", what);
	return 0;
}
