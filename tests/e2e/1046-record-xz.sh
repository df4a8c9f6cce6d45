#!/usr/bin/env bash
# A real stripped library: xz -6 spends its time in liblzma's static match
# finder and encoder.  Named after the exported symbols below them, that
# time showed up in lzma_mf_is_supported, lzma_lzma_preset and
# lzma_mode_is_supported (three small exported functions); it must show up
# in a few liblzma+0xSTART functions instead.  Local debug files are hidden
# (a private mount namespace), as on most machines.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record xz" || exit 0
command -v xz >/dev/null || { not_ok "xz is not installed (scripts/deps.sh check installs xz-utils)"; exit 0; }
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	skip "record xz" "needs root and unshare(1) to hide /usr/lib/debug"
	exit 0
fi
cd "$T" || exit 1
# 6 MB of text from a 3000-word vocabulary: xz -6 takes a few seconds
python3 -c '
import random
r = random.Random(7)
words = ["".join(r.choice("abcdefghijklmnop") for _ in range(r.randint(3, 9))) for _ in range(3000)]
out, n = [], 0
while n < 6_000_000:
    w = r.choice(words); out.append(w); n += len(w) + 1
open("in.txt", "w").write(" ".join(out))'
unshare -m sh -c '{ [ ! -d /usr/lib/debug ] || mount -t tmpfs none /usr/lib/debug; } && exec "$1" record -q -o xz.data -- xz -6 -c in.txt' \
	sh "$CPROF" >/dev/null 2>rec.err || { not_ok "record xz failed"; diag_file rec.err; exit 0; }
"$CPROF" report --stdio -i xz.data >xz.txt 2>&1
lib=$(report_tsv xz.txt | awk -F'\t' '$8 ~ /^liblzma\.so/ { print $8; exit }')
[ -n "$lib" ] || { not_ok "no liblzma rows" "$(head -20 xz.txt)"; exit 0; }
# self shares of liblzma's rows, by kind of name
read -r named unnamed rows top < <(report_tsv xz.txt | awk -F'\t' -v lib="$lib" '
	$8 == lib { if (index($7, lib "+0x") == 1) { u += $1; if ($1 >= 1) n++ } else k += $1 }
	END { printf "%.1f %.1f %d\n", k, u, n }')
# (the real functions run too, briefly, at start: a sample or two in them
# is right; the wrong names held tens of percent)
guessed=$(report_tsv xz.txt | awk -F'\t' '$7 ~ /^lzma_(mf_is_supported|lzma_preset|mode_is_supported)$/ && $1 >= 0.5 { print $7 " " $1 "%" }')
if [ -z "$guessed" ] && within "$named" 0 2 && awk -v u="$unnamed" 'BEGIN { exit !(u >= 80) }' &&
	[ "$rows" -ge 1 ] && [ "$rows" -le 12 ]; then
	ok "xz -6: $unnamed% in $rows $lib+0x... functions (>= 1% each), $named% under exported names"
else
	not_ok "xz -6: guessed '$guessed', named $named%, unnamed $unnamed% in $rows rows" "$(sed -n 8,20p xz.txt)"
fi
