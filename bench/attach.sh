#!/usr/bin/env bash
# attach.sh - `make bench`, attach and ptrace-sampler figures (run.sh calls it):
#   attach latency  from starting `cprof attach -p PID` to the first sample
#                   stored (cprof -v prints its wall-clock time), median of
#                   BENCH_RUNS, perf_event and ptrace samplers; bar <= 20 ms
#   ptrace slowdown the target's wall time (what a stopped target loses)
#                   and CPU time under `cprof record --sampler ptrace` at
#                   99 Hz (bar <= 1.05) and 999 Hz, against the perf_event
#                   sampler at the same rates, median of BENCH_RUNS
#   bench/attach.sh BUILD_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup attach "${1:-}"
RUNS=${BENCH_RUNS:-7}
if [ -x "$CPROF_TOP/../shared/workloads/bin/cpu_split_nofp" ]; then
	WL=$(cd "$CPROF_TOP/../shared/workloads/bin" && pwd)
else
	WL=$CPROF_TOP/build/fixtures
fi
TARGET=$WL/cpu_split_nofp
trap 'rm -rf "$T"; [ -n "${tpid:-}" ] && kill "$tpid" 2>/dev/null' EXIT


# ---- attach latency -------------------------------------------------------------
samplers="ptrace"
"$CPROF" record -q --sampler perf -o "$T/probe.data" -- true 2>/dev/null && samplers="perf ptrace"
"$TARGET" 100000 &
tpid=$!
sleep 0.3
for s in $samplers; do
	: >"$T/lat.$s"
	for i in $(seq 1 "$RUNS"); do
		t0=$EPOCHREALTIME
		"$CPROF" -v attach --sampler "$s" -p "$tpid" -d 1 -o "$T/a.data" 2>"$T/a.err" || {
			echo "FAIL: attach --sampler $s: $(tail -n 1 "$T/a.err")"
			exit 1
		}
		t1=$(sed -n 's/.*first sample stored .* at \([0-9.]*\)$/\1/p' "$T/a.err")
		[ -n "$t1" ] && calc "%.1f" "($t1 - ${t0/,/.}) * 1000" >>"$T/lat.$s"
	done
done
kill "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null
tpid=
line="attach latency (start to first sample stored, median of $RUNS):"
ok=ok
for s in $samplers; do
	m=$(median <"$T/lat.$s")
	line="$line $s $m ms,"
	[ "$(verdict "$m <= 20")" = ok ] || ok=MISSED
done
echo "${line%,} (bar <= 20 ms) $ok"

# ---- slowdown under the ptrace sampler --------------------------------------------
timed_rec() { # out, cprof record args...
	local out=$1
	shift
	"$CPROF" record -q "$@" -o "$T/s.data" -- \
		bash -c 'TIMEFORMAT="%3R %3U %3S"; { time "$1" ; } 2>"$2"' timed "$TARGET" "$out"
}
plain() { bash -c 'TIMEFORMAT="%3R %3U %3S"; { time "$1" ; } 2>"$2"' timed "$TARGET" "$1"; }
variants="plain pt99 pt999"
[ "$samplers" = "perf ptrace" ] && variants="$variants pf99 pf999"
for i in $(seq 1 "$RUNS"); do
	for v in $variants; do
		case $v in
		plain) plain "$T/$v.$i" ;;
		pt99) timed_rec "$T/$v.$i" --sampler ptrace -F 99 ;;
		pt999) timed_rec "$T/$v.$i" --sampler ptrace -F 999 ;;
		pf99) timed_rec "$T/$v.$i" --sampler perf -F 99 ;;
		pf999) timed_rec "$T/$v.$i" --sampler perf -F 999 ;;
		esac || { echo "FAIL: slowdown run $v $i"; exit 1; }
	done
done
col() { for i in $(seq 1 "$RUNS"); do awk -v c="$2" 'NF == 3 { print (c == 1 ? $1 : $2 + $3) }' "$T/$1.$i"; done | median; }
bw=$(col plain 1)
bc=$(col plain 2)
ratio() { calc "%.3f" "$(col "$1" "$2") / $3"; }
p99=$(ratio pt99 1 "$bw")
p999=$(ratio pt999 1 "$bw")
echo "ptrace slowdown at 99 Hz: wall $p99, cpu $(ratio pt99 2 "$bc") (bar: wall <= 1.05) $(verdict "$p99 <= 1.05")" \
	"[target s, median of $RUNS: plain wall $bw cpu $bc]"
if [ "$samplers" = "perf ptrace" ]; then
	echo "ptrace slowdown at 999 Hz: wall $p999, cpu $(ratio pt999 2 "$bc");" \
		"perf_event sampler: 99 Hz wall $(ratio pf99 1 "$bw"), 999 Hz wall $(ratio pf999 1 "$bw"), cpu $(ratio pf999 2 "$bc")"
else
	echo "ptrace slowdown at 999 Hz: wall $p999, cpu $(ratio pt999 2 "$bc"); perf_event: not allowed here"
fi
