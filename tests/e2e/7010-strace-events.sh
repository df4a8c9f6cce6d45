#!/usr/bin/env bash
# cprof strace-lite, the event engine (raw_syscalls tracepoints, the
# program never stops; -c forced onto the rings here, 7030 counts in the
# kernel): -c counts exactly strace's on syscall_heavy, -c
# --json totals the table's, -S, --per-thread, --per-process, --latency
# of 1 ms naps, -k stacks with burst_write on every write, --record's
# profile with burst_read holding the read calls' share of the time, no
# rt_sigprocmask per unwound frame in the reader, lost
# events reported, -p never attaching (TracerPid 0) and the target running
# on after cprof is interrupted, terminated or killed; bad input.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
SH=$FIXTURES/syscall_heavy
R=1000

# counts: strace's in the same run are the reference
strace -f -c -o st.txt "$SH" $R 2>st.err
"$CPROF" strace-lite --engine events -c -f -o ev.txt -- "$SH" $R 2>ev.err
rc=$?
counts() { awk '$NF ~ /^(getppid|write|read|openat|close|execve|exit_group)$/ { print $NF "=" $(NF - 1) + 0 }' "$1" | sort | tr '\n' ' '; }
want=$(counts st.txt)
got=$(counts ev.txt)
bad=
for w in getppid=8000 write=4000 read=4001 openat=2004 close=2004 execve=1; do
	case " $got" in *" $w "*) ;; *) bad="$bad $w" ;; esac
done
case " $got" in *exit_group*) bad="$bad exit_group-counted" ;; esac
[ $rc = 0 ] && [ -z "$bad" ] && [ "$got" = "$want" ] && grep -q 'wall time from entry to exit' ev.txt &&
	ok "-c -f on syscall_heavy $R: $got(strace: the same)" ||
	not_ok "-c counts (rc $rc):$bad" "cprof: $got" "strace: $want" "$(cat ev.err)"

# the table's shape: strace's header, a blank for zero errors, a total row
grep -m1 -A1 '^% time' ev.txt >hdr
grep -m1 -A1 '^% time' st.txt >st.hdr
total=$(awk '$NF == "total" { print $(NF - 2) }' ev.txt)
sum=$(awk '/^-/ { n++; next } n == 1 { s += ($5 ~ /^[0-9]+$/ && NF == 6) ? $4 : $(NF - 1) } END { print s }' ev.txt)
grep -qE '^ *[0-9.]+ +[0-9.]+ +[0-9]+ +8000 +getppid$' ev.txt && cmp -s hdr st.hdr && [ "$total" = "$sum" ] &&
	ok "table: strace's columns, no errors column for getppid, total $total = sum of rows" ||
	not_ok "table shape (total $total, sum $sum)" "$(head -5 ev.txt)"

