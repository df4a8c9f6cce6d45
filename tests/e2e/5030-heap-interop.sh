#!/usr/bin/env bash
# A real cprof heap recording read by the tools its users have: go tool
# pprof (Go's heap layout, -diff_base, --at-peak) and ms_print.
. "$(dirname "$0")/lib.sh"

"$CPROF" heap -q -o "$T/a.data" -- "$FIXTURES/alloc_heavy" 1000 &&
	"$CPROF" heap -q -o "$T/b.data" -- "$FIXTURES/alloc_heavy" 2000 ||
	{ not_ok "cprof heap failed"; exit 0; }
"$CPROF" convert -i "$T/a.data" --to pprof -o "$T/a.pb.gz" &&
	"$CPROF" convert -i "$T/b.data" --to pprof -o "$T/b.pb.gz" ||
	{ not_ok "convert --to pprof failed"; exit 0; }
GO=$(command -v go)
if [ -z "$GO" ]; then
	skip "go tool pprof" "no go (make deps-check installs golang-go)"
else
	export GOCACHE=$T/gocache GOPATH=$T/gopath GOFLAGS=-mod=mod
	"$GO" tool pprof -raw "$T/a.pb.gz" >"$T/raw.txt" 2>&1
	if grep -q '^PeriodType: space bytes$' "$T/raw.txt" && grep -q '^Period: 1$' "$T/raw.txt" &&
		grep -qx 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes\[dflt\]' "$T/raw.txt"; then
		ok "go tool pprof -raw: Go's heap layout (four sample types, period space/bytes 1)"
	else
		not_ok "go tool pprof -raw: sample types" "$(head -12 "$T/raw.txt")"
	fi
	"$GO" tool pprof -sample_index=inuse_space -unit=B -top "$T/a.pb.gz" >"$T/top.txt" 2>&1
	if grep -Eq '^ +64000B +100% +100% +64000B +100% +leak_here$' "$T/top.txt"; then
		ok "go tool pprof -sample_index=inuse_space: leak_here 64000B"
	else
		not_ok "inuse_space top" "$(cat "$T/top.txt")"
	fi
	"$GO" tool pprof -sample_index=alloc_objects -diff_base "$T/a.pb.gz" -top "$T/b.pb.gz" >"$T/diff.txt" 2>&1
	if grep -Eq '^ +64000 .* site_malloc$' "$T/diff.txt" && grep -Eq '^ +16000 .* site_realloc$' "$T/diff.txt" &&
		! grep -q 'leak_here' "$T/diff.txt"; then
		ok "-diff_base: 1000 more rounds = 64000 site_malloc calls, the leak unchanged"
	else
		not_ok "-diff_base" "$(cat "$T/diff.txt")"
	fi
	"$CPROF" heap -q --sample 512K --seed 3 -o "$T/s.data" -- "$FIXTURES/alloc_heavy" 2000 &&
		"$CPROF" convert -i "$T/s.data" --to pprof -o "$T/s.pb.gz" &&
		"$GO" tool pprof -raw "$T/s.pb.gz" >"$T/sraw.txt" 2>&1
	if grep -q '^Period: 524288$' "$T/sraw.txt"; then ok "sampled: pprof period = the interval, 524288"; else
		not_ok "sampled: pprof period" "$(head -9 "$T/sraw.txt")"; fi
	"$CPROF" convert -i "$T/a.data" --to pprof --at-peak -o "$T/p.pb.gz"
	"$GO" tool pprof -sample_index=inuse_space -unit=B -top "$T/p.pb.gz" >"$T/peak.txt" 2>&1
	if grep -Eq '^ +67108864B .* peak_here$' "$T/peak.txt"; then
		ok "--at-peak: peak_here 67108864B in use"
	else
		not_ok "--at-peak" "$(cat "$T/peak.txt")"
	fi
fi
if ! command -v ms_print >/dev/null; then
	skip "ms_print" "no ms_print (make deps-check installs valgrind)"
else
	"$CPROF" convert -i "$T/a.data" --to massif -o "$T/massif.out" &&
		ms_print "$T/massif.out" >"$T/ms.txt" 2>&1
	peak=$(awk '/^ +[0-9]+ +[0-9,]+ +[0-9,]+ / { v = $3; gsub(",", "", v); if (v + 0 > m) m = v + 0 }
		END { print m + 0 }' "$T/ms.txt")
	want=$("$CPROF" convert -i "$T/a.data" --to folded --sample-type peak_space | awk '{ s += $NF } END { print s }')
	if [ "$peak" = "$want" ] && grep -q 'peak_here' "$T/ms.txt"; then
		ok "ms_print: peak $peak bytes, the same as cprof's, peak_here in the tree"
	else
		not_ok "ms_print: peak '$peak', cprof's $want" "$(head -50 "$T/ms.txt")"
	fi
fi
