#!/usr/bin/env bash
# record stores the machine code of the sampled functions (for annotate),
# bounded by --code-max; bad --code-max values are usage errors.
. "$(dirname "$0")/lib.sh"

# usage errors need no perf rights
for bad in x 5T -1 1MM ""; do
	"$CPROF" record --code-max "$bad" -o "$T/bad.data" -- true >/dev/null 2>"$T/err.txt"
	rc=$?
	if [ $rc = 2 ] && head -n 1 "$T/err.txt" | grep -q "^cprof record: error: --code-max: '$bad' " &&
		[ "$(grep -c 'error' "$T/err.txt")" = 1 ] && [ ! -e "$T/bad.data" ]; then
		ok "record --code-max '$bad': exit 2, one error line naming the flag"
	else
		not_ok "record --code-max '$bad': exit $rc"
		diag_file "$T/err.txt"
	fi
done
"$CPROF" attach --code-max 12Q -p $$ >/dev/null 2>"$T/err.txt"
rc=$?
[ $rc = 2 ] && head -n 1 "$T/err.txt" | grep -q -- "--code-max: '12Q'" &&
	ok "attach --code-max 12Q: exit 2" || { not_ok "attach --code-max 12Q: exit $rc"; diag_file "$T/err.txt"; }

skip_unless_perf "record code" || exit 0
bin=$FIXTURES/cpu_split_nofp
record_ok "default --code-max" "$T/code.data" -- "$bin" 200 || exit 0
record_ok "--code-max 0" "$T/none.data" --code-max 0 -- "$bin" 200 || exit 0
record_ok "--code-max 16M" "$T/big.data" --code-max 16M -- "$bin" 200 || exit 0
hot=$(nm -S "$bin" | awk '$4 == "hot_sixty" { print $2 }')
hot=$((16#${hot:-0}))
with=$(stat -c %s "$T/code.data")
without=$(stat -c %s "$T/none.data")
if [ "$hot" -gt 0 ] && [ $((with - without)) -ge "$hot" ]; then
	ok "code stored: $with bytes with, $without without (hot_sixty is $hot bytes)"
else
	not_ok "recording with code is $with bytes, without $without, hot_sixty $hot bytes"
fi
# the recordings still report the same (the code section is read and skipped by report)
for f in code none big; do
	if "$CPROF" report --stdio -i "$T/$f.data" >"$T/r.txt" 2>"$T/err.txt"; then
		expect_share "$f.data" hot_sixty "$T/r.txt" 60 4
	else
		not_ok "report of $f.data failed"
		diag_file "$T/err.txt"
	fi
done
