# lib.sh - helpers for the end-to-end tests.  Source it first:
#   . "$(dirname "$0")/lib.sh"
# Each check prints one TAP line:  ok / not ok / ok # SKIP reason.
# Environment: CPROF (the binary), FIXTURES (built fixture programs),
# CPROF_TOP (source tree).  Every test gets a private $T scratch dir.
set -u
: "${CPROF_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${CPROF:=$CPROF_TOP/build/cprof}"
: "${FIXTURES:=$CPROF_TOP/build/fixtures}"
export NO_COLOR=1
T=$(mktemp -d "${TMPDIR:-/tmp}/cprof-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
_n=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); echo "not ok $_n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }
# check DESC COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "command failed: $*"; fi; }
# Print a file's content as TAP diagnostics (for failures).
diag_file() { sed 's/^/# /' "$1" | head -n "${2:-40}"; }

# perf_event usable for this user? (root always is, paranoid <= 2 for
# user-only sampling otherwise)
have_perf() {
	local p
	p=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 9)
	[ "$(id -u)" = 0 ] || [ "$p" -le 2 ]
}
# skip_unless_perf DESC: prints a skip line and returns 1 when perf_event
# cannot be used here.
skip_unless_perf() {
	if ! have_perf; then
		skip "$1" "perf_event not allowed (kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid))"
		return 1
	fi
}
# share_of FUNC REPORTFILE: the Self% column of FUNC's row in a
# `cprof report --stdio` table (prints 0 when absent).
share_of() {
	awk -v f="$1" '$1 ~ /^[0-9.]+%?$/ && $0 ~ ("[[:space:]]" f "([[:space:]]|$)") { gsub("%","",$1); print $1; found=1; exit } END { if (!found) print 0 }' "$2"
}
# within VALUE EXPECTED TOL: |VALUE-EXPECTED| <= TOL (decimals allowed)
within() { awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(d <= t) }'; }
