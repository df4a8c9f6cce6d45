#!/usr/bin/env bash
# Run every test and print one summary line: "N passed, N failed[, N skipped]".
#   tests/run.sh --build build [--san-build build-san] [PATTERN...]
# Unit tests are cmocka binaries (TAP output); e2e tests are
# tests/e2e/NNNN-*.sh scripts printing TAP lines through tests/e2e/lib.sh;
# fuzz harnesses, when built, run for a few seconds each.
# CPROF_NO_SKIP=1 (what .ci/run sets) counts a skipped check as a failed
# one: in CI a skip means a missing install step or a broken set-up.
set -u
cd "$(dirname "$0")/.."
BUILD=build SAN_BUILD=
pats=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--san-build) SAN_BUILD=$2; shift 2 ;;
	*) pats+=("$1"); shift ;;
	esac
done
export CPROF_TOP=$PWD
export CPROF=$PWD/$BUILD/cprof
export FIXTURES=${FIXTURES:-$PWD/build/fixtures}
export NO_COLOR=1
# a login shell may point at public debuginfod servers (Debian's and
# Ubuntu's profile.d do): recordings in tests must not depend on them; the
# debuginfod test sets its own
unset DEBUGINFOD_URLS
pass=0 fail=0 skip=0
skips=() fails=()
want() {
	[ ${#pats[@]} -eq 0 ] && return 0
	for p in "${pats[@]}"; do case "$1" in *$p*) return 0 ;; esac; done
	return 1
}
# Parse TAP from stdin; label names the test program.
tap() {
	local label=$1 line
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"* | "ok "*"# skip"*)
			if [ "${CPROF_NO_SKIP:-0}" = 1 ]; then
				fail=$((fail + 1)); fails+=("$label: ${line#ok } (a skip fails here: CPROF_NO_SKIP=1)")
				echo "FAIL $label: ${line#ok } (a skip fails here: CPROF_NO_SKIP=1)"
			else
				skip=$((skip + 1)); skips+=("$label: ${line#ok }"); echo "SKIP $label: ${line#ok }"
			fi ;;
		"ok "*) pass=$((pass + 1)); echo "PASS $label: ${line#ok }" ;;
		"not ok "*) fail=$((fail + 1)); fails+=("$label: ${line#not ok }"); echo "FAIL $label: ${line#not ok }" ;;
		"#"*) echo "     $line" ;;
		*) [ -n "$line" ] && echo "     $line" ;;
		esac
	done
}
run_prog() { # label, command...
	local label=$1; shift
	local out rc
	out=$(mktemp)
	# stdin from /dev/null: commands read a pipe on stdin by default
	# (`perf script | cprof flame`), and CI's stdin may be one
	"$@" >"$out" 2>&1 </dev/null
	rc=$?
	tap "$label" <"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
		fail=$((fail + 1)); fails+=("$label: exited $rc"); echo "FAIL $label: exited $rc"
		tail -n 20 "$out" | sed 's/^/     | /'
	fi
	rm -f "$out"
}

for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	want "$t" || continue
	CMOCKA_MESSAGE_OUTPUT=TAP run_prog "unit/$(basename "$t")" "$t"
done
if [ -n "$SAN_BUILD" ]; then
	for t in "$SAN_BUILD"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		want "$t" || continue
		CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			run_prog "unit-san/$(basename "$t")" "$t"
	done
fi
for t in tests/e2e/[0-9]*.sh; do
	[ -f "$t" ] || continue
	want "$t" || continue
	run_prog "e2e/$(basename "$t" .sh)" bash "$t"
done
# The readers and renderers again under ASan/UBSan/LSan: report, convert
# and symbolize on damaged and real input (a leak or UB fails the test).
if [ -n "$SAN_BUILD" ] && [ -x "$SAN_BUILD/cprof" ]; then
	for t in tests/e2e/05[0-9][0-9]-*.sh tests/e2e/2[0-9][0-9][0-9]-*.sh tests/e2e/3[0-9][0-9][0-9]-*.sh; do
		[ -f "$t" ] || continue
		want "$t" || continue
		CPROF=$PWD/$SAN_BUILD/cprof ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			run_prog "e2e-san/$(basename "$t" .sh)" bash "$t"
	done
fi
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	want "$f" || continue
	n=$(basename "$f")
	corpus=tests/fuzz/corpus/${n#fuzz_}
	tmpc=$(mktemp -d)
	if "$f" -max_total_time="${FUZZ_SECONDS:-20}" -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb=2048 "$tmpc" ${corpus:+$( [ -d "$corpus" ] && echo "$corpus")} >"$tmpc.log" 2>&1; then
		tap "fuzz/$n" <<<"ok - $n ran ${FUZZ_SECONDS:-20}s without a crash or a hang"
	else
		tap "fuzz/$n" <<<"not ok - $n found a crash or a hang (over ${FUZZ_TIMEOUT:-5}s on one input)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$tmpc.log" | head -5 | sed 's/^/     | /'
	fi
	rm -rf "$tmpc" "$tmpc.log"
done

echo
if [ ${#skips[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skips[@]}"
fi
if [ ${#fails[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${fails[@]}"
fi
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
