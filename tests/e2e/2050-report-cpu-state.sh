#!/usr/bin/env bash
# report: --on-cpu/--off-cpu and the state sort key on a CPU recording, where
# every sample is on-CPU (wall-clock recordings add off-CPU samples).
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
"$CPROF" report --on-cpu --off-cpu -i nosuch.data >out 2>err
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--on-cpu and --off-cpu' err; then
	ok "--on-cpu with --off-cpu: usage error naming both"
else
	not_ok "--on-cpu with --off-cpu: usage error naming both" "exit $rc (want 2), stderr:"
	diag_file err
fi
"$CPROF" report --sort state,bogus -i nosuch.data >out 2>err
if [ $? -eq 2 ] && grep -q "srcline, state)" err; then
	ok "unknown sort key: the list names state"
else
	not_ok "unknown sort key: the list names state"
	diag_file err
fi

skip_unless_perf "report --on-cpu/--off-cpu on a recording" || exit 0
"$CPROF" record -q -- "$FIXTURES/cpu_split_nofp" 300 >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	skip "report --on-cpu/--off-cpu on a recording" \
		"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
	exit 0
fi

"$CPROF" report >all.txt 2>/dev/null
"$CPROF" report --on-cpu >on.txt 2>/dev/null
if grep -qx '# filter: on-cpu' on.txt && ! grep -q '^# wall-clock' all.txt &&
	diff <(grep -v '^#' all.txt) <(grep -v '^#' on.txt) >/dev/null; then
	ok "report --on-cpu: every sample of a CPU recording, no wall-clock line"
else
	not_ok "report --on-cpu: every sample of a CPU recording, no wall-clock line"
	diag_file on.txt
fi

"$CPROF" report --off-cpu >off.txt 2>off.err
rc=$?
if [ $rc -eq 0 ] && grep -qx '# filter: off-cpu' off.txt &&
	grep -qx '# no samples match the filter' off.txt &&
	grep -q 'no samples match the filter (off-cpu)' off.err; then
	ok "report --off-cpu: no samples in a CPU recording, exit 0 with a warning"
else
	not_ok "report --off-cpu: no samples in a CPU recording, exit 0 with a warning" "exit $rc"
	diag_file off.txt
	diag_file off.err
fi

"$CPROF" report --sort state,function >state.txt 2>/dev/null
s=$(awk '!/^#/ && $4 == "on-cpu" && $5 == "hot_sixty" { print $1; f = 1; exit }
	END { if (!f) print 0 }' state.txt)
if grep -qE '^#  Self%  Total%  Samples  State +Function$' state.txt && within "$s" 60 8 &&
	[ "$(grep -v '^#' state.txt | awk '$4 != "on-cpu"' | wc -l)" -eq 0 ]; then
	ok "report --sort state,function: a State column, all on-cpu (hot_sixty $s%)"
else
	not_ok "report --sort state,function: a State column, all on-cpu" "hot_sixty '$s'"
	diag_file state.txt
fi
