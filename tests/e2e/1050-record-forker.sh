#!/usr/bin/env bash
# forker: children (fork) and an exec'd program, each under its own pid.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record forker" || exit 0

record_ok forker "$T/f.data" -- "$FIXTURES/forker" || exit 0
"$CPROF" report --stdio --sort pid,comm,function,module -i "$T/f.data" >"$T/r.txt"
"$CPROF" report --stdio -i "$T/f.data" >"$T/all.txt"
report_tsv "$T/r.txt" >"$T/rows.tsv"
declare -A pid_of
for fn in parent_work child_one_work child_two_work child_three_work hot_sixty; do
	pid_of[$fn]=$(awk -F'\t' -v f="$fn" '$7 == f { print $5; exit }' "$T/rows.tsv")
done
n=$(printf '%s\n' "${pid_of[@]}" | grep -c .)
u=$(printf '%s\n' "${pid_of[@]}" | grep . | sort -u | wc -l)
if [ "$n" = 5 ] && [ "$u" = 5 ]; then ok "5 hot functions under 5 distinct pids"; else
	not_ok "pids: ${pid_of[*]}"; diag_file "$T/r.txt" 20; fi
for fn in parent_work child_one_work child_two_work child_three_work; do
	expect_share forker "$fn" "$T/all.txt" 20 3
done
expect_share forker hot_sixty "$T/all.txt" 12 3
row=$(awk -F'\t' '$7 == "hot_sixty" { print $4, $8; exit }' "$T/rows.tsv")
if [ "$row" = "cpu_split_fp cpu_split_fp" ]; then ok "exec'd child: comm and module cpu_split_fp"; else
	not_ok "exec'd child row: '$row'"; fi

# --no-inherit: the children are not followed (threads still are)
record_ok no-inherit "$T/ni.data" --no-inherit -- "$FIXTURES/forker" 250 || exit 0
"$CPROF" report --stdio -i "$T/ni.data" >"$T/ni.txt"
# Total%: kernel work the parent's fork and wait cause (a few samples of
# ~400; more on a fresh machine, where page faults cost more) runs under
# parent_work and must not make the check flaky
tot=$(share_of parent_work "$T/ni.txt" 2)
if within "$tot" 99 2; then
	ok "--no-inherit: parent_work total $tot% (want 99 +-2)"
else
	not_ok "--no-inherit: parent_work total $tot% (want 99 +-2)"
	diag_file "$T/ni.txt" 30
fi
others=$(grep -cE ' (child_(one|two|three)_work|hot_sixty) ' "$T/ni.txt")
[ "$others" = 0 ] && ok "--no-inherit: no child's function" || not_ok "--no-inherit: $others child rows"
record_ok no-inherit "$T/nt.data" --no-inherit -- "$FIXTURES/threads" 300 || exit 0
"$CPROF" report --stdio -i "$T/nt.data" >"$T/nt.txt"
expect_share "--no-inherit keeps threads" thread_alpha_hot "$T/nt.txt" 40 3
