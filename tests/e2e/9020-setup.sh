#!/usr/bin/env bash
# The README's set-up on a machine that has none of the libraries yet: a
# pkg-config that finds nothing comes first in PATH.  `make demo`, `make
# check` and `make bench` install what is missing before anything else;
# `make`, `make install` and `make fuzz` stop with one line that names a
# command which does get past that point.
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null || { not_ok "make is not installed"; exit 0; }
# this test runs under `make check`: its flags and job server are not ours
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 1\n' >"$T/bin/pkg-config"
# a clang without libFuzzer's runtime, as before clang's runtime package is there
printf '#!/bin/sh\ncase "$*" in *print-file-name*) echo "${*##*=}" ;; *) exit 1 ;; esac\n' \
	>"$T/bin/clang"
chmod +x "$T/bin/pkg-config" "$T/bin/clang"
bare() { PATH=$T/bin:$PATH make -C "$CPROF_TOP" --no-print-directory O="$T/o" "$@"; }

# the first thing done is the installer, with the goal's own level
for g in demo:build check:check bench:bench deps:build deps-check:check deps-bench:bench; do
	goal=${g%%:*} level=${g#*:}
	bare -n "$goal" >"$T/$goal.out" 2>&1
	first=$(grep -m1 . "$T/$goal.out")
	if [ "$first" = "scripts/deps.sh $level" ]; then
		ok "make -n $goal without the libraries: first 'scripts/deps.sh $level'"
	else
		not_ok "make -n $goal without the libraries: first '$first'" "$(head -n 3 "$T/$goal.out")"
	fi
done

# the others stop at once, in one line naming `make deps` (which got past above)
for goal in all install fuzz check-fast; do
	bare -n "$goal" >"$T/$goal.out" 2>"$T/$goal.err"
	rc=$?
	if [ $rc = 2 ] && [ ! -s "$T/$goal.out" ] && [ "$(wc -l <"$T/$goal.err")" = 1 ] &&
		grep -q "missing build dependencies.*run 'make deps' as root" "$T/$goal.err"; then
		ok "make $goal without the libraries: one line, 'run make deps as root'"
	else
		not_ok "make $goal without the libraries: exit $rc" "$(head -n 3 "$T/$goal.err")"
	fi
done

# make fuzz with the libraries but without libFuzzer says what installs it
if pkg-config --exists libdw libelf libunwind libzstd capstone zlib ncursesw 2>/dev/null; then
	PATH=$T/bin:$PATH make -C "$CPROF_TOP" --no-print-directory -n fuzz PKG_LIBS=-lfound \
		>"$T/fz.out" 2>"$T/fz.err"
	rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <"$T/fz.err")" = 1 ] &&
		grep -q "make fuzz needs clang and libFuzzer.*run 'make deps-check' as root" "$T/fz.err"; then
		ok "make fuzz without libFuzzer: one line, 'run make deps-check as root'"
	else
		not_ok "make fuzz without libFuzzer: exit $rc" "$(head -n 3 "$T/fz.err")"
	fi
else
	not_ok "the build libraries are not installed, yet make check got here"
fi

# the installer itself: an unknown level is a usage error
"$CPROF_TOP/scripts/deps.sh" nonsense >/dev/null 2>"$T/d.err"
rc=$?
[ $rc = 2 ] && grep -q "unknown level 'nonsense'" "$T/d.err" &&
	ok "deps.sh: unknown level, exit 2" || not_ok "deps.sh nonsense: exit $rc" "$(cat "$T/d.err")"
