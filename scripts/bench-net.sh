#!/usr/bin/env bash
# Network-level benchmark: a fresh 4-validator MyKey Ledger network on
# 127.0.0.1 under a bounded load (scripts/loadgen) for DURATION per phase
# (links, links-batched, grants), then the same load shape and transaction
# size against CometBFT's kvstore example app on the same nodes and
# configuration (`mykeyd start --abci kvstore`), and a table with the ratio.
#
#   scripts/bench-net.sh                          # 60 s a phase, about 6-7 minutes on 2 cores
#   MYKEY_BENCH_DURATION=20 scripts/bench-net.sh  # quicker
#
# Environment (defaults in brackets):
#   MYKEY_BENCH_DURATION      seconds of load per phase [60]
#   MYKEY_BENCH_OUT           output directory [a new /tmp/mykey-bench-net.XXXXXX]
#   MYKEY_BENCH_BASE_PORT     first port; the kvstore network uses +100 [46656]
#   MYKEY_BENCH_INFLIGHT      broadcast_tx_sync calls in flight [32]
#   MYKEY_BENCH_WINDOW        links (kvstore: txs) accepted, not yet committed [2000]
#   MYKEY_BENCH_CHARGE_WINDOW charges accepted, not yet committed [10000]
#   MYKEY_BENCH_LINK_BATCH    links per link batch [100]
#   MYKEY_BENCH_CHARGES       charges per grant [100]
#   MYKEY_BENCH_MAX_RATE      links/s a link phase's pre-signed pool is sized for [700]
#   MYKEY_BENCH_MAX_CHARGE_RATE  charges/s the grants pool is sized for [20000]
#   MYKEY_BENCH_TIMEOUT_COMMIT   consensus timeout_commit [500ms, as localnet]
#
# Links are signed before each phase's clock starts, never while the load
# runs (two RSA-2048 signatures each: the test CA's on a new card, the
# card's on the link; ~550 links/s on 2 busy cores): a link phase's pool is
# MAX_RATE x DURATION links (links-batched first takes what the links phase
# left). A phase whose pool runs out early stops early and is marked
# pool-exhausted in the table; its rate is still over its own blocks.
# Raising MAX_RATE lengthens the run by the signing time.
#
# Raw results: OUT/mykey.json and OUT/kvstore.json (scripts/loadgen
# --json), node logs in OUT/*/node*.log. Everything started here is stopped
# on exit, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${MYKEY_BENCH_DURATION:-60}
OUT=${MYKEY_BENCH_OUT:-$(mktemp -d /tmp/mykey-bench-net.XXXXXX)}
BASE_PORT=${MYKEY_BENCH_BASE_PORT:-46656}
INFLIGHT=${MYKEY_BENCH_INFLIGHT:-32}
WINDOW=${MYKEY_BENCH_WINDOW:-2000}
CHARGE_WINDOW=${MYKEY_BENCH_CHARGE_WINDOW:-10000}
LINK_BATCH=${MYKEY_BENCH_LINK_BATCH:-100}
CHARGES=${MYKEY_BENCH_CHARGES:-100}
MAX_RATE=${MYKEY_BENCH_MAX_RATE:-700}
MAX_CHARGE_RATE=${MYKEY_BENCH_MAX_CHARGE_RATE:-20000}
TIMEOUT_COMMIT=${MYKEY_BENCH_TIMEOUT_COMMIT:-500ms}
VALIDATORS=4
DRAIN=20

die() { echo "bench-net: $*" >&2; exit 1; }
log() { echo "bench-net: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"
mkdir -p "$OUT/bin"
PIDS=()

# stop_nodes: SIGTERM the nodes started here, wait up to 15 s, then SIGKILL.
stop_nodes() {
	((${#PIDS[@]})) || return 0
	stop_pids 15 "${PIDS[@]}"
	PIDS=()
}
trap 'stop_nodes' EXIT
trap 'exit 130' INT TERM

# start_net NAME BASE [mykeyd start flags...]: write a fresh network in
# OUT/NAME/net and start its nodes; waits for the first block.
start_net() {
	local name=$1 base=$2 i h
	shift 2
	local dir=$OUT/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	"$OUT/bin/mykeyd" testnet --validators "$VALIDATORS" --output "$dir/net" --chain-id "mykey-bench-$name" \
		--base-port "$base" --timeout-commit "$TIMEOUT_COMMIT" --cards 0 --json >/dev/null
	for ((i = 0; i < VALIDATORS; i++)); do
		"$OUT/bin/mykeyd" start --home "$dir/net/node$i" "$@" >>"$dir/node$i.log" 2>&1 &
		PIDS+=($!)
		echo $! >"$dir/node$i.pid"
	done
	for ((i = 0; i < 120; i++)); do
		h=$(curl -sf --max-time 2 "http://127.0.0.1:$((base + 1))/status" 2>/dev/null |
			sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p' || true)
		if [[ -n $h && $h -ge 2 ]]; then
			log "$name network up (PIDs ${PIDS[*]}), height $h"
			return 0
		fi
		sleep 0.5
	done
	tail -n 20 "$dir/node0.log" >&2
	die "$name network made no block within 60 s; see $dir/node*.log"
}

loadgen() {
	# A hard bound: signing, load, drain and reading the blocks.
	timeout --signal=TERM --kill-after=10 "$1" "$OUT/bin/loadgen" "${@:2}" \
		--duration "${DURATION}s" --drain "${DRAIN}s" --inflight "$INFLIGHT" --window "$WINDOW" --json
}

command -v curl >/dev/null || die "curl is not installed"
log "output in $OUT; ${DURATION}s a phase; load average at start: $(loadavg)"
echo "load average at start: $(loadavg)" >"$OUT/loadavg.txt"
log "building mykeyd and loadgen..."
go build -o "$OUT/bin/mykeyd" ./cmd/mykeyd
go build -o "$OUT/bin/loadgen" ./scripts/loadgen

# The ledger.
start_net mykey "$BASE_PORT"
loadgen $((3 * DURATION + 3 * DRAIN + 240)) --network "$OUT/mykey/net" --phases links,links-batched,grants \
	--link-batch "$LINK_BATCH" --charges "$CHARGES" --charge-window "$CHARGE_WINDOW" \
	--max-rate "$MAX_RATE" --max-charge-rate "$MAX_CHARGE_RATE" >"$OUT/mykey.json"
stop_nodes

# The baseline: the same nodes and configuration, kvstore instead of the ledger.
start_net kvstore $((BASE_PORT + 100)) --abci kvstore
loadgen $((DURATION + DRAIN + 90)) --network "$OUT/kvstore/net" --kvstore >"$OUT/kvstore.json"
stop_nodes

echo "load average at end: $(loadavg)" >>"$OUT/loadavg.txt"
echo
echo "MyKey Ledger, 4 validators on 127.0.0.1, ${DURATION}s a phase, inflight $INFLIGHT, window $WINDOW links/txs ($CHARGE_WINDOW charges), $LINK_BATCH links a batch, $CHARGES charges a grant"
cat "$OUT/loadavg.txt"
"$OUT/bin/loadgen" --report "$OUT/mykey.json" --baseline "$OUT/kvstore.json"
echo "raw results: $OUT/mykey.json $OUT/kvstore.json"
