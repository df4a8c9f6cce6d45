#!/usr/bin/env bash
# cprof serve on loopback, started and stopped here: go tool pprof reads
# /debug/pprof/profile; the sessions API; bad input answered 4xx while the
# server keeps serving.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "cprof serve" || exit 0

"$CPROF" serve --listen 127.0.0.1:0 --chunk-size 1024 2>"$T/serve.err" &
srv=$!
trap 'kill $srv 2>/dev/null; kill $(jobs -p) 2>/dev/null' EXIT
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/serve.err"); [ -n "$PORT" ]; }
wait_until 10 port || { not_ok "server did not start" "$(cat "$T/serve.err")"; exit 0; }
U=http://127.0.0.1:$PORT
"$FIXTURES/cpu_split_nofp" 100000 >/dev/null &
app=$!
# go tool pprof against the endpoint
export GOCACHE=$T/gocache GOPATH=$T/gopath
go tool pprof -top "$U/debug/pprof/profile?seconds=2&pid=$app" >"$T/top.txt" 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' "$T/top.txt")
first=$(awk '$NF ~ /^hot_/ { print $NF; exit }' "$T/top.txt")
if [ "$first" = hot_sixty ] && within "${s:-0}" 60 5; then ok "go tool pprof: hot_sixty first, $s%"; else
	not_ok "go tool pprof: first '$first', hot_sixty '$s'" "$(head -15 "$T/top.txt")"; fi
# Go's rules: too long is 400 with X-Go-Pprof; a second profile of one target is 500
code=$(curl -s -o /dev/null -D "$T/h" -w '%{http_code}' "$U/debug/pprof/profile?seconds=301&pid=$app")
if [ "$code" = 400 ] && grep -qi '^X-Go-Pprof: 1' "$T/h"; then ok "seconds over the maximum: 400, X-Go-Pprof"; else
	not_ok "seconds=301: $code"; fi
curl -s -o /dev/null "$U/debug/pprof/profile?seconds=2&pid=$app" &
first_req=$!
busy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/debug/pprof/profile?seconds=1&pid=$app")" = 500 ]; }
if wait_until 2 busy; then ok "a second profile of the same process: 500"; else not_ok "no 500 for a second profile"; fi
wait $first_req
# sessions
R=$(curl -s -XPOST "$U/api/v1/sessions" -d "{\"pid\":$app,\"duration\":1,\"frequency\":499}")
ID=$(printf '%s' "$R" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
[ -n "$ID" ] && ok "session created: $ID" || not_ok "session not created: $R"
done_() { curl -s "$U/api/v1/sessions/$ID" | grep -q '"state":"done"'; }
wait_until 10 done_ || not_ok "session did not finish"
curl -s --raw "$U/api/v1/sessions/$ID/folded" >"$T/raw.txt"
curl -s "$U/api/v1/sessions/$ID/folded" >"$T/folded.txt"
chunks=$(grep -c $'^[0-9a-f]*\r$' "$T/raw.txt")
if [ "$chunks" -ge 2 ] && grep -q 'hot_sixty' "$T/folded.txt"; then
	ok "folded result in $chunks chunks of at most 1024 bytes"; else
	not_ok "folded: $chunks chunks" "$(head -3 "$T/raw.txt")"; fi
# bad input: 4xx with a JSON message, the server still healthy
for body in '{"pid":1,"duration":0}' '{"pid":1,"duration":301}' '{"pid":1,"frequency":1001}' \
	'{"pid":1,"dur":3}' '{bad' '[1]' '{"pid":999999999}'; do
	code=$(curl -s -o "$T/e" -w '%{http_code}' -XPOST "$U/api/v1/sessions" -d "$body")
	case $code in 4??) grep -q '"error"' "$T/e" && continue ;; esac
	not_ok "body $body: $code $(cat "$T/e")"
done
ok "bad session requests: 4xx with a JSON error"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/sessions/..%2f..%2fetc")
if [ "$code" = 404 ] && [ "$(curl -s "$U/health")" = '{"status":"ok"}' ]; then ok "path traversal: 404, still healthy"; else
	not_ok "traversal: $code"; fi
kill $app 2>/dev/null
