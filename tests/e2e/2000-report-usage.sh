#!/usr/bin/env bash
# report: usage errors (exit 2), unreadable input (exit 1); no recording needed.
. "$(dirname "$0")/lib.sh"

# expect_rc DESC RC PATTERN ARGS...: cprof report ARGS exits RC and its
# stderr matches PATTERN (grep -E).
expect_rc() {
	local desc=$1 want=$2 pat=$3 rc
	shift 3
	"$CPROF" report "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq "$want" ] && grep -qE -- "$pat" "$T/err"; then
		ok "$desc"
	else
		not_ok "$desc" "exit $rc (want $want), stderr:"
		diag_file "$T/err"
	fi
}

cd "$T" || exit 1
expect_rc "missing cprof.data: exit 1 with the file name" 1 \
	"^cprof report: error: .*cprof\.data" 
expect_rc "missing -i file: exit 1" 1 "^cprof report: error: .*nosuch\.data" -i nosuch.data
printf 'this is not a recording\n' >junk.data
expect_rc "not a recording: exit 1" 1 "^cprof report: error: " -i junk.data
expect_rc "unknown sort key: exit 2" 2 "unknown sort key 'bogus'" --sort function,bogus -i junk.data
expect_rc "bad pid: exit 2" 2 "bad pid 'abc'" --pid 12,abc -i junk.data
expect_rc "bad percent limit: exit 2" 2 "percent-limit" --percent-limit 150 -i junk.data
expect_rc "--inverted without --tree: exit 2" 2 "needs --tree" --inverted -i junk.data
expect_rc "operand: exit 2" 2 "unexpected argument 'extra'" extra
expect_rc "unknown option: exit 2" 2 "unknown option '--bogus'" --bogus

"$CPROF" report -h >"$T/out" 2>&1
if [ $? -eq 0 ] && grep -q -- '--percent-limit' "$T/out" && grep -q '^usage: cprof report' "$T/out"; then
	ok "-h prints the usage"
else
	not_ok "-h prints the usage"
	diag_file "$T/out"
fi
