#!/usr/bin/env bash
# convert --to pprof on a live recording of cpu_split_nofp: a gzipped
# profile.proto that `go tool pprof` reads with the same flat sample
# counts as `cprof report`, that cprof reads back (also after
# `go tool pprof -proto` rewrote it) with the same table, and corrupt
# pprof input: a one-line error, exit 1, no output file.
. "$(dirname "$0")/lib.sh"

skip_unless_perf "convert --to pprof on a recording of cpu_split_nofp" || exit 0
cd "$T" || exit 1
"$CPROF" record -q -- "$FIXTURES/cpu_split_nofp" 700 >rec.out 2>rec.err
rc=$?
if [ $rc -ne 0 ]; then
	skip "convert --to pprof on a recording of cpu_split_nofp" \
		"cprof record failed (exit $rc): $(head -c 200 rec.err | tr '\n' ' ')"
	exit 0
fi

# table ROWS of `cprof report --stdio --sort function` as "name<TAB>samples"
# lines for rows with self samples, sorted.  Code no symbol names
# ("libc.so.6+0x271d0") is unsymbolized in pprof, which groups it by
# mapping as "[libc.so.6]": so does this.
cprof_flat() {
	awk '/^#/ { next } $3 > 0 {
		name = ""
		for (i = 4; i <= NF; i++) name = name (i > 4 ? " " : "") $i
		if (name ~ /^[^ ]+\+0x[0-9a-f]+$/) { sub(/\+0x[0-9a-f]+$/, "", name); name = "[" name "]" }
		n[name] += $3
	} END { for (k in n) printf "%s\t%s\n", k, n[k] }' "$1" | LC_ALL=C sort
}
# the same from `go tool pprof -top` (flat column, rows with flat > 0)
go_flat() {
	awk 'f && $1 > 0 {
		name = ""
		for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i
		printf "%s\t%s\n", name, $1
	} /^ *flat +flat%/ { f = 1 }' "$1" | LC_ALL=C sort
}
# the table of a report, without the header lines
table() { grep -v '^#' "$1"; }

"$CPROF" convert --to pprof -o split.pb.gz 2>conv.err
rc=$?
magic=$(head -c 2 split.pb.gz 2>/dev/null | od -An -tx1 | tr -d ' ')
if [ $rc -eq 0 ] && [ "$magic" = 1f8b ] && [ ! -e split.pb.gz.tmp ] && [ ! -s conv.err ]; then
	ok "convert --to pprof -o: a gzipped file, nothing on stderr"
else
	not_ok "convert --to pprof -o: a gzipped file, nothing on stderr" "exit $rc, magic '$magic'"
	diag_file conv.err
fi

"$CPROF" report --stdio --sort function >rep.txt 2>/dev/null
"$CPROF" report --stdio --sort function -i split.pb.gz >pp.txt 2>pp.err
rc=$?
if [ $rc -eq 0 ] && [ -s rep.txt ] && diff <(table rep.txt) <(table pp.txt) >diff.txt; then
	ok "report -i FILE.pb.gz: the same table as the recording"
else
	not_ok "report -i FILE.pb.gz: the same table as the recording" "exit $rc"
	diag_file diff.txt
	diag_file pp.err
fi

"$CPROF" convert --to pprof >stdout.pb.gz 2>/dev/null
if [ $? -eq 0 ] && cmp -s stdout.pb.gz split.pb.gz; then
	ok "convert --to pprof writes the same bytes to standard output"
else
	not_ok "convert --to pprof writes the same bytes to standard output"
fi

if ! command -v go >/dev/null 2>&1; then
	skip "go tool pprof reads our file with the same flat counts" "go is not installed"
	skip "go tool pprof -proto output reads back with the same table" "go is not installed"
