#!/usr/bin/env bash
# cprof serve on loopback with a token, started and stopped here: the
# sessions API (threads' shares, results in raw chunks, pprof, SVG), Go's
# one-profile-per-target rule, status, the Host check, and bad input
# answered 4xx while the server keeps serving.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "cprof serve" || exit 0
cd "$T" || exit 1

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
TOK=$(cat tok)
"$CPROF" serve --listen 127.0.0.1:0 --token-file tok --chunk-size 1024 --max-sessions 2 \
	2>serve.err &
srv=$!
trap 'kill $srv $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
wait_until 10 port || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT
A=(-H "Authorization: Bearer $TOK")
code() { curl -s -o out -w '%{http_code}' "$@"; }
healthy() { [ "$(curl -s "$U/health")" = '{"status":"ok"}' ]; }

# the token: /health is open, everything else needs it
c1=$(code "$U/api/v1/status") c2=$(code -H "Authorization: Bearer x$TOK" "$U/api/v1/status")
c3=$(code "${A[@]}" "$U/api/v1/status")
if [ "$c1" = 401 ] && [ "$c2" = 401 ] && [ "$c3" = 200 ] && healthy; then
	ok "no token or a wrong one: 401; the token: 200; /health open"
else not_ok "token: $c1 $c2 $c3"; fi
# the Host header (DNS rebinding): only loopback names
c1=$(code "${A[@]}" -H "Host: evil.example:$PORT" "$U/api/v1/status")
grep -q 'evil.example' out || c1="$c1 $(cat out)"
c2=$(code "${A[@]}" -H "Host: localhost:$PORT" "$U/api/v1/status")
if [ "$c1" = 403 ] && [ "$c2" = 200 ]; then
	ok "Host evil.example: 403; Host localhost: 200"
else not_ok "Host check: $c1 $c2"; fi

