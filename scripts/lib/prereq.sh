# Sourced by scripts/localnet.sh and scripts/test.sh: Go, then the Debian
# packages the build needs, installed with apt-get when run as root (a
# fresh machine), else named with the exact command that installs them.
# The caller defines die.

have() { command -v "$1" >/dev/null 2>&1; }

# build_debs: the packages the build lacks, in the array debs. Go itself is
# not a Debian package here (Debian's golang is too old).
build_debs() {
	debs=()
	have go || die "Go 1.26 is not installed: https://go.dev/dl/, then put its bin/ on PATH (Debian's golang is too old)"
	if ! have gcc; then
		debs+=(gcc libc6-dev)
	elif ! printf '#include <stdio.h>\nint main(void) { return 0; }\n' | gcc -x c -o /dev/null - >/dev/null 2>&1; then
		debs+=(libc6-dev)
	fi
	# pkg-config and libpcsclite-dev: cgo for github.com/ebfe/scard.
	have pkg-config || debs+=(pkg-config)
	have pkg-config && pkg-config --exists libpcsclite || debs+=(libpcsclite-dev)
	[[ ! -e .git ]] || have git || debs+=(git) # go build stamps the commit
	return 0
}

# install_debs PKG...: apt-get install them as root, else print the command
# and stop.
install_debs() {
	(($#)) || return 0
	local cmd="apt-get update && apt-get install -y --no-install-recommends $*"
	if [[ $(id -u) -eq 0 ]] && have apt-get; then
		echo "${0##*/}: installing $* (apt-get)" >&2
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"; } >/dev/null ||
			die "could not install $*: $cmd"
	else
		die "missing $*; install them as root (Debian): $cmd"
	fi
}
