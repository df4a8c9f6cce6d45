#!/usr/bin/env bash
# Fleet control: cprof serve --control and cprof agent on this machine
# (several agents with different --hostname).  A request for two hosts
# profiles a cpu_split process on each (two stored profiles, hot_sixty
# 60 +-5); requests for a host merge while not handed out; stops
# (process and host level); a command forced out again runs once; the
# agent SIGKILLed mid-command 10 times: each command failed "agent
# restarted", none run twice, the target never left stopped; the server
# away for 5 s: the agent comes back and loses nothing; heap and unknown
# modes; tokens, bad requests, the rate limit and the audit table;
# --push pyroscope= against the store's Pyroscope ingest; the systemd
# unit through systemd-analyze verify.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "fleet control" || exit 0
cd "$T" || exit 1
export GOCACHE=$T/gocache GOPATH=$T/gopath
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
ADMIN=(-H "Authorization: Bearer $(cat tok)")
# requester tokens per phase: each stays within its burst of 10 (the rate
# refills one a second), so no phase depends on how fast the last one ran
for spec in agent:web:agent requester:web:req requester:web:kill requester:web:late \
	requester:db:dbreq requester:web:burst; do
	IFS=: read -r role svc file <<<"$spec"
	"$CPROF" serve --data store token create --service "$svc" --role "$role" >"$file.tok" 2>/dev/null ||
		{ not_ok "token create failed"; exit 0; }
done
REQ=(-H "Authorization: Bearer $(cat req.tok)")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
U=http://127.0.0.1:$PORT
M=$U/api/metrics
srv=
apps=
agents=
trap 'kill $srv $apps $agents $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
up() { curl -s -m 1 "$U/health" | grep -q ok; }
start_server() {
	"$CPROF" serve -l 127.0.0.1:$PORT --token-file tok --data store --control 2>>serve.err &
	srv=$!
	wait_until 10 up
}
start_server || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
start_agent() { # HOST HEARTBEAT [more options]: sets agent
	"$CPROF" agent --server "$U" --service web --token-file agent.tok --hostname "$1" \
		--heartbeat "$2" --state-dir "st-$1" "${@:3}" 2>>"agent-$1.log" &
	agent=$!
	agents="$agents $agent"
}
req() { curl -s "${REQ[@]}" -d "$1" "$M/profile_request"; }
cmds() { curl -s "${REQ[@]}" "$M/commands?service=web&limit=1000" >cmds.json; }
# FIELD of command ID, from the last cmds
field() { python3 -c 'import json, sys
c = {x["command_id"]: x for x in json.load(open("cmds.json"))["commands"]}
print(c[sys.argv[1]][sys.argv[2]] if sys.argv[1] in c else "")' "$1" "$2"; }
state_is() { cmds && [ "$(field "$1" state)" = "$2" ]; }
idof() { sed -n "s/.*\"$1\":\"\\([0-9a-f-]*\\)\".*/\\1/p"; }
seen() { curl -s "${REQ[@]}" "$M/agents?service=web" | grep -q "\"hostname\":\"$1\""; }
top_share() { # STORED_ID FUNCTION [sample_index]: self %, or with a sample index cumulative %
	curl -s -o "p-$1.pb.gz" "${ADMIN[@]}" "$U/api/v1/profiles/$1/profile.pb.gz"
	go tool pprof ${3:+-sample_index=$3} -top "p-$1.pb.gz" 2>/dev/null |
		awk -v f="$2" -v c="${3:+5}" '$6 == f || $NF == f { v = $(c ? c : 2); sub("%", "", v); print v; exit }'
}

# ---- two hosts, one request -------------------------------------------------------
"$FIXTURES/cpu_split_fp" 100000000 >/dev/null &
app1=$!
"$FIXTURES/cpu_split_fp" 100000000 >/dev/null &
app2=$!
apps="$app1 $app2"
start_agent web-01 0.5s
a1=$agent
start_agent web-02 0.5s
a2=$agent
wait_until 10 seen web-01 && wait_until 10 seen web-02 || not_ok "agents never heartbeat" "$(cat agent-*.log)"
curl -s "${REQ[@]}" "$M/agents?service=web" | grep -q '"hostname":"web-01","ip_address":"127.0.0.1","status":"idle"' &&
	ok "agents listed with the address their heartbeats came from and their status" ||
	not_ok "agents list" "$(curl -s "${REQ[@]}" "$M/agents?service=web")"
r=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":3,\"frequency\":499,\"profiling_mode\":\"cpu\",\"target_hosts\":{\"web-01\":[$app1],\"web-02\":[$app2]}}")
c1=$(echo "$r" | python3 -c 'import json, sys; print(json.load(sys.stdin)["command_ids"]["web-01"])' 2>/dev/null)
c2=$(echo "$r" | python3 -c 'import json, sys; print(json.load(sys.stdin)["command_ids"]["web-02"])' 2>/dev/null)
if [ -n "$c1" ] && [ -n "$c2" ] && wait_until 30 state_is "$c1" completed && wait_until 30 state_is "$c2" completed; then
	s1=$(top_share "$(field "$c1" results_path)" hot_sixty)
	s2=$(top_share "$(field "$c2" results_path)" hot_sixty)
	within "${s1:-0}" 60 5 && within "${s2:-0}" 60 5 &&
		ok "a request for two hosts: two completions, two stored profiles, hot_sixty $s1% and $s2%" ||
		not_ok "two hosts: hot_sixty '$s1' '$s2'"
