#!/bin/sh
# deps.sh - install what cprof needs on Debian 12 (run as root, or with sudo).
#
#   scripts/deps.sh [build|check|bench]...     (no argument: check)
#
#   build   compiling cprof and its fixtures, and `make demo`
#   check   build, plus every tool the tests run: clang and libFuzzer (the
#           fuzz harnesses), cmocka, binutils and elfutils, rustc (Rust
#           demangling), go (go tool pprof reads our pprof), node and the
#           npm tools in tests/node (speedscope's schema, the Pyroscope
#           Node.js client, puppeteer-core), chromium (the web pages), a
#           debuginfod server, xz (MiniDebugInfo), iproute2 (a private
#           loopback for test servers), strace (the store's write order),
#           systemd (systemd-analyze verify of contrib/'s unit),
#           linux-libc-dev-arm64-cross (the syscall table generator on the
#           aarch64 headers),
#           tmux, python3...
#   bench   build, plus the tools `make bench` measures cprof against
#           (perf, strace, GNU time, go, tmux, addr2line, wrk), and chromium with
#           puppeteer-core from tests/node (the web pages' timing)
#
# `make deps`, `make demo`, `make check` and `make bench` run it with the
# right level; `make` alone never does.  It does nothing, and needs no
# network, when everything is there already.
set -eu

BUILD_PKGS="build-essential pkg-config libdw-dev libelf-dev libunwind-dev libcapstone-dev
libzstd-dev zlib1g-dev libncurses-dev libiberty-dev liblzma-dev libdebuginfod-dev
libmicrohttpd-dev libjansson-dev libinih-dev libsqlite3-dev libcurl4-gnutls-dev libpq-dev"
CHECK_PKGS="clang libclang-rt-14-dev libcmocka-dev binutils elfutils mandoc tmux python3
procps util-linux rustc golang-go nodejs npm xz-utils debuginfod iproute2 valgrind
curl openssl strace chromium postgresql systemd linux-libc-dev-arm64-cross"
BENCH_PKGS="linux-perf strace time golang-go tmux binutils elfutils python3 procps heaptrack valgrind wrk
nodejs npm chromium"

want_build=0 want_check=0 want_bench=0
[ $# -eq 0 ] && set -- check
for level in "$@"; do
	case $level in
	build) want_build=1 ;;
	check) want_build=1 want_check=1 ;;
	bench) want_build=1 want_bench=1 ;;
	*)
		echo "deps: unknown level '$level' (build, check or bench)" >&2
		exit 2
		;;
	esac
done
PKGS=$BUILD_PKGS
[ $want_check = 1 ] && PKGS="$PKGS $CHECK_PKGS"
[ $want_bench = 1 ] && PKGS="$PKGS $BENCH_PKGS"

# A command from elsewhere counts as installed: Node.js from NodeSource
# bundles npm and conflicts with Debian's npm package; rustc may come
# from rustup.  What the tests need is the command.
have_pkg() {
	case $1 in
	nodejs) command -v node >/dev/null 2>&1 && return 0 ;;
	npm | rustc) command -v "$1" >/dev/null 2>&1 && return 0 ;;
	esac
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $PKGS; do
	case " $missing " in *" $p "*) continue ;; esac
	have_pkg "$p" || missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
			echo "deps: missing Debian packages:$missing; run 'make deps' (or this script) as root" >&2
			exit 1
		fi
	else
		SUDO=
	fi
	command -v apt-get >/dev/null 2>&1 || {
		echo "deps: no apt-get here: install the equivalents of these Debian 12 packages:$missing" >&2
		exit 1
	}
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# the store's tests start PostgreSQL clusters of their own in temporary
	# directories: Debian's package must not create and start one
	case " $missing " in *" postgresql "*)
		$SUDO mkdir -p /etc/postgresql-common/createcluster.d
		echo "create_main_cluster = false" |
			$SUDO tee /etc/postgresql-common/createcluster.d/cprof-no-cluster.conf >/dev/null
	esac
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ $want_check = 1 ] || [ $want_bench = 1 ] || exit 0

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
