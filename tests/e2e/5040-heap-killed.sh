#!/usr/bin/env bash
# cprof heap killed while the program allocates: the program runs on to
# its normal end (it stops waiting for cprof once cprof's pipe hangs up),
# and what was written reads back.
. "$(dirname "$0")/lib.sh"

cp "$FIXTURES/alloc_heavy" "$T/victim"
"$CPROF" heap -q -f -o "$T/k.data" -- sh -c '"$0"/victim 400000; echo $? >"$0"/status' "$T" 2>"$T/err" &
cp_pid=$!
found() { pid=$(pgrep -f "^$T/victim 400000" | head -1); [ -n "$pid" ]; }
written() { [ -s "$T/k.data" ] && [ "$(stat -c %s "$T/k.data")" -gt 64 ]; }
ended() { [ -s "$T/status" ]; }
pid=
wait_until 10 found
# let it write at least one chunk (cprof flushes every second)
wait_until 10 written
kill -KILL $cp_pid
wait $cp_pid 2>/dev/null
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	st=$(awk '{ print $3 }' "/proc/$pid/stat")
	if [ "$st" != T ] && [ "$st" != t ]; then ok "cprof killed: the program still runs (state $st)"; else
		not_ok "cprof killed: the program is stopped"; fi
	if wait_until 60 ended && [ "$(cat "$T/status")" = 0 ]; then ok "the program ran to its end: exit status 0"; else
		not_ok "the program did not end within 60 s"; kill -KILL "$pid"; fi
else
	not_ok "no running program to check (pid '$pid')"
fi
"$CPROF" report --stdio -i "$T/k.data" >"$T/r.txt" 2>"$T/rerr"
rc=$?
if [ $rc = 0 ] && grep -q 'truncated' "$T/r.txt" "$T/rerr"; then ok "the cut-short recording reads back (truncated)"; else
	not_ok "reading the cut-short recording: rc $rc" "$(cat "$T/rerr")" "$(head -10 "$T/r.txt")"; fi