else
	cmds
	not_ok "two hosts: commands '$c1' '$c2' never completed" "$r" "$(cat cmds.json | head -c 600)" "$(tail -3 agent-web-01.log)"
fi

# ---- merging and stops (a host that heartbeats by hand) -----------------------------------
hb() { curl -s "${ADMIN[@]}" -d "{\"service_name\":\"web\",\"hostname\":\"$1\",\"last_command_id\":\"${2:-}\"}" "$M/heartbeat"; }
hb merge-01 >/dev/null
m1=$(req '{"service_name":"web","command_type":"start","duration":10,"frequency":11,"target_hostnames":["merge-01"],"pids":[101,102]}' | idof command_id)
m2=$(req '{"service_name":"web","command_type":"start","duration":20,"frequency":99,"target_hostnames":["merge-01"],"pids":[102,103]}' | idof command_id)
cmds
got="$(field "$m1" duration)/$(field "$m1" frequency)/$(field "$m1" pids)"
req '{"service_name":"web","command_type":"stop","stop_level":"process","target_hostnames":["merge-01"],"pids":[102]}' >/dev/null
cmds
after=$(field "$m1" pids)
h=$(hb merge-01)
[ -n "$m1" ] && [ "$m1" = "$m2" ] && [ "$got" = "20/99/101,102,103" ] && [ "$after" = "101,103" ] &&
	echo "$h" | grep -q "\"pids\":\[101,103\]" &&
	ok "two starts before a heartbeat: one command (20 s, 99 Hz, pids 101,102,103); a process stop leaves 101,103" ||
	not_ok "merging: '$m1' '$m2' '$got' '$after'" "$h"

# a host-level stop ends a running profiler within a heartbeat interval
s1=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":60,\"frequency\":99,\"target_hostnames\":[\"web-01\"],\"pids\":[$app1]}" | idof command_id)
if wait_until 20 state_is "$s1" running; then
	t0=$(date +%s%N)
	req '{"service_name":"web","command_type":"stop","stop_level":"host","target_hostnames":["web-01"]}' >/dev/null
	if wait_until 20 state_is "$s1" completed; then
		until_ns=$(curl -s "${ADMIN[@]}" "$U/api/v1/profiles/$(field "$s1" results_path)" | sed -n 's/.*"until_ns":\([0-9]*\).*/\1/p')
		lag=$(awk -v a="$until_ns" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e9 }')
		awk -v l="$lag" 'BEGIN { exit !(l < 1.5) }' &&
			ok "host-level stop: the 60 s profiler ended ${lag} s after the request (heartbeat 0.5 s), its profile stored" ||
			not_ok "host stop: sampling went on ${lag} s after the stop"
	else not_ok "host stop: $s1 never completed" "$(head -c 600 cmds.json)"; fi
