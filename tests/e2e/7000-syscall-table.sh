#!/usr/bin/env bash
# scripts/gen-syscalls.sh, the syscall tables of cprof strace-lite: on this
# machine's x86_64 headers every number agrees with glibc's SYS_ macros;
# on Debian's aarch64 cross headers the generic table's names defined
# through other macros (lseek, mmap, fstat, fcntl) are kept with their
# numbers, where reading "#define __NR_x 123" lines would drop them; bad
# arguments are one line and exit 2 or 1.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
GEN=$CPROF_TOP/scripts/gen-syscalls.sh

"$GEN" x86_64 >x86.h 2>x86.err || { not_ok "x86_64 table" "$(cat x86.err)"; exit 0; }
# glibc's numbers for the same names, through the C compiler
{
	echo '#include <sys/syscall.h>'
	sed -n 's/^CP_SYSCALL(\([0-9]*\), \([a-z0-9_]*\))$/\2 \1/p' x86.h | while read -r n v; do
		echo "#ifdef SYS_$n"
		echo "check $n $v SYS_$n"
		echo "#endif"
	done
} | cc -E -P -x c - | awk '$1 == "check" { n++; if ($3 != $4) { bad++; print } } END { print "checked", n, "bad", bad + 0 }' >x86.cmp
n=$(grep -c '^CP_SYSCALL' x86.h)
if grep -q "bad 0$" x86.cmp && grep -q 'CP_SYSCALL(0, read)$' x86.h && grep -q 'CP_SYSCALL(257, openat)$' x86.h &&
	[ "$n" -gt 300 ]; then
	ok "x86_64: $n syscalls, numbers as glibc's SYS_ ($(tail -1 x86.cmp))"
else
	not_ok "x86_64 table" "$(tail -3 x86.cmp)"
fi

INC=/usr/aarch64-linux-gnu/include
if [ ! -f "$INC/asm/unistd.h" ]; then
	not_ok "aarch64: no $INC (make deps-check installs linux-libc-dev-arm64-cross)"
else
	"$GEN" aarch64 >a64.h 2>a64.err || not_ok "aarch64 table" "$(cat a64.err)"
	missing=
	for w in 25:fcntl 62:lseek 80:fstat 222:mmap 63:read 56:openat; do
		grep -qxF "CP_SYSCALL(${w%%:*}, ${w#*:})" a64.h || missing="$missing $w"
	done
	# what reading literal "#define __NR_x NUMBER" lines would give
	naive=$(grep -rhoE '^#define __NR_[a-z0-9_]+[[:space:]]+[0-9]+' "$INC/asm-generic/unistd.h" | awk '{ print $2 }' | sed 's/^__NR_//' | sort -u)
	for w in lseek mmap fstat fcntl; do echo "$naive" | grep -qx "$w" && missing="$missing naive-has-$w"; done
	[ -z "$missing" ] && ok "aarch64: lseek 62, mmap 222, fstat 80, fcntl 25 kept ($(grep -c '^CP_SYSCALL' a64.h) syscalls; literal #define lines have none of them)" ||
		not_ok "aarch64 table:$missing"
fi

"$GEN" mips >/dev/null 2>e1
r1=$?
"$GEN" x86_64 /nonexistent >/dev/null 2>e2
r2=$?
[ $r1 = 2 ] && [ "$(wc -l <e1)" = 1 ] && grep -q "unknown architecture 'mips'" e1 && [ $r2 = 1 ] && [ "$(wc -l <e2)" = 1 ] &&
	ok "bad arguments: one line, exit 2 (architecture) or 1 (no headers)" || not_ok "errors: $r1 $r2" "$(cat e1 e2)"

# the fixture strace-lite will be checked on: strace's own counts are the spec's
strace -f -c -o st.txt "$FIXTURES/syscall_heavy" 1000 2>st.err
got=$(awk '$NF ~ /^(getppid|write|read|openat|close)$/ { printf "%s=%s ", $NF, $(NF - 1) + 0 }' st.txt)
for want in getppid=8000 write=4000 read=4001 openat=2004 close=2004; do
	case " $got" in *" $want "*) ;; *) bad="${bad:-} $want" ;; esac
done
[ -z "${bad:-}" ] && ok "syscall_heavy 1000 under strace -c -f: $got" || not_ok "syscall_heavy counts: $got" "$(cat st.err)"
