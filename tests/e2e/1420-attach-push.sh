#!/usr/bin/env bash
# attach --every --push: each period lands in a cprof serve --data store
# (listed, its flame graph right, the range merged for go tool pprof);
# with the server away for three periods every period still arrives once
# it is back; the spool never holds more than --spool-max.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "attach --push" || exit 0
cd "$T" || exit 1
export GOCACHE=$T/gocache GOPATH=$T/gopath
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
H=(-H "Authorization: Bearer $(cat tok)")
"$FIXTURES/cpu_split_fp" 1000000 >/dev/null &
app=$!
srv=
trap 'kill $app $srv $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
serve() { # PORT: the server on the store in $T/store
	: >serve.err
	"$CPROF" serve -l "127.0.0.1:$1" --token-file tok --data "$T/store" 2>serve.err &
	srv=$!
	wait_until 10 port
}
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
serve 0 || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
A=http://127.0.0.1:$PORT/api/v1
rows() { curl -s "${H[@]}" "$A/profiles?service=$1&limit=10000"; }

"$CPROF" attach -q -p $app -d 5 --every 1s --push "http://127.0.0.1:$PORT" --service web \
	--labels env=test --push-token-file tok --spool-dir "$T/spool" 2>attach.err
rc=$?
rows web >rows.json
python3 - rows.json >ids.txt <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1]))["profiles"]:
    if p["samples"] >= 800 and p["labels"] == "env=test":  # whole 1 s periods at 999 Hz
        print(p["id"])
EOF
n=$(wc -l <ids.txt)
[ $rc = 0 ] && [ "$n" -ge 5 ] && ok "attach -d 5 --every 1s --push: $n whole periods stored for service web" ||
	not_ok "push: exit $rc, $n whole periods" "$(cat attach.err)"
bad=""
while read -r id; do
	curl -s -o f.svg "${H[@]}" "$A/profiles/$id/flame.svg"
	s=$(flame_info f.svg 2>/dev/null >f.info && flame_share hot_sixty f.info)
	within "${s:-0}" 60 5 || bad="$bad $id:${s:-?}"
done <ids.txt
[ -z "$bad" ] && ok "each period's flame.svg well-formed, hot_sixty 60 +-5" || not_ok "flame.svg:$bad"
curl -s -o merged.pb.gz "${H[@]}" "$A/merge?service=web&from=-1h&until=now"
go tool pprof -top merged.pb.gz >top.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' top.txt)
within "${s:-0}" 60 5 && ok "merge of the range: go tool pprof -top, hot_sixty $s%" ||
	not_ok "merge: hot_sixty '$s'" "$(head -12 top.txt)"

# the server away for three periods: they wait in the spool and arrive
kill $srv
wait $srv 2>/dev/null
"$CPROF" attach -q -p $app -d 6 --every 1s --push "http://127.0.0.1:$PORT" --service away \
	--push-token-file tok --spool-dir "$T/spool2" 2>away.err &
att=$!
spooled() { [ "$(find "$T/spool2" -name '[0-9]*.pb.gz' 2>/dev/null | wc -l)" -ge 3 ]; }
wait_until 15 spooled
waiting=$(find "$T/spool2" -name '[0-9]*.pb.gz' | wc -l)
serve "$PORT" || not_ok "server did not come back on port $PORT" "$(cat serve.err)"
wait $att
rc=$?
n=$(rows away | grep -o '"id":' | wc -l)
left=$(find "$T/spool2" -name '[0-9]*.pb.gz' | wc -l)
[ $rc = 0 ] && [ "$waiting" -ge 3 ] && [ "$n" -ge 6 ] && [ "$left" = 0 ] &&
	ok "server away for $waiting periods: all $n arrived once it was back, spool empty" ||
	not_ok "outage: exit $rc, $waiting spooled, $n stored, $left left" "$(cat away.err)"

# a spool limit of 8K while no server listens: never more than 8K spooled
kill $srv
wait $srv 2>/dev/null
"$CPROF" attach -q -p $app -d 3 --every 100ms --push "http://127.0.0.1:$PORT" --service lim \
	--spool-dir "$T/spool3" --spool-max 8K 2>lim.err &
att=$!
max=0
while kill -0 $att 2>/dev/null; do
	b=$(find "$T/spool3" -name '[0-9]*.pb.gz' -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	[ "$b" -gt "$max" ] && max=$b
	sleep 0.05
done
wait $att
files=$(find "$T/spool3" -name '[0-9]*.pb.gz' | wc -l)
if [ "$max" -le 8192 ] && [ "$files" -gt 0 ] && grep -q 'over the spool' lim.err; then
	ok "--spool-max 8K with no server: at most $max bytes spooled, the oldest dropped and said so"
else not_ok "spool limit: max $max bytes, $files files" "$(tail -3 lim.err)"; fi
