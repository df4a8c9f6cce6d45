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
expect_rc "missing --to: exit 2 naming the formats" 2 \
	"missing --to.*supported: pprof, folded, speedscope, callgrind, massif"
expect_rc "unsupported format: exit 2 naming the formats" 2 \
	"unsupported format 'json' \(supported: pprof, folded, speedscope, callgrind, massif\)" --to json
expect_rc "unknown --from: exit 2 naming the formats" 2 \
	"--from: unknown input format 'perf' \(supported: cprof, pprof, perf-script, folded\)" \
	--to folded --from perf
expect_rc "--thread-root needs --to folded" 2 "--thread-root only applies to --to folded" \
	--to speedscope --thread-root comm
expect_rc "--thread-root value checked" 2 "--thread-root: unknown value 'x'" \
	--to folded --thread-root x
expect_rc "bad tid: exit 2" 2 "bad tid 'x'" --to folded --tid x
# one_line_rc DESC WANT PATTERN ARGS...: exit WANT and one line on stderr
one_line_rc() {
	local desc=$1 want=$2 pat=$3 rc
	shift 3
	"$CPROF" convert "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq "$want" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qE -- "$pat" "$T/err"; then
		ok "$desc"
	else
		not_ok "$desc" "exit $rc (want $want), stderr:"
		diag_file "$T/err"
	fi
}
one_line_rc "--at-peak needs --to pprof: one line, exit 2" 2 \
	"^cprof convert: error: --at-peak only applies to --to pprof" --to folded --at-peak
one_line_rc "--sample-type with --to massif: one line, exit 2" 2 \
	"^cprof convert: error: --sample-type does not apply to --to massif" \
	--to massif --sample-type inuse_space
expect_rc "missing input: exit 1" 1 "^cprof convert: error: .*nosuch\.data" --to folded -i nosuch.data
printf 'junk' >junk.data
expect_rc "not a profile: exit 1, no output file left" 1 \
	"^cprof convert: error: cannot tell the format of 'junk.data'.*--from" \
	--to folded -i junk.data -o out.folded
: >empty.data
expect_rc "empty input: exit 1" 1 "'empty.data' is empty" --to folded -i empty.data
expect_rc "forced reader on the wrong content: its error, exit 1" 1 \
	"^cprof convert: error: .*junk.data" --to folded --from pprof -i junk.data
if [ ! -e out.folded ] && [ ! -e out.folded.tmp ]; then
	ok "a failed convert leaves no output file"
else
	not_ok "a failed convert leaves no output file" "$(ls -la)"
fi
