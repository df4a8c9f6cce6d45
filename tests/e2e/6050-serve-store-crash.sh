#!/usr/bin/env bash
# The store's write order and crash safety: a syscall trace of one upload
# shows both blobs fsynced, their directory renamed into place and the
# data directory fsynced before the index commits; a server SIGKILLed in
# the middle of 200 concurrent uploads comes back with every acknowledged
# upload readable and --check clean.
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || { not_ok "store write order: no strace (make deps-check installs it)"; exit 0; }
cd "$T" || exit 1
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
H=(-H "Authorization: Bearer $(cat tok)")
printf 'main;hot_sixty 60\nmain;hot_thirty 30\nmain;hot_ten 10\n' >p.folded
start() { # the server on the store in $T/store; sets srv, PORT
	: >serve.err
	"$CPROF" serve -l 127.0.0.1:0 --token-file tok --data "$T/store" 2>serve.err &
	srv=$!
	wait_until 10 port
}
port() { PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' serve.err); [ -n "$PORT" ]; }
trap 'kill -9 $srv $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
start || { not_ok "server did not start" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT/api/v1/profiles

# write order, from a trace of the server's threads during one upload
strace -f -y -qq -e trace=fsync,fdatasync,rename,renameat,renameat2,pwrite64,write -p $srv -o trace 2>strace.err &
tracer=$!
traced() { # strace has attached once a request shows up in its trace
	curl -s -o /dev/null "http://127.0.0.1:$PORT/health"
	grep -q . trace 2>/dev/null
}
wait_until 10 traced
id=$(curl -s "${H[@]}" --data-binary @p.folded "$U?service=order" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
kill $tracer
wait $tracer 2>/dev/null
at() { grep -n -m1 -E "$1" trace | cut -d: -f1; } # first line matching
f1=$(at "fsync\([0-9]+<[^>]*/tmp/$id/profile.pb.gz>")
f2=$(at "fsync\([0-9]+<[^>]*/tmp/$id/profile.json>")
f3=$(at "fsync\([0-9]+<[^>]*/tmp/$id>")
rn=$(at "rename.*\"tmp/$id\".*\"$id\"")
fd=$(at "fsync\([0-9]+<$T/store>")
wal=$(grep -n -E "(pwrite64|write)\([0-9]+<[^>]*index.sqlite-wal>" trace | tail -1 | cut -d: -f1)
ws=$(grep -n -E "f(data)?sync\([0-9]+<[^>]*index.sqlite-wal>" trace | tail -1 | cut -d: -f1)
if [ -n "$id" ] && [ -n "$f1" ] && [ -n "$f2" ] && [ -n "$f3" ] && [ -n "$rn" ] && [ -n "$fd" ] &&
	[ -n "$wal" ] && [ -n "$ws" ] && [ "$f1" -lt "$rn" ] && [ "$f2" -lt "$rn" ] && [ "$f3" -lt "$rn" ] &&
	[ "$rn" -lt "$fd" ] && [ "$fd" -lt "$wal" ] && [ "$wal" -le "$ws" ]; then
	ok "strace of an upload: blobs fsynced ($f1, $f2), dir fsynced ($f3), renamed ($rn), store fsynced ($fd), then the index commit ($wal, fsync $ws)"
else not_ok "write order: id '$id' blobs $f1 $f2 dir $f3 rename $rn store $fd wal $wal/$ws" "$(grep -v '^[0-9]* *write(2' trace | head -20)"; fi

# 200 concurrent uploads, SIGKILL in the middle
seq 200 | xargs -P 16 -I{} sh -c "curl -s -m 20 -o ack.{} -w '%{http_code}' -H 'Authorization: Bearer $(cat tok)' --data-binary @p.folded '$U?service=crash&labels=n%3D{}' >code.{}" &
loader=$!
acked() { [ "$(grep -l '^201$' code.* 2>/dev/null | wc -l)" -ge 60 ]; }
wait_until 30 acked
kill -9 $srv
wait $loader 2>/dev/null
wait $srv 2>/dev/null
n=0 ids=()
for f in code.*; do
	[ "$(cat "$f")" = 201 ] || continue
	n=$((n + 1))
	ids+=("$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "ack.${f#code.}")")
done
"$CPROF" serve --data "$T/store" --check >check.out 2>check.err
crc=$?
leftover=$(find "$T/store/tmp" -mindepth 1 | wc -l)
[ $crc = 0 ] && [ ! -s check.out ] && [ "$leftover" = 0 ] &&
	ok "SIGKILL after $n of 200 uploads acknowledged: --check clean, no half file left ($(cat check.err))" ||
	not_ok "after SIGKILL: --check $crc, tmp entries $leftover" "$(cat check.out check.err)"
start || { not_ok "restart failed" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT/api/v1/profiles
missing=0
for i in "${ids[@]}"; do
	c=$(curl -s -o blob -w '%{http_code}' "${H[@]}" "$U/$i/profile.pb.gz")
	[ "$c" = 200 ] || missing=$((missing + 1))
done
listed=$(curl -s "${H[@]}" "$U?service=crash&limit=10000" | grep -o '"id":' | wc -l)
[ "$missing" = 0 ] && [ "$listed" -ge "$n" ] &&
	ok "restarted: all $n acknowledged uploads read back (checksums verified), $listed listed" ||
	not_ok "restart: $missing of $n acknowledged missing, $listed listed"

# retention by bytes: the oldest go, rows and files stay consistent
kill $srv
wait $srv 2>/dev/null
printf '[store]\ndata_dir = %s/ret\nretention_bytes = 8000\n' "$T" >ret.ini
: >serve.err
"$CPROF" serve -l 127.0.0.1:0 --token-file tok -c ret.ini 2>serve.err &
srv=$!
wait_until 10 port || { not_ok "retention server did not start" "$(cat serve.err)"; exit 0; }
U=http://127.0.0.1:$PORT/api/v1/profiles
first=
for i in $(seq 40); do
	id=$(curl -s "${H[@]}" --data-binary @p.folded "$U?service=ret&labels=n%3D$i" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
	[ -z "$first" ] && first=$id
done
kill $srv
wait $srv 2>/dev/null
"$CPROF" serve -c ret.ini --check >rc.out 2>rc.err
crc=$?
bytes=$(sed -n 's/.* profiles, \([0-9]*\) bytes checked.*/\1/p' rc.err)
kept=$(sed -n 's/.*: \([0-9]*\) profiles,.*/\1/p' rc.err)
dirs=$(find "$T/ret" -mindepth 1 -maxdepth 1 -name '[0-9a-f]*' -type d | wc -l)
[ $crc = 0 ] && [ "${bytes:-99999}" -le 8000 ] && [ "${kept:-0}" -gt 0 ] && [ "$kept" -lt 40 ] &&
	[ "$dirs" = "$kept" ] && [ ! -e "$T/ret/$first" ] &&
	ok "retention_bytes 8000 after 40 uploads: $kept kept ($bytes bytes), the oldest gone, files match rows" ||
	not_ok "retention: check $crc, $kept kept, $bytes bytes, $dirs dirs" "$(cat rc.out rc.err)"