# -c --json: one summary object whose totals are the table's
"$CPROF" strace-lite -c -f --json -o ev.json -- "$SH" $R 2>/dev/null
jt=$(python3 -c '
import json, sys
objs = [json.loads(l) for l in open("ev.json") if l.strip()]
s = [o for o in objs if "summary" in o][0]["summary"]
rows = {r["syscall"]: r["calls"] for r in s["calls"]}
assert sum(rows.values()) == s["total"]["calls"]
print(s["total"]["calls"], s["total"]["errors"], rows["getppid"], rows["openat"])' 2>&1)
tt=$(awk '$NF == "total" { print $(NF - 2), ($(NF - 1) ~ /^[0-9]+$/ ? $(NF - 1) : 0) }' ev.txt)
[ "$jt" = "$tt 8000 2004" ] && ok "-c --json: totals $tt as the table's" || not_ok "-c --json" "json: $jt" "table: $tt"

# -S calls: most calls first
"$CPROF" strace-lite -c -S calls -o s.txt -- "$SH" 200 2>/dev/null
order=$(awk '/^-/ { n++; next } n == 1 { print $NF }' s.txt | head -3 | tr '\n' ' ')
[ "$order" = "getppid read write " ] && ok "-S calls: $order" || not_ok "-S calls order: $order" "$(head -8 s.txt)"
"$CPROF" strace-lite -c -S bogus -- "$SH" 1 >/dev/null 2>e.txt
[ $? = 2 ] && [ "$(wc -l <e.txt)" = 1 ] && grep -q "bogus" e.txt && ok "-S bogus: one line, exit 2" || not_ok "-S bogus" "$(cat e.txt)"

# --per-thread: the main thread and the four workers each get a table
"$CPROF" strace-lite -c --per-thread -o pt.txt -- "$FIXTURES/threads" 50 2>/dev/null
nt=$(grep -c '^thread [0-9]*:$' pt.txt)
[ "$nt" = 5 ] && grep -q '^all threads:$' pt.txt && ok "--per-thread: $nt thread tables and the total" ||
	not_ok "--per-thread: $nt tables" "$(grep -E '^(thread|all)' pt.txt)"

# --per-process with -f: a table per process, their calls add up to the total
"$CPROF" strace-lite -c -f --per-process -o pp.txt -- sh -c "'$SH' 10; '$SH' 20" 2>/dev/null
np=$(grep -c '^process [0-9]*:$' pp.txt)
sums=$(awk '/^process/ { p = 1 } /^all/ { p = 0 } $NF == "total" { if (p) s += $(NF - 2); else t = $(NF - 2) } END { print s + 0, t + 0 }' pp.txt)
pg=$(awk '/^process/ { p = 1 } /^all/ { p = 0 } p && $NF == "getppid" && $(NF - 1) >= 80 { printf "%s ", $(NF - 1) }' pp.txt)
[ "$np" = 3 ] && [ "${sums% *}" = "${sums#* }" ] && [ "$pg" = "80 160 " ] && grep -q '^all processes:$' pp.txt &&
	ok "--per-process -f: $np processes (sh and two children: getppid $pg), calls add up ($sums)" ||
	not_ok "--per-process: $np tables, sums $sums, getppid $pg" "$(grep -E '^(process|all)|getppid|total' pp.txt)"

# --latency: 100 naps of 1 ms: the median within 0.2 ms of 1 ms
"$CPROF" strace-lite --latency --json -e trace=nanosleep,clock_nanosleep -o lat.json -- "$FIXTURES/nap" 100 2>lat.err
p50=$(python3 -c '
import json
for l in open("lat.json"):
    o = json.loads(l)
    for r in o.get("latency", []):
        if r["calls"] == 100: print(r["p50_ns"], r["syscall"], r["p99_ns"], r["max_ns"])' 2>&1)
ns=${p50%% *}
[ -n "$ns" ] && [ "$ns" -ge 800000 ] 2>/dev/null && [ "$ns" -le 1200000 ] &&
	ok "--latency on nap 100: p50 ${ns} ns (${p50#* })" || not_ok "--latency p50: $p50" "$(cat lat.json lat.err)"
"$CPROF" strace-lite --latency -e trace=clock_nanosleep -o lat.txt -- "$FIXTURES/nap" 20 2>/dev/null
grep -qE '^clock_nanosleep +20 +[0-9.]+ms ' lat.txt && grep -qE '^ +1024 -> 2047 : [0-9]+ +\|\*+ *\|$' lat.txt &&
	ok "--latency table: p50/p90/p99/max and a log2 histogram" || not_ok "--latency text" "$(cat lat.txt)"

# -k: every write has burst_write on its stack
"$CPROF" strace-lite -k -e trace=write -o k.txt -- "$SH" 50 2>k.err
nw=$(grep -c '^write(' k.txt)
nb=$(awk '/^write\(/ { if (w) n += hit; w = 1; hit = 0; next } /burst_write/ { hit = 1 } END { if (w) n += hit; print n + 0 }' k.txt)
[ "$nw" = 200 ] && [ "$nb" = 200 ] && grep -q '(main ' k.txt &&
	ok "-k -e trace=write: $nw writes, $nb with burst_write on the stack" || not_ok "-k: $nw writes, $nb with burst_write" "$(head -12 k.txt)" "$(cat k.err)"

# --record: a profile of time inside syscalls by stack; burst_read's share is the reads'
"$CPROF" strace-lite --record -o io.cprof -- "$SH" 2000 2>rec.err
"$CPROF" convert --to folded -i io.cprof -o io.folded 2>/dev/null
shares=$(awk '{ v = $NF; $NF = ""; t += v; if ($0 ~ /burst_read/) b += v; if ($0 ~ /syscall:read( |;|$)/) r += v } END { if (t) printf "%.2f %.2f", 100 * b / t, 100 * r / t }' io.folded)
b=${shares% *}
r=${shares#* }
"$CPROF" flame -i io.cprof -o io.svg 2>/dev/null
awk -v b="$b" -v r="$r" 'BEGIN { d = b - r; exit !(b > 0 && d < 0.5 && d > -0.5) }' && grep -q burst_read io.svg &&
	ok "--record: burst_read holds ${b}% of syscall time, the read calls ${r}%; in the flame graph" ||
	not_ok "--record shares: $shares" "$(cat rec.err)" "$(head -5 io.folded)"

# unwinding costs the reader no system call per frame: libunwind's
# signal masking around its cache lock (two rt_sigprocmask per frame,
# 48k for these 4000 stacks) is answered in cprof (lib/unwind/nomask.c)
strace -f -c -e trace=rt_sigprocmask -o sm.txt "$CPROF" strace-lite --record --stack-size 2048 -o sm.cprof -- "$SH" 200 2>sm.err
nsm=$(awk '$NF == "total" { print $(NF - 2) + 0 }' sm.txt)
nrec=$(sed -n 's/.* \([0-9]*\) calls recorded.*/\1/p' sm.err)
[ "${nrec:-0}" -ge 4000 ] && [ "${nsm:-99999}" -lt 100 ] &&
	ok "--record of $nrec calls with stacks: $nsm rt_sigprocmask calls in all" ||
	not_ok "signal masking per frame: $nsm rt_sigprocmask for ${nrec:-no} calls recorded" "$(cat sm.err)"

# lost events are counted and said, never silent: an 8-page ring cannot
# keep up; and a call whose exit was lost never takes another call's
# stack: every write recorded is under burst_write, every getppid under
# burst_getppid
"$CPROF" strace-lite --mmap-pages 8 --stack-size 2048 --record -o lost.cprof -- "$SH" 20000 2>lost.txt
lost=$(sed -n 's/^\([0-9]*\) events lost.*/\1/p' lost.txt)
"$CPROF" convert --to folded --sample-type calls -i lost.cprof 2>/dev/null |
	awk '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s) }
		s ~ /;syscall:write$/ { w += n; if (s !~ /;burst_write;/) bad += n }
		s ~ /;syscall:getppid$/ { g += n; if (s !~ /;burst_getppid;/) bad += n }
		END { print w + 0, g + 0, bad + 0 }' >lost.pairs
read -r lw lg lbad <lost.pairs
[ -n "$lost" ] && [ "$lost" -gt 0 ] && [ "$lw" -gt 0 ] && [ "$lg" -gt 0 ] && [ "$lbad" = 0 ] &&
	ok "a ring too small: '$lost events lost' said; none of the $lw writes and $lg getppids recorded under another call's stack" ||
	not_ok "lost events (${lost:-none said}), or calls paired with the wrong stack: writes $lw getppids $lg misplaced $lbad" "$(tail -3 lost.txt)"

# -p: the event engine never attaches, and the target runs on whatever happens to cprof
"$SH" 100000000 &
tp=$!
tracer_ok=1
for sig in INT TERM KILL; do
	"$CPROF" strace-lite --engine events -c -p $tp -o p.$sig.txt 2>p.err &
	cp=$!
	wait_until 10 grep -q . /proc/$tp/status
	# TracerPid stays 0 while it counts
	for _ in 1 2 3 4 5; do
		tr=$(awk '/^TracerPid/ { print $2 }' /proc/$tp/status)
		[ "$tr" = 0 ] || tracer_ok=0
	done
	wait_until 10 sh -c "grep -q perf_event /proc/$cp/fdinfo/* 2>/dev/null || ls -l /proc/$cp/fd 2>/dev/null | grep -q perf_event"
	kill -$sig $cp
	wait $cp 2>/dev/null
	state=$(awk '/^State/ { print $2 }' /proc/$tp/status 2>/dev/null)
	case "$state" in R | S) ;; *) tracer_ok=0 ;; esac
done
"$CPROF" strace-lite --engine events -c -p $tp -d 1 -o pd.txt 2>pd.err
n=$(awk '$NF == "getppid" { print $(NF - 1) }' pd.txt)
tr=$(awk '/^TracerPid/ { print $2 }' /proc/$tp/status)
running=$(awk '/^State/ { print $2 }' /proc/$tp/status)
kill $tp
wait $tp 2>/dev/null
[ $tracer_ok = 1 ] && [ "$tr" = 0 ] && [ "${n:-0}" -gt 1000 ] && grep -q "getppid" p.INT.txt &&
	ok "-p: TracerPid 0 throughout; running ($running) after SIGINT, SIGTERM, SIGKILL of cprof; -d 1 counted $n getppid" ||
	not_ok "-p (tracer_ok $tracer_ok, TracerPid $tr, getppid $n)" "$(cat pd.txt pd.err | head)"

# bad input
"$CPROF" strace-lite -e trace=opnat -- true >/dev/null 2>e1
r1=$?
"$CPROF" strace-lite -e trace=%files -- true >/dev/null 2>e2
r2=$?
"$CPROF" strace-lite -c -- ./no-such-program >/dev/null 2>e3
r3=$?
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
"${NOBODY[@]}" "$CPROF" strace-lite -c -p 1 -d 1 >/dev/null 2>e4
r4=$?
"$CPROF" strace-lite -c >/dev/null 2>e5
r5=$?
[ $r1 = 2 ] && [ "$(wc -l <e1)" = 1 ] && grep -q "opnat" e1 && [ $r2 = 2 ] && grep -q "%files" e2 &&
	[ $r3 = 127 ] && [ "$(wc -l <e3)" = 1 ] && [ $r4 = 1 ] && [ "$(wc -l <e4)" = 1 ] && [ $r5 = 2 ] &&
	ok "bad input: unknown name/class exit 2, missing command 127, pid 1 as nobody exit 1, one line each" ||
	not_ok "bad input: $r1 $r2 $r3 $r4 $r5" "$(cat e1 e2 e3 e4)"
