#!/bin/sh
# Install cprof's build and test dependencies on Debian 12 (run as root).
# Does nothing, and needs no network, when everything is already there.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libdw-dev libelf-dev elfutils libunwind-dev libcapstone-dev libzstd-dev zlib1g-dev
libncurses-dev libiberty-dev libcmocka-dev binutils mandoc tmux linux-perf python3
procps time"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

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
