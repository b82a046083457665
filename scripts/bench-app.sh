#!/usr/bin/env bash
# App-level throughput, in one run at one commit, printed as a table (see
# BENCHMARKS.md):
#
#   1. first, before any block and with nothing else running, the raw
#      limit: RSA-2048 verifications/s on one core and on all cores (the
#      load average and the machine's busy share just before are recorded:
#      run it on an idle machine);
#   2. for each state size in MYKEY_BENCH_PEOPLE (default 1000000): the
#      pre-fill (BulkLinkCharged: each person linked and charged once), the
#      wait for the store to settle (or the record that it did not within
#      MYKEY_BENCH_SETTLE seconds, default 300), links/s and charges/s
#      through FinalizeBlock+Commit (median block; links with signatures
#      first seen in the block, and after CheckTx; charges with
#      MYKEY_BENCH_DUP_PERCENT % duplicate references, default 10), their
#      cost per item, and the time to reopen the app; with two sizes, the
#      per-item cost ratio of the larger to the smaller;
#   3. a CPU profile of one more link block and one more charge block at the
#      largest size, saved in the output directory with `go tool pprof -top`
#      beside it; the summary names the top functions and their cost per
#      item (MYKEY_BENCH_PROFILE_CPU=0: none);
#   4. before/after: with MYKEY_BENCH_BASELINE=<revision>, that revision is
#      built in a temporary git worktree and its app and store benchmarks
#      run in the same run, at MYKEY_BENCH_BASELINE_PEOPLE people (default:
#      the first size), side by side with this tree's.
#
# The 10M size costs about half an hour here (the pre-fill); run it with
# MYKEY_BENCH_PEOPLE=1000000,10000000. Other knobs: MYKEY_BENCH_BLOCKS
# (timed blocks per size, default 5), MYKEY_BENCH_LINKS (default 2000),
# MYKEY_BENCH_CHARGES (default 10000), MYKEY_BENCH_RSA_SECONDS (default 3).
# Raw benchmark output is kept in $MYKEY_BENCH_OUT (default a temporary
# directory, printed at the end). A phase that fails stops the script with
# its name and the end of its log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PEOPLE="${MYKEY_BENCH_PEOPLE:-1000000}"
BASELINE="${MYKEY_BENCH_BASELINE:-}"
[[ $BASELINE != 0 ]] || BASELINE=
BLOCKS="${MYKEY_BENCH_BLOCKS:-5}"
LINKS="${MYKEY_BENCH_LINKS:-2000}"
CHARGES="${MYKEY_BENCH_CHARGES:-10000}"
CHARGES=$(((CHARGES / 100 > 0 ? CHARGES / 100 : 1) * 100)) # grants of 100, as the benchmark makes them
PROFILE_CPU="${MYKEY_BENCH_PROFILE_CPU:-1}"
# The store's caches (MiB): by default those a validator's default memory
# budget derives (mykeyd's memory_limit_mib 16384: trie cache 7552, block
# cache 1024; node/memory_test.go). A baseline older than these settings
# runs with its own defaults.
export MYKEY_BENCH_TRIE_CACHE_MIB="${MYKEY_BENCH_TRIE_CACHE_MIB:-7552}"
export MYKEY_BENCH_BLOCK_CACHE_MIB="${MYKEY_BENCH_BLOCK_CACHE_MIB:-1024}"
OUT="${MYKEY_BENCH_OUT:-$(mktemp -d /tmp/mykey-bench.XXXXXX)}"
CMD="${MYKEY_BENCH_COMMAND:-$(env | grep '^MYKEY_BENCH_' | sort | tr '\n' ' ')scripts/bench-app.sh}"
mkdir -p "$OUT"
IFS=, read -ra sizes <<<"$PEOPLE"
BASE_PEOPLE="${MYKEY_BENCH_BASELINE_PEOPLE:-${sizes[0]}}"

die() { echo "bench-app: $*" >&2; exit 1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# busy_share SECONDS: the share of all cores' time that was busy over the
# next SECONDS, in percent (from /proc/stat).
busy_share() {
	local a b
	a=$(awk '/^cpu / { idle = $5 + $6; t = 0; for (i = 2; i <= NF; i++) t += $i; print t, idle }' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / { idle = $5 + $6; t = 0; for (i = 2; i <= NF; i++) t += $i; print t, idle }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); t = y[1] - x[1]; if (t <= 0) print "-"; else printf "%.0f", 100 * (1 - (y[2] - x[2]) / t) }'
}

echo "== run"
{
	echo "commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "command: $CMD"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "go: $(go version | cut -d' ' -f3)"
	echo "load at start: $(loadavg)"
} | tee "$OUT/machine.txt"

