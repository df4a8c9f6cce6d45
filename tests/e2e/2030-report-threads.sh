#!/usr/bin/env bash
# report on the threads fixture: --sort comm, --comm and --tid filters.
. "$(dirname "$0")/lib.sh"

skip_unless_perf "report on a recording of threads" || exit 0
cd "$T" || exit 1
"$CPROF" record -q -- "$FIXTURES/threads" >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	skip "report on a recording of threads" \
		"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
	exit 0
fi

"$CPROF" report --sort comm >comm.txt 2>/dev/null
# share NAME: Self% of the row whose last column is NAME
share() { awk -v n="$1" '!/^#/ && $NF == n { print $1; f = 1; exit } END { if (!f) print 0 }' comm.txt; }
a=$(share thr-alpha) b=$(share thr-beta) g=$(share thr-gamma) d=$(share thr-delta)
if grep -qx '#  Self%  Total%  Samples  Command' comm.txt && within "$a" 40 8 &&
	within "$b" 30 8 && within "$g" 20 6 && within "$d" 10 5; then
	ok "report --sort comm: 40/30/20/10 by thread name ($a/$b/$g/$d)"
else
	not_ok "report --sort comm: 40/30/20/10 by thread name" "got $a/$b/$g/$d"
	diag_file comm.txt
fi

"$CPROF" report --comm thr-beta >beta.txt 2>/dev/null
s=$(share_of thread_beta_hot beta.txt)
if grep -qx '# filter: comm=thr-beta' beta.txt && within "$s" 100 3 &&
	[ "$(share_of thread_alpha_hot beta.txt)" = 0 ]; then
	ok "report --comm thr-beta: only that thread, percentages of it ($s)"
else
	not_ok "report --comm thr-beta: only that thread, percentages of it" "got '$s'"
	diag_file beta.txt
fi

tid=$("$CPROF" report --sort comm,tid 2>/dev/null | awk '!/^#/ && $4 == "thr-gamma" { print $5; exit }')
"$CPROF" report --tid "$tid" --sort comm >gamma.txt 2>/dev/null
# the thread's own samples only: under its name, and at most a stray one
# taken before it named itself (then it still had its creator's, threads)
g=$(awk '!/^#/ && $4 == "thr-gamma" { print $1 }' gamma.txt)
others=$(awk '!/^#/ && $4 != "thr-gamma" && $4 != "threads"' gamma.txt)
if [ -n "$tid" ] && [ -n "$g" ] && within "$g" 100 1 && [ -z "$others" ]; then
	ok "report --tid of thr-gamma: that thread only, $g% under its name"
else
	not_ok "report --tid of thr-gamma: one row, 100%" "tid '$tid'"
	diag_file gamma.txt
fi
