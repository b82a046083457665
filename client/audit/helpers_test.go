package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/audit"
)

// result is one run of `mykey audit ...`.
type result struct {
	stdout, stderr string
	err            error
	took           time.Duration
}

// code is the exit status the run would end with.
func (r result) code() int {
	if r.err == nil {
		return 0
	}
	var ee *audit.ExitError
	if errors.As(r.err, &ee) {
		return ee.Code
	}
	return 1
}

// runAudit runs audit.NewCmd with args, in process, within two minutes.
func runAudit(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := audit.NewCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	start := time.Now()
	err := cmd.ExecuteContext(ctx)
	return result{stdout: out.String(), stderr: errb.String(), err: err, took: time.Since(start)}
}

// auditJSON runs a command with --json and decodes its stdout into v.
func auditJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	r := runAudit(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("audit %v: stdout is not JSON: %v\nstdout: %s\nstderr: %s\nerr: %v", args, err, r.stdout, r.stderr, r.err)
	}
	return r
}

// honest are the flags that read the fixture network through its node,
// trusting its genesis.
func (f *fixture) honest() []string {
	return []string{"--node", f.net.rpcURL, "--genesis", f.net.genesis}
}
