#!/usr/bin/env bash
# attach errors: no such process, a process that exits while attached,
# another user's process, and usage errors.
. "$(dirname "$0")/lib.sh"

"$CPROF" attach -p 2147483646 -d 1 -o "$T/x.data" >/dev/null 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q "process 2147483646 does not exist" "$T/err" && [ "$(wc -l <"$T/err")" = 1 ] &&
	ok "no such process: exit 1, one line" || { not_ok "no such process: exit $rc"; diag_file "$T/err"; }
[ ! -e "$T/x.data" ] && ok "no such process: no file written" || not_ok "a file was written"

"$CPROF" attach -d 1 >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q 'no process given' "$T/err" && ok "no -p: exit 2" || not_ok "no -p"
"$CPROF" attach -p 12,abc >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "'abc' is not a process id" "$T/err" && ok "bad pid: exit 2" || not_ok "bad pid"
"$CPROF" attach -p 1,2 --tid 3 >/dev/null 2>"$T/err"
[ $? = 2 ] && ok "--tid with two processes: exit 2" || not_ok "--tid with two processes"

have_perf || { skip "attach to a live process" "perf_event not allowed"; exit 0; }
# the process exits while attached: a clean, complete recording
"$FIXTURES/cpu_split_nofp" 400 &
tpid=$!
"$CPROF" attach -q -p "$tpid" -o "$T/e.data" 2>"$T/err"
rc=$?
wait "$tpid"
[ $rc = 0 ] && ok "target exits while attached: cprof exits 0" || { not_ok "exit $rc"; diag_file "$T/err"; }
"$CPROF" report --stdio -i "$T/e.data" >"$T/r.txt" 2>"$T/rerr"
! grep -q truncated "$T/rerr" && expect_share "exited target" hot_sixty "$T/r.txt" 60 5

# an unprivileged user attaching to root's process
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	"$FIXTURES/cpu_split_nofp" 1000 &
	tpid=$!
	sleep 0.2
	mkdir -p "$T/nobody" && chmod 777 "$T/nobody"
	(cd "$T/nobody" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CPROF" attach -q -p "$tpid" -d 1 -o "$T/nobody/n.data") >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "not allowed to profile process $tpid: it belongs to uid 0" "$T/err"; then
		ok "unprivileged attach to root's process: exit 1, names the owner"
	else
		not_ok "unprivileged attach: exit $rc"; diag_file "$T/err"
	fi
	wait "$tpid"
	[ $? = 0 ] && ok "root's process unaffected (exit 0)" || not_ok "root's process exit status"
else
	skip "unprivileged attach" "needs root and setpriv to switch users"
fi
