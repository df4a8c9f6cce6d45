#!/usr/bin/env bash
# cprof report's browser, driven in tmux (send-keys, capture-pane): the
# top functions of a cpu_split-shaped profile, the call tree, search, the
# callers/callees screen, help, quitting with the terminal restored, a
# terminal too small, NO_COLOR, Ctrl-C, and (with perf_event) annotate on
# a live recording of cpu_split_nofp.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	skip "report --tui in tmux" "tmux is not installed"
	exit 0
fi
SOCK=cprof-test-$$
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$T"' EXIT

# A folded profile shaped like cpu_split: main -> run_rounds -> hot_*.
cat >"$T/cs.folded" <<'EOF'
_start;main;run_rounds;hot_sixty 600
_start;main;run_rounds;hot_thirty 300
_start;main;run_rounds;hot_ten 100
EOF

# start NAME COLS LINES ARGS...: run cprof report ARGS in a new tmux
# session; the pane shows EXIT=<status> when cprof has exited.
start() {
	local name=$1 cols=$2 lines=$3
	shift 3
	printf '%q ' "$CPROF" report "$@" >"$T/$name.cmd"
	tm new-session -d -s "$name" -x "$cols" -y "$lines" \
		"cd '$T' && $(cat "$T/$name.cmd"); echo EXIT=\$?; exec sleep 120"
}
cap() { tm capture-pane -p -t "$1"; }
# wait_for NAME REGEX: poll the pane (up to 5 s) until a line matches.
wait_for() {
	local i
	for i in $(seq 50); do
		cap "$1" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# line_of NAME REGEX: number of the first pane line matching REGEX (0: none).
line_of() { cap "$1" | grep -nE -- "$2" | head -1 | cut -d: -f1 | grep . || echo 0; }
fail_pane() { not_ok "$1"; cap "$2" | sed 's/^/# /'; }

start a 100 30 --tui -i cs.folded
if wait_for a 'Top functions'; then
	l60=$(line_of a ' hot_sixty ') l30=$(line_of a ' hot_thirty ') l10=$(line_of a ' hot_ten ')
	if [ "$l60" -gt 0 ] && [ "$l60" -lt "$l30" ] && [ "$l30" -lt "$l10" ] &&
		cap a | grep -qE '^ *60\.00 +60\.00 +600  hot_sixty'; then
		ok "tui: top functions hot_sixty, hot_thirty, hot_ten in that order"
	else
		fail_pane "tui: top functions hot_sixty, hot_thirty, hot_ten in that order" a
	fi
else
	fail_pane "tui: the browser starts" a
fi

tm send-keys -t a T +
if wait_for a 'Call tree' && wait_for a ' hot_ten '; then
	lm=$(line_of a ' - main ') l60=$(line_of a ' hot_sixty ') l10=$(line_of a ' hot_ten ')
	if [ "$lm" -gt 0 ] && [ "$lm" -lt "$l60" ] && [ "$lm" -lt "$l10" ]; then
		ok "tui: the expanded call tree shows main above the hot functions"
	else
		fail_pane "tui: the expanded call tree shows main above the hot functions" a
	fi
else
	fail_pane "tui: T opens the call tree" a
fi

tm send-keys -t a T / h o t _ t e n Enter c
if wait_for a 'Callers and callees of hot_ten' && wait_for a 'run_rounds'; then
	ok "tui: /hot_ten Enter selects hot_ten (c shows its callers)"
else
	fail_pane "tui: /hot_ten Enter selects hot_ten (c shows its callers)" a
fi
tm send-keys -t a q / n o p e Enter
if wait_for a "no match for 'nope'"; then
	ok "tui: a search without match says so"
else
	fail_pane "tui: a search without match says so" a
fi

tm send-keys -t a '?'
wait_for a 'sort by self, total, name' >/dev/null
tm send-keys -t a G
if wait_for a 'sort by self, total, name' && wait_for a 'next, previous hot spot'; then
	ok "tui: ? shows the help"
else
	fail_pane "tui: ? shows the help" a
fi
tm send-keys -t a q
wait_for a 'Top functions' >/dev/null
tm send-keys -t a q
if wait_for a '^EXIT=0$' && ! cap a | grep -q 'Self%'; then
	ok "tui: q quits with status 0 and the terminal restored"
else
	fail_pane "tui: q quits with status 0 and the terminal restored" a
fi

# UTF-8 function names keep the columns (Module starts at one column)
printf '_start;main;hot_sixty 600\n_start;main;\345\207\275\346\225\260_\320\262\321\213\320\267\320\276\320\262 300\n_start;main;\303\274n\303\257c\303\266d\303\251 100\n' \
	>"$T/utf8.folded"
printf '%q ' env LC_ALL=C.UTF-8 "$CPROF" report --tui -i utf8.folded >"$T/u.cmd"
tm new-session -d -s u -x 100 -y 30 "cd '$T' && $(cat "$T/u.cmd"); exec sleep 120"
if wait_for u 'Top functions' && cap u | python3 -c '
import sys, unicodedata
cols = set()
for l in sys.stdin:
    if "[unknown]" in l and ("%" in l or l[:1] == " "):
        pre = l[:l.index("[unknown]")]
        cols.add(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in pre))
