#!/usr/bin/env bash
# dso_user: a linked library and a dlopen'd (then dlclose'd) plugin.
. "$(dirname "$0")/lib.sh"
skip_unless_perf "record dso_user" || exit 0

record_ok dso "$T/d.data" -- "$FIXTURES/dso_user" || exit 0
"$CPROF" report --stdio -i "$T/d.data" >"$T/r.txt"
for spec in dso_hot_work:50:libdsohot.so plugin_hot_work:30:libdsoplugin.so main_local_work:20:dso_user; do
	IFS=: read -r fn want mod <<<"$spec"
	expect_share dso "$fn" "$T/r.txt" "$want" 3
	got=$(module_of "$fn" "$T/r.txt")
	if [ "$got" = "$mod" ]; then ok "$fn in $mod"; else not_ok "$fn in '$got', want $mod"; fi
done
