#!/usr/bin/env bash
# debuginfod: with DEBUGINFOD_URLS set, the debug files missing on this
# machine are fetched at the end of a recording.  A real debuginfod server
# serves the stripped fixture's detached debug file; everything runs in a
# private network namespace (only its loopback) and mount namespace (the
# local debug directory hidden), made and removed by this test.  Then a
# server that refuses and one that never answers: one notice, a bounded
# wait, the recording intact.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record with debuginfod" || exit 0
if [ "$(id -u)" != 0 ] || ! unshare -m -n true 2>/dev/null; then
	skip "debuginfod" "needs root and unshare(1) for a private network namespace"
	exit 0
fi
for c in debuginfod ip python3 objcopy; do
	command -v $c >/dev/null || { not_ok "$c is not installed (scripts/deps.sh check installs it)"; exit 0; }
done
mkdir -p "$T/srv"
objcopy --only-keep-debug "$FIXTURES/stripped.full" "$T/srv/stripped.debug"
bid=$(readelf -n "$FIXTURES/stripped" | awk '/Build ID/ { print $3 }')
hot=$(nm "$FIXTURES/stripped.full" | awk '$3 == "hidden_hot" { print $1 }' | sed 's/^0*//')

cat >"$T/inside.sh" <<'EOF'
# runs in the private namespaces: $1 = test dir, $2 = fixture, $3 = cprof, $4 = build-id
T=$1 F=$2 CPROF=$3 BID=$4
ip link set lo up || exit 3
# no local debug files (a fresh machine has no /usr/lib/debug at all)
[ ! -d /usr/lib/debug ] || mount -t tmpfs none /usr/lib/debug || exit 3
url_ok() {
	python3 -c "import urllib.request as u; u.urlopen('$1', timeout=2)" 2>/dev/null
}
wait_for() { # seconds, command...: poll until it succeeds
	local end=$((SECONDS + $1)); shift
	until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
debuginfod -F "$T/srv" -p 8002 -d "$T/db.sqlite" -t 0 -g 0 >"$T/server.log" 2>&1 &
srv=$!
trap 'kill $srv $slow 2>/dev/null; wait 2>/dev/null' EXIT
wait_for 30 url_ok "http://127.0.0.1:8002/buildid/$BID/debuginfo" || { echo "server not ready" >"$T/fail"; exit 3; }
DEBUGINFOD_URLS=http://127.0.0.1:8002 DEBUGINFOD_CACHE_PATH=$T/cache \
	"$CPROF" record -o "$T/served.data" -- "$F" 600 >/dev/null 2>"$T/served.err"
# a second recording finds the file in the client's cache: no server
kill $srv; wait $srv 2>/dev/null
DEBUGINFOD_URLS=http://127.0.0.1:8002 DEBUGINFOD_CACHE_PATH=$T/cache \
	"$CPROF" record -o "$T/cached.data" -- "$F" 300 >/dev/null 2>"$T/cached.err"
# nothing listens: refused at once
DEBUGINFOD_URLS=http://127.0.0.1:8009 DEBUGINFOD_CACHE_PATH=$T/cache-r \
	"$CPROF" record -o "$T/refused.data" -- "$F" 300 >/dev/null 2>"$T/refused.err"
# a server that accepts and never answers: the budget ends the wait
python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8003)); s.listen(16); open("'"$T"'/slow.ready", "w").close(); time.sleep(120)' &
slow=$!
wait_for 10 test -e "$T/slow.ready"
DEBUGINFOD_URLS=http://127.0.0.1:8003 DEBUGINFOD_CACHE_PATH=$T/cache-s \
	"$CPROF" record --debuginfod-timeout 2 -o "$T/slow.data" -- "$F" 300 >/dev/null 2>"$T/slow.err"
echo $? >"$T/slow.rc"
EOF
unshare -m -n bash "$T/inside.sh" "$T" "$FIXTURES/stripped" "$CPROF" "$bid"
rc=$?
if [ $rc != 0 ]; then
	not_ok "namespaces and server: exit $rc $(cat "$T/fail" 2>/dev/null)"
	diag_file "$T/server.log" 10
	exit 0
fi

"$CPROF" report --stdio -i "$T/served.data" >"$T/served.txt" 2>&1
expect_share "served debug file" hidden_hot "$T/served.txt" 60 5
[ "$(share_of "stripped+0x$hot" "$T/served.txt")" = 0 ] && ok "served: no stripped+0x$hot frame left" ||
	not_ok "served: stripped+0x$hot still there"
grep -q 'notice: debuginfod' "$T/served.err" && not_ok "served: a notice" "$(cat "$T/served.err")" ||
	ok "served: no debuginfod notice"
"$CPROF" report --stdio -i "$T/cached.data" >"$T/cached.txt" 2>&1
expect_share "from the client's cache, server gone" hidden_hot "$T/cached.txt" 60 5

for k in refused slow; do
	"$CPROF" report --stdio -i "$T/$k.data" >"$T/$k.txt" 2>&1
	n=$(grep -c 'notice: debuginfod' "$T/$k.err")
	if [ "$n" = 1 ] && [ "$(share_of "stripped+0x$hot" "$T/$k.txt")" != 0 ]; then
		ok "$k server: one notice, the recording keeps its unwind-table names"
	else
		not_ok "$k server: $n notices" "$(cat "$T/$k.err")" "$(sed -n 8,12p "$T/$k.txt")"
	fi
done
grep -q 'Connection refused' "$T/refused.err" && ok "refused: the notice says why" ||
	not_ok "refused: notice" "$(cat "$T/refused.err")"
[ "$(cat "$T/slow.rc")" = 0 ] && grep -q 'gave up after 2 s' "$T/slow.err" &&
	ok "never answering: gave up after the 2 s budget, exit 0" ||
	not_ok "never answering: exit $(cat "$T/slow.rc")" "$(cat "$T/slow.err")"
