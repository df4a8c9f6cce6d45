/* text.c - the plain-text report: the "# " header describing a recording,
 * the top table and the call tree.
 *
 * The layout is a contract (tests and users' scripts parse it), documented
 * in format.h.  This file formats what lib/profile's views computed; it
 * does not aggregate and does not decide which rows to show beyond the
 * row limit.
 */
#include "format/format.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static int check_stream(FILE *out, const char *what, struct cp_error *err)
{
	if (ferror(out))
		return cp_error_set(err, CP_E_IO, "cannot write to %s", what ? what : "output");
	return 0;
}

static double pct(int64_t w, int64_t total)
{
	return total ? (double)w * 100.0 / (double)total : 0.0;
}

static void add_list_u32(char *buf, size_t size, size_t *len, const char *name, const uint32_t *v,
			 size_t n)
{
	if (!n)
		return;
	*len += (size_t)snprintf(buf + *len, *len < size ? size - *len : 0,
				 "%s%s=", *len ? ", " : "", name);
	for (size_t i = 0; i < n; i++)
		*len += (size_t)snprintf(buf + *len, *len < size ? size - *len : 0, "%s%u",
					 i ? "," : "", v[i]);
}

const char *cp_format_filter_desc(const struct cp_view_filter *f, char *buf, size_t size)
{
	size_t len = 0;
	if (size)
		buf[0] = '\0';
	add_list_u32(buf, size, &len, "pid", f->pids, f->npids);
	add_list_u32(buf, size, &len, "tid", f->tids, f->ntids);
	if (f->ncomms) {
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
					"%scomm=", len ? ", " : "");
		for (size_t i = 0; i < f->ncomms; i++)
			len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
						i ? "," : "", f->comms[i]);
	}
	if (f->user_only && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%suser-only", len ? ", " : "");
	if (f->cpu_state == CP_VIEW_ON_CPU || f->cpu_state == CP_VIEW_OFF_CPU)
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
					len ? ", " : "",
					f->cpu_state == CP_VIEW_ON_CPU ? "on-cpu" : "off-cpu");
	return buf;
}

/* "# recorded: DATE UTC on HOST (Linux REL, ARCH), duration D s", with
 * the unknown parts left out (the whole line when nothing is known). */
static void header_recorded(FILE *out, const struct cp_profile_meta *m)
{
	char date[64] = "";
	if (m->time_nanos) {
		time_t t = (time_t)(m->time_nanos / 1000000000u);
		struct tm tm;
		if (!gmtime_r(&t, &tm) ||
		    !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm))
			date[0] = '\0';
	}
	if (!date[0] && !m->hostname[0] && !m->os_release[0] && !m->arch[0] && !m->duration_nanos)
		return;
	const char *sep = "";
	fputs("# recorded:", out);
	if (date[0]) {
		fprintf(out, " %s", date);
		sep = ",";
	}
	if (m->hostname[0]) {
		fprintf(out, " on %s", m->hostname);
		sep = ",";
	}
	if (m->os_release[0] || m->arch[0]) {
		fprintf(out, " (%s%s%s%s)", m->os_release[0] ? "Linux " : "", m->os_release,
			m->os_release[0] && m->arch[0] ? ", " : "", m->arch);
		sep = ",";
	}
	if (m->duration_nanos)
		fprintf(out, "%s duration %.2f s", sep, (double)m->duration_nanos / 1e9);
	fputc('\n', out);
}

