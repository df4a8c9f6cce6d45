#!/usr/bin/env bash
# Heap profiles through convert: test_massif's profile read by ms_print
# (exact numbers); cprof heap of alloc_heavy, whose counts are exact:
# --to massif read by valgrind's ms_print (the peak in bytes is
# the profile's, at peak_here; the last snapshot holds the leak, at
# leak_here); --to pprof in Go's heap layout read by go tool pprof (-raw,
# -top per sample index, --at-peak, -diff_base of two runs); the errors
# for profiles that are not heap profiles.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1

# --- not a heap profile: refused, whatever the recording -----------------------
printf 'main;work 3\n' >cpu.folded
"$CPROF" convert -i cpu.folded --to massif -o out.massif >out.txt 2>err.txt
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <err.txt)" -eq 1 ] && [ ! -e out.massif ] && [ ! -e out.massif.tmp ] &&
	grep -qx "cprof convert: error: --to massif: 'cpu.folded' is not a heap profile: it has no peak_space sample type (it has: samples)" err.txt; then
	ok "--to massif of a profile that is no heap profile: one-line error naming it, exit 1, no file"
else
	not_ok "--to massif of a profile that is no heap profile: one-line error, exit 1, no file" "exit $rc"
	diag_file err.txt
fi
"$CPROF" convert -i cpu.folded --to pprof --at-peak -o out.pb.gz >out.txt 2>err.txt
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ] && [ ! -e out.pb.gz ] &&
	grep -qx "cprof convert: error: --at-peak: 'cpu.folded' is not a heap profile: it has no peak_space sample type (it has: samples)" err.txt; then
	ok "--at-peak on a profile that is no heap profile: one-line usage error, exit 2"
else
	not_ok "--at-peak on a profile that is no heap profile: one-line usage error, exit 2" "exit $rc"
	diag_file err.txt
fi

# --- the unit test's profile (tests/unit/test_massif.c), exact numbers ---------
unit=$(dirname "$CPROF")/tests/unit/test_massif
if [ ! -x "$unit" ]; then
	# make check builds the unit tests before it runs these
	not_ok "ms_print reads the unit test's massif file" "no $unit (make unit)"
elif ! CPROF_TEST_OUT=$T CMOCKA_MESSAGE_OUTPUT=TAP "$unit" >unit.out 2>&1 || [ ! -s unit.massif ]; then
	not_ok "test_massif wrote unit.massif"
	diag_file unit.out
else
	ms_print unit.massif >unit-ms.txt 2>unit-ms.err
	rc=$?
	# its graph, its table and its trees: snapshot 2 is the peak, 4 the
	# end; tiny and small fold into one line below ms_print's 1%
	if [ $rc -eq 0 ] && [ ! -s unit-ms.err ] &&
		grep -qx 'Number of snapshots: 5' unit-ms.txt &&
		grep -qx ' Detailed snapshots: \[2 (peak), 4\]' unit-ms.txt &&
		grep -qE '^  2 +15 +5,072,500 +5,072,500 +0 +0$' unit-ms.txt &&
		grep -qx -- '->78.86% (4,000,000B) 0x1300: big (app.c:31)' unit-ms.txt &&
		grep -qx -- '->00.17% (8,500B) in 1+ places, all below ms_print'"'"'s threshold (01.00%)' unit-ms.txt &&
		grep -qE '^  4 +30 +67,000 +67,000 +0 +0$' unit-ms.txt &&
		grep -qx -- '->95.52% (64,000B) 0x1600: leak (app.c:41)' unit-ms.txt; then
		ok "ms_print reads the unit test's massif file: peak 5,072,500 B at big, the end's 67,000 B at leak"
	else
		not_ok "ms_print reads the unit test's massif file" "exit $rc"
		diag_file unit-ms.err
		diag_file unit-ms.txt 80
	fi
fi

# --- two recordings: 2000 and 4000 rounds --------------------------------------
for r in 2000 4000; do
	if ! "$CPROF" heap -q -o "heap$r.data" -- "$FIXTURES/alloc_heavy" "$r" >"rec$r.out" 2>"rec$r.err"; then
		not_ok "cprof heap -- alloc_heavy $r"
		diag_file "rec$r.err"
		exit 0
	fi