else not_ok "host stop: $s1 never ran" "$(head -c 600 cmds.json)"; fi

# ---- once only ----------------------------------------------------------------------
# the first command handed out again (as a broken server could): acknowledged, not run
python3 - "$c1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("store/index.sqlite", timeout=10)
db.execute("UPDATE cprof_commands SET state = 'sent' WHERE command_id = ?", (sys.argv[1],))
db.commit()
PY
wait_until 10 state_is "$c1" running
n=$(curl -s "${ADMIN[@]}" "$U/api/v1/profiles?service=web&labels=command_id%3D$c1" | grep -o '"id":' | wc -l)
r=$(grep -c "^R $c1\$" st-web-01/journal)
[ "$n" = 1 ] && [ "$r" = 1 ] && ok "a command delivered again: acknowledged, run once (1 profile, 1 journal entry)" ||
	not_ok "redelivery: $n profiles, $r runs"

# SIGKILL mid-command, 10 times
REQ=(-H "Authorization: Bearer $(cat kill.tok)")
kill $a1
start_agent kill-01 0.2s
k=$agent
wait_until 10 seen kill-01
bad=
ids=
for i in $(seq 10); do
	id=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":30,\"frequency\":99,\"target_hostnames\":[\"kill-01\"],\"pids\":[$app1]}" | idof command_id)
	ids="$ids $id"
	wait_until 20 state_is "$id" running || bad="$bad $i:never-ran"
	kill -9 $k
	wait $k 2>/dev/null
	st=$(awk '/^State:/ { print $2 }' /proc/$app1/status)
	[ "$st" = R ] || [ "$st" = S ] || bad="$bad $i:target-$st"
	start_agent kill-01 0.2s
	k=$agent
	wait_until 20 state_is "$id" failed || bad="$bad $i:not-failed"
	[ "$(field "$id" error_message)" = "agent restarted" ] || bad="$bad $i:'$(field "$id" error_message)'"
done
runs=0
for id in $ids; do runs=$((runs + $(grep -c "^R $id\$" st-kill-01/journal))); done
nk=$(curl -s "${ADMIN[@]}" "$U/api/v1/profiles?service=web&labels=host%3Dkill-01" | grep -o '"id":' | wc -l)
[ -z "$bad" ] && [ "$runs" = 10 ] && [ "$nk" = 0 ] &&
	ok "SIGKILL mid-command 10 times: each command failed 'agent restarted', 10 runs for 10 commands, the target running" ||
	not_ok "kill cycles:$bad; $runs runs, $nk profiles"

# ---- the server away for 5 s --------------------------------------------------------------
REQ=(-H "Authorization: Bearer $(cat late.tok)")
w=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":1,\"frequency\":99,\"target_hostnames\":[\"web-02\"],\"pids\":[$app2]}" | idof command_id)
kill $srv
wait $srv
sleep 5 # the outage itself
start_server || not_ok "server did not restart" "$(tail -3 serve.err)"
back=$(date +%s%N)
w2=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":1,\"frequency\":99,\"target_hostnames\":[\"web-02\"],\"pids\":[$app2]}" | idof command_id)
if wait_until 30 state_is "$w2" completed && state_is "$w" completed; then
	sent=$(field "$w2" sent_ns)
	lag=$(awk -v a="$sent" -v b="$back" 'BEGIN { printf "%.2f", (a - b) / 1e9 }')
	# the cap is 4 heartbeat intervals (2 s) plus the request's own time
	awk -v l="$lag" 'BEGIN { exit !(l < 3) }' &&
		ok "server away 5 s: the agent back ${lag} s after its return (cap 2 s), both commands completed" ||
		not_ok "server away: the agent took ${lag} s to come back"
