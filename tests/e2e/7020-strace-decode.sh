#!/usr/bin/env bash
# cprof strace-lite, the decode engine (ptrace): strace's line shape (= at
# column 40, errors by name, +++ exited, --- SIGCHLD, [pid N] only with
# several tracees), -e trace=openat lines with /dev/null and the returned
# fds (the same in JSON), -y paths, -tt -T, -c counts equal strace's, the
# command's exit status, -p attach and detach leaving the target running.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
SH=$FIXTURES/syscall_heavy
R=50

# -e trace=openat: exactly the openat calls (2R+4), those of /dev/null with their fds
"$CPROF" strace-lite -e trace=openat -o o.txt -- "$SH" $R 2>o.err
rc=$?
n=$(grep -c '^openat(' o.txt)
nn=$(grep -cE '^openat\(AT_FDCWD, "/dev/null", O_(RDONLY|WRONLY)\) += [0-9]+$' o.txt)
other=$(grep -v '^openat(' o.txt | grep -vc '^+++ exited with 0 +++$')
[ $rc = 0 ] && [ "$n" = $((2 * R + 4)) ] && [ "$nn" = $((2 * R + 1)) ] && [ "$other" = 0 ] &&
	ok "-e trace=openat: $n lines ($nn of /dev/null with their fds), nothing else but the exit" ||
	not_ok "-e trace=openat: rc $rc, $n lines, $nn /dev/null, $other others" "$(head -5 o.txt)" "$(cat o.err)"

# the line shape: "= " at column 40, errors by name
"$CPROF" strace-lite -s 256 -o l.txt -- "$SH" 1 2>/dev/null
col=$(awk '/^close\([0-9]\) / { print index($0, "= ") }' l.txt | head -1)
grep -qxF 'access("/etc/ld.so.preload", R_OK)      = -1 ENOENT (No such file or directory)' l.txt ||
	grep -q '^openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = [0-9]$' l.txt
shape=$?
first=$(head -1 l.txt)
[ "$col" = 41 ] && [ $shape = 0 ] && grep -qx 'exit_group(0) *= ?' l.txt && grep -qx '+++ exited with 0 +++' l.txt &&
	case $first in "execve(\"$SH\", [\"$SH\", \"1\"], 0x"*" /* "*" vars */) = 0") true ;; *) false ;; esac &&
	ok "lines as strace: execve first, '= ' at column 40, errno names, exit_group = ?, +++ exited" ||
	not_ok "line shape (column $col)" "$(head -3 l.txt)" "$(tail -3 l.txt)"

