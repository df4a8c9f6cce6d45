#!/usr/bin/env bash
# cprof symbolize must print exactly what binutils' addr2line prints for the
# same flags, on the fixture programs (C with inlining, C++ with inline
# templates and lambdas), and fail cleanly on bad input.
. "$(dirname "$0")/lib.sh"

# Addresses of every text symbol: its start, a few bytes inside, its last
# byte and the byte after it, plus some outside every section.
addrs_of() {
	nm --defined-only -S "$1" | while read -r a s t n; do
		case "$t" in t | T | W | w | i) ;; *) continue ;; esac
		[ -n "$n" ] || continue
		local base=$((0x$a)) size=$((0x$s))
		for o in 0 1 2 3 5 8 13 $((size / 3)) $((size / 2)) $((size - 1)) $size; do
			[ "$o" -ge 0 ] && printf '0x%x\n' $((base + o))
		done
	done
	printf '0x0\n0x1\n0xffffffffffff\n'
}

if ! command -v addr2line >/dev/null 2>&1 || ! command -v nm >/dev/null 2>&1; then
	skip "symbolize matches addr2line" "binutils (addr2line, nm) not installed"
	exit 0
fi

for fx in cpp_inline cpu_split_nofp; do
	bin=$FIXTURES/$fx
	if [ ! -x "$bin" ]; then
		skip "$fx: symbolize matches addr2line" "fixture $bin not built (make fixtures)"
		continue
	fi
	addrs_of "$bin" >"$T/$fx.addrs"
	for flags in "-a -f -i -C" "-f -i" "-a -f -i -p -C" "-f -s" "-i -p"; do
		# shellcheck disable=SC2086
		addr2line $flags -e "$bin" <"$T/$fx.addrs" >"$T/want" 2>&1
		# shellcheck disable=SC2086
		"$CPROF" symbolize $flags -e "$bin" <"$T/$fx.addrs" >"$T/got" 2>&1
		if cmp -s "$T/want" "$T/got"; then
			ok "$fx: 'symbolize $flags' matches addr2line ($(wc -l <"$T/$fx.addrs") addresses)"
		else
			not_ok "$fx: 'symbolize $flags' matches addr2line" "first differences:"
			diff "$T/want" "$T/got" | head -20 | sed 's/^/# /'
		fi
	done
done

bin=$FIXTURES/cpu_split_nofp
if [ -x "$bin" ]; then
	# long option names, and addresses as arguments rather than stdin
	a=$(nm --defined-only "$bin" | awk '$3 == "main" { print $1 }')
	"$CPROF" symbolize --addresses --functions --inlines --demangle --basenames --pretty-print \
		--exe "$bin" "0x$a" "$a" >"$T/got" 2>&1
	addr2line -a -f -i -C -s -p -e "$bin" "0x$a" "$a" >"$T/want" 2>&1
	if cmp -s "$T/want" "$T/got"; then ok "long options and address arguments"; else
		not_ok "long options and address arguments" "want: $(cat "$T/want")" "got: $(cat "$T/got")"
	fi

	# answers come before the next read, so a driver can talk through pipes
	coproc SYM { "$CPROF" symbolize -f -e "$bin"; }
	echo "0x$a" >&"${SYM[1]}"
	if read -r -t 10 l1 <&"${SYM[0]}" && read -r -t 10 l2 <&"${SYM[0]}" && [ "$l1" = main ]; then
		ok "one answer per address without waiting for end of input"
	else
		not_ok "one answer per address without waiting for end of input" "got '${l1:-}' '${l2:-}'"
	fi
	exec {SYM[1]}>&-
	wait "$SYM_PID" 2>/dev/null
fi

# bad input
"$CPROF" symbolize -e "$T/no-such-file" 0x1 >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 1 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" = 1 ] &&
	grep -q "^cprof symbolize: error: cannot open '$T/no-such-file': No such file or directory$" "$T/err"; then
	ok "missing file: exit 1 and one error line"
else
	not_ok "missing file: exit 1 and one error line" "rc=$rc" "$(cat "$T/err")"
fi
printf 'not elf\n' >"$T/text"
"$CPROF" symbolize -e "$T/text" 0x1 >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && grep -q "^cprof symbolize: error: '$T/text' is not an ELF file$" "$T/err"; then
	ok "not an ELF file: exit 1"
else
	not_ok "not an ELF file: exit 1" "rc=$rc" "$(cat "$T/err")"
fi
# a damaged ELF found by fuzzing (.dynsym SHT_NOBITS, claiming 2.9e16
# bytes): an answer or a one-line error at once, never a walk of the claim
timeout 10 "$CPROF" symbolize -f -e "$CPROF_TOP/tests/data/elf/nobits-dynsym.elf" 0x401000 \
	>"$T/out" 2>"$T/err"
rc=$?
if { [ $rc = 0 ] && [ "$(cat "$T/out")" = "$(printf '??\n??:0')" ]; } ||
	{ [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ]; }; then
	ok "damaged .dynsym (NOBITS, 2.9e16 bytes claimed): exit $rc at once"
else
	not_ok "damaged .dynsym: exit $rc (124: still running after 10 s)" "$(head -3 "$T/err")"
fi
"$CPROF" symbolize --no-such-flag >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 2 ] && grep -q "unknown option" "$T/err"; then
	ok "unknown flag: exit 2"
else
	not_ok "unknown flag: exit 2" "rc=$rc" "$(head -3 "$T/err")"
fi
if "$CPROF" symbolize -h | grep -q -- "--pretty-print"; then ok "-h lists the options"; else
	not_ok "-h lists the options"
fi