sys.exit(0 if len(cols) == 1 else 1)'; then
	ok "tui: UTF-8 function names keep the columns"
else
	fail_pane "tui: UTF-8 function names keep the columns" u
fi
tm kill-session -t u

# a terminal too small, then enlarged
start b 60 20 --tui -i cs.folded
if wait_for b 'terminal too small: 60x20, cprof report needs 80x24'; then
	tm resize-window -t b -x 100 -y 30
	if wait_for b 'Top functions'; then
		ok "tui: 60x20 says the terminal is too small, recovers when enlarged"
	else
		fail_pane "tui: recovers when the terminal is enlarged" b
	fi
else
	fail_pane "tui: 60x20 says the terminal is too small" b
fi
tm resize-window -t b -x 60 -y 20
wait_for b 'terminal too small' >/dev/null
tm send-keys -t b q
if wait_for b '^EXIT=0$'; then
	ok "tui: q quits from the too-small message"
else
	fail_pane "tui: q quits from the too-small message" b
fi

# NO_COLOR (lib.sh sets it): no colour escapes; without it, colours
colour_escapes() { tm capture-pane -e -p -t "$1" | grep -cE $'\e\\[([^m]*;)?(3[0-7]|4[0-7]|38;5|48;5)(;[^m]*)?m'; }
start c 100 30 --tui -i cs.folded
wait_for c 'Top functions' >/dev/null
nc=$(colour_escapes c)
tm kill-session -t c
printf '%q ' env -u NO_COLOR TERM=xterm-256color "$CPROF" report --tui -i cs.folded >"$T/d.cmd"
tm new-session -d -s d -x 100 -y 30 "cd '$T' && $(cat "$T/d.cmd"); exec sleep 120"
wait_for d 'Top functions' >/dev/null
col=$(colour_escapes d)
if [ "$nc" -eq 0 ] && [ "$col" -gt 0 ]; then
	ok "tui: NO_COLOR leaves out colours ($col coloured lines without it)"
else
	not_ok "tui: NO_COLOR leaves out colours" "with NO_COLOR: $nc, without: $col"
fi

# Ctrl-C and SIGTERM restore the terminal, cprof dies of the signal (the
# shell around it ignores SIGINT, so it lives to print the status)
printf '%q ' "$CPROF" report --tui -i cs.folded >"$T/e.cmd"
tm new-session -d -s e -x 100 -y 30 \
	"cd '$T' && trap '' INT && $(cat "$T/e.cmd"); echo EXIT=\$?; exec sleep 120"
wait_for e 'Top functions' >/dev/null
tm send-keys -t e C-c
if wait_for e '^EXIT=130$' && ! cap e | grep -q 'Self%'; then
	ok "tui: Ctrl-C restores the terminal (exit 130)"
