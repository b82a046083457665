#!/usr/bin/env bash
# The whole performance benchmark of MyKey Ledger in one run (see
# BENCHMARKS.md for the figures measured with it and what limits each):
#
#   1. app level, no network (scripts/bench-app.sh): for each state size
#      in MYKEY_BENCH_PEOPLE (default 1000000) a fresh on-disk app
#      pre-filled by the bulk loader, then links/s (signatures first seen
#      in the block, and after CheckTx as on a validator) and charges/s
#      through FinalizeBlock+Commit, cost per item against state size,
#      reopen time; and the raw limit, RSA-2048 verifications/s;
#   2. network level (scripts/bench-net.sh): a fresh 4-validator network on
#      127.0.0.1 under a bounded load of MYKEY_BENCH_DURATION seconds per
#      phase (default 60): links, batched links, grants, p50/p95 submit to
#      commit; then CometBFT's kvstore app on the same nodes, configuration,
#      load shape and transaction size, and the ratio.
#
#   scripts/bench.sh                                   # about 8 minutes here
#   MYKEY_BENCH_PEOPLE=1000000,10000000 scripts/bench.sh   # with 10M people:
#                                                      # about 25 minutes (the
#                                                      # 10M pre-fill is 15)
#   MYKEY_BENCH_PARTS=net scripts/bench.sh             # only one part (app|net)
#
# Everything it starts stops by itself; raw output stays in
# $MYKEY_BENCH_OUT (default a new directory under /tmp, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

export MYKEY_BENCH_PEOPLE="${MYKEY_BENCH_PEOPLE:-1000000}"
export MYKEY_BENCH_BASELINE="${MYKEY_BENCH_BASELINE:-0}"
PARTS="${MYKEY_BENCH_PARTS:-app,net}"
OUT="${MYKEY_BENCH_OUT:-$(mktemp -d /tmp/mykey-bench.XXXXXX)}"
mkdir -p "$OUT"
start=$(date +%s)

if [[ ,$PARTS, == *,app,* ]]; then
	echo "==== app level"
	MYKEY_BENCH_OUT="$OUT/app" scripts/bench-app.sh | tee "$OUT/app.txt"
fi
if [[ ,$PARTS, == *,net,* ]]; then
	echo "==== network level"
	MYKEY_BENCH_OUT="$OUT/net" scripts/bench-net.sh | tee "$OUT/net.txt"
fi

echo
echo "==== summary ($(nproc) cores; load now $(cut -d' ' -f1-3 /proc/loadavg); $(( ($(date +%s) - start) / 60 )) min)"
if [[ -f $OUT/app.txt ]]; then
	sed -n '/^== summary/,$p' "$OUT/app.txt"
fi
if [[ -f $OUT/net.txt ]]; then
	sed -n '/^MyKey Ledger, 4 validators/,$p' "$OUT/net.txt"
fi
echo "raw output: $OUT"
