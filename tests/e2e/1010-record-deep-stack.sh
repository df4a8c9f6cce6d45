#!/usr/bin/env bash
# deep_stack (no frame pointers, ~52 KiB of stack): >= 95% of samples
# unwind to main; a small --stack-size is reported with the size that
# would have kept the stacks; with frame pointers the rest is spliced.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record deep_stack" || exit 0

record_ok deep "$T/deep.data" -- "$FIXTURES/deep_stack" || exit 0
"$CPROF" convert --to folded -i "$T/deep.data" >"$T/f.txt"
"$CPROF" report --stdio -i "$T/deep.data" >"$T/r.txt"
total=$(awk '{ s += $NF } END { print s }' "$T/f.txt")
# main;run_descents;descend x300;deep_leaf_hot
full=$(awk '{ n = split($1, fr, ";"); d = 0
	for (i = 1; i <= n; i++) if (fr[i] == "descend") d++
	if ($1 ~ /(^|;)main;run_descents;descend;/ && fr[n] == "deep_leaf_hot" && d == 300) s += $NF }
	END { print s + 0 }' "$T/f.txt")
if [ "$total" -gt 500 ] && [ $((full * 100)) -ge $((total * 95)) ]; then
	ok "deep_stack: $full of $total samples unwound to main through 300 descend frames"
else
	not_ok "deep_stack: $full of $total samples unwound to main through 300 descend frames"
	diag_file "$T/r.txt" 12
fi
expect_share deep deep_leaf_hot "$T/r.txt" 98 3
pct=$(sed -nE 's/^# stacks: ([0-9.]+)% unwound completely.*/\1/p' "$T/r.txt")
if [ -n "$pct" ] && within "$pct" 100 5; then
	ok "report states the complete share ($pct%)"
else
	not_ok "report does not state a complete share >= 95% ('$pct')"
	diag_file "$T/r.txt" 10
fi

# an 8 KiB copy cuts them, and the report says which size would not
record_ok cut "$T/cut.data" --stack-size 8192 -- "$FIXTURES/deep_stack" 120 || exit 0
"$CPROF" report --stdio -i "$T/cut.data" >"$T/cut.txt"
want=$(sed -nE 's/.*--stack-size=([0-9]+) would have kept them.*/\1/p' "$T/cut.txt")
if [ -n "$want" ] && [ "$want" -ge 52800 ] && [ "$want" -le 65528 ]; then
	ok "cut stacks reported with --stack-size=$want"
else
	not_ok "no usable --stack-size suggestion for cut stacks ('$want')"
	diag_file "$T/cut.txt" 12
fi

# frame pointers: a 2 KiB copy is spliced with the kernel's FP chain
if [ ! -x "$FIXTURES/deep_stack_fp" ]; then
	skip "splice" "no deep_stack_fp in $FIXTURES (a cprof fixture only)"
	exit 0
fi
record_ok splice "$T/sp.data" --stack-size 2048 -- "$FIXTURES/deep_stack_fp" 150 60 || exit 0
"$CPROF" report --stdio -i "$T/sp.data" >"$T/sp.txt"
"$CPROF" convert --to folded -i "$T/sp.data" >"$T/spf.txt"
spliced=$(sed -nE 's/^# stacks: .*, ([0-9]+) spliced with frame pointers.*/\1/p' "$T/sp.txt")
total=$(awk '{ s += $NF } END { print s }' "$T/spf.txt")
full=$(awk '{ n = split($1, fr, ";"); d = 0
	for (i = 1; i <= n; i++) if (fr[i] == "descend") d++
	if ($1 ~ /(^|;)main;run_descents;descend;/ && d == 60) s += $NF } END { print s + 0 }' "$T/spf.txt")
if [ -n "$spliced" ] && [ "$spliced" -gt 0 ] && [ $((full * 100)) -ge $((total * 95)) ]; then
	ok "splice: $spliced stacks spliced, $full of $total reach main with 60 descend frames"
else
	not_ok "splice: spliced='$spliced', $full of $total reach main with 60 descend frames"
	diag_file "$T/sp.txt" 12
fi
