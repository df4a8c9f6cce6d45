#!/usr/bin/env bash
# bench/tui.sh [BUILD] - `make bench`'s figures for the report browser,
# driven in tmux (the time from starting it, or from a key, until the
# screen shows the answer; polled every few ms, so figures are upper
# bounds by about 10 ms):
#   open 1M     `cprof report --tui` on a 1M-sample recording until the
#               first rows show (bar: well under 1 s; we take 0.5 s)
#   keys        on that recording: the tree (T), everything open (+),
#               callers/callees (c), the inverted tree (i, built on first
#               use), a thread filter (t, Enter on the first thread)
#   vs perf     `cprof report` and `perf report` (its TUI) opening their
#               own recordings of cpu_split_nofp made in this run
set -u
LC_ALL=C.UTF-8
export LC_ALL
unset NO_COLOR
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CPROF=${CPROF:-$BUILD/cprof}
GEN=$BUILD/bench/gen-recording
WL=$TOP/../shared/workloads
CACHE=$BUILD/bench-cache/formats
RUNS=${BENCH_RUNS:-5}
T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench.XXXXXX") || exit 1
SOCK=cprof-bench-$$-0
nsock=0
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$T"' EXIT
failed=0

. "$TOP/bench/lib.sh"
command -v tmux >/dev/null || { echo "SKIP: tui: no tmux (apt-get install tmux)"; exit 0; }

pane() { tmux -L "$SOCK" capture-pane -p -t bench 2>/dev/null; }
# wait_for REGEX [TIMEOUT_S]: poll the pane until a line matches; prints
# the time it matched, fails after the timeout
wait_for() {
	local end
	end=$(calc "%.3f" "$(now) + ${2:-20}")
	while :; do
		if pane | grep -qE "$1"; then
			now
			return 0
		fi
		awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n > e) }' && return 1
		sleep 0.003
	done
}
# open_time MARKER CMD...: seconds from starting CMD in a 120x40 pane until
# MARKER shows
open_time() {
	local marker=$1 t0 t1
	shift
	# a fresh server each time: one shutting down races a new one on its socket
	tmux -L "$SOCK" kill-server 2>/dev/null
	nsock=$((nsock + 1))
	SOCK=cprof-bench-$$-$nsock
	t0=$(now)
	tmux -L "$SOCK" new-session -d -s bench -x 120 -y 40 "$* ; sleep 60" || return 1
	t1=$(wait_for "$marker") || { echo "tui: '$*' never showed /$marker/:" >&2; pane | head -5 >&2; return 1; }
	calc "%.3f" "$t1 - $t0"
}
# key_time KEY MARKER: seconds from sending KEY until MARKER shows
key_time() {
	local t0 t1
	t0=$(now)
	tmux -L "$SOCK" send-keys -t bench "$1"
	t1=$(wait_for "$2" 10) || { echo "tui: key '$1' never showed /$2/" >&2; return 1; }
	calc "%.3f" "$t1 - $t0"
}

# ---- the 1M-sample recording (bench/formats.sh makes the same one) ----------------
REC=$CACHE/1m.cprof
mkdir -p "$CACHE"
SRC=$TOP/build/fixtures/threads
[ -x "$WL/bin/threads" ] && SRC=$WL/bin/threads
if [ ! -s "$REC" ]; then
	"$CPROF" record -q -o "$T/small.cprof" -- "$SRC" >/dev/null 2>&1 &&
		"$GEN" "$T/small.cprof" "$REC" 1000000 || { echo "tui: cannot make $REC" >&2; exit 1; }
fi

: >"$T/open"
for ((i = 0; i < RUNS; i++)); do
	open_time 'thread_alpha_hot' "$CPROF" report --tui -i "$REC" >>"$T/open" || exit 1
done
open=$(median <"$T/open")
echo "tui: open 1M samples: $open s (median of $RUNS; bar < 0.5 s) $(verdict "$open < 0.5")"

# keys, once each, on an open browser
open_time 'thread_alpha_hot' "$CPROF" report --tui -i "$REC" >"$T/o1" || exit 1
line="tui: keys on 1M samples:"
for k in "T|Call tree" "+|thread_main" "c|Callers and callees" "q|Call tree" "i|inverted" "T|Top functions" "t|Show only one thread" "Down|thr-" "Enter|filter: thread"; do
	s=$(key_time "${k%%|*}" "${k#*|}") || { failed=1; s=nan; }
	line="$line ${k%%|*} $(calc "%.0f" "$s * 1000") ms,"
done
echo "${line%,}"

# ---- against perf report's TUI on recordings of the same program --------------------
TARGET=$TOP/build/fixtures/cpu_split_nofp
[ -x "$WL/bin/cpu_split_nofp" ] && TARGET=$WL/bin/cpu_split_nofp
if ! command -v perf >/dev/null; then
	echo "SKIP: tui vs perf report: perf is not installed"
elif ! perf record -q -N -F 999 -e cpu-clock --call-graph dwarf -o "$T/p.data" -- "$TARGET" >/dev/null 2>"$T/perf.err"; then
	echo "SKIP: tui vs perf report: perf record failed: $(head -n 1 "$T/perf.err")"
elif ! "$CPROF" record -q -F 999 -o "$T/c.data" -- "$TARGET" >/dev/null 2>"$T/c.err"; then
	echo "SKIP: tui vs perf report: cprof record failed: $(head -n 1 "$T/c.err")"
else
	: >"$T/c.open"
	: >"$T/p.open"
	for ((i = 0; i < RUNS; i++)); do
		open_time 'hot_sixty' "$CPROF" report --tui -i "$T/c.data" >"$T/o1" || exit 1
		cat "$T/o1" >>"$T/c.open"
		open_time 'hot_sixty' perf report -i "$T/p.data" --no-children >"$T/o1" || exit 1
		cat "$T/o1" >>"$T/p.open"
	done
	c=$(median <"$T/c.open")
	p=$(median <"$T/p.open")
	echo "tui: open a cpu_split recording: cprof $c s, perf report $p s: $(calc "%.1f" "$p / $c")x (bar >= 1x) $(verdict "$p >= $c")"
fi
exit $failed
