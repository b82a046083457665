#!/usr/bin/env bash
# Network-level benchmark: a fresh 4-validator MyKey Ledger network on
# 127.0.0.1 under a bounded load (scripts/loadgen) in phases (links,
# links-batched, grants), then the same load shape and transaction size
# against CometBFT's kvstore example app on the same nodes and
# configuration (`mykeyd start --abci kvstore`), and a table with the ratio.
#
# Each phase, and the kvstore baseline, is measured at its best sustained
# throughput with p95 submit-to-commit latency within MYKEY_BENCH_SWEEP_P95:
# a sweep of the in-flight window (transactions accepted and not yet
# committed) runs DURATION seconds at each window in turn and stops when
# p95 passes the limit, the throughput stops rising, or the phase has run
# MYKEY_BENCH_SWEEP_BUDGET seconds; the table gives the chosen window and
# every step. In a closed loop the throughput is the window divided by the
# latency, and the latency has a floor of about one block (0.6–0.7 s here),
# so the sweep starts at windows near the knee: a run at one block's
# latency and a window of 16 says nothing about the ledger. Each node's resident memory (VmRSS of the PIDs started here)
# is sampled every 0.5 s in every phase; the table gives the peak per node,
# and a line per network sets it beside each node's configured memory budget
# (mykey.memory_limit_mib in its config.toml: MYKEY_BENCH_MEMORY_MIB, default
# 4096, four nodes' budgets within a 24 GiB machine; test networks
# otherwise get 1024 MiB).
# With MYKEY_BENCH_BASELINE=<revision>, the ledger's phases run again on a
# network of that revision's mykeyd (built in a temporary git worktree),
# side by side.
#
#   scripts/bench-net.sh                          # about 10 minutes on 2 cores
#   MYKEY_BENCH_DURATION=5 MYKEY_BENCH_SWEEP=16,32 MYKEY_BENCH_BATCH_SWEEP=2,4 scripts/bench-net.sh  # a smoke run
#
# Environment (defaults in brackets):
#   MYKEY_BENCH_DURATION      seconds of load per phase, or per sweep step [15]
#   MYKEY_BENCH_SWEEP         windows (transactions) swept in the links and kvstore phases,
#                             0 for one run at MYKEY_BENCH_WINDOW [128,256,512,1024,2048]
#   MYKEY_BENCH_BATCH_SWEEP   windows (transactions of 100 items) swept in the links-batched
#                             and grants phases, 0 for one run at the fixed windows [4,8,16,32,64]
#   MYKEY_BENCH_SWEEP_P95     the p95 latency limit [3s]
#   MYKEY_BENCH_SWEEP_BUDGET  seconds after which a phase's sweep starts no new step [120]
#   MYKEY_BENCH_BASELINE      a revision whose mykeyd also runs the ledger's phases [none]
#   MYKEY_BENCH_OUT           output directory [a new /tmp/mykey-bench-net.XXXXXX]
#   MYKEY_BENCH_BASE_PORT     first port; the kvstore network uses +100 [24656, below the ephemeral range]
#   MYKEY_BENCH_INFLIGHT      broadcast_tx_sync calls in flight [32]
#   MYKEY_BENCH_WINDOW        without a sweep: links (kvstore: txs) accepted, not yet committed [2000]
#   MYKEY_BENCH_CHARGE_WINDOW without a sweep: charges accepted, not yet committed [10000]
#   MYKEY_BENCH_VALIDATORS    validators [4; 2 for a smoke run]
#   MYKEY_BENCH_LINK_BATCH    links per link batch [100]
#   MYKEY_BENCH_CHARGES       charges per grant [100]
#   MYKEY_BENCH_MAX_RATE      links/s a link phase's pre-signed pool is sized for [1000]
#   MYKEY_BENCH_MAX_CHARGE_RATE  charges/s the grants pool is sized for [20000]
#   MYKEY_BENCH_TIMEOUT_COMMIT   consensus timeout_commit [500ms, as localnet]
#
# Links are signed before each phase's (or sweep step's) clock starts,
# never while the load runs (two RSA-2048 signatures each: the test CA's on
# a new card, the card's on the link; ~550 links/s on 2 busy cores): a
# step's pool is MAX_RATE x DURATION links (links-batched first takes what
# the links phase left). A step whose pool runs out early stops early, is
# marked pool-exhausted and ends its sweep; its rate is still over its own
# blocks. Raising MAX_RATE lengthens the run by the signing time.
#
# loadgen counts, per phase and step, the transactions CheckTx refused,
# the calls retried on a full mempool and the RPC errors apart; latency
# runs from a transaction's first send. A phase that fails stops the
# script with its name and the end of its logs.
#
# Raw results: OUT/mykey.json, OUT/kvstore.json (and OUT/base.json)
# (scripts/loadgen --json), loadgen logs in OUT/*.loadgen.log, node logs in
# OUT/*/node*.log. Everything started here is stopped on exit, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${MYKEY_BENCH_DURATION:-15}
SWEEP=${MYKEY_BENCH_SWEEP:-128,256,512,1024,2048}
BATCH_SWEEP=${MYKEY_BENCH_BATCH_SWEEP:-4,8,16,32,64}
SWEEP_P95=${MYKEY_BENCH_SWEEP_P95:-3s}
SWEEP_BUDGET=${MYKEY_BENCH_SWEEP_BUDGET:-120}
BASELINE=${MYKEY_BENCH_BASELINE:-}
[[ $BASELINE != 0 ]] || BASELINE=
[[ $SWEEP != 0 ]] || SWEEP=
[[ $BATCH_SWEEP != 0 ]] || BATCH_SWEEP=
CMD="${MYKEY_BENCH_COMMAND:-$(env | grep '^MYKEY_BENCH_' | sort | tr '\n' ' ')scripts/bench-net.sh}"
OUT=${MYKEY_BENCH_OUT:-$(mktemp -d /tmp/mykey-bench-net.XXXXXX)}
BASE_PORT=${MYKEY_BENCH_BASE_PORT:-24656}
INFLIGHT=${MYKEY_BENCH_INFLIGHT:-32}
WINDOW=${MYKEY_BENCH_WINDOW:-2000}
CHARGE_WINDOW=${MYKEY_BENCH_CHARGE_WINDOW:-10000}
LINK_BATCH=${MYKEY_BENCH_LINK_BATCH:-100}
CHARGES=${MYKEY_BENCH_CHARGES:-100}
MAX_RATE=${MYKEY_BENCH_MAX_RATE:-1000}
MAX_CHARGE_RATE=${MYKEY_BENCH_MAX_CHARGE_RATE:-20000}
TIMEOUT_COMMIT=${MYKEY_BENCH_TIMEOUT_COMMIT:-500ms}
VALIDATORS=${MYKEY_BENCH_VALIDATORS:-4}
MEMORY=${MYKEY_BENCH_MEMORY_MIB:-4096}
DRAIN=20

