#!/usr/bin/env bash
# strace.sh - `make bench`, the costs of `cprof strace-lite` (run.sh calls
# it), side by side with strace and perf in the same run.  Every figure is
# a ratio of whole-command wall times over the same plain run of the
# workload, median of interleaved runs (BENCH_RUNS, 7; full decode and
# --record, ~2-5 s a run here, min(3, BENCH_RUNS); strace -f -c
# and perf trace -s on 400k calls, ~20 s and ~12 s here, one run); about
# 6 minutes in all; overhead = ratio - 1:
#   -c, syscall_heavy 20000 (400k calls): cprof (as root: counted in the
#       kernel by BPF programs; also --engine events, the tracepoint rings
#       it falls back to) against strace -f -c, perf trace -s and perf
#       stat of the two raw_syscalls tracepoints (their mere cost)
#                                       bar: cprof <= 2.5x; its overhead
#                                       <= 1/25 strace's, <= 1/15 perf trace's
#   -c, find /usr -name '*.h' (repeated to ~2 s, page cache warm: the
#       tools' start-up, ~45 ms, is not what is measured),
#       the same four                   bar <= 1.1x
#   -e trace=openat at launch (ptrace + seccomp-bpf), syscall_heavy 20000,
#       against strace -f --seccomp-bpf bar: cprof <= strace
#   the same on rare calls: dd bs=1 count=800000 (openat a handful of
#       times, read/write 1.6M times)   bar <= 1.3x
#   full decode, syscall_heavy 2000, against strace -f
#                                       bar: cprof <= strace
#   --record --stack-size 8192, syscall_heavy 20000, against perf record
#       -e raw_syscalls:sys_enter --call-graph dwarf,8192
#                                       bar: cprof <= perf; the events each
#       lost; write calls whose stack reaches main (cprof convert
#       --sample-type calls; perf script)  bar: cprof >= perf
#   bench/strace.sh BUILD_DIR      (CPROF=/path/to/cprof to measure another binary)
# A cprof run that fails gives its line "cprof failed (its last message)"
# and MISSED, never a figure.
cprof_env=${CPROF:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup strace "${1:-}"
CPROF=${cprof_env:-$CPROF}
RUNS=${BENCH_RUNS:-7}
SLOW=$((RUNS < 3 ? RUNS : 3))
trap 'rm -rf "$T"' EXIT
W=$FX/syscall_heavy
STRACE=$(command -v strace || true)
PERF=$(command -v perf || true)
sver=none pver=none
[ -n "$STRACE" ] && sver=$("$STRACE" -V 2>/dev/null | awk 'NR == 1 { print $NF }')
[ -n "$PERF" ] && pver=$("$PERF" --version 2>/dev/null | awk '{ print $3 }')
echo "== strace-lite: cprof strace-lite against strace $sver and perf $pver (wall time over a plain run;" \
	"medians of $RUNS interleaved runs, $SLOW for full decode and --record)"
[ -x "$W" ] || { echo "FAIL: strace-lite: no '$W': run 'make fixtures' first"; exit 1; }
[ -x "$CPROF" ] || { echo "FAIL: strace-lite: no '$CPROF': run 'make' first"; exit 1; }
[ -n "$STRACE" ] || echo "SKIP: strace-lite: strace is not installed: no strace figures (Debian: strace)"
[ -n "$PERF" ] || echo "SKIP: strace-lite: perf is not installed: no perf figures (Debian: linux-perf)"

# find /usr repeated to ~2 s, the page cache warm
find /usr -name '*.h' >/dev/null 2>&1
tf=9
for _ in 1 2 3; do # the fastest of 3 runs
	t0=$(now)
	find /usr -name '*.h' >/dev/null 2>&1
	t1=$(now)
	tf=$(calc "%.4f" "($t1 - $t0 < $tf) ? $t1 - $t0 : $tf")
done
NFIND=$(calc "%.0f" "2 / ($tf + 0.001)")
[ "$NFIND" -ge 1 ] 2>/dev/null || NFIND=1
[ "$NFIND" -le 20 ] || NFIND=20
FIND=(sh -c 'for i in $(seq "$1"); do find /usr -name "*.h"; done' find "$NFIND")
DD=(dd if=/dev/zero of=/dev/null bs=1 count=800000)
RAW=(-e raw_syscalls:sys_enter -e raw_syscalls:sys_exit)
: >"$T/c_cprof.lost" && : >"$T/r_cprof.lost" && : >"$T/r_perf.lost" && : >"$T/r_cprof.main" && : >"$T/r_perf.main"

# the variants; stdout to /dev/null, stderr to $T/NAME.err
variant() { # name
	case $1 in
	plain) "$W" 20000 ;;
	plain2k) "$W" 2000 ;;
	c_cprof) "$CPROF" strace-lite -c -f -o /dev/null -- "$W" 20000 ;;
	c_rings) "$CPROF" strace-lite --engine events -c -f -o /dev/null -- "$W" 20000 ;;
	c_strace) "$STRACE" -f -c -o /dev/null "$W" 20000 ;;
	c_ptrace) "$PERF" trace -s -o /dev/null -- "$W" 20000 ;;
	c_pstat) "$PERF" stat "${RAW[@]}" -o /dev/null "$W" 20000 ;;
	f_plain) "${FIND[@]}" ;;
	f_cprof) "$CPROF" strace-lite -c -f -o /dev/null -- "${FIND[@]}" ;;
	f_rings) "$CPROF" strace-lite --engine events -c -f -o /dev/null -- "${FIND[@]}" ;;
	f_pstat) "$PERF" stat "${RAW[@]}" -o /dev/null "${FIND[@]}" ;;
	o_cprof) "$CPROF" strace-lite -f -e trace=openat -o /dev/null -- "$W" 20000 ;;
	o_strace) "$STRACE" -f --seccomp-bpf -e trace=openat -o /dev/null "$W" 20000 ;;
	d_plain) "${DD[@]}" ;;
	d_cprof) "$CPROF" strace-lite -f -e trace=openat -o /dev/null -- "${DD[@]}" ;;
	d_strace) "$STRACE" -f --seccomp-bpf -e trace=openat -o /dev/null "${DD[@]}" ;;
	x_cprof) "$CPROF" strace-lite -f -o /dev/null -- "$W" 2000 ;;
	x_strace) "$STRACE" -f -o /dev/null "$W" 2000 ;;
	r_cprof) "$CPROF" strace-lite --record --stack-size 8192 -o "$T/r.cprof" -- "$W" 20000 ;;
	r_perf) "$PERF" record -N -e raw_syscalls:sys_enter --call-graph dwarf,8192 -o "$T/r.data" "$W" 20000 ;;
	esac
}
# measure NAME: one timed run, its wall time appended to $T/NAME.w; a
# failure is kept in $T/NAME.fail and the variant not run again
measure() {
	local v=$1 t0 t1
	[ -e "$T/$v.fail" ] && return
	case $v in *strace) [ -n "$STRACE" ] || return ;; c_p* | f_pstat | r_perf) [ -n "$PERF" ] || return ;; esac
	t0=$(now)
	if variant "$v" >/dev/null 2>"$T/$v.err"; then
		t1=$(now)
		calc "%.4f" "$t1 - $t0" >>"$T/$v.w"
		after "$v"
	else
		echo "failed ($(grep -v '^ *$' "$T/$v.err" | tail -n 1 | sed 's/^cprof strace-lite: //' | cut -c 1-100))" >"$T/$v.fail"
	fi
	rm -f "$T/r.cprof" "$T/r.data"
}
# after NAME: what a run leaves to count besides its time
after() {
	case $1 in
	c_cprof) awk '/^[0-9]+ events lost/ && l == "" { l = $1 } END { print l + 0 }' "$T/c_cprof.err" >>"$T/c_cprof.lost" ;;
	r_cprof)
		# "N events lost: ...; M calls whose enter or exit was lost ..." and
		# "R calls recorded": events lost, calls lost, % of the calls lost
		awk '/^[0-9]+ events lost/ && e == "" { e = $1; for (i = 2; i < NF; i++) if ($(i + 1) == "calls") l = $i }
			/calls recorded/ { for (i = 1; i < NF; i++) if ($(i + 1) == "calls") r = $i }
			END { printf "%d %d %.1f\n", e, l, (r + l) ? 100 * l / (r + l) : 0 }' "$T/r_cprof.err" >>"$T/r_cprof.lost"
		"$CPROF" convert --to folded --sample-type calls -i "$T/r.cprof" 2>/dev/null |
			awk '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s) }
				s ~ /(^|;)main;/ && s ~ /;syscall:write$/ { m += n; if (s ~ /;burst_write;/) b += n }
				END { print m + 0, b + 0 }' >>"$T/r_cprof.main"
		;;
	r_perf)
		# "Processed N samples and lost X%!", "Processed N events and lost C chunks!"
		awk '/samples and lost [0-9.]+%/ { for (i = 1; i < NF; i++) if ($i == "lost") p = $(i + 1) }
			/events and lost [0-9]+ chunks/ { for (i = 1; i < NF; i++) if ($i == "lost") c = $(i + 1) }
			END { sub(/%.*/, "", p); printf "%.1f %d\n", p, c }' "$T/r_perf.err" >>"$T/r_perf.lost"
		"$PERF" script -i "$T/r.data" -F trace,ip,sym 2>/dev/null |
			awk 'function done() { if (w && m) { c++; if (b) cb++ } }
				/^[^ \t]/ { done(); w = /^NR 1 \(/; m = b = 0; next }
				$2 == "main" { m = 1 } $2 == "burst_write" { b = 1 }
				END { done(); print c + 0, cb + 0 }' >>"$T/r_perf.main"
		;;
	esac
}
# rotate K WORD...: the words from the K-th on, then the first ones
rotate() {
	local k=$1
	shift
	local a=("$@")
	k=$((k % ${#a[@]}))
	echo "${a[@]:k}" "${a[@]:0:k}"
}
med() { # name -> median wall time, or the failure
	if [ -e "$T/$1.fail" ]; then cat "$T/$1.fail"; elif [ -s "$T/$1.w" ]; then median <"$T/$1.w"; else echo "n/a"; fi
}
isnum() { case ${1:-x} in *[!0-9.]* | "" | .) return 1 ;; esac; }
sec() { local m; m=$(med "$1"); isnum "$m" && calc "%.3f s" "$m" || echo "$m"; } # median wall time, formatted
# x NAME BASE: the ratio NAME / BASE ("1.23x"), or why there is none
x() {
	local a b
	a=$(med "$1") b=$(med "$2")
	if isnum "$a" && isnum "$b"; then calc "%.2fx" "$a / $b"; elif isnum "$b"; then echo "$a"; else echo "n/a (plain run $b)"; fi
}
# bar CONDITION VALUE...: ok when every value is a number and CONDITION holds
bar() {
	local c=$1 v
	shift
	for v in "$@"; do isnum "${v%x}" || { echo MISSED; return; }; done
	verdict "$c"
}
n() { case $1 in *x) echo "${1%x}" ;; *) echo "$1" ;; esac; }
col() { # FILE K: the median of column K of $T/FILE (one line a run), "n/a" for none
	if [ -s "$T/$1" ]; then awk -v k="$2" '{ print $k }' "$T/$1" | median; else echo n/a; fi
}
tool() { # name what -> "what" and, unless installed, why not
	case $1 in
	*strace) [ -n "$STRACE" ] || { echo "not installed"; return; } ;;
	c_p* | f_pstat | r_perf) [ -n "$PERF" ] || { echo "not installed"; return; } ;;
	esac
	echo "$2"
}

