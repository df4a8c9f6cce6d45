#!/usr/bin/env bash
# run.sh - `make bench`: cprof measured against the tools its users would
# otherwise run (perf, addr2line), every ratio from this run on this machine.
#
#   bench/run.sh [BUILD_DIR]        (default build; make bench passes $(O))
#
# One line per figure, each with its bar:
#   slowdown      the target's own CPU time (user+sys, from bash's time
#                 running inside the recorder) under `cprof record` and
#                 `perf record`, both -F 999 --call-graph dwarf, over a plain
#                 run; median of BENCH_RUNS (7) interleaved runs
#   bytes/sample  recording size / samples, cprof against perf (default 8 KiB
#                 stack copy, and 65528 bytes, the copy cprof itself takes)
#   report        `cprof report --stdio` against `perf report --stdio
#                 --no-children` on those recordings, median wall time
#   symbolize     bench/symbolize.sh's line, when that script exists
#   unwind        libunwind (lib/unwind) against libdw on the same samples
#                 (build/bench/unwind-compare)
#   attach        bench/attach.sh: attach start to first sample; slowdown
#                 under the ptrace sampler at 99 and 999 Hz vs perf_event
#   formats       bench/formats.sh: cprof flame on 48 MB of folded stacks,
#                 convert of a 1M-sample recording, pprof top functions
#                 against go tool pprof, pprof size
#   tui           bench/tui.sh: the report browser (in tmux) opening a
#                 1M-sample recording, key response times, and opening a
#                 recording against perf report's TUI
#   continuous    bench/continuous.sh: one-shot record wall time and the
#                 recorder's CPU (warm symbol cache), deep stacks against
#                 perf, the cost of a period's end, a host agent (-a -F 19)
#                 on a busy machine, the ptrace sampler with 150 threads
#   heap          bench/heap.sh: cprof heap against heaptrack (full mode on
#                 alloc_heavy and alloc_threads), sampled mode on
#                 alloc_heavy and CPython, target RSS, bytes per event
#   serve         bench/serve.sh: cprof serve's request -> first sample,
#                 GET /health under wrk (alone and with 64 profiles
#                 pending), Go's rule over 8 targets, the server's RSS
#   store         bench/store.sh: the list query of a 100k-profile store
#                 under wrk, RSS, merge of 60 profiles, end of a period to
#                 listed with --push
#   agent         bench/agent.sh: heartbeats per second (wrk), 1000
#                 simulated agents, request -> started, the agent idle over
#                 HTTPS, 100 SIGKILL cycles, the server away 60 s
#   strace        bench/strace.sh: cprof strace-lite against strace and perf
#                 (trace -s, stat, record): -c on syscall_heavy and find,
#                 -e trace=openat with seccomp-bpf, full decode, --record
# Workloads come from ../shared/workloads/bin when present, else from
# build/fixtures (the same programs).  Needs perf_event access; what cannot
# run is skipped with a SKIP line saying why.
set -u
LC_ALL=C
export LC_ALL

CPROF_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$CPROF_TOP" || exit 1
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$CPROF_TOP/$BUILD ;; esac
CPROF=$BUILD/cprof
UNWIND_COMPARE=$BUILD/bench/unwind-compare
RUNS=${BENCH_RUNS:-7}
FREQ=999
failed=0

T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

if [ -x "$CPROF_TOP/../shared/workloads/bin/cpu_split_nofp" ]; then
	WL=$(cd "$CPROF_TOP/../shared/workloads/bin" && pwd)
else
	WL=$CPROF_TOP/build/fixtures
fi
TARGET=$WL/cpu_split_nofp

die() {
	echo "bench: $*" >&2
	exit 1
}
[ -x "$CPROF" ] || die "no '$CPROF': run 'make' first"
[ -x "$TARGET" ] || die "no '$TARGET': run 'make fixtures' first"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package 'time')"

# ---- helpers -----------------------------------------------------------------

. "$CPROF_TOP/bench/lib.sh"
cpu_of() { # /usr/bin/time -f '%e %U %S' output -> user+sys seconds
	awk 'NF == 3 { s = $2 + $3 } END { if (s == "") print "nan"; else print s }' "$1"
}
# run "$@" with stdout to /dev/null, print its wall time in seconds
wall() {
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>"$T/wall.err" || return 1
	t1=$(now)
	calc "%.4f" "$t1 - $t0"
}

# ---- machine and permissions ------------------------------------------------

PERF=$(command -v perf || true)
perf_ver=none
[ -n "$PERF" ] && perf_ver=$("$PERF" --version 2>/dev/null | awk '{ print $3 }')
perf_ver=${perf_ver:-unknown}
echo "machine: $(nproc) CPUs, Linux $(uname -r) $(uname -m), perf $perf_ver," \
	"cprof $("$CPROF" --version 2>/dev/null | awk '{ print $NF }'), workloads $WL"

have_cprof=1
if ! "$CPROF" record -q -o "$T/probe.data" -- true 2>"$T/probe.err"; then
	have_cprof=0
	echo "SKIP: cprof cannot sample here ($(head -n 1 "$T/probe.err"));" \
		"perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null)" \
		"- slowdown, bytes/sample, report and unwind are skipped"
