#!/usr/bin/env bash
# report on cpp_inline: demangled names, inline frames marked only in the
# tree, and --no-inline folding them into the real function.
. "$(dirname "$0")/lib.sh"

skip_unless_perf "report on a recording of cpp_inline" || exit 0
cd "$T" || exit 1
"$CPROF" record -q -- "$FIXTURES/cpp_inline" 700 >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	skip "report on a recording of cpp_inline" \
		"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
	exit 0
fi
RUN='cprof_demo::Accumulator<unsigned long>::run(unsigned long)'
# self NAME FILE: Self% of the row whose Function column is exactly NAME
self() {
	awk -v f="$1" '/^#/ { next } { n = index($0, "  " f "  "); if (n && substr($0, 1, n - 1) ~ /^ *[0-9.]+ +[0-9.]+ +[0-9]+$/) { print $1; found = 1; exit } } END { if (!found) print 0 }' "$2"
}

"$CPROF" report >rep.txt 2>/dev/null
mix=$(self 'cprof_demo::detail::mix_step(unsigned long)' rep.txt)
if ! grep -v '^#' rep.txt | grep -q 'inlined' && ! grep -q '_ZN' rep.txt &&
	grep -q '  cprof_demo::detail::mix_step(unsigned long)  ' rep.txt && [ "$mix" = 0.00 ]; then
	ok "report: demangled names, inline functions are rows without a mark, self 0"
else
	not_ok "report: demangled names, inline functions are rows without a mark, self 0" \
		"mix_step self '$mix'"
	diag_file rep.txt
fi
s=$(self "$RUN" rep.txt)
if within "$s" 50 8; then
	ok "report: inlined code is the self time of Accumulator::run ($s%)"
else
	not_ok "report: inlined code is the self time of Accumulator::run" "got '$s'"
	diag_file rep.txt
fi

"$CPROF" report --tree >tree.txt 2>/dev/null
if grep -qE '^ *[0-9.]+ +cprof_demo::detail::scramble\(unsigned long, unsigned long\) \[inlined\]' tree.txt; then
	ok "report --tree: inline frames marked [inlined]"
else
	not_ok "report --tree: inline frames marked [inlined]"
	diag_file tree.txt
fi

"$CPROF" report --no-inline >noinl.txt 2>/dev/null
s=$(self "$RUN" noinl.txt)
if within "$s" 50 8 && ! grep -q 'mix_step' noinl.txt; then
	ok "report --no-inline: Accumulator::run has its inlined callees' time ($s%)"
else
	not_ok "report --no-inline: Accumulator::run has its inlined callees' time" "got '$s'"
	diag_file noinl.txt
fi