/* "# event: E at F Hz, call graph: dwarf (stack copy N bytes), sampler: S" */
static void header_event(FILE *out, const struct cp_profile_meta *m)
{
	const char *sep = "";
	if (!m->event[0] && !m->callgraph[0] && !m->sampler[0])
		return;
	fputs("#", out);
	if (m->event[0]) {
		fprintf(out, " event: %s", m->event);
		if (!strcmp(m->event, "malloc"))
			fprintf(out, m->period > 1 ? " (sampled every %" PRIu64 " bytes on average)"
						   : " (every call)",
				m->period);
		else if (m->freq)
			fprintf(out, " at %u Hz", m->freq);
		else if (m->period)
			fprintf(out, " every %" PRIu64, m->period);
		sep = ",";
	}
	if (m->callgraph[0]) {
		fprintf(out, "%s call graph: %s", sep, m->callgraph);
		if (!strcmp(m->callgraph, "dwarf") && m->stack_size)
			fprintf(out, " (stack copy %u bytes)", m->stack_size);
		sep = ",";
	}
	if (m->sampler[0])
		fprintf(out, "%s sampler: %s", sep, m->sampler);
	fputc('\n', out);
}

const char *cp_format_bytes(double b, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while ((b >= 1024 || b <= -1024) && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
	return buf;
}

/* A heap recording (cprof heap): the totals of every value type, where
 * the allocation calls come from (the module of the function that made
 * the call: the program's own code apart from libc's and the loader's),
 * and the value the table shows. */
static void header_heap(FILE *out, const struct cp_view *v)
{
	const struct cp_profile *p = cp_view_profile(v);
	static const char *const names[] = { "alloc_objects", "alloc_space", "inuse_objects",
					     "inuse_space", "peak_objects", "peak_space",
					     "temp_objects" };
	uint32_t idx[CP_ARRAY_SIZE(names)];
	for (size_t k = 0; k < CP_ARRAY_SIZE(names); k++)
		if ((idx[k] = cp_profile_value_index(p, names[k])) == CP_NONE)
			return;
	double tot[CP_ARRAY_SIZE(names)] = { 0 };
	for (size_t i = 0; i < p->samples.n; i++) {
		const int64_t *val = cp_profile_sample_values(p, i);
		for (size_t k = 0; k < CP_ARRAY_SIZE(names); k++)
			tot[k] += (double)val[idx[k]];
	}
	const char *est = p->meta.period > 1 ? "~" : "";
	char a[32], b[32], c[32];
	fprintf(out,
		"# heap: %s%.0f allocation calls (%s); peak %s in %s%.0f blocks; "
		"live at exit %s in %s%.0f blocks; %s%.0f temporary; %" PRIu64 " records lost\n",
		est, tot[0], cp_format_bytes(tot[1], a, sizeof(a)), cp_format_bytes(tot[5], b, sizeof(b)), est,
		tot[4], cp_format_bytes(tot[3], c, sizeof(c)), est, tot[2], est, tot[6],
		p->meta.lost_records);
	if (!strcmp(p->meta.sampler, "attach"))
		fputs("# attached to a running process: what it allocated before is unknown "
		      "(frees of those blocks are not counted)\n",
		      out);
	struct cp_view_opts o = { .value_index = idx[0], .nkeys = 1, .keys = { CP_VIEW_KEY_MODULE } };
	o.filter = cp_view_options(v)->filter;
	struct cp_view *mv = cp_view_new(p, &o, NULL);
	struct cp_view_top *t = mv ? cp_view_top(mv, 0) : NULL;
	if (t && t->nrows && t->total > 0) {
		fputs("# allocation calls by the calling function's module:", out);
		for (size_t i = 0; i < t->nrows && i < 6; i++)
			if (t->rows[i].self)
				fprintf(out, "%s %s %s%" PRId64 " (%.1f%%)", i ? "," : "",
					t->rows[i].module, est, t->rows[i].self,
					100.0 * (double)t->rows[i].self / (double)t->total);
		fputc('\n', out);
	}
	cp_view_top_free(t);
	cp_view_free(mv);
	uint32_t shown = cp_view_options(v)->value_index;
	if (shown != CP_NONE)
		fprintf(out, "# showing: %s (others with --sample-type: alloc_objects, alloc_space, "
			     "inuse_objects, inuse_space, peak_objects, peak_space, temp_objects)\n",
			p->value_types.v[shown].type);
}

#define KERNEL_STACK_MAX 65528u

static void header_stacks(FILE *out, const struct cp_profile_meta *m,
			  const struct cp_view_stats *st)
{
	if (!st->samples)
		return;
	fprintf(out,
		"# stacks: %.1f%% unwound completely (to _start/main/thread start), %" PRIu64
		" spliced with frame pointers\n",
		(double)st->complete * 100.0 / (double)st->samples, st->spliced);
	if (!st->cut)
		return;
	double cut = (double)st->cut * 100.0 / (double)st->samples;
	if (m->stack_size)
		fprintf(out, "# stacks cut at the end of the %u-byte stack copy: %.1f%%",
			m->stack_size, cut);
	else
		fprintf(out, "# stacks cut at the end of the stack copy: %.1f%%", cut);
	if (st->cut_need_max > KERNEL_STACK_MAX) {
		fprintf(out,
			" need more than the kernel's %u-byte maximum; frame pointers "
			"(-fno-omit-frame-pointer) let cprof splice them",
			KERNEL_STACK_MAX);
	} else if (st->cut_need_max) {
		uint64_t s = (st->cut_need_max + 1023) / 1024 * 1024;
		fprintf(out, "; --stack-size=%" PRIu64 " would have kept them",
			CP_MIN(s, (uint64_t)KERNEL_STACK_MAX));
	}
	fputc('\n', out);
}

/* "# wall-clock: P% of samples off-CPU (blocked); ..." when there are any */
static void header_offcpu(FILE *out, const struct cp_view_stats *st)
{
	if (!st->offcpu || !st->samples)
		return;
	fprintf(out,
		"# wall-clock: %.1f%% of samples off-CPU (blocked); --off-cpu/--on-cpu select "
		"them, --sort state,function splits them\n",
		(double)st->offcpu * 100.0 / (double)st->samples);
}

int cp_format_report_header(FILE *out, const struct cp_view *v, const struct cp_report_header *h,
			    const char *what, struct cp_error *err)
{
	const struct cp_profile *p = cp_view_profile(v);
	const struct cp_profile_meta *m = &p->meta;
	struct cp_view_stats st;
	cp_view_stats(p, &st);
	fprintf(out, "# cprof report: %s\n", h && h->input ? h->input : "cprof.data");
	if (m->command[0])
		fprintf(out, "# command: %s\n", m->command);
	header_recorded(out, m);
	header_event(out, m);
	fprintf(out,
		"# samples: %" PRIu64 " (lost %" PRIu64 "), processes: %" PRIu64
		", threads: %" PRIu64,
		st.samples, m->lost_samples, st.processes, st.threads);
	if (m->exit_status >= 0)
		fprintf(out, ", exit status: %d", m->exit_status);
	fputc('\n', out);
	header_stacks(out, m, &st);
	header_offcpu(out, &st);
	header_heap(out, v);
	if (p->truncated)
		fprintf(out, "# warning: recording is truncated: %s\n",
			p->truncated_why[0] ? p->truncated_why : "the file ends early");
	bool filtered = h && h->filter && h->filter[0];
	if (filtered)
		fprintf(out, "# filter: %s\n", h->filter);
	if (!cp_view_total_samples(v))
		fprintf(out, "# %s\n", filtered ? "no samples match the filter" : "no samples");
	fputs("#\n", out);
	return check_stream(out, what, err);
}

/* ---- the table ----------------------------------------------------------------- */

#define NAME_MIN_WIDTH 39
#define NAME_MAX_WIDTH 60

static bool has_key(const struct cp_view_top *t, enum cp_view_key k)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i] == k)
			return true;
	return false;
}

