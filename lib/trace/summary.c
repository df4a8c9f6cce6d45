/* summary.c - the tables of cprof strace-lite: strace's -c table (same
 * columns, same blank for zero errors, a total row, -S sort keys) and the
 * --latency report (p50/p90/p99/max per syscall and a log2 histogram of
 * each, as bcc's and bpftrace's histograms look).
 *
 * Latencies go into a log-linear histogram per syscall (32 buckets per
 * power of two: a percentile is within ~3% of the exact one; the max is
 * exact), so a run of billions of calls needs no more memory than a short
 * one. */
#include "trace/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"

#define SUB_BITS 5
#define SUBS (1u << SUB_BITS)
#define NBUCKETS (2 * SUBS + (64 - SUB_BITS - 1) * SUBS)

struct sc_stat {
	int nr;
	uint64_t calls, errors, total_ns, min_ns, max_ns;
	uint64_t max_wall;
	uint32_t *hist; /* latency: NBUCKETS counts */
};

struct cp_trace_stats {
	struct sc_stat *by_nr[CP_TRACE_MAX_NR + 1]; /* the last one: numbers beyond the table */
	bool latency;
};

static unsigned bucket_of(uint64_t v)
{
	if (v < 2 * SUBS)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
	unsigned shift = e - SUB_BITS;
	return 2 * SUBS + (e - SUB_BITS - 1) * SUBS + (unsigned)((v >> shift) - SUBS);
}

/* The middle of bucket i's range. */
static uint64_t bucket_mid(unsigned i)
{
	if (i < 2 * SUBS)
		return i;
	unsigned e = (i - 2 * SUBS) / SUBS + SUB_BITS + 1;
	unsigned shift = e - SUB_BITS;
	uint64_t lo = ((uint64_t)(SUBS + (i - 2 * SUBS) % SUBS)) << shift;
	return lo + ((1ull << shift) >> 1);
}

struct cp_trace_stats *cp_trace_stats_new(bool latency)
{
	struct cp_trace_stats *st = cp_xcalloc(1, sizeof(*st));
	st->latency = latency;
	return st;
}

void cp_trace_stats_free(struct cp_trace_stats *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < CP_ARRAY_SIZE(st->by_nr); i++)
		if (st->by_nr[i]) {
			free(st->by_nr[i]->hist);
			free(st->by_nr[i]);
		}
	free(st);
}

static struct sc_stat *stat_of(struct cp_trace_stats *st, int nr)
{
	size_t k = nr >= 0 && nr < CP_TRACE_MAX_NR ? (size_t)nr : CP_TRACE_MAX_NR;
	struct sc_stat *s = st->by_nr[k];
	if (!s) {
		s = st->by_nr[k] = cp_xcalloc(1, sizeof(*s));
		s->nr = (int)k;
		s->min_ns = UINT64_MAX;
		if (st->latency)
			s->hist = cp_xcalloc(NBUCKETS, sizeof(*s->hist));
	}
	return s;
}

void cp_trace_stats_add_totals(struct cp_trace_stats *st, const struct cp_trace_totals *tt)
{
	if (!tt->calls)
		return;
	struct sc_stat *s = stat_of(st, tt->nr);
	s->calls += tt->calls;
	s->errors += tt->errors;
	s->total_ns += tt->total_ns;
	if (tt->min_ns < s->min_ns)
		s->min_ns = tt->min_ns;
	if (tt->max_ns > s->max_ns)
		s->max_ns = tt->max_ns;
	if (tt->max_ns > s->max_wall)
		s->max_wall = tt->max_ns;
}

void cp_trace_stats_add(struct cp_trace_stats *st, const struct cp_trace_call *c, bool cpu_time)
{
	/* as strace -c: a call counts when it returns */
	if (!c->returned)
		return;
	struct sc_stat *s = stat_of(st, c->nr);
	uint64_t wall = c->exit_ns > c->enter_ns ? c->exit_ns - c->enter_ns : 0;
	uint64_t ns = cpu_time ? c->sys_ns : wall;
	s->calls++;
	if (c->ret < 0 && c->ret >= -4095)
		s->errors++;
	s->total_ns += ns;
	if (ns < s->min_ns)
		s->min_ns = ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
	if (wall > s->max_wall)
		s->max_wall = wall;
	if (s->hist)
		s->hist[bucket_of(wall)]++;
}

static const char *sc_name(const struct sc_stat *s, char *buf, size_t size)
{
	if (s->nr >= CP_TRACE_MAX_NR)
		return "(numbers beyond the table)";
	return cp_trace_syscall_name(s->nr, buf, size);
}

