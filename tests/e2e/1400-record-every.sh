#!/usr/bin/env bash
# Continuous recording: record --every cuts the run into periods, each
# written whole in every format into --output-dir, named by its UTC start;
# latest.* links, --keep, SIGUSR2, a SIGKILL at any moment, and memory that
# stays flat over many periods.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record --every" || exit 0
cd "$T" || exit 1
CS=$FIXTURES/cpu_split_nofp

# usage errors, before anything runs
for c in "--every x:'x' is not a duration" "--every 1ms:of 10ms or more" \
	"--every 1s -o f.cprof:-o writes one recording" "--keep 3:--keep applies to continuous" \
	"--every 1s --format pprof,png:unknown format 'png'"; do
	opts=${c%%:*} want=${c#*:}
	# shellcheck disable=SC2086
	"$CPROF" record $opts -- true >/dev/null 2>err
	rc=$?
	[ $rc = 2 ] && grep -q -- "$want" err && ok "usage: $opts: exit 2, '$want'" ||
		not_ok "usage: $opts: exit $rc" "$(head -2 err)"
done

# 5 s of cpu_split in 1 s periods, every format
"$CPROF" record -q --every 1s --output-dir p --format cprof,pprof,svg,folded -- "$CS" 3500 \
	>/dev/null 2>rec.err
rc=$?
ls p >ls.txt
for ext in cprof pb.gz svg folded; do
	n=$(grep -cE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\.$ext\$" ls.txt)
	eval "n_${ext%.gz}=$n"
done
if [ $rc = 0 ] && [ "$n_cprof" -ge 5 ] && [ "$n_cprof" -le 7 ] && [ "$n_pb" = "$n_cprof" ] &&
	[ "$n_svg" = "$n_cprof" ] && [ "$n_folded" = "$n_cprof" ]; then
	ok "--every 1s: $n_cprof periods in each format"
else
	not_ok "--every 1s: exit $rc, $n_cprof cprof, $n_pb pprof, $n_svg svg, $n_folded folded" \
		"$(cat rec.err)" "$(cat ls.txt)"
fi
! ls -a p | grep -q 'tmp' && ok "no temporary file left" || not_ok "temporary files left: $(ls -a p | grep tmp)"
# names: strictly increasing, one second apart (the periods follow the schedule)
names=$(ls p | grep '\.cprof$' | grep -v latest)
gaps=$(echo "$names" | python3 -c '
import sys, datetime
t = [datetime.datetime.strptime(l.strip()[:23], "%Y-%m-%dT%H:%M:%S.%f") for l in sys.stdin]
print(" ".join("%.3f" % (b - a).total_seconds() for a, b in zip(t, t[1:])))')
bad=$(echo "$gaps" | tr ' ' '\n' | awk '$1 < 0.999 || $1 > 1.001')
[ -n "$gaps" ] && [ -z "$bad" ] && ok "names one second apart: $gaps" ||
	not_ok "names not one second apart: $gaps"
newest=$(echo "$names" | tail -1)
[ "$(readlink p/latest.cprof)" = "$newest" ] && [ "$(readlink p/latest.svg)" = "${newest%.cprof}.svg" ] &&
	ok "latest.* link to the newest period" || not_ok "latest.cprof -> '$(readlink p/latest.cprof)', newest $newest"

# every full period: hot_sixty 60 +-5 through go tool pprof; SVGs well-formed
bad=
full=$(echo "$names" | head -n -1) # the last one is the partial period
for f in $full; do
	b=${f%.cprof}
	share=$(go tool pprof -top -nodefraction=0 -symbolize=none -sample_index=samples "p/$b.pb.gz" 2>/dev/null |
		awk '$NF == "hot_sixty" { sub(/%/, "", $2); print $2 }')
	within "${share:-0}" 60 5 || bad="$bad $b.pb.gz:${share:-none}"
	flame_info "p/$b.svg" >/dev/null 2>&1 || bad="$bad $b.svg"
	"$CPROF" report --stdio -i "p/$f" >r.txt 2>r.err && ! grep -q truncated r.err || bad="$bad $f"
	"$CPROF" report --stdio -i "p/$b.folded" >/dev/null 2>&1 || bad="$bad $b.folded"
done
[ -z "$bad" ] && ok "$(echo "$full" | wc -w) full periods: go tool pprof gives hot_sixty 60 +-5, SVGs well-formed, recordings whole" ||
	not_ok "bad periods:$bad"
# the last, partial period carries the command's exit status
"$CPROF" report --stdio -i p/latest.cprof 2>/dev/null | grep -q 'exit status: 0' &&
	ok "the last period holds the exit status" || not_ok "the last period has no exit status"

# --keep 3 leaves the 3 newest of each format
"$CPROF" record -q --every 200ms --keep 3 --output-dir k --format cprof,folded -- "$CS" 1500 \
	>/dev/null 2>&1
nk=$(ls k | grep -c '\.cprof$')
nf=$(ls k | grep -c '\.folded$')
[ "$nk" = 4 ] && [ "$nf" = 4 ] && [ -e "k/$(readlink k/latest.cprof)" ] &&
	ok "--keep 3: 3 periods (and the latest link) per format" || not_ok "--keep 3: $nk cprof, $nf folded" "$(ls k)"

# SIGUSR2 ends a period at once; SIGINT ends the run with a partial one
"$CPROF" record -q --every 1h --output-dir u --format folded -- "$CS" 100000 >/dev/null 2>u.err &
pid=$!
wait_until 10 pgrep -f "^$CS 100000" >/dev/null
cuts() { [ "$(ls u 2>/dev/null | grep -c '^2.*\.folded$')" -ge "$1" ]; }
kill -USR2 $pid
wait_until 10 cuts 1 && ok "SIGUSR2 writes a period at once" || not_ok "SIGUSR2: no period"
kill -INT $pid
wait $pid
rc=$?
[ "$(ls u | grep -c '^2.*\.folded$')" = 2 ] && [ $rc = 130 ] &&
	ok "SIGINT: the partial period written, exit 130" || not_ok "SIGINT: exit $rc, $(ls u)"

# attach --every: the same on a running process, which runs on
"$CS" 100000 &
tpid=$!
"$CPROF" attach -q -p $tpid -d 2 --every 500ms --output-dir a --format folded,pprof >/dev/null 2>a.err
rc=$?
na=$(ls a | grep -c '^2.*\.folded$')
share=$(go tool pprof -top -nodefraction=0 -symbolize=none -sample_index=samples a/latest.pb.gz 2>/dev/null |
	awk '$NF == "hot_sixty" { sub(/%/, "", $2); print $2 }')
if [ $rc = 0 ] && [ "$na" -ge 4 ] && [ "$na" -le 5 ] && kill -0 $tpid 2>/dev/null; then
	ok "attach -d 2 --every 500ms: $na periods, the process runs on (last: hot_sixty ${share:-?}%)"
else
	not_ok "attach --every: exit $rc, $na periods" "$(cat a.err)"
fi
kill -KILL $tpid
wait $tpid 2>/dev/null

# SIGKILL in the middle: only complete files
"$CPROF" record -q --every 100ms --output-dir x --format cprof,pprof,svg,folded -- "$CS" 100000 \
	>/dev/null 2>&1 &
pid=$!
wait_until 10 pgrep -f "^$CS 100000" >/dev/null
tpid=$(pgrep -f "^$CS 100000")
wait_until 10 test -e x/latest.folded
kill -KILL $pid
wait $pid 2>/dev/null
bad=
for f in $(ls x | grep -v '^latest'); do
	case $f in
	*.cprof) "$CPROF" report --stdio -i "x/$f" >/dev/null 2>r.err && ! grep -q truncated r.err || bad="$bad $f" ;;
	*.pb.gz | *.folded) "$CPROF" report --stdio -i "x/$f" >/dev/null 2>&1 || bad="$bad $f" ;;
	*.svg) flame_info "x/$f" >/dev/null 2>&1 || bad="$bad $f" ;;
	*) bad="$bad $f" ;;
	esac
