#!/usr/bin/env bash
# Run every test of MyKey Ledger: gofmt, go vet, then go test ./... (unit
# tests, the ledger's simulation, real 4-validator networks of mykeyd
# processes on 127.0.0.1, the card tests through pcscd with the vpcd
# driver, which those tests start themselves, the Docker fault suite in
# faults/ — skipped without Docker unless MYKEY_REQUIRE_DOCKER=1, as CI
# sets it — and 30 s fuzz runs of CheckTx and of genesis against
# InitChain), then the race step: go test -race on ./app/ ./app/store/
# ./client/rpc/... ./node/ (not node/e2e, whose nodes are separate
# processes), about 2 minutes on 2 cores with a warm build cache (most of
# it app/store's tests), 4 from a cold one; and the README's first command,
# scripts/localnet.sh, on ports and in a directory of its own: start,
# status, one link with a test card, stop, and the nodes are gone.
#
# Run as root on a fresh Debian machine, it installs the Debian packages the
# tests need with apt-get; otherwise it prints the apt-get command and stops.
#
#   scripts/test.sh                  everything
#   scripts/test.sh ./node/...       only some packages (go test patterns),
#                                    no race step
#   GO_TEST_FLAGS=-short scripts/test.sh   skip the multi-node networks,
#                                          the fault suite, the fuzz run,
#                                          the race step and the localnet
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "test: $*" >&2; exit 1; }
# shellcheck source=lib/prereq.sh
. scripts/lib/prereq.sh

# Debian packages: what the build needs (scripts/lib/prereq.sh), and pcscd
# and vsmartcard-vpcd for the card tests, which start `pcscd -f` with the
# virtual reader themselves.
build_debs
[[ -x /usr/sbin/pcscd ]] || have pcscd || debs+=(pcscd)
[[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]] || debs+=(vsmartcard-vpcd)
install_debs "${debs[@]}"
if ! have chromium && ! have chromium-browser && ! have google-chrome; then
	echo "test: note: no chromium; the web explorer's browser test (client/audit) will be skipped (apt-get install chromium)" >&2
fi
want=go1.26
case "$(go env GOVERSION)" in
go1.2[6-9]* | go1.[3-9][0-9]*) ;;
*) echo "test: $(go env GOVERSION) is too old; need $want or later" >&2; exit 1 ;;
esac

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' port "$1" 2>/dev/null; }