else
	fail_pane "tui: Ctrl-C restores the terminal (exit 130)" e
fi
# (the pid file holds cprof's pid: sh execs it)
tm new-session -d -s h -x 100 -y 30 \
	"cd '$T' && sh -c 'echo \$\$ >h.pid; exec \"\$0\" \"\$@\"' $(cat "$T/e.cmd"); echo EXIT=\$?; exec sleep 120"
wait_for h 'Top functions' >/dev/null
kill -TERM "$(cat "$T/h.pid")"
if wait_for h '^EXIT=143$' && ! cap h | grep -q 'Self%'; then
	ok "tui: SIGTERM restores the terminal (exit 143)"
else
	fail_pane "tui: SIGTERM restores the terminal (exit 143)" h
fi

# nothing to browse: the --stdio warning, status 0, no browser
start f 100 30 --tui -i cs.folded --comm nosuch
if wait_for f '^EXIT=0$' && cap f | grep -q "warning: no samples match the filter (comm=nosuch)"; then
	ok "tui: a filter matching nothing warns and exits 0"
else
	fail_pane "tui: a filter matching nothing warns and exits 0" f
fi

"$CPROF" report --tui -i "$T/cs.folded" </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--tui needs a terminal' "$T/err"; then
	ok "report --tui without a terminal: usage error"
else
	not_ok "report --tui without a terminal: usage error" "exit $rc"
	diag_file "$T/err"
fi
"$CPROF" report -i "$T/cs.folded" </dev/null >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && grep -q '^# cprof report' "$T/out"; then
	ok "report in a pipe prints text"
else
	not_ok "report in a pipe prints text"
	diag_file "$T/err"
fi
"$CPROF" report --stdio --annotate hot_sixty -i "$T/cs.folded" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 1 ] && grep -q '^cprof report: error: .*hot_sixty' "$T/err"; then
	ok "report --annotate on folded stacks: error, exit 1"
else
	not_ok "report --annotate on folded stacks: error, exit 1" "exit $rc"
	diag_file "$T/err"
fi

# the same on a live recording of cpu_split_nofp, then annotate
skip_unless_perf "tui: a recording of cpu_split_nofp" || exit 0
if ! "$CPROF" record -q -o "$T/cs.cprof" -- "$FIXTURES/cpu_split_nofp" 500 >/dev/null 2>"$T/rec.err"; then
	skip "tui: a recording of cpu_split_nofp" "cprof record failed: $(head -c 200 "$T/rec.err")"
	exit 0
