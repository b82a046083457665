#!/usr/bin/env bash
# The fault suite (package faults, see faults/doc.go): a 4-validator
# network in Docker containers under partitions, SIGKILL, pause, a rolling
# restart and a restored disk, each with a storm of double claims and
# grants; hostile input against the live nodes; a scan of every data
# directory, log and client output for personal data; and a bounded fuzz
# run of decoding and CheckTx. About five minutes on 2 cores.
#
#   scripts/faults.sh                                 run it; fails without Docker
#   MYKEY_FUZZTIME=2m scripts/faults.sh               fuzz longer (default 30s)
#   MYKEY_FAULTS_KEEP=/tmp/faults scripts/faults.sh   keep node homes, logs and client outputs
#
# Needs Docker with compose (`docker compose` or docker-compose) and a host
# that reaches the containers' bridge networks; no image is pulled. The
# report is printed at the end and kept in $MYKEY_FAULTS_REPORT (default
# $TMPDIR/mykey-faults-report.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "faults: go is not installed" >&2; exit 1; }
command -v docker >/dev/null || { echo "faults: docker is not installed" >&2; exit 1; }

export MYKEY_REQUIRE_DOCKER=${MYKEY_REQUIRE_DOCKER:-1}
export MYKEY_FAULTS_REPORT=${MYKEY_FAULTS_REPORT:-${TMPDIR:-/tmp}/mykey-faults-report.txt}
rm -f "$MYKEY_FAULTS_REPORT"

start=$(date +%s)
status=0
go test -count=1 -timeout 25m -v ./docker/... ./faults/ || status=$?
if [[ -s $MYKEY_FAULTS_REPORT ]]; then
	echo "== report (also in $MYKEY_FAULTS_REPORT)"
	cat "$MYKEY_FAULTS_REPORT"
fi
echo "== fault suite $([[ $status == 0 ]] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit "$status"