# a session on the threads fixture, over its whole run (the shares are
# 40/30/20/10 over the run, not in every window: while all four threads
# run, two cores give each the same time); the session ends at its exit
"$FIXTURES/threads" 3000 >/dev/null &
app=$!
R=$(curl -s "${A[@]}" -XPOST "$U/api/v1/sessions" -d "{\"pid\":$app,\"duration\":60,\"frequency\":499}")
ID=$(printf '%s' "$R" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
[ -n "$ID" ] && ok "session created: $ID" || not_ok "session not created: $R"
curl -s "${A[@]}" "$U/api/v1/sessions" | grep -q "\"id\":\"$ID\"" && ok "the list has it" ||
	not_ok "session list"
c=$(code "${A[@]}" "$U/api/v1/sessions/$ID/folded")
[ "$c" = 409 ] && grep -q 'still running' out && ok "folded while running: 409" || not_ok "folded while running: $c"
done_() { curl -s "${A[@]}" "$U/api/v1/sessions/$ID" | grep -q '"state":"done"'; }
wait_until 30 done_ || not_ok "session did not finish at the program's exit"
st=$(curl -s "${A[@]}" "$U/api/v1/sessions/$ID")
first=$(printf '%s' "$st" | sed -n 's/.*"first_sample_after":\([0-9.e-]*\).*/\1/p')
echo "# request to first sample: ${first:-?} s"
if [ -n "$first" ] && awk -v f="$first" 'BEGIN { exit !(f > 0 && f < 1) }'; then
	ok "request to first sample: $first s (under 1 s)"
else not_ok "first sample: '$first'" "$st"; fi
curl -s "${A[@]}" --raw "$U/api/v1/sessions/$ID/folded" >raw.txt
curl -s "${A[@]}" "$U/api/v1/sessions/$ID/folded" >folded.txt
# reassemble the raw chunks: size line (hex), data, CRLF
python3 - raw.txt folded.txt >chunks.txt <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read(); want = open(sys.argv[2], 'rb').read()
pos, out, sizes = 0, b'', []
while True:
    e = raw.index(b'\r\n', pos); n = int(raw[pos:e].split(b';')[0], 16); pos = e + 2
    if n == 0: break
    out += raw[pos:pos + n]; sizes.append(n); pos += n + 2
print(len(sizes), max(sizes), 'same' if out == want else 'differ')
PY
read -r nchunks maxchunk same <chunks.txt
if [ "${nchunks:-0}" -ge 2 ] && [ "${maxchunk:-0}" -le 1024 ] && [ "$same" = same ]; then
	ok "folded in $nchunks raw chunks of at most 1024 bytes, reassembled to the same text"
else not_ok "chunks: $(cat chunks.txt)" "$(head -c 300 raw.txt)"; fi
# shares per thread: the folded lines start with the thread's name
shares=$(awk '{ n = $NF; $NF = ""; split($1, f, ";"); t[f[1]] += n; all += n }
	END { printf "%.1f %.1f %.1f %.1f", 100*t["thr-alpha"]/all, 100*t["thr-beta"]/all, 100*t["thr-gamma"]/all, 100*t["thr-delta"]/all }' folded.txt)
read -r a b g d <<<"$shares"
if within "$a" 40 5 && within "$b" 30 5 && within "$g" 20 5 && within "$d" 10 5 &&
	grep -q 'thread_alpha_hot' folded.txt; then
	ok "threads: 40/30/20/10 +-5 by thread ($a/$b/$g/$d), functions by name"
else not_ok "threads' shares $a/$b/$g/$d" "$(head -5 folded.txt)"; fi
c1=$(code "${A[@]}" "$U/api/v1/sessions/$ID/pprof")
go tool pprof -raw out >praw.txt 2>&1
c2=$(code "${A[@]}" "$U/api/v1/sessions/$ID/svg")
if [ "$c1" = 200 ] && grep -q thread_alpha_hot praw.txt && [ "$c2" = 200 ] && grep -q '<svg' out &&
	python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' out; then
	ok "the session's pprof (go tool pprof reads it) and SVG (well-formed)"
else not_ok "session pprof $c1 / svg $c2" "$(head -3 praw.txt)"; fi

"$FIXTURES/threads" 1000000 >/dev/null &
app=$!
# stop early: DELETE ends it with what was taken
R=$(curl -s "${A[@]}" -XPOST "$U/api/v1/sessions" -d "{\"pid\":$app,\"duration\":60}")
ID2=$(printf '%s' "$R" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
wait_until 5 sh -c "curl -s -H 'Authorization: Bearer $TOK' $U/api/v1/sessions/$ID2 | grep -q '\"samples\":[1-9]'"
d=$(curl -s "${A[@]}" -XDELETE "$U/api/v1/sessions/$ID2")
c=$(code "${A[@]}" "$U/api/v1/sessions/$ID2/folded")
if printf '%s' "$d" | grep -q '"state":"done"' && [ "$c" = 200 ] && grep -q thread_ out; then
	ok "DELETE stops a 60 s session at once; its result is there"
else not_ok "DELETE: $d / $c"; fi

# 429 beyond max_concurrent_sessions (2), with Retry-After
R1=$(curl -s "${A[@]}" -XPOST "$U/api/v1/sessions" -d "{\"pid\":$app,\"duration\":30}")
R2=$(curl -s "${A[@]}" -XPOST "$U/api/v1/sessions" -d "{\"pid\":$app,\"duration\":30}")
c=$(curl -s -o out -D hdr -w '%{http_code}' "${A[@]}" -XPOST "$U/api/v1/sessions" -d "{\"pid\":$app,\"duration\":30}")
if [ "$c" = 429 ] && grep -qi '^Retry-After: ' hdr && grep -q '"error"' out; then
	ok "a third session with max 2: 429, Retry-After"
else not_ok "429: $c $(cat out)"; fi
st=$(curl -s "${A[@]}" "$U/api/v1/status")
if printf '%s' "$st" | grep -q '"active_sessions":2' && printf '%s' "$st" | grep -q '"version":"'; then
	ok "status: version, active sessions 2"
else not_ok "status: $st"; fi
for R in "$R1" "$R2"; do
	i=$(printf '%s' "$R" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
	curl -s -o /dev/null "${A[@]}" -XDELETE "$U/api/v1/sessions/$i"
done

# Go's rule on /debug/pprof/profile: a second profile of one process is
# 500, of another process 200; seconds over the maximum 400 + X-Go-Pprof
"$FIXTURES/cpu_split_nofp" 100000 >/dev/null &
app2=$!
c=$(curl -s -o out -D hdr -w '%{http_code}' "${A[@]}" "$U/debug/pprof/profile?seconds=301&pid=$app")
if [ "$c" = 400 ] && grep -qi '^X-Go-Pprof: 1' hdr; then ok "seconds=301: 400, X-Go-Pprof"; else
	not_ok "seconds=301: $c"; fi
curl -s -o p1.pb.gz "${A[@]}" "$U/debug/pprof/profile?seconds=2&pid=$app" &
first_req=$!
sampling() { curl -s "${A[@]}" "$U/api/v1/status" | grep -q '"profiles_running":1'; }
wait_until 5 sampling
c=$(curl -s -o out -D hdr -w '%{http_code}' "${A[@]}" "$U/debug/pprof/profile?seconds=1&pid=$app")
if [ "$c" = 500 ] && grep -q 'Could not enable CPU profiling' out && grep -qi '^X-Go-Pprof: 1' hdr; then
	c=$(code "${A[@]}" "$U/debug/pprof/profile?seconds=1&pid=$app2")
	wait $first_req
	go tool pprof -top p1.pb.gz >p1.txt 2>&1
	if [ "$c" = 200 ] && grep -q thread_alpha_hot p1.txt; then
		ok "a second profile of one process: 500; of another: 200; the first completes"
	else not_ok "concurrent profiles: other $c" "$(head -5 p1.txt)"; fi
else not_ok "no 500 for a second profile"; wait $first_req; fi

# bad input: 4xx with a one-line JSON message, the server still healthy
bad=
for body in '{"pid":1,"duration":0}' '{"pid":1,"duration":301}' '{"pid":1,"frequency":0}' \
	'{"pid":1,"frequency":1001}' '{"pid":1,"dur":3}' '{bad' '[1]' '{"pid":999999999}' \
	'{"pid":"12"}' '{}' '{"target":"nope"}' '{"pid":1,"pid":2}' "$(head -c 70000 /dev/zero | tr '\0' ' ')"; do
	c=$(code "${A[@]}" -XPOST "$U/api/v1/sessions" -d "$body")
	case $c in 4??) [ "$(wc -l <out)" = 1 ] && grep -q '^{"error":"' out && continue ;; esac
	bad="$bad [$(printf '%.40s' "$body") -> $c $(head -c 100 out)]"
done
for q in "pid=abc" "pid=$app&seconds=-1" "pid=$app&seconds=x" "pid=$app&frequency=0" \
	"pid=$app&frequency=1001" "seconds=1" "pid=999999999&seconds=1"; do
	c=$(code "${A[@]}" "$U/debug/pprof/profile?$q")
	case $c in 4??) grep -q '^{"error":"' out && continue ;; esac
	bad="$bad [$q -> $c $(head -c 100 out)]"
done
for p in /api/v1/sessions/..%2f..%2fetc%2fpasswd /api/v1/sessions/../../etc/passwd \
	/api/v1/sessions/0123456789abcdeg /api/v1/nope /debug/pprof/goroutine /nope; do
	c=$(code "${A[@]}" --path-as-is "$U$p")
	case $c in 404) grep -q '^{"error":"' out && continue ;; esac
	bad="$bad [$p -> $c]"
done
c=$(code "${A[@]}" -XPUT "$U/api/v1/sessions")
[ "$c" = 405 ] || bad="$bad [PUT -> $c]"
hdrs=(); for i in $(seq 70); do hdrs+=(-H "X-H$i: v"); done
c=$(code "${A[@]}" "${hdrs[@]}" "$U/api/v1/status")
[ "$c" = 431 ] || bad="$bad [70 headers -> $c]"
if [ -z "$bad" ] && healthy; then ok "bad input: 4xx with a JSON message each, the server healthy"; else
	not_ok "bad input:$bad"; fi
grep -q '"error":"body: a JSON object is expected' <(curl -s "${A[@]}" -XPOST "$U/api/v1/sessions" -d '{bad') &&
	ok "bad JSON names the problem" || not_ok "bad JSON message"

# stopping: SIGTERM ends the server; the profiled programs run on
kill -TERM $srv
if wait $srv && kill -0 $app && kill -0 $app2 && ! grep -qE '^State:.*(T|t) \(' /proc/$app/status; then
	ok "SIGTERM: exit 0, the programs run on, not stopped"
else not_ok "SIGTERM: $(cat serve.err)"; fi
kill $app $app2