fi
# the selected line, as capture-pane -e shows it: reverse video
# (tmux may merge it with a reset: "\e[0;7m")
selected() {
	tm capture-pane -e -p -t "$1" | grep -E $'^(\e\\[[0-9;]*m)*\e\\[([0-9]+;)*7(;[0-9]+)*m' |
		sed 's/\x1b\[[0-9;]*m//g'
}
# wait_selected NAME REGEX: poll (up to 5 s) until the selected line matches
wait_selected() {
	local i
	for i in $(seq 50); do
		selected "$1" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# the data rows of the top screen, function names in order
top_rows() { cap "$1" | awk '/Self%.*Function/ { on = 1; next } on && NF >= 5 && $1 ~ /^[0-9.]+$/ { print $4 }'; }
# tall: with "+" every kernel chain under the hot functions opens too
start r 100 120 --tui -i cs.cprof
if wait_for r 'Top functions' && [ "$(top_rows r | head -3 | tr '\n' ' ')" = "hot_sixty hot_thirty hot_ten " ]; then
	ok "tui on a recording: hot_sixty, hot_thirty, hot_ten are the first rows, in that order"
else
	fail_pane "tui on a recording: hot_sixty, hot_thirty, hot_ten are the first rows" r
fi
tm send-keys -t r T +
if wait_for r 'Call tree' && wait_for r ' hot_ten '; then
	lm=$(line_of r ' - main ') l60=$(line_of r ' hot_sixty ') l30=$(line_of r ' hot_thirty ') l10=$(line_of r ' hot_ten ')
	if [ "$lm" -gt 0 ] && [ "$lm" -lt "$l60" ] && [ "$lm" -lt "$l30" ] && [ "$lm" -lt "$l10" ]; then
		ok "tui on a recording: the expanded tree shows main above the hot functions"
	else
		fail_pane "tui on a recording: the expanded tree shows main above the hot functions" r
	fi
else
	fail_pane "tui on a recording: T opens the call tree" r
fi
tm send-keys -t r T / r u n _ r o u n d s Enter
if wait_for r 'Top functions' && wait_selected r ' run_rounds '; then
	ok "tui on a recording: /run_rounds selects run_rounds"
else
	fail_pane "tui on a recording: /run_rounds selects run_rounds" r
fi
# a on the hottest function: its disassembly, the hottest instruction
# selected with the share the text annotation gives it
"$CPROF" report --stdio --annotate hot_sixty -i "$T/cs.cprof" >"$T/ann.txt"
hot=$(awk '/^>/ { print $2, $4; exit }' "$T/ann.txt") # percent address
tm send-keys -t r g a
if wait_for r 'Annotate hot_sixty' && [ -n "$hot" ] &&
	selected r | awk -v p="${hot% *}" -v a="${hot#* }" '$1 == p && $2 == a { f = 1 } END { exit !f }'; then
	ok "tui on a recording: a shows hot_sixty's code, the hottest instruction ($hot) selected"
else
	not_ok "tui on a recording: a shows hot_sixty's code with the hottest instruction selected" \
		"text annotate's hottest: '$hot'; selected: '$(selected r)'"
	cap r | sed 's/^/# /'
fi
tm send-keys -t r Tab
moved=0
for i in $(seq 50); do
	sel=$(selected r)
	if echo "$sel" | grep -qE '^ +[0-9]+\.[0-9][0-9] +[0-9a-f]+  ' &&
		! echo "$sel" | grep -q " ${hot#* } "; then
		moved=1
		break
	fi
	sleep 0.1
done
if [ $moved = 1 ]; then
	ok "tui on a recording: Tab moves to the next hot spot"
else
	not_ok "tui on a recording: Tab moves to the next hot spot" "selected: '$sel'"
	tm capture-pane -e -p -t r | cat -v | sed 's/^/# /'
fi
tm send-keys -t r q q
if wait_for r '^EXIT=0$' && ! cap r | grep -q 'Self%'; then
	ok "tui on a recording: q from annotate goes back, q again quits (status 0)"
else
	fail_pane "tui on a recording: q from annotate goes back, q again quits" r
fi

# a recording with no samples (a sleeping program at 1 Hz): the warning
# --stdio gives, status 0, no browser
"$CPROF" record -q -F 1 -o "$T/zero.cprof" -- sleep 0.2 >/dev/null 2>&1
start z 100 30 --tui -i zero.cprof
if wait_for z '^EXIT=0$' && cap z | grep -q "warning: no samples in 'zero.cprof'"; then
	ok "tui: a recording with no samples warns and exits 0"
else
	fail_pane "tui: a recording with no samples warns and exits 0" z
fi

start g 100 30 --tui --annotate hot_sixty -i cs.cprof
if wait_for g 'Annotate hot_sixty' && wait_for g '^ +[0-9]+\.[0-9]+ +[0-9a-f]+  '; then
	ok "tui: --annotate opens the annotate screen"
else
	fail_pane "tui: --annotate opens the annotate screen" g
fi
tm send-keys -t g q
wait_for g 'Top functions' >/dev/null
tm send-keys -t g q
if wait_for g '^EXIT=0$'; then
	ok "tui: q from annotate goes back, q again quits"
else
	fail_pane "tui: q from annotate goes back, q again quits" g
fi
