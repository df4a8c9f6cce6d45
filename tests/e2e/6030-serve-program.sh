#!/usr/bin/env bash
# cprof serve -- command: the server runs a program with the heap
# interposer (sampled) and serves its heap (Go's heap and allocs), a heap
# flame graph and its CPU profile, read with go tool pprof; it passes
# signals on, exits with the program's status, and when it is killed the
# program runs on untouched.  Run as an ordinary user, as a developer
# would (no token on loopback).
. "$(dirname "$0")/lib.sh"
skip_unless_perf "cprof serve -- command" || exit 0
cd "$T" || exit 1
chmod 755 "$T"
mkdir u && chown 65534:65534 u
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
export GOCACHE=$T/gocache GOPATH=$T/gopath
SVC=$FIXTURES/heap_service

"${NOBODY[@]}" env HOME="$T/u" "$CPROF" serve -l 127.0.0.1:0 --heap-sample 64K -- \
	"$SVC" "$T/u/stop" 3 2>serve.err &
srv=$!
trap 'kill $srv $(jobs -p) 2>/dev/null; pkill -f "$T/u/" 2>/dev/null; rm -rf "$T"' EXIT
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
wait_until 10 port || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT
app=$(sed -n 's|.* as process \([0-9]*\) .*|\1|p' serve.err)
[ -n "$app" ] && [ "$(stat -c %u /proc/$app)" = 65534 ] && ok "the program runs as process $app" ||
	not_ok "no program process" "$(cat serve.err)"

# once the program churns, its live set is complete
churning() {
	curl -sf -o h.pb.gz "$U/debug/pprof/heap" && go tool pprof -raw h.pb.gz 2>/dev/null | grep -q churn_three
}
wait_until 20 churning || not_ok "the heap profile never showed churn_three" "$(cat serve.err)"

# heap: in use 48 MiB in hold_big, 16 MiB in hold_small (75/25)
go tool pprof -top -sample_index=inuse_space "$U/debug/pprof/heap" >heap.txt 2>&1
pct() { awk -v f="$2" '$NF == f { sub("%", "", $2); print $2; exit }' "$1"; }
big=$(pct heap.txt hold_big) small=$(pct heap.txt hold_small)
if grep -q '^Type: inuse_space' heap.txt && within "${big:-0}" 75 5 && within "${small:-0}" 25 5; then
	ok "go tool pprof URL/debug/pprof/heap: inuse_space hold_big $big%, hold_small $small%"
else not_ok "heap: hold_big '$big', hold_small '$small'" "$(head -16 heap.txt)"; fi
tot=$(sed -n 's/.*Total samples = \([0-9.]*\)MB.*/\1/p' heap.txt)
within "${tot:-0}" 64 3.2 && ok "heap: $tot MB in use (64 MiB, within 5%)" ||
	not_ok "heap: in use '$tot' MB" "$(head -9 heap.txt)"

# allocs: the same profile, alloc_space first; churn_three allocates 3x churn_one
go tool pprof -top -cum "$U/debug/pprof/allocs" >allocs.txt 2>&1
cum() { awk -v f="$2" '$NF == f { v = $4; u = v; sub(/[kMG]?B$/, "", v); m = u ~ /GB$/ ? 1024 : u ~ /MB$/ ? 1 : u ~ /kB$/ ? 1 / 1024 : 1 / 1048576; print v * m; exit }' "$1"; }
three=$(cum allocs.txt churn_three) one=$(cum allocs.txt churn_one)
share=$(awk -v a="${three:-0}" -v b="${one:-0}" 'BEGIN { if (a + b > 0) printf "%.1f", 100 * a / (a + b); else print 0 }')
if grep -q '^Type: alloc_space' allocs.txt && within "$share" 75 5; then
	ok "go tool pprof URL/debug/pprof/allocs: alloc_space by default, churn_three $share% of the churn"
else not_ok "allocs: churn_three share '$share'" "$(head -16 allocs.txt)"; fi
curl -s -D hdr -o /dev/null "$U/debug/pprof/allocs"
grep -qi '^Content-Disposition: attachment; filename="allocs"' hdr &&
	ok "allocs: Go's Content-Disposition" || not_ok "allocs headers" "$(cat hdr)"

# Parca's and Alloy's memory scrapes: /debug/pprof/allocs at the root, their headers
c1=$(curl -s -o parca.pb.gz -w '%{http_code}' -m 15 -H 'User-Agent: parca/v0.22.0' -H 'Accept: */*' \
	-H 'X-Prometheus-Scrape-Timeout-Seconds: 10' "$U/debug/pprof/allocs")
