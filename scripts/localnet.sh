#!/usr/bin/env bash
# A 4-validator MyKey Ledger network on 127.0.0.1, in the background.
#
#   scripts/localnet.sh           build, write a fresh network and start it
#   scripts/localnet.sh stop      stop it (SIGTERM, by the PIDs it recorded)
#   scripts/localnet.sh status    height, readiness and memory of each node
#   scripts/localnet.sh resume    start the stopped network again, keeping its data
#
# Everything lives in localnet/ (LOCALNET_DIR): bin/ (mykeyd, mykey),
# net/ (what `mykeyd testnet` wrote: node homes, keys, test CA and cards,
# genesis.json, network.json), node<i>.log and node<i>.pid.
# Node i listens on 127.0.0.1: P2P BASE_PORT+10i, RPC +1, metrics +2,
# readiness +3, public endpoint +4; node 0's RPC is 26657 by default.
#
# Besides Go it needs gcc, libc6-dev, pkg-config and libpcsclite-dev (the
# mykey client talks PC/SC through cgo); run as root, it installs the
# missing ones with apt-get, otherwise it prints the command. It needs no
# curl or ps: it talks HTTP through bash's /dev/tcp and finds its nodes in
# /proc, so it runs on a minimal Debian system.
set -euo pipefail
CALLER=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${LOCALNET_DIR:-$ROOT/localnet}
[[ $DIR == /* ]] || DIR=$CALLER/$DIR
VALIDATORS=${VALIDATORS:-4}
BASE_PORT=${BASE_PORT:-26656}
CHAIN_ID=${CHAIN_ID:-mykey-localnet}
TIMEOUT_COMMIT=${TIMEOUT_COMMIT:-500ms}

die() { echo "localnet: $*" >&2; exit 1; }

# shellcheck source=lib/prereq.sh
. "$ROOT/scripts/lib/prereq.sh"
# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

# prerequisites: Go and the packages the build needs (scripts/lib/prereq.sh).
prerequisites() {
	build_debs
	install_debs "${debs[@]}"
}

# http PORT PATH: GET http://127.0.0.1:PORT/PATH, the response with its
# headers (HTTP/1.0, so the body is not chunked), or nothing. Bash's
# /dev/tcp instead of curl, which a minimal system lacks.
http() {
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3 &&
		cat <&3' http "$1" "$2" 2>/dev/null || true
}

rpc_port() { echo $((BASE_PORT + 10 * $1 + 1)); }

# height N: node N's latest block height, or nothing if it does not answer.
height() {
	http "$(rpc_port "$1")" /status |
		sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p' || true
}

# pid N: node N's recorded PID if that process is still the mykeyd we
# started for node N (/proc, not ps: a minimal system has no ps; and a PID
# reused by another process, or another network's node, is not ours).
pid() {
	local f="$DIR/node$1.pid" p cmdline
	[[ -f $f ]] || return 1
	p=$(<"$f")
	[[ $p =~ ^[0-9]+$ ]] || return 1
	[[ $(cat "/proc/$p/comm" 2>/dev/null) == mykeyd ]] || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *" start --home $DIR/net/node$1 "* ]] || return 1
	echo "$p"
}

running() {
	local i
	for ((i = 0; i < VALIDATORS; i++)); do
		pid "$i" >/dev/null && return 0
	done
	return 1
}

start_nodes() {
	local i start ms h
	start=$(date +%s%N)
	for ((i = 0; i < VALIDATORS; i++)); do
		"$DIR/bin/mykeyd" start --home "$DIR/net/node$i" >>"$DIR/node$i.log" 2>&1 &
		echo $! >"$DIR/node$i.pid"
	done
	echo "started $VALIDATORS nodes (PIDs in $DIR/node*.pid, logs in $DIR/node*.log)"
	for ((i = 0; i < 120; i++)); do
		h=$(height 0)
		if [[ -n $h && $h -ge 1 ]]; then
			ms=$((($(date +%s%N) - start) / 1000000))
			printf 'first block %d.%03d s after start (height %s)\n' $((ms / 1000)) $((ms % 1000)) "$h"
			return 0
		fi
		sleep 0.5
	done
	tail -n 20 "$DIR/node0.log" >&2
	stop_nodes
	die "no block within 60 s; see the logs in $DIR"
}

stop_nodes() {
	local i p
	local -a pids=()
	for ((i = 0; i < VALIDATORS; i++)); do
		if p=$(pid "$i"); then
			pids+=("$p")
		fi
		rm -f "$DIR/node$i.pid"
	done
	stop_pids 30 "${pids[@]}"
	echo "stopped ${#pids[@]} nodes"
}

next_steps() {
	local i
	echo
	echo "MyKey Ledger local network, chain $CHAIN_ID:"
	for ((i = 0; i < VALIDATORS; i++)); do
		printf '  node%d  %-10s rpc http://127.0.0.1:%d  public http://127.0.0.1:%d  metrics http://127.0.0.1:%d/metrics  ready http://127.0.0.1:%d/ready\n' \
			"$i" "$(name "$i")" "$(rpc_port "$i")" $((BASE_PORT + 10 * i + 4)) $((BASE_PORT + 10 * i + 2)) $((BASE_PORT + 10 * i + 3))
	done
	cat <<EOF

Layout (keys, test CA, test cards): $DIR/net/network.json
Try:
  curl -s http://127.0.0.1:$(rpc_port 0)/status   (the full RPC)
  curl -s 'http://127.0.0.1:$((BASE_PORT + 4))/abci_query?path="/program/mynapoint"'   (the public endpoint)
  scripts/localnet.sh status
EOF
	if [[ -x $DIR/bin/mykey ]]; then
		cat <<EOF

Link a test card, record a charge, audit (README.md, "Link a card, record a charge, audit"):
  export PATH=$DIR/bin:\$PATH MYKEY_NETWORK=$DIR/net
  mykey link --program mynapoint --provider paypay --account my-paypay-token --card file:$DIR/net/cards/card-0.json
      (PIN 1234; prints the MyKey ID)
  mykey grant --key $DIR/net/keys/provider-paypay.json --program mynapoint --mykey <MyKey ID> --charge-ref r-1 --amount 10000
  mykey audit summary          (reads node0's public endpoint)
EOF
	fi
	echo "Stop it with: scripts/localnet.sh stop"
}

name() {
	sed -n 's/.*"name": "\([^"]*\)".*/\1/p' "$DIR/net/network.json" | sed -n "$(($1 + 1))p"
}

status() {
	local i p h rss ready
	for ((i = 0; i < VALIDATORS; i++)); do
		if p=$(pid "$i"); then
			h=$(height "$i")
			rss=$(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$p/status" 2>/dev/null)
			ready=$(http $((BASE_PORT + 10 * i + 3)) /ready | awk 'NR == 1 { print $2 }')
			printf 'node%d  pid %-7s height %-6s ready %s  rss %s\n' "$i" "$p" "${h:--}" "${ready:--}" "$rss"
		else
			printf 'node%d  not running\n' "$i"
		fi
	done
}

build() {
	prerequisites
	mkdir -p "$DIR/bin"
	echo "building mykeyd..."
	go build -o "$DIR/bin/mykeyd" ./cmd/mykeyd
	if [[ -d cmd/mykey ]]; then
		go build -o "$DIR/bin/mykey" ./cmd/mykey
	fi
}

case "${1:-start}" in
start)
	running && die "already running; scripts/localnet.sh stop first"
	build
	rm -rf "$DIR/net" "$DIR"/node*.log "$DIR"/node*.pid
	"$DIR/bin/mykeyd" testnet --validators "$VALIDATORS" --output "$DIR/net" --chain-id "$CHAIN_ID" \
		--base-port "$BASE_PORT" --timeout-commit "$TIMEOUT_COMMIT" --json >/dev/null
	start_nodes
	next_steps
	;;
resume)
	running && die "already running"
	[[ -d $DIR/net ]] || die "no network in $DIR/net; run scripts/localnet.sh first"
	build
	start_nodes
	next_steps
	;;
stop)
	stop_nodes
	;;
status)
	status
	;;
*)
	die "usage: scripts/localnet.sh [start|stop|status|resume]"
	;;
esac