else
	not_ok "server away: '$w' $(field "$w" state), '$w2' $(field "$w2" state)" "$(tail -3 agent-web-02.log)"
fi

# ---- modes --------------------------------------------------------------------------------
touch stop-heap
rm stop-heap
"$FIXTURES/heap_service" "$T/stop-heap" >/dev/null &
hs=$!
apps="$apps $hs"
hid=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":3,\"frequency\":1,\"profiling_mode\":\"heap\",\"target_hostnames\":[\"web-02\"],\"pids\":[$hs]}" | idof command_id)
# (to another host: a start replaces what runs)
uid=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":3,\"profiling_mode\":\"wall\",\"target_hostnames\":[\"kill-01\"]}" | idof command_id)
if wait_until 40 state_is "$hid" completed && wait_until 20 state_is "$uid" failed; then
	s=$(top_share "$(field "$hid" results_path)" churn_three alloc_space)
	msg=$(field "$uid" error_message)
	within "${s:-0}" 75 8 && [ "$msg" = "unknown profiling mode 'wall' (there are cpu and heap)" ] &&
		ok "heap mode (cprof heap -p): churn_three ${s}% of alloc_space (75); an unknown mode fails: $msg" ||
		not_ok "modes: heap '$s', unknown '$msg'"
else not_ok "modes: heap $(field "$hid" state) $(field "$hid" error_message), unknown $(field "$uid" state)"; fi
touch stop-heap
# cpu without pids: the whole host (perf -a), both cpu_split processes in it
wid=$(req '{"service_name":"web","command_type":"start","duration":2,"frequency":99,"target_hostnames":["web-02"]}' | idof command_id)
if wait_until 30 state_is "$wid" completed; then
	s=$(top_share "$(field "$wid" results_path)" hot_sixty)
	np=$(go tool pprof -raw "p-$(field "$wid" results_path).pb.gz" 2>/dev/null | grep -c 'cpu_split_fp')
	awk -v s="${s:-0}" 'BEGIN { exit !(s >= 25) }' && [ "$np" -ge 1 ] &&
		ok "cpu without pids profiles the whole host: hot_sixty ${s}% of every process's samples" ||
		not_ok "whole host: hot_sixty '$s', cpu_split mappings $np"
else not_ok "whole host: $(field "$wid" state) $(field "$wid" error_message)"; fi

# ---- tokens, bad requests, rate, audit ---------------------------------------------------
code() { curl -s -o out -w '%{http_code}' "$@"; }
good='{"service_name":"web","command_type":"start","duration":5,"target_hostnames":["merge-01"]}'
e=
[ "$(code -d "$good" "$M/profile_request")" = 401 ] || e="$e no-token"
[ "$(code -H 'Authorization: Bearer cprof_000000000000_00' -d "$good" "$M/profile_request")" = 401 ] || e="$e bad-token"
[ "$(code -H "Authorization: Bearer $(cat dbreq.tok)" -d "$good" "$M/profile_request")" = 403 ] || e="$e other-service"
[ "$(code -H "Authorization: Bearer $(cat agent.tok)" -d "$good" "$M/profile_request")" = 403 ] || e="$e agent-role"
[ "$(code "${REQ[@]}" -d '{"service_name":"web",' "$M/profile_request")" = 400 ] || e="$e malformed"
[ "$(code "${REQ[@]}" -d '{"service_name":"web","command_type":"restart","target_hostnames":["merge-01"]}' "$M/profile_request")" = 400 ] || e="$e command_type"
[ "$(code "${REQ[@]}" -d '{"service_name":"web","command_type":"start","duration":100000,"target_hostnames":["merge-01"]}' "$M/profile_request")" = 400 ] || e="$e duration"
[ "$(code "${REQ[@]}" -d '{"service_name":"web","command_type":"start","target_hostnames":["nowhere-9"]}' "$M/profile_request")" = 404 ] || e="$e unknown-host"
grep -q nowhere-9 out || e="$e unknown-host-message"
BURST=(-H "Authorization: Bearer $(cat burst.tok)")
codes=$(for i in $(seq 12); do code "${BURST[@]}" -d "$good" "$M/profile_request"; echo; done | sort | uniq -c | tr -s ' ' | tr '\n' ,)
burst_id=$(awk '{ print $1 }' burst.tok | sed 's/^cprof_\([0-9a-f]*\)_.*/\1/')
audit=$(python3 - "$burst_id" <<'PY'
import sqlite3, sys
db = sqlite3.connect("store/index.sqlite", timeout=10)
print(db.execute("SELECT count(*) FROM cprof_audit WHERE who = ? AND action = 'start' AND body LIKE '%merge-01%'", (sys.argv[1],)).fetchone()[0])
PY
)
[ -z "$e" ] && [ "$codes" = " 10 200, 2 429," ] && [ "$audit" = 10 ] &&
	ok "401 no or bad token, 403 other service or role, 400 bad JSON/type/duration, 404 unknown host; 12 at once: 10 x 200, 2 x 429; 10 audit rows" ||
	not_ok "errors:$e; burst '$codes'; audit $audit"

