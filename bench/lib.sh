# lib.sh - helpers the bench scripts share; source it:
#   . "$(dirname "$0")/lib.sh"

# numbers on stdin -> their median ("nan" for none)
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# calc FORMAT EXPR: awk arithmetic, printed with FORMAT
calc() { awk "BEGIN { printf \"$1\\n\", $2 }"; }
# verdict CONDITION: "ok" when the awk condition holds, else "MISSED"
verdict() { awk "BEGIN { exit !($1) }" && echo ok || echo MISSED; }
# the time now, in seconds with microseconds
now() { echo "${EPOCHREALTIME/,/.}"; }
