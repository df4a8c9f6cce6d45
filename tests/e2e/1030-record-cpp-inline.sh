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
src=$CPROF_TOP/tests/fixtures/src/cpp_inline.cpp
# (the inlined lambda #1 has neither a symbol nor a linkage name in the
# binary: like addr2line and llvm-symbolizer, it reads "operator()")
for fn in 'cprof_demo::detail::scramble(unsigned long, unsigned long)' 'cprof_demo::detail::mix_step(unsigned long)' \
	'operator()'; do
	if grep -F -- "$fn [inlined]" "$T/tree.txt" >/dev/null; then ok "inline frame: $fn"; else
		not_ok "no inline frame $fn"; diag_file "$T/tree.txt" 40; fi
done
# --sort function,srcline: the inline helpers' lines are their own
"$CPROF" report --stdio --sort function,srcline -i "$T/c.data" >"$T/lines.txt"
mix_line=$(grep -n 'v \*= 0x9fb21c651e98df25ULL;' "$src" | cut -d: -f1)
if grep -F 'cprof_demo::detail::mix_step(unsigned long)' "$T/lines.txt" | grep -q "cpp_inline.cpp:$((mix_line - 1))\|cpp_inline.cpp:$mix_line\b"; then
	ok "mix_step samples on its own lines (cpp_inline.cpp:$mix_line)"
else
	not_ok "mix_step not attributed to its own source lines (want cpp_inline.cpp:$mix_line)"
	diag_file "$T/lines.txt" 20
fi
