# lib.sh - helpers the bench scripts share; source it:
#   . "$(dirname "$0")/lib.sh"

# bench_setup NAME [BUILD_DIR]: what every bench script starts with: set
# -u, the C locale, CPROF_TOP (the source tree), BUILD (absolute; default
# build), CPROF, FX (the fixtures) and T, a new scratch directory
# cprof-bench-NAME.XXXXXX (the caller removes it in its trap)
bench_setup() {
	set -u
	LC_ALL=C
	export LC_ALL
	CPROF_TOP=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
	BUILD=${2:-$CPROF_TOP/build}
	case $BUILD in /*) ;; *) BUILD=$CPROF_TOP/$BUILD ;; esac
	CPROF=$BUILD/cprof
	FX=$CPROF_TOP/build/fixtures
	T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-bench-$1.XXXXXX") || exit 1
}

# numbers on stdin -> their median ("nan" for none)
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# calc FORMAT EXPR: awk arithmetic, printed with FORMAT
calc() { awk "BEGIN { printf \"$1\\n\", $2 }"; }
# verdict CONDITION: "ok" when the awk condition holds, else "MISSED"
verdict() { awk "BEGIN { exit !($1) }" && echo ok || echo MISSED; }
# the time now, in seconds with microseconds
now() { echo "${EPOCHREALTIME/,/.}"; }
