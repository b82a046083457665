package audit_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a node the tests start die with the test process,
// also when a test panics before it could stop the node.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
