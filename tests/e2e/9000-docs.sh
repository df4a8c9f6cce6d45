#!/usr/bin/env bash
# Docs consistency: man pages, -h and completions against the option
# tables (tests/tools/check-docs.sh prints the TAP lines itself).
. "$(dirname "$0")/lib.sh"
bash "$CPROF_TOP/tests/tools/check-docs.sh" "$CPROF"
