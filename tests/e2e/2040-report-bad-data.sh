#!/usr/bin/env bash
# Damaged data files: a clear one-line error with the byte offset (exit 1),
# or, for a file cut short, the complete part with a warning; never a crash.
. "$(dirname "$0")/lib.sh"

good=$CPROF_TOP/tests/fuzz/corpus/data/jitter.data
size=$(stat -c %s "$good")
python3 - "$good" "$T" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
t = sys.argv[2]
flip = bytearray(d); flip[200] ^= 0x40
open(t + '/flip.data', 'wb').write(flip)
open(t + '/cut.data', 'wb').write(d[:len(d) - 100])
open(t + '/header.data', 'wb').write(d[:40])
open(t + '/zero.data', 'wb').write(b'')
open(t + '/text.data', 'wb').write(b'perf script output\n' * 20)
PY
for cmd in report convert; do
	args=(--stdio)
	[ $cmd = convert ] && args=(--to folded)
	for f in flip header zero text; do
		"$CPROF" $cmd "${args[@]}" -i "$T/$f.data" >"$T/out" 2>"$T/err"
		rc=$?
		lines=$(wc -l <"$T/err")
		if [ $rc = 1 ] && [ "$lines" = 1 ] && grep -q "^cprof $cmd: error: .*'$T/$f.data'" "$T/err"; then
			ok "$cmd $f.data: exit 1, one line: $(cat "$T/err")"
		else
			not_ok "$cmd $f.data: exit $rc, $lines lines"
			diag_file "$T/err"
		fi
	done
done
grep -q 'offset [0-9]' <("$CPROF" report --stdio -i "$T/flip.data" 2>&1) &&
	ok "a corrupt chunk is reported with its offset" || not_ok "no offset for the corrupt chunk"

"$CPROF" report --stdio -i "$T/cut.data" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 0 ] && grep -q 'truncated' "$T/err" && grep -q '^# warning: recording is truncated' "$T/out"; then
	ok "a file cut short: its complete part, with a warning (exit 0)"
else
	not_ok "cut file: exit $rc"; diag_file "$T/err"; diag_file "$T/out"
fi
"$CPROF" report --stdio --strict -i "$T/cut.data" >/dev/null 2>&1
rc=$?
[ $rc = 3 ] && ok "--strict: exit 3 for the cut file" || not_ok "--strict: exit $rc"
# the reader never writes: the damaged file is unchanged
[ "$(stat -c %s "$good")" = "$size" ] && ok "input files untouched" || not_ok "input changed"
# a failed convert leaves an existing output file as it was
echo "good output" >"$T/out.folded"
"$CPROF" convert --to folded -i "$T/flip.data" -o "$T/out.folded" 2>/dev/null
[ "$(cat "$T/out.folded")" = "good output" ] && [ -z "$(ls "$T" | grep -v -E '^(flip|cut|header|zero|text)\.data$|^out|^err$')" ] &&
	ok "failed convert -o: the existing output is untouched, no temp file left" ||
	{ not_ok "failed convert -o changed the output or left files"; ls "$T" | sed 's/^/# /'; }
