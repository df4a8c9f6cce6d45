#!/usr/bin/env bash
# cprof heap on threads (exact counts per thread), children, and the
# programs it cannot profile.
. "$(dirname "$0")/lib.sh"

R=2000 N=4
if "$CPROF" heap -q -o "$T/t.data" -- "$FIXTURES/alloc_threads" $R $N 2>"$T/err"; then
	ok "cprof heap alloc_threads $R $N"
else
	not_ok "cprof heap alloc_threads failed" "$(cat "$T/err")"
fi
# per thread name: leaf -> calls, bytes, leaked
"$CPROF" convert -i "$T/t.data" --to folded --thread-root comm --sample-type alloc_objects >"$T/n.txt"
"$CPROF" convert -i "$T/t.data" --to folded --thread-root comm --sample-type alloc_space >"$T/b.txt"
"$CPROF" convert -i "$T/t.data" --to folded --thread-root comm --sample-type inuse_space >"$T/l.txt"
per() { awk -v t="$2" -v f="$3" '{ n = split($1, a, ";"); if (a[1] == t && a[n] == f) s += $NF } END { print s + 0 }' "$1"; }
bad=""
for t in $(seq 0 $((N - 1))); do
	c=$(per "$T/n.txt" alloc-$t thread_round) b=$(per "$T/b.txt" alloc-$t thread_round)
	lk=$(per "$T/l.txt" alloc-$t leak_in_thread) lr=$(per "$T/l.txt" alloc-$t thread_round)
	[ "$c" = $((32 * R)) ] && [ "$b" = $((3712 * R)) ] && [ "$lk" = 1000 ] && [ "$lr" = 0 ] ||
		bad="$bad alloc-$t:calls=$c,bytes=$b,leak=$lk,round-leak=$lr"
done
if [ -z "$bad" ]; then ok "each of $N threads: $((32 * R)) calls, $((3712 * R)) bytes, 1000 bytes leaked"; else
	not_ok "per thread:$bad"; fi
"$CPROF" report --stdio --sort comm -i "$T/t.data" --sample-type alloc_objects >"$T/r.txt"
n=$(grep -c '^ .*alloc-[0-9]' "$T/r.txt")
if [ "$n" = $N ]; then ok "report --sort comm: $N threads"; else not_ok "report --sort comm: $n rows" "$(cat "$T/r.txt")"; fi

# children: not followed by default, followed with -f
"$CPROF" heap -q -o "$T/c.data" -- sh -c "\"$FIXTURES/alloc_heavy\" 10; true"
n=$("$CPROF" convert -i "$T/c.data" --to folded --sample-type alloc_objects | grep -c 'site_malloc')
if [ "$n" = 0 ]; then ok "without -f: the child is left alone"; else not_ok "without -f: child recorded ($n)"; fi
"$CPROF" heap -q -f -o "$T/f.data" -- sh -c "\"$FIXTURES/alloc_heavy\" 10; true"
n=$("$CPROF" convert -i "$T/f.data" --to folded --sample-type alloc_objects |
	awk '{ n = split($1, a, ";"); if (a[n] == "site_malloc") s += $NF } END { print s + 0 }')
if [ "$n" = 640 ]; then ok "-f: the executed child's 640 site_malloc calls"; else not_ok "-f: site_malloc $n"; fi

# the exit status is the command's
"$CPROF" heap -q -o "$T/e.data" -- sh -c 'exit 3'
rc=$?
if [ $rc = 3 ]; then ok "exit status of the command (3)"; else not_ok "exit status $rc"; fi

# what cannot be profiled: one line, exit 1 (127: no such command), an
# existing recording untouched
echo keep >"$T/keep.data"
"$CPROF" heap -o "$T/keep.data" -- "$FIXTURES/alloc_static" 10 >"$T/o" 2>"$T/err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "statically linked" "$T/err"; then
	ok "static binary: exit 1, $(cat "$T/err")"; else not_ok "static binary: rc $rc" "$(cat "$T/err")"; fi
if [ "$(cat "$T/keep.data")" = keep ] && [ ! -e "$T/keep.data.old" ]; then ok "static binary: nothing written"; else
	not_ok "static binary: the output was touched"; fi
cp "$FIXTURES/alloc_heavy" "$T/suid" && chown nobody "$T/suid" && chmod 4755 "$T/suid"
"$CPROF" heap -o "$T/keep.data" -- "$T/suid" 10 >"$T/o" 2>"$T/err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "set-user-ID" "$T/err"; then
	ok "setuid binary: exit 1, one line"; else not_ok "setuid binary: rc $rc" "$(cat "$T/err")"; fi
"$CPROF" heap -o "$T/keep.data" -- "$T/no-such-program" >"$T/o" 2>"$T/err"
rc=$?
if [ $rc = 127 ] && grep -q "cannot run" "$T/err"; then ok "missing command: 127"; else
	not_ok "missing command: rc $rc" "$(cat "$T/err")"; fi
if [ "$(cat "$T/keep.data")" = keep ]; then ok "errors: the existing recording untouched"; else
	not_ok "errors: the existing recording changed"; fi
"$CPROF" heap --sample 12Q -- true 2>"$T/err"
rc=$?
if [ $rc = 2 ] && grep -q -- "--sample: '12Q'" "$T/err"; then ok "bad --sample: usage error"; else
	not_ok "bad --sample: rc $rc" "$(cat "$T/err")"; fi
