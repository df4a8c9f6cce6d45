#!/bin/sh
# Install cprof's build and test dependencies on Debian 12 (run as root),
# then the npm tools of the interop tests (tests/node: speedscope and its
# schema, a JSON schema validator).  Does nothing, and needs no network,
# when everything is already there.  `make` alone never runs this; `make
# check` and `make demo` do.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libdw-dev libelf-dev elfutils libunwind-dev libcapstone-dev libzstd-dev zlib1g-dev
libncurses-dev libiberty-dev libcmocka-dev binutils mandoc tmux linux-perf python3
procps time nodejs npm golang-go"

# A Node.js from elsewhere (NodeSource) bundles npm and conflicts with
# Debian's npm package: the commands are what the tests need.
have_pkg() {
	case $1 in
	nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
	npm) command -v npm >/dev/null 2>&1 && return 0 ;;
	esac
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $PKGS; do
	have_pkg "$p" || missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing" >&2
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
			echo "deps: missing packages:$missing (run this script as root)" >&2
			exit 1
		fi
	else
		SUDO=
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# npm packages pinned by tests/node/package-lock.json; reinstalled when the
# lock file is newer than node_modules.
node_dir=$(cd "$(dirname "$0")/../tests/node" && pwd)
if [ ! -d "$node_dir/node_modules" ] ||
	[ -n "$(find "$node_dir/package-lock.json" -newer "$node_dir/node_modules")" ]; then
	echo "deps: installing the npm test tools in tests/node (npm ci)" >&2
	if ! (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >"$node_dir/npm-ci.log" 2>&1); then
		echo "deps: 'npm ci' in $node_dir failed (log: $node_dir/npm-ci.log)" >&2
		tail -n 5 "$node_dir/npm-ci.log" | sed 's/^/deps:   /' >&2
		exit 1
	fi
	rm -f "$node_dir/npm-ci.log"
	touch "$node_dir/node_modules"
fi
