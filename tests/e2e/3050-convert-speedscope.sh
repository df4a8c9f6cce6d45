#!/usr/bin/env bash
# convert --to speedscope on live recordings of cpu_split_nofp and threads:
# the output passes speedscope's own file-format-schema.json (from the
# speedscope npm package in tests/node, run through ajv), has one profile
# per thread whose sample counts and weight shares match
# `cprof report --sort tid`, stacks root first; -o and stdout agree; a bad
# input is a one-line error, exit 1, and no output file.
. "$(dirname "$0")/lib.sh"

NODE_DIR=$CPROF_TOP/tests/node
SCHEMA=$NODE_DIR/node_modules/speedscope/dist/release/file-format-schema.json
AJV=$NODE_DIR/node_modules/.bin/ajv

skip_unless_perf "convert --to speedscope on recordings" || exit 0
cd "$T" || exit 1
for spec in split:cpu_split_nofp:700 threads:threads:; do
	IFS=: read -r name prog arg <<<"$spec"
	# shellcheck disable=SC2086 # arg is empty or one number
	"$CPROF" record -q -o "$name.data" -- "$FIXTURES/$prog" $arg >rec.out 2>rec.err
	rc=$?
	if [ $rc -ne 0 ]; then
		skip "convert --to speedscope on a recording of $prog" \
			"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
		exit 0
	fi
done

# node_checks JSON REPORT_TSV [LEAF WANT%]: structural checks of a
# speedscope file against `cprof report --stdio --sort tid` rows ("tid
# self% samples"), printing "PASS what" / "FAIL what: detail" lines.
cat >check.js <<'EOF'
const fs = require("fs");
const [file, rows, leaf, want] = process.argv.slice(2);
const say = (ok, what, detail) => console.log(ok ? `PASS ${what}` : `FAIL ${what}: ${detail}`);
let j;
try {
	j = JSON.parse(fs.readFileSync(file, "utf8"));
} catch (e) {
	say(false, "JSON.parse", e.message);
	process.exit(0);
}
const frames = j.shared.frames;
say(j.$schema === "https://www.speedscope.app/file-format-schema.json" &&
	/^cprof \d/.test(j.exporter) && j.activeProfileIndex === 0,
	"$schema, exporter and activeProfileIndex", `${j.$schema} ${j.exporter} ${j.activeProfileIndex}`);
let bad = [];
for (const p of j.profiles) {
	const sum = p.weights.reduce((a, b) => a + b, 0);
	if (p.type !== "sampled" || p.unit !== "nanoseconds" || p.samples.length !== p.weights.length ||
		p.endValue - p.startValue !== sum || p.weights.some((w) => !(w > 0)) ||
		p.samples.some((s) => !s.length || s.some((i) => !Number.isInteger(i) || i < 0 || i >= frames.length)) ||
		!/^.+ \(pid \d+, tid \d+\)$/.test(p.name))
		bad.push(p.name);
}
say(j.profiles.length > 0 && bad.length === 0,
	"sampled profiles in nanoseconds, weights add up to endValue-startValue, frame indices in range",
	`bad profiles: ${JSON.stringify(bad)}`);
// one profile per thread, with the report's counts and shares
const want_rows = fs.readFileSync(rows, "utf8").trim().split("\n").map((l) => l.split(/\s+/));
const total = j.profiles.reduce((a, p) => a + p.weights.reduce((x, y) => x + y, 0), 0);
const by_tid = {};
for (const p of j.profiles) by_tid[p.name.replace(/.*, tid (\d+)\)$/, "$1")] = p;
const diffs = [];
for (const [tid, self, samples] of want_rows) {
	const p = by_tid[tid];
	if (!p) { diffs.push(`tid ${tid}: no profile`); continue; }
	const share = (100 * p.weights.reduce((a, b) => a + b, 0)) / total;
	if (p.samples.length !== +samples || Math.abs(share - +self) > 0.011)
		diffs.push(`tid ${tid}: ${p.samples.length} samples ${share.toFixed(3)}% vs ${samples} ${self}%`);
}
say(j.profiles.length === want_rows.length && diffs.length === 0,
	`one profile per thread (${j.profiles.length}), samples and shares as in report --sort tid`,
	`${j.profiles.length} profiles, ${want_rows.length} report rows; ${diffs.join("; ")}`);