else
	export HOME="$T" GOFLAGS='' GOTOOLCHAIN=local
	go tool pprof -top -noinlines -nodefraction=0 -nodecount=1000000 -symbolize=none \
		-sample_index=samples \
		split.pb.gz >go-top.txt 2>go-top.err
	rc=$?
	cprof_flat rep.txt >want.tsv
	go_flat go-top.txt >got.tsv
	if [ $rc -eq 0 ] && [ -s want.tsv ] && grep -q "^hot_sixty	" got.tsv &&
		diff want.tsv got.tsv >flat.diff; then
		ok "go tool pprof -top: every function's flat samples equal cprof report's ($(wc -l <got.tsv) functions)"
	else
		not_ok "go tool pprof -top: every function's flat samples equal cprof report's" "exit $rc"
		diag_file flat.diff
		diag_file go-top.txt
		diag_file go-top.err
	fi

	go tool pprof -proto -symbolize=none split.pb.gz >go.pb.gz 2>go-proto.err
	rc=$?
	"$CPROF" report --stdio --sort function -i go.pb.gz >go-rep.txt 2>go-rep.err
	rc2=$?
	if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && diff <(table rep.txt) <(table go-rep.txt) >go.diff; then
		ok "go tool pprof -proto output reads back with the same table"
	else
		not_ok "go tool pprof -proto output reads back with the same table" "exit $rc/$rc2"
		diag_file go.diff
		diag_file go-proto.err
		diag_file go-rep.err
	fi
	ours=$(stat -c %s split.pb.gz) theirs=$(stat -c %s go.pb.gz)
	if [ "$ours" -le "$theirs" ]; then
		ok "our file ($ours bytes) is no larger than go tool pprof's ($theirs bytes)"
	else
		not_ok "our file ($ours bytes) is no larger than go tool pprof's ($theirs bytes)"
	fi
fi

# inline frames: cpp_inline's hot code is inlined; pprof gets the inline
# chains as Line entries, and with -noinlines attributes flat time to the
# real function, as cprof report's Self does
if command -v go >/dev/null 2>&1 &&
	"$CPROF" record -q -o inl.cprof -- "$FIXTURES/cpp_inline" >/dev/null 2>&1; then
	"$CPROF" convert -i inl.cprof --to pprof -o inl.pb.gz 2>/dev/null
	"$CPROF" report --stdio --sort function -i inl.cprof >inl-rep.txt 2>/dev/null
	go tool pprof -top -noinlines -nodefraction=0 -nodecount=1000000 -symbolize=none \
		-sample_index=samples inl.pb.gz >inl-go.txt 2>/dev/null
	go tool pprof -top -nodefraction=0 -nodecount=1000000 -symbolize=none \
		-sample_index=samples inl.pb.gz >inl-go-inl.txt 2>/dev/null
	if diff <(cprof_flat inl-rep.txt) <(go_flat inl-go.txt) >inl.diff &&
		grep -q ' (inline)$' inl-go-inl.txt; then
		ok "cpp_inline: go tool pprof sees the inline frames; -noinlines flat = cprof Self"
	else
		not_ok "cpp_inline: go tool pprof sees the inline frames; -noinlines flat = cprof Self"
		diag_file inl.diff
		diag_file inl-go-inl.txt
	fi
else
	skip "cpp_inline through go tool pprof" "no go, or cprof record failed"
fi

# corrupt pprof input: a truncated gzip stream, and a truncated raw message
size=$(stat -c %s split.pb.gz)
head -c $((size / 2)) split.pb.gz >cut.pb.gz
gzip -dc split.pb.gz | head -c 300 >cut.pb
for f in cut.pb.gz cut.pb; do
	"$CPROF" report --stdio -i "$f" >bad.txt 2>bad.err
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <bad.err)" -eq 1 ] &&
		grep -qE "^cprof report: error: '$f': byte [0-9]+" bad.err; then
		ok "report -i $f: one-line error with the byte offset, exit 1"
	else
		not_ok "report -i $f: one-line error with the byte offset, exit 1" "exit $rc"
		diag_file bad.err
	fi
	"$CPROF" convert --to pprof -i "$f" -o out.pb.gz >conv.out 2>conv.err
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <conv.err)" -eq 1 ] && [ ! -e out.pb.gz ] &&
		[ ! -e out.pb.gz.tmp ] && [ ! -s conv.out ]; then
		ok "convert -i $f: one-line error, exit 1, no output file left"
	else
		not_ok "convert -i $f: one-line error, exit 1, no output file left" "exit $rc"
		diag_file conv.err
		ls -la | sed 's/^/# /'
	fi
done
