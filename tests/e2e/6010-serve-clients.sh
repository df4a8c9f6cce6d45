#!/usr/bin/env bash
# cprof serve over HTTPS with client certificates (mTLS), read by real
# clients: go tool pprof (against a server run as a user on loopback: it
# sends neither a token nor a client certificate), and scrapes shaped
# like Parca's and Grafana Alloy's (a path_prefix per configured target,
# their headers, a client timeout of seconds + 2); flame graphs; the
# endpoints Go has and cprof does not.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "cprof serve over TLS" || exit 0
cd "$T" || exit 1

# a CA, the server's certificate (127.0.0.1), a client's, and one from another CA
mk() { # mk NAME CN [CA]: key and certificate, signed by CA (self-signed without)
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" \
		-subj "/CN=$2" -out "$1.csr" 2>/dev/null || return 1
	if [ -n "${3:-}" ]; then
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 2 \
			-extfile "$1.ext" -out "$1.pem" 2>/dev/null
	else
		printf 'basicConstraints=critical,CA:true\nkeyUsage=keyCertSign,cRLSign\n' >"$1.ext"
		openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 2 -extfile "$1.ext" \
			-out "$1.pem" 2>/dev/null
	fi
}
mk ca "cprof test CA" && mk srv 127.0.0.1 ca && mk cli client ca && mk rogueca "rogue CA" &&
	mk rogue client rogueca || { not_ok "openssl could not make the test certificates"; exit 0; }

