#!/usr/bin/env bash
# convert --to callgrind: folded stacks with known counts, then a live
# recording of cpu_split_nofp, read by valgrind's callgrind_annotate: the
# self shares of hot_sixty/hot_thirty/hot_ten (60/30/10, and equal to
# cprof report's), main's inclusive cost ~100%, the event named after the
# sample type, -o written whole.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
if ! command -v callgrind_annotate >/dev/null 2>&1; then
	skip "callgrind_annotate reads convert --to callgrind" "callgrind_annotate (valgrind) is not installed"
	exit 0
fi

# ca_pct FUNC FILE: the percentage callgrind_annotate shows for FUNC
# ("1,234 (60.14%)  file:FUNC [object]"), 0 when it shows none
ca_pct() {
	awk -v f="$1" '
		{
			line = $0
			if (!match(line, /\( *[0-9.]+%\)  /)) next
			pct = substr(line, RSTART + 1, RLENGTH - 4)
			gsub(/[ %]/, "", pct)
			name = substr(line, RSTART + RLENGTH)
			sub(/ \[.*\]$/, "", name)
			sub(/^.*:/, "", name)
			if (name == f) { print pct; found = 1; exit }
		}
		END { if (!found) print 0 }' "$2"
}

# --- folded input: exact costs, no recording needed ------------------------
printf 'main;work;leaf 3\nmain;work 2\nmain;rec;rec;rec 5\n' >in.folded
"$CPROF" convert -i in.folded --to callgrind -o f.cg 2>f.err
rc=$?
if [ $rc -eq 0 ] && [ ! -s f.err ] && [ ! -e f.cg.tmp ] && grep -qx 'events: samples' f.cg &&
	grep -qx 'summary: 10' f.cg; then
	ok "folded input: events: samples, summary: 10, nothing on stderr"
else
	not_ok "folded input: events: samples, summary: 10, nothing on stderr" "exit $rc"
	diag_file f.err
	diag_file f.cg
fi
callgrind_annotate --inclusive=yes f.cg >f-inc.txt 2>f-inc.err
got="$(ca_pct main f-inc.txt) $(ca_pct work f-inc.txt) $(ca_pct rec f-inc.txt) $(ca_pct leaf f-inc.txt)"
# rec calls itself twice in one stack: only main's call into it counts,
# so its inclusive cost is its 5 samples, not 10 or 15
if [ "$got" = "100.0 50.00 50.00 30.00" ] && [ ! -s f-inc.err ]; then
	ok "callgrind_annotate --inclusive=yes: main 100%, work 50%, rec 50% (recursion once), leaf 30%"
else
	not_ok "callgrind_annotate --inclusive=yes: main 100%, work 50%, rec 50%, leaf 30%" "got: $got"
	diag_file f-inc.txt
	diag_file f-inc.err
fi

# --- a recording ---------------------------------------------------------------
skip_unless_perf "convert --to callgrind on a recording of cpu_split_nofp" || exit 0
"$CPROF" record -q -o split.data -- "$FIXTURES/cpu_split_nofp" 700 >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	not_ok "cprof record cpu_split_nofp (exit $rc)"
	diag_file rec.err
	exit 0
fi
"$CPROF" convert -i split.data --to callgrind -o split.cg 2>conv.err
rc=$?
# a name is spelled out where it is first used: as fn= or as a callee's cfn=
# (before it, when a sample in ld.so comes first)
if [ $rc -eq 0 ] && [ ! -s conv.err ] && [ ! -e split.cg.tmp ] && grep -qx 'events: cpu' split.cg &&
	grep -qE '^c?fn=\([0-9]+\) hot_sixty$' split.cg; then
	ok "convert --to callgrind -o: events: cpu (the recording's default type), written whole"
else
	not_ok "convert --to callgrind -o: events: cpu, written whole" "exit $rc"
	diag_file conv.err
	diag_file split.cg
fi

callgrind_annotate split.cg >self.txt 2>self.err
rc=$?
"$CPROF" report --stdio -i split.data >rep.txt 2>/dev/null
for spec in hot_sixty:60 hot_thirty:30 hot_ten:10; do
	f=${spec%%:*} want=${spec#*:}
	got=$(ca_pct "$f" self.txt)
	theirs=$(share_of "$f" rep.txt)
	if [ $rc -eq 0 ] && within "$got" "$want" 3 && within "$got" "$theirs" 0.02; then
		ok "callgrind_annotate: $f self $got% (want $want +-3, cprof report $theirs%)"
	else
		not_ok "callgrind_annotate: $f self $got% (want $want +-3, cprof report $theirs%)"
		diag_file self.txt
		diag_file self.err
	fi
done

callgrind_annotate --inclusive=yes split.cg >inc.txt 2>inc.err
got=$(ca_pct main inc.txt)
rr=$(ca_pct run_rounds inc.txt)
if within "$got" 100 2 && within "$rr" 100 2 && [ ! -s inc.err ]; then
	ok "callgrind_annotate --inclusive=yes: main $got%, run_rounds $rr% (want ~100)"
else
	not_ok "callgrind_annotate --inclusive=yes: main $got%, run_rounds $rr% (want ~100)"
	diag_file inc.txt
	diag_file inc.err
fi

# --sample-type names the event and sets the costs
"$CPROF" convert -i split.data --to callgrind --sample-type samples >samples.cg 2>/dev/null
total=$("$CPROF" report --stdio -i split.data --sample-type samples 2>/dev/null |
	awk '$3 ~ /^[0-9]+$/ && $1 ~ /^[0-9.]+$/ { s += $3 } END { print s + 0 }')
if grep -qx 'events: samples' samples.cg && grep -qx "summary: $total" samples.cg; then
	ok "--sample-type samples: events: samples, summary = the $total samples"
else
	not_ok "--sample-type samples: events: samples, summary = the $total samples"
	diag_file samples.cg 12
fi