# ---- --push pyroscope= --------------------------------------------------------------------
# no Pyroscope server can run here: the store's Pyroscope-compatible
# /ingest (checked with the official client in 6040) stands in for it
mkdir -p u && chown 65534:65534 u && chmod 755 "$T"
PPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$CPROF" serve -l 127.0.0.1:$PPORT --data "$T/u/store" 2>pyro.err &
pyro=$!
apps="$apps $pyro"
pup() { curl -s -m 1 "http://127.0.0.1:$PPORT/health" | grep -q ok; }
wait_until 10 pup || not_ok "the stand-in did not start" "$(cat pyro.err)"
start_agent web-03 0.5s --push "pyroscope=http://127.0.0.1:$PPORT"
wait_until 10 seen web-03
p=$(req "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":2,\"frequency\":199,\"target_hostnames\":[\"web-03\"],\"pids\":[$app1]}" | idof command_id)
plist() { curl -s "http://127.0.0.1:$PPORT/api/v1/profiles?service=web&labels=command_id%3D$p" >plist.json; grep -q '"id":' plist.json; }
if wait_until 30 plist; then
	pid=$(idof id <plist.json | head -1)
	curl -s -o pyro.pb.gz "http://127.0.0.1:$PPORT/api/v1/profiles/$pid/profile.pb.gz"
	s=$(go tool pprof -top pyro.pb.gz 2>/dev/null | awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }')
	grep -q '"labels":"command_id='"$p"',host=web-03"' plist.json && within "${s:-0}" 60 5 &&
		ok "--push pyroscope=URL: the profile at the Pyroscope ingest as web.cpu{host=web-03,command_id=...}, hot_sixty $s%" ||
		not_ok "pyroscope push: '$s'" "$(head -c 400 plist.json)"
else not_ok "pyroscope push: nothing arrived" "$(tail -3 agent-web-03.log)"; fi

# ---- SIGTERM, the systemd unit -------------------------------------------------------------
kill -TERM $agent
wait $agent
rc=$?
[ $rc = 0 ] && ok "SIGTERM: the agent exits 0" || not_ok "SIGTERM: exit $rc"
sed "s|/usr/local/bin/cprof|$CPROF|" "$CPROF_TOP/contrib/cprof-agent.service" >cprof-agent.service
out=$(systemd-analyze verify --man=no ./cprof-agent.service 2>&1)
[ $? = 0 ] && [ -z "$out" ] && ok "contrib/cprof-agent.service passes systemd-analyze verify" ||
	not_ok "systemd-analyze verify" "$out"