# --json: 2R+4 objects; the /dev/null ones' ret is the fd the lines show
"$CPROF" strace-lite --json -e trace=openat -o o.json -- "$SH" $R 2>/dev/null
jr=$(python3 -c '
import json, re
calls = [json.loads(l) for l in open("o.json")]
calls = [c for c in calls if c.get("syscall") == "openat"]
null = [c["ret"] for c in calls if c["args"][1] == "/dev/null"]
lines = [int(m.group(1)) for m in re.finditer(r"\"/dev/null\", O_\w+\) += (\d+)", open("o.txt").read())]
assert all(isinstance(r, int) for r in null)
print(len(calls), len(null), "same" if null == lines else "differ")' 2>&1)
[ "$jr" = "$((2 * R + 4)) $((2 * R + 1)) same" ] && ok "--json -e trace=openat: $jr (ret = the fds of the lines)" ||
	not_ok "--json openat: $jr"

# -y: paths of fds, in arguments and returns
"$CPROF" strace-lite -y -e trace=openat,close,write -o y.txt -- "$SH" 2 2>/dev/null
wfd=$(sed -n 's|^openat(AT_FDCWD, "/dev/null", O_WRONLY) = \([0-9]*\)</dev/null>$|\1|p' y.txt)
rfd=$(sed -n 's|^openat(AT_FDCWD, "/dev/null", O_RDONLY) = \([0-9]*\)</dev/null>$|\1|p' y.txt | head -1)
[ -n "$wfd" ] && [ -n "$rfd" ] && grep -q "^close($rfd</dev/null>) *= 0$" y.txt &&
	grep -q "^write($wfd</dev/null>, \"strace-lite 16b\\\\n\", 16) *= 16$" y.txt &&
	ok "-y: $rfd</dev/null> returned and closed, write($wfd</dev/null>, ...)" || not_ok "-y ($wfd $rfd)" "$(grep -E 'dev/null' y.txt | head -4)"

# -tt -T
"$CPROF" strace-lite -tt -T -e trace=getppid -o t.txt -- "$SH" 1 2>/dev/null
nt=$(grep -cE '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6} getppid\(\) += [0-9]+ <0\.[0-9]{6}>$' t.txt)
[ "$nt" = 8 ] && ok "-tt -T: time of day with microseconds, <duration> at the end ($nt lines)" || not_ok "-tt -T: $nt" "$(head -3 t.txt)"

# -c in the decode engine: the counts of strace -c -f
strace -f -c -o st.txt "$SH" 1000 2>/dev/null
"$CPROF" strace-lite --engine ptrace -c -f -o pc.txt -- "$SH" 1000 2>/dev/null
counts() { awk '$NF ~ /^(getppid|write|read|openat|close|execve)$/ { print $NF "=" $(NF - 1) + 0 }' "$1" | sort | tr '\n' ' '; }
[ "$(counts pc.txt)" = "$(counts st.txt)" ] && grep -q 'system CPU time' pc.txt && ok "--engine ptrace -c -f: $(counts pc.txt)(as strace)" ||
	not_ok "ptrace -c counts" "cprof:  $(counts pc.txt)" "strace: $(counts st.txt)"

# -f: children with [pid N], signals, the command's exit status is ours
"$CPROF" strace-lite -f -e trace=execve,exit_group,wait4 -o f.txt -- sh -c "sh -c 'exit 3'; exit 2" 2>/dev/null
rc=$?
grep -qE '^\[pid +[0-9]+\] execve\("/usr/bin/sh", \["sh", "-c", "exit 3"\]' f.txt && grep -qE '^\[pid +[0-9]+\] \+\+\+ exited with 3 \+\+\+$' f.txt &&
	grep -q '^--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=[0-9]*, si_uid=0, si_status=3' f.txt &&
	grep -q '^wait4(-1, \[{WIFEXITED(s) && WEXITSTATUS(s) == 3}\], 0, NULL) = [0-9]*$' f.txt && [ $rc = 2 ] &&
	ok "-f: [pid N] on the child's lines, SIGCHLD, wait4's status, exit status 2 passed on" || not_ok "-f (rc $rc)" "$(cat f.txt)"
"$CPROF" strace-lite -e trace=none -- sh -c 'kill -TERM $$' 2>/dev/null
[ $? = 143 ] && ok "a command killed by SIGTERM: exit status 143" || not_ok "killed command status"

# -p with ptrace: lines of a running process, then detached, still running, untraced
"$SH" 100000000 &
tp=$!
wait_until 10 grep -q '^State' /proc/$tp/status
"$CPROF" strace-lite --engine ptrace -e trace=getppid -p $tp -o p.txt 2>p.err &
cp=$!
wait_until 10 grep -qs '^getppid()' p.txt
traced=$(awk '/^TracerPid/ { print $2 }' /proc/$tp/status)
kill -INT $cp
wait $cp
prc=$?
wait_until 5 sh -c "awk '/^TracerPid/ { exit \$2 != 0 }' /proc/$tp/status"
after=$(awk '/^TracerPid/ { print $2 }' /proc/$tp/status)
state=$(awk '/^State/ { print $2 }' /proc/$tp/status)
kill $tp
wait $tp 2>/dev/null
[ "$traced" = "$cp" ] && [ "$after" = 0 ] && [ $prc = 0 ] && case $state in R | S) true ;; *) false ;; esac &&
	ok "-p (ptrace): traced while it ran, detached at Ctrl-C: TracerPid 0, state $state" ||
	not_ok "-p ptrace: tracer $traced (cprof $cp), after $after, rc $prc, state $state" "$(cat p.err)"