# ---- the runs -------------------------------------------------------------------------
fast=(plain c_cprof c_rings c_pstat f_plain f_cprof f_rings f_pstat d_plain d_cprof d_strace)
for i in $(seq "$RUNS"); do
	for v in $(rotate "$i" "${fast[@]}"); do measure "$v"; done
done
# -e trace=openat against strace: the two within 10% of each other and
# each run +-10%, so medians of all the runs (3 gave either order)
for i in $(seq "$RUNS"); do
	for v in $(rotate "$i" o_cprof o_strace); do measure "$v"; done
done
slow=(plain plain2k x_cprof x_strace r_cprof r_perf)
for i in $(seq "$SLOW"); do
	list=("${slow[@]}")
	[ "$i" = 1 ] && list+=(c_strace c_ptrace)
	for v in $(rotate "$i" "${list[@]}"); do measure "$v"; done
done

# ---- the figures ---------------------------------------------------------------------------
P=$(sec plain)
# what -c counts with here: "in-kernel" (root, BPF) or "tracepoints"
engine=$("$CPROF" -v strace-lite -c -o /dev/null -- true 2>&1 | sed -n 's/.*counting through the \(.*\) engine.*/\1/p')
cr=$(x c_cprof plain) sr=$(x c_strace plain) pr=$(x c_ptrace plain) fr=$(x c_pstat plain) rr=$(x c_rings plain)
lost="$(col c_cprof.lost 1) events lost"
echo "strace-lite -c, syscall_heavy 20000 (400k calls): cprof $cr (${engine:-engine unknown}; the tracepoint rings $rr)," \
	"strace -f -c $(tool c_strace "$sr")," \
	"perf trace -s $(tool c_ptrace "$pr"), perf stat of raw_syscalls $(tool c_pstat "$fr") (bar: cprof <= 2.5x)" \
	"$(bar "$(n "$cr") <= 2.5" "$cr") [plain $P; cprof $lost; strace and perf trace: 1 run]"