/* Key columns in display order; a column is padded only when another
 * follows it, so no line ends in spaces. */
enum { COL_COMM, COL_PID, COL_TID, COL_STATE, COL_FUNCTION, COL_SRCLINE, COL_MODULE, NCOLS };

static void put_col(FILE *out, int col, int last, int width, const char *s)
{
	if (col == COL_PID || col == COL_TID)
		fprintf(out, "  %7s", s);
	else
		fprintf(out, "  %-*s", col == last ? 0 : width, s);
}

int cp_format_top_text(FILE *out, const struct cp_view_top *t, size_t limit, const char *what,
		       struct cp_error *err)
{
	static const enum cp_view_key col_key[NCOLS] = {
		CP_VIEW_KEY_COMM,     CP_VIEW_KEY_PID,     CP_VIEW_KEY_TID,    CP_VIEW_KEY_STATE,
		CP_VIEW_KEY_FUNCTION, CP_VIEW_KEY_SRCLINE, CP_VIEW_KEY_MODULE,
	};
	static const char *const titles[NCOLS] = { "Command",  "Pid",         "Tid",   "State",
						   "Function", "Source:Line", "Module" };
	bool on[NCOLS];
	int last = -1;
	for (int c = 0; c < NCOLS; c++)
		if ((on[c] = has_key(t, col_key[c])))
			last = c;
	size_t n = limit && limit < t->nrows ? limit : t->nrows;
	int width[NCOLS] = { 16, 7, 7, 7, NAME_MIN_WIDTH, 11, 0 };
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(t->rows[i].state ? t->rows[i].state : "");
		if (l > width[COL_STATE])
			width[COL_STATE] = CP_MIN(l, NAME_MAX_WIDTH);
		l = (int)strlen(t->rows[i].name);
		if (l > width[COL_FUNCTION])
			width[COL_FUNCTION] = CP_MIN(l, NAME_MAX_WIDTH);
		l = (int)strlen(t->rows[i].srcline);
		if (l > width[COL_SRCLINE])
			width[COL_SRCLINE] = CP_MIN(l, NAME_MAX_WIDTH);
	}
	fputs("#  Self%  Total%  Samples", out);
	for (int c = 0; c < NCOLS; c++)
		if (on[c])
			put_col(out, c, last, width[c], titles[c]);
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		const struct cp_view_row *r = &t->rows[i];
		char pid[16], tid[16];
		snprintf(pid, sizeof(pid), "%u", r->pid);
		snprintf(tid, sizeof(tid), "%u", r->tid);
		const char *vals[NCOLS] = {
			r->comm[0] ? r->comm : "[unknown]",
			pid,
			tid,
			r->state && r->state[0] ? r->state : "[unknown]",
			r->name,
			r->srcline,
			r->module,
		};
		fprintf(out, "%8.2f%8.2f%9" PRIu64, pct(r->self, t->total), pct(r->total, t->total),
			r->self_samples);
		for (int c = 0; c < NCOLS; c++)
			if (on[c])
				put_col(out, c, last, width[c], vals[c]);
		fputc('\n', out);
	}
	return check_stream(out, what, err);
}

/* ---- the tree ------------------------------------------------------------------ */

int cp_format_tree_text(FILE *out, const struct cp_view_tree *t, double percent_limit,
			const char *what, struct cp_error *err)
{
	fprintf(out, "# call tree: %s, percent of the total weight",
		t->inverted ? "callees above callers (inverted)" : "callers above callees");
	if (t->hidden)
		fprintf(out, "; %zu node%s below %.2f%% hidden", t->hidden,
			t->hidden == 1 ? "" : "s", percent_limit);
	fputs("\n#\n# Total%  Function\n", out);
	for (size_t i = 0; i < t->n; i++) {
		const struct cp_view_node *nd = &t->nodes[i];
		fprintf(out, "%7.2f  %*s%s%s", pct(nd->total, t->total), (int)nd->depth * 2, "",
			nd->name, nd->inlined ? " [inlined]" : "");
		if (nd->parent == CP_NONE || strcmp(t->nodes[nd->parent].module, nd->module))
			fprintf(out, " (%s)", nd->module);
		if (!t->inverted && nd->self > 0)
			fprintf(out, "  self %.2f%%", pct(nd->self, t->total));
		fputc('\n', out);
	}
	return check_stream(out, what, err);
}
