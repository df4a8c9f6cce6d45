#!/usr/bin/env bash
# convert --to folded on a live recording of cpu_split_nofp: the line
# format, counts, order, the atomic -o, filters and stdin.
. "$(dirname "$0")/lib.sh"

skip_unless_perf "convert --to folded on a recording of cpu_split_nofp" || exit 0
cd "$T" || exit 1
"$CPROF" record -q -- "$FIXTURES/cpu_split_nofp" 700 >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	skip "convert --to folded on a recording of cpu_split_nofp" \
		"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
	exit 0
fi
samples=$("$CPROF" report 2>/dev/null | sed -n 's/^# samples: \([0-9]*\) .*/\1/p')

"$CPROF" convert --to folded >out.folded 2>err
rc=$?
bad=$(grep -cvE '^[^;]+(;[^;]+)* [0-9]+$' out.folded)
sum=$(awk '{ s += $NF } END { print s + 0 }' out.folded)
if [ $rc -eq 0 ] && [ -s out.folded ] && [ "$bad" -eq 0 ] && [ "$sum" = "$samples" ]; then
	ok "folded: well-formed lines, counts add up to the $samples samples"
else
	not_ok "folded: well-formed lines, counts add up to the samples" \
		"exit $rc, $bad bad lines, sum $sum vs $samples"
	diag_file out.folded
	diag_file err
fi

if sed -E 's/ [0-9]+$//' out.folded | LC_ALL=C sort -c 2>/dev/null &&
	[ "$(sed -E 's/ [0-9]+$//' out.folded | sort | uniq -d | wc -l)" -eq 0 ]; then
	ok "folded: lines sorted by stack, each stack once"
else
	not_ok "folded: lines sorted by stack, each stack once"
	diag_file out.folded
fi

hot=$(awk '/(^|;)main;run_rounds;hot_sixty [0-9]+$/ { s += $NF } END { print s + 0 }' out.folded)
share=$(awk -v h="$hot" -v t="$sum" 'BEGIN { if (t) printf "%.1f", h * 100 / t; else print 0 }')
if within "$share" 60 10; then
	ok "folded: main;run_rounds;hot_sixty has ~60% of the samples ($share)"
else
	not_ok "folded: main;run_rounds;hot_sixty has ~60% of the samples" "got $share"
	diag_file out.folded
fi

echo old >file.folded
"$CPROF" convert --to folded -o file.folded 2>/dev/null
rc=$?
if [ $rc -eq 0 ] && cmp -s file.folded out.folded && [ ! -e file.folded.tmp ]; then
	ok "convert -o replaces the file with the same output, no .tmp left"
else
	not_ok "convert -o replaces the file with the same output, no .tmp left" "exit $rc"
	ls -la | sed 's/^/# /'
fi

"$CPROF" convert --to folded -i - <cprof.data >stdin.folded 2>/dev/null
if [ $? -eq 0 ] && cmp -s stdin.folded out.folded; then
	ok "convert -i - reads standard input"
else
	not_ok "convert -i - reads standard input"
fi

pid=$("$CPROF" report --sort pid 2>/dev/null | awk '/^#/ { next } { print $4; exit }')
"$CPROF" convert --to folded --pid "$pid" >pid.folded 2>/dev/null
"$CPROF" convert --to folded --pid 1 >none.folded 2>none.err
rc=$?
if cmp -s pid.folded out.folded && [ $rc -eq 0 ] && [ ! -s none.folded ] &&
	grep -q 'no samples match the filter (pid=1)' none.err; then
	ok "convert --pid: the target's pid keeps everything, another pid nothing"
else
	not_ok "convert --pid: the target's pid keeps everything, another pid nothing" "exit $rc"
	diag_file none.err
fi

"$CPROF" convert --to folded --no-inline >noinl.folded 2>/dev/null
if [ $? -eq 0 ] && [ "$(awk '{ s += $NF } END { print s + 0 }' noinl.folded)" = "$sum" ]; then
	ok "convert --no-inline keeps every sample"
else
	not_ok "convert --no-inline keeps every sample"
fi
