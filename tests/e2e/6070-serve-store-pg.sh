#!/usr/bin/env bash
# cprof serve --db postgresql://...: the store in a real PostgreSQL
# cluster (Debian's, made by initdb in a temporary directory as the
# postgres user, on loopback), shared by two servers: what one stores the
# other lists and serves; concurrent uploads to both; merge and diff;
# --check finds a damaged blob.  The cluster is stopped at the end.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
export GOCACHE=$T/gocache GOPATH=$T/gopath
srvs=
trap 'kill $srvs $(jobs -p) 2>/dev/null; pg_stop; rm -rf "$T"' EXIT
pg_start || { not_ok "store on PostgreSQL: $PG_WHY"; exit 0; }
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >tok
H=(-H "Authorization: Bearer $(cat tok)")

start() { # LOG: a server on the database; sets srv and PORT
	"$CPROF" serve -l 127.0.0.1:0 --token-file tok --db "$DB" 2>"$1" &
	srv=$!
	srvs="$srvs $srv"
	local i
	for i in $(seq 500); do grep -q listening "$1" && break; sleep 0.02; done
	PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$1")
	[ -n "$PORT" ]
}
start a.err || { not_ok "server A did not start" "$(cat a.err)"; exit 0; }
A=http://127.0.0.1:$PORT/api/v1
start b.err || { not_ok "server B did not start" "$(cat b.err)"; exit 0; }
B=http://127.0.0.1:$PORT/api/v1

"$CPROF" record -q -F 999 -o cs.data -- "$FIXTURES/cpu_split_fp" 300 || { not_ok "record failed"; exit 0; }
"$CPROF" convert -i cs.data --to pprof -o cs.pb.gz
id=$(curl -s "${H[@]}" --data-binary @cs.data "$A/profiles?service=web&labels=via%3Da" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
curl -s -o /dev/null "${H[@]}" --data-binary @cs.pb.gz "$B/profiles?service=web&labels=via%3Db"
count() { curl -s "${H[@]}" "$1/profiles?$2&limit=10000" | grep -o '"id":' | wc -l; }
na=$(count "$A" service=web) nb=$(count "$B" service=web) nl=$(count "$B" 'labels=via%3Da')
[ -n "$id" ] && [ "$na" = 2 ] && [ "$nb" = 2 ] && [ "$nl" = 1 ] &&
	ok "two servers on one database: each lists both uploads ($na, $nb), label filter 1" ||
	not_ok "shared store: id '$id', A $na, B $nb, label $nl" "$(cat a.err b.err)"
curl -s -o got.pb.gz "${H[@]}" "$B/profiles/$id/profile.pb.gz"
go tool pprof -top got.pb.gz >top.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' top.txt)
within "${s:-0}" 60 5 && ok "server B serves A's upload: go tool pprof hot_sixty $s%" ||
	not_ok "B's read of A's upload: '$s'" "$(head -8 top.txt)"

# concurrent uploads to both servers: every one stored once
seq 40 | xargs -P 8 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\n' -H 'Authorization: Bearer $(cat tok)' --data-binary @cs.pb.gz '$A/profiles?service=conc&labels=n%3Da{}'" >codes.a &
loader=$!
seq 40 | xargs -P 8 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\n' -H 'Authorization: Bearer $(cat tok)' --data-binary @cs.pb.gz '$B/profiles?service=conc&labels=n%3Db{}'" >codes.b
wait $loader
cat codes.a codes.b >codes
n201=$(grep -c '^201$' codes)
nc=$(count "$A" service=conc)
[ "$n201" = 80 ] && [ "$nc" = 80 ] && ok "80 concurrent uploads to the two servers: 80 stored" ||
	not_ok "concurrent: $n201 x 201, $nc listed"

# merge through B, diff through A
curl -s -o m.pb.gz "${H[@]}" "$B/merge?service=conc&limit=80"
go tool pprof -top m.pb.gz >m.txt 2>&1
s=$(awk '$NF == "hot_sixty" { sub("%", "", $2); print $2; exit }' m.txt)
c=$(curl -s -o d.svg -w '%{http_code}' "${H[@]}" "$A/diff?base_id=$id&target_id=$(curl -s "${H[@]}" "$A/profiles?service=conc&limit=1" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')")
within "${s:-0}" 60 5 && [ "$c" = 200 ] && grep -q hot_sixty d.svg &&
	ok "merge of 80 through B: hot_sixty $s%; a diff through A" || not_ok "merge '$s', diff $c"

# --check: clean, then one blob damaged in the database
"$CPROF" serve --db "$DB" --check >c0.out 2>c0.err
rc0=$?
"${PG[@]}" "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U cprof cprof \
	-c "UPDATE cprof_profiles SET pprof = overlay(pprof placing '\\x58'::bytea from 10 for 1) WHERE id = '$id'" >psql.log 2>&1
"$CPROF" serve --db "$DB" --check >c1.out 2>c1.err
rc1=$?
[ $rc0 = 0 ] && [ $rc1 = 1 ] && [ "$(cat c1.out)" = "$id: profile.pb.gz: checksum mismatch" ] &&
	ok "--check on the database: clean (0), then exactly the damaged blob (1)" ||
	not_ok "--check: $rc0 $rc1" "$(cat c0.out c0.err c1.out c1.err psql.log)"
c=$(curl -s -o out -w '%{http_code}' "${H[@]}" "$A/profiles/$id/profile.pb.gz")
[ "$c" = 500 ] && grep -q damaged out && ok "the damaged blob is refused (500, checksum)" ||
	not_ok "damaged blob read: $c $(cat out)"
"$CPROF" serve -l 127.0.0.1:0 --token-file tok --db postgresql://cprof@127.0.0.1:1/nope 2>bad.err
[ $? = 1 ] && grep -q 'cannot connect' bad.err && [ "$(wc -l <bad.err)" = 1 ] &&
	ok "a database that is not there: one line, exit 1" || not_ok "bad --db" "$(cat bad.err)"
