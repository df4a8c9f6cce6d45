#!/usr/bin/env bash
# record --sampler ptrace: the same profiles as perf_event gives (shares,
# deep stacks, threads, forks and execs), and the program exactly as it
# would be without cprof: its signals, stops and exit status.
. "$(dirname "$0")/lib.sh"

rec() { record_ok "$1" "$2" --sampler ptrace "${@:3}"; }

# cpu_split_nofp: shares within 5 points, stacks complete
if rec split "$T/s.data" -- "$FIXTURES/cpu_split_nofp"; then
	"$CPROF" report --stdio -i "$T/s.data" >"$T/s.txt"
	grep -q '^# event: cpu-clock at 999 Hz.*sampler: ptrace$' "$T/s.txt" && ok "report names the ptrace sampler" ||
		{ not_ok "sampler line"; diag_file "$T/s.txt" 6; }
	expect_share "ptrace split" hot_sixty "$T/s.txt" 60 5
	expect_share "ptrace split" hot_thirty "$T/s.txt" 30 5
	expect_share "ptrace split" hot_ten "$T/s.txt" 10 5
	main=$(share_of main "$T/s.txt" 2)
	within "$main" 100 2 && ok "ptrace split: main in ${main}% of stacks" || not_ok "ptrace split: main total $main%"
fi

# deep_stack: >= 95% of samples unwound to main through the 300 frames
if rec deep "$T/d.data" -- "$FIXTURES/deep_stack"; then
	"$CPROF" convert --to folded -i "$T/d.data" >"$T/d.folded"
	total=$(awk '{ s += $NF } END { print s + 0 }' "$T/d.folded")
	full=$(awk '{ n = split($1, fr, ";"); d = 0
		for (i = 1; i <= n; i++) if (fr[i] == "descend") d++
		if ($1 ~ /(^|;)main;run_descents;descend;/ && fr[n] == "deep_leaf_hot" && d == 300) s += $NF }
		END { print s + 0 }' "$T/d.folded")
	if [ "$total" -gt 500 ] && [ $((full * 100)) -ge $((total * 95)) ]; then
		ok "ptrace deep_stack: $full of $total samples unwound to main through 300 frames"
	else
		not_ok "ptrace deep_stack: $full of $total samples reach main"
	fi
fi

# fp call graphs walk the frame-pointer chain of the stack copy
if rec fp "$T/f.data" --call-graph fp -- "$FIXTURES/cpu_split_fp"; then
	"$CPROF" report --stdio -i "$T/f.data" >"$T/f.txt"
	expect_share "ptrace fp" hot_sixty "$T/f.txt" 60 5
	main=$(share_of main "$T/f.txt" 2)
	within "$main" 100 3 && ok "ptrace fp: main in ${main}% of stacks" || not_ok "ptrace fp: main total $main%"
fi

# threads: every hot function on its own named thread
if rec threads "$T/t.data" -- "$FIXTURES/threads"; then
	"$CPROF" report --stdio --sort tid,comm,function -i "$T/t.data" >"$T/t.txt"
	report_tsv "$T/t.txt" >"$T/t.tsv"
	n=0
	for name in alpha beta gamma delta; do
		awk -F'\t' -v f="thread_${name}_hot" -v c="thr-$name" '$7 == f && $4 == c { x = 1 } END { exit !x }' \
			"$T/t.tsv" && n=$((n + 1))
	done
	[ $n = 4 ] && ok "ptrace threads: the four hot functions on their named threads" ||
		{ not_ok "ptrace threads: $n of 4"; diag_file "$T/t.txt" 14; }
	# CPU shares, not time runnable: 4 threads share 2 CPUs
	"$CPROF" report --stdio -i "$T/t.data" >"$T/t2.txt"
	expect_share "ptrace threads" thread_alpha_hot "$T/t2.txt" 40 5
	expect_share "ptrace threads" thread_beta_hot "$T/t2.txt" 30 5
	expect_share "ptrace threads" thread_gamma_hot "$T/t2.txt" 20 5
	expect_share "ptrace threads" thread_delta_hot "$T/t2.txt" 10 5
fi

# forker: children are followed, an exec'd child gets its own symbols
if rec forker "$T/k.data" -- "$FIXTURES/forker"; then
	"$CPROF" report --stdio --sort pid -i "$T/k.data" >"$T/k.txt"
	pids=$(awk '!/^#/ && NF >= 4 { n++ } END { print n + 0 }' "$T/k.txt")
	[ "$pids" -ge 5 ] && ok "ptrace forker: $pids processes sampled" || { not_ok "ptrace forker: $pids processes"; diag_file "$T/k.txt" 12; }
	"$CPROF" report --stdio -i "$T/k.data" >"$T/k2.txt"
	[ "$(share_of hot_sixty "$T/k2.txt")" != 0 ] && ok "ptrace forker: the exec'd cpu_split_fp symbolized" ||
		{ not_ok "ptrace forker: no hot_sixty"; diag_file "$T/k2.txt" 14; }
fi

# the program's own signals reach it unchanged, and its exit status is ours
"$CPROF" record -q --sampler ptrace -o "$T/x.data" -- bash -c 'trap "exit 7" USR1; kill -USR1 $$; while :; do :; done' 2>"$T/err"
rc=$?
[ $rc = 7 ] && ok "ptrace: the program's SIGUSR1 handler ran (exit 7)" || { not_ok "ptrace: SIGUSR1: exit $rc"; diag_file "$T/err"; }
"$CPROF" record -q --sampler ptrace -o "$T/x.data" -- bash -c 'kill -TERM $$' 2>"$T/err"
rc=$?
[ $rc = 143 ] && ok "ptrace: killed by its own SIGTERM: exit 143" || { not_ok "ptrace: SIGTERM: exit $rc"; diag_file "$T/err"; }

# a stop signal stops it as without cprof, SIGCONT lets it go on
"$CPROF" record -q --sampler ptrace -o "$T/st.data" -- bash -c 'kill -STOP $$; echo resumed' >"$T/out" 2>"$T/err" &
rec=$!
sleep 1
bpid=$(pgrep -P $rec bash | head -1)
st=$(awk '{ print $3 }' "/proc/$bpid/stat" 2>/dev/null)
case "$st" in
t | T) ok "ptrace: SIGSTOP stops the program (state $st)" ;;
*) not_ok "ptrace: after SIGSTOP the state is '$st'" ;;
esac
[ ! -s "$T/out" ] && ok "ptrace: the stopped program does not run" || not_ok "ptrace: it ran on while stopped"
kill -CONT "$bpid"
wait $rec
rc=$?
[ $rc = 0 ] && grep -qx resumed "$T/out" && ok "ptrace: SIGCONT resumes it, exit 0" || { not_ok "ptrace: after SIGCONT: exit $rc"; diag_file "$T/err"; }

# blocking calls are not disturbed: sleeper exits 3 on any EINTR
if [ ! -x "$FIXTURES/sleeper" ]; then
	skip "ptrace sleeper" "no sleeper in $FIXTURES (it is cprof's own fixture)"
elif rec sleeper "$T/z.data" -- "$FIXTURES/sleeper" 100; then
	ok "ptrace: sleeper saw no EINTR in nanosleep or epoll_wait (exit 0)"
	"$CPROF" report --stdio -i "$T/z.data" >"$T/z.txt"
	expect_share "ptrace on-CPU sleeper" burn_half "$T/z.txt" 95 5
fi
