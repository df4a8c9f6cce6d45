#!/usr/bin/env bash
# cpu_split: 60/30/10 self shares in dwarf and fp modes, stacks under main.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record cpu_split" || exit 0

for run in "nofp dwarf" "fp dwarf" "fp fp"; do
	set -- $run
	bin=$FIXTURES/cpu_split_$1
	d="cpu_split_$1 --call-graph $2"
	record_ok "$d" "$T/$1-$2.data" --call-graph "$2" -- "$bin" || continue
	"$CPROF" report --stdio -i "$T/$1-$2.data" >"$T/r.txt"
	expect_share "$d" hot_sixty "$T/r.txt" 60 3
	expect_share "$d" hot_thirty "$T/r.txt" 30 3
	expect_share "$d" hot_ten "$T/r.txt" 10 3
	if [ "$2" = dwarf ]; then
		# the whole chain is there: main -> run_rounds -> hot_sixty
		"$CPROF" convert --to folded -i "$T/$1-$2.data" >"$T/f.txt"
		total=$(awk '{ s += $NF } END { print s }' "$T/f.txt")
		full=$(awk '/(^|;)main;run_rounds;hot_(sixty|thirty|ten) [0-9]+$/ { s += $NF } END { print s + 0 }' "$T/f.txt")
		if [ "$total" -gt 500 ] && [ $((full * 100)) -ge $((total * 97)) ]; then
			ok "$d: $full of $total samples have main;run_rounds;hot_*"
		else
			not_ok "$d: only $full of $total samples have main;run_rounds;hot_*"
			diag_file "$T/f.txt"
		fi
	fi
done

# the tree (callee order) puts main above run_rounds above hot_sixty
"$CPROF" report --stdio --tree -i "$T/nofp-dwarf.data" >"$T/tree.txt"
order=$(grep -nE '(^|[^_[:alnum:]])(main|run_rounds|hot_sixty)([^_[:alnum:]]|$)' "$T/tree.txt" |
	sed -E 's/.*(main|run_rounds|hot_sixty).*/\1/' | awk '!seen[$0]++' | tr '\n' ' ')
if [ "$order" = "main run_rounds hot_sixty " ]; then
	ok "tree: main above run_rounds above hot_sixty"
else
	not_ok "tree order is '$order'"
	diag_file "$T/tree.txt"
fi
