#!/usr/bin/env bash
# cprof serve's safety rules: no token on a non-loopback address (tried in
# a network namespace this test makes, with a veth pair, never on the
# machine's own interfaces), root without a token, config errors, and a
# unix socket where each caller may profile only what it may trace.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "cprof serve's safety rules" || exit 0
cd "$T" || exit 1
chmod 755 "$T"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
TOK=$(cat tok)

# refusals at start-up: one line, exit 2, nothing listening
one_line() { [ "$(wc -l <"$1")" = 1 ] && grep -q "$2" "$1"; }
"$CPROF" serve --listen 127.0.0.1:0 >o 2>e1; r1=$?
"$CPROF" serve --listen 0.0.0.0:0 --token-file /nonexistent >o 2>e2; r2=$?
"$CPROF" serve --listen 127.0.0.1:0 --tls-cert tok >o 2>e3; r3=$?
"$CPROF" serve --listen 10.1.2.3 >o 2>e4; r4=$?
printf 'short\n' >short
"$CPROF" serve --listen 127.0.0.1:0 --token-file short >o 2>e5; r5=$?
if [ $r1 = 2 ] && one_line e1 'running as root.*needs token_file or tls_client_ca' &&
	[ $r2 = 2 ] && one_line e2 'token_file /nonexistent' && [ $r3 = 2 ] && one_line e3 'tls_cert and tls_key' &&
	[ $r4 = 2 ] && one_line e4 'not HOST:PORT' && [ $r5 = 2 ] && one_line e5 'at least 16'; then
	ok "start-up refusals: root without a token, missing token file, cert without key, bad address, short token"
else not_ok "refusals: $r1 $r2 $r3 $r4 $r5" "$(cat e1 e2 e3 e4 e5)"; fi

# config errors name the file, the line and the key
printf '[server]\nlisten = 127.0.0.1:0\nbogus = 1\n' >a.ini
printf '[limits]\nmax_frequency_hz = 0\n' >b.ini
printf '[nope]\nx = 1\n' >c.ini
printf '[target.web]\n' >d.ini
printf '[target.web]\ncolour = red\n' >e.ini
printf '[target.web]\ncmdline = (unclosed\n' >f.ini
printf '[limits]\nmax_frequency_hz = 50\n' >g.ini
printf '[server]\nlisten = 127.0.0.1:0\n  token_file = /etc/t ;x\n' >h.ini
bad=
for f in a.ini:"a.ini:3: \[server\]: unknown key 'bogus'" b.ini:"b.ini:2: max_frequency_hz: '0' is not a number from 1" \
	c.ini:"c.ini:2: unknown section \[nope\]" e.ini:"e.ini:2: \[target.web\]: unknown key 'colour'" \
	/nonexistent.ini:"config /nonexistent.ini" f.ini:"cmdline '(unclosed' is not a regular expression" \
	g.ini:"default_frequency_hz (100) or default_seconds (30) is over its maximum" \
	h.ini:"h.ini:3: an indented line"; do
	"$CPROF" serve --config "${f%%:*}" >o 2>err
	r=$?
	{ [ $r = 2 ] || [ $r = 1 ]; } && one_line err "${f#*:}" || bad="$bad [${f%%:*}: $r $(cat err)]"
done
[ -z "$bad" ] && ok "config errors: file:line: key, one line, exit 1 or 2" || not_ok "config errors:$bad"
"$CPROF" serve --print-config >p.ini && "$CPROF" serve --config p.ini --max-seconds 7 --print-config >p2.ini &&
	diff <(grep -v max_session_duration_seconds p.ini) <(grep -v max_session_duration_seconds p2.ini) >/dev/null &&
	grep -qx 'max_session_duration_seconds = 7' p2.ini && grep -qx 'max_session_duration_seconds = 300' p.ini &&
	ok "--print-config reads back; a flag wins over the file" || not_ok "--print-config round trip"

