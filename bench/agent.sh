#!/usr/bin/env bash
# agent.sh - `make bench`, fleet control (run.sh calls it):
#   heartbeats against SQLite, wrk 64 connections 10 s  bar >= 5000/s, 0 errors
#   1,000 simulated agents at a 1 s interval for 60 s    bar ~1000/s sustained, 0 errors
#   request -> profiling started on the agent (1 s heartbeat), 10 requests
#                                                      bar <= interval + 100 ms
#   the agent idle at a 30 s heartbeat over HTTPS for 90 s
#                                                      bar <= 0.1% of a core, <= 16 MiB RSS
#     (RSS counts the shared libraries' resident pages: capstone is
#     dlopen'ed by annotate only; libpq's libcrypto is most of the rest)
#   100 SIGKILL/restart cycles mid-command             bar 0 duplicate executions
#   the server away 60 s                              bar back within 4 heartbeats, no command lost
#   bench/agent.sh BUILD_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup agent "${1:-}"
echo "== fleet control: cprof serve --control, cprof agent"
command -v wrk >/dev/null || { echo "SKIP: agent: no wrk (make deps-bench installs it)"; exit 0; }
cd "$T" || exit 1
pids=
trap 'kill $pids $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
ulimit -n 8192 2>/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
"$CPROF" serve --data store token create --service web --role agent >agent.tok 2>/dev/null
"$CPROF" serve --data store token create --service web --role requester >req.tok 2>/dev/null
REQ=(-H "Authorization: Bearer $(cat req.tok)")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[server]\nlisten = 127.0.0.1:%s\ntoken_file = %s/tok\nmax_connections = 2048\n[store]\ndata_dir = %s/store\n[control]\nenabled = 1\nrequests_per_minute = 100000\nburst = 1000\n' \
	"$PORT" "$T" "$T" >serve.ini
U=http://127.0.0.1:$PORT
srv=
start_server() {
	"$CPROF" serve -c serve.ini "$@" 2>>serve.err &
	srv=$!
	pids="$pids $srv"
	for _ in $(seq 500); do curl -s -m 1 "$U/health" 2>/dev/null | grep -q ok && return 0; sleep 0.02; done
	return 1
}
start_server || { echo "FAIL: agent: the server did not start: $(tail -2 serve.err)"; exit 1; }

# ---- heartbeats -------------------------------------------------------------------------------
hb_lua() { # HOSTS DELAY_MS
	cat <<EOF
local n = 0
local hdr = { ["Authorization"] = "Bearer $(cat agent.tok)", ["Content-Type"] = "application/json" }
request = function()
  n = n + 1
  local body = string.format('{"service_name":"web","hostname":"sim-%d-%d","status":"idle"}', $1 > 0 and (n % $1) or n, 0)
  return wrk.format("POST", "/api/metrics/heartbeat", hdr, body)
end
EOF
	[ "$2" -gt 0 ] && echo "delay = function() return $2 end"
	cat <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("STATUS %d %d %d\n", summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end
EOF
}
hb_lua 1000 0 >hb.lua
wrk -t2 -c64 -d10s --latency -s hb.lua "$U" >wrk.out 2>&1
rps=$(awk '/^Requests\/sec:/ { print $2 }' wrk.out)
read -r _ nreq nerr nstatus < <(grep '^STATUS' wrk.out)
p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub("us", "", v); v /= 1000 } else if (v ~ /ms$/) sub("ms", "", v); else if (v ~ /s$/) { sub("s", "", v); v *= 1000 } print v }' wrk.out)
echo "agent  heartbeats against SQLite, wrk 64 connections 10 s: $(calc %.0f "${rps:-0}") per second, p99 ${p99:-?} ms, $((${nerr:-1} + ${nstatus:-1})) errors of ${nreq:-0} (bar >= 5000/s, 0 errors) $(verdict "${rps:-0} >= 5000 && ${nerr:-1} + ${nstatus:-1} == 0")"