if (leaf) {
	// stacks are root first: the leaf is the last index
	let w = 0;
	for (const p of j.profiles)
		p.samples.forEach((s, i) => { if (frames[s[s.length - 1]].name === leaf) w += p.weights[i]; });
	const share = (100 * w) / total;
	say(Math.abs(share - +want) <= 10, `${leaf} is the leaf (last frame) of ~${want}% (${share.toFixed(1)}%)`,
		`got ${share.toFixed(1)}%`);
}
EOF
node_checks() {
	local line
	if ! command -v node >/dev/null 2>&1; then
		skip "$1: checks with node" "node is not installed (scripts/deps.sh installs it)"
		return
	fi
	node check.js "$2" "$3" "${@:4}" >node.out 2>&1
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "$1: ${line#PASS }" ;;
		FAIL\ *) not_ok "$1: ${line#FAIL }" ;;
		*) not_ok "$1: node: $line" ;;
		esac
	done <node.out
	[ -s node.out ] || not_ok "$1: node printed nothing"
}
# validate DESC FILE: speedscope's schema accepts the file.
validate() {
	if [ ! -x "$AJV" ] || [ ! -f "$SCHEMA" ]; then
		skip "$1: speedscope's file-format-schema.json accepts it" \
			"no tests/node/node_modules (run scripts/deps.sh, or npm ci in tests/node)"
		return
	fi
	if "$AJV" validate -s "$SCHEMA" -d "$2" >ajv.out 2>&1; then
		ok "$1: speedscope's file-format-schema.json accepts it ($(tr '\n' ' ' <ajv.out))"
	else
		not_ok "$1: speedscope's file-format-schema.json accepts it"
		diag_file ajv.out 20
	fi
}
# report_rows DATA: "tid self% samples" per thread, from report --sort tid.
report_rows() {
	"$CPROF" report --stdio --sort tid -i "$1" 2>/dev/null |
		awk '!/^#/ && NF == 4 && $1 ~ /^[0-9.]+$/ { print $4, $1, $3 }'
}

for spec in split:hot_sixty:60 threads::; do
	IFS=: read -r name leaf want <<<"$spec"
	rm -f "$name.json"
	"$CPROF" convert --to speedscope -i "$name.data" -o "$name.json" 2>"$name.err"
	rc=$?
	if [ $rc -eq 0 ] && [ -s "$name.json" ] && [ ! -e "$name.json.tmp" ] && [ ! -s "$name.err" ]; then
		ok "$name: convert --to speedscope -o writes the file"
	else
		not_ok "$name: convert --to speedscope -o writes the file" "exit $rc"
		diag_file "$name.err"
		continue
	fi
	validate "$name" "$name.json"
	report_rows "$name.data" >"$name.rows"
	node_checks "$name" "$name.json" "$name.rows" ${leaf:+"$leaf" "$want"}
done

# threads: a profile per named thread, each mostly its own hot function
if command -v node >/dev/null 2>&1 && [ -s threads.json ]; then
	node -e '
		const j = JSON.parse(require("fs").readFileSync("threads.json", "utf8"));
		for (const t of ["alpha", "beta", "gamma", "delta"]) {
			const p = j.profiles.find((p) => p.name.startsWith(`thr-${t} (`));
			if (!p) { console.log(`thr-${t}: no profile`); continue; }
			const hot = p.samples.filter((s) => j.shared.frames[s[s.length - 1]].name === `thread_${t}_hot`);
			const roots = p.samples.filter((s) => j.shared.frames[s[0]].name !== `thread_${t}_hot`);
			if (hot.length < 0.9 * p.samples.length || roots.length !== p.samples.length)
				console.log(`thr-${t}: ${hot.length}/${p.samples.length} end in thread_${t}_hot, ${roots.length} start elsewhere`);
		}' >named.out 2>&1
	if [ ! -s named.out ]; then
		ok "threads: profiles thr-alpha..thr-delta, each ending in its thread_*_hot, root first"
	else
		not_ok "threads: profiles thr-alpha..thr-delta, each ending in its thread_*_hot, root first"
		diag_file named.out
	fi
fi

if "$CPROF" convert --to speedscope -i threads.data >stdout.json 2>/dev/null &&
	cmp -s stdout.json threads.json; then
	ok "convert --to speedscope to standard output is the same as -o"
else
	not_ok "convert --to speedscope to standard output is the same as -o"
fi

tid=$(report_rows threads.data | sort -k2,2nr | awk 'NR == 1 { print $1 }')
"$CPROF" convert --to speedscope --tid "$tid" -i threads.data -o one.json 2>/dev/null
rc=$?
if ! command -v node >/dev/null 2>&1; then
	skip "convert --to speedscope --tid: that thread's profile only" "node is not installed"
else
	n=$(node -e 'const j = JSON.parse(require("fs").readFileSync("one.json", "utf8"));
		console.log(j.profiles.length + " " + j.profiles.map((p) => p.name).join(","))' 2>&1)
	if [ $rc -eq 0 ] && [[ "$n" == "1 "*", tid $tid)" ]]; then
		ok "convert --to speedscope --tid $tid: that thread's profile only"
	else
		not_ok "convert --to speedscope --tid $tid: that thread's profile only" "exit $rc: $n"
	fi
fi

printf 'this is not a recording\n' >bad.data
"$CPROF" convert --to speedscope -i bad.data -o bad.json 2>bad.err
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <bad.err)" -eq 1 ] && grep -q "^cprof convert: error: .*bad.data" bad.err &&
	[ ! -e bad.json ] && [ ! -e bad.json.tmp ]; then
	ok "bad input: one-line error, exit 1, no output file"
else
	not_ok "bad input: one-line error, exit 1, no output file" "exit $rc"
	diag_file bad.err
	ls -la | sed 's/^/# /'
fi
