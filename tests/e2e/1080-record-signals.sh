#!/usr/bin/env bash
# Stopping: SIGINT to cprof, -d, and a target that ignores SIGINT.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record signals" || exit 0

# SIGINT from kill(1) reaches the target through cprof; the file is valid
"$CPROF" record -q -o "$T/i.data" -- "$FIXTURES/cpu_split_nofp" 5000 2>/dev/null &
rec=$!
sleep 1
kill -INT $rec
wait $rec
rc=$?
[ $rc = 130 ] && ok "SIGINT: exit 130 (the target's SIGINT death)" || not_ok "SIGINT: exit $rc, want 130"
if "$CPROF" report --stdio -i "$T/i.data" >"$T/r.txt" 2>&1 && ! grep -q truncated "$T/r.txt"; then
	ok "SIGINT: the recording is complete"
	grep -q '^# .*exit status: 130' "$T/r.txt" && ok "exit status stored" || not_ok "exit status not in report"
else
	not_ok "SIGINT: bad recording"; diag_file "$T/r.txt"
fi

# -d: stop after 1 s
start=$(date +%s%N)
"$CPROF" record -q -d 1 -o "$T/d.data" -- "$FIXTURES/cpu_split_nofp" 5000 2>/dev/null
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 130 ] && ok "-d 1: target stopped by SIGINT (exit 130)" || not_ok "-d 1: exit $rc"
[ $ms -lt 4000 ] && ok "-d 1 returned in ${ms} ms" || not_ok "-d 1 took ${ms} ms"

# a target ignoring SIGINT gets SIGKILL after --grace
"$CPROF" record -q -d 1 --grace 1 -o "$T/g.data" -- bash -c 'trap "" INT; exec "$1" 5000' sh \
	"$FIXTURES/cpu_split_nofp" 2>/dev/null
rc=$?
[ $rc = 137 ] && ok "--grace: SIGKILL after the grace period (exit 137)" || not_ok "--grace: exit $rc, want 137"
"$CPROF" report --stdio -i "$T/g.data" >/dev/null 2>&1 && ok "--grace: recording readable" || not_ok "--grace: recording unreadable"

# the command's own exit status is cprof's
"$CPROF" record -q -o "$T/e.data" -- bash -c 'exit 3' 2>/dev/null
rc=$?
[ $rc = 3 ] && ok "exit status 3 passed through" || not_ok "exit status $rc, want 3"
