#!/usr/bin/env bash
# record -a / attach -a: every process on the machine.  A program running
# before the recording starts (its mappings come from /proc) and two that
# start and exit during it (theirs from mmap records) appear under their
# names, each with its own split; --user-only leaves the kernel out.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record -a" || exit 0
if [ "$(id -u)" != 0 ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -gt 0 ]; then
	skip "record -a" "needs root or kernel.perf_event_paranoid <= 0"
	exit 0
fi
cd "$T" || exit 1
# comm_share NAME REPORT: Self% of the row whose Command is NAME (--sort comm)
comm_share() { awk -v c="$1" '!/^#/ && NF == 4 && $4 == c { print $1; f = 1; exit } END { if (!f) print 0 }' "$2"; }
expect_comm() { # DESC NAME REPORT WANT TOL
	local got
	got=$(comm_share "$2" "$3")
	within "$got" "$4" "$5" && ok "$1: $2 $got% (want $4 +-$5)" || { not_ok "$1: $2 $got% (want $4 +-$5)"; diag_file "$3" 16; }
}

"$CPROF" record -a --sampler ptrace -d 1 >/dev/null 2>err
rc=$?
[ $rc = 2 ] && grep -q 'perf_event' err && ok "-a --sampler ptrace: usage error" ||
	not_ok "-a --sampler ptrace: exit $rc" "$(cat err)"

"$FIXTURES/cpu_split_fp" 100000 >/dev/null &
before=$!
"$CPROF" record -a -o sys.data >/dev/null 2>rec.err &
rec=$!
# sampling has started once the file has its header
wait_until 10 test -s sys.data
"$FIXTURES/cpu_split_nofp" 400 >/dev/null &
a=$!
"$FIXTURES/threads" 300 >/dev/null &
b=$!
wait $a $b
kill -INT $rec
wait $rec
rc=$?
kill -KILL $before 2>/dev/null
wait $before 2>/dev/null
[ $rc = 0 ] && ok "record -a until SIGINT: exit 0" || not_ok "record -a: exit $rc" "$(cat rec.err)"

"$CPROF" report --stdio -i sys.data --sort comm >comm.txt 2>&1
for c in cpu_split_nofp cpu_split_fp thr-alpha thr-delta; do
	[ "$(comm_share "$c" comm.txt)" != 0 ] && ok "process or thread '$c' is there, by name" ||
		not_ok "no '$c'" "$(head -20 comm.txt)"
done
# each program's own split: cpu_split 60/30/10 of its samples
"$CPROF" report --stdio -i sys.data --comm cpu_split_nofp >cs.txt 2>&1
expect_share "started during the run" hot_sixty cs.txt 60 5
expect_share "started during the run" hot_ten cs.txt 10 4
"$CPROF" report --stdio -i sys.data --comm cpu_split_fp >fp.txt 2>&1
expect_share "running before the run (maps from /proc)" hot_sixty fp.txt 60 5
# threads: 40/30/20/10 of that process's samples, by thread name
"$CPROF" report --stdio -i sys.data --pid $b --sort comm >thr.txt 2>&1
expect_comm "threads, by name" thr-alpha thr.txt 40 5
expect_comm "threads, by name" thr-gamma thr.txt 20 5
expect_comm "threads, by name" thr-delta thr.txt 10 4

# report --user-only: no kernel frame, the kernel's time given to the user
# frames below it or left out
"$CPROF" report --stdio -i sys.data --user-only >uo.txt 2>&1
if grep -q '^# filter: user-only' uo.txt && ! grep -q 'kernel.kallsyms' uo.txt &&
	[ "$(share_of thread_alpha_hot uo.txt)" != 0 ]; then
	ok "report --user-only: no kernel frame"
else
	not_ok "report --user-only" "$(head -14 uo.txt)"
fi

# attach -a for a second, kernel frames left out
"$FIXTURES/cpu_split_nofp" 100000 >/dev/null &
c=$!
"$CPROF" attach -a -d 1 --user-only -o at.data >/dev/null 2>at.err
rc=$?
kill -KILL $c
wait $c 2>/dev/null
"$CPROF" report --stdio -i at.data >at.txt 2>&1
if [ $rc = 0 ] && [ "$(share_of hot_sixty at.txt)" != 0 ] && ! grep -q 'kernel.kallsyms' at.txt; then
	ok "attach -a --user-only: cpu_split there, no kernel frame"
else
	not_ok "attach -a --user-only: exit $rc" "$(cat at.err)" "$(head -14 at.txt)"
fi
