#!/usr/bin/env bash
# App-level throughput, in one run, printed as a table (see BENCHMARKS.md):
#
#   - for each state size in MYKEY_BENCH_PEOPLE (default 1000000): the
#     pre-fill rate (BulkLink), links/s and charges/s through
#     FinalizeBlock+Commit (median block; links with signatures first seen
#     in the block, and after CheckTx), their cost per item, and the
#     time to reopen the app; with two sizes, the per-item cost ratio of
#     the larger to the smaller;
#   - the raw limit: RSA-2048 verifications/s on one core and on all cores,
#     and the share of it the ledger turns into links;
#   - before/after: unless MYKEY_BENCH_BASELINE=0, the same app and store
#     benchmarks built from MYKEY_BENCH_BASE_REF (default 4162006, the last
#     commit whose store kept every trie node in Badger) at
#     MYKEY_BENCH_BASELINE people (default 20000; the old pre-fill is slow).
#
# The 10M size costs about half an hour here (the pre-fill); run it with
# MYKEY_BENCH_PEOPLE=1000000,10000000. Other knobs: MYKEY_BENCH_BLOCKS
# (timed blocks per size, default 5), MYKEY_BENCH_LINKS (default 2000),
# MYKEY_BENCH_CHARGES (default 10000). Raw benchmark output is kept in
# $MYKEY_BENCH_OUT (default a temporary directory, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

PEOPLE="${MYKEY_BENCH_PEOPLE:-1000000}"
BASELINE="${MYKEY_BENCH_BASELINE:-20000}"
BASE_REF="${MYKEY_BENCH_BASE_REF:-4162006}"
BLOCKS="${MYKEY_BENCH_BLOCKS:-5}"
OUT="${MYKEY_BENCH_OUT:-$(mktemp -d /tmp/mykey-bench.XXXXXX)}"
mkdir -p "$OUT"