# a non-loopback address in a private network namespace pair
ns=cprof-t$$
cleanup_ns() { ip netns del ${ns}s 2>/dev/null; ip netns del ${ns}c 2>/dev/null; }
trap 'kill $(jobs -p) 2>/dev/null; cleanup_ns; rm -rf "$T"' EXIT
if ip netns add ${ns}s && ip netns add ${ns}c &&
	ip link add ${ns}a type veth peer name ${ns}b &&
	ip link set ${ns}a netns ${ns}s && ip link set ${ns}b netns ${ns}c &&
	ip -n ${ns}s addr add 10.231.0.1/24 dev ${ns}a && ip -n ${ns}c addr add 10.231.0.2/24 dev ${ns}b &&
	ip -n ${ns}s link set ${ns}a up && ip -n ${ns}c link set ${ns}b up &&
	ip -n ${ns}s link set lo up && ip -n ${ns}c link set lo up; then
	ip netns exec ${ns}s "$CPROF" serve --listen 10.231.0.1:6060 >o 2>n1; r=$?
	[ $r = 2 ] && one_line n1 'listening on 10.231.0.1:6060 needs token_file or tls_client_ca' &&
		ok "10.231.0.1 without a token: refuses to start" || not_ok "non-loopback without token: $r $(cat n1)"
	"$FIXTURES/cpu_split_nofp" 1000000 >/dev/null &
	app=$!
	ip netns exec ${ns}s "$CPROF" serve --listen 10.231.0.1:6060 --token-file tok 2>n2 &
	up() { ip netns exec ${ns}c curl -s -m 2 http://10.231.0.1:6060/health | grep -q ok; }
	if wait_until 10 up; then
		c1=$(ip netns exec ${ns}c curl -s -o out -w '%{http_code}' "http://10.231.0.1:6060/debug/pprof/profile?seconds=1&pid=$app")
		c2=$(ip netns exec ${ns}c curl -s -o p.pb.gz -w '%{http_code}' -H "Authorization: Bearer $TOK" \
			"http://10.231.0.1:6060/debug/pprof/profile?seconds=1&frequency=499&pid=$app")
		c3=$(ip netns exec ${ns}c curl -s -o out3 -w '%{http_code}' -H "Authorization: Bearer $TOK" \
			-H 'Host: attacker.example' "http://10.231.0.1:6060/api/v1/status")
		if [ "$c1" = 401 ] && [ "$c2" = 200 ] && [ "$(head -c2 p.pb.gz | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
			ok "from another host: without the token 401, with it 200 (a gzipped profile)"
		else not_ok "netns: no token $c1, token $c2" "$(cat out n2)"; fi
		[ "$c3" = 200 ] && ok "no allowed_hosts on a public address: any Host (the token guards it)" ||
			not_ok "Host on public address: $c3"
		# refused on the headers: no byte of the body is read (curl
		# waits for 100 Continue, which never comes)
		head -c 8000000 /dev/zero >z8
		c4=$(ip netns exec ${ns}c curl -s -o out4 -w '%{http_code} %{size_upload}' --data-binary @z8 \
			"http://10.231.0.1:6060/api/v1/sessions")
		c5=$(ip netns exec ${ns}c curl -s -o out5 -w '%{http_code} %{size_upload}' --data-binary @z8 \
			-H "Authorization: Bearer $TOK" "http://10.231.0.1:6060/api/v1/sessions")
		[ "$c4" = "401 0" ] && [ "$c5" = "413 0" ] &&
			ok "8 MB posted: without the token 401, with it 413, each before a byte of the body was sent" ||
			not_ok "early refusals: '$c4' '$c5'" "$(cat out4 out5)"
	else not_ok "server in the namespace did not answer" "$(cat n2)"; fi
	kill $app
else
	not_ok "could not make a network namespace pair (iproute2, root)"
fi
cleanup_ns

# a unix socket: no token, and each caller may profile only what it could trace
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
"$FIXTURES/cpu_split_nofp" 1000000 >/dev/null &
rootapp=$!
"${NOBODY[@]}" "$FIXTURES/cpu_split_nofp" 1000000 >/dev/null &
userapp=$!
"$CPROF" serve --listen "unix:$T/cprof.sock" 2>u.err &
usrv=$!
sock() { [ -S "$T/cprof.sock" ]; }
if wait_until 10 sock; then
	S=(--unix-socket "$T/cprof.sock")
	c1=$(curl -s -o o1 -w '%{http_code}' "${S[@]}" "http://x/debug/pprof/profile?seconds=1&pid=$rootapp")
	c2=$("${NOBODY[@]}" curl -s -o /dev/null -w '%{http_code}' "${S[@]}" "http://x/debug/pprof/profile?seconds=1&pid=$rootapp")
	c3=$("${NOBODY[@]}" curl -s -o /dev/null -w '%{http_code}' "${S[@]}" "http://x/debug/pprof/profile?seconds=1&pid=$userapp")
	if [ "$c1" = 200 ] && [ "$c2" = 403 ] && [ "$c3" = 200 ]; then
		ok "unix socket: root profiles root's process; nobody: root's 403, its own 200"
	else not_ok "unix socket: root $c1, nobody->root $c2, nobody->own $c3" "$(cat u.err)"; fi
else not_ok "no unix socket" "$(cat u.err)"; fi
kill $usrv
wait $usrv
[ ! -e "$T/cprof.sock" ] && ok "the socket file is removed at exit" || not_ok "socket left behind"
kill $rootapp $userapp
