#!/usr/bin/env bash
# heap.sh - `make bench`, the costs of `cprof heap` (run.sh calls it), side
# by side with heaptrack in the same run; whole-command wall time, median of
# BENCH_RUNS paired runs; overhead = ratio - 1:
#   full, alloc_heavy R=5000          bar: cprof's overhead <= half heaptrack's
#   full, alloc_threads R=20000 T=8   bar: the same
#   sampled 512K, alloc_heavy R=500000 (a call every ~17 ns)   bar <= 1.3x
#   sampled 512K, CPython JSON round-trip of 300 000 objects   bar <= 1.05x
#   full: the target's peak RSS over the plain run's            bar <= +30%
#   full: bytes of cprof.data per allocation event              bar <= 16
#   sampled 512K: the unbiasedness of the estimate over 100 seeds
#   bench/heap.sh BUILD_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup heap "${1:-}"
RUNS=${BENCH_RUNS:-7}
trap 'rm -rf "$T"' EXIT
HEAPTRACK=$(command -v heaptrack || true)
echo "== heap: cprof heap against heaptrack ($RUNS paired runs, medians)"
[ -n "$HEAPTRACK" ] || echo "SKIP: heap: no heaptrack (make deps-bench installs it)"

wall_of() { # out-prefix command...
	local p=$1 t0 t1
	shift
	t0=$(now)
	"$@" >"$p.out" 2>"$p.err" || return 1
	t1=$(now)
	calc "%.4f" "$t1 - $t0"
}

# full mode: plain, cprof heap, heaptrack, paired
full() { # label command...
	local label=$1 i p c h
	shift
	: >"$T/p" && : >"$T/c" && : >"$T/h"
	for i in $(seq "$RUNS"); do
		p=$(wall_of "$T/run" "$@") || { echo "FAIL: heap: $label: the plain run failed"; return; }
		c=$(wall_of "$T/run" "$CPROF" heap -q -o "$T/c.data" -- "$@") ||
			{ echo "FAIL: heap: $label: cprof heap failed: $(tail -1 "$T/run.err")"; return; }
		echo "$p" >>"$T/p" && echo "$c" >>"$T/c"
		if [ -n "$HEAPTRACK" ]; then
			h=$(wall_of "$T/run" "$HEAPTRACK" -o "$T/ht" "$@") && echo "$h" >>"$T/h"
			rm -f "$T"/ht*
		fi
	done
	p=$(median <"$T/p") c=$(median <"$T/c") h=$(median <"$T/h")
	local rc rh
	rc=$(calc "%.2f" "$c / $p")
	if [ -n "$HEAPTRACK" ] && [ "$h" != nan ]; then
		rh=$(calc "%.2f" "$h / $p")
		echo "heap full  $label: plain ${p}s, cprof ${c}s (${rc}x), heaptrack ${h}s (${rh}x);" \
			"overhead cprof/heaptrack $(calc "%.2f" "($c - $p) / ($h - $p)")" \
			"(bar <= 0.50) $(verdict "($c - $p) <= 0.5 * ($h - $p)")"
	else
		echo "heap full  $label: plain ${p}s, cprof ${c}s (${rc}x); heaptrack not measured"
	fi
}

sampled() { # label bar command...
	local label=$1 bar=$2 i p c
	shift 2
	: >"$T/p" && : >"$T/c"
	for i in $(seq "$RUNS"); do
		p=$(wall_of "$T/run" "$@") || { echo "FAIL: heap: $label: the plain run failed"; return; }
		c=$(wall_of "$T/run" "$CPROF" heap -q --sample 512K -o "$T/s.data" -- "$@") ||
			{ echo "FAIL: heap: $label: cprof heap --sample failed"; return; }
		echo "$p" >>"$T/p" && echo "$c" >>"$T/c"
	done
	p=$(median <"$T/p") c=$(median <"$T/c")
	echo "heap 512K  $label: plain ${p}s, cprof ${c}s: $(calc "%.3f" "$c / $p")x" \
		"(bar <= ${bar}x) $(verdict "$c / $p <= $bar")"
}

full "alloc_heavy 5000" "$FX/alloc_heavy" 5000
full "alloc_threads 20000 8" "$FX/alloc_threads" 20000 8
sampled "alloc_heavy 500000" 1.3 "$FX/alloc_heavy" 500000
cat >"$T/roundtrip.py" <<'PY'
import json
d = [{"id": i, "name": "item-%d" % i, "tags": ["a", "b", str(i % 7)], "v": i * 0.5}
     for i in range(300000)]
s = json.dumps(d)
assert len(json.loads(s)) == 300000
PY
sampled "python3 JSON round-trip" 1.05 /usr/bin/python3 "$T/roundtrip.py"
# the same with every Python object from malloc (no pymalloc arenas)
PYTHONMALLOC=malloc sampled "python3 JSON round-trip, PYTHONMALLOC=malloc" 1.05 /usr/bin/python3 "$T/roundtrip.py"

# the target's peak RSS (its own, from wait4 via GNU time's %M in the child)
rss() { /usr/bin/time -f %M -o "$T/rss" "$@" >/dev/null 2>&1; cat "$T/rss"; }
if [ -x /usr/bin/time ]; then
	plain=$(rss "$FX/alloc_heavy" 5000)
	# cprof heap's child: the target's RSS, measured inside (time runs under cprof)
	"$CPROF" heap -q -f -o "$T/r.data" -- /usr/bin/time -f %M -o "$T/rss2" "$FX/alloc_heavy" 5000
	under=$(cat "$T/rss2")
	echo "heap full  target peak RSS, alloc_heavy 5000: plain ${plain} KiB, under cprof heap ${under} KiB:" \
		"+$(calc "%.1f" "100 * ($under - $plain) / $plain")% (bar <= 30%) $(verdict "$under <= 1.3 * $plain")"
fi
# bytes of recording per allocation event (calls and frees)
"$CPROF" heap -q -o "$T/b.data" -- "$FX/alloc_heavy" 50000
bytes=$(stat -c %s "$T/b.data")
events=$((112 * 50000 + 1064 + 97 * 50000 + 64))
echo "heap full  recording: $bytes bytes for $events events: $(calc "%.4f" "$bytes / $events") bytes/event" \
	"(bar <= 16) $(verdict "$bytes / $events <= 16")"
# unbiasedness: peak_here's estimated peak over 100 seeds at 512K
sum=0
for seed in $(seq 1 100); do
	"$CPROF" heap -q --sample 512K --seed "$seed" -o "$T/u.data" -- "$FX/alloc_heavy" 200 || break
	v=$("$CPROF" convert -i "$T/u.data" --to folded --sample-type peak_space |
		awk '{ n = split($1, a, ";"); if (a[n] == "peak_here") s += $NF } END { print s + 0 }')
	sum=$((sum + v))
done
echo "heap 512K  peak_here's estimated peak, mean of 100 seeds: $((sum / 100)) (true 67108864:" \
	"$(calc "%+.2f" "100 * ($sum / 100 - 67108864) / 67108864")%)"
