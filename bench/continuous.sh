#!/usr/bin/env bash
# continuous.sh - `make bench`, the costs of recording (run.sh calls it):
#   one-shot      `cprof record -- cpu_split_nofp 600` (a ~0.8 s program),
#                 whole-command wall time against the plain run and
#                 `perf record --no-bpf-event`, median of BENCH_RUNS paired
#                 runs with the symbol cache warm; and the recorder's own CPU
#                 time (cprof -v); bars <= 1.05x and <= 30 ms
#   deep stacks   deep_stack (300 frames, no frame pointers) under cprof
#                 record and perf record --call-graph dwarf, wall time over
#                 the plain run; bar: cprof's overhead <= perf's
#   period end    --every 1s on cpu_split: the recorder's CPU at each
#                 period's end (the cut, and the writing thread's CPU for
#                 the files), steady periods; bar <= 20 ms
#   host agent    attach -a -F 19 --every 5s on a machine kept busy: the
#                 recorder's CPU (share of one core) and peak RSS; bars
#                 <= 1% and <= 64 MiB
#   ptrace        many_threads (1 busy thread, 150 waking every 10 ms) under
#                 --sampler ptrace and perf at 99 and 999 Hz: wall time over
#                 the plain run, and the busy function's share (the
#                 sleepers' share should match perf's within 3 points);
#                 bars <= 1.05x at 99 Hz, <= 1.5x at 999 Hz
#   bench/continuous.sh BUILD_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup cont "${1:-}"
RUNS=${BENCH_RUNS:-7}
pids=
trap 'rm -rf "$T"; [ -n "$pids" ] && kill $pids 2>/dev/null' EXIT
PERF=$(command -v perf || true)
[ -n "$PERF" ] && ! "$PERF" record -q -N -e cpu-clock -o "$T/probe.perf" -- true 2>/dev/null && PERF=

# wall seconds of a command (stdout and stderr to files), or nothing on failure
wall_of() { # out-prefix command...
	local p=$1 t0 t1
	shift
	t0=$(now)
	"$@" >"$p.out" 2>"$p.err" || return 1
	t1=$(now)
	calc "%.4f" "$t1 - $t0"
}
# the recorder's own CPU seconds from `cprof -v record`'s info line
rec_cpu() { sed -n 's/.*recorder cpu time \([0-9.]*\) s user, \([0-9.]*\) s system.*/\1 \2/p' "$1" |
	awk '{ printf "%.4f\n", $1 + $2 }'; }

# ---- one-shot recording ---------------------------------------------------------
CS=$FX/cpu_split_nofp
"$CPROF" record -q -o "$T/warm.data" -- "$CS" 300 >/dev/null 2>&1 # the symbol cache, warm
: >"$T/p" >"$T/c" >"$T/f" >"$T/cc"
for i in $(seq 1 "$RUNS"); do
	wall_of "$T/p" "$CS" 600 >>"$T/p"
	wall_of "$T/c$i" "$CPROF" -v record -o "$T/o.data" -- "$CS" 600 >>"$T/c"
	rec_cpu "$T/c$i.err" >>"$T/cc"
	[ -n "$PERF" ] && wall_of "$T/f" "$PERF" record -q --no-bpf-event -o "$T/o.perf" -- "$CS" 600 >>"$T/f"
done
p=$(median <"$T/p") c=$(median <"$T/c") cc=$(median <"$T/cc")
cr=$(calc "%.3f" "$c / $p")
line="one-shot record of cpu_split_nofp 600: cprof ${cr}x"
if [ -n "$PERF" ]; then
	f=$(median <"$T/f")
	line="$line, perf record --no-bpf-event $(calc "%.3f" "$f / $p")x"
fi
echo "$line (wall, median of $RUNS paired runs, plain $p s; bar <= 1.05) $(verdict "$cr <= 1.05")"
echo "one-shot: the recorder's own CPU $(calc "%.1f" "$cc * 1000") ms with a warm symbol cache (bar <= 30 ms) $(verdict "$cc <= 0.030")"

# ---- deep stacks --------------------------------------------------------------
DS=$FX/deep_stack
: >"$T/dp" >"$T/dc" >"$T/df"
for i in $(seq 1 "$RUNS"); do
	wall_of "$T/x" "$DS" 350 300 >>"$T/dp"
	wall_of "$T/x" "$CPROF" record -q -o "$T/o.data" -- "$DS" 350 300 >>"$T/dc"
	[ -n "$PERF" ] && wall_of "$T/x" "$PERF" record -q --no-bpf-event --call-graph dwarf \
		-o "$T/o.perf" -- "$DS" 350 300 >>"$T/df"
