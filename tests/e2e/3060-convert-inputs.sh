#!/usr/bin/env bash
# convert/report/flame: input format detection, stdin in a pipe, --from,
# --sample-type, and atomic output over a good file.  No recording needed.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

printf 'main;work;leaf 7\nmain;other 3\n' >a.folded

# detection: folded from a file and from a pipe (stdin is the default input in a pipe)
out=$("$CPROF" convert -i a.folded --to folded 2>"$T/err")
if [ "$out" = $'main;other 3\nmain;work;leaf 7' ]; then
	ok "folded input detected and written back"
else
	not_ok "folded input detected and written back" "got: $out"
	diag_file "$T/err"
fi
out=$(cat a.folded | "$CPROF" convert --to folded 2>"$T/err")
if [ "$out" = $'main;other 3\nmain;work;leaf 7' ]; then
	ok "stdin is the input in a pipe"
else
	not_ok "stdin is the input in a pipe" "got: $out"
	diag_file "$T/err"
fi
out=$("$CPROF" convert --to folded <a.folded 2>"$T/err")
if [ "$out" = $'main;other 3\nmain;work;leaf 7' ]; then
	ok "stdin redirected from a file is the input"
else
	not_ok "stdin redirected from a file is the input" "got: $out"
fi
# -i - reads stdin explicitly; --from forces the reader
out=$("$CPROF" convert -i - --from folded --to folded <a.folded 2>"$T/err")
[ "$out" = $'main;other 3\nmain;work;leaf 7' ] && ok "-i - with --from folded" ||
	not_ok "-i - with --from folded" "got: $out"

# report reads folded input too: leaf has 70% self
"$CPROF" report --stdio -i a.folded >rep.txt 2>"$T/err"
if awk '$4 == "leaf" && $1 == "70.00" && $3 == "7" { f = 1 } END { exit !f }' rep.txt; then
	ok "report on folded input: leaf 70.00% self, 7 samples"
else
	not_ok "report on folded input: leaf 70.00% self, 7 samples"
	diag_file rep.txt
	diag_file "$T/err"
fi

# --sample-type: unknown names list the profile's types
"$CPROF" convert -i a.folded --to folded --sample-type cpu >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown sample type 'cpu' (this profile has: samples)" "$T/err"; then
	ok "--sample-type with an unknown type: exit 2 listing the types"
else
	not_ok "--sample-type with an unknown type: exit 2 listing the types" "exit $rc"
	diag_file "$T/err"
fi

# a failed convert never replaces a good output file
printf 'good\n' >keep.folded
printf 'main;x 1\nbroken line\n' >bad.folded
"$CPROF" convert -i bad.folded --from folded --to folded -o keep.folded 2>"$T/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(cat keep.folded)" = good ] && [ ! -e keep.folded.tmp ] &&
	grep -q "line 2" "$T/err"; then
	ok "bad folded input: error names line 2, exit 1, good output file kept"
else
	not_ok "bad folded input: error names line 2, exit 1, good output file kept" "exit $rc"
	diag_file "$T/err"
fi

# flame reads the operand as its input, and refuses two stdins for --diff
"$CPROF" flame a.folded -o a.svg 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "<svg" a.svg; then
	ok "flame FILE writes an SVG"
else
	not_ok "flame FILE writes an SVG" "exit $rc"
	diag_file "$T/err"
fi
"$CPROF" flame --diff - -i - >/dev/null 2>"$T/err" </dev/null
[ $? -eq 2 ] && ok "flame --diff - with stdin input: exit 2" ||
	not_ok "flame --diff - with stdin input: exit 2"
"$CPROF" flame --normalize a.folded >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "needs --diff" "$T/err" && ok "--normalize without --diff: exit 2" ||
	not_ok "--normalize without --diff: exit 2"

# an output that is not a regular file (a FIFO here; /dev/null alike) is
# written into, never replaced by a renamed temporary file
mkfifo out.fifo
timeout 20 cat out.fifo >fifo.got &
reader=$!
"$CPROF" flame -i a.folded -o out.fifo 2>"$T/err"
rc=$?
wait $reader
if [ $rc -eq 0 ] && [ -p out.fifo ] && grep -q "<svg" fifo.got && [ ! -e out.fifo.tmp ]; then
	ok "flame -o FIFO: written into the FIFO, which stays a FIFO"
else
	not_ok "flame -o FIFO: written into the FIFO, which stays a FIFO" "exit $rc"
	ls -la | sed 's/^/# /'
fi