# localnet_check runs the README's first command as a developer does
# (start, status, link a test card, stop) on the first free set of ports
# from 28656 up and in a directory of its own, so that a developer's running
# localnet (26656…, localnet/) is never touched. Every step is bounded in
# time, and the network is stopped whatever happens.
localnet_check() {
	local base i port out id ok
	local -a pids=()
	echo "== localnet"
	LN_DIR=$(mktemp -d)
	for base in 28656 29656 30656 31656 32656 ""; do
		[[ -n $base ]] || die "localnet: no free ports from 28656 up"
		ok=1
		for ((i = 0; i < 4 && ok; i++)); do
			for port in $((base + 10 * i)) $((base + 10 * i + 1)) $((base + 10 * i + 2)) $((base + 10 * i + 3)) $((base + 10 * i + 4)); do
				port_free "$port" || { ok=0; break; }
			done
		done
		((ok)) && break
	done
	export LOCALNET_DIR=$LN_DIR BASE_PORT=$base
	trap 'scripts/localnet.sh stop >/dev/null 2>&1 || true' EXIT

	out=$(timeout 600 scripts/localnet.sh 2>&1) || localnet_fail "$out" "scripts/localnet.sh did not start the network"
	grep -q '^first block ' <<<"$out" || localnet_fail "$out" "no first block reported"
	for ((i = 0; i < 4; i++)); do
		pids+=("$(<"$LN_DIR/node$i.pid")")
	done
	echo "started on 127.0.0.1:$base… in $LN_DIR (PIDs ${pids[*]})"

	# Every node answers with a height and becomes ready (caught up, peers).
	for ((i = 0; i < 60; i++)); do
		out=$(timeout 60 scripts/localnet.sh status) || localnet_fail "$out" "status failed"
		[[ $(grep -c ' height [0-9][0-9]* *ready 200 ' <<<"$out") -eq 4 ]] && break
		sleep 0.5
	done
	echo "$out"
	[[ $(grep -c ' height [0-9][0-9]* *ready 200 ' <<<"$out") -eq 4 ]] || localnet_fail "" "not every node is ready within 30 s"

	# README, "Link a card": a test card is linked through the full RPC, and
	# the linkage is read back, proved, from the public endpoint.
	out=$(echo 1234 | MYKEY_NETWORK=$LN_DIR/net timeout 120 "$LN_DIR/bin/mykey" link --program mynapoint \
		--provider paypay --account test-localnet-account --card "file:$LN_DIR/net/cards/card-0.json" --pin-stdin 2>&1) ||
		localnet_fail "$out" "mykey link failed"
	id=$(sed -n 's/^linked: MyKey ID \([0-9A-Z]*\) is linked to "paypay".*/\1/p' <<<"$out")
	[[ -n $id ]] || localnet_fail "$out" "mykey link printed no MyKey ID"
	out=$(MYKEY_NETWORK=$LN_DIR/net timeout 60 "$LN_DIR/bin/mykey" query link --node "http://127.0.0.1:$((base + 4))" \
		--program mynapoint --mykey "$id" --prove 2>&1) || localnet_fail "$out" "mykey query link failed"
	grep -q "^MyKey ID $id in program \"mynapoint\": provider \"paypay\"" <<<"$out" && grep -q 'proof verified' <<<"$out" ||
		localnet_fail "$out" "the public endpoint does not prove $id's linkage"
	echo "linked MyKey ID $id to paypay; the public endpoint proves it"

	# stop stops the four nodes it started, and they are gone.
	out=$(timeout 120 scripts/localnet.sh stop 2>&1) || localnet_fail "$out" "stop failed"
	[[ $out == "stopped 4 nodes" ]] || localnet_fail "$out" "stop: want \"stopped 4 nodes\""
	for i in "${pids[@]}"; do
		[[ ! -e /proc/$i ]] || localnet_fail "" "PID $i still runs after stop"
	done
	for ((i = 0; i < 4; i++)); do
		port_free $((base + 10 * i + 1)) || localnet_fail "" "127.0.0.1:$((base + 10 * i + 1)) still answers after stop"
	done
	out=$(scripts/localnet.sh status)
	[[ $(grep -c 'not running' <<<"$out") -eq 4 ]] || localnet_fail "$out" "status after stop: want 4 nodes not running"
	trap - EXIT
	unset LOCALNET_DIR BASE_PORT
	rm -rf "$LN_DIR"
	echo "== localnet passed"
}

# localnet_fail OUTPUT MESSAGE: show what the step printed and node 0's
# log, keep the directory, stop (the EXIT trap stops the nodes).
localnet_fail() {
	[[ -z $1 ]] || echo "$1" >&2
	tail -n 20 "$LN_DIR/node0.log" >&2 2>/dev/null || true
	die "localnet: $2 (logs in $LN_DIR)"
}

pkgs=("$@")
((${#pkgs[@]})) || pkgs=(./...)

start=$(date +%s)
echo "== gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "test: not gofmt'd:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet "${pkgs[@]}"
echo "== go test"
# -timeout bounds each test binary; the slowest (node/e2e, real networks)
# takes about two minutes on 2 cores.
export MYKEY_FAULTS_REPORT=${MYKEY_FAULTS_REPORT:-$(mktemp)}
go test -count=1 -timeout 25m ${GO_TEST_FLAGS:-} "${pkgs[@]}"
if [[ -s $MYKEY_FAULTS_REPORT ]]; then
	echo "== fault suite report"
	cat "$MYKEY_FAULTS_REPORT"
fi
if [[ $# -eq 0 && ${GO_TEST_FLAGS:-} != *-short* ]]; then
	localnet_check
	echo "== go test -race"
	race_start=$(date +%s)
	go test -race -count=1 -timeout 20m ./app/ ./app/store/ ./client/rpc/... ./node/
	echo "== race step passed in $(($(date +%s) - race_start)) s"
fi
echo "== all tests passed in $(($(date +%s) - start)) s"
