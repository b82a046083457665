#!/usr/bin/env bash
# sim.sh runs a bounded soak of the ledger's randomized simulation
# (app/sim_test.go): seeds × blocks through the real App, every result
# compared with the reference model, invariants checked after every block.
#
#   scripts/sim.sh [-seed N] [-blocks N] [-seeds N] [-timeout DURATION]
#
# It prints each seed as it passes and, at the end, the summary (blocks,
# transactions per kind, invariant checks, model comparisons); on failure,
# the one command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=1 blocks=200 seeds=20 timeout=15m
while [ $# -gt 0 ]; do
	case "$1" in
	-seed) seed="$2"; shift 2 ;;
	-blocks) blocks="$2"; shift 2 ;;
	-seeds) seeds="$2"; shift 2 ;;
	-timeout) timeout="$2"; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "sim.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "sim: seeds $seed..$((seed + seeds - 1)), $blocks blocks each, timeout $timeout"
set +e
MYKEY_SIM_SEED="$seed" MYKEY_SIM_SEEDS="$seeds" MYKEY_SIM_BLOCKS="$blocks" \
	go test -count=1 -v -run 'TestSim$' -timeout "$timeout" ./app/ 2>&1 | tee "$log" | grep --line-buffered -E 'SIM seed=|SIM FAIL|reproduce:|^(panic|FAIL)'
status=${PIPESTATUS[0]}
set -e
echo
echo "=== summary ==="
sed -n '/SIM SUMMARY/,/results per code/p' "$log" | sed 's/^ *//; s/^sim_test.go:[0-9]*: //'
if [ "$status" -ne 0 ]; then
	echo "=== FAILED ==="
	if grep -q 'reproduce:' "$log"; then
		grep -m1 -o 'reproduce: .*' "$log" | sed 's/^reproduce: /reproduce with: /'
	else
		# A panic or timeout: the seed after the last one that passed.
		last=$(grep -o 'SIM seed=[0-9]*' "$log" | tail -1 | cut -d= -f2)
		failed=$(( ${last:-$((seed - 1))} + 1 ))
		echo "reproduce with: MYKEY_SIM_SEED=$failed MYKEY_SIM_SEEDS=1 MYKEY_SIM_BLOCKS=$blocks go test -count=1 -v -run 'TestSim\$' -timeout $timeout ./app/"
		tail -20 "$log"
	fi
	exit "$status"
fi
echo "=== PASSED ==="
