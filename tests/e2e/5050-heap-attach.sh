#!/usr/bin/env bash
# cprof heap -p: attach to a running allocation loop, record a window,
# detach; the process keeps running and exits normally.  Also when cprof
# is killed while attached.
. "$(dirname "$0")/lib.sh"

cp "$FIXTURES/alloc_heavy" "$T/loop"
start_loop() { # TAG: run the loop under sh, its exit status into $T/TAG.status
	rm -f "$T/$1.status"
	sh -c '"$0"/loop 1500000; echo $? >"$0"/'"$1"'.status' "$T" &
	pid=
	wait_until 10 found
}
found() { pid=$(pgrep -f "^$T/loop 1500000" | head -1); [ -n "$pid" ]; }
status_of() { [ -s "$T/$1.status" ]; }
leaf_sum() {
	"$CPROF" convert -i "$1" --to folded --sample-type alloc_objects 2>/dev/null |
		awk -v f="$2" '{ n = split($1, a, ";"); if (a[n] == f) s += $NF } END { print s + 0 }'
}

start_loop a
if "$CPROF" heap -p "$pid" -d 1 -o "$T/a.data" 2>"$T/a.err"; then ok "heap -p $pid -d 1"; else
	not_ok "heap -p failed" "$(cat "$T/a.err")"; fi
st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
if [ -n "$st" ] && [ "$st" != T ] && [ "$st" != t ]; then ok "after detach the process runs on (state $st)"; else
	not_ok "after detach: state '$st'"; fi
if wait_until 60 status_of a && [ "$(cat "$T/a.status")" = 0 ]; then ok "and exits normally (0)"; else
	not_ok "exit status '$(cat "$T/a.status" 2>/dev/null)'"; fi
# the window holds whole rounds but for the two ends
r=$(leaf_sum "$T/a.data" site_realloc) m=$(leaf_sum "$T/a.data" site_malloc) c=$(leaf_sum "$T/a.data" site_calloc)
k=$((r / 16))
if [ "$k" -gt 100 ] && [ "$m" -ge $((64 * (k - 1))) ] && [ "$m" -le $((64 * (k + 2))) ] &&
	[ "$c" -ge $((32 * (k - 1))) ] && [ "$c" -le $((32 * (k + 2))) ]; then
	ok "the window's calls: $m site_malloc, $c site_calloc, $r site_realloc (~$k rounds)"
else
	not_ok "window counts: malloc $m calloc $c realloc $r"
fi
"$CPROF" report --stdio -i "$T/a.data" >"$T/a.txt" 2>&1
if grep -q '^# attached to a running process: what it allocated before is unknown' "$T/a.txt" &&
	grep -q 'sampler: attach' "$T/a.txt" && grep -q 'frees of such blocks not counted' "$T/a.err"; then
	ok "the report says what came before the attach is unknown"
else
	not_ok "report header" "$(head -10 "$T/a.txt")" "$(cat "$T/a.err")"
fi

# cprof killed while attached: the loop stops waiting for it and runs on
start_loop b
"$CPROF" heap -p "$pid" -o "$T/b.data" 2>"$T/b.err" &
cp_pid=$!
written() { [ -s "$T/b.data" ] && [ "$(stat -c %s "$T/b.data")" -gt 64 ]; }
wait_until 10 written
kill -KILL $cp_pid
wait $cp_pid 2>/dev/null
if wait_until 60 status_of b && [ "$(cat "$T/b.status")" = 0 ]; then
	ok "cprof killed while attached: the process runs to exit 0"
else
	not_ok "cprof killed while attached: status '$(cat "$T/b.status" 2>/dev/null)'"; kill -KILL "$pid" 2>/dev/null
fi

# usage and errors
"$CPROF" heap -p 999999999 2>"$T/e" >/dev/null
rc=$?
if [ $rc = 2 ] || { [ $rc = 1 ] && [ "$(wc -l <"$T/e")" = 1 ]; }; then ok "-p of no process: exit $rc, one line"; else
	not_ok "-p of no process: rc $rc" "$(cat "$T/e")"; fi
"$CPROF" heap -p 1 -- true 2>"$T/e"
if [ $? = 2 ] && grep -q -- "-p and a command" "$T/e"; then ok "-p with a command: usage error"; else
	not_ok "-p with a command" "$(cat "$T/e")"; fi
"$CPROF" heap -d 1 -- true 2>"$T/e"
if [ $? = 2 ] && grep -q -- "-d goes with -p" "$T/e"; then ok "-d without -p: usage error"; else
	not_ok "-d without -p" "$(cat "$T/e")"; fi
