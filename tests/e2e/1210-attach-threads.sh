#!/usr/bin/env bash
# attach to the threads fixture: all four hot functions, each with its tid
# and thread name; --tid samples one thread only; with each sampler.
. "$(dirname "$0")/lib.sh"

suite() {
	local s=$1
	"$FIXTURES/threads" 4000 &
	tpid=$!
	sleep 0.3
	"$CPROF" attach -q --sampler "$s" -p "$tpid" -d 1 -o "$T/t.data" 2>"$T/err" || { not_ok "$s: attach failed"; diag_file "$T/err"; }
	"$CPROF" report --stdio --sort tid,comm,function,module -i "$T/t.data" >"$T/r.txt"
	report_tsv "$T/r.txt" >"$T/rows.tsv"
	for name in alpha beta gamma delta; do
		row=$(awk -F'\t' -v f="thread_${name}_hot" '$7 == f { print $6, $4; exit }' "$T/rows.tsv")
		case "$row" in
		[0-9]*" thr-$name") ok "$s: thread_${name}_hot on tid ${row% *} ($name)" ;;
		*) not_ok "$s: thread_${name}_hot: '$row'"; diag_file "$T/r.txt" 14 ;;
		esac
	done
	n=$(awk -F'\t' '$7 ~ /^thread_.*_hot$/ { print $6 }' "$T/rows.tsv" | sort -u | wc -l)
	[ "$n" = 4 ] && ok "$s: four distinct tids" || not_ok "$s: $n distinct tids"

	# --tid: one thread
	beta=$(awk -F'\t' '$7 == "thread_beta_hot" { print $6; exit }' "$T/rows.tsv")
	if [ -n "$beta" ] && kill -0 "$tpid" 2>/dev/null; then
		"$CPROF" attach -q --sampler "$s" -p "$tpid" --tid "$beta" -d 1 -o "$T/b.data" 2>"$T/err"
		"$CPROF" report --stdio -i "$T/b.data" >"$T/b.txt"
		expect_share "$s: --tid $beta" thread_beta_hot "$T/b.txt" 99 2
	else
		not_ok "$s: --tid: no beta thread or the process is gone"
	fi
	wait "$tpid"
	[ $? = 0 ] && ok "$s: target exited 0" || not_ok "$s: target exit status"
}

if have_perf; then
	suite perf
else
	skip "attach threads with perf_event" "perf_event not allowed"
fi
suite ptrace
