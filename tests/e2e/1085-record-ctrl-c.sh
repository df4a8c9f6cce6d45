#!/usr/bin/env bash
# Ctrl-C on a terminal (SIGINT to the whole foreground process group):
# the command stops, cprof writes a complete file and exits 130.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record ctrl-c" || exit 0
command -v tmux >/dev/null || { skip "ctrl-c" "tmux is not installed"; exit 0; }

sock=$T/tmux.sock
tmux -S "$sock" new-session -d -s rec -x 120 -y 20 \
	"cd '$T' && '$CPROF' record -o c.data -- '$FIXTURES/cpu_split_nofp' 5000; echo \"exit=\$?\" >rc.txt; sleep 30"
# wait for the progress line, then press Ctrl-C
for _ in $(seq 50); do
	tmux -S "$sock" capture-pane -t rec -p | grep -q 'samples, 0 lost\|samples, [0-9]* lost' && break
	sleep 0.1
done
sleep 0.5
tmux -S "$sock" send-keys -t rec C-c
for _ in $(seq 100); do [ -s "$T/rc.txt" ] && break; sleep 0.1; done
screen=$(tmux -S "$sock" capture-pane -t rec -p)
tmux -S "$sock" kill-server 2>/dev/null
rc=$(sed -n 's/^exit=//p' "$T/rc.txt" 2>/dev/null)
[ "$rc" = 130 ] && ok "Ctrl-C: cprof exits 130, the command's status" ||
	{ not_ok "Ctrl-C: exit '$rc'"; printf '%s\n' "$screen" | sed 's/^/# /'; }
if "$CPROF" report --stdio -i "$T/c.data" >"$T/r.txt" 2>&1 && ! grep -q truncated "$T/r.txt"; then
	ok "Ctrl-C: the file is complete"
	expect_share "Ctrl-C" hot_sixty "$T/r.txt" 60 4
else
	not_ok "Ctrl-C: bad recording"; diag_file "$T/r.txt"
fi
printf '%s\n' "$screen" | grep -q 'written to c.data' && ok "Ctrl-C: summary printed" ||
	{ not_ok "no summary after Ctrl-C"; printf '%s\n' "$screen" | sed 's/^/# /'; }
