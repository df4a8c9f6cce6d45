#!/usr/bin/env bash
# attach to a running cpu_split_nofp with each sampler: shares, and the
# process left exactly as it was after detach, Ctrl-C-like signals, and a
# SIGKILL of cprof (running, not stopped, not traced, exit status 0).
. "$(dirname "$0")/lib.sh"

state_of() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
tracer_of() { awk '/^TracerPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# start_target: a cpu_split_nofp of ~8 s in the background -> $tpid
start_target() {
	"$FIXTURES/cpu_split_nofp" 4000 &
	tpid=$!
	sleep 0.3
}
# after DESC: the target runs on (R/S, not stopped, not traced), then
# exits 0 by itself
after() {
	local st tr
	st=$(state_of "$tpid")
	tr=$(tracer_of "$tpid")
	case "$st" in
	R | S) ok "$1: target still running after cprof (state $st)" ;;
	*) not_ok "$1: target state '$st' after cprof" ;;
	esac
	[ "${tr:-0}" = 0 ] && ok "$1: target not traced any more" || not_ok "$1: TracerPid $tr"
	kill -0 "$tpid" 2>/dev/null && wait "$tpid"
	local rc=$?
	[ $rc = 0 ] && ok "$1: target exited 0 on its own" || not_ok "$1: target exit status $rc"
}

suite() {
	local s=$1 tol=$2
	start_target
	"$CPROF" attach -q --sampler "$s" -p "$tpid" -d 2 -o "$T/a.data" 2>"$T/err"
	rc=$?
	[ $rc = 0 ] && ok "$s: attach -d 2: exit 0" || { not_ok "$s: attach -d 2: exit $rc"; diag_file "$T/err"; }
	after "$s: -d 2"
	"$CPROF" report --stdio -i "$T/a.data" >"$T/r.txt"
	grep -q "sampler: ${s/perf/perf_event}\$" "$T/r.txt" && ok "$s: the report names the sampler" ||
		not_ok "$s: sampler line" "$(grep '^# event' "$T/r.txt")"
	expect_share "$s attach" hot_sixty "$T/r.txt" 60 "$tol"
	expect_share "$s attach" hot_thirty "$T/r.txt" 30 "$tol"
	expect_share "$s attach" hot_ten "$T/r.txt" 10 "$tol"

	for sig in INT TERM KILL; do
		start_target
		"$CPROF" attach -q --sampler "$s" -p "$tpid" -o "$T/$sig.data" 2>/dev/null &
		rec=$!
		sleep 1.5
		kill -$sig $rec
		wait $rec
		rc=$?
		if [ $sig = KILL ]; then
			[ $rc = 137 ] && ok "$s: SIGKILL of cprof" || not_ok "$s: SIGKILL of cprof: exit $rc"
		else
			[ $rc = 0 ] && ok "$s: SIG$sig: cprof exits 0" || not_ok "$s: SIG$sig: exit $rc"
		fi
		after "$s: SIG$sig to cprof"
		"$CPROF" report --stdio -i "$T/$sig.data" >"$T/s.txt" 2>"$T/serr"
		if [ $sig = KILL ]; then
			grep -q truncated "$T/serr" && ok "$s: SIGKILL: recording readable, marked truncated" ||
				{ not_ok "$s: SIGKILL: recording"; diag_file "$T/serr"; }
		else
			# a 1.5 s window of a round-based workload, ~800 samples: the
			# point is a complete recording with the right content
			! grep -q truncated "$T/serr" && expect_share "$s: SIG$sig" hot_sixty "$T/s.txt" 60 6
		fi
	done
}

if have_perf; then
	suite perf 3
else
	skip "attach with perf_event" "perf_event not allowed (kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid))"
fi
# The ptrace sampler weighs each sample by the CPU time its thread used
# since the previous one, so a 2 s attach (~2000 samples) moves by a
# little more than perf_event's counts do (CI once saw hot_thirty at 33.2%).
suite ptrace 4
