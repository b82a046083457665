package pcsctest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel stop pcscd if the test process dies
// before its cleanup runs (a killed `go test`).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
