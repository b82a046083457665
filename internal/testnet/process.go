package testnet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// StopTimeout is how long Stop waits for a node to exit after SIGTERM.
const StopTimeout = 30 * time.Second

// Process is one mykeyd process this package started. Its methods signal
// it by PID; nothing else is ever signalled.
type Process struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed once Wait has returned
	err  error         // Wait's result, set before done is closed
}

// StartProcess starts `bin start --home home`, its output appended to
// logPath and env (NAME=value) added to its environment, and kills it when
// tb's test ends if it still runs.
func StartProcess(tb testing.TB, bin, home, logPath string, env ...string) *Process {
	tb.Helper()
	p, err := startProcess(bin, home, logPath, env)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Kill() })
	return p
}

func startProcess(bin, home, logPath string, env []string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testnet: %w", err)
	}
	cmd := exec.Command(bin, "start", "--home", home)
	cmd.Stdout, cmd.Stderr = f, f
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("testnet: starting %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill ends the process with SIGKILL, unless it has ended (its PID may be
// reused), and waits for it.
func (p *Process) Kill() error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testnet: kill %d: %w", p.PID(), err)
	}
	<-p.done
	return nil
}

// Stop ends the process with SIGTERM and requires a clean exit (status 0)
// within timeout; past it, the process is killed and Stop fails.
func (p *Process) Stop(timeout time.Duration) error {
	if p.Exited() {
		return fmt.Errorf("testnet: process %d had already exited: %v", p.PID(), p.err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("exit after SIGTERM: %v", p.err)
		}
		return nil
	case <-time.After(timeout):
		_ = p.Kill()
		return fmt.Errorf("did not exit within %s of SIGTERM", timeout)
	}
}

// Wait waits up to timeout for the process to exit by itself and returns
// its exit status (-1 if a signal ended it).
func (p *Process) Wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
		var ee *exec.ExitError
		if p.err != nil && !errors.As(p.err, &ee) {
			return 0, fmt.Errorf("testnet: wait: %w", p.err)
		}
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("did not exit within %s", timeout)
	}
}