# 1000 agents, one connection each, a heartbeat a second each
hb_lua 1000 1000 >sim.lua
wrk -t2 -c1000 -d60s --timeout 5s --latency -s sim.lua "$U" >sim.out 2>&1
srps=$(awk '/^Requests\/sec:/ { print $2 }' sim.out)
read -r _ sreq serr sstatus < <(grep '^STATUS' sim.out)
sp99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub("us", "", v); v /= 1000 } else if (v ~ /ms$/) sub("ms", "", v); else if (v ~ /s$/) { sub("s", "", v); v *= 1000 } print v }' sim.out)
echo "agent  1000 simulated agents at 1 s for 60 s: $(calc %.0f "${srps:-0}") heartbeats/s, p99 ${sp99:-?} ms, $((${serr:-1} + ${sstatus:-1})) errors of ${sreq:-0} (bar >= 950/s, 0 errors) $(verdict "${srps:-0} >= 950 && ${serr:-1} + ${sstatus:-1} == 0")"

# ---- request -> started -------------------------------------------------------------------------
"$FX/cpu_split_fp" 1000000000 >/dev/null &
app=$!
pids="$pids $app"
"$CPROF" agent --server "$U" --service web --token-file agent.tok --hostname lat-01 --heartbeat 1s \
	--state-dir st-lat 2>lat.log &
