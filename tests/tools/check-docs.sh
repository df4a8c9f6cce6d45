#!/usr/bin/env bash
# check-docs.sh - the docs-consistency test (curl's test1139, git's t0450).
#
#   tests/tools/check-docs.sh [CPROF]        (default: $CPROF, else build/cprof)
#
# The option tables in cmd/*.c are the truth; this script checks that the
# manual pages, -h and the shell completions agree with them:
#   - every command of `cprof --list-cmds` has man/cprof-<cmd>.1;
#   - `cprof <cmd> --list-opts` prints well-formed lines (the completion
#     protocol: "--long[=] [-s] [hint]");
#   - every option but --help appears in the man page (as `Fl -long` or a
#     literal --long) and in `cprof <cmd> -h`, and every option the man page
#     lists under OPTIONS exists;
#   - man/cprof.1 lists every command;
#   - every page has the standard sections and passes `mandoc -Tlint -W warning`;
#   - the completions are thin: they ask the binary (--list-cmds, --list-opts).
# Output is TAP, one line per check group, the failing details as
# diagnostics; the exit status is 1 when a check failed.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CPROF=${1:-${CPROF:-$TOP/build/cprof}}
MAN=$TOP/man
COMP=$TOP/completions

n=0 failed=0
# result DESC DETAIL...: ok when there is no detail, otherwise not ok with
# each detail as a diagnostic line.
result() {
	local desc=$1
	shift
	n=$((n + 1))
	if [ $# -eq 0 ]; then
		echo "ok $n - $desc"
	else
		failed=1
		echo "not ok $n - $desc"
		printf '# %s\n' "$@"
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# has_opt NAME FILE: FILE mentions --NAME as a whole option name.
has_opt() { grep -qE -- "(Fl -$1|--$1)([^[:alnum:]_-]|\$)" "$2"; }

if [ ! -x "$CPROF" ]; then
	echo "1..1"
	echo "not ok 1 - cprof binary exists"
	echo "# no executable at '$CPROF' (build it with make)"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-docs.XXXXXX")
trap 'rm -rf "$T"' EXIT

mapfile -t cmds < <("$CPROF" --list-cmds)
if [ ${#cmds[@]} -eq 0 ]; then
	result "cprof --list-cmds prints the commands" "it printed nothing"
	exit 1
fi
result "cprof --list-cmds prints the commands"

# --- the overview page lists every command -----------------------------
bad=()
for c in "${cmds[@]}"; do
	grep -qE "^\.It Cm $c\$" "$MAN/cprof.1" 2>/dev/null ||
		bad+=("man/cprof.1: no '.It Cm $c' in the command list")
	grep -qE "^\.Xr cprof-$c 1" "$MAN/cprof.1" 2>/dev/null ||
		bad+=("man/cprof.1: no '.Xr cprof-$c 1'")
done
result "man/cprof.1 lists every command" "${bad[@]}"

# --- per command --------------------------------------------------------
for c in "${cmds[@]}"; do
	page=$MAN/cprof-$c.1
	if [ ! -f "$page" ]; then
		result "$c: man/cprof-$c.1 exists" "missing man/cprof-$c.1 (see the checklist in cmd/cmd.h)"
		continue
	fi
	result "$c: man/cprof-$c.1 exists"

	"$CPROF" "$c" --list-opts >"$T/opts" 2>"$T/err"
	rc=$?
	bad=()
	[ $rc -eq 0 ] || bad+=("'cprof $c --list-opts' exited $rc: $(head -c 200 "$T/err")")
	grep -qx -- '--help -h' "$T/opts" || bad+=("no '--help -h' line")
	while IFS= read -r line; do
		[[ $line =~ ^--[a-z0-9][a-z0-9-]*=?(\ -[[:alnum:]])?(\ (file|dir|pid|cmd|[[:alnum:]_.-]+(\|[[:alnum:]_.-]+)+))?$ ]] ||
			bad+=("malformed line: '$line'")
	done <"$T/opts"
	result "$c: --list-opts follows the completion protocol" "${bad[@]}"

	mapfile -t longs < <(sed -n 's/^--\([a-z0-9-]*\).*/\1/p' "$T/opts" | grep -vx help)

	bad=()
	for o in "${longs[@]}"; do
		has_opt "$o" "$page" || bad+=("man/cprof-$c.1 does not mention --$o")
	done
	# and the reverse: options documented under OPTIONS must exist
	while read -r o; do
		[ "$o" = help ] && continue
		grep -qE -- "^--$o=?( |\$)" "$T/opts" ||
			bad+=("man/cprof-$c.1 documents --$o, which 'cprof $c' does not have")
	done < <(awk '/^\.Sh /{ s = ($0 ~ /^\.Sh OPTIONS/) } s && /^\.It /' "$page" |
		grep -oE -- 'Fl -[a-z0-9][a-z0-9-]*' | sed 's/^Fl -//' | sort -u)
	result "$c: man page and option table agree" "${bad[@]}"

	"$CPROF" "$c" -h >"$T/help" 2>&1
	rc=$?
	bad=()
	[ $rc -eq 0 ] || bad+=("'cprof $c -h' exited $rc")
	for o in "${longs[@]}"; do
		has_opt "$o" "$T/help" || bad+=("'cprof $c -h' does not show --$o")
	done
	result "$c: -h shows every option" "${bad[@]}"
done

# --- every page: sections and mandoc lint --------------------------------
pages=("$MAN"/*.[1-8])
bad=()
for p in "${pages[@]}"; do
	[ -f "$p" ] || continue
	case $p in
	*.1) want=("NAME" "SYNOPSIS" "DESCRIPTION" "EXIT STATUS" "EXAMPLES" "SEE ALSO") ;;
	*) want=("NAME" "DESCRIPTION" "SEE ALSO") ;;
	esac
	case $p in */cprof-*.1) want+=("OPTIONS" "ENVIRONMENT" "FILES") ;; esac
	for s in "${want[@]}"; do
		grep -qx "\.Sh $s" "$p" || bad+=("${p#"$TOP"/}: no '.Sh $s' section")
	done
done
result "man pages have the standard sections" "${bad[@]}"

if command -v mandoc >/dev/null 2>&1; then
	bad=()
	for p in "${pages[@]}"; do
		[ -f "$p" ] || continue
		mandoc -Tlint -W warning "$p" >"$T/lint" 2>&1 ||
			mapfile -t -O "${#bad[@]}" bad <"$T/lint"
	done
	result "man pages pass mandoc -Tlint -W warning" "${bad[@]}"
else
	skip "man pages pass mandoc -Tlint -W warning" "mandoc is not installed"
fi

# --- completions are thin: they ask the binary ---------------------------
bad=()
for f in cprof.bash _cprof cprof.fish; do
	if [ ! -f "$COMP/$f" ]; then
		bad+=("completions/$f is missing")
		continue
	fi
	grep -q -- '--list-cmds' "$COMP/$f" || bad+=("completions/$f does not ask --list-cmds")
	# the header comment names today's commands; it must not go stale
	today=$(sed -n 's/^#.*(today: \(.*\);$/\1/p' "$COMP/$f")
	[ "$today" = "${cmds[*]}" ] ||
		bad+=("completions/$f: header says 'today: $today', cprof --list-cmds says '${cmds[*]}'")
	grep -q -- '--list-opts' "$COMP/$f" || bad+=("completions/$f does not ask --list-opts")
	# an option name spelled out in a completion is a list that will rot
	for c in "${cmds[@]}"; do
		"$CPROF" "$c" --list-opts 2>/dev/null | sed -n 's/^--\([a-z0-9-]*\).*/\1/p' |
			grep -vx help | while read -r o; do
			grep -q -- "--$o\\b" "$COMP/$f" && echo "completions/$f names --$o"
		done
	done >"$T/named"
	mapfile -t -O "${#bad[@]}" bad <"$T/named"
done
result "completions ask the binary and list no options" "${bad[@]}"

echo "1..$n"
exit $failed