fi
have_perf=1
if [ -z "$PERF" ]; then
	have_perf=0
	echo "SKIP: perf is not installed: no perf figures (Debian: linux-perf)"
elif ! "$PERF" record -q -N -e cpu-clock -o "$T/probe.perf" -- true 2>"$T/probe.err"; then
	have_perf=0
	echo "SKIP: perf cannot sample here ($(grep -m1 . "$T/probe.err")): no perf figures"
fi

# ---- a. target slowdown, b. bytes per sample --------------------------------
# Recordings of run 1 are kept for the report timing; the others are
# measured and deleted.  perf record -N keeps ~/.debug untouched and
# changes neither the target's work nor the file.

# The target's own CPU time with millisecond resolution (/usr/bin/time
# prints 10 ms steps, as coarse as the effect measured): bash's `time`
# keyword over the workload, run inside the recorder.
timed() { # output file, command...
	local out=$1
	shift
	bash -c 'out=$1; shift; TIMEFORMAT="%3R %3U %3S"; { time "$@" ; } 2>"$out"' timed "$out" "$@"
}
cprof_rec() { # run number
	"$CPROF" record -F "$FREQ" --call-graph dwarf -o "$T/c$1.data" -- \
		bash -c 'TIMEFORMAT="%3R %3U %3S"; { time "$1" ; } 2>"$2"' timed "$TARGET" "$T/c$1.time" 2>"$T/c$1.err" &&
		sed -n 's/^cprof record: \([0-9][0-9]*\) samples.*/\1/p' "$T/c$1.err" >"$T/c$1.n"
}
perf_rec() { # run number [stack size]
	local cg=dwarf
	[ $# -gt 1 ] && cg=dwarf,$2
	"$PERF" record -N -F "$FREQ" -e cpu-clock --call-graph "$cg" -o "$T/p$1.data" -- \
		bash -c 'TIMEFORMAT="%3R %3U %3S"; { time "$1" ; } 2>"$2"' timed "$TARGET" "$T/p$1.time" 2>"$T/p$1.err" &&
		sed -n 's/.*(\([0-9][0-9]*\) samples).*/\1/p' "$T/p$1.err" >"$T/p$1.n"
}
plain_run() {
	timed "$T/n$1.time" "$TARGET"
}
size_per_sample() { # data file, samples file
	local n
	n=$(cat "$2" 2>/dev/null)
	[ -n "$n" ] && [ "$n" -gt 0 ] || { echo nan; return; }
	calc "%.1f" "$(stat -c %s "$1") / $n"
}

if [ $have_cprof = 1 ]; then
	fail=
	for i in $(seq 1 "$RUNS"); do
		# rotate the order so drift over time hits every variant alike
		case $((i % 3)) in
		1) order="plain cprof perf" ;;
		2) order="cprof perf plain" ;;
		0) order="perf plain cprof" ;;
		esac
		for v in $order; do
			case $v in
			plain) plain_run "$i" || fail="plain run $i" ;;
			cprof) cprof_rec "$i" || fail="cprof record (run $i): $(tail -n 1 "$T/c$i.err")" ;;
			perf) [ $have_perf = 1 ] && { perf_rec "$i" ||
				fail="perf record (run $i): $(tail -n 1 "$T/p$i.err")"; } ;;
			esac
		done
		[ -n "$fail" ] && break
		if [ "$i" -gt 1 ]; then
			size_per_sample "$T/c$i.data" "$T/c$i.n" >>"$T/c.bps"
			rm -f "$T/c$i.data"
			if [ $have_perf = 1 ]; then
				size_per_sample "$T/p$i.data" "$T/p$i.n" >>"$T/p.bps"
				rm -f "$T/p$i.data"
			fi
		fi
	done
	if [ -n "$fail" ]; then
		echo "FAIL: slowdown: $fail"
		failed=1
		have_cprof=0
	else
		size_per_sample "$T/c1.data" "$T/c1.n" >>"$T/c.bps"
		[ $have_perf = 1 ] && size_per_sample "$T/p1.data" "$T/p1.n" >>"$T/p.bps"
		base=$(for i in $(seq 1 "$RUNS"); do cpu_of "$T/n$i.time"; done | median)
		ccpu=$(for i in $(seq 1 "$RUNS"); do cpu_of "$T/c$i.time"; done | median)
		cr=$(calc "%.3f" "$ccpu / $base")
		if [ $have_perf = 1 ]; then
			pcpu=$(for i in $(seq 1 "$RUNS"); do cpu_of "$T/p$i.time"; done | median)
			pr=$(calc "%.3f" "$pcpu / $base")
			echo "slowdown: cprof $cr, perf $pr (bar: cprof <= 1.05 and <= perf)" \
				"$(verdict "$cr <= 1.05 && $cr <= $pr")" \
				"[target cpu s, median of $RUNS: plain $base, cprof $ccpu, perf $pcpu]"
		else
			echo "slowdown: cprof $cr, perf n/a (bar: cprof <= 1.05)" \
				"$(verdict "$cr <= 1.05")" \
				"[target cpu s, median of $RUNS: plain $base, cprof $ccpu]"
		fi

		cb=$(median <"$T/c.bps")
		if [ $have_perf = 1 ]; then
			pb=$(median <"$T/p.bps")
			perf_rec big 65528 && big=$(size_per_sample "$T/pbig.data" "$T/pbig.n") || big=failed
			rm -f "$T/pbig.data"
			k=$(calc "%.0f" "$pb / $cb")
			echo "bytes/sample: cprof $cb, perf $pb (ratio 1/$k; bar <= 1/20)" \
				"$(verdict "$cb * 20 <= $pb");" \
				"perf --call-graph dwarf,65528: $big (1/$(calc "%.0f" "$big / $cb"))" \
				"[$(cat "$T/c1.n") samples, cpu_split_nofp]"
		else
			echo "bytes/sample: cprof $cb, perf n/a"
		fi
	fi
