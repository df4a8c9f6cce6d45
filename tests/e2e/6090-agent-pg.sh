#!/usr/bin/env bash
# Fleet control on PostgreSQL: two cprof serve --control replicas on one
# database (a real cluster made by initdb in a temporary directory, on
# loopback), 20 agents heartbeating to one replica or the other, requests
# made through both: every command executed exactly once (one journal
# entry, one stored profile, state completed).
. "$(dirname "$0")/lib.sh"
skip_unless_perf "fleet control on PostgreSQL" || exit 0
cd "$T" || exit 1
pids=
trap 'kill $pids $(jobs -p) 2>/dev/null; pg_stop; rm -rf "$T"' EXIT
pg_start -c max_connections=60 || { not_ok "fleet control on PostgreSQL: $PG_WHY"; exit 0; }
"$CPROF" serve --db "$DB" token create --service web --role agent >agent.tok 2>/dev/null &&
	"$CPROF" serve --db "$DB" token create --service web --role requester >req.tok 2>/dev/null ||
	{ not_ok "token create on the database failed"; exit 0; }
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
REQ=(-H "Authorization: Bearer $(cat req.tok)")
start() { # LOG: a replica; sets URL
	"$CPROF" serve -l 127.0.0.1:0 --token-file tok --db "$DB" --control 2>"$1" &
	pids="$pids $!"
	local i
	for i in $(seq 500); do grep -q listening "$1" && break; sleep 0.02; done
	URL=$(sed -n 's|.*listening on \(http://[^ ]*\).*|\1|p' "$1")
	[ -n "$URL" ]
}
start a.err || { not_ok "replica A did not start" "$(cat a.err)"; exit 0; }
A=$URL
start b.err || { not_ok "replica B did not start" "$(cat b.err)"; exit 0; }
B=$URL
"$FIXTURES/cpu_split_fp" 100000000 >/dev/null &
app=$!
pids="$pids $app"
for i in $(seq 20); do
	[ $((i % 2)) = 0 ] && s=$A || s=$B
	"$CPROF" agent --server "$s" --service web --token-file agent.tok --hostname "h$i" \
		--heartbeat 0.5s --state-dir "st-h$i" 2>"agent-h$i.log" &
	pids="$pids $!"
done
nseen() { curl -s "${REQ[@]}" "$A/api/metrics/agents?service=web" | grep -o '"hostname":' | wc -l; }
all_seen() { [ "$(nseen)" = 20 ]; }
wait_until 20 all_seen || not_ok "20 agents: $(nseen) seen" "$(tail -2 agent-h1.log)"
# one request per host, through A and B in turn, all at once
for i in $(seq 20); do
	[ $((i % 2)) = 0 ] && s=$B || s=$A
	curl -s "${REQ[@]}" -d "{\"service_name\":\"web\",\"command_type\":\"start\",\"duration\":1,\"frequency\":49,\"target_hostnames\":[\"h$i\"],\"pids\":[$app]}" \
		"$s/api/metrics/profile_request" >"req-$i.json" &
done
wait_reqs() { [ "$(cat req-*.json 2>/dev/null | grep -c '"success":true')" = 20 ]; }
wait_until 30 wait_reqs
ncompleted() { curl -s "${REQ[@]}" "$B/api/metrics/commands?service=web" >cmds.json; grep -o '"state":"completed"' cmds.json | wc -l; }
done20() { [ "$(ncompleted)" = 20 ]; }
if wait_until 60 done20; then
	bad=
	for i in $(seq 20); do
		id=$(sed -n 's/.*"command_id":"\([0-9a-f-]*\)".*/\1/p' "req-$i.json")
		runs=$(grep -c "^R $id\$" "st-h$i/journal")
		stored=$(curl -s -H "Authorization: Bearer $(cat tok)" "$A/api/v1/profiles?service=web&labels=command_id%3D$id" | grep -o '"id":' | wc -l)
		[ "$runs" = 1 ] && [ "$stored" = 1 ] || bad="$bad h$i:$runs/$stored"
	done
	[ -z "$bad" ] && ok "two replicas on PostgreSQL, 20 agents on either: 20 commands, each run once and stored once" ||
		not_ok "exactly once:$bad"
else
	not_ok "20 commands: $(ncompleted) completed" "$(head -c 800 cmds.json)" "$(tail -3 a.err b.err)"
fi