die() { echo "bench-net: $*" >&2; exit 1; }
log() { echo "bench-net: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"
mkdir -p "$OUT/bin"
PIDS=()
# shellcheck source=lib/baseline.sh
. "$ROOT/scripts/lib/baseline.sh"

# stop_nodes: SIGTERM the nodes started here, wait up to 15 s, then SIGKILL.
stop_nodes() {
	((${#PIDS[@]})) || return 0
	stop_pids 15 "${PIDS[@]}"
	PIDS=()
}
cleanup() {
	stop_nodes
	baseline_cleanup
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

# start_net NAME BASE MYKEYD [mykeyd start flags...]: write a fresh network
# in OUT/NAME/net with the binary MYKEYD and start its nodes (their PIDs in
# OUT/NAME/node*.pid, for loadgen's memory samples); waits for the first
# block.
start_net() {
	local name=$1 base=$2 mykeyd=$3 i h
	shift 3
	local dir=$OUT/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	local mem=()
	# Each node's memory budget (a baseline older than the setting runs
	# with its own defaults).
	if "$mykeyd" testnet --help 2>&1 | grep -q -- --memory-limit-mib; then
		mem=(--memory-limit-mib "$MEMORY")
	fi
	"$mykeyd" testnet --validators "$VALIDATORS" --output "$dir/net" --chain-id "mykey-bench-$name" \
		--base-port "$base" --timeout-commit "$TIMEOUT_COMMIT" --cards 0 "${mem[@]}" --json >/dev/null
	# node0 serves CPU profiles (CometBFT's pprof_laddr) on a port no node
	# uses; loadgen takes one while each phase sends.
	sed -i "s|^pprof_laddr = \"\"|pprof_laddr = \"127.0.0.1:$((base + 5))\"|" "$dir/net/node0/config/config.toml"
	for ((i = 0; i < VALIDATORS; i++)); do
		"$mykeyd" start --home "$dir/net/node$i" "$@" >>"$dir/node$i.log" 2>&1 &
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

# phase_bound PHASES: seconds a loadgen run of PHASES phases may take at
# most: for each, its sweep's steps (or one run), signing, drain and
# reading the blocks.
phase_bound() {
	local steps=1
	[[ -z $SWEEP && -z $BATCH_SWEEP ]] || steps=$((SWEEP_BUDGET / DURATION + 1))
	echo $(($1 * steps * (DURATION + DRAIN + 60) + 240))
}

# loadgen NAME BOUND ARGS...: run the loadgen (output OUT/NAME.json, its log
# OUT/NAME.loadgen.log), within BOUND seconds; a failure stops the script
# with the phase's name and the end of the loadgen's and node 0's logs.
loadgen() {
	local name=$1 bound=$2 rc=0
	shift 2
	local base
	case $name in mykey) base=$BASE_PORT ;; kvstore) base=$((BASE_PORT + 100)) ;; *) base=$((BASE_PORT + 200)) ;; esac
	mkdir -p "$OUT/profile-$name"
	local sweep=()
	[[ -z $SWEEP ]] || sweep+=(--sweep "$SWEEP")
	[[ -z $BATCH_SWEEP ]] || sweep+=(--batch-sweep "$BATCH_SWEEP")
	((${#sweep[@]} == 0)) || sweep+=(--sweep-p95 "$SWEEP_P95" --sweep-budget "${SWEEP_BUDGET}s")
	timeout --signal=TERM --kill-after=10 "$bound" "$OUT/bin/loadgen" "$@" "${sweep[@]}" \
		--duration "${DURATION}s" --drain "${DRAIN}s" --inflight "$INFLIGHT" --window "$WINDOW" --json \
		--profile-url "http://127.0.0.1:$((base + 5))/debug/pprof/profile" --profile-dir "$OUT/profile-$name" \
		>"$OUT/$name.json" 2> >(tee "$OUT/$name.loadgen.log" >&2) || rc=$?
	if ((rc != 0)); then
		echo "bench-net: phase $name failed (loadgen exit $rc$( ((rc != 124)) || echo ": over its bound of ${bound}s")); the end of $OUT/$name.loadgen.log:" >&2
		tail -n 20 "$OUT/$name.loadgen.log" >&2
		echo "bench-net: the end of $OUT/$name/node0.log:" >&2
		tail -n 20 "$OUT/$name/node0.log" >&2 || true
		exit 1
	fi
}

# memory_vs_budget NAME: each node's peak RSS (the top-level rss_peak_mib of
# OUT/NAME.json, as loadgen indents it) beside its memory budget
# (mykey.memory_limit_mib in OUT/NAME/net/nodeI/config/config.toml; "none"
# for a mykeyd from before the setting, which kept no budget).
memory_vs_budget() {
	local name=$1 i peak budget line=""
	for ((i = 0; i < VALIDATORS; i++)); do
		peak=$(awk -v node="node$i" '
			/^  "rss_peak_mib": \{/ { inside = 1; next }
			inside && /^  \}/ { exit }
			inside && index($0, "\"" node "\":") { gsub(/[^0-9]/, "", $2); print $2; exit }
		' "$OUT/$name.json" 2>/dev/null || true)
		budget=$(sed -n 's/^memory_limit_mib *= *\([0-9][0-9]*\).*/\1/p' "$OUT/$name/net/node$i/config/config.toml" 2>/dev/null || true)
		line+="${line:+, }node$i ${peak:-?}/${budget:-none}"
	done
	echo "peak RSS / memory_limit_mib per node, $name (MiB): $line$([[ $name != kvstore ]] || echo " (the kvstore baseline sizes no store and sets no Go memory limit)")"
}

# profiles NAME BIN: for each phase of OUT/NAME.json, node0's CPU profile
# taken while the phase (its chosen sweep step) sent: the functions with the
# most CPU time of their own, and the full -top and -top -cum beside the
# profile.
profiles() {
	local name=$1 bin=$2 f
	for f in $(grep -o '"profile": *"[^"]*"' "$OUT/$name.json" | cut -d'"' -f4); do
		go tool pprof -top "$bin" "$f" >"${f%.pprof}.top.txt" 2>/dev/null || continue
		go tool pprof -top -cum "$bin" "$f" >"${f%.pprof}.cum.txt" 2>/dev/null || true
		echo "node0 CPU profile, $name $(basename "${f%.pprof}") ($(sed -n 's/^Duration: \([^,]*\), Total samples = \([^ ]*\).*/\1, \2 of CPU/p' "${f%.pprof}.top.txt")): $f"
		echo "    share of node0's CPU (cumulative): $(shares "${f%.pprof}.cum.txt")"
		sed -n '/ flat%/,$p' "${f%.pprof}.top.txt" | sed -n '2,9p' | sed 's/^/    /'
	done
}

# shares CUMFILE: the cumulative share of the main consumers of a node's CPU
# in a `go tool pprof -top -cum` listing.
shares() {
	awk '
		BEGIN {
			n = split("github.com/mykeyledger/mykey/app.(*App).FinalizeBlock=FinalizeBlock github.com/mykeyledger/mykey/app.(*App).Commit=Commit " \
				"github.com/mykeyledger/mykey/app.(*App).CheckTx=CheckTx github.com/mykeyledger/mykey/app.(*App).PrepareProposal=PrepareProposal " \
				"github.com/mykeyledger/mykey/app.(*App).ProcessProposal=ProcessProposal " \
				"github.com/cometbft/cometbft/abci/example/kvstore.(*Application).FinalizeBlock=kvstore.FinalizeBlock " \
				"github.com/cometbft/cometbft/abci/example/kvstore.(*Application).CheckTx=kvstore.CheckTx " \
				"github.com/cometbft/cometbft/p2p/conn.(*MConnection).sendRoutine=p2p-send github.com/cometbft/cometbft/p2p/conn.(*MConnection).recvRoutine=p2p-recv " \
				"github.com/cometbft/cometbft/internal/consensus.(*State).handleMsg=consensus " \
				"github.com/cometbft/cometbft/mempool.(*Reactor).Receive=mempool-gossip-in " \
				"net/http.(*conn).serve=RPC " \
				"runtime.gcBgMarkWorker=GC", pairs, " ")
			for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); want[kv[1]] = kv[2]; order[i] = kv[1] }
		}
		$NF in want && !($NF in got) { got[$NF] = $5 }
		END {
			s = ""
			for (i = 1; i <= n; i++) if (order[i] in got) s = s (s == "" ? "" : ", ") want[order[i]] " " got[order[i]]
			print (s == "" ? "-" : s)
		}' "$1"
}

command -v curl >/dev/null || die "curl is not installed"
{
	echo "commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "command: $CMD"
	echo "nproc: $(nproc)"
} >"$OUT/run.txt"
log "output in $OUT; ${DURATION}s a phase or sweep step; load average at start: $(loadavg)"
echo "load average at start: $(loadavg)" >"$OUT/loadavg.txt"
log "building mykeyd and loadgen..."
go build -o "$OUT/bin/mykeyd" ./cmd/mykeyd
go build -o "$OUT/bin/loadgen" ./scripts/loadgen
if [[ -n $BASELINE ]]; then
	baseline_checkout "$BASELINE" "$OUT"
	echo "baseline: $BASELINE = $(git -C "$BASE_SRC" describe --always)" >>"$OUT/run.txt"
	log "building the baseline's mykeyd ($BASELINE)..."
	(cd "$BASE_SRC" && go build -o "$OUT/bin/mykeyd-base" ./cmd/mykeyd) || die "the baseline $BASELINE does not build"
fi

mykey_phases=(--phases links,links-batched,grants --link-batch "$LINK_BATCH" --charges "$CHARGES" --charge-window "$CHARGE_WINDOW"
	--max-rate "$MAX_RATE" --max-charge-rate "$MAX_CHARGE_RATE")

# The ledger.
start_net mykey "$BASE_PORT" "$OUT/bin/mykeyd"
loadgen mykey "$(phase_bound 3)" --network "$OUT/mykey/net" "${mykey_phases[@]}"
stop_nodes

# The baseline: the same nodes and configuration, kvstore instead of the ledger.
start_net kvstore $((BASE_PORT + 100)) "$OUT/bin/mykeyd" --abci kvstore
loadgen kvstore "$(phase_bound 1)" --network "$OUT/kvstore/net" --kvstore
stop_nodes

# Before/after: the ledger's phases on the baseline revision's nodes.
if [[ -n $BASELINE ]]; then
	base_start=$SECONDS
	start_net base $((BASE_PORT + 200)) "$OUT/bin/mykeyd-base"
	loadgen base "$(phase_bound 3)" --network "$OUT/base/net" "${mykey_phases[@]}"
	stop_nodes
	echo $((SECONDS - base_start)) >"$OUT/baseline-seconds" # for bench.sh
fi

echo "load average at end: $(loadavg)" >>"$OUT/loadavg.txt"
echo
sweep_text="a sweep of the window: ${SWEEP:-none} txs (links, kvstore), ${BATCH_SWEEP:-none} txs (batched links, grants), ${DURATION}s a step, p95 ≤ $SWEEP_P95, at most ${SWEEP_BUDGET}s a phase"
[[ -n $SWEEP || -n $BATCH_SWEEP ]] || sweep_text="one window: $WINDOW links/txs ($CHARGE_WINDOW charges), ${DURATION}s a phase"
echo "MyKey Ledger, $VALIDATORS validators on 127.0.0.1, $sweep_text, inflight $INFLIGHT, $LINK_BATCH links a batch, $CHARGES charges a grant"
cat "$OUT/run.txt" "$OUT/loadavg.txt"
"$OUT/bin/loadgen" --report "$OUT/mykey.json" --baseline "$OUT/kvstore.json"
memory_vs_budget mykey
memory_vs_budget kvstore
profiles mykey "$OUT/bin/mykeyd"
profiles kvstore "$OUT/bin/mykeyd"
if [[ -n $BASELINE ]]; then
	echo "before/after: the same phases on $BASELINE's nodes, same run:"
	"$OUT/bin/loadgen" --report "$OUT/base.json" --baseline "$OUT/kvstore.json"
	memory_vs_budget base
fi
echo "raw results: $OUT/mykey.json $OUT/kvstore.json${BASELINE:+ $OUT/base.json}"
