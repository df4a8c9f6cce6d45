#!/usr/bin/env bash
# report on a live recording of cpu_split_nofp (self shares 60/30/10 %,
# main -> run_rounds -> hot_*): the table, the header, the tree, filters,
# sort keys, stdin, truncation and --strict.
. "$(dirname "$0")/lib.sh"

skip_unless_perf "report on a recording of cpu_split_nofp" || exit 0
cd "$T" || exit 1
"$CPROF" record -q -- "$FIXTURES/cpu_split_nofp" 700 >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	skip "report on a recording of cpu_split_nofp" \
		"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
	exit 0
fi

"$CPROF" report >rep.txt 2>rep.err
rc=$?
samples=$(sed -n 's/^# samples: \([0-9]*\) .*/\1/p' rep.txt)
if [ $rc -eq 0 ] && grep -qx '# cprof report: cprof.data' rep.txt &&
	grep -q '^# command: .*cpu_split_nofp 700$' rep.txt && [ "${samples:-0}" -ge 300 ] &&
	grep -qE '^# stacks: [0-9.]+% unwound completely' rep.txt &&
	grep -qx '#  Self%  Total%  Samples  Function                                 Module' rep.txt; then
	ok "report: header and column titles"
else
	not_ok "report: header and column titles" "exit $rc, samples '${samples:-}'"
	diag_file rep.txt
	diag_file rep.err
fi

s60=$(share_of hot_sixty rep.txt) s30=$(share_of hot_thirty rep.txt) s10=$(share_of hot_ten rep.txt)
if within "$s60" 60 10 && within "$s30" 30 8 && within "$s10" 10 6; then
	ok "report: self shares 60/30/10 (got $s60/$s30/$s10)"
else
	not_ok "report: self shares 60/30/10" "got $s60/$s30/$s10"
	diag_file rep.txt
fi

mod=$(awk '$4 == "hot_sixty" { print $NF; exit }' rep.txt)
main_total=$(awk '$4 == "main" { print $2; exit }' rep.txt)
if [ "$mod" = cpu_split_nofp ] && within "${main_total:-0}" 100 10 &&
	! grep -qE '^ +[0-9.]+ +[0-9.]+ +[0-9]+  0x[0-9a-f]+ ' rep.txt; then
	ok "report: module is the last column, main's total ~100%, no bare addresses"
else
	not_ok "report: module is the last column, main's total ~100%, no bare addresses" \
		"module '$mod', main total '$main_total'"
	diag_file rep.txt
fi

"$CPROF" report --tree >tree.txt 2>/dev/null
rc=$?
lm=$(grep -nE '^ *[0-9.]+ +main( |$)' tree.txt | head -1 | cut -d: -f1)
lr=$(grep -nE '^ *[0-9.]+ +run_rounds( |$)' tree.txt | head -1 | cut -d: -f1)
lh=$(grep -nE '^ *[0-9.]+ +hot_sixty( |$)' tree.txt | head -1 | cut -d: -f1)
ind() { sed -n "${1}p" tree.txt | sed -E 's/^ *[0-9.]+  ( *).*/\1/' | wc -c; }
if [ $rc -eq 0 ] && [ -n "$lm" ] && [ -n "$lr" ] && [ -n "$lh" ] && [ "$lm" -lt "$lr" ] &&
	[ "$lr" -lt "$lh" ] && [ "$(ind "$lm")" -lt "$(ind "$lr")" ] &&
	[ "$(ind "$lr")" -lt "$(ind "$lh")" ] && sed -n "${lh}p" tree.txt | grep -q 'self [0-9.]*%'; then
	ok "report --tree: main above run_rounds above hot_sixty"
else
	not_ok "report --tree: main above run_rounds above hot_sixty" "exit $rc, lines $lm $lr $lh"
	diag_file tree.txt
fi
h=$(sed -n "${lh:-1}p" tree.txt | awk '{ print $1 }')
if within "${h:-0}" 60 10; then
	ok "report --tree: hot_sixty ~60% ($h)"
else
	not_ok "report --tree: hot_sixty ~60%" "got '$h'"
fi

"$CPROF" report --tree --inverted >inv.txt 2>/dev/null
first=$(grep -vE '^#' inv.txt | head -1)
if [[ $first =~ ^\ *[0-9.]+\ \ hot_sixty\ \(cpu_split_nofp\)$ ]] && grep -q 'callees above callers' inv.txt; then
	ok "report --tree --inverted: hot_sixty is the first root"
else
	not_ok "report --tree --inverted: hot_sixty is the first root" "first: '$first'"
	diag_file inv.txt
fi

"$CPROF" report --sort pid >pid.txt 2>/dev/null
pid=$(awk '/^#/ { next } { print $4; exit }' pid.txt)
"$CPROF" report --pid "$pid" >fpid.txt 2>/dev/null
rc=$?
if [ $rc -eq 0 ] && grep -qx "# filter: pid=$pid" fpid.txt &&
	within "$(share_of hot_sixty fpid.txt)" "$s60" 0.01; then
	ok "report --pid of the target: same shares, filter line"
else
	not_ok "report --pid of the target: same shares, filter line" "exit $rc, pid '$pid'"
	diag_file fpid.txt
fi

"$CPROF" report --pid 1 --comm nosuchthread >none.txt 2>none.err
rc=$?
if [ $rc -eq 0 ] && grep -qx '# no samples match the filter' none.txt &&
	grep -q 'no samples match the filter (pid=1, comm=nosuchthread)' none.err &&
	! grep -q '^   ' none.txt; then
	ok "report: a filter matching nothing says so and exits 0"
else
	not_ok "report: a filter matching nothing says so and exits 0" "exit $rc"
	diag_file none.txt
	diag_file none.err
fi

"$CPROF" report --sort comm,pid --limit 1 >comm.txt 2>/dev/null
rows=$(grep -vc '^#' comm.txt)
if grep -qx '#  Self%  Total%  Samples  Command               Pid' comm.txt && [ "$rows" -eq 1 ] &&
	grep -qE '^ +100\.00 +100\.00 +[0-9]+  cpu_split_nofp +[0-9]+$' comm.txt; then
	ok "report --sort comm,pid --limit 1"
else
	not_ok "report --sort comm,pid --limit 1" "rows $rows"
	diag_file comm.txt
fi

"$CPROF" report -i - <cprof.data >stdin.txt 2>/dev/null
if [ $? -eq 0 ] && diff <(sed 1d rep.txt) <(sed 1d stdin.txt) >/dev/null; then
	ok "report -i - reads standard input"
else
	not_ok "report -i - reads standard input"
	diag_file stdin.txt
fi

size=$(stat -c %s cprof.data)
head -c $((size * 2 / 3)) cprof.data >cut.data
"$CPROF" report -i cut.data >cut.txt 2>cut.err
rc=$?
"$CPROF" report -i cut.data --strict >/dev/null 2>&1
src=$?
if [ $rc -eq 0 ] && [ $src -eq 3 ] && grep -q '^# warning: recording is truncated: ' cut.txt &&
	grep -q '^cprof report: warning: recording is truncated' cut.err; then
	ok "report on a truncated recording: warning, exit 0; --strict: exit 3"
else
	not_ok "report on a truncated recording: warning, exit 0; --strict: exit 3" \
		"exit $rc, --strict exit $src"
	diag_file cut.txt
	diag_file cut.err
fi
