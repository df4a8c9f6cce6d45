#!/usr/bin/env bash
# attach to a running cpu_split_nofp: shares, and the process left exactly
# as it was after detach, Ctrl-C-like signals, and a SIGKILL of cprof.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "attach" || exit 0

state_of() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
# start_target: a cpu_split_nofp of ~8 s in the background -> $tpid
start_target() {
	"$FIXTURES/cpu_split_nofp" 4000 &
	tpid=$!
	sleep 0.3
}
# after DESC: the target runs on (R/S, not stopped), then exits 0 by itself
after() {
	local st
	st=$(state_of "$tpid")
	case "$st" in
	R | S) ok "$1: target still running after cprof (state $st)" ;;
	*) not_ok "$1: target state '$st' after cprof" ;;
	esac
	kill -0 "$tpid" 2>/dev/null && wait "$tpid"
	local rc=$?
	[ $rc = 0 ] && ok "$1: target exited 0 on its own" || not_ok "$1: target exit status $rc"
}

start_target
"$CPROF" attach -q -p "$tpid" -d 2 -o "$T/a.data" 2>"$T/err"
rc=$?
[ $rc = 0 ] && ok "attach -d 2: exit 0" || { not_ok "attach -d 2: exit $rc"; diag_file "$T/err"; }
after "-d 2"
"$CPROF" report --stdio -i "$T/a.data" >"$T/r.txt"
expect_share attach hot_sixty "$T/r.txt" 60 3
expect_share attach hot_thirty "$T/r.txt" 30 3
expect_share attach hot_ten "$T/r.txt" 10 3

for sig in INT TERM KILL; do
	start_target
	"$CPROF" attach -q -p "$tpid" -o "$T/$sig.data" 2>/dev/null &
	rec=$!
	sleep 1.5
	kill -$sig $rec
	wait $rec
	rc=$?
	if [ $sig = KILL ]; then
		[ $rc = 137 ] && ok "SIGKILL of cprof" || not_ok "SIGKILL of cprof: exit $rc"
	else
		[ $rc = 0 ] && ok "SIG$sig: cprof exits 0" || not_ok "SIG$sig: exit $rc"
	fi
	after "SIG$sig to cprof"
	"$CPROF" report --stdio -i "$T/$sig.data" >"$T/s.txt" 2>"$T/serr"
	if [ $sig = KILL ]; then
		grep -q truncated "$T/serr" && ok "SIGKILL: recording readable, marked truncated" ||
			{ not_ok "SIGKILL: recording"; diag_file "$T/serr"; }
	else
		! grep -q truncated "$T/serr" && expect_share "SIG$sig" hot_sixty "$T/s.txt" 60 4
	fi
done
