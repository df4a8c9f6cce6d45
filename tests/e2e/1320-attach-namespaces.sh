#!/usr/bin/env bash
# Targets in another mount (and pid) namespace, as in a container: their
# binaries exist only in their namespace and are read through
# /proc/PID/root; their JIT map is /tmp/perf-NSPID.map in their own /tmp.
# A target chrooted inside its namespace (what cprof sees from a container
# or a chroot of its own) shows its files in /proc/PID/maps under its
# root's path, which cprof takes off.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	skip "namespaces" "needs root and unshare(1) to make a mount namespace"
	exit 0
fi

# attach_both NAME PID: attach with each sampler; hot_sixty ~60% in module NAME
attach_both() {
	local name=$1 tpid=$2 s
	for s in perf ptrace; do
		[ $s = perf ] && ! have_perf && { skip "$name: namespaces with perf_event" "perf_event not allowed"; continue; }
		# ptrace: 2 s (its timer at ~1 ms beside rounds of ~2 ms drifts
		# slowly through them, so 1 s of samples varied by +-6 points)
		"$CPROF" attach -q --sampler $s -p "$tpid" -d $([ $s = ptrace ] && echo 2 || echo 1) \
			-o "$T/n-$s.data" 2>"$T/err" ||
			{ not_ok "$name, $s: attach in a namespace failed"; diag_file "$T/err"; continue; }
		"$CPROF" report --stdio -i "$T/n-$s.data" >"$T/n.txt"
		expect_share "$name, $s: binary only in the target's mount namespace" hot_sixty "$T/n.txt" 60 5
		[ "$(module_of hot_sixty "$T/n.txt")" = "$name" ] &&
			ok "$name, $s: module '$name' (read through /proc/$tpid/root)" ||
			not_ok "$name, $s: module '$(module_of hot_sixty "$T/n.txt")'"
	done
}

# cpu_split_nofp copied to a tmpfs mounted only inside the new namespace
mkdir -p "$T/ns"
unshare -m --propagation private sh -c '
	mount -t tmpfs none "$1" && cp "$2" "$1/app" && exec "$1/app" 4000' sh "$T/ns" \
	"$FIXTURES/cpu_split_nofp" &
upid=$!
tpid=
wait_until 10 pgrep -f "^$T/ns/app " >/dev/null && tpid=$(pgrep -f "^$T/ns/app " | head -1)
if [ -z "$tpid" ] || [ -e "$T/ns/app" ]; then
	not_ok "namespace setup: no private app (pid '$tpid')"
else
	attach_both app "$tpid"
fi
wait $upid
[ $? = 0 ] && ok "namespaced target exits 0" || not_ok "namespaced target exit status"

# the same, chrooted inside its namespace into a copy of the whole tree
mkdir -p "$T/croot"
unshare -m --propagation private sh -c '
	mount --rbind / "$1" && mount -t tmpfs none "$1$2" && cp "$3" "$1$2/app2" &&
	exec chroot "$1" "$2/app2" 4000' sh "$T/croot" "$T/ns" "$FIXTURES/cpu_split_nofp" &
upid=$!
tpid=
wait_until 10 pgrep -f "^$T/ns/app2 " >/dev/null && tpid=$(pgrep -f "^$T/ns/app2 " | head -1)
root=$(readlink "/proc/$tpid/root" 2>/dev/null)
# its root as the kernel names it from ours: $T/croot, or with the path of
# our own root before it when we are in a chroot ourselves
if [ -z "$tpid" ] || [ "${root%"$T/croot"}" = "$root" ] ||
	! grep -qF " $root$T/ns/app2" "/proc/$tpid/maps"; then
	not_ok "chroot setup: pid '$tpid', root '$root'"
	[ -n "$tpid" ] && grep app2 "/proc/$tpid/maps" | head -2 | sed 's/^/# /'
else
	attach_both app2 "$tpid"
fi
wait $upid
[ $? = 0 ] && ok "chrooted target exits 0" || not_ok "chrooted target exit status"

# record a program that chroots: its mmap records name its files from its
# own root, which is not ours (cprof runs in that namespace, beside it)
if have_perf; then
	unshare -m --propagation private sh -c '
		mount --rbind / "$1" && mount -t tmpfs none "$1$2" && cp "$3" "$1$2/app3" &&
		exec "$4" record -q -o "$5" -- chroot "$1" "$2/app3" 300' sh "$T/croot" "$T/ns" \
		"$FIXTURES/cpu_split_nofp" "$CPROF" "$T/rc.data" 2>"$T/err" ||
		{ not_ok "record -- chroot failed"; diag_file "$T/err"; }
	"$CPROF" report --stdio -i "$T/rc.data" >"$T/rc.txt" 2>&1
	expect_share "record -- chroot ROOT app3: binary only under ROOT" hot_sixty "$T/rc.txt" 60 5
else
	skip "record a chrooted program" "perf_event not allowed"
fi

# JIT code in a pid + mount namespace with its own /tmp.  The fixture is
# opened before that /tmp hides it (the clone may live under /tmp) and run
# from the descriptor.
if unshare -m -p -f --mount-proc true 2>/dev/null; then
	unshare -m -p -f --mount-proc --propagation private sh -c '
		exec 3<"$1" && mount -t tmpfs none /tmp && exec /proc/self/fd/3 2000' sh \
		"$FIXTURES/jit" >"$T/jpid" &
	upid=$!
	tpid= nspid=
	jit_ready() {
		tpid=$(pgrep -P $upid | head -1)
		[ -n "$tpid" ] || return 1
		nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$tpid/status" 2>/dev/null)
		[ -n "$nspid" ] && [ -s "/proc/$tpid/root/tmp/perf-$nspid.map" ]
	}
	if wait_until 10 jit_ready && [ "$nspid" != "$tpid" ] && [ ! -e "/tmp/perf-$nspid.map" ]; then
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
	skip "JIT in a pid namespace" "unshare -p is not possible here"
fi
