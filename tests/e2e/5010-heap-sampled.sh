#!/usr/bin/env bash
# cprof heap --sample: estimates from exponential byte intervals, scaled
# with Go's formula.  Seeds are fixed (--seed) so the runs repeat.
. "$(dirname "$0")/lib.sh"

est() { # FILE TYPE LEAF
	"$CPROF" convert -i "$1" --to folded --sample-type "$2" 2>/dev/null |
		awk -v f="$3" '{ n = split($1, a, ";"); if (a[n] == f) s += $NF } END { print s + 0 }'
}
# 512K: peak_here's 64 x 1 MiB at the peak, within 25% in every run and
# within 5% on average over 10 runs
sum=0 bad=""
for seed in 1 2 3 4 5 6 7 8 9 10; do
	if ! "$CPROF" heap -q --sample 512K --seed $seed -o "$T/s.data" -- "$FIXTURES/alloc_heavy" 2000; then
		not_ok "cprof heap --sample 512K --seed $seed failed"; continue
	fi
	v=$(est "$T/s.data" peak_space peak_here)
	within "$v" 67108864 16777216 || bad="$bad $seed:$v"
	sum=$((sum + v))
done
if [ -z "$bad" ]; then ok "512K: peak_here's peak_space within 25% of 64 MiB in every run"; else
	not_ok "512K: runs off by more than 25%:$bad"; fi
mean=$((sum / 10))
if within "$mean" 67108864 3355443; then ok "512K: mean of 10 runs $mean within 5% of 67108864"; else
	not_ok "512K: mean of 10 runs $mean"; fi
# the file says it is sampled, and how
"$CPROF" report --stdio -i "$T/s.data" >"$T/r.txt"
if grep -q 'event: malloc (sampled every 524288 bytes on average)' "$T/r.txt" &&
	grep -q '^# heap: ~' "$T/r.txt"; then ok "report: sampled every 524288 bytes, estimates"; else
	not_ok "report header" "$(head -9 "$T/r.txt")"; fi

# 4K: leak_here's 64 000 bytes live at exit.  About 15.6 of its 1000
# blocks are sampled per run (Poisson: 25% spread per run, 8% over 10
# runs), so the mean is taken over 40 seeded runs (4%) and held to 10%
sum=0 sum10=0
for seed in $(seq 1 40); do
	"$CPROF" heap -q --sample 4K --seed $seed -o "$T/l.data" -- "$FIXTURES/alloc_heavy" 200 ||
		{ not_ok "cprof heap --sample 4K --seed $seed failed"; break; }
	sum=$((sum + $(est "$T/l.data" inuse_space leak_here)))
	[ "$seed" = 10 ] && sum10=$sum
done
mean=$((sum / 40)) mean10=$((sum10 / 10))
if within "$mean10" 64000 6400; then ok "4K: leak_here in use at exit, mean of 10 runs $mean10 within 10% of 64000"; else
	not_ok "4K: leak_here mean of 10 runs $mean10"; fi
if within "$mean" 64000 6400; then ok "4K: leak_here in use at exit, mean of 40 runs $mean within 10% of 64000"; else
	not_ok "4K: leak_here mean $mean"; fi
# nothing else leaks from the program's code
other=$("$CPROF" convert -i "$T/l.data" --to folded --sample-type inuse_space |
	awk '{ n = split($1, a, ";"); if (a[n] ~ /^site_|^peak_here$/) s += $NF } END { print s + 0 }')
if [ "$other" = 0 ]; then ok "4K: no other site of the program leaks"; else not_ok "4K: other sites leak $other"; fi

# the same seed repeats the run exactly
"$CPROF" heap -q --sample 4K --seed 7 -o "$T/a.data" -- "$FIXTURES/alloc_heavy" 200
"$CPROF" heap -q --sample 4K --seed 7 -o "$T/b.data" -- "$FIXTURES/alloc_heavy" 200
a=$(est "$T/a.data" alloc_space site_malloc) b=$(est "$T/b.data" alloc_space site_malloc)
if [ "$a" = "$b" ] && [ "$a" != 0 ]; then ok "--seed 7 twice: same estimate $a"; else not_ok "--seed 7: $a vs $b"; fi

# realloc chains: each realloc is one allocation, sampled by the countdown
# like any other (a chain does not inherit its first block's sample)
"$CPROF" heap -q --sample 64K --seed 1 -o "$T/r.data" -- "$FIXTURES/alloc_heavy" 20000
for spec in site_realloc:174080000 site_malloc:61440000 site_calloc:81920000; do
	f=${spec%%:*} want=${spec##*:}
	v=$(est "$T/r.data" alloc_space "$f")
	if within "$v" "$want" $((want / 10)); then ok "64K: $f alloc_space $v within 10% of $want"; else
		not_ok "64K: $f alloc_space $v, want $want"; fi
done
