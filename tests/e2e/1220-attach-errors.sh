#!/usr/bin/env bash
# attach errors: no such process, a process that exits while attached,
# another user's process, and usage errors.
. "$(dirname "$0")/lib.sh"

for s in "" "--sampler ptrace"; do
	"$CPROF" attach $s -p 2147483646 -d 1 -o "$T/x.data" >/dev/null 2>"$T/err"
	rc=$?
	[ $rc = 1 ] && grep -q "process 2147483646 does not exist" "$T/err" && [ "$(wc -l <"$T/err")" = 1 ] &&
		ok "no such process $s: exit 1, one line" || { not_ok "no such process $s: exit $rc"; diag_file "$T/err"; }
	[ ! -e "$T/x.data" ] && ok "no such process $s: no file written" || not_ok "a file was written"
done

"$CPROF" attach -d 1 >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q 'no process given' "$T/err" && ok "no -p: exit 2" || not_ok "no -p"
"$CPROF" attach -p 12,abc >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "'abc' is not a process id" "$T/err" && ok "bad pid: exit 2" || not_ok "bad pid"
"$CPROF" attach -p 1,2 --tid 3 >/dev/null 2>"$T/err"
[ $? = 2 ] && ok "--tid with two processes: exit 2" || not_ok "--tid with two processes"

# a process that exits while attached: a clean, complete recording
live() {
	local s=$1
	"$FIXTURES/cpu_split_nofp" 1000 &
	tpid=$!
	"$CPROF" attach -q --sampler "$s" -p "$tpid" -o "$T/e.data" 2>"$T/err"
	rc=$?
	wait "$tpid"
	local trc=$?
	[ $rc = 0 ] && ok "$s: target exits while attached: cprof exits 0" || { not_ok "$s: exit $rc"; diag_file "$T/err"; }
	[ $trc = 0 ] && ok "$s: the target's own exit status (0) unchanged" || not_ok "$s: target exit status $trc"
	"$CPROF" report --stdio -i "$T/e.data" >"$T/r.txt" 2>"$T/rerr"
	! grep -q truncated "$T/rerr" && expect_share "$s: exited target" hot_sixty "$T/r.txt" 60 5

	# an unprivileged user attaching to root's process
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		"$FIXTURES/cpu_split_nofp" 1000 &
		tpid=$!
		sleep 0.2
		mkdir -p "$T/nobody" && chmod 777 "$T/nobody"
		(cd "$T/nobody" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$CPROF" attach -q --sampler "$s" -p "$tpid" -d 1 -o "$T/nobody/n.data") >/dev/null 2>"$T/err"
		rc=$?
		if [ $rc = 1 ] && grep -q "not allowed to profile process $tpid: it belongs to uid 0" "$T/err" &&
			[ "$(wc -l <"$T/err")" = 1 ]; then
			ok "$s: unprivileged attach to root's process: exit 1, one line naming the owner"
		else
			not_ok "$s: unprivileged attach: exit $rc"; diag_file "$T/err"
		fi
		wait "$tpid"
		[ $? = 0 ] && ok "$s: root's process unaffected (exit 0)" || not_ok "$s: root's process exit status"
	else
		skip "$s: unprivileged attach" "needs root and setpriv to switch users"
	fi
}
if have_perf; then
	live perf
else
	skip "attach to a live process with perf_event" "perf_event not allowed"
fi
live ptrace

# unprivileged, default sampler: perf_event refused for another user's
# process, and ptrace too: one line, not a notice and an error
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	"$FIXTURES/cpu_split_nofp" 600 &
	tpid=$!
	sleep 0.2
	(cd "$T/nobody" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CPROF" attach -p "$tpid" -d 1 -o "$T/nobody/d.data") >/dev/null 2>"$T/err"
	rc=$?
	[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "belongs to uid 0" "$T/err" &&
		ok "default sampler, another user's process: exit 1, one line" ||
		{ not_ok "default sampler, another user's process: exit $rc"; diag_file "$T/err"; }
	wait "$tpid"
fi

# a process somebody else already traces
"$FIXTURES/cpu_split_nofp" 1500 &
tpid=$!
sleep 0.2
"$CPROF" attach -q --sampler ptrace -p "$tpid" -o "$T/first.data" 2>/dev/null &
first=$!
sleep 0.5
"$CPROF" attach --sampler ptrace -p "$tpid" -d 1 -o "$T/second.data" >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && grep -q "process $tpid is already traced by process $first (cprof)" "$T/err" &&
	[ "$(wc -l <"$T/err")" = 1 ]; then
	ok "already traced: exit 1, one line naming the tracer"
else
	not_ok "already traced: exit $rc"; diag_file "$T/err"
fi
[ ! -e "$T/second.data" ] && ok "already traced: no file written" || not_ok "already traced: a file was written"
kill -INT $first
wait $first
wait "$tpid"
[ $? = 0 ] && ok "traced twice: the target still exits 0" || not_ok "traced twice: target exit status"
