#!/usr/bin/env bash
# --wall: blocked threads are sampled too, marked off-CPU with their
# syscall.  sleeper's main thread is on CPU in burn_half half of the time
# and sleeps in nanosleep from wait_in_nanosleep the other half; its poller
# thread waits in epoll_wait throughout and must never see EINTR.
. "$(dirname "$0")/lib.sh"

# total STATE FUNC REPORT: Total% of the row (state, function) of a
# `report --sort state,function` table
total() {
	awk -v s="$1" -v f="$2" '!/^#/ && $4 == s && $5 == f { print $2; x = 1; exit } END { if (!x) print 0 }' "$3"
}
check() {
	local d=$1 data=$2 got
	"$CPROF" report --stdio -i "$data" --comm sleeper --sort state,function >"$T/m.txt"
	got=$(total off-cpu:clock_nanosleep wait_in_nanosleep "$T/m.txt")
	within "$got" 50 5 && ok "$d: wait_in_nanosleep off-CPU (clock_nanosleep) $got% of the main thread (want 50 +-5)" ||
		{ not_ok "$d: wait_in_nanosleep off-CPU $got% (want 50 +-5)"; diag_file "$T/m.txt" 16; }
	got=$(total on-cpu burn_half "$T/m.txt")
	within "$got" 50 5 && ok "$d: burn_half on-CPU $got% (want 50 +-5)" ||
		{ not_ok "$d: burn_half on-CPU $got% (want 50 +-5)"; diag_file "$T/m.txt" 16; }
	"$CPROF" report --stdio -i "$data" --comm poller --sort state,function >"$T/p.txt"
	got=$(total off-cpu:epoll_wait poller "$T/p.txt")
	within "$got" 100 2 && ok "$d: poller blocked in epoll_wait $got%" ||
		{ not_ok "$d: poller off-cpu:epoll_wait $got%"; diag_file "$T/p.txt" 16; }
	"$CPROF" report --stdio -i "$data" >"$T/h.txt"
	grep -q '^# event: wall-clock at 999 Hz.*sampler: ptrace$' "$T/h.txt" && grep -q '^# wall-clock: .* off-CPU' "$T/h.txt" &&
		ok "$d: the report says wall-clock and the off-CPU share" || { not_ok "$d: report header"; diag_file "$T/h.txt" 10; }
	"$CPROF" report --stdio -i "$data" --comm sleeper --off-cpu >"$T/o.txt"
	got=$(share_of wait_in_nanosleep "$T/o.txt" 2)
	within "$got" 100 2 && ok "$d: --off-cpu keeps the blocked samples (wait_in_nanosleep $got%)" ||
		{ not_ok "$d: --off-cpu: wait_in_nanosleep $got%"; diag_file "$T/o.txt" 16; }
}

"$CPROF" record -q --wall -o "$T/w.data" -- "$FIXTURES/sleeper" 150 2>"$T/err"
rc=$?
[ $rc = 0 ] && ok "record --wall: sleeper exits 0 (no EINTR anywhere)" || { not_ok "record --wall: exit $rc"; diag_file "$T/err"; }
check "record --wall" "$T/w.data"

"$FIXTURES/sleeper" 400 2>"$T/serr" &
tpid=$!
sleep 0.3
"$CPROF" attach -q --wall -p "$tpid" -d 2 -o "$T/a.data" 2>"$T/err"
rc=$?
[ $rc = 0 ] && ok "attach --wall -d 2: exit 0" || { not_ok "attach --wall: exit $rc"; diag_file "$T/err"; }
st=$(awk '{ print $3 }' "/proc/$tpid/stat" 2>/dev/null)
case "$st" in
R | S) ok "attach --wall: sleeper runs on after detach (state $st)" ;;
*) not_ok "attach --wall: sleeper state '$st' after detach" ;;
esac
wait "$tpid"
rc=$?
[ $rc = 0 ] && ok "attach --wall: sleeper exits 0 on its own (no EINTR)" || { not_ok "attach --wall: sleeper exit $rc"; diag_file "$T/serr"; }
check "attach --wall" "$T/a.data"
