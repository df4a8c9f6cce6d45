#!/usr/bin/env bash
# threads: each hot function on its own thread, with the thread's name.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record threads" || exit 0

record_ok threads "$T/t.data" -- "$FIXTURES/threads" || exit 0
"$CPROF" report --stdio --sort tid,comm,function,module -i "$T/t.data" >"$T/r.txt"
"$CPROF" report --stdio -i "$T/t.data" >"$T/all.txt"
report_tsv "$T/r.txt" >"$T/rows.tsv"
for spec in alpha:40 beta:30 gamma:20 delta:10; do
	name=${spec%%:*} want=${spec##*:}
	fn=thread_${name}_hot
	rows=$(awk -F'\t' -v f="$fn" '$7 == f' "$T/rows.tsv")
	n=$(printf '%s\n' "$rows" | grep -c . )
	tid=$(printf '%s\n' "$rows" | awk -F'\t' 'NR == 1 { print $6 }')
	comm=$(printf '%s\n' "$rows" | awk -F'\t' 'NR == 1 { print $4 }')
	if [ "$n" = 1 ] && [ "$comm" = "thr-$name" ]; then
		ok "$fn on one thread (tid $tid, $comm)"
	else
		not_ok "$fn: $n rows, first tid '$tid' comm '$comm'"
		diag_file "$T/r.txt" 20
	fi
	# the same thread, filtered, has this function as its top entry
	"$CPROF" report --stdio --tid "$tid" -i "$T/t.data" >"$T/one.txt"
	top=$(awk '!/^#/ && NF >= 5 { for (i = 4; i < NF; i++) printf "%s%s", (i > 4 ? " " : ""), $i; print ""; exit }' "$T/one.txt")
	if [ "$top" = "$fn" ]; then ok "--tid $tid: top function is $fn"; else
		not_ok "--tid $tid: top function is '$top'"; diag_file "$T/one.txt" 12; fi
	expect_share threads "$fn" "$T/all.txt" "$want" 3
done
tids=$(awk -F'\t' '$7 ~ /^thread_/ { print $6 }' "$T/rows.tsv" | sort -u | wc -l)
if [ "$tids" -ge 4 ]; then ok "$tids distinct tids"; else not_ok "only $tids distinct tids"; fi
