#!/usr/bin/env bash
# Builds the HTTP/1.1 fuzz target with libFuzzer + AddressSanitizer and runs it for a bounded
# time. Findings are written to fuzz/findings/; the corpus grows in a temporary folder.
# usage: fuzz/run.sh [seconds=60]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(dirname "$here")
seconds=${1:-60}
work=$(mktemp -d /tmp/bearer-proxy-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The HTTP/1.1 layer alone, with the one file it needs from Support: its size caps.
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name HTTP1Fuzz \
  "$root"/Sources/BearerProxy/HTTP1/*.swift "$root"/Sources/BearerProxy/Support/SizeLimits.swift \
  "$here/HTTP1Fuzz.swift" -o "$work/http1-fuzz"
mkdir -p "$work/corpus" "$here/findings"
cp "$here"/corpus/* "$work/corpus/" 2>/dev/null || true
"$work/http1-fuzz" "$work/corpus" -max_total_time="$seconds" -max_len=4096 -timeout=5 \
  -artifact_prefix="$here/findings/" -print_final_stats=1 2>&1 | tail -25
