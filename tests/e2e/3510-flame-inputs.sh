#!/usr/bin/env bash
# cprof flame on every input it reads: ./cprof.data by default, pprof,
# perf script text on a pipe; frames of code without symbols are named
# module+0xOFFSET; --colors lang tells the program's code from libraries.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
DATA=$CPROF_TOP/tests/data/perfscript

# perf script text on stdin: the shares of stackcollapse-perf.pl's output
cat "$DATA/default-fp.txt" | "$CPROF" flame >ps.svg 2>err
if [ $? -eq 0 ] && flame_info ps.svg >ps.info; then
	want=$(awk '{ w[$0 ~ /hot_sixty/] += $NF } END { printf "%.1f", 100 * w[1] / (w[0] + w[1]) }' \
		"$DATA/default-fp.folded")
	got=$(flame_share hot_sixty ps.info)
	within "$got" "$want" 0.1 && ok "perf script | cprof flame: hot_sixty $got% as in the folded golden ($want%)" ||
		not_ok "perf script | cprof flame: hot_sixty $got% (want $want%)"
else
	not_ok "perf script | cprof flame"
	diag_file err
fi

skip_unless_perf "cprof flame on a recording" || exit 0
cp "$FIXTURES/cpu_split_nofp" split
strip -s split
"$CPROF" record -q -- ./split 300 >/dev/null 2>rec.err || { not_ok "record"; diag_file rec.err; exit 0; }
"$CPROF" record -q -o full.data -- "$FIXTURES/cpu_split_nofp" 300 >/dev/null 2>&1

# no -i: ./cprof.data (stdin is /dev/null, not a pipe); stripped: module+0x names,
# not [unknown] (but a sample in the kernel's execve, before the program has a
# user stack, is rightly [unknown]: one or two of ~450)
"$CPROF" flame >def.svg 2>err
if [ $? -eq 0 ] && flame_info def.svg >def.info &&
	grep -qE '^[0-9.]+	split\+0x[0-9a-f]+ \(' def.info &&
	! grep -qE '	\[unknown\] \([0-9]+ samples, ([1-9]|[0-9]{2,})\.' def.info; then
	ok "cprof flame reads ./cprof.data; frames without symbols read split+0xOFFSET"
else
	not_ok "cprof flame reads ./cprof.data; frames without symbols read split+0xOFFSET"
	diag_file def.info 20
	diag_file err
fi

# pprof input: the same shares as the recording it came from
"$CPROF" convert -i full.data --to pprof -o full.pb.gz 2>/dev/null
"$CPROF" flame -i full.data -o rec.svg 2>/dev/null && flame_info rec.svg >rec.info
"$CPROF" flame -i full.pb.gz -o pp.svg 2>err
if [ $? -eq 0 ] && flame_info pp.svg >pp.info &&
	[ "$(flame_share hot_sixty pp.info)" = "$(flame_share hot_sixty rec.info)" ] &&
	[ "$(flame_share hot_sixty pp.info)" != 0.0 ]; then
	ok "flame -i FILE.pb.gz: hot_sixty $(flame_share hot_sixty pp.info)% as from the recording"
else
	not_ok "flame -i FILE.pb.gz: hot_sixty $(flame_share hot_sixty pp.info)% vs $(flame_share hot_sixty rec.info)%"
	diag_file err
fi

# --colors lang: the program's functions red, libc's yellow.  Which frame
# is whose comes from the report's Module column, not from libc's function
# names: those depend on whether libc's debug symbols are installed.
"$CPROF" flame -i full.data --colors lang -o lang.svg 2>/dev/null && flame_info lang.svg >lang.info
"$CPROF" report --stdio -i full.data >lang.txt 2>/dev/null
# (a name in two modules, such as _start in the program and in ld.so when
# a sample lands in the loader, says nothing: it is left out)
report_tsv lang.txt | awk -F'\t' '{ if (!($7 in m)) m[$7] = $8; else if (m[$7] != $8) m[$7] = "*" }
	END { for (n in m) if (m[n] == "cpu_split_nofp") print "main\t" n;
		else if (m[n] == "libc.so.6") print "lib\t" n }' >lang.mods
# kind<TAB>name<TAB>rgb for each frame of the graph whose module is known
awk -F'\t' 'NR == FNR { kind[$2] = $1; next }
	FNR > 1 { n = $2; sub(/ \([0-9]+ samples?, [0-9.]+%\)$/, "", n)
		if (n in kind) print kind[n] "\t" n "\t" $3 }' lang.mods lang.info >lang.col
# main's palette keeps green low (50-110), the libraries' high (190-235)
bad=$(awk -F'\t' '{ split($3, c, /[(,)]/); g = c[3] + 0
	if (($1 == "main" && g > 110) || ($1 == "lib" && g < 190)) print $1 " " $2 " " $3 }' lang.col)
nmain=$(grep -c '^main' lang.col) nlib=$(grep -c '^lib' lang.col)
if [ "$nmain" -ge 3 ] && [ "$nlib" -ge 1 ] && [ -z "$bad" ]; then
	ok "--colors lang: $nmain frames of the program red, $nlib of libc.so.6 yellow"
else
	not_ok "--colors lang: $nmain program frames, $nlib libc frames, wrong colours: '$bad'"
	diag_file lang.col 12
	diag_file lang.info 8
fi
