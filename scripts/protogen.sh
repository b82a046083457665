#!/usr/bin/env bash
# Regenerates app/types/*.pb.go from proto/ with protoc (Debian's
# protobuf-compiler) and gogoproto's protoc-gen-gocosmos.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protogen: protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
GOGO_VERSION=$(go list -m -f '{{.Version}}' github.com/cosmos/gogoproto)
BIN="$(go env GOPATH)/bin"
if [ ! -x "$BIN/protoc-gen-gocosmos" ]; then
  go install "github.com/cosmos/gogoproto/protoc-gen-gocosmos@${GOGO_VERSION}"
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PATH="$BIN:$PATH" protoc -I proto \
  --gocosmos_out="$OUT" \
  proto/mykey/v1/*.proto
cp "$OUT"/github.com/mykeyledger/mykey/app/types/*.pb.go app/types/
gofmt -w app/types/*.pb.go
echo "protogen: wrote $(ls app/types/*.pb.go | tr '\n' ' ')"
