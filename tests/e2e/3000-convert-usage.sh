#!/usr/bin/env bash
# convert: usage errors (exit 2) and unreadable input (exit 1); no recording needed.
. "$(dirname "$0")/lib.sh"

expect_rc() {
	local desc=$1 want=$2 pat=$3 rc
	shift 3
	"$CPROF" convert "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq "$want" ] && grep -qE -- "$pat" "$T/err"; then
		ok "$desc"
	else
		not_ok "$desc" "exit $rc (want $want), stderr:"
		diag_file "$T/err"
	fi
}

cd "$T" || exit 1
expect_rc "missing --to: exit 2 naming the formats" 2 "missing --to.*supported: folded"
expect_rc "unsupported format: exit 2 naming the formats" 2 \
	"unsupported format 'pprof' \(supported: folded\)" --to pprof
expect_rc "bad tid: exit 2" 2 "bad tid 'x'" --to folded --tid x
expect_rc "missing input: exit 1" 1 "^cprof convert: error: .*nosuch\.data" --to folded -i nosuch.data
printf 'junk' >junk.data
expect_rc "not a recording: exit 1, no output file left" 1 "^cprof convert: error: " \
	--to folded -i junk.data -o out.folded
if [ ! -e out.folded ] && [ ! -e out.folded.tmp ]; then
	ok "a failed convert leaves no output file"
else
	not_ok "a failed convert leaves no output file" "$(ls -la)"
fi
