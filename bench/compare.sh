#!/usr/bin/env bash
# Kept for old habits: the small-response comparison only, now done by bench/run.sh.
# usage: bench/compare.sh [rounds=3] [seconds=10] [connections=64|256]
set -euo pipefail
conns=${3:-64}
case $conns in 64|256) ;; *) echo "compare.sh: connections must be 64 or 256 (use bench/run.sh for more)" >&2; exit 2 ;; esac
exec "$(dirname "$0")/run.sh" -r "${1:-3}" -d "${2:-10}" -c "small$conns"
