package testnet

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a node die with the test process, also when a test
// panics or times out before it could stop the node.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
