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
# it app/store's tests), 4 from a cold one. Installs nothing: it checks
# what the tests need and says what to install (.ci/run installs it on a
# fresh Debian machine).
#
#   scripts/test.sh                  everything
#   scripts/test.sh ./node/...       only some packages (go test patterns),
#                                    no race step
#   GO_TEST_FLAGS=-short scripts/test.sh   skip the multi-node networks,
#                                          the fault suite, the fuzz run
#                                          and the race step
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have go || missing+=("Go 1.26 (https://go.dev/dl/; put it on PATH)")
have gcc || missing+=("gcc (Debian: build-essential)")
have pkg-config || missing+=("pkg-config")
if have pkg-config && ! pkg-config --exists libpcsclite; then
	missing+=("libpcsclite-dev")
fi
[[ -x /usr/sbin/pcscd ]] || have pcscd || missing+=("pcscd")
[[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]] || missing+=("vsmartcard-vpcd")
if ((${#missing[@]})); then
	echo "test: missing prerequisites:" >&2
	printf '  - %s\n' "${missing[@]}" >&2
	echo "On Debian, as root: .ci/run installs them (or apt-get install the packages above)." >&2
	exit 1
fi
if ! have chromium && ! have chromium-browser && ! have google-chrome; then
	echo "test: note: no chromium; the web explorer's browser test (client/audit) will be skipped" >&2
fi
want=go1.26
case "$(go env GOVERSION)" in
go1.2[6-9]* | go1.[3-9][0-9]*) ;;
*) echo "test: $(go env GOVERSION) is too old; need $want or later" >&2; exit 1 ;;
esac

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
	echo "== go test -race"
	race_start=$(date +%s)
	go test -race -count=1 -timeout 20m ./app/ ./app/store/ ./client/rpc/... ./node/
	echo "== race step passed in $(($(date +%s) - race_start)) s"
fi
echo "== all tests passed in $(($(date +%s) - start)) s"
