#!/usr/bin/env bash
# demo.sh - profile a small program and write what cprof makes of it.
#
#   scripts/demo.sh [BUILD_DIR]     (default: build; `make demo` passes $(O))
#
# Builds nothing: `make demo` builds cprof and the fixtures first.  Records
# build/fixtures/cpu_split_nofp (three functions taking 60/30/10 % of the
# CPU, compiled without frame pointers, so the stacks come from DWARF
# unwinding) and writes into demo/:
#   cprof.data    the recording
#   report.txt    cprof report --stdio
#   tree.txt      cprof report --stdio --tree
#   annotate.txt  cprof report --stdio --annotate hot_sixty: its machine code
#                 with each instruction's share (kept in the recording)
#   demo.folded   cprof convert --to folded (for flamegraph.pl, speedscope)
#   flame.svg     cprof flame: an interactive flame graph (open it in a browser)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CPROF=$BUILD/cprof
TARGET=$TOP/build/fixtures/cpu_split_nofp
OUT=$TOP/demo

die() {
	echo "demo: $*" >&2
	exit 1
}
[ -x "$CPROF" ] || die "no cprof binary at '$CPROF' (run 'make demo', which builds it)"
[ -x "$TARGET" ] || die "no fixture at '$TARGET' (run 'make demo', which builds it)"

paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)
perf_denied() {
	echo "demo: perf_event is not allowed here (kernel.perf_event_paranoid=$paranoid);" \
		"run as root or 'sysctl kernel.perf_event_paranoid=2'" >&2
	exit 1
}
if [ "$(id -u)" != 0 ] && { [ "$paranoid" = unknown ] || [ "$paranoid" -gt 2 ]; }; then
	perf_denied
fi

{ mkdir -p "$OUT" && [ -w "$OUT" ]; } || die "cannot write to '$OUT'"
cd "$OUT" || exit 1
rm -f cprof.data cprof.data.old report.txt tree.txt annotate.txt demo.folded flame.svg record.log

echo "demo: cprof record -o demo/cprof.data -- build/fixtures/cpu_split_nofp"
if ! "$CPROF" record -o cprof.data -- "$TARGET" 2>record.log; then
	cat record.log >&2
	# The kernel (or a container's seccomp filter) refused perf_event_open.
	grep -qiE 'perf_event_paranoid|permission|not permitted' record.log && perf_denied
	die "cprof record failed (see above)"
fi
# cprof record's own notices (e.g. the cpu-clock fallback) are worth showing
[ -s record.log ] && cat record.log >&2
rm -f record.log

# report and convert read ./cprof.data when no file is named
"$CPROF" report --stdio >report.txt || die "cprof report --stdio failed"
"$CPROF" report --stdio --tree >tree.txt || die "cprof report --stdio --tree failed"
"$CPROF" report --stdio --annotate hot_sixty >annotate.txt || die "cprof report --annotate failed"
"$CPROF" convert --to folded >demo.folded || die "cprof convert --to folded failed"
"$CPROF" flame --title "cprof demo: cpu_split_nofp" -o flame.svg || die "cprof flame failed"

echo
head -n 20 report.txt
echo "..."
echo
echo "demo: wrote"
for f in cprof.data report.txt tree.txt annotate.txt demo.folded flame.svg; do
	printf '  demo/%-12s %s\n' "$f" "$(wc -c <"$f") bytes"
done
echo "demo: try 'cd demo && $CPROF report' (the browser: ? lists its keys), and open demo/flame.svg in a browser"
