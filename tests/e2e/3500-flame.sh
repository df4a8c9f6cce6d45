#!/usr/bin/env bash
# cprof flame: the SVG is well-formed and self-contained, the frames carry
# the right shares, --inverted/--reverse/--diff change the layout, and bad
# options are usage errors.  Folded input needs no perf_event; a live
# recording of cpu_split_nofp checks the shares of a real profile.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1

if ! "$CPROF" flame --help >/dev/null 2>&1; then
	skip "cprof flame" "this build has no flame subcommand"
	exit 0
fi

# y_of NAME INFO: y of the first frame named NAME
y_of() {
	awk -F'\t' -v n="$1" 'NR > 1 && index($2, n " (") == 1 { print $1; exit }' "$2"
}

# ---- usage errors --------------------------------------------------------
printf 'main;run;hot 3\n' >tiny.folded
usage_error() {
	local desc=$1 pat=$2 rc
	shift 2
	"$CPROF" flame -i tiny.folded -o bad.svg "$@" >out 2>err
	rc=$?
	# the error is the first line (the usage summary follows, as for every command)
	if [ $rc -eq 2 ] && head -n 1 err | grep -qE -- "^cprof flame: error: .*$pat" && [ ! -s bad.svg ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit $rc (want 2 and one line matching '$pat'), stderr:"
		diag_file err
	fi
}
usage_error "--colors x: exit 2 naming the palettes" \
	"unknown colou?r palette 'x' \(supported: hot, mem, io, wakeup, lang\)" --colors x
usage_error "--width abc: exit 2" "width" --width abc
usage_error "--frame-height 0x: exit 2" "frame-height" --frame-height 0x
usage_error "--no-such-option: exit 2" "no-such-option" --no-such-option
usage_error "--minwidth x: exit 2" "minwidth" --minwidth x
usage_error "--normalize without --diff: exit 2" "normalize" --normalize
usage_error "--sample-type nosuch: exit 2 naming the types" "nosuch.*samples" --sample-type nosuch

# ---- folded input: layout, options, diff ------------------------------------
cat >base.folded <<'EOF'
main;run;hot_sixty 40
main;run;hot_thirty 30
main;run;hot_ten 10
main;setup;parse 20
EOF
cat >new.folded <<'EOF'
main;run;hot_sixty 90
main;run;hot_thirty 10
main;run;hot_ten 10
main;run;hot_ten;fresh 10
EOF
if "$CPROF" flame -i new.folded -o new.svg 2>err && flame_info new.svg >new.info 2>err.py; then
	ok "folded input: a well-formed SVG"
else
	not_ok "folded input: a well-formed SVG"
	diag_file err
	diag_file err.py
fi
s60=$(flame_share hot_sixty new.info)
if within "$s60" 75 0.01 && grep -q '^title	Flame Graph$' new.info &&
	grep -q 'hot_sixty (90 samples, 75.00%)' new.info; then
	ok "folded: hot_sixty has 90 of 120 samples in its title"
else
	not_ok "folded: hot_sixty has 90 of 120 samples in its title" "share $s60"
	diag_file new.info
fi

# self-contained: no scripts, fonts or images from elsewhere
urls=$(grep -oE '[a-z]+://[^"]*' new.svg | sort -u | tr '\n' ' ')
if [ "$urls" = "http://www.w3.org/1999/xlink http://www.w3.org/2000/svg " ] &&
	! grep -qiE '(href|src)="|@import|url\((http|//)' new.svg &&
	grep -q '<script type="text/ecmascript"><!\[CDATA\[' new.svg; then
	ok "the SVG embeds its script and loads nothing"
else
	not_ok "the SVG embeds its script and loads nothing" "URLs: $urls"
	grep -niE '(href|src)="|@import|url\(' new.svg | head -5 | sed 's/^/# /'
fi

"$CPROF" flame -i new.folded -o again.svg 2>/dev/null
"$CPROF" flame -i - <new.folded >stdin.svg 2>/dev/null
if cmp -s new.svg again.svg && cmp -s new.svg stdin.svg; then
	ok "same input, same bytes (also from standard input to standard output)"
else
	not_ok "same input, same bytes (also from standard input to standard output)"
fi

# flame: callers below callees; --inverted: an icicle, the root on top
"$CPROF" flame -i new.folded --inverted -o icicle.svg 2>err && flame_info icicle.svg >icicle.info
ya=$(y_of all new.info) ym=$(y_of main new.info) ia=$(y_of all icicle.info) im=$(y_of main icicle.info)
if [ -n "$ya" ] && [ -n "$ia" ] && awk -v a="$ya" -v m="$ym" -v ia="$ia" -v im="$im" \
	'BEGIN { exit !(m < a && im > ia) }' && grep -q '^title	Icicle Graph$' icicle.info; then
	ok "--inverted puts the root on top (all y $ya -> $ia)"
else
	not_ok "--inverted puts the root on top" "flame all=$ya main=$ym, icicle all=$ia main=$im"
	diag_file err
fi

# --reverse: merged from the leaves, so the leaf functions sit on "all"
"$CPROF" flame -i new.folded --reverse -o rev.svg 2>err && flame_info rev.svg >rev.info
yr=$(y_of all rev.info) yh=$(y_of hot_sixty rev.info) yp=$(y_of main new.info)
if [ -n "$yr" ] && [ -n "$yh" ] && [ "$yh" = "$yp" ] && ! cmp -s rev.svg new.svg; then
	ok "--reverse starts merged from the leaves (hot_sixty at depth 1)"
else
	not_ok "--reverse starts merged from the leaves" "all=$yr hot_sixty=$yh (want $yp)"
	diag_file rev.info
fi

"$CPROF" flame -i new.folded -o opts.svg --title 'Mine & <yours>' --subtitle sub \
	--width 800 --frame-height 20 --font-size 10 --minwidth 2 --colors mem --hash \
	--countname ticks 2>err
if [ $? -eq 0 ] && flame_info opts.svg >opts.info &&
	grep -q '^title	Mine & <yours>$' opts.info && grep -q 'width="800"' opts.svg &&
	grep -q 'height="19"' opts.svg && grep -q 'hot_sixty (90 ticks, 75.00%)' opts.info &&
	grep -q '>sub</text>' opts.svg; then
	ok "--title, --subtitle, --width, --frame-height, --colors, --countname"
else
	not_ok "--title, --subtitle, --width, --frame-height, --colors, --countname"
	diag_file err
	diag_file opts.info
fi

# --diff: grown red, shrunk blue, vanished hatched
"$CPROF" flame -i new.folded --diff base.folded -o diff.svg 2>err && flame_info diff.svg >diff.info
if grep -q '^title	Differential Flame Graph$' diff.info &&
	grep -qE 'hot_sixty \(before 40, after 90, \+50 / \+125.00%\)	rgb\(255,' diff.info &&
	grep -qE 'hot_thirty \(before 30, after 10, -20 / -66.67%\)	rgb\([0-9]+,[0-9]+,255\)' diff.info &&
	grep -qE '^[0-9.]+	parse \(before 20, after 0, .*url\(#hatch\)$' diff.info &&
	grep -qE 'fresh \(before 0, after 10, \+10 / new\)	rgb\(255,0,0\)' diff.info; then
	ok "--diff marks grown frames red, shrunk blue, vanished hatched"
else
	not_ok "--diff marks grown frames red, shrunk blue, vanished hatched"
	diag_file err
	diag_file diff.info
fi
"$CPROF" flame -i new.folded --diff base.folded --normalize -o norm.svg 2>err &&
	flame_info norm.svg >norm.info
# base 100 -> 120: run's 80 becomes 96
if grep -qE 'run \(before 96, after 120, \+24 / \+25.00%\)' norm.info &&
	grep -qE 'run \(before 80, after 120, \+40 / \+50.00%\)' diff.info; then
	ok "--normalize scales the base to the new total"
else
	not_ok "--normalize scales the base to the new total"
	diag_file norm.info
fi

# ---- a live recording of cpu_split_nofp ----------------------------------------
skip_unless_perf "flame of a cpu_split_nofp recording" || exit 0
if ! "$CPROF" record -q -o a.data -- "$FIXTURES/cpu_split_nofp" 300 >/dev/null 2>rec.err; then
	skip "flame of a cpu_split_nofp recording" "cprof record failed: $(head -c 200 rec.err)"
	exit 0
fi
"$CPROF" flame -i a.data --sample-type cpu -o cpu.svg 2>err
if grep -qE '<title>hot_sixty \([0-9,]+ cpu ns, [0-9.]+%\)' cpu.svg; then
	ok "recording: --sample-type cpu weighs frames in cpu ns"
else
	not_ok "recording: --sample-type cpu weighs frames in cpu ns"
	diag_file err
fi
if "$CPROF" flame -i a.data -o a.svg 2>err && flame_info a.svg >a.info; then
	ok "recording: a well-formed SVG"
else
	not_ok "recording: a well-formed SVG"
	diag_file err
fi
s60=$(flame_share hot_sixty a.info) s30=$(flame_share hot_thirty a.info)
if within "$s60" 60 8 && within "$s30" 30 6; then
	ok "recording: hot_sixty $s60% (want 60), hot_thirty $s30% (want 30)"
else
	not_ok "recording: hot_sixty $s60% (want 60), hot_thirty $s30% (want 30)"
	diag_file a.info
fi

"$CPROF" flame -i a.data --reverse --inverted -o ar.svg 2>err && flame_info ar.svg >ar.info
s60r=$(flame_share hot_sixty ar.info)
if within "$s60r" "$s60" 0.5 && ! cmp -s ar.svg a.svg; then
	ok "recording: --reverse --inverted keeps the shares ($s60r%), changes the layout"
else
	not_ok "recording: --reverse --inverted keeps the shares" "$s60r vs $s60"
fi

if record_ok "flame --diff of two recordings" b.data -- "$FIXTURES/deep_stack" 30 60; then
	"$CPROF" flame -i a.data --diff b.data -o ab.svg 2>err && flame_info ab.svg >ab.info
	if grep -qE 'hot_sixty \(before 0, after [0-9,]+, \+[0-9,]+ / new\)	rgb\(255,0,0\)' ab.info &&
		grep -qE 'deep_leaf_hot \(before [0-9,]+, after 0, .*url\(#hatch\)$' ab.info; then
		ok "--diff of two recordings: new frames red, vanished ones hatched"
	else
		not_ok "--diff of two recordings: new frames red, vanished ones hatched"
		diag_file err
		diag_file ab.info
	fi
fi
