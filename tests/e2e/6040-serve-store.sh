#!/usr/bin/env bash
# cprof serve --data: the profile store.  Recordings and pprof uploads are
# stored, listed by service, labels and time, read back as pprof (go tool
# pprof), flame-graph JSON and SVG; bad uploads get 4xx; --check names
# exactly the damaged and the missing blob.  The server runs as an
# ordinary user on loopback.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "cprof serve --data" || exit 0
cd "$T" || exit 1
chmod 755 "$T"
mkdir u && chown 65534:65534 u
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
export GOCACHE=$T/gocache GOPATH=$T/gopath

"$CPROF" record -q -F 999 -o cs.data -- "$FIXTURES/cpu_split_fp" 300 ||
	{ not_ok "cprof record cpu_split failed"; exit 0; }
"$CPROF" convert -i cs.data --to pprof -o cs.pb.gz
printf '[store]\ndata_dir = %s/u/store\nmax_upload_bytes = 65536\n' "$T" >serve.ini
"${NOBODY[@]}" env HOME="$T/u" "$CPROF" serve -l 127.0.0.1:0 -c serve.ini 2>serve.err &
srv=$!
trap 'kill $srv $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
wait_until 10 port || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT/api/v1/profiles

up() { # FILE QUERY: prints the id
	curl -s -o up.json -w '%{http_code}' --data-binary @"$1" "$U?$2" >up.code
	sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' up.json
}
a=$(up cs.data 'service=web&labels=env%3Dprod,region%3Deu')
b=$(up cs.pb.gz 'service=web&labels=env%3Ddev')
c=$(up cs.pb.gz 'service=db')
[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && ok "three uploads (a recording, two pprof) stored: $a $b $c" ||
	not_ok "uploads" "$(cat up.code up.json)"
count() { curl -s "$U?$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["profiles"]))'; }
bad() { # WANT [curl args...]: curl answers WANT with a one-line JSON error
	local want=$1 c
	shift
	c=$(curl -s -o out -w '%{http_code}' "$@")
	[ "$c" = "$want" ] && [ "$(wc -l <out)" = 1 ] && grep -q '^{"error":"' out && return 0
	echo "# $*: $c $(head -c 200 out)"
	return 1
}
n1=$(count service=web) n2=$(count 'labels=env%3Dprod') n3=$(count '') n4=$(count 'service=web&labels=region%3Deu,env%3Dprod')
n5=$(count 'from=-1h&until=now') n6=$(count 'until=1000')
if [ "$n1" = 2 ] && [ "$n2" = 1 ] && [ "$n3" = 3 ] && [ "$n4" = 1 ] && [ "$n5" = 3 ] && [ "$n6" = 0 ]; then
	ok "list: by service 2, label 1, all 3, two labels 1, the last hour 3, before 1970+1000 s 0"
else not_ok "list counts: $n1 $n2 $n3 $n4 $n5 $n6"; fi

# read back: pprof through go tool pprof, the SVG, the JSON tree
go tool pprof -top "$U/$a/profile.pb.gz" >top.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' top.txt)
within "${s:-0}" 60 5 && ok "go tool pprof URL/ID/profile.pb.gz: hot_sixty $s%" ||
	not_ok "stored pprof: hot_sixty '$s'" "$(head -12 top.txt)"
curl -s -o f.svg "$U/$b/flame.svg?width=1600"
flame_info f.svg >f.info 2>&1 && s=$(flame_share hot_sixty f.info) &&
	within "$s" 60 5 && ok "flame.svg well-formed, hot_sixty $s%" || not_ok "flame.svg" "$(head -5 f.info)"
curl -s "$U/$c/profile.json" | python3 -c '
import json, sys
t = json.load(sys.stdin)
def find(n, name):
    if n.get("name") == name: return n["value"]
    return sum(find(k, name) for k in n.get("children", []))
share = 100.0 * find(t, "hot_sixty") / t["value"]
top = t["top"][0]
print("%.1f %s %.1f" % (share, top["name"], 100.0 * top["self"] / t["value"]))' >share.txt 2>&1
read -r s tn ts <share.txt
within "${s:-0}" 60 5 && [ "$tn" = hot_sixty ] && within "${ts:-0}" 60 5 &&
	ok "profile.json: a tree, hot_sixty $s% of the root; first of its top table, $ts% self" ||
	not_ok "profile.json: $(cat share.txt)"
curl -s -o f1.svg "$U/$b/flame.svg?width=1600&minwidth=1"
flame_info f1.svg >f1.info 2>&1 && s=$(flame_share hot_sixty f1.info) && within "$s" 60 5 &&
	[ "$(grep -c '<g><title>' f1.svg)" -le "$(grep -c '<g><title>' f.svg)" ] &&
	ok "flame.svg?minwidth=1: hot_sixty $s%, $(grep -c '<g><title>' f1.svg) frames (default $(grep -c '<g><title>' f.svg))" ||
	not_ok "flame.svg?minwidth=1" "$(head -5 f1.info)"
r=$(curl -s "$U/$a")
echo "$r" | grep -q '"labels":"env=prod,region=eu"' && echo "$r" | grep -q '"sample_type":"cpu"' &&
	ok "a profile's row: canonical labels, sample type" || not_ok "row: $r"

# Pyroscope's ingest API: folded text as in its documentation, a pprof
# form upload, and the official Node.js client pushing every second
printf 'foo;bar 100\nfoo;baz 200\n' >f.txt
c1=$(curl -s -o i1.json -w '%{http_code}' --data-binary @f.txt \
	"http://127.0.0.1:$PORT/ingest?name=pyro.app.cpu%7Benv%3Dstaging,region%3Dus-west-1%7D&from=1700000000&until=1700000010&format=folded&sampleRate=100&spyName=custom&units=samples&aggregationType=sum")
c2=$(curl -s -o i2.json -w '%{http_code}' -F profile=@cs.pb.gz \
	"http://127.0.0.1:$PORT/ingest?name=pyro.app.cpu&from=1700000020&until=1700000030")
n=$(count 'service=pyro.app&labels=region%3Dus-west-1')
t=$(curl -s "$U/$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' i1.json)" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
if [ "$c1" = 200 ] && [ "$c2" = 200 ] && [ "$n" = 1 ] && [ "$t" = 300 ] && [ "$(count service=pyro.app)" = 2 ]; then
	ok "Pyroscope /ingest: folded (name=app.cpu{labels}, total 300) and a pprof form, listed"
else not_ok "ingest: $c1 $c2, labelled $n, total '$t'" "$(cat i1.json i2.json)"; fi
if (cd "$CPROF_TOP/tests/node" && timeout 60 node pyroscope-push.js "http://127.0.0.1:$PORT" "" nodeapp) >node.out 2>&1; then
	np=$(count service=nodeapp)
	[ "${np:-0}" -ge 2 ] && ok "@pyroscope/nodejs pushed $np profiles to /ingest, stored under service nodeapp" ||
		not_ok "@pyroscope/nodejs: $np profiles" "$(cat node.out)"
else not_ok "@pyroscope/nodejs client failed" "$(tail -5 node.out)"; fi

n=0
# merge: the two web profiles as one, read by go tool pprof
A=http://127.0.0.1:$PORT/api/v1
go tool pprof -top "$A/merge?service=web&from=-1h&until=now" >merge.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' merge.txt)
c=$(curl -s -o m.folded -w '%{http_code}' "$A/merge?service=web&format=folded")
if within "${s:-0}" 60 5 && [ "$c" = 200 ] && grep -q 'hot_sixty' m.folded; then
	ok "merge of service web: go tool pprof reads it, hot_sixty $s%; folded too"
else not_ok "merge: hot_sixty '$s', folded $c" "$(head -12 merge.txt)"; fi
# diff: a range where hot_ten's work doubled, against the one before
printf 'main;hot_sixty 600\nmain;hot_thirty 300\nmain;hot_ten 100\n' >base.folded
printf 'main;hot_sixty 600\nmain;hot_thirty 300\nmain;hot_ten 200\n' >new.folded
curl -s -o /dev/null --data-binary @base.folded "$U?service=split&from=1700000000&until=1700000060"
curl -s -o /dev/null --data-binary @new.folded "$U?service=split&from=1700000100&until=1700000160"
c=$(curl -s -o d.svg -w '%{http_code}' "$A/diff?service=split&base=1700000000..1700000060&target=1700000090..1700000200")
flame_info d.svg >d.info 2>&1
if [ "$c" = 200 ] && grep -qE 'hot_ten \(before [0-9.]+, after 200, \+[0-9.]+ / \+[0-9.]+%\)	rgb\(255,' d.info &&
	grep -qE 'hot_sixty \(before .*rgb\([0-9]+,[0-9]+,255\)' d.info; then
	ok "diff of two ranges: hot_ten marked grown (red), the others shrunk once normalized"
else not_ok "diff: $c" "$(grep hot_ d.info | head -5)"; fi
bad 400 "$A/diff?service=split&base=x..y&target=1..2" || n=$((n + 1))

# a session of the API lands in the store when it names a service
"${NOBODY[@]}" "$FIXTURES/cpu_split_fp" 1000000 >/dev/null &
mine=$!
sid=$(curl -s -d "{\"pid\":$mine,\"duration\":2,\"frequency\":499,\"service\":\"sess\",\"labels\":\"via=api\"}" \
	"$A/sessions" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
landed() { curl -s "$A/sessions/$sid" | grep -q '"profile_id":"'; }
if [ -n "$sid" ] && wait_until 20 landed; then
	pid_=$(curl -s "$A/sessions/$sid" | sed -n 's/.*"profile_id":"\([0-9a-f]*\)".*/\1/p')
	go tool pprof -top "$U/$pid_/profile.pb.gz" >sess.txt 2>&1
	s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' sess.txt)
	[ "$(count 'service=sess&labels=via%3Dapi')" = 1 ] && within "${s:-0}" 60 5 &&
		ok "a session with a service lands in the store ($pid_), hot_sixty $s%" ||
		not_ok "session in the store: hot_sixty '$s'" "$(grep -E 'Duration|Showing|hot_|main' sess.txt)"
else not_ok "session $sid never showed a profile_id" "$(curl -s "$A/sessions/$sid")"; fi
kill $mine 2>/dev/null

# bad input: 4xx with a one-line JSON error
head -c 70000 /dev/zero >big
printf 'not a profile\x01\x02' >junk
bad 400 --data-binary @junk "$U?service=web" || n=$((n + 1))
bad 400 --data-binary @cs.pb.gz "$U" || n=$((n + 1))
bad 400 --data-binary @cs.pb.gz "$U?service=a/b" || n=$((n + 1))
bad 400 --data-binary @cs.pb.gz "$U?service=web&labels=a%3D1,a%3D2" || n=$((n + 1))
bad 413 --data-binary @big "$U?service=web" || n=$((n + 1))
bad 404 "$U/0123456789abcdef" || n=$((n + 1))
bad 404 "$U/..%2f..%2fetc%2fpasswd" || n=$((n + 1))
bad 404 "$U/$a/../../index.sqlite" || n=$((n + 1))
bad 400 "$U?from=yesterday" || n=$((n + 1))
bad 400 "$U/$a/flame.svg?minwidth=wide" || n=$((n + 1))
bad 400 "$U/$a/flame.svg?minwidth=1e9" || n=$((n + 1))
bad 400 "$A/diff?service=split&base=-1h..now&target=-1h..now&minwidth=-1" || n=$((n + 1))
bad 405 -X DELETE "$U/$a" || n=$((n + 1))
bad 400 --data-binary @f.txt "http://127.0.0.1:$PORT/ingest?name=a%7Bb%7D" || n=$((n + 1))
bad 400 --data-binary @f.txt "http://127.0.0.1:$PORT/ingest?name=app.cpu&format=jfr" || n=$((n + 1))
bad 400 -F nope=@f.txt "http://127.0.0.1:$PORT/ingest?name=app.cpu" || n=$((n + 1))
bad 405 "http://127.0.0.1:$PORT/ingest?name=app.cpu" || n=$((n + 1))
bad 400 -d '{"pid":1,"duration":1,"service":"a/b"}' "$A/sessions" || n=$((n + 1))
bad 400 -d '{"pid":1,"duration":1,"labels":"a=1"}' "$A/sessions" || n=$((n + 1))
total=$(count '')
[ $n = 0 ] && [ "$(count service=web)" = 2 ] && ok "bad uploads and paths: 4xx, one-line JSON; the store unchanged ($total profiles)" ||
	not_ok "bad input: $n wrong"

# a stored profile with addresses no symbol names (the stripped fixture's
# hidden functions): go tool pprof asks this host's /symbolz for them and
# must be answered (none known) to show the profile at all
"$CPROF" record -q -o st.data -- "$FIXTURES/stripped" 100 >/dev/null 2>&1
st=$(up st.data 'service=stripped')
go tool pprof -top "$U/$st/profile.pb.gz" >st.txt 2>&1
rc=$?
if [ -n "$st" ] && [ $rc = 0 ] && grep -qE ' \[stripped\]$' st.txt &&
	grep -qE '^ *[0-9.]+m?s +[0-9.]+% .* exported_work$' st.txt; then
	ok "go tool pprof reads a stored profile with unnamed addresses (its /symbolz answered)"
else not_ok "go tool pprof on the stripped profile: exit $rc" "$(grep -vE '^ *[0-9.]+m?s ' st.txt | head -5)"; fi

# --check: damage one blob, remove another; exactly those two are named
kill $srv
wait $srv 2>/dev/null
"$CPROF" serve -c serve.ini --check >check0.out 2>check0.err
rc0=$?
printf 'X' | dd of="u/store/$a/profile.pb.gz" bs=1 seek=10 conv=notrunc 2>/dev/null
rm "u/store/$b/profile.json"
"$CPROF" serve -c serve.ini --check >check.out 2>check.err
rc=$?
if [ $rc0 = 0 ] && [ $rc = 1 ] && [ "$(wc -l <check.out)" = 2 ] &&
	grep -qx "$a: profile.pb.gz: checksum mismatch" check.out &&
	grep -qx "$b: profile.json: missing" check.out && grep -q '2 problems' check.err; then
	ok "--check: clean store 0; then exactly the damaged and the missing blob, exit 1"
else not_ok "--check: $rc0 $rc" "$(cat check.out check.err)"; fi
"$CPROF" serve --check 2>nc.err
[ $? = 2 ] && grep -q 'needs --data' nc.err && ok "--check without a store: usage error" ||
	not_ok "--check without --data" "$(cat nc.err)"
