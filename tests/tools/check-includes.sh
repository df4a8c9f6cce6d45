#!/usr/bin/env bash
# check-includes.sh - enforce the module dependency DAG (STYLE.md rule 5)
# on the quoted #include lines of lib/ and cmd/.
#
#   tests/tools/check-includes.sh [TOP]      (default: the source tree)
#
# Rules:
#   - lib/<m>/ may include its own files, "config.h", and the public header
#     lib/<x>/<x>.h of the modules <m> depends on (the table below);
#   - nothing in lib/ includes cmd/;
#   - no one includes another module's private header: from outside
#     lib/<x>/ only lib/<x>/<x>.h is visible (cmd/ included);
#   - no one includes a .c file.
# Prints one "file:line: message" per violation and exits 1 if there was
# any; prints nothing and exits 0 otherwise.
set -u
TOP=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$TOP" || exit 2

# The dependency table: module -> the modules it may include.  core is
# below everything.  Adding a module or an edge is a design decision:
# change STYLE.md rule 5 with it.
declare -A deps=(
	[core]=""
	[profile]="core"
	[symbol]="core"
	[proc]="core"
	[format]="core profile"
	[data]="core profile"
	[unwind]="core symbol"
	[sample]="core data symbol unwind proc profile"
	[input]="core profile data format"
	[tui]="core profile format"
	[period]="core profile data format"
	[heap]="core profile data sample proc"
	[preload]=""
	[session]="core profile sample proc"
	[http]="core"
	[store]="core"
	[db]="core"
	[trace]="core proc sample profile"
	[control]="core db session heap proc profile format push"
	[push]="core profile format store"
	[serve]="core profile format http session proc heap input store control"
)

bad=0
violation() {
	echo "$1: $2"
	bad=1
}

# check FILE MODULE: MODULE is the lib module FILE lives in, or "" for cmd/.
check() {
	local file=$1 mod=$2 lineno inc x rest
	while IFS=: read -r lineno inc; do
		inc=${inc#*\"}
		inc=${inc%%\"*}
		case $inc in
		*.c)
			violation "$file:$lineno" "includes a .c file \"$inc\""
			continue
			;;
		cmd/* | */cmd/* | ../*)
			if [ -n "$mod" ]; then
				violation "$file:$lineno" "lib/ must not include cmd/ or reach outside lib/ (\"$inc\")"
				continue
			fi
			;;
		esac
		if [[ $inc != */* ]]; then
			# a file next to this one, or the generated config.h
			[ "$inc" = config.h ] && continue
			[ -f "$(dirname "$file")/$inc" ] && continue
			violation "$file:$lineno" "\"$inc\" is neither beside this file nor config.h"
			continue
		fi
		x=${inc%%/*}
		rest=${inc#*/}
		# tables the Makefile generates into $(O)/gen
		[ "$x" = gen ] && continue
		if [ ! -d "lib/$x" ]; then
			violation "$file:$lineno" "\"$inc\" is not a lib/ header"
			continue
		fi
		[ "$x" = "$mod" ] && continue # own module: private headers are fine
		# the interposer (in the target) sees only the shared ring layout
		[ "$mod" = preload ] && [ "$inc" = heap/ring.h ] && continue
		if [ "$rest" != "$x.h" ]; then
			violation "$file:$lineno" "\"$inc\" is private to lib/$x; include \"$x/$x.h\""
			continue
		fi
		[ -z "$mod" ] && continue # cmd/ may use any public header
		if [[ -z ${deps[$mod]+set} ]]; then
			violation "$file:$lineno" "module '$mod' is not in the dependency table of tests/tools/check-includes.sh"
			continue
		fi
		case " ${deps[$mod]} " in
		*" $x "*) ;;
		*)
			local allowed=${deps[$mod]}
			violation "$file:$lineno" "lib/$mod must not depend on lib/$x (allowed: ${allowed:-nothing})"
			;;
		esac
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file")
}

while IFS= read -r f; do
	m=${f#lib/}
	check "$f" "${m%%/*}"
done < <(find lib -mindepth 2 -name '*.[ch]' | LC_ALL=C sort)
while IFS= read -r f; do
	check "$f" ""
done < <(find cmd -name '*.[ch]' | LC_ALL=C sort)
exit $bad
