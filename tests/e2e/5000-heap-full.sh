#!/usr/bin/env bash
# cprof heap, full mode, on alloc_heavy: exact calls and bytes per site, the
# leak, the peak, temporaries, zero lost records, and the report's summary.
. "$(dirname "$0")/lib.sh"

R=1000
if "$CPROF" heap -q -o "$T/h.data" -- "$FIXTURES/alloc_heavy" $R 2>"$T/err"; then
	ok "cprof heap alloc_heavy $R"
else
	not_ok "cprof heap failed" "$(cat "$T/err")"
	exit 0
fi
# leaf (the function that called the allocator) -> sum, for a value type
leaf_sum() {
	"$CPROF" convert -i "$T/h.data" --to folded --sample-type "$1" 2>/dev/null |
		awk -v f="$2" '{ n = split($1, a, ";"); if (a[n] == f) s += $NF } END { print s + 0 }'
}
total_of() {
	"$CPROF" convert -i "$T/h.data" --to folded --sample-type "$1" 2>/dev/null |
		awk -v m="$2" '{ n = split($1, a, ";"); if (m == "" || index($1, m)) s += $NF } END { print s + 0 }'
}
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 = $3"; else not_ok "$1 = $2, want $3"; fi
}
expect_eq "site_malloc calls" "$(leaf_sum alloc_objects site_malloc)" $((64 * R))
expect_eq "site_malloc bytes" "$(leaf_sum alloc_space site_malloc)" $((3072 * R))
expect_eq "site_calloc calls" "$(leaf_sum alloc_objects site_calloc)" $((32 * R))
expect_eq "site_calloc bytes" "$(leaf_sum alloc_space site_calloc)" $((4096 * R))
expect_eq "site_realloc calls" "$(leaf_sum alloc_objects site_realloc)" $((16 * R))
expect_eq "site_realloc bytes" "$(leaf_sum alloc_space site_realloc)" $((8704 * R))
expect_eq "leak_here calls" "$(leaf_sum alloc_objects leak_here)" 1000
expect_eq "peak_here calls" "$(leaf_sum alloc_objects peak_here)" 64
# every call the program's own code made, in all
prog=$(for f in site_malloc site_calloc site_realloc leak_here peak_here; do
	leaf_sum alloc_objects $f; done | awk '{ s += $1 } END { print s }')
expect_eq "allocation calls from the program" "$prog" $((112 * R + 1064))
# leaks: exactly leak_here's 1000 x 64 bytes from this code
expect_eq "leaked bytes of leak_here" "$(leaf_sum inuse_space leak_here)" 64000
expect_eq "leaked blocks of leak_here" "$(leaf_sum inuse_objects leak_here)" 1000
for f in site_malloc site_calloc site_realloc peak_here; do
	expect_eq "leaked bytes of $f" "$(leaf_sum inuse_space $f)" 0
done
# the stack of the leak: main -> leak_here
if "$CPROF" convert -i "$T/h.data" --to folded --sample-type inuse_space 2>/dev/null |
	grep -q ';main;leak_here '; then ok "leak stack main;leak_here"; else
	not_ok "no main;leak_here stack"; fi
# the peak: >= 64 MiB live at once, 64 x 1 MiB of it from peak_here
peak=$(total_of peak_space "")
if [ "$peak" -ge 67108864 ]; then ok "peak $peak >= 67108864"; else not_ok "peak $peak"; fi
expect_eq "peak_here at the peak" "$(leaf_sum peak_space peak_here)" 67108864
expect_eq "peak_here blocks at the peak" "$(leaf_sum peak_objects peak_here)" 64
# temporaries: the last realloc result, freed at once, in each round
expect_eq "temporary allocations of site_realloc" "$(leaf_sum temp_objects site_realloc)" "$R"
"$CPROF" report --stdio -i "$T/h.data" >"$T/r.txt" 2>&1
if grep -q '^# samples: .*(lost 0)' "$T/r.txt" && grep -q 'exit status: 0' "$T/r.txt"; then
	ok "nothing lost, exit status kept"; else not_ok "report header" "$(head -8 "$T/r.txt")"; fi
if grep -q "^# heap: $((112 * R + 1064)) allocation calls" "$T/r.txt" &&
	grep -q "live at exit 62.5 KiB in 1000 blocks; $R temporary; 0 records lost" "$T/r.txt" &&
	grep -q "allocation calls by the calling function's module: alloc_heavy $((112 * R + 1064)) " "$T/r.txt"; then
	ok "report: heap summary"
else
	not_ok "report: heap summary" "$(grep '^# heap\|^# alloc' "$T/r.txt")"
fi
top=$(awk '!/^#/ && NF >= 5 { print $4; exit }' "$T/r.txt")
expect_eq "report's default (peak_space) top function" "$top" peak_here
"$CPROF" report --stdio --sample-type temp_objects -i "$T/h.data" >"$T/t.txt" 2>&1
top=$(awk '!/^#/ && NF >= 5 { print $4; exit }' "$T/t.txt")
expect_eq "top function by temp_objects" "$top" site_realloc

# frame pointers give the same counts
if "$CPROF" heap -q --call-graph fp -o "$T/fp.data" -- "$FIXTURES/alloc_heavy" 100; then
	n=$("$CPROF" convert -i "$T/fp.data" --to folded --sample-type alloc_objects |
		awk '{ n = split($1, a, ";"); if (a[n] == "site_malloc" && a[n-2] == "main") s += $NF } END { print s + 0 }')
	expect_eq "--call-graph fp: main;rounds;site_malloc calls" "$n" 6400
else
	not_ok "--call-graph fp failed"
fi
