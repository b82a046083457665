#!/usr/bin/env bash
# The whole performance benchmark of MyKey Ledger in one run at one commit
# (see BENCHMARKS.md for the figures measured with it and what limits each):
#
#   1. app level, no network (scripts/bench-app.sh): first the raw limit,
#      RSA-2048 verifications/s, before any block (run on an idle machine;
#      the load at that moment is recorded); then for each state size in
#      MYKEY_BENCH_PEOPLE (default 1000000) a fresh on-disk app pre-filled
#      by the bulk loader (each person linked and charged once), a wait for
#      the store to settle (or the record that it did not), links/s
#      (signatures first seen in the block, and after CheckTx) and charges/s
#      (a share of them duplicate references) through FinalizeBlock+Commit,
#      cost per item against state size, reopen time; a CPU profile of one
#      link block and one charge block at the largest size;
#   2. network level (scripts/bench-net.sh): a fresh 4-validator network on
#      127.0.0.1; links, batched links, grants and CometBFT's kvstore app on
#      the same nodes, each at its best throughput with p95 submit-to-commit
#      ≤ 3 s, found by a sweep of the in-flight window; each node's peak
#      RSS; the ratio to kvstore.
#
#   scripts/bench.sh                                   # about 10 minutes here
#   MYKEY_BENCH_PEOPLE=1000000,10000000 scripts/bench.sh   # with 10M people
#   MYKEY_BENCH_PARTS=net scripts/bench.sh             # only one part (app|net)
#   MYKEY_BENCH_BASELINE=<revision> scripts/bench.sh   # and that revision, side by side
#
# MYKEY_BENCH_BASELINE builds the revision in one temporary git worktree
# (removed at the end) that both parts measure. Everything it starts stops
# by itself; raw output stays in $MYKEY_BENCH_OUT (default a new directory
# under /tmp, printed at the end). A part that fails stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# The command as given, with its MYKEY_BENCH_* settings, for the summary.
export MYKEY_BENCH_COMMAND="$(env | grep '^MYKEY_BENCH_' | sort | tr '\n' ' ')scripts/bench.sh"
export MYKEY_BENCH_PEOPLE="${MYKEY_BENCH_PEOPLE:-1000000}"
BASELINE="${MYKEY_BENCH_BASELINE:-}"
[[ $BASELINE != 0 ]] || BASELINE=
export MYKEY_BENCH_BASELINE="$BASELINE"
PARTS="${MYKEY_BENCH_PARTS:-app,net}"
OUT="${MYKEY_BENCH_OUT:-$(mktemp -d /tmp/mykey-bench.XXXXXX)}"
mkdir -p "$OUT"
start=$(date +%s)
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)

BASE_SRC=
cleanup() {
	[[ -z $BASE_SRC ]] || git -C "$ROOT" worktree remove --force "$BASE_SRC" 2>/dev/null || true
}
trap cleanup EXIT
if [[ -n $BASELINE ]]; then
	BASE_SRC="$OUT/base-src"
	git worktree add --detach "$BASE_SRC" "$BASELINE" >/dev/null || { echo "bench: cannot check out the baseline $BASELINE" >&2; exit 1; }
	export MYKEY_BENCH_BASELINE_SRC="$BASE_SRC"
fi

echo "==== run: $commit, $date, $(nproc) cores"
echo "command: $MYKEY_BENCH_COMMAND"
if [[ ,$PARTS, == *,app,* ]]; then
	echo "==== app level"
	MYKEY_BENCH_OUT="$OUT/app" scripts/bench-app.sh | tee "$OUT/app.txt"
fi
if [[ ,$PARTS, == *,net,* ]]; then
	echo "==== network level"
	MYKEY_BENCH_OUT="$OUT/net" scripts/bench-net.sh | tee "$OUT/net.txt"
fi

echo
echo "==== summary"
echo "commit: $commit${BASELINE:+ (baseline $BASELINE = $(git -C "$BASE_SRC" describe --always))}"
echo "date: $date"
echo "command: $MYKEY_BENCH_COMMAND"
base_s=0
for f in "$OUT/app/baseline-seconds" "$OUT/net/baseline-seconds"; do
	[[ ! -f $f ]] || base_s=$((base_s + $(cat "$f")))
done
echo "nproc: $(nproc); load now $(cut -d' ' -f1-3 /proc/loadavg); $(( ($(date +%s) - start) / 60 )) min${BASELINE:+, of which $((base_s / 60)) min measured the baseline (without it: $(( ($(date +%s) - start - base_s) / 60 )) min)}"
if [[ -f $OUT/app.txt ]]; then
	sed -n '/^== summary/,$p' "$OUT/app.txt"
fi
if [[ -f $OUT/net.txt ]]; then
	sed -n '/^MyKey Ledger, [0-9]* validators/,$p' "$OUT/net.txt"
fi
echo "raw output: $OUT"
