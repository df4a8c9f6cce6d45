#!/usr/bin/env bash
# The dispatcher: --version, -h, help, unknown commands and flags.
. "$(dirname "$0")/lib.sh"

# run OUT ERR ARGS...: run cprof, keep stdout/stderr, return its status
run() {
	local out=$1 err=$2
	shift 2
	"$CPROF" "$@" >"$out" 2>"$err"
}

run "$T/out" "$T/err" --version
rc=$?
if [ $rc -eq 0 ] && grep -qE '^cprof [0-9]+\.[0-9]+' "$T/out"; then
	ok "--version prints a version"
else
	not_ok "--version prints a version" "exit $rc, stdout: $(head -c 200 "$T/out")"
fi

run "$T/out" "$T/err" -h
rc=$?
missing=
while read -r c; do
	grep -qE "^[[:space:]]+${c}[[:space:]]" "$T/out" || missing="$missing $c"
done < <("$CPROF" --list-cmds)
if [ $rc -eq 0 ] && [ -z "$missing" ] && grep -q '^usage: cprof' "$T/out"; then
	ok "-h prints the usage with every command"
else
	not_ok "-h prints the usage with every command" "exit $rc, missing:${missing:- none}"
	diag_file "$T/out"
fi

run "$T/out" "$T/err" help
rc=$?
if [ $rc -eq 0 ] && grep -q '^usage: cprof' "$T/out"; then
	ok "help without a command prints the usage"
else
	not_ok "help without a command prints the usage" "exit $rc"
	diag_file "$T/out"
fi

run "$T/out" "$T/err" reord
rc=$?
if [ $rc -eq 2 ] && grep -q "'reord' is not a cprof command" "$T/err" &&
	grep -q "did you mean 'record'" "$T/err"; then
	ok "unknown command: exit 2 and 'did you mean'"
else
	not_ok "unknown command: exit 2 and 'did you mean'" "exit $rc"
	diag_file "$T/err"
fi

run "$T/out" "$T/err" --bogus
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$T/err"; then
	ok "unknown global flag: exit 2"
else
	not_ok "unknown global flag: exit 2" "exit $rc"
	diag_file "$T/err"
fi

run "$T/out" "$T/err" report --bogus
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$T/err" &&
	grep -q '^usage: .*report' "$T/err" && [ ! -s "$T/out" ]; then
	ok "unknown flag of a command: exit 2, usage on stderr"
else
	not_ok "unknown flag of a command: exit 2, usage on stderr" "exit $rc"
	diag_file "$T/err"
fi

run "$T/out" "$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q '^usage: cprof' "$T/err"; then
	ok "no command: exit 2, usage on stderr"
else
	not_ok "no command: exit 2, usage on stderr" "exit $rc"
fi

run "$T/out" "$T/err" help nosuchcmd
rc=$?
if [ $rc -eq 2 ] && grep -q "no such command 'nosuchcmd'" "$T/err"; then
	ok "help of an unknown command: exit 2"
else
	not_ok "help of an unknown command: exit 2" "exit $rc"
	diag_file "$T/err"
fi

# every command answers -h with its usage on stdout, exit 0
bad=
while read -r c; do
	run "$T/out" "$T/err" "$c" -h
	rc=$?
	{ [ $rc -eq 0 ] && grep -q "^usage: .*$c" "$T/out"; } || bad="$bad $c(exit $rc)"
done < <("$CPROF" --list-cmds)
if [ -z "$bad" ]; then
	ok "every command's -h prints its usage"
else
	not_ok "every command's -h prints its usage" "failing:$bad"
fi