"$FIXTURES/cpu_split_nofp" 1000000 >/dev/null &
split=$!
echo $split >split.pid
"$FIXTURES/cpu_split_fp" 1000000 >/dev/null &
w1=$!
"$FIXTURES/cpu_split_fp" 1000001 >/dev/null &
w2=$!
cat >serve.ini <<INI
[server]
listen = 127.0.0.1:0
tls_cert = $T/srv.pem
tls_key = $T/srv.key
tls_client_ca = $T/ca.pem
[limits]
# scrapers send no frequency: 2 s at 499 Hz gives ~1000 samples
default_frequency_hz = 499
[target.split]
pidfile = $T/split.pid
[target.workers]
cmdline = cpu_split_fp 100000[01]\$
INI
"$CPROF" serve --config serve.ini 2>serve.err &
srv=$!
trap 'kill $srv $split $w1 $w2 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
port() { PORT=$(sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
wait_until 10 port || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
U=https://127.0.0.1:$PORT
C=(--cacert ca.pem --cert cli.pem --key cli.key)

# go tool pprof sends neither a token nor a client certificate, so it
# reads a server run as an ordinary user on loopback (no token needed
# there), profiling that user's own program: a developer's set-up
chmod 755 "$T"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
"${NOBODY[@]}" "$FIXTURES/cpu_split_nofp" 1000000 >/dev/null &
mine=$!
"${NOBODY[@]}" env HOME="$T" "$CPROF" serve --listen 127.0.0.1:0 2>user.err &
usrv=$!
uport() { UPORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' user.err); [ -n "$UPORT" ]; }
if wait_until 10 uport; then
	export GOCACHE=$T/gocache GOPATH=$T/gopath
	go tool pprof -top "http://127.0.0.1:$UPORT/debug/pprof/profile?seconds=2&frequency=499&pid=$mine" >top.txt 2>&1
	s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' top.txt)
	first=$(awk '$NF ~ /^hot_/ { print $NF; exit }' top.txt)
	if [ "$first" = hot_sixty ] && within "${s:-0}" 60 5; then
		ok "go tool pprof -top URL (server run as a user, no token on loopback): hot_sixty first, $s%"
	else not_ok "go tool pprof: first '$first', hot_sixty '$s'" "$(head -15 top.txt)"; fi
	# a user's server may not profile root's processes
	c=$(curl -s -o out -w '%{http_code}' "http://127.0.0.1:$UPORT/debug/pprof/profile?seconds=1&pid=$split")
	[ "$c" = 403 ] && ok "a user's server, root's process: 403" || not_ok "user server, root's process: $c $(cat out)"
else
	not_ok "a server run as nobody did not start" "$(cat user.err)"
fi
kill $usrv $mine 2>/dev/null

# without a client certificate, or with one from another CA: refused
c1=$(curl -s -o out -w '%{http_code}' --cacert ca.pem "$U/api/v1/status")
c2=$(curl -s -o out2 -w '%{http_code}' --cacert ca.pem --cert rogue.pem --key rogue.key "$U/api/v1/status")
c3=$(curl -s -o out3 -w '%{http_code}' "${C[@]}" "$U/api/v1/status")
if [ "$c1" != 200 ] && [ "$c2" != 200 ] && [ "$c3" = 200 ]; then
	ok "no client certificate ($c1) or another CA's ($c2): refused; the CA's: 200"
else not_ok "mTLS: none $c1, rogue $c2, good $c3" "$(cat out out2)"; fi
c=$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.pem "http://127.0.0.1:$PORT/health")
[ "$c" != 200 ] && ok "plain HTTP on the HTTPS port: no answer ($c)" || not_ok "plain HTTP answered 200"

# Parca-shaped scrape of a target by path prefix: path_prefix + the Go path,
# seconds, Parca's headers, a client timeout of seconds + 2
t0=$SECONDS
export GOCACHE=$T/gocache GOPATH=$T/gopath
c=$(curl -s -o parca.pb.gz -w '%{http_code}' -m 4 "${C[@]}" -H 'User-Agent: parca/v0.22.0' \
	-H 'Accept: */*' -H 'X-Prometheus-Scrape-Timeout-Seconds: 3' \
	"$U/t/split/debug/pprof/profile?seconds=2")
go tool pprof -top parca.pb.gz >parca.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' parca.txt)
if [ "$c" = 200 ] && within "${s:-0}" 60 5; then ok "Parca-shaped scrape of /t/split: hot_sixty $s% in $((SECONDS - t0)) s"; else
	not_ok "Parca scrape: $c, hot_sixty '$s'" "$(head -5 parca.txt)"; fi
# Parca and Alloy also scrape Go's other profiles by default: 404 naming what exists
c=$(curl -s -o out -w '%{http_code}' "${C[@]}" "$U/t/split/debug/pprof/goroutine?debug=0")
if [ "$c" = 404 ] && grep -q 'debug/pprof/profile' out; then ok "goroutine: 404 naming what cprof serves"; else
	not_ok "goroutine: $c $(cat out)"; fi
# Alloy-shaped: the workers target (two processes by command line, profiled together)
c=$(curl -s -o alloy.pb.gz -w '%{http_code}' -m 4 "${C[@]}" -H 'User-Agent: Alloy/v1.4.2' \
	-H 'X-Prometheus-Scrape-Timeout-Seconds: 3' "$U/t/workers/debug/pprof/profile?seconds=2")
go tool pprof -raw alloy.pb.gz >alloy.txt 2>&1
npids=$(grep -o 'pid:\[[0-9]*\]' alloy.txt | sort -u | wc -l)
go tool pprof -top alloy.pb.gz >alloy-top.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' alloy-top.txt)
if [ "$c" = 200 ] && within "${s:-0}" 60 5; then
	ok "Alloy-shaped scrape of /t/workers (cmdline pattern): hot_sixty $s%"
else not_ok "Alloy scrape: $c, hot_sixty '$s'" "$(head -5 alloy-top.txt)"; fi
c=$(curl -s -o out -w '%{http_code}' "${C[@]}" "$U/t/nope/debug/pprof/profile?seconds=1")
[ "$c" = 404 ] && grep -q "no target 'nope'" out && ok "an unknown target: 404" || not_ok "unknown target: $c $(cat out)"

# a flame graph of the target
c=$(curl -s -o fg.svg -w '%{http_code}' "${C[@]}" "$U/t/split/debug/pprof/flamegraph?seconds=1&width=1600")
if [ "$c" = 200 ] && python3 -c 'import sys, xml.dom.minidom; d = xml.dom.minidom.parse(sys.argv[1]); sys.exit(d.documentElement.getAttribute("width") != "1600")' fg.svg &&
	grep -q hot_sixty fg.svg; then ok "flamegraph: a well-formed SVG 1600 px wide with hot_sixty"; else
	not_ok "flamegraph: $c" "$(head -c 200 fg.svg)"; fi
# the index names the targets
curl -s "${C[@]}" "$U/debug/pprof/" | grep -q '/t/workers/debug/pprof/' && ok "/debug/pprof/ lists the targets" ||
	not_ok "index without targets"
kill $srv
wait $srv
