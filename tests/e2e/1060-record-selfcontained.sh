#!/usr/bin/env bash
# A recording is self-contained: report after the binary is deleted.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record self-contained" || exit 0

cp "$FIXTURES/cpu_split_nofp" "$T/victim"
record_ok selfcontained "$T/v.data" -- "$T/victim" 300 || exit 0
rm -f "$T/victim"
if "$CPROF" report --stdio -i "$T/v.data" >"$T/r.txt" 2>"$T/err.txt"; then
	expect_share "binary deleted" hot_sixty "$T/r.txt" 60 4
	mod=$(module_of hot_sixty "$T/r.txt")
	[ "$mod" = victim ] && ok "module still named 'victim'" || not_ok "module '$mod'"
else
	not_ok "report failed after rm of the binary"
	diag_file "$T/err.txt"
fi
