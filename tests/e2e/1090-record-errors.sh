#!/usr/bin/env bash
# Bad input to record: clear one-line errors and the documented exit codes.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
"$CPROF" record -- ./no-such-program >out.txt 2>err.txt
rc=$?
if [ $rc = 127 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q "cannot run './no-such-program'" err.txt; then
	ok "missing command: exit 127, one-line error"
else
	not_ok "missing command: exit $rc"; diag_file err.txt
fi
[ ! -e cprof.data ] && ok "missing command: no data file written" || not_ok "missing command left cprof.data"

"$CPROF" record --bogus -- true >out.txt 2>err.txt
rc=$?
[ $rc = 2 ] && grep -q "unknown option '--bogus'" err.txt && grep -q '^usage:' err.txt &&
	ok "unknown flag: usage, exit 2" || { not_ok "unknown flag: exit $rc"; diag_file err.txt; }
for bad in "-F 0" "-F 20000" "--stack-size 100" "--call-graph lbr" "-e instructions" "-m 3"; do
	# shellcheck disable=SC2086
	"$CPROF" record $bad -- true >/dev/null 2>err.txt
	rc=$?
	[ $rc = 2 ] && [ -s err.txt ] && ok "record $bad: exit 2" || { not_ok "record $bad: exit $rc"; diag_file err.txt; }
done
"$CPROF" record >/dev/null 2>err.txt
[ $? = 2 ] && grep -q 'no command' err.txt && ok "no command: exit 2" || not_ok "no command"

# perf_event_open refused (as under a container's seccomp profile), with
# --sampler perf: one line, exit 1, the old recording kept
echo keep >cprof.data
"$FIXTURES/deny_perf" "$CPROF" record --sampler perf -- true >out.txt 2>err.txt
rc=$?
if [ $rc = 1 ] && grep -q 'perf_event_paranoid' err.txt && [ "$(wc -l <err.txt)" = 1 ]; then
	ok "perf_event denied, --sampler perf: exit 1, one line naming perf_event_paranoid"
else
	not_ok "perf_event denied: exit $rc"; diag_file err.txt
fi
[ "$(cat cprof.data)" = keep ] && ok "perf_event denied: existing cprof.data untouched" ||
	not_ok "existing cprof.data was replaced"
# by default cprof falls back to the ptrace sampler with a one-line notice
"$FIXTURES/deny_perf" "$CPROF" record -o fb.data -- "$FIXTURES/cpu_split_nofp" 600 >out.txt 2>err.txt
rc=$?
if [ $rc = 0 ] && [ "$(grep -c 'notice: perf_event_open is not allowed here.*sampling with ptrace instead' err.txt)" = 1 ] &&
	"$CPROF" report --stdio -i fb.data | grep -q '^# event: .*sampler: ptrace$'; then
	ok "perf_event denied: falls back to ptrace, one notice line"
else
	not_ok "perf_event denied, fallback: exit $rc"; diag_file err.txt
fi
"$CPROF" report --stdio -i fb.data >fb.txt 2>/dev/null
# ~880 samples: the binomial spread is 1.7 points, 6 is 3.5 of them
expect_share "fallback recording" hot_sixty fb.txt 60 6
# usage errors of the sampler flags
for bad in "--sampler dtrace" "--wall --sampler perf" "--sampler ptrace -e cycles" \
	"--wall -m 16"; do
	"$CPROF" record $bad -- true >/dev/null 2>err.txt
	rc=$?
	[ $rc = 2 ] && [ "$(grep -c 'cprof record: ' err.txt)" = 1 ] && ok "record $bad: usage error, exit 2" ||
		{ not_ok "record $bad: exit $rc"; diag_file err.txt; }
done
