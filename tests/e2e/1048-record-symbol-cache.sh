#!/usr/bin/env bash
# Symbols kept across runs ($XDG_CACHE_HOME/cprof): the second recording of
# a program answers from the cache what the first resolved, and the cache
# follows the debug information: a debug file that appears or goes away
# changes the answers at once.  A damaged cache file is ignored.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "the symbol cache" || exit 0
cd "$T" || exit 1
C=$XDG_CACHE_HOME/cprof
# the stripped fixture with its debug file beside it (.gnu_debuglink)
cp "$FIXTURES/stripped" app
objcopy --only-keep-debug "$FIXTURES/stripped.full" app.debug
objcopy --add-gnu-debuglink=app.debug app
hot=$(nm "$FIXTURES/stripped.full" | awk '$3 == "hidden_hot" { print $1 }' | sed 's/^0*//')
bid=$(readelf -n app | awk '/Build ID/ { print $3 }')
rec() { # NAME: record app, report into NAME.txt (-v -v: the cache says what it served)
	"$CPROF" -v -v record -o "$1.data" -- ./app 300 >/dev/null 2>"$1.err" &&
		"$CPROF" report --stdio -i "$1.data" >"$1.txt" 2>&1
}
rec cold
ls "$C"/symbols/"$bid"-* >/dev/null 2>&1 && ok "the first run fills the cache (symbols/$bid-...)" ||
	not_ok "no cache file for $bid" "$(find "$C" 2>/dev/null | head)"
rec warm
n=$(sed -n "s|.*'$T/app': \([0-9]*\) addresses from the symbol cache.*|\1|p" warm.err)
[ "${n:-0}" -gt 0 ] && ! grep -q 'from the symbol cache' cold.err &&
	ok "the second run takes $n addresses from the cache, the first none" ||
	not_ok "cache not used (warm: '${n:-}')" "$(grep -i cache warm.err | head -3)"
expect_share "from the cache" hidden_hot warm.txt 60 5
# the program's own functions: which of them get a sample varies from run
# to run (a sample in __do_global_dtors_aux at exit, say), so the cached
# answers are held to the program's real symbols, and the hot ones to the
# first run's
names() { report_tsv "$1" | awk -F'\t' '$8 == "app" { print $7 }' | sort; }
# its symbols, and the functions its debug information names (a sample in
# an inlined fx_count is named fx_count)
{ nm "$FIXTURES/stripped.full" | awk '{ print $NF }'
	readelf -wi "$FIXTURES/stripped.full" | awk '/DW_AT_name/ { print $NF }'; } | sort -u >syms.txt
names warm.txt | comm -23 - syms.txt >d.txt
if [ ! -s d.txt ] && names warm.txt | grep -qx hidden_hot && names cold.txt | grep -qx hidden_hot; then
	ok "every name of app from the cache is one of its symbols: $(names warm.txt | tr '\n' ' ')"
else
	not_ok "cache changes the names" "$(cat d.txt)" "cold: $(names cold.txt | tr '\n' ' ')"
fi

# the debug file goes away: names from the unwind tables again, not the cache's
mv app.debug away.debug
rec gone
expect_share "debug file removed" "app+0x$hot" gone.txt 60 5
[ "$(share_of hidden_hot gone.txt)" = 0 ] && ok "no cached name without the debug file" ||
	not_ok "hidden_hot still named from the cache"
mv away.debug app.debug
rec back
expect_share "debug file back" hidden_hot back.txt 60 5

# a damaged cache file is ignored, and replaced
for f in "$C"/symbols/*; do printf 'garbage' | dd of="$f" bs=1 seek=20 conv=notrunc status=none; done
rec damaged
expect_share "damaged cache" hidden_hot damaged.txt 60 5
rec again
expect_share "rewritten cache" hidden_hot again.txt 60 5