echo "== machine"
{
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "go: $(go version | cut -d' ' -f3)"
	echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

echo "== building"
go test -c -o "$OUT/app.test" ./app/
go test -c -o "$OUT/store.test" ./app/store/
if [ "$BASELINE" != "0" ]; then
	rm -rf "$OUT/base"
	mkdir -p "$OUT/base"
	git archive "$BASE_REF" | tar -x -C "$OUT/base"
	(cd "$OUT/base" && go test -c -o "$OUT/base-app.test" ./app/ && go test -c -o "$OUT/base-store.test" ./app/store/)
fi

bench() { # binary, output file, args...
	local bin=$1 file=$2
	shift 2
	(cd "$OUT" && "$bin" -test.run '^$' -test.timeout 180m "$@" 2>&1 | tee -a "$file" | grep -E '^Benchmark|prefill of|FAIL|panic' || true)
}

echo "== app benchmarks (people=$PEOPLE, $BLOCKS timed blocks each)"
: >"$OUT/new.txt"
MYKEY_BENCH_PEOPLE="$PEOPLE" MYKEY_BENCH_BLOCKS="$BLOCKS" \
	bench "$OUT/app.test" "$OUT/new.txt" -test.bench 'BenchmarkBlocks|BenchmarkRSAVerify' -test.benchtime 1x

if [ "$BASELINE" != "0" ]; then
	echo "== before/after at people=$BASELINE ($BASE_REF vs this tree)"
	: >"$OUT/cmp.txt"
	MYKEY_BENCH_PEOPLE="$BASELINE" MYKEY_BENCH_BLOCKS=3 \
		bench "$OUT/app.test" "$OUT/cmp.txt" -test.bench 'BenchmarkBlocks' -test.benchtime 1x
	MYKEY_BENCH_PEOPLE="$BASELINE" \
		bench "$OUT/base-app.test" "$OUT/cmp.txt" -test.bench 'BenchmarkBlock(Links|Grants)' -test.benchtime 3x
	echo "== store: 10k-record blocks on 100k records"
	bench "$OUT/store.test" "$OUT/store-new.txt" -test.bench 'BenchmarkCommit10kOn100k$' -test.benchtime 5x
	bench "$OUT/base-store.test" "$OUT/store-base.txt" -test.bench 'BenchmarkCommit10kOn100k$' -test.benchtime 5x
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"

# metric NAME-REGEX UNIT FILE: the value before UNIT on the first line matching.
metric() {
	awk -v re="$1" -v unit="$2" '$0 ~ re { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }' "$3"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

echo
echo "== summary (median blocks; load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-10s %10s %9s %8s %13s %9s %8s %13s %10s %9s %13s %8s\n" people prefill/s links/s µs/link fin+commit_ms links/s µs/link fin+commit_ms charges/s µs/charge fin+commit_ms reopen_s
printf "%-10s %10s %32s %32s\n" "" "" "(signature first seen in block)" "(after CheckTx, as on a node)"
IFS=, read -ra sizes <<<"$PEOPLE"
for p in "${sizes[@]}"; do
	f="$OUT/new.txt"
	printf "%-10s %10s %9s %8s %13s %9s %8s %13s %10s %9s %13s %8s\n" "$p" \
		"$(metric "people=$p/prefill" people/s "$f")" \
		"$(metric "people=$p/links-[0-9]" links/s "$f")" "$(metric "people=$p/links-[0-9]" µs/item "$f")" \
		"$(metric "people=$p/links-[0-9]" fin-ms "$f")+$(metric "people=$p/links-[0-9]" commit-ms "$f")" \
		"$(metric "people=$p/links-checked" links/s "$f")" "$(metric "people=$p/links-checked" µs/item "$f")" \
		"$(metric "people=$p/links-checked" fin-ms "$f")+$(metric "people=$p/links-checked" commit-ms "$f")" \
		"$(metric "people=$p/grants" charges/s "$f")" "$(metric "people=$p/grants" µs/item "$f")" \
		"$(metric "people=$p/grants" fin-ms "$f")+$(metric "people=$p/grants" commit-ms "$f")" \
		"$(metric "people=$p/reopen" s "$f")"
done
if [ "${#sizes[@]}" -ge 2 ]; then
	lo=${sizes[0]} hi=${sizes[${#sizes[@]}-1]}
	echo "cost per item, $hi vs $lo people: links $(ratio "$(metric "people=$hi/links-[0-9]" µs/item "$OUT/new.txt")" "$(metric "people=$lo/links-[0-9]" µs/item "$OUT/new.txt")")x," \
		"checked links $(ratio "$(metric "people=$hi/links-checked" µs/item "$OUT/new.txt")" "$(metric "people=$lo/links-checked" µs/item "$OUT/new.txt")")x," \
		"charges $(ratio "$(metric "people=$hi/grants" µs/item "$OUT/new.txt")" "$(metric "people=$lo/grants" µs/item "$OUT/new.txt")")x"
fi
rsa1=$(metric 'RSAVerify/cores=1' verifies/s "$OUT/new.txt")
rsaN=$(metric "RSAVerify/cores=$(nproc)" verifies/s "$OUT/new.txt")
echo "RSA-2048 verify/s: $rsa1 on one core, $rsaN on $(nproc) cores"
# A link costs two RSA verifications: the card's signature and the CA's
# signature on the card's certificate (the chain above the CA is cached).
for p in "${sizes[@]}"; do
	for kind in "links-[0-9]|signatures first seen in the block"; do
		m=${kind%%|*} what=${kind#*|}
		echo "  people=$p, $what: $(awk -v a="$(metric "people=$p/$m" links/s "$OUT/new.txt")" -v b="$rsaN" 'BEGIN { if (b > 0) printf "%.1f", 200 * a / b; else print "-" }') % of the RSA-2048 verifications/s on all cores (2 per link)"
	done
done
if [ "$BASELINE" != "0" ]; then
	c="$OUT/cmp.txt"
	oldL=$(metric "BlockLinks/people=$BASELINE" links/s "$c")
	newL=$(metric "people=$BASELINE/links-[0-9]" links/s "$c")
	oldG=$(metric "BlockGrants/people=$BASELINE" charges/s "$c")
	newG=$(metric "people=$BASELINE/grants" charges/s "$c")
	oldS=$(metric 'Commit10kOn100k' records/s "$OUT/store-base.txt")
	newS=$(metric 'Commit10kOn100k' records/s "$OUT/store-new.txt")
	echo "before/after ($BASE_REF -> this tree), people=$BASELINE:"
	echo "  links/s   $oldL -> $newL ($(ratio "$newL" "$oldL")x)"
	echo "  charges/s $oldG -> $newG ($(ratio "$newG" "$oldG")x)"
	echo "  store, 10k-record blocks on 100k records, records/s: $oldS -> $newS ($(ratio "$newS" "$oldS")x)"
fi
echo "raw output: $OUT"
