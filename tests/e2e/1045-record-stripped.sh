#!/usr/bin/env bash
# Stripped code: names only where a symbol really holds the address.  The
# stripped fixture keeps its exported functions (.dynsym) and loses its
# static ones; their samples land on one "stripped+0xSTART" frame each,
# START being the function's address in the unstripped binary (nm), from
# the unwind tables.  The nearest exported symbol below them
# (exported_work) must not name them.  Then libc without its debug file.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record a stripped program" || exit 0
cd "$T" || exit 1
FULL=$FIXTURES/stripped.full
if ! command -v nm >/dev/null; then
	not_ok "nm is not installed (binutils)"
	exit 0
fi
hot=$(nm "$FULL" | awk '$3 == "hidden_hot" { print $1 }' | sed 's/^0*//')
cold=$(nm "$FULL" | awk '$3 == "hidden_cold" { print $1 }' | sed 's/^0*//')
ew=$(nm "$FULL" | awk '$3 == "exported_work" { print $1 }' | sed 's/^0*//')
if nm "$FIXTURES/stripped" 2>&1 | grep -q 'no symbols' && nm -D "$FIXTURES/stripped" | grep -q ' exported_work$' &&
	! nm -D "$FIXTURES/stripped" | grep -q hidden; then
	ok "fixture: static functions gone (hidden_hot at 0x$hot), exported_work kept (0x$ew)"
else
	not_ok "fixture: stripped is not stripped as expected"
fi

