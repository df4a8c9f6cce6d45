#!/usr/bin/env bash
# store.sh - `make bench`, the profile store of cprof serve --data (run.sh
# calls it):
#   100k stored profiles: GET /api/v1/profiles (one service, the last
#     hour), wrk 64 connections 10 s             bar p99 < 20 ms; RSS < 64 MiB
#   end of a period -> listed in the store (attach --every 1s --push),
#     p99 over 20 periods                         bar < 1 s
#   merge of 60 one-minute-sized profiles           bar <= 1 s
#   a profile page of a 200k-frame profile in headless Chromium, from
#     navigation to a click on the flame graph zoomed, median of 5
#                                                   bar <= 2 s
#   bench/store.sh BUILD_DIR   (STORE_PROFILES=N overrides 100000)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_setup store "${1:-}"
echo "== store: cprof serve --data"
command -v wrk >/dev/null || { echo "SKIP: store: no wrk (make deps-bench installs it)"; exit 0; }
[ -x "$BUILD/bench/store-fill" ] || { echo "SKIP: store: no $BUILD/bench/store-fill (make bench-tools)"; exit 0; }
N=${STORE_PROFILES:-100000}
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/tok"
A=(-H "Authorization: Bearer $(cat "$T/tok")")
srv=
app=
trap 'kill $srv $app $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# a one-second recording of cpu_split as the stored blob (about a minute's
# worth of a 19 Hz host agent)
"$CPROF" record -q -F 999 -o "$T/one.data" -- "$FX/cpu_split_fp" 300 >/dev/null 2>&1
"$CPROF" convert -i "$T/one.data" --to pprof -o "$T/one.pb.gz"
t0=$(now)
rate=$("$BUILD/bench/store-fill" "$T/store" "$N" 20 "$T/one.pb.gz") || { echo "FAIL: store-fill"; exit 1; }
echo "#      filled $N profiles in $(calc %.0f "$(now) - $t0") s ($rate profiles/s through cp_store_put: 4 fsyncs and a commit each)"

"$CPROF" serve -l 127.0.0.1:0 --token-file "$T/tok" --data "$T/store" 2>"$T/serve.err" &
srv=$!
for _ in $(seq 500); do grep -q listening "$T/serve.err" && break; sleep 0.01; done
U=$(sed -n 's|.*listening on \(http://[^ ]*\).*|\1|p' "$T/serve.err")
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$srv/status" 2>/dev/null || echo 0; }
cat >"$T/auth.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $(cat "$T/tok")"
EOF
(while kill -0 $srv 2>/dev/null; do rss_kb; sleep 0.1; done) >"$T/rss" &
poll=$!
wrk -t2 -c64 -d10s --latency -s "$T/auth.lua" "$U/api/v1/profiles?service=svc7&from=-1h&until=now&limit=100" >"$T/wrk" 2>&1
kill $poll 2>/dev/null
rps=$(awk '/^Requests\/sec:/ { print $2 }' "$T/wrk")
p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub("us", "", v); v /= 1000 } else if (v ~ /ms$/) sub("ms", "", v); else if (v ~ /s$/) { sub("s", "", v); v *= 1000 } print v }' "$T/wrk")
errs=$(awk '/Socket errors|Non-2xx/ { n++ } END { print n + 0 }' "$T/wrk")
rows=$(curl -s "${A[@]}" "$U/api/v1/profiles?service=svc7&from=-1h&until=now&limit=100" | grep -o '"id":' | wc -l)
peak=$(sort -n "$T/rss" | tail -1)
echo "store  list (one service, last hour: $rows rows) of $N profiles, wrk 64 connections 10 s: $(calc %.0f "${rps:-0}") req/s, p99 ${p99:-?} ms, error lines $errs (bar p99 < 20 ms) $(verdict "${p99:-99} < 20 && $errs == 0")"
echo "store  server RSS peak under that load: $(calc %.1f "${peak:-0} / 1024") MiB (bar < 64 MiB) $(verdict "${peak:-0} < 65536")"

# merge of 60 profiles
for i in $(seq 60); do
	curl -s -o /dev/null "${A[@]}" --data-binary @"$T/one.pb.gz" "$U/api/v1/profiles?service=merge60"
done
: >"$T/merge"
for _ in 1 2 3 4 5; do
	curl -s -o "$T/m.pb.gz" -w '%{time_total}\n' "${A[@]}" "$U/api/v1/merge?service=merge60&limit=60" >>"$T/merge"
