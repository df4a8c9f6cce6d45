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
# recordings keep symbols across runs in a cache: every test starts with
# an empty one of its own, never the user's
export XDG_CACHE_HOME=$T/.cache
unset CPROF_CACHE_DIR
_n=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); echo "not ok $_n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }
# check DESC COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "command failed: $*"; fi; }
# Print a file's content as TAP diagnostics (for failures).
diag_file() { sed 's/^/# /' "$1" | head -n "${2:-40}"; }

# wait_until SECONDS COMMAND...: run COMMAND every 20 ms until it succeeds;
# fails when it has not after SECONDS (a condition, never a fixed sleep)
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.02
	done
}

# pg_start [SETTINGS...]: a PostgreSQL cluster of Debian's server made by
# initdb in $T/pg as the postgres user (initdb refuses root), on loopback
# at a free port with its socket in $T/pg, and a database cprof in it;
# sets PGBIN, PG (the command prefix), PGPORT and DB (its URL).  Extra
# server settings as "-c name=value".  pg_stop stops it (for the trap).
# Fails with one line in PG_WHY.
pg_start() {
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -x "$PGBIN/initdb" ] || { PG_WHY="no PostgreSQL server (make deps-check installs it)"; return 1; }
	id postgres >/dev/null 2>&1 || { PG_WHY="no postgres user (the postgresql package makes it)"; return 1; }
	chmod 755 "$T"
	mkdir -p "$T/pg" && chown postgres: "$T/pg"
	PG=(runuser -u postgres --)
	PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"${PG[@]}" "$PGBIN/initdb" -D "$T/pg/data" -A trust -U cprof --no-sync >"$T/pg-init.log" 2>&1 ||
		{ PG_WHY="initdb failed: $(tail -1 "$T/pg-init.log")"; return 1; }
	"${PG[@]}" "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $T/pg -c fsync=off $*" start >"$T/pg-start.log" 2>&1 ||
		{ PG_WHY="pg_ctl start failed: $(tail -1 "$T/pg/log")"; return 1; }
	"${PG[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U cprof cprof >"$T/pg-createdb.log" 2>&1 ||
		{ PG_WHY="createdb failed: $(tail -1 "$T/pg-createdb.log")"; return 1; }
	DB=postgresql://cprof@127.0.0.1:$PGPORT/cprof
}
pg_stop() { [ -n "${PGBIN:-}" ] && "${PG[@]}" "$PGBIN/pg_ctl" -D "$T/pg/data" -m immediate stop >/dev/null 2>&1; }

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
# share_of FUNC REPORTFILE [COL]: column COL (1 = Self%, 2 = Total%,
# 3 = Samples; default 1) of the row whose Function is exactly FUNC in a
# `cprof report --stdio` table (Function is everything between Samples and
# the last column, Module).  Prints 0 when there is no such row.
share_of() {
	awk -v f="$1" -v col="${3:-1}" '
		/^#/ { next }
		NF >= 5 && $1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9]+$/ {
			name = ""
			for (i = 4; i < NF; i++) name = name (i > 4 ? " " : "") $i
			if (name == f) { print $col; found = 1; exit }
		}
		END { if (!found) print 0 }' "$2"
}
# module_of FUNC REPORTFILE: the Module column of FUNC's row ("" if none).
module_of() {
	awk -v f="$1" '
		/^#/ { next }
		NF >= 5 && $1 ~ /^[0-9.]+$/ && $3 ~ /^[0-9]+$/ {
			name = ""
			for (i = 4; i < NF; i++) name = name (i > 4 ? " " : "") $i
			if (name == f) { print $NF; exit }
		}' "$2"
}
# expect_share DESC FUNC REPORT EXPECTED TOL: one TAP line.
expect_share() {
	local got
	got=$(share_of "$2" "$3")
	if within "$got" "$4" "$5"; then
		ok "$1: $2 self $got% (want $4 +-$5)"
	else
		not_ok "$1: $2 self $got% (want $4 +-$5)"
		diag_file "$3" 30
	fi
}
# record_ok DESC OUT ARGS...: run cprof record quietly; TAP failure + stderr on error.
record_ok() {
	local d=$1 out=$2
	shift 2
	if "$CPROF" record -q -o "$out" "$@" 2>"$T/record.err"; then
		return 0
	fi
	not_ok "$d: cprof record failed (exit $?)"
	diag_file "$T/record.err"
	return 1
}
# within VALUE EXPECTED TOL: |VALUE-EXPECTED| <= TOL (decimals allowed)
within() { awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(d <= t) }'; }
# report_tsv REPORTFILE: the table of a `cprof report --stdio` (any --sort
# keys) as tab-separated rows: self total samples comm pid tid function
# module (empty when the key was not shown).  Column positions come from
# the header line, so the key order does not matter.
report_tsv() {
	awk '
		/^# +Self%/ {
			n = 0
			for (i = 2; i <= NF; i++) h[++n] = $i
			nh = n
			next
		}
		/^#/ || nh == 0 || NF < nh { next }
		{
			delete v
			fi = 0
			for (i = 1; i <= nh; i++) if (h[i] == "Function") fi = i
			for (i = 1; i < fi; i++) v[h[i]] = $i
			fn = ""
			for (i = fi; i <= NF - (nh - fi); i++) fn = fn (i > fi ? " " : "") $i
			v["Function"] = fn
			v["Module"] = $NF
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v["Self%"], v["Total%"], v["Samples"],
				v["Command"], v["Pid"], v["Tid"], v["Function"], v["Module"]
		}' "$1"
}

# ---- flame graphs (cprof flame's SVG) ------------------------------------------
# flame_info SVG: one line per static frame, "y<TAB>title", after a first
# line "title<TAB>TEXT" (the graph's title); fails on malformed XML.
flame_info() {
	python3 - "$1" <<'EOF'
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
def text(e):
    return "".join(n.data for n in e.childNodes if n.nodeType == n.TEXT_NODE)
for t in doc.getElementsByTagName("text"):
    if t.getAttribute("id") == "title":
        print("title\t" + text(t))
for g in doc.getElementsByTagName("g"):
    if g.getAttribute("id") != "frames0":
        continue
    for f in g.childNodes:
        if f.nodeType != f.ELEMENT_NODE:
            continue
        r = f.getElementsByTagName("rect")[0]
        print(r.getAttribute("y") + "\t" + text(f.getElementsByTagName("title")[0]) +
              "\t" + r.getAttribute("fill"))
EOF
}
# flame_share NAME INFO: summed percentage of the frames named NAME
flame_share() {
	awk -F'\t' -v n="$1" '
		NR > 1 {
			t = $2
			if (index(t, n " (") != 1) next
			sub(/%\)$/, "", t)
			sub(/.*, /, "", t)
			s += t
		}
		END { printf "%.1f", s + 0 }' "$2"
}