record_ok "stripped" st.data -- "$FIXTURES/stripped" 600 || exit 0
"$CPROF" report --stdio -i st.data >st.txt 2>&1
expect_share "static function" "stripped+0x$hot" st.txt 60 5
expect_share "exported function keeps its name" exported_work st.txt 30 5
expect_share "second static function" "stripped+0x$cold" st.txt 10 4
# every frame of the stripped module: a .dynsym name or a static
# function's start, never a guess from the nearest symbol (frames under 0.5% in
# the C runtime's start-up or exit code, which no symbol or FDE covers,
# rightly stay bare addresses)
bad=$(report_tsv st.txt | awk -F'\t' -v h="stripped+0x$hot" -v c="stripped+0x$cold" '
	$8 == "stripped" && $7 != "main" && $7 != "_start" && $7 != "exported_work" &&
	$7 != h && $7 != c && $2 >= 0.5 { print $7 }')
[ -z "$bad" ] && ok "stripped module: only exported names and function starts" ||
	not_ok "stripped module: unexpected frames: $bad" "$(head -20 st.txt)"
"$CPROF" report --stdio --tree -i st.data >tree.txt 2>&1
if grep -qE "^ +[0-9.]+ +exported_work " tree.txt &&
	grep -A1 -E "^ +[0-9.]+ +exported_work " tree.txt | grep -qE "^ +[0-9.]+ +stripped\+0x$hot "; then
	ok "tree: exported_work calls stripped+0x$hot"
else
	not_ok "tree: exported_work -> stripped+0x$hot" "$(sed -n 9,20p tree.txt)"
fi
"$CPROF" convert -i st.data --to folded >st.folded
grep -q "exported_work;stripped+0x$hot [0-9]" st.folded && ok "folded: exported_work;stripped+0x$hot" ||
	not_ok "folded: no exported_work;stripped+0x$hot" "$(head -5 st.folded)"

# annotate by that name: its code, from the FDE's extent
"$CPROF" report --stdio --annotate "stripped+0x$hot" -i st.data >ann.txt 2>ann.err
# the percent column: a number with two decimals after an optional '>'
sum=$(awk '/^#/ || /^ Percent/ { next } { i = $1 == ">" ? 2 : 1 }
	$i ~ /^[0-9]+\.[0-9][0-9]$/ { s += $i } END { printf "%.0f", s }' ann.txt)
if grep -q "^# annotate: stripped+0x$hot (stripped), 0x$hot-0x" ann.txt && [ "$sum" = 100 ]; then
	ok "annotate stripped+0x$hot: its code, shares add up to $sum%"
else
	not_ok "annotate stripped+0x$hot (sum '$sum')" "$(head -5 ann.txt)" "$(cat ann.err)"
fi

# pprof: no function for those frames, the address and the mapping stay,
# the mapping says it is not fully symbolized
"$CPROF" convert -i st.data --to pprof -o st.pb.gz
if command -v go >/dev/null; then
	go tool pprof -raw st.pb.gz >raw.txt 2>&1
	map=$(awk '/^Mappings/ { m = 1; next } m && / \/.*\/stripped / { print $1; exit }' raw.txt)
	# leaf locations of the static functions: address in [hot, hot + 0x30)
	nameless=$(awk -v m="M=${map%:}" '/^Locations/ { l = 1; next } /^Mappings/ { l = 0 }
		l && $3 == m && NF == 3 { n++ } END { print n + 0 }' raw.txt)
	guessed=$(awk -v m="M=${map%:}" '/^Locations/ { l = 1; next } /^Mappings/ { l = 0 }
		l && $3 == m && $4 ~ /hidden|^stripped\+/ { n++ } END { print n + 0 }' raw.txt)
	if [ -n "$map" ] && ! grep -E "^${map} .*/stripped " raw.txt | grep -q '\[FN\]' &&
		[ "$nameless" -gt 0 ] && [ "$guessed" = 0 ]; then
		ok "go tool pprof: $nameless locations without a function, mapping $map not [FN]"
	else
		not_ok "go tool pprof: mapping '$map', $nameless nameless, $guessed named" \
			"$(sed -n '/^Mappings/,$p' raw.txt)"
	fi
else
	not_ok "go is not installed (scripts/deps.sh check installs golang-go)"
fi

# cprof symbolize keeps addr2line's answer byte for byte (the nearest
# symbol, which is what scripts expect)
"$CPROF" symbolize -f -e "$FIXTURES/stripped" "0x$hot" >sym.txt
addr2line -f -e "$FIXTURES/stripped" "0x$hot" >a2l.txt
cmp -s sym.txt a2l.txt && ok "symbolize: as addr2line ($(head -1 a2l.txt))" ||
	not_ok "symbolize differs from addr2line" "$(cat sym.txt)" "$(cat a2l.txt)"

# MiniDebugInfo, as Fedora ships it: the static functions' symbols in an
# xz-compressed ELF in .gnu_debugdata (made here as Fedora's
# find-debuginfo does it)
if command -v xz >/dev/null && command -v objcopy >/dev/null; then
	nm -D "$FULL" --format=posix --defined-only | awk '{ print $1 }' | sort >dynsyms
	nm "$FULL" --format=posix --defined-only | awk '$2 == "T" || $2 == "t" { print $1 }' |
		sort >funcsyms
	comm -13 dynsyms funcsyms >keep
	objcopy --only-keep-debug "$FULL" mini.debug &&
		objcopy -S --remove-section .gdb_index --remove-section .comment \
			--keep-symbols=keep mini.debug mini && xz -f mini &&
		cp "$FIXTURES/stripped" mdi && objcopy --add-section .gnu_debugdata=mini.xz mdi
	record_ok "minidebuginfo" mdi.data -- ./mdi 300 &&
		"$CPROF" report --stdio -i mdi.data >mdi.txt 2>&1
	expect_share "MiniDebugInfo names the static function" hidden_hot mdi.txt 60 5
	# addr2line does not read it: symbolize answers as addr2line does
	"$CPROF" symbolize -f -e mdi "0x$hot" >sym.txt
	addr2line -f -e mdi "0x$hot" >a2l.txt
	cmp -s sym.txt a2l.txt && ok "MiniDebugInfo: symbolize as addr2line ($(head -1 a2l.txt))" ||
		not_ok "MiniDebugInfo: symbolize differs from addr2line" "$(cat sym.txt)" "$(cat a2l.txt)"
else
	not_ok "xz or objcopy is not installed (scripts/deps.sh check installs them)"
fi

# libc without its detached debug symbols (hidden in a private mount
# namespace): its static start-up function is libc.so.6+0x..., not the
# exported symbol below it
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	unshare -m sh -c '{ [ ! -d /usr/lib/debug ] || mount -t tmpfs none /usr/lib/debug; } || exit 3
		exec "$1" record -q -o "$2" -- "$3" 300' sh "$CPROF" "$T/nd.data" \
		"$FIXTURES/cpu_split_nofp" >/dev/null 2>"$T/nd.err"
	"$CPROF" report --stdio --tree -i nd.data >nd.txt 2>&1
	# the chain of nodes holding (nearly) every sample, from the root
	chain=$(awk '/^#/ { next } $1 + 0 >= 95 { sub(/^ +[0-9.]+ +/, ""); sub(/ .*$/, "")
		printf "%s > ", $0 }' nd.txt)
	case $chain in
	"_start > __libc_start_main > libc.so.6+0x"*" > main > run_rounds > ")
		ok "no libc debug file: $chain" ;;
	*) not_ok "no libc debug file: call chain '$chain'" "$(sed -n 9,16p nd.txt)" "$(cat nd.err)" ;;
	esac
else
	skip "libc without its debug file" "needs root and unshare(1)"
fi