done

# sum TYPE FILE: the total of a sample type, from folded output
sum() {
	"$CPROF" convert -i "$2" --to folded --sample-type "$1" 2>/dev/null |
		awk '{ s += $NF } END { printf "%d\n", s }'
}
peak_bytes=$(sum peak_space heap2000.data)
leak_bytes=$(sum inuse_space heap2000.data)

# --- massif ---------------------------------------------------------------------
"$CPROF" convert -i heap2000.data --to massif -o m.out 2>m.err
rc=$?
if [ $rc -eq 0 ] && [ ! -s m.err ] && [ ! -e m.out.tmp ] && head -1 m.out | grep -q '^desc: ' &&
	sed -n 2p m.out | grep -qx "cmd: .*alloc_heavy 2000" && sed -n 3p m.out | grep -qx 'time_unit: ms'; then
	ok "convert --to massif -o: desc, cmd, time_unit: ms, nothing on stderr"
else
	not_ok "convert --to massif -o: desc, cmd, time_unit: ms, nothing on stderr" "exit $rc"
	diag_file m.err
	diag_file m.out 10
fi

ms_print m.out >ms.txt 2>ms.err
rc=$?
# the peak snapshot's number, its total(B), and the first entry of its tree
peak_n=$(sed -n 's/.*Detailed snapshots: \[\(.*, \)\{0,1\}\([0-9]*\) (peak).*/\2/p' ms.txt)
read -r got_peak peak_fn <<<"$(awk -v n="$peak_n" '
	NF == 6 && $1 == n && $2 ~ /^[0-9,]+$/ { b = $3; gsub(",", "", b); f = 1; next }
	f && /^->/ { s = $0; sub(/^[^:]*: /, "", s); sub(/ \(.*/, "", s); print b, s; exit }' ms.txt)"
nsnap=$(sed -n 's/^Number of snapshots: //p' ms.txt)
if [ $rc -eq 0 ] && [ ! -s ms.err ] && [ -n "$peak_n" ] && [ "$got_peak" = "$peak_bytes" ] &&
	[ "$peak_bytes" -ge 67108864 ] && [ "$peak_fn" = peak_here ] && [ "$nsnap" -le 100 ]; then
	ok "ms_print: peak $got_peak B (the profile's peak_space, >= 64 MiB) at peak_here, $nsnap snapshots"
else
	not_ok "ms_print: peak '$got_peak' B at '$peak_fn' (want $peak_bytes at peak_here), '$nsnap' snapshots" "exit $rc"
	diag_file ms.err
	diag_file ms.txt 80
fi

# the last snapshot is detailed: what was never freed, 1000 x 64 B at leak_here
last=$(awk 'NF == 6 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9,]+$/ { n = $1; b = $3 } END { gsub(",", "", b); print n, b }' ms.txt)
if [ "$last" = "$((nsnap - 1)) $leak_bytes" ] && [ "$leak_bytes" -ge 64000 ] &&
	sed -n 's/.*Detailed snapshots: \[//p' ms.txt | grep -q ", $((nsnap - 1))\]" &&
	grep -q '^->[0-9.]*% (64,000B) 0x[0-9A-F]*: leak_here (alloc_heavy\.c:[0-9]*)$' ms.txt; then
	ok "ms_print: the last snapshot is detailed, $leak_bytes B live at the end, 64,000B at leak_here"
else
	not_ok "ms_print: the last snapshot is detailed with $leak_bytes B, 64,000B at leak_here" "got '$last'"
	diag_file ms.txt 200
fi

# snapshots in time order, heap sizes never negative, exactly one peak
if awk -F= '
	/^time=/ { if ($2 < t) bad = 1; t = $2 }
	/^mem_heap_B=/ { if ($2 !~ /^[0-9]+$/) bad = 1 }
	/^heap_tree=peak$/ { p++ }
	END { exit bad || p != 1 }' m.out; then
	ok "massif snapshots: times in order, sizes >= 0, one peak"
else
	not_ok "massif snapshots: times in order, sizes >= 0, one peak"
	diag_file m.out 60
fi

# --- pprof in Go's heap layout ---------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
	skip "go tool pprof reads heap profiles in Go's layout" "go is not installed"
	exit 0
fi
export HOME="$T" GOFLAGS='' GOTOOLCHAIN=local
for r in 2000 4000; do
	"$CPROF" convert -i "heap$r.data" --to pprof -o "h$r.pb.gz" 2>"conv$r.err" ||
		not_ok "convert --to pprof of heap$r.data" "$(cat "conv$r.err")"
done
"$CPROF" convert -i heap2000.data --to pprof --at-peak -o peak.pb.gz 2>/dev/null

go tool pprof -raw h2000.pb.gz >raw.txt 2>raw.err
nsamples=$(awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 } s && /: / { print }' raw.txt | wc -l)
ndistinct=$(awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 } s && /: / { sub(/.*: /, ""); print }' raw.txt | sort -u | wc -l)
if grep -qx 'PeriodType: space bytes' raw.txt && grep -qx 'Period: 1' raw.txt &&
	grep -qx 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes\[dflt\]' raw.txt &&
	[ "$nsamples" -gt 0 ] && [ "$nsamples" -eq "$ndistinct" ] &&
	! grep -qE 'pid:|tid:|thread_name:' raw.txt; then
	ok "go tool pprof -raw: Go's heap layout (4 types, inuse_space default, space/bytes), one sample per stack ($nsamples), no labels"
else
	not_ok "go tool pprof -raw: Go's heap layout, one sample per stack" "$nsamples samples, $ndistinct stacks"
	diag_file raw.txt 30
	diag_file raw.err
fi

# top_bytes INDEX FILE [ARGS]: "function<TAB>flat bytes" of go tool pprof -top
top_bytes() {
	local idx=$1 f=$2
	shift 2
	go tool pprof -unit=B -nodecount=1000 -nodefraction=0 -sample_index="$idx" "$@" -top "$f" 2>/dev/null |
		awk 'f && $1 ~ /B$/ { v = $1; sub(/B$/, "", v); if (v != 0) printf "%s\t%s\n", $6, v }
			/^ *flat +flat%/ { f = 1 }' | LC_ALL=C sort
}
top_bytes inuse_space h2000.pb.gz >inuse.tsv
top_bytes alloc_space h2000.pb.gz >alloc.tsv
if [ "$(cat inuse.tsv)" = "leak_here	64000" ] &&
	grep -qx 'site_malloc	6144000' alloc.tsv && grep -qx 'site_calloc	8192000' alloc.tsv &&
	grep -qx 'site_realloc	17408000' alloc.tsv && grep -qx 'peak_here	67108864' alloc.tsv; then
	ok "go tool pprof -top: inuse_space is the leak (leak_here 64000 B), alloc_space each site's exact bytes"
else
	not_ok "go tool pprof -top: inuse_space leak_here 64000 B, alloc_space per site"
	diag_file inuse.tsv
	diag_file alloc.tsv
fi

top_bytes inuse_space peak.pb.gz >peak.tsv
if grep -qx 'peak_here	67108864' peak.tsv &&
	[ "$(awk -F'\t' '{ s += $2 } END { print s }' peak.tsv)" = "$peak_bytes" ]; then
	ok "--at-peak: inuse_space is what was live at the peak ($peak_bytes B, peak_here 64 MiB)"
else
	not_ok "--at-peak: inuse_space is what was live at the peak ($peak_bytes B, peak_here 64 MiB)"
	diag_file peak.tsv
fi

top_bytes alloc_space h4000.pb.gz -diff_base h2000.pb.gz >diff.tsv
top_bytes inuse_space h4000.pb.gz -diff_base h2000.pb.gz >diff-inuse.tsv
if grep -qx 'site_malloc	6144000' diff.tsv && grep -qx 'site_calloc	8192000' diff.tsv &&
	grep -qx 'site_realloc	17408000' diff.tsv && ! grep -q '^peak_here' diff.tsv &&
	[ ! -s diff-inuse.tsv ]; then
	ok "go tool pprof -diff_base: 2000 more rounds allocate 2000 x each site's bytes; the same leak"
else
	not_ok "go tool pprof -diff_base: 2000 more rounds allocate 2000 x each site's bytes; the same leak"
	diag_file diff.tsv
	diag_file diff-inuse.tsv
fi