echo "== building"
go test -c -o "$OUT/app.test" ./app/
go test -c -o "$OUT/store.test" ./app/store/

# The baseline revision, in a temporary worktree (unless bench.sh made one).
# shellcheck source=lib/baseline.sh
. "$ROOT/scripts/lib/baseline.sh"
trap baseline_cleanup EXIT
if [[ -n $BASELINE ]]; then
	baseline_checkout "$BASELINE" "$OUT"
	echo "baseline: $BASELINE = $(git -C "$BASE_SRC" describe --always) (in $BASE_SRC)" | tee -a "$OUT/machine.txt"
	(cd "$BASE_SRC" && go test -c -o "$OUT/base-app.test" ./app/ && go test -c -o "$OUT/base-store.test" ./app/store/) ||
		die "the baseline $BASELINE does not build"
fi

# bench PHASE BINARY LOG ARGS...: run a test binary's benchmarks into LOG
# (its lines about benchmarks shown); a failure, or a run that measured
# nothing, stops the script with the phase's name and the end of its log.
bench() {
	local phase=$1 bin=$2 log=$3 st
	shift 3
	echo "-- $phase (log: $log)"
	set +e
	(cd "$OUT" && exec "$bin" -test.run '^$' -test.timeout 180m "$@") 2>&1 | tee "$log" |
		grep --line-buffered -E '^Benchmark|prefill of|settled|profiled|FAIL|panic'
	st=("${PIPESTATUS[@]}")
	set -e
	if [[ ${st[0]} -ne 0 ]] || ! grep -q '^Benchmark' "$log"; then
		echo "bench-app: phase $phase failed (exit ${st[0]}); the end of its log, $log:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}

echo "== RSA-2048 limit, first: before any block, on a machine that should be idle"
sleep "${MYKEY_BENCH_IDLE_WAIT:-5}" # let the build's processes end
busy=$(busy_share 3)
rsa_load=$(loadavg)
echo "load average $rsa_load, machine busy $busy % over the 3 s before" | tee "$OUT/rsa-idle.txt"
if [[ $busy != - && $busy -gt 10 ]]; then
	echo "bench-app: WARNING: the machine was $busy % busy before the RSA measurement: it was not idle, the RSA figures are low" | tee -a "$OUT/rsa-idle.txt" >&2
fi
bench rsa "$OUT/app.test" "$OUT/rsa.txt" -test.bench 'BenchmarkRSAVerify' -test.benchtime 1x

echo "== app benchmarks (people=$PEOPLE, $BLOCKS timed blocks each)"
prof_dir=
if [[ $PROFILE_CPU != 0 ]]; then
	prof_dir="$OUT/profile"
	mkdir -p "$prof_dir"
fi
MYKEY_BENCH_PROFILE="$prof_dir" MYKEY_BENCH_PEOPLE="$PEOPLE" MYKEY_BENCH_BLOCKS="$BLOCKS" MYKEY_BENCH_LINKS="$LINKS" MYKEY_BENCH_CHARGES="$CHARGES" \
	bench blocks "$OUT/app.test" "$OUT/new.txt" -test.bench 'BenchmarkBlocks' -test.benchtime 1x

if [[ -n $BASELINE ]]; then
	base_start=$SECONDS
	echo "== before/after at people=$BASE_PEOPLE ($BASELINE vs this tree)"
	if [[ ,$PEOPLE, != *,$BASE_PEOPLE,* ]]; then
		MYKEY_BENCH_PROFILE= MYKEY_BENCH_PEOPLE="$BASE_PEOPLE" MYKEY_BENCH_BLOCKS="$BLOCKS" MYKEY_BENCH_LINKS="$LINKS" MYKEY_BENCH_CHARGES="$CHARGES" \
			bench blocks-at-baseline-size "$OUT/app.test" "$OUT/cmp-new.txt" -test.bench 'BenchmarkBlocks' -test.benchtime 1x
	else
		cp "$OUT/new.txt" "$OUT/cmp-new.txt"
	fi
	# The baseline's own benchmarks: BenchmarkBlocks if it has one (without
	# this tree's settle and profile knobs, which older code reads otherwise),
	# else the per-kind ones of older code.
	if "$OUT/base-app.test" -test.list 'BenchmarkBlocks' | grep -q '^BenchmarkBlocks$'; then
		MYKEY_BENCH_SETTLE= MYKEY_BENCH_PROFILE= MYKEY_BENCH_PEOPLE="$BASE_PEOPLE" MYKEY_BENCH_BLOCKS="$BLOCKS" \
			MYKEY_BENCH_LINKS="$LINKS" MYKEY_BENCH_CHARGES="$CHARGES" \
			bench baseline-blocks "$OUT/base-app.test" "$OUT/cmp-base.txt" -test.bench 'BenchmarkBlocks' -test.benchtime 1x
	else
		MYKEY_BENCH_PEOPLE="$BASE_PEOPLE" \
			bench baseline-blocks "$OUT/base-app.test" "$OUT/cmp-base.txt" -test.bench 'BenchmarkBlock(Links|Grants)' -test.benchtime 3x
	fi
	echo "== store: 10k-record blocks on 100k records"
	bench store "$OUT/store.test" "$OUT/store-new.txt" -test.bench 'BenchmarkCommit10kOn100k$' -test.benchtime 5x
	bench baseline-store "$OUT/base-store.test" "$OUT/store-base.txt" -test.bench 'BenchmarkCommit10kOn100k$' -test.benchtime 5x
	# For bench.sh: how long the before/after part took.
	echo $((SECONDS - base_start)) >"$OUT/baseline-seconds"
fi
echo "load at end: $(loadavg)" | tee -a "$OUT/machine.txt"

# metric NAME-REGEX UNIT FILE: the value before UNIT on the first line matching.
metric() {
	awk -v re="$1" -v unit="$2" '$0 ~ re { for (i = 2; i <= NF; i++) if ($i == unit) { print $(i-1); exit } }' "$3"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# top5 PROFILE ITEMS: the five functions with the most CPU time of their
# own in a profile, with their share and their cost per item.
top5() {
	awk -v items="$2" '
	function secs(v) {
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) / 1e3
		if (v ~ /(us|µs)$/) { sub(/(us|µs)$/, "", v); return v / 1e6 }
		if (v ~ /ns$/) return substr(v, 1, length(v) - 2) / 1e9
		if (v ~ /min$/) return substr(v, 1, length(v) - 3) * 60
		if (v ~ /h$/) return substr(v, 1, length(v) - 1) * 3600
		if (v ~ /s$/) return substr(v, 1, length(v) - 1)
		return v
	}
	/^Duration:/ { print "    " $0 }
	/flat%/ { body = 1; next }
	body && n < 5 { n++; fn = $6; for (i = 7; i <= NF; i++) fn = fn " " $i
		printf "    %-60s %8s flat %6s  %7.2f µs/item\n", fn, $1, $2, secs($1) * 1e6 / items }' "$1"
}

echo
echo "== summary ($(git describe --always --dirty 2>/dev/null), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores; median blocks; load $(loadavg))"
echo "command: $CMD"
echo "store caches: trie $MYKEY_BENCH_TRIE_CACHE_MIB MiB, Badger block cache $MYKEY_BENCH_BLOCK_CACHE_MIB MiB"
printf "%-10s %10s %9s %8s %13s %9s %8s %13s %10s %9s %13s %8s %9s\n" people prefill/s links/s µs/link fin+commit_ms links/s µs/link fin+commit_ms charges/s µs/charge fin+commit_ms reopen_s settle_s
printf "%-10s %10s %32s %32s %34s\n" "" "" "(signature first seen in block)" "(after CheckTx, as on a node)" "(with duplicate references)"
row() { # FILE PEOPLE LABEL
	local f=$1 p=$2 settled
	settled=$(metric "people=$p/prefill" settle-s "$f")
	case $(metric "people=$p/prefill" settled "$f") in
	"") settled=- ;; # older code: no settle wait
	1*) ;;
	*) settled="$settled(NOT settled)" ;;
	esac
	printf "%-10s %10s %9s %8s %13s %9s %8s %13s %10s %9s %13s %8s %9s\n" "$3" \
		"$(metric "people=$p/prefill" people/s "$f")" \
		"$(metric "people=$p/links-[0-9]" links/s "$f")" "$(metric "people=$p/links-[0-9]" µs/item "$f")" \
		"$(metric "people=$p/links-[0-9]" fin-ms "$f")+$(metric "people=$p/links-[0-9]" commit-ms "$f")" \
		"$(metric "people=$p/links-checked" links/s "$f")" "$(metric "people=$p/links-checked" µs/item "$f")" \
		"$(metric "people=$p/links-checked" fin-ms "$f")+$(metric "people=$p/links-checked" commit-ms "$f")" \
		"$(metric "people=$p/grants" charges/s "$f")" "$(metric "people=$p/grants" µs/item "$f")" \
		"$(metric "people=$p/grants" fin-ms "$f")+$(metric "people=$p/grants" commit-ms "$f")" \
		"$(metric "people=$p/reopen" s "$f")" "$settled"
}
for p in "${sizes[@]}"; do
	row "$OUT/new.txt" "$p" "$p"
