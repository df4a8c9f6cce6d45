#!/usr/bin/env bash
# report --stdio --annotate on a live recording of cpu_split_nofp: the
# machine code stored in the recording is disassembled with each
# instruction's share, after the binary is gone; the errors say why an
# annotation cannot be made.
. "$(dirname "$0")/lib.sh"

skip_unless_perf "annotate a recording of cpu_split_nofp" || exit 0
cd "$T" || exit 1
mkdir bin && cp "$FIXTURES/cpu_split_nofp" bin/
record_ok "cpu_split_nofp" cs.data -- bin/cpu_split_nofp 700 || exit 0
record_ok "cpu_split_nofp --code-max 0" nocode.data --code-max 0 -- bin/cpu_split_nofp 100 ||
	exit 0
objdump_ok=0
objdump -d -M intel --no-show-raw-insn bin/cpu_split_nofp >objdump.txt 2>/dev/null && objdump_ok=1
rm -rf bin # annotate needs nothing but the recording

"$CPROF" report --stdio -i cs.data >rep.txt 2>&1
"$CPROF" report --stdio --annotate hot_sixty -i cs.data >ann.txt 2>ann.err
rc=$?
if [ $rc -eq 0 ] && grep -qE '^# annotate: hot_sixty \(cpu_split_nofp\), 0x[0-9a-f]+-0x[0-9a-f]+, [0-9]+ samples' ann.txt &&
	grep -qE '^ +cpu_split\.c:[0-9]+ ' ann.txt; then
	ok "annotate: header and source lines, binary deleted"
else
	not_ok "annotate: header and source lines (exit $rc)"
	diag_file ann.txt
	diag_file ann.err
fi

# instruction lines: "[>] [percent] [samples] address text"; the address
# is the first field that is neither '>' nor a number of the columns
insns() {
	awk '/^#/ || /^ Percent/ { next }
		{ hot = 0; pct = 0; n = 0; i = 1
		  if ($1 == ">") { hot = 1; i = 2 }
		  if ($i ~ /^[0-9]+\.[0-9][0-9]$/) { pct = $i; i++ }
		  if ($i ~ /^[0-9]+$/ && $(i + 1) ~ /^[0-9a-f]+$/ && length($(i + 1)) >= 3) { n = $i; i++ }
		  if ($i ~ /^[0-9a-f]+$/ && length($i) >= 3 && (i + 1) <= NF && $(i + 1) !~ /^[0-9]+$/)
			print hot, pct, n, $i }' "$1"
}
insns ann.txt >insns.txt
sum=$(awk '{ s += $2 } END { print s + 0 }' insns.txt)
max=$(awk '$2 > m { m = $2 } END { print m + 0 }' insns.txt)
hot=$(awk '$1 == 1 { print $2 }' insns.txt)
if within "$sum" 100 0.5 && [ -n "$hot" ] && within "$hot" "$max" 0 && within "$max" 60 45; then
	ok "annotate: shares add up to $sum%, the marked instruction is the hottest ($hot%)"
else
	not_ok "annotate: shares add up to $sum% (want 100), hottest '$hot' max $max"
	diag_file ann.txt
fi

# the header's samples are hot_sixty's self samples in the report
hs=$(sed -n 's/^# annotate: .*, \([0-9]*\) samples.*/\1/p' ann.txt)
rs=$(share_of hot_sixty rep.txt 3)
if [ -n "$hs" ] && [ "$hs" -gt 0 ] && [ "$hs" = "$rs" ]; then
	ok "annotate: $hs samples, as the report's hot_sixty row"
else
	not_ok "annotate: header samples '$hs', report row '$rs'"
fi

# the instructions are the binary's own, as objdump -d shows them
if [ $objdump_ok = 1 ]; then
	# objdump lists the padding after the function too: stop at its end
	end=$(sed -n 's/^# annotate: .*, 0x[0-9a-f]*-0x\([0-9a-f]*\), .*/\1/p' ann.txt)
	want=$(awk -v end="$end" '/<hot_sixty>:/ { on = 1; next } on && /^$/ { exit }
		on { sub(/^ +/, ""); split($0, a, ":"); if (length(a[1]) < length(end) ||
			(length(a[1]) == length(end) && a[1] < end)) print a[1] }' objdump.txt | tr '\n' ' ')
	got=$(awk '{ print $4 }' insns.txt | tr '\n' ' ')
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "annotate: the same instruction addresses as objdump -d"
	else
		not_ok "annotate: instruction addresses differ from objdump -d" "want: $want" "got:  $got"
	fi
else
	skip "annotate: compare with objdump" "objdump is not installed"
fi

# errors: one line each, exit 1
expect_error() { # desc pattern args...
	local d=$1 pat=$2
	shift 2
	"$CPROF" report --stdio "$@" >err.out 2>err.txt
	local rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -qE "$pat" err.txt; then
		ok "annotate error: $d"
	else
		not_ok "annotate error: $d (exit $rc)"
		diag_file err.txt
	fi
}
expect_error "unknown function" "^cprof report: error: no function 'no_such_fn' in the profile" \
	--annotate no_such_fn -i cs.data
expect_error "recorded with --code-max 0" "cannot annotate 'hot_sixty': the recording was made with --code-max 0" \
	--annotate hot_sixty -i nocode.data
"$CPROF" convert --to pprof -i cs.data -o cs.pb.gz
expect_error "pprof input" "cannot annotate 'hot_sixty': the input holds no machine code \\(only recordings made by cprof" \
	--annotate hot_sixty -i cs.pb.gz