c2=$(curl -s -o alloy.pb.gz -w '%{http_code}' -m 15 -H 'User-Agent: Alloy/v1.4.2' \
	-H 'X-Prometheus-Scrape-Timeout-Seconds: 10' "$U/debug/pprof/allocs")
go tool pprof -top parca.pb.gz >parca.txt 2>&1
go tool pprof -top -sample_index=inuse_space alloy.pb.gz >alloy.txt 2>&1
if [ "$c1" = 200 ] && [ "$c2" = 200 ] && grep -q '^Type: alloc_space' parca.txt &&
	grep -q 'hold_big' alloy.txt; then
	ok "Parca- and Alloy-shaped scrapes of /debug/pprof/allocs read by go tool pprof"
else not_ok "memory scrapes: $c1 $c2" "$(head -12 parca.txt)"; fi

# heap?seconds=1: Go's delta profile: the churn, none of the live set made before
go tool pprof -top -sample_index=alloc_space "$U/debug/pprof/heap?seconds=1" >delta.txt 2>&1
if grep -q 'churn' delta.txt && ! grep -q 'hold_' delta.txt && grep -q '^Duration: 1' delta.txt; then
	ok "heap?seconds=1: a one-second delta with the churn and no live set"
else not_ok "heap?seconds=1" "$(head -16 delta.txt)"; fi

# the heap flame graph, by default in use, sample_type for the others
c=$(curl -s -o h.svg -w '%{http_code} %{content_type}' "$U/debug/pprof/heap/flamegraph")
c2=$(curl -s -o a.svg -w '%{http_code}' "$U/debug/pprof/heap/flamegraph?sample_type=alloc_space&width=1600")
if [ "$c" = "200 image/svg+xml" ] && grep -q hold_big h.svg && ! grep -q churn_three h.svg &&
	[ "$c2" = 200 ] && grep -q churn_three a.svg; then
	ok "heap/flamegraph: in use (hold_big), sample_type=alloc_space (churn_three)"
else not_ok "heap/flamegraph: $c, $c2"; fi

# CPU: no pid= means the program; churn_three burns 3x churn_one
go tool pprof -top "$U/debug/pprof/profile?seconds=2&frequency=499" >cpu.txt 2>&1
c3=$(pct cpu.txt churn_three) c1=$(pct cpu.txt churn_one)
if within "${c3:-0}" 75 5 && within "${c1:-0}" 25 5; then
	ok "profile?seconds=2 without pid: the program, churn_three $c3%, churn_one $c1%"
else not_ok "CPU profile of the program: churn_three '$c3', churn_one '$c1'" "$(head -16 cpu.txt)"; fi
curl -s "$U/debug/pprof/" >index.html
grep -q 'href="heap"' index.html && grep -q 'href="allocs"' index.html &&
	ok "the index lists heap and allocs" || not_ok "index" "$(cat index.html)"

# Go's symbol endpoint, which go tool pprof asks about locations no symbol
# names (a stripped library's): nothing more to name, and no error
g=$(curl -s "$U/debug/pprof/symbol")
p=$(curl -s -o sym.out -w '%{http_code}' --data-binary '0x7f0012345678+0x401000' "$U/debug/pprof/symbol")
if [ "$g" = "num_symbols: 1" ] && [ "$p" = 200 ] && [ ! -s sym.out ]; then
	ok "/debug/pprof/symbol: GET num_symbols, POST answers and names nothing more"
else not_ok "symbol: GET '$g', POST $p" "$(head -c 200 sym.out)"; fi

# bad input: 4xx with one line, the server keeps serving
bad() { # WANT URL GREP
	local c
	c=$(curl -s -o out -w '%{http_code}' "$U$2")
	[ "$c" = "$1" ] && grep -q -- "$3" out && return 0
	echo "# $2: $c $(head -c 300 out)"
	return 1
}
n=0
bad 400 '/debug/pprof/heap?debug=1' 'protobuf only' || n=$((n + 1))
bad 400 '/debug/pprof/allocs?seconds=301' 'exceeds' || n=$((n + 1))
bad 400 '/debug/pprof/heap?seconds=x' 'seconds' || n=$((n + 1))
bad 400 '/debug/pprof/heap/flamegraph?sample_type=peak_space' 'sample_type' || n=$((n + 1))
bad 404 '/t/web/debug/pprof/heap' 'cprof serve -- command' || n=$((n + 1))
c=$(curl -s -o out -w '%{http_code}' --data-binary 'main' "$U/debug/pprof/symbol")
[ "$c" = 400 ] && grep -q 'hexadecimal' out || { n=$((n + 1)); echo "# symbol POST main: $c"; }
c=$(curl -s -o /dev/null -w '%{http_code}' "$U/health")
[ $n = 0 ] && [ "$c" = 200 ] && ok "bad heap queries: 4xx naming the parameter; /health 200" ||
	not_ok "bad heap queries: $n wrong, health $c"

