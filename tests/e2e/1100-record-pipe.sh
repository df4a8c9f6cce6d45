#!/usr/bin/env bash
# -o - streams the recording to stdout: record | report -i -; an existing
# file is kept as FILE.old.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record to a pipe" || exit 0

"$CPROF" record -q -o - -- "$FIXTURES/cpu_split_nofp" 400 2>"$T/err" | "$CPROF" report --stdio -i - >"$T/r.txt" 2>>"$T/err"
if [ "${PIPESTATUS[0]}" = 0 ]; then
	expect_share "record -o - | report -i -" hot_sixty "$T/r.txt" 60 4
else
	not_ok "record -o - failed"; diag_file "$T/err"
fi
cd "$T" || exit 1
record_ok old first.data -- "$FIXTURES/cpu_split_nofp" 50 && cp first.data copy.data
record_ok old first.data -- "$FIXTURES/cpu_split_nofp" 50 &&
	cmp -s first.data.old copy.data && ok "the previous recording is kept as first.data.old" ||
	not_ok "first.data.old is not the previous recording"
