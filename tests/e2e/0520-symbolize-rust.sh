#!/usr/bin/env bash
# Rust: v0-mangled names demangle as addr2line -C does, in symbolize and
# in a recording's report.
. "$(dirname "$0")/lib.sh"
RUSTC=$(command -v rustc || ls "$HOME"/.cargo/bin/rustc 2>/dev/null)
if [ -z "$RUSTC" ]; then
	skip "rust demangling" "no rustc on this machine"
	exit 0
fi
cat >"$T/r.rs" <<'RS'
mod outer {
    pub mod inner {
        #[inline(never)]
        pub fn spin(n: u64) -> u64 {
            let mut x = n;
            for i in 0..n {
                x = x.rotate_left(7) ^ i;
                x = x.wrapping_mul(0x9fb21c651e98df25);
            }
            x
        }
    }
}
fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    std::process::exit((outer::inner::spin(n) & 1) as i32);
}
RS
"$RUSTC" -g -O -C symbol-mangling-version=v0 "$T/r.rs" -o "$T/r" 2>"$T/rustc.err" ||
	{ skip "rust demangling" "rustc failed: $(head -1 "$T/rustc.err")"; exit 0; }
addrs=$(nm "$T/r" | awk '$3 ~ /^_R.*5outer5inner4spin/ { print "0x" $1 }')
[ -n "$addrs" ] || { not_ok "no v0-mangled spin symbol"; exit 0; }
"$CPROF" symbolize -f -i -C -e "$T/r" $addrs >"$T/got.txt"
addr2line -f -i -C -e "$T/r" $addrs >"$T/want.txt"
cmp -s "$T/want.txt" "$T/got.txt" && ok "symbolize -C matches addr2line -C on Rust v0 names" ||
	{ not_ok "Rust names differ from addr2line"; diff "$T/want.txt" "$T/got.txt" | sed 's/^/# /'; }
grep -q '^r::outer::inner::spin$' "$T/got.txt" && ok "r::outer::inner::spin demangled" ||
	{ not_ok "spin not demangled"; diag_file "$T/got.txt"; }

have_perf || { skip "rust recording" "perf_event not allowed"; exit 0; }
"$CPROF" record -q -o "$T/r.data" -- "$T/r" 300000000 2>"$T/err" || true
"$CPROF" report --stdio -i "$T/r.data" >"$T/rep.txt" 2>&1
share=$(share_of 'r::outer::inner::spin' "$T/rep.txt")
if within "$share" 100 5 && ! grep -q ' _R' "$T/rep.txt"; then
	ok "report: r::outer::inner::spin $share%, no mangled names"
else
	not_ok "report: spin '$share'%"; diag_file "$T/rep.txt" 14
fi