done
m=$(median <"$T/merge")
echo "store  merge of 60 stored profiles ($(wc -c <"$T/one.pb.gz") bytes of pprof each) to pprof: median $(calc %.3f "$m") s of 5 (bar <= 1 s) $(verdict "$m <= 1")"

# a profile page of a 200k-frame profile: a random call tree (stacks share
# prefixes, as real ones do) over 6000 names, weights 1..1000
python3 - "$T/big.folded" <<'PY' >"$T/big.frames"
import random, sys
rng = random.Random(16)
names = ["%s%d" % (rng.choice(["rd", "wr", "ps", "em", "sc", "hs"]), i) for i in range(6000)]
kids, seen, frames = {}, set(), set()
with open(sys.argv[1], "w") as f:
    while len(frames) < 200000:
        node = (0,)
        for _ in range(rng.randint(10, 60) - 1):
            ch = kids.setdefault(node, [])
            if not ch or (len(ch) < 6 and rng.random() < 0.35):
                ch.append(node + (rng.randrange(6000),))
            node = rng.choice(ch)
        if node in seen:
            continue
        seen.add(node)
        frames.update(node[:i] for i in range(1, len(node) + 1))
        f.write(";".join(names[i] for i in node) + " %d\n" % rng.randint(1, 1000))
print(len(frames))
PY
big=$(curl -s "${A[@]}" --data-binary @"$T/big.folded" "$U/api/v1/profiles?service=big" |
	sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
CHROMIUM=$(command -v chromium || true)
NODE_MODULES=$CPROF_TOP/tests/node/node_modules
if [ -z "$big" ]; then
	echo "FAIL: store: the 200k-frame profile was not stored"
elif [ -z "$CHROMIUM" ] || [ ! -d "$NODE_MODULES/puppeteer-core" ]; then
	echo "SKIP: store: profile page: no chromium or puppeteer-core (make deps-bench installs them)"
else
	: >"$T/page"
	for _ in 1 2 3 4 5; do
		TMPDIR=$T CHROMIUM=$CHROMIUM NODE_PATH=$NODE_MODULES \
			node "$CPROF_TOP/bench/ui-page.js" "$U" "$big" "$(cat "$T/tok")" >>"$T/page" 2>"$T/page.err" ||
			{ echo "FAIL: store: profile page: $(tail -1 "$T/page.err")"; break; }
	done
	z=$(awk '{ print $2 }' "$T/page" | median)
	read -r d _ c nf < <(sort -k2 -g "$T/page" | sed -n 3p)
	echo "store  profile page of a $(cat "$T/big.frames")-frame profile in headless Chromium: graph drawn $(calc %.2f "${d:-9}") s, a click zoomed at $(calc %.2f "${z:-9}") s (the click $(calc %.2f "${c:-9}") s), $nf frames drawn; median of 5 (bar <= 2 s) $(verdict "${z:-9} <= 2")"
fi

# end of a period -> listed
"$FX/cpu_split_fp" 100000000 >/dev/null &
app=$!
"$CPROF" attach -q -p $app -d 21 --every 1s --push "$U" --service lag --push-token-file "$T/tok" \
	--spool-dir "$T/spool" 2>"$T/attach.err" &
att=$!
declare -A seen
while kill -0 $att 2>/dev/null; do
	t=$(now)
	curl -s "${A[@]}" "$U/api/v1/profiles?service=lag&limit=100" |
		grep -o '"id":"[0-9a-f]*"[^}]*"until_ns":[0-9]*' |
		sed 's/"id":"\([0-9a-f]*\)".*"until_ns":\([0-9]*\)/\1 \2/' >"$T/list"
	while read -r id until; do
		[ -n "${seen[$id]:-}" ] && continue
		seen[$id]=1
		calc %.4f "$t - $until / 1000000000" >>"$T/lag"
	done <"$T/list"
	sleep 0.02
done
wait $att
kill $app 2>/dev/null
n=$(wc -l <"$T/lag")
p99=$(sort -g "$T/lag" | awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.5); if (i < 1) i = 1; print v[i] }')
echo "store  end of a period -> listed (attach --every 1s --push): p99 $(calc %.3f "${p99:-9}") s, median $(calc %.3f "$(median <"$T/lag")") s over $n periods (bar p99 < 1 s) $(verdict "${p99:-9} < 1")"
