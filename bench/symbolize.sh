#!/usr/bin/env bash
# bench/symbolize.sh [BUILD] - cprof symbolize against binutils addr2line
# (and elfutils eu-addr2line) on a 4000-function -O2 -g binary and 100k
# addresses from ../shared/workloads, in the same run.  Prints
#   symbolize: cprof N addr/s, addr2line M addr/s, ratio R (bar >= 1.0)
# and whether the two outputs are identical.  The binary and the addresses
# are generated once into BUILD/bench-cache/symbolize.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CPROF=${CPROF:-$BUILD/cprof}
WL=${CPROF_TOP:-$TOP}/../shared/workloads
N=100000

if [ ! -f "$WL/gen_bigbin.py" ] || [ ! -f "$WL/gen_addrs.py" ]; then
	echo "symbolize: skipped (no workloads in $WL)"
	exit 0
fi
if ! command -v addr2line >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	echo "symbolize: skipped (needs addr2line and python3)"
	exit 0
fi
[ -x "$CPROF" ] || { echo "symbolize: $CPROF not built" >&2; exit 1; }

CACHE=$BUILD/bench-cache/symbolize
BIN=$CACHE/big/bigbin
ADDRS=$CACHE/addrs.txt
mkdir -p "$CACHE"
if [ ! -x "$BIN" ]; then
	echo "symbolize: generating the 4000-function binary (once)" >&2
	python3 "$WL/gen_bigbin.py" "$CACHE/big" >/dev/null &&
		make -s -C "$CACHE/big" >/dev/null || { echo "symbolize: cannot build $BIN" >&2; exit 1; }
fi
if [ ! -s "$ADDRS" ] || [ "$ADDRS" -ot "$BIN" ]; then
	python3 "$WL/gen_addrs.py" "$BIN" "$N" "$ADDRS" >/dev/null || exit 1
fi
n=$(wc -l <"$ADDRS")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# best wall time in seconds of 3 runs: best_of OUT CMD...
best_of() {
	local out=$1 best= t0 t1 dt
	shift
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		"$@" <"$IN" >"$out"
		t1=$(date +%s%N)
		dt=$((t1 - t0))
		if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
	done
	echo "$best"
}
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }

IN=$ADDRS
t_cp=$(best_of "$TMP/cprof.out" "$CPROF" symbolize -f -i -e "$BIN")
t_a2l=$(best_of "$TMP/a2l.out" addr2line -f -i -e "$BIN")
r_cp=$(rate "$n" "$t_cp")
r_a2l=$(rate "$n" "$t_a2l")
ratio=$(awk -v a="$t_a2l" -v c="$t_cp" 'BEGIN { printf "%.2f", a / c }')
echo "symbolize: cprof $r_cp addr/s, addr2line $r_a2l addr/s, ratio $ratio (bar >= 1.0)"
if cmp -s "$TMP/cprof.out" "$TMP/a2l.out"; then
	echo "symbolize: outputs identical (-f -i, $n addresses)"
else
	echo "symbolize: outputs DIFFER (-f -i): $(diff "$TMP/a2l.out" "$TMP/cprof.out" | grep -c '^<') lines"
fi
for flags in "-a -f -i -C" "-a -f -i -p"; do
	# shellcheck disable=SC2086
	"$CPROF" symbolize $flags -e "$BIN" <"$ADDRS" >"$TMP/c2"
	# shellcheck disable=SC2086
	addr2line $flags -e "$BIN" <"$ADDRS" >"$TMP/a2"
	if cmp -s "$TMP/c2" "$TMP/a2"; then
		echo "symbolize: outputs identical ($flags)"
	else
		echo "symbolize: outputs DIFFER ($flags)"
	fi
done

if command -v eu-addr2line >/dev/null 2>&1; then
	head -n 2000 "$ADDRS" >"$TMP/2k"
	IN=$TMP/2k
	t_eu=$(best_of "$TMP/eu.out" eu-addr2line -f -i -e "$BIN")
	echo "symbolize: eu-addr2line $(rate 2000 "$t_eu") addr/s (2000-address subset)"
fi
exit 0