# the program ends: the server stops with its status
touch u/stop
wait $srv
rc=$?
[ $rc = 3 ] && grep -q "process $app exited (status 3)" serve.err &&
	ok "the program exits 3: cprof serve exits 3" || not_ok "exit: $rc" "$(cat serve.err)"

# kill(1) of the server goes on to the program; SIGKILL leaves it running
rm -f u/stop
"$CPROF" serve -l 127.0.0.1:0 --token-file /dev/null -- "$SVC" "$T/u/stop" 2>k.err &
srv=$!
wait $srv
[ $? = 2 ] && grep -q 'token_file /dev/null' k.err && [ -z "$(pgrep -f "$T/u/stop")" ] &&
	ok "a server that cannot start never runs the program" ||
	not_ok "bad token file: program started or wrong error" "$(cat k.err)"
"${NOBODY[@]}" "$CPROF" serve -l 127.0.0.1:0 -- "$SVC" "$T/u/stop" 2>t.err &
srv=$!
started() { grep -q ' as process ' t.err; }
wait_until 10 started
app=$(sed -n 's|.* as process \([0-9]*\) .*|\1|p' t.err)
kill -TERM $srv
wait $srv
rc=$?
[ $rc = 143 ] && ! kill -0 "$app" 2>/dev/null && ok "SIGTERM to cprof serve: passed on, exit 143" ||
	not_ok "SIGTERM: exit $rc" "$(cat t.err)"
"${NOBODY[@]}" "$CPROF" serve -l 127.0.0.1:0 -- "$SVC" "$T/u/stop" 5 2>s.err &
srv=$!
started() { grep -q ' as process ' s.err; }
wait_until 10 started
app=$(sed -n 's|.* as process \([0-9]*\) .*|\1|p' s.err)
kill -KILL $srv
wait $srv 2>/dev/null
gone() { # exited (reaped, or a zombie of a parent that does not reap)
	local s
	s=$(awk '{ print $3 }' "/proc/$app/stat" 2>/dev/null)
	[ -z "$s" ] || [ "$s" = Z ]
}
state=$(awk '{ print $3 }' "/proc/$app/stat" 2>/dev/null)
touch u/stop
if [ "$state" = R ] || [ "$state" = S ]; then
	wait_until 10 gone && ok "SIGKILL of cprof serve: the program ran on ($state) and ended by itself" ||
		not_ok "after SIGKILL the program did not end when asked"
else not_ok "after SIGKILL of the server the program is '$state'"; fi

# what cannot run is said in one line
"$CPROF" serve -l 127.0.0.1:0 -- "$T/nope" 2>e1.err
rc1=$?
"$CPROF" serve -l 127.0.0.1:0 -- "$FIXTURES/alloc_static" 2>e2.err
rc2=$?
"$CPROF" serve --heap-sample 64K 2>e3.err
rc3=$?
"$CPROF" serve --heap-sample 2X -- "$SVC" "$T/u/stop" 2>e4.err
rc4=$?
if [ $rc1 = 127 ] && [ "$(wc -l <e1.err)" = 1 ] && grep -q "cannot run" e1.err &&
	[ $rc2 = 1 ] && grep -q 'statically linked' e2.err; then
	ok "no such program: 127; a static one: 1, each in one line"
else not_ok "bad programs: $rc1 $rc2" "$(cat e1.err e2.err)"; fi
if [ $rc3 = 2 ] && grep -q 'goes with a command' e3.err && [ $rc4 = 2 ] &&
	grep -q "'2X' is not a size" e4.err; then
	ok "--heap-sample without a command, or not a size: usage errors (2)"
else not_ok "--heap-sample errors: $rc3 $rc4" "$(head -1 e3.err; head -1 e4.err)"; fi
