#!/usr/bin/env bash
# cprof serve's web pages in headless Chromium (Debian's, driven by
# puppeteer-core from tests/node), inside a network namespace that has
# only lo, so any request off the machine fails visibly: the list, a
# profile page whose flame graph zooms on a click, the comparison page,
# the session form landing a profile in the store.  Screenshots go to
# build/ui-screenshots/.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "web pages" || exit 0
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { not_ok "web pages: no chromium (make deps-check installs it)"; exit 0; }
[ -d "$CPROF_TOP/tests/node/node_modules/puppeteer-core" ] ||
	{ not_ok "web pages: no puppeteer-core in tests/node (make deps-check installs it)"; exit 0; }
cd "$T" || exit 1
chmod 755 "$T"
mkdir u && chown 65534:65534 u
shots=$CPROF_TOP/build/ui-screenshots
mkdir -p "$shots" && chmod 777 "$shots"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
ns=cprof-ui-$$
ip netns add $ns || { not_ok "ip netns add failed"; exit 0; }
trap 'kill $srv $app $(jobs -p) 2>/dev/null; ip netns del $ns 2>/dev/null; rm -rf "$T"' EXIT
ip netns exec $ns ip link set lo up
IN=(ip netns exec $ns)

# a store with two profiles of web (a recording and its pprof), served as
# an ordinary user on the namespace's loopback
"$CPROF" record -q -F 999 -o cs.data -- "$FIXTURES/cpu_split_fp" 300 || { not_ok "record failed"; exit 0; }
"$CPROF" convert -i cs.data --to pprof -o cs.pb.gz
"${IN[@]}" "${NOBODY[@]}" env HOME="$T/u" "$CPROF" serve -l 127.0.0.1:0 --data "$T/u/store" 2>serve.err &
srv=$!
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
wait_until 10 port || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT
"${IN[@]}" curl -s -o /dev/null --data-binary @cs.data "$U/api/v1/profiles?service=web&labels=run%3D1"
"${IN[@]}" curl -s -o /dev/null --data-binary @cs.pb.gz "$U/api/v1/profiles?service=web&labels=run%3D2"
c=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/health")
[ "$c" != 200 ] && ok "the server is not reachable outside its namespace ($c)" ||
	not_ok "the server answered outside the namespace"

"${NOBODY[@]}" "$FIXTURES/cpu_split_fp" 1000000 >/dev/null &
app=$!
"${IN[@]}" env HOME="$T" CHROMIUM="$CHROMIUM" NODE_PATH="$CPROF_TOP/tests/node/node_modules" \
	timeout 120 node "$CPROF_TOP/tests/node/ui-check.js" "$U" "$T" "$app" >ui.out 2>ui.err
rc=$?
while read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"not ok "*) not_ok "${line#not ok }" ;;
	esac
done <ui.out
[ $rc = 0 ] || not_ok "ui-check exited $rc" "$(tail -5 ui.err)"
cp "$T"/ui-*.png "$shots"/ 2>/dev/null
n=$(ls "$shots"/ui-*.png 2>/dev/null | wc -l)
[ "$n" -ge 5 ] && ok "screenshots of each page in build/ui-screenshots ($n)" || not_ok "screenshots: $n"
