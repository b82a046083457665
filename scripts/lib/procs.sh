# Sourced by scripts that start nodes: stopping the processes they started.

# stop_pids SECONDS PID...: SIGTERM each PID, wait up to SECONDS for each to
# exit, then SIGKILL what is left. Only ever given PIDs the caller started.
stop_pids() {
	local secs=$1 p i
	shift
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "$@"; do
		for ((i = 0; i < 2 * secs; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.5
		done
		if kill -0 "$p" 2>/dev/null; then
			echo "${0##*/}: PID $p did not stop within $secs s; killing it" >&2
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
}