static const char *sort_key;

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct sc_stat *a = *(const struct sc_stat *const *)pa;
	const struct sc_stat *b = *(const struct sc_stat *const *)pb;
	char na[32], nb[32];
	int r = 0;
	if (!strcmp(sort_key, "calls"))
		r = cmp_u64_desc(a->calls, b->calls);
	else if (!strcmp(sort_key, "errors"))
		r = cmp_u64_desc(a->errors, b->errors);
	else if (!strcmp(sort_key, "name"))
		return strcmp(sc_name(a, na, sizeof(na)), sc_name(b, nb, sizeof(nb)));
	else if (!strcmp(sort_key, "avg-time"))
		r = cmp_u64_desc(a->total_ns / a->calls, b->total_ns / b->calls);
	else if (!strcmp(sort_key, "min-time"))
		r = cmp_u64_desc(a->min_ns, b->min_ns);
	else if (!strcmp(sort_key, "max-time"))
		r = cmp_u64_desc(a->max_ns, b->max_ns);
	else if (!strcmp(sort_key, "nothing"))
		return a->nr - b->nr;
	else
		r = cmp_u64_desc(a->total_ns, b->total_ns);
	if (r)
		return r;
	return strcmp(sc_name(a, na, sizeof(na)), sc_name(b, nb, sizeof(nb)));
}

static const char *const sort_keys[] = { "time",     "calls",    "errors",  "name",
					 "avg-time", "min-time", "max-time", "nothing" };

int cp_trace_sort_check(const char *key, struct cp_error *err)
{
	for (size_t i = 0; i < CP_ARRAY_SIZE(sort_keys); i++)
		if (!strcmp(key, sort_keys[i]))
			return 0;
	return cp_error_set(err, CP_E_USAGE,
			    "-S '%s': not a sort key (time, calls, errors, name, avg-time, "
			    "min-time, max-time, nothing)",
			    key);
}

/* The rows with calls, sorted. */
static size_t rows_of(const struct cp_trace_stats *st, const char *sort, struct sc_stat **rows)
{
	size_t n = 0;
	for (size_t i = 0; i < CP_ARRAY_SIZE(st->by_nr); i++)
		if (st->by_nr[i] && st->by_nr[i]->calls)
			rows[n++] = st->by_nr[i];
	sort_key = sort ? sort : "time";
	qsort(rows, n, sizeof(*rows), cmp_rows);
	return n;
}

static const char dashes[] =
	"------ ----------- ----------- --------- --------- ----------------\n";

void cp_trace_stats_table(const struct cp_trace_stats *st, FILE *f, const char *sort, bool json,
			  bool cpu_time)
{
	struct sc_stat *rows[CP_TRACE_MAX_NR + 1];
	size_t n = rows_of(st, sort, rows);
	uint64_t total = 0, calls = 0, errors = 0;
	for (size_t i = 0; i < n; i++) {
		total += rows[i]->total_ns;
		calls += rows[i]->calls;
		errors += rows[i]->errors;
	}
	char nb[32];
	if (json) {
		fprintf(f, "{\"summary\":{\"time\":\"%s\",\"calls\":[", cpu_time ? "cpu" : "wall");
		for (size_t i = 0; i < n; i++) {
			const struct sc_stat *s = rows[i];
			fprintf(f,
				"%s{\"syscall\":\"%s\",\"calls\":%llu,\"errors\":%llu,"
				"\"seconds\":%.6f,\"usecs_per_call\":%llu,\"percent\":%.2f,"
				"\"min_ns\":%llu,\"max_ns\":%llu}",
				i ? "," : "", sc_name(s, nb, sizeof(nb)), (unsigned long long)s->calls,
				(unsigned long long)s->errors, (double)s->total_ns / 1e9,
				(unsigned long long)(s->total_ns / 1000 / s->calls),
				total ? 100.0 * (double)s->total_ns / (double)total : 0.0,
				(unsigned long long)s->min_ns, (unsigned long long)s->max_ns);
		}
		fprintf(f,
			"],\"total\":{\"calls\":%llu,\"errors\":%llu,\"seconds\":%.6f,"
			"\"usecs_per_call\":%llu}}}\n",
			(unsigned long long)calls, (unsigned long long)errors, (double)total / 1e9,
			(unsigned long long)(calls ? total / 1000 / calls : 0));
		return;
	}
	fprintf(f, "%% time     seconds  usecs/call     calls    errors syscall\n");
	fputs(dashes, f);
	for (size_t i = 0; i < n; i++) {
		const struct sc_stat *s = rows[i];
		/* "%9.0llu" prints nothing for 0: strace's blank for no errors */
		fprintf(f, "%6.2f %11.6f %11llu %9llu %9.0llu %s\n",
			total ? 100.0 * (double)s->total_ns / (double)total : 0.0,
			(double)s->total_ns / 1e9, (unsigned long long)(s->total_ns / 1000 / s->calls),
			(unsigned long long)s->calls, (unsigned long long)s->errors,
			sc_name(s, nb, sizeof(nb)));
	}
	fputs(dashes, f);
	fprintf(f, "%6.2f %11.6f %11llu %9llu %9.0llu total\n", n ? 100.0 : 0.0, (double)total / 1e9,
		(unsigned long long)(calls ? total / 1000 / calls : 0), (unsigned long long)calls,
		(unsigned long long)errors);
}

