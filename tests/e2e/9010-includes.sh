#!/usr/bin/env bash
# The module dependency DAG of STYLE.md rule 5, on the #include lines.
. "$(dirname "$0")/lib.sh"
if "$CPROF_TOP/tests/tools/check-includes.sh" "$CPROF_TOP" >"$T/out" 2>&1; then
	ok "#include lines follow the module dependency table"
else
	not_ok "#include lines follow the module dependency table"
	diag_file "$T/out" 60
fi
if bash -n "$CPROF_TOP/tests/tools/check-includes.sh"; then
	# the checker must catch a violation, or a broken script passes silently
	mkdir -p "$T/tree/lib/core" "$T/tree/lib/symbol" "$T/tree/lib/sample" "$T/tree/cmd"
	printf '#include "core/core.h"\n' >"$T/tree/lib/core/core.h"
	printf '#include "symbol/symbol.h"\n' >"$T/tree/lib/symbol/symbol.h"
	printf '#include "core/core.h"\n#include "sample/sample.h"\n' >"$T/tree/lib/symbol/bad.c"
	printf '#include "core/core.h"\n' >"$T/tree/lib/sample/sample.h"
	if "$CPROF_TOP/tests/tools/check-includes.sh" "$T/tree" >"$T/neg" 2>&1; then
		not_ok "check-includes.sh rejects symbol -> sample" "it accepted lib/symbol/bad.c"
	elif grep -q '^lib/symbol/bad.c:2: ' "$T/neg"; then
		ok "check-includes.sh rejects symbol -> sample"
	else
		not_ok "check-includes.sh rejects symbol -> sample"
		diag_file "$T/neg"
	fi
fi
