package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/client/audit"
	"github.com/mykeyledger/mykey/client/cli"
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

// runAudit runs `mykey audit` with args, in process, within two minutes.
func runAudit(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	start := time.Now()
	err := execAudit(ctx, &out, &errb, args...)
	return result{stdout: out.String(), stderr: errb.String(), err: err, took: time.Since(start)}
}

// execAudit runs `mykey audit args...` through mykey's root in an empty
// environment.
func execAudit(ctx context.Context, stdout, stderr io.Writer, args ...string) error {
	return cli.Run(ctx, append([]string{"audit"}, args...), cli.Env{Stdout: stdout, Stderr: stderr})
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
