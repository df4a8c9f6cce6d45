#!/usr/bin/env bash
# cprof SIGKILLed mid-recording: the file holds every complete chunk, the
# report says it is truncated, and the target keeps running untouched.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record killed" || exit 0

cp "$FIXTURES/cpu_split_nofp" "$T/longrun"
"$CPROF" record -q -o "$T/k.data" -- "$T/longrun" 2500 2>/dev/null &
rec=$!
sleep 3
target=$(pgrep -P $rec | head -1)
kill -KILL $rec
wait $rec 2>/dev/null
sleep 0.2
state=$(awk '{ print $3 }' "/proc/$target/stat" 2>/dev/null)
case "$state" in
R | S) ok "target still running after cprof was killed (state $state)" ;;
*) not_ok "target state '$state' after cprof was killed" ;;
esac
"$CPROF" report --stdio -i "$T/k.data" >"$T/r.txt" 2>"$T/err.txt"
rc=$?
if [ $rc = 0 ] && grep -q 'truncated' "$T/r.txt" && grep -q 'truncated' "$T/err.txt"; then
	ok "report of the killed recording says it is truncated"
else
	not_ok "report exit $rc, no truncation notice"
	diag_file "$T/r.txt" 10
	diag_file "$T/err.txt" 5
fi
n=$(sed -nE 's/^# samples: ([0-9]+).*/\1/p' "$T/r.txt")
# ~3 s at 999 Hz recorded; at most about a second may be lost
if [ -n "$n" ] && [ "$n" -ge 1500 ]; then ok "$n samples kept"; else not_ok "only '$n' samples kept"; fi
expect_share killed hot_sixty "$T/r.txt" 60 4
"$CPROF" report --stdio --strict -i "$T/k.data" >/dev/null 2>&1
rc=$?
[ $rc = 3 ] && ok "--strict exits 3 on a truncated recording" || not_ok "--strict exit $rc"
# let the orphaned target finish on its own
while kill -0 "$target" 2>/dev/null; do sleep 0.2; done
ok "target finished by itself"