fi

# ---- c. recording to report --------------------------------------------------

if [ $have_cprof = 1 ] && [ $have_perf = 1 ]; then
	fail=
	for i in $(seq 1 "$RUNS"); do
		wall "$CPROF" report --stdio -i "$T/c1.data" >>"$T/c.rep" ||
			{ fail="cprof report: $(tail -n 1 "$T/wall.err")"; break; }
		wall "$PERF" report --stdio --no-children -i "$T/p1.data" >>"$T/p.rep" ||
			{ fail="perf report: $(grep -m1 . "$T/wall.err")"; break; }
	done
	if [ -n "$fail" ]; then
		echo "FAIL: report: $fail"
		failed=1
	else
		ct=$(median <"$T/c.rep")
		pt=$(median <"$T/p.rep")
		x=$(calc "%.0f" "$pt / $ct")
		echo "report: cprof ${ct} s, perf ${pt} s (perf/cprof ${x}x; bar >= 5x)" \
			"$(verdict "$pt >= 5 * $ct")" \
			"[cprof $(cat "$T/c1.n") vs perf $(cat "$T/p1.n") samples, median of $RUNS]"
	fi
elif [ $have_cprof = 1 ]; then
	echo "SKIP: report: no perf to compare with"
fi
rm -f "$T"/c1.data "$T"/p1.data

# ---- d. symbolization ----------------------------------------------------------

if [ -x "$CPROF_TOP/bench/symbolize.sh" ]; then
	"$CPROF_TOP/bench/symbolize.sh" "$BUILD" || { echo "FAIL: bench/symbolize.sh exited with $?"; failed=1; }
else
	echo "SKIP: symbolize: bench/symbolize.sh is not there yet"
fi

# ---- f. attach latency and the ptrace sampler --------------------------------------

"$CPROF_TOP/bench/attach.sh" "$BUILD" || { echo "FAIL: bench/attach.sh exited with $?"; failed=1; }

# ---- g. flame graphs and format conversion ----------------------------------------
"$CPROF_TOP/bench/formats.sh" "$BUILD" || { echo "FAIL: bench/formats.sh exited with $?"; failed=1; }

# ---- h. the report browser ---------------------------------------------------------
"$CPROF_TOP/bench/tui.sh" "$BUILD" || { echo "FAIL: bench/tui.sh exited with $?"; failed=1; }

# ---- i. recording costs: one-shot, deep stacks, periods, host agent, ptrace at scale
"$CPROF_TOP/bench/continuous.sh" "$BUILD" || { echo "FAIL: bench/continuous.sh exited with $?"; failed=1; }

# ---- j. cprof heap against heaptrack: full and sampled mode -------------------------
"$CPROF_TOP/bench/heap.sh" "$BUILD" || { echo "FAIL: bench/heap.sh exited with $?"; failed=1; }

# ---- k. cprof serve under load --------------------------------------------------------
"$CPROF_TOP/bench/serve.sh" "$BUILD" || { echo "FAIL: bench/serve.sh exited with $?"; failed=1; }
"$CPROF_TOP/bench/store.sh" "$BUILD" || { echo "FAIL: bench/store.sh exited with $?"; failed=1; }
"$CPROF_TOP/bench/agent.sh" "$BUILD" || { echo "FAIL: bench/agent.sh exited with $?"; failed=1; }

# ---- l. cprof strace-lite against strace and perf trace ---------------------------------
"$CPROF_TOP/bench/strace.sh" "$BUILD" || { echo "FAIL: bench/strace.sh exited with $?"; failed=1; }

# ---- e. unwinding engines --------------------------------------------------------

if [ $have_cprof = 0 ]; then
	:
elif [ ! -x "$UNWIND_COMPARE" ]; then
	echo "SKIP: unwind: no '$UNWIND_COMPARE' (make bench-tools)"
else
	"$UNWIND_COMPARE" -n "$RUNS" "$WL/deep_stack 150 300" "$WL/cpu_split_nofp 300" ||
		{ echo "FAIL: unwind-compare exited with $?"; failed=1; }
fi
exit $failed
