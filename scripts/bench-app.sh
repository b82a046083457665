#!/usr/bin/env bash
# App-level throughput: FinalizeBlock+Commit of blocks of links and of
# grants, with the state pre-filled to each size in MYKEY_BENCH_PEOPLE
# (default 100000,1000000). Prints Go benchmark lines with links/s,
# charges/s and µs per item (the median block of the run).
set -euo pipefail
cd "$(dirname "$0")/.."
export MYKEY_BENCH_PEOPLE="${MYKEY_BENCH_PEOPLE:-100000,1000000}"
exec go test -run '^$' -bench 'BenchmarkBlock' -benchtime "${BENCHTIME:-5x}" -timeout 60m ./app/ "$@"