static uint64_t percentile(const struct sc_stat *s, double q)
{
	uint64_t want = (uint64_t)(q * (double)s->calls + 0.999999);
	if (want == 0)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		seen += s->hist[i];
		if (seen >= want) {
			uint64_t v = bucket_mid(i);
			return v > s->max_wall ? s->max_wall : v;
		}
	}
	return s->max_wall;
}

/* "1.062ms", "870us", "13ns", "2.1s" */
static const char *dur(uint64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.3gus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.4gms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.4gs", (double)ns / 1e9);
	return buf;
}

static void histogram(const struct sc_stat *s, FILE *f)
{
	/* log2 buckets of microseconds, as bpftrace's hist() */
	uint64_t counts[64] = { 0 };
	int lo = 64, hi = -1;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		if (!s->hist[i])
			continue;
		uint64_t us = bucket_mid(i) / 1000;
		int b = us ? 64 - __builtin_clzll(us) : 0; /* 0: <1us, b: [2^(b-1), 2^b) */
		counts[b] += s->hist[i];
		if (b < lo)
			lo = b;
		if (b > hi)
			hi = b;
	}
	uint64_t most = 0;
	for (int b = lo; b <= hi; b++)
		if (counts[b] > most)
			most = counts[b];
	fprintf(f, "%22s : %-9s distribution\n", "usecs", "count");
	for (int b = lo; b <= hi; b++) {
		char range[48];
		if (b == 0)
			snprintf(range, sizeof(range), "0 -> 0");
		else
			snprintf(range, sizeof(range), "%llu -> %llu", 1ull << (b - 1),
				 (1ull << b) - 1);
		int stars = most ? (int)((counts[b] * 40 + most - 1) / most) : 0;
		fprintf(f, "%22s : %-9llu |%-40.*s|\n", range, (unsigned long long)counts[b], stars,
			"****************************************");
	}
}

void cp_trace_stats_latency(const struct cp_trace_stats *st, FILE *f, bool json)
{
	struct sc_stat *rows[CP_TRACE_MAX_NR + 1];
	size_t n = rows_of(st, "time", rows);
	char nb[32];
	if (json) {
		fprintf(f, "{\"latency\":[");
		for (size_t i = 0; i < n; i++) {
			const struct sc_stat *s = rows[i];
			fprintf(f,
				"%s{\"syscall\":\"%s\",\"calls\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,"
				"\"p99_ns\":%llu,\"max_ns\":%llu,\"total_ns\":%llu}",
				i ? "," : "", sc_name(s, nb, sizeof(nb)), (unsigned long long)s->calls,
				(unsigned long long)percentile(s, 0.5),
				(unsigned long long)percentile(s, 0.9),
				(unsigned long long)percentile(s, 0.99), (unsigned long long)s->max_wall,
				(unsigned long long)s->total_ns);
		}
		fprintf(f, "]}\n");
		return;
	}
	char a[32], b[32], c[32], d[32];
	fprintf(f, "%-16s %9s %10s %10s %10s %10s\n", "syscall", "calls", "p50", "p90", "p99",
		"max");
	for (size_t i = 0; i < n; i++) {
		const struct sc_stat *s = rows[i];
		fprintf(f, "%-16s %9llu %10s %10s %10s %10s\n", sc_name(s, nb, sizeof(nb)),
			(unsigned long long)s->calls, dur(percentile(s, 0.5), a, sizeof(a)),
			dur(percentile(s, 0.9), b, sizeof(b)), dur(percentile(s, 0.99), c, sizeof(c)),
			dur(s->max_wall, d, sizeof(d)));
	}
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "\n%s (%llu calls):\n", sc_name(rows[i], nb, sizeof(nb)),
			(unsigned long long)rows[i]->calls);
		histogram(rows[i], f);
	}
}
