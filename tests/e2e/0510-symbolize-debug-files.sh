#!/usr/bin/env bash
# Separate debug files: found by build ID under --debug-dir, and by
# .gnu_debuglink next to the binary; the result equals the unstripped one.
. "$(dirname "$0")/lib.sh"

cat >"$T/p.c" <<'C'
static inline __attribute__((always_inline)) int twice(int x) { return x * 2 + 1; }
__attribute__((noinline)) int work(int n) { int s = 0; for (int i = 0; i < n; i++) s += twice(i) ^ s; return s; }
int main(int argc, char **argv) { return work(argc * 1000) & 1; }
C
cc -O2 -g -Wl,--build-id -o "$T/full" "$T/p.c" || { not_ok "cannot compile"; exit 0; }
addrs=$(objdump -d --no-show-raw-insn "$T/full" | awk '/<work>:/ { on = 1; next } /^$/ { on = 0 } on && /^ +[0-9a-f]+:/ { sub(":", "", $1); print "0x" $1 }')
"$CPROF" symbolize -f -i -e "$T/full" $addrs >"$T/want.txt"
grep -q 'p.c:' "$T/want.txt" || { not_ok "no lines from the unstripped binary"; exit 0; }

# build-id tree
bid=$(readelf -n "$T/full" | awk '/Build ID/ { print $3 }')
mkdir -p "$T/dbg/.build-id/${bid:0:2}"
objcopy --only-keep-debug "$T/full" "$T/dbg/.build-id/${bid:0:2}/${bid:2}.debug"
objcopy --strip-debug "$T/full" "$T/stripped"
"$CPROF" symbolize -f -i -e "$T/stripped" $addrs >"$T/nodebug.txt"
if grep -q 'p.c:' "$T/nodebug.txt"; then not_ok "stripped binary still has lines?"; else
	ok "stripped binary alone: no source lines"; fi
"$CPROF" symbolize -f -i --debug-dir "$T/dbg" -e "$T/stripped" $addrs >"$T/got.txt"
if cmp -s "$T/want.txt" "$T/got.txt"; then ok "debug file found by build ID under --debug-dir"; else
	not_ok "build-ID debug file: output differs"; diff "$T/want.txt" "$T/got.txt" | head | sed 's/^/# /'; fi

# .gnu_debuglink next to the binary
mkdir -p "$T/link"
objcopy --only-keep-debug "$T/full" "$T/link/prog.debug"
objcopy --strip-debug --add-gnu-debuglink="$T/link/prog.debug" "$T/full" "$T/link/prog"
"$CPROF" symbolize -f -i --debug-dir "$T/none" -e "$T/link/prog" $addrs >"$T/got2.txt"
if cmp -s "$T/want.txt" "$T/got2.txt"; then ok "debug file found by .gnu_debuglink"; else
	not_ok "debuglink: output differs"; diff "$T/want.txt" "$T/got2.txt" | head | sed 's/^/# /'; fi
# and addr2line agrees on the debuglink case
addr2line -f -i -e "$T/link/prog" $addrs >"$T/a2l.txt"
cmp -s "$T/a2l.txt" "$T/got2.txt" && ok "same as addr2line through the debuglink" ||
	not_ok "differs from addr2line through the debuglink"
