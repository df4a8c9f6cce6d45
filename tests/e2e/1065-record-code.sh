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
# hot_sixty's stored code spans its symbol (nm -S): the annotation's
# range; with --code-max 0 there is none.  (File sizes of two recordings
# say nothing: their samples differ more than a 45-byte function.)
read -r hstart hsize < <(nm -S "$bin" | awk '$4 == "hot_sixty" { print $1, $2 }')
for f in code big; do
	"$CPROF" report --stdio --annotate hot_sixty -i "$T/$f.data" >"$T/ann.txt" 2>"$T/err.txt"
	range=$(sed -n 's/^# annotate: hot_sixty ([^)]*), 0x\([0-9a-f]*\)-0x\([0-9a-f]*\), .*/\1 \2/p' "$T/ann.txt")
	read -r lo hi <<<"$range"
	if [ -n "$hsize" ] && [ -n "$range" ] && [ $((16#$lo)) = $((16#$hstart)) ] &&
		[ $((16#$hi - 16#$lo)) = $((16#$hsize)) ]; then
		ok "$f.data: hot_sixty's code stored, 0x$lo-0x$hi as nm -S says"
	else
		not_ok "$f.data: hot_sixty's stored code '$range', nm -S '$hstart $hsize'"
		diag_file "$T/ann.txt"
		diag_file "$T/err.txt"
	fi
done
if ! "$CPROF" report --stdio --annotate hot_sixty -i "$T/none.data" >/dev/null 2>"$T/err.txt" &&
	grep -q -- '--code-max 0' "$T/err.txt"; then
	ok "none.data (--code-max 0): no code stored"
else
	not_ok "none.data (--code-max 0): annotate should fail naming --code-max 0"
	diag_file "$T/err.txt"
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
