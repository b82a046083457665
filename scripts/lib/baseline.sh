# Sourced by scripts/bench-app.sh and scripts/bench-net.sh: the source of
# the baseline revision they measure side by side (MYKEY_BENCH_BASELINE).

BASE_SRC=

# baseline_checkout REV DIR: sets BASE_SRC to the baseline's source: the one
# scripts/bench.sh checked out for the whole run (MYKEY_BENCH_BASELINE_SRC),
# else a temporary worktree of REV in DIR/base-src. The caller defines die.
baseline_checkout() {
	if [[ -n ${MYKEY_BENCH_BASELINE_SRC:-} ]]; then
		BASE_SRC=$MYKEY_BENCH_BASELINE_SRC
	else
		BASE_SRC="$2/base-src"
		git worktree add --detach "$BASE_SRC" "$1" >/dev/null || die "cannot check out the baseline $1"
	fi
}

# baseline_cleanup: removes the worktree baseline_checkout made (not
# bench.sh's, which bench.sh removes).
baseline_cleanup() {
	if [[ -n $BASE_SRC && -z ${MYKEY_BENCH_BASELINE_SRC:-} ]]; then
		git -C "$ROOT" worktree remove --force "$BASE_SRC" 2>/dev/null || true
	fi
}
