#!/bin/sh
# flamegraph.sh - a flame graph SVG from a cprof recording, with an
# installed FlameGraph implementation.
#   contrib/flamegraph.sh [RECORDING [OUT.svg]]   (defaults: cprof.data, flame.svg)
# Extra arguments for the renderer can be passed in FLAMEGRAPH_ARGS.
set -eu
in=${1:-cprof.data}
out=${2:-flame.svg}
if command -v flamegraph.pl >/dev/null 2>&1; then
	render=flamegraph.pl
elif command -v inferno-flamegraph >/dev/null 2>&1; then
	render=inferno-flamegraph
else
	echo "flamegraph.sh: neither flamegraph.pl (FlameGraph) nor inferno-flamegraph (inferno)" \
		"is on PATH" >&2
	exit 1
fi
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2086
cprof convert --to folded -i "$in" | $render ${FLAMEGRAPH_ARGS:-} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "flamegraph.sh: wrote $out" >&2
