#!/usr/bin/env bash
# JIT code: anonymous executable memory named by /tmp/perf-PID.map, which
# the program writes after mapping the code.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record jit" || exit 0

"$CPROF" record -q -o "$T/j.data" -- "$FIXTURES/jit" 400 >"$T/pid" 2>"$T/err" ||
	{ not_ok "record jit failed"; diag_file "$T/err"; exit 0; }
pid=$(cat "$T/pid")
"$CPROF" report --stdio -i "$T/j.data" >"$T/r.txt"
rm -f "/tmp/perf-$pid.map"
expect_share jit jit_hot_loop "$T/r.txt" 50 4
expect_share jit native_hot "$T/r.txt" 50 4
mod=$(module_of jit_hot_loop "$T/r.txt")
[ "$mod" = "perf-$pid.map" ] && ok "JIT frames come from perf-$pid.map" || not_ok "JIT module '$mod'"
# the recording kept the JIT names: the map file is gone now
"$CPROF" report --stdio -i "$T/j.data" | grep -q ' jit_hot_loop ' &&
	ok "JIT names stored in the recording" || not_ok "JIT names lost with the map file"