# overhead = ratio - 1; "1/K": cprof's is K times smaller (a floor of
# 0.001 for cprof's, so that a run at no cost divides)
oc=$(n "$cr") os="" op=""
isnum "$oc" && isnum "$(n "$sr")" && os=$(calc "%.0f" "($(n "$sr") - 1) / (($oc - 1 > 0.001) ? $oc - 1 : 0.001)")
isnum "$oc" && isnum "$(n "$pr")" && op=$(calc "%.0f" "($(n "$pr") - 1) / (($oc - 1 > 0.001) ? $oc - 1 : 0.001)")
ov() { isnum "$(n "$1")" && calc "%+.2f" "$(n "$1") - 1" || echo "$1"; }
echo "strace-lite -c overhead (ratio - 1): cprof $(ov "$cr"), 1/${os:-n/a} of strace -f -c's $(ov "$sr")," \
	"1/${op:-n/a} of perf trace -s's $(ov "$pr") (bar: <= 1/25 and <= 1/15) $(bar "$os >= 25 && $op >= 15" "$os" "$op")"

cr=$(x f_cprof f_plain) fr=$(x f_pstat f_plain) rr=$(x f_rings f_plain)
echo "strace-lite -c, find /usr -name '*.h' x $NFIND: cprof $cr (${engine:-engine unknown}; the rings $rr)," \
	"perf stat of raw_syscalls $(tool f_pstat "$fr")" \
	"(bar: cprof <= 1.1x) $(bar "$(n "$cr") <= 1.1" "$cr") [plain $(sec f_plain)]"

