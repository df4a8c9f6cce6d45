#!/usr/bin/env bash
# Targets in another mount (and pid) namespace, as in a container: their
# binaries exist only in their namespace and are read through
# /proc/PID/root; their JIT map is /tmp/perf-NSPID.map in their own /tmp.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	skip "namespaces" "needs root and unshare(1) to make a mount namespace"
	exit 0
fi

mkdir -p "$T/ns"
# cpu_split_nofp copied to a tmpfs mounted only inside the new namespace
unshare -m --propagation private sh -c '
	mount -t tmpfs none "$1" && cp "$2" "$1/app" && exec "$1/app" 4000' sh "$T/ns" \
	"$FIXTURES/cpu_split_nofp" &
upid=$!
sleep 0.5
tpid=$(pgrep -f "^$T/ns/app" | head -1)
if [ -z "$tpid" ] || [ -e "$T/ns/app" ]; then
	not_ok "namespace setup: no private app (pid '$tpid')"
else
	for s in perf ptrace; do
		[ $s = perf ] && ! have_perf && { skip "namespaces with perf_event" "perf_event not allowed"; continue; }
		"$CPROF" attach -q --sampler $s -p "$tpid" -d 1 -o "$T/n-$s.data" 2>"$T/err" ||
			{ not_ok "$s: attach in a namespace failed"; diag_file "$T/err"; continue; }
		"$CPROF" report --stdio -i "$T/n-$s.data" >"$T/n.txt"
		expect_share "$s: binary only in the target's mount namespace" hot_sixty "$T/n.txt" 60 5
		[ "$(module_of hot_sixty "$T/n.txt")" = app ] && ok "$s: module 'app' (read through /proc/$tpid/root)" ||
			not_ok "$s: module '$(module_of hot_sixty "$T/n.txt")'"
	done
fi
wait $upid
[ $? = 0 ] && ok "namespaced target exits 0" || not_ok "namespaced target exit status"

# JIT code in a pid + mount namespace with its own /tmp
if unshare -m -p -f --mount-proc true 2>/dev/null; then
	unshare -m -p -f --mount-proc --propagation private sh -c '
		mount -t tmpfs none /tmp && exec "$1" 2000' sh "$FIXTURES/jit" >"$T/jpid" &
	upid=$!
	sleep 0.7
	tpid=$(pgrep -f "^$FIXTURES/jit 2000" | head -1)
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$tpid/status" 2>/dev/null)
	if [ -n "$tpid" ] && [ "$nspid" != "$tpid" ] && [ -n "$nspid" ] && [ ! -e "/tmp/perf-$nspid.map" ]; then
		"$CPROF" attach -q --sampler ptrace -p "$tpid" -d 1 -o "$T/j.data" 2>"$T/err" ||
			{ not_ok "attach to a namespaced JIT failed"; diag_file "$T/err"; }
		"$CPROF" report --stdio -i "$T/j.data" >"$T/j.txt"
		[ "$(share_of jit_hot_loop "$T/j.txt")" != 0 ] &&
			[ "$(module_of jit_hot_loop "$T/j.txt")" = "perf-$nspid.map" ] &&
			ok "JIT names from the target's own /tmp/perf-$nspid.map (host pid $tpid)" ||
			{ not_ok "namespaced JIT map (ns pid '$nspid', host pid $tpid)"; diag_file "$T/j.txt" 14; }
	else
		not_ok "pid namespace setup (host pid '$tpid', ns pid '$nspid')"
	fi
	wait $upid
else
	skip "JIT in a pid namespace" "unshare -p not possible here"
fi
