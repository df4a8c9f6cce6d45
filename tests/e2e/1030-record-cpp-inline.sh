#!/usr/bin/env bash
# cpp_inline: demangled names and force-inlined helpers as inline frames
# with their own source lines.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record cpp_inline" || exit 0

record_ok cpp "$T/c.data" -- "$FIXTURES/cpp_inline" || exit 0
"$CPROF" report --stdio -i "$T/c.data" >"$T/r.txt"
expect_share cpp 'cprof_demo::Accumulator<unsigned long>::run(unsigned long)' "$T/r.txt" 50 3
expect_share cpp 'cprof_demo::lambda_pass(unsigned long)::{lambda(unsigned long)#2}::operator()(unsigned long) const' "$T/r.txt" 20 3
apply=$(awk '!/^#/ && /cprof_demo::apply_n</ { print $1; exit }' "$T/r.txt")
if within "${apply:-0}" 30 3; then ok "apply_n<lambda #1> self $apply% (want 30 +-3)"; else
	not_ok "apply_n<lambda #1> self '${apply}'% (want 30 +-3)"; diag_file "$T/r.txt" 20; fi
if grep -q '_Z' "$T/r.txt"; then not_ok "mangled names in the report"; grep '_Z' "$T/r.txt" | head -3 | sed 's/^/# /'
else ok "no mangled names"; fi

# inline frames: mix_step inside scramble inside Accumulator::run, each
# with its own source line (the tree marks them and shows file:line)
"$CPROF" report --stdio --tree --percent-limit 1 -i "$T/c.data" >"$T/tree.txt"
# (the inlined lambda #1 has neither a symbol nor a linkage name in the
# binary: like addr2line and llvm-symbolizer, it reads "operator()")
for fn in 'cprof_demo::detail::scramble(unsigned long, unsigned long)' 'cprof_demo::detail::mix_step(unsigned long)' \
	'operator()'; do
	if grep -F -- "$fn [inlined]" "$T/tree.txt" >/dev/null; then ok "inline frame: $fn"; else
		not_ok "no inline frame $fn"; diag_file "$T/tree.txt" 40; fi
done
# --sort function,srcline: the inline helpers' lines are their own
"$CPROF" report --stdio --sort function,srcline -i "$T/c.data" >"$T/lines.txt"
# mix_step's own lines: the lines addr2line gives for the inlined
# mix_step frames of the binary (its body, wherever the source is)
want=$(objdump -d --no-show-raw-insn "$FIXTURES/cpp_inline" |
	awk '/^[0-9a-f]+ <.*Accumulator.*run/ { on = 1; next } /^$/ { on = 0 } on && /^ +[0-9a-f]+:/ { sub(":", "", $1); print "0x" $1 }' |
	addr2line -i -f -C -e "$FIXTURES/cpp_inline" | paste - - |
	awk -F'\t' '$1 ~ /mix_step/ { n = split($2, a, "/"); sub(/ .*/, "", a[n]); print a[n] }' | sort -u)
got=$(awk '/cprof_demo::detail::mix_step\(unsigned long\)/ { for (i = 1; i <= NF; i++) if ($i ~ /^cpp_inline\.cpp:[0-9]+$/) print $i }' "$T/lines.txt" | sort -u)
if [ -n "$got" ] && [ -n "$want" ] && [ -z "$(comm -23 <(echo "$got") <(echo "$want"))" ]; then
	ok "mix_step samples on its own source lines ($(echo $got))"
else
	not_ok "mix_step lines '$(echo $got)' are not among its own ($(echo $want))"
	diag_file "$T/lines.txt" 20
fi