ag=$!
pids="$pids $ag"
seen() { curl -s "${REQ[@]}" "$U/api/metrics/agents?service=web" | grep -q '"hostname":"lat-01"'; }
for _ in $(seq 200); do seen && break; sleep 0.05; done
: >lat
for i in $(seq 10); do
	t0=$(now)
	id=$(curl -s "${REQ[@]}" -d "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":1,\"frequency\":99,\"target_hostnames\":[\"lat-01\"],\"pids\":[$app]}" \
		"$U/api/metrics/profile_request" | sed -n 's/.*"command_id":"\([0-9a-f-]*\)".*/\1/p')
	for _ in $(seq 600); do
		curl -s "${REQ[@]}" "$U/api/metrics/commands?service=web&limit=20" >c.json
		rp=$(python3 -c 'import json, sys
c = {x["command_id"]: x for x in json.load(open("c.json"))["commands"]}
print(c.get(sys.argv[1], {}).get("results_path", ""))' "$id")
		[ -n "$rp" ] && break
		sleep 0.05
	done
	from=$(curl -s -H "Authorization: Bearer $(cat tok)" "$U/api/v1/profiles/$rp" | sed -n 's/.*"from_ns":\([0-9]*\).*/\1/p')
	calc %.3f "${from:-0} / 1000000000 - $t0" >>lat
done
worst=$(sort -g lat | tail -1)
echo "agent  request -> profiling started (heartbeat 1 s): median $(calc %.3f "$(median <lat)") s, worst ${worst:-?} s of 10 (bar <= 1.1 s) $(verdict "${worst:-9} <= 1.1")"
kill $ag 2>/dev/null

# ---- idle over HTTPS -----------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
kill $srv
wait $srv 2>/dev/null
start_server --tls-cert cert.pem --tls-key key.pem || true
HU=https://127.0.0.1:$PORT
"$CPROF" agent --server "$HU" --ca cert.pem --service web --token-file agent.tok --hostname idle-01 \
	--heartbeat 30s --state-dir st-idle 2>idle.log &
ag=$!
pids="$pids $ag"
sleep 5 # start-up (first heartbeat), outside the measured window
tick() { awk '{ print $14 + $15 }' "/proc/$ag/stat"; }
c0=$(tick)
sleep 90 # the idle window: three heartbeats
c1=$(tick)
hz=$(getconf CLK_TCK)
cpu=$(calc %.3f "($c1 - $c0) / $hz / 90 * 100")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$ag/status")
beats=$(curl -s -k -H "Authorization: Bearer $(cat req.tok)" "$HU/api/metrics/agents?service=web" | grep -c idle-01)
echo "agent  idle at a 30 s heartbeat over HTTPS, 90 s: ${cpu}% of a core, RSS $(calc %.1f "$rss / 1024") MiB (bar <= 0.1%, <= 16 MiB) $(verdict "$cpu <= 0.1 && $rss <= 16384 && $beats >= 1")"
kill $ag 2>/dev/null
kill $srv
wait $srv 2>/dev/null
start_server || true

# ---- 100 SIGKILL cycles ------------------------------------------------------------------------
"$CPROF" agent --server "$U" --service web --token-file agent.tok --hostname kill-01 --heartbeat 0.2s \
	--state-dir st-kill 2>kill.log &
ag=$!
state() { # ID
	curl -s "${REQ[@]}" "$U/api/metrics/commands?service=web&limit=50" >k.json
	python3 -c 'import json, sys
c = {x["command_id"]: x for x in json.load(open("k.json"))["commands"]}
print(c.get(sys.argv[1], {}).get("state", ""))' "$1"
}
ids=
bad=0
for i in $(seq 100); do
	id=$(curl -s "${REQ[@]}" -d "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":30,\"frequency\":49,\"target_hostnames\":[\"kill-01\"],\"pids\":[$app]}" \
		"$U/api/metrics/profile_request" | sed -n 's/.*"command_id":"\([0-9a-f-]*\)".*/\1/p')
	ids="$ids $id"
	for _ in $(seq 200); do [ "$(state "$id")" = running ] && break; sleep 0.02; done
	kill -9 $ag
	wait $ag 2>/dev/null
	"$CPROF" agent --server "$U" --service web --token-file agent.tok --hostname kill-01 --heartbeat 0.2s \
		--state-dir st-kill 2>>kill.log &
	ag=$!
	for _ in $(seq 200); do [ "$(state "$id")" = failed ] && break; sleep 0.02; done
	[ "$(state "$id")" = failed ] || bad=$((bad + 1))
done
pids="$pids $ag"
dups=0
for id in $ids; do [ "$(grep -c "^R $id\$" st-kill/journal)" = 1 ] || dups=$((dups + 1)); done
echo "agent  100 SIGKILL/restart cycles mid-command: $dups duplicate executions, $bad commands not failed 'agent restarted' (bar 0) $(verdict "$dups == 0 && $bad == 0")"

# ---- the server away for 60 s ------------------------------------------------------------------
kill $ag 2>/dev/null
"$CPROF" agent --server "$U" --service web --token-file agent.tok --hostname away-01 --heartbeat 1s \
	--state-dir st-away 2>away.log &
ag=$!
pids="$pids $ag"
for _ in $(seq 200); do curl -s "${REQ[@]}" "$U/api/metrics/agents?service=web" | grep -q away-01 && break; sleep 0.05; done
w=$(curl -s "${REQ[@]}" -d "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":1,\"frequency\":99,\"target_hostnames\":[\"away-01\"],\"pids\":[$app]}" \
	"$U/api/metrics/profile_request" | sed -n 's/.*"command_id":"\([0-9a-f-]*\)".*/\1/p')
kill $srv
wait $srv 2>/dev/null
sleep 60 # the outage
start_server || true
back=$(now)
w2=$(curl -s "${REQ[@]}" -d "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":1,\"frequency\":99,\"target_hostnames\":[\"away-01\"],\"pids\":[$app]}" \
	"$U/api/metrics/profile_request" | sed -n 's/.*"command_id":"\([0-9a-f-]*\)".*/\1/p')
for _ in $(seq 600); do [ "$(state "$w2")" = completed ] && break; sleep 0.05; done
sent=$(python3 -c 'import json, sys
c = {x["command_id"]: x for x in json.load(open("k.json"))["commands"]}
print(c.get(sys.argv[1], {}).get("sent_ns", 0))' "$w2")
lag=$(calc %.2f "$sent / 1000000000 - $back")
st1=$(state "$w") st2=$(state "$w2")
echo "agent  server away 60 s: back $lag s after its return (cap 4 x 1 s), commands $st1 and $st2 (bar <= 4 s, both completed) $(verdict "$lag <= 4 && \"$st1\" == \"completed\" && \"$st2\" == \"completed\"")"