done
n=$(ls x | grep -vc '^latest')
[ -z "$bad" ] && [ "$n" -ge 4 ] && ok "SIGKILL: $n files, every one complete" || not_ok "SIGKILL: incomplete:$bad"
# the profiled program runs on, untouched
if kill -0 "$tpid" 2>/dev/null && ! grep -qE '^State:.*(T|t) \(' "/proc/$tpid/status"; then
	ok "SIGKILL of cprof: the program runs on"
else
	not_ok "SIGKILL of cprof: the program is gone or stopped"
fi
kill -KILL "$tpid" 2>/dev/null

# memory over many periods: RSS after ~1000 within 10% of where it settles
# after start-up (the first periods are the program's and the recorder's
# start-up: libc's debug information is loaded at the first cuts, later on
# a slow machine)
# (user frames only and without the symbol cache, which the runs above
# filled: the kernel's symbols, ~10 MB, are read at the first kernel frame
# and a module's debug information when an address the cache lacks turns
# up, both at whatever period that happens: one-time steps, not growth)
CPROF_CACHE_DIR= "$CPROF" record -q --user-only --every 10ms --keep 2 --output-dir m \
	--format folded -- "$CS" 100000 >/dev/null 2>m.err &
pid=$!
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
wait_until 10 test -e m/latest.folded
# settled: no growth over a quarter of a second (~25 periods)
settled() {
	local a b
	a=$(rss)
	sleep 0.25
	b=$(rss)
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { exit !(b <= a * 1.01) }'
}
wait_until 10 settled
r10=$(rss)
sleep 10 # ~1000 periods of 10 ms
r1000=$(rss)
kill -INT $pid
wait $pid
pkill -KILL -f "^$CS 100000"
if [ -n "$r10" ] && [ -n "$r1000" ] && awk -v a="$r10" -v b="$r1000" 'BEGIN { exit !(b <= a * 1.10) }'; then
	ok "RSS after ~1000 periods $r1000 kB, settled after start-up $r10 kB (within 10%)"
else
	not_ok "RSS grew: $r10 kB -> $r1000 kB" "$(cat m.err)"
fi