cr=$(x o_cprof plain) sr=$(x o_strace plain)
echo "strace-lite -e trace=openat (ptrace, seccomp-bpf), syscall_heavy 20000 (40k openat): cprof $cr," \
	"strace -f --seccomp-bpf $(tool o_strace "$sr") (bar: cprof <= strace) $(bar "$(n "$cr") <= $(n "$sr")" "$cr" "$sr")" \
	"[plain $P; median of $RUNS]"
cr=$(x d_cprof d_plain) sr=$(x d_strace d_plain)
echo "strace-lite -e trace=openat, rare calls (dd bs=1 count=800000): cprof $cr," \
	"strace -f --seccomp-bpf $(tool d_strace "$sr") (bar: cprof <= 1.3x) $(bar "$(n "$cr") <= 1.3" "$cr")" \
	"[plain $(sec d_plain)]"

cr=$(x x_cprof plain2k) sr=$(x x_strace plain2k)
echo "strace-lite full decode, syscall_heavy 2000 (40k calls): cprof $cr, strace -f $(tool x_strace "$sr")" \
	"(bar: cprof <= strace) $(bar "$(n "$cr") <= $(n "$sr")" "$cr" "$sr") [plain $(sec plain2k); median of $SLOW]"

cr=$(x r_cprof plain) pr=$(x r_perf plain)
if [ -e "$T/r_cprof.fail" ]; then
	cl=$(cat "$T/r_cprof.fail")
else
	cl="$(col r_cprof.lost 1) events ($(col r_cprof.lost 2) calls, $(col r_cprof.lost 3)%)"
fi
if [ -z "$PERF" ]; then pl="not installed"; elif [ -e "$T/r_perf.fail" ]; then pl=$(cat "$T/r_perf.fail"); else
	pl="$(col r_perf.lost 1)% of the samples ($(col r_perf.lost 2) chunks)"
fi
echo "strace-lite --record --stack-size 8192, syscall_heavy 20000: cprof $cr, perf record dwarf,8192" \
	"$(tool r_perf "$pr") (bar: cprof <= perf) $(bar "$(n "$cr") <= $(n "$pr")" "$cr" "$pr");" \
	"lost: cprof $cl, perf $pl [plain $P; median of $SLOW]"
cm=$(col r_cprof.main 1) cb=$(col r_cprof.main 2) pm=$(col r_perf.main 1) pb=$(col r_perf.main 2)
[ -e "$T/r_cprof.fail" ] && cm="cprof failed" cb=
[ -e "$T/r_perf.fail" ] && pm="failed" pb=
echo "strace-lite --record: write calls whose stack reaches main, of 80000: cprof $cm${cb:+ ($cb through burst_write)}," \
	"perf $(tool r_perf "$pm${pb:+ ($pb through burst_write)}") (bar: cprof >= perf) $(bar "$cm >= $pm" "$cm" "$pm")"
exit 0