done
for p in "${sizes[@]}"; do
	echo "reopen at $p people: close $(metric "people=$p/reopen" close-s "$OUT/new.txt") s (saves the trie's bucket layer), open $(metric "people=$p/reopen" s "$OUT/new.txt") s"
done
echo "charges: $(metric "people=${sizes[0]}/grants" dups/block "$OUT/new.txt") of $CHARGES a block reuse a pre-filled reference (duplicates, rejected); the pre-filled state holds one charge a person"
if [ "${#sizes[@]}" -ge 2 ]; then
	lo=${sizes[0]} hi=${sizes[${#sizes[@]}-1]}
	echo "cost per item, $hi vs $lo people: links $(ratio "$(metric "people=$hi/links-[0-9]" µs/item "$OUT/new.txt")" "$(metric "people=$lo/links-[0-9]" µs/item "$OUT/new.txt")")x," \
		"checked links $(ratio "$(metric "people=$hi/links-checked" µs/item "$OUT/new.txt")" "$(metric "people=$lo/links-checked" µs/item "$OUT/new.txt")")x," \
		"charges $(ratio "$(metric "people=$hi/grants" µs/item "$OUT/new.txt")" "$(metric "people=$lo/grants" µs/item "$OUT/new.txt")")x"
fi
rsa1=$(metric 'RSAVerify/cores=1' verifies/s "$OUT/rsa.txt")
rsaN=$(metric "RSAVerify/cores=$(nproc)" verifies/s "$OUT/rsa.txt")
echo "RSA-2048 verify/s, measured first (load average $rsa_load, machine busy $busy %): $rsa1 on one core, $rsaN on $(nproc) cores"
# A link costs two RSA verifications: the card's signature and the CA's
# signature on the card's certificate (the chain above the CA is cached).
for p in "${sizes[@]}"; do
	echo "  people=$p, signatures first seen in the block: $(awk -v a="$(metric "people=$p/links-[0-9]" links/s "$OUT/new.txt")" -v b="$rsaN" 'BEGIN { if (b > 0) printf "%.1f", 200 * a / b; else print "-" }') % of the RSA-2048 verifications/s on all cores (2 per link)"
done
if [[ $PROFILE_CPU != 0 ]]; then
	hi=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)
	for kind in "links|$LINKS|links" "grants|$CHARGES|charges"; do
		IFS='|' read -r name items unit <<<"$kind"
		prof="$OUT/profile/$name-$hi.pprof"
		[[ -s $prof ]] || die "no CPU profile $prof"
		go tool pprof -top -nodecount=25 "$OUT/app.test" "$prof" >"$prof.top.txt" 2>/dev/null
		go tool pprof -top -cum -nodecount=40 "$OUT/app.test" "$prof" >"$prof.cum.txt" 2>/dev/null
		echo "CPU profile, one block of $items $unit at $hi people ($prof; all: $prof.top.txt, $prof.cum.txt), top functions by own time:"
		top5 "$prof.top.txt" "$items"
	done
fi
if [[ -n $BASELINE ]]; then
	echo "before/after ($BASELINE -> this tree), people=$BASE_PEOPLE, same run:"
	c="$OUT/cmp-base.txt"
	if grep -q "^BenchmarkBlocks/" "$c"; then
		row "$c" "$BASE_PEOPLE" "before"
		row "$OUT/cmp-new.txt" "$BASE_PEOPLE" "after"
		oldL=$(metric "people=$BASE_PEOPLE/links-[0-9]" links/s "$c")
		oldG=$(metric "people=$BASE_PEOPLE/grants" charges/s "$c")
	else
		oldL=$(metric "BlockLinks/people=$BASE_PEOPLE" links/s "$c")
		oldG=$(metric "BlockGrants/people=$BASE_PEOPLE" charges/s "$c")
	fi
	newL=$(metric "people=$BASE_PEOPLE/links-[0-9]" links/s "$OUT/cmp-new.txt")
	newG=$(metric "people=$BASE_PEOPLE/grants" charges/s "$OUT/cmp-new.txt")
	oldS=$(metric 'Commit10kOn100k' records/s "$OUT/store-base.txt")
	newS=$(metric 'Commit10kOn100k' records/s "$OUT/store-new.txt")
	echo "  links/s   $oldL -> $newL ($(ratio "$newL" "$oldL")x)"
	echo "  charges/s $oldG -> $newG ($(ratio "$newG" "$oldG")x)"
	echo "  store, 10k-record blocks on 100k records, records/s: $oldS -> $newS ($(ratio "$newS" "$oldS")x)"
fi
echo "raw output: $OUT"