done
dp=$(median <"$T/dp") dc=$(median <"$T/dc")
dcr=$(calc "%.3f" "$dc / $dp")
if [ -n "$PERF" ]; then
	dfr=$(calc "%.3f" "$(median <"$T/df") / $dp")
	echo "deep stacks (deep_stack 350 300, 300 frames): cprof ${dcr}x, perf --call-graph dwarf ${dfr}x (wall over plain $dp s; bar: cprof <= perf) $(verdict "$dcr <= $dfr")"
else
	echo "deep stacks: cprof ${dcr}x (wall over plain $dp s); SKIP perf: not installed or not allowed"
fi

# ---- the end of a period ---------------------------------------------------------
"$CPROF" -v -v record --every 1s --output-dir "$T/per" -- "$CS" 3500 >/dev/null 2>"$T/per.err"
# steady periods: all but the first (caches cold) and the last (partial)
cut=$(sed -n 's/.*period cut in \([0-9.]*\) ms.*/\1/p' "$T/per.err" | sed '1d;$d' | median)
wr=$(sed -n 's/.*period .* written: \([0-9.]*\) ms of CPU.*/\1/p' "$T/per.err" | sed '1d;$d' | median)
first=$(sed -n 's/.*period cut in \([0-9.]*\) ms.*/\1/p' "$T/per.err" | head -1)
tot=$(calc "%.2f" "$cut + $wr")
echo "period end (--every 1s, cpu_split, cprof+pprof+svg): ${tot} ms of recorder CPU (cut $cut ms, files $wr ms; first period's cut $first ms) (bar <= 20 ms) $(verdict "$tot <= 20")"

# ---- a host agent on a busy machine ----------------------------------------------
if "$CPROF" attach -q -a -d 1 -o "$T/probe.data" 2>/dev/null; then
	for k in $(seq 1 "$(nproc)"); do
		"$CS" 1000000 >/dev/null &
		pids="$pids $!"
	done
	"$CPROF" attach -q -a -F 19 --every 5s --output-dir "$T/host" -d 20 >/dev/null 2>"$T/host.err" &
	apid=$!
	sleep 19.5
	read -r ut st < <(awk '{ print $14, $15 }' "/proc/$apid/stat")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$apid/status")
	wait $apid
	kill $pids 2>/dev/null
	wait $pids 2>/dev/null
	pids=
	hz=$(getconf CLK_TCK)
	share=$(calc "%.2f" "($ut + $st) / $hz / 19.5 * 100")
	echo "host agent (attach -a -F 19 --every 5s, $(nproc) busy CPUs, 20 s): recorder CPU ${share}% of a core, peak RSS $(calc "%.1f" "$hwm / 1024") MiB (bars <= 1% and <= 64 MiB) $(verdict "$share <= 1 && $hwm <= 65536")"
else
	echo "SKIP: host agent: attach -a is not allowed here (root or perf_event_paranoid <= 0)"
fi

# ---- the ptrace sampler at service scale -----------------------------------------
MT=$FX/many_threads
mt_share() { "$CPROF" report --stdio -i "$1" 2>/dev/null | awk '$4 == "many_hot" { print $1; exit }'; }
: >"$T/mp"
for i in 1 2 3; do wall_of "$T/x" "$MT" 150 >>"$T/mp"; done
mp=$(median <"$T/mp")
for hz in 99 999; do
	line="ptrace at service scale (many_threads 150, $hz Hz):"
	for s in perf ptrace; do
		: >"$T/m$s"
		for i in 1 2 3; do
			wall_of "$T/x" "$CPROF" record -q --sampler $s -F $hz -o "$T/m$s.data" -- "$MT" 150 >>"$T/m$s"
		done
		r=$(calc "%.2f" "$(median <"$T/m$s") / $mp")
		sh=$(mt_share "$T/m$s.data")
		eval "r_$s=$r sh_$s=${sh:-0}"
		line="$line $s ${r}x (many_hot ${sh:-?}%),"
	done
	bar=1.05
	[ $hz = 999 ] && bar=1.5
	echo "${line%,} (plain $mp s; bars: ptrace <= ${bar}x, its share within 3 points of perf's) $(verdict "$r_ptrace <= $bar && ${sh_ptrace:-0} - ${sh_perf:-0} <= 3 && ${sh_perf:-0} - ${sh_ptrace:-0} <= 3")"
	unset sh_ptrace sh_perf
done
exit 0
