#!/usr/bin/env bash
# bench/formats.sh [BUILD] - `make bench`'s figures for `cprof flame` and
# `cprof convert`, each with its bar, measured in this run:
#   flame       cprof flame on the 48 MB folded file gen_folded.py writes
#               (200,000 stacks): seconds, MB/s, peak RSS (bar <= 3 s and
#               <= 0.5 GB, aim <= 1 s); flamegraph.pl's figures on the
#               reference machine for scale (30.2 s, 1.9 GB), and measured
#               here too when FLAMEGRAPH_PL names a flamegraph.pl
#   convert     --to pprof, --to folded, --to speedscope on a 1M-sample
#               recording: input MB/s and samples/s
#   pprof top   `cprof report --stdio` against `go tool pprof -top` on a
#               50,000-stack pprof (bar: >= 10x faster)
#   pprof size  our pprof against what `go tool pprof -proto` writes back
#               for it (bar: ours no larger)
# Inputs are generated once into BUILD/bench-cache/formats.
set -u
LC_ALL=C
export LC_ALL
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
CPROF=${CPROF:-$BUILD/cprof}
GEN=$BUILD/bench/gen-recording
WL=$TOP/../shared/workloads
CACHE=$BUILD/bench-cache/formats
RUNS=${BENCH_RUNS:-5}
mkdir -p "$CACHE"
T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
failed=0

[ -x "$CPROF" ] || { echo "formats: $CPROF not built" >&2; exit 1; }
. "$TOP/bench/lib.sh"
# timed OUT CMD...: runs CMD (stdout to OUT) RUNS times; prints "median_s max_rss_kb"
timed() {
	local out=$1 i; shift
	: >"$T/times"
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M' -o "$T/t1" "$@" >"$out" 2>"$T/err" ||
			{ echo "formats: '$*' failed: $(tail -n 3 "$T/err")" >&2; return 1; }
		cat "$T/t1" >>"$T/times"
	done
	echo "$(awk '{ print $1 }' "$T/times" | median) $(awk '$2 > m { m = $2 } END { print m }' "$T/times")"
}

# ---- flame on 48 MB of folded stacks -------------------------------------------
BIG=$CACHE/big.folded
if [ -f "$WL/gen_folded.py" ]; then
	[ -s "$BIG" ] || python3 "$WL/gen_folded.py" "$BIG" >/dev/null || exit 1
	mb=$(calc "%.1f" "$(stat -c %s "$BIG") / 1e6")
	read -r s kb < <(timed "$T/big.svg" "$CPROF" flame -i "$BIG" -o -) || exit 1
	svg=$(calc "%.1f" "$(stat -c %s "$T/big.svg") / 1e6")
	echo "flame: cprof $s s on $mb MB of folded stacks ($(calc "%.0f" "$mb / $s") MB/s), peak RSS $(calc "%.0f" "$kb / 1024") MB, SVG $svg MB (bar <= 3 s and <= 512 MB; aim <= 1 s) $(verdict "$s <= 3 && $kb <= 524288")"
	echo "flame: flamegraph.pl on the reference machine: 30.2 s, 1.9 GB -> ratio $(calc "%.0f" "30.2 / $s")x (bar >= 10x)"
	if [ -n "${FLAMEGRAPH_PL:-}" ] && [ -x "$FLAMEGRAPH_PL" ]; then
		read -r fs fkb < <(RUNS=1 timed "$T/fg.svg" "$FLAMEGRAPH_PL" "$BIG")
		echo "flame: flamegraph.pl here: $fs s, peak RSS $(calc "%.0f" "$fkb / 1024") MB -> ratio $(calc "%.1f" "$fs / $s")x"
	fi
else
	echo "SKIP: flame: no $WL/gen_folded.py"
fi

# ---- convert a 1M-sample recording -------------------------------------------------
REC=$CACHE/1m.cprof
SRC=$TOP/build/fixtures/threads
[ -x "$WL/bin/threads" ] && SRC=$WL/bin/threads
if [ ! -s "$REC" ]; then
	"$CPROF" record -q -o "$T/small.cprof" -- "$SRC" >/dev/null 2>&1 &&
		"$GEN" "$T/small.cprof" "$REC" 1000000 || { echo "formats: cannot make $REC" >&2; exit 1; }
fi
inmb=$(calc "%.2f" "$(stat -c %s "$REC") / 1e6")
for to in pprof folded speedscope; do
	read -r s kb < <(timed "$T/out.$to" "$CPROF" convert -i "$REC" --to "$to" -o -) || exit 1
	outmb=$(calc "%.1f" "$(stat -c %s "$T/out.$to") / 1e6")
	echo "convert --to $to: 1000000 samples ($inmb MB recording) in $s s: $(calc "%.0f" "1e6 / $s") samples/s, $(calc "%.1f" "$inmb / $s") MB/s in, $outmb MB out, peak RSS $(calc "%.0f" "$kb / 1024") MB"
done

# ---- pprof: top functions and size against go tool pprof ---------------------------
if ! command -v go >/dev/null 2>&1; then
	echo "SKIP: pprof top/size: no 'go' (apt-get install golang-go)"
elif [ ! -f "$WL/gen_folded.py" ]; then
	echo "SKIP: pprof top/size: no $WL/gen_folded.py"
else
	P=$CACHE/50k.pb.gz
	if [ ! -s "$P" ]; then
		python3 "$WL/gen_folded.py" "$T/50k.folded" 50000 >/dev/null &&
			"$CPROF" convert -i "$T/50k.folded" --to pprof -o "$P" || exit 1
	fi
	read -r cs ckb < <(timed "$T/c.top" "$CPROF" report --stdio -i "$P") || exit 1
	read -r gs gkb < <(timed "$T/g.top" go tool pprof -top "$P") || exit 1
	echo "pprof top (50000 stacks): cprof report $cs s ($(calc "%.0f" "$ckb / 1024") MB), go tool pprof -top $gs s ($(calc "%.0f" "$gkb / 1024") MB): $(calc "%.1f" "$gs / $cs")x (bar >= 10x) $(verdict "$gs / $cs >= 10")"
	# the same first row (function and flat count) in both
	c1=$(awk '!/^#/ && NF >= 4 { print $4, $3; exit }' "$T/c.top")
	g1=$(awk '/flat%/ { getline; print $6, $1; exit }' "$T/g.top")
	echo "pprof top: first row cprof '$c1', go '$g1' $( [ "${c1%% *}" = "${g1%% *}" ] && echo ok || { failed=1; echo MISSED; })"
	go tool pprof -proto "$P" >"$T/go.pb.gz" 2>/dev/null || { echo "formats: go tool pprof -proto failed" >&2; exit 1; }
	ours=$(stat -c %s "$P")
	theirs=$(stat -c %s "$T/go.pb.gz")
	echo "pprof size: cprof $ours bytes, go tool pprof -proto $theirs bytes ($(calc "%.2f" "$ours / $theirs")) (bar <= 1) $(verdict "$ours <= $theirs")"
fi
exit $failed
