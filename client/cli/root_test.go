package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mykey audit runs in the root's Env and resolves its node the same way
// as every command, from the fake environment only.
func TestAuditSharesEnv(t *testing.T) {
	dir := t.TempDir()
	layout := `{"chain_id":"x","nodes":[{"name":"government","rpc":"http://127.0.0.1:1","public":"http://127.0.0.1:2"}]}`
	if err := os.WriteFile(filepath.Join(dir, "network.json"), []byte(layout), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(vars map[string]string, args ...string) (int, string) {
		var errb strings.Builder
		env := Env{Stdout: &strings.Builder{}, Stderr: &errb, Getenv: func(k string) string { return vars[k] }}
		return Main(t.Context(), args, env), errb.String()
	}
	// The auditor reads the network's public endpoint; with --charges, its
	// full RPC.
	if code, msg := run(map[string]string{EnvNetwork: dir}, "audit", "summary", "--insecure-no-verify"); code != ExitFailure || !strings.Contains(msg, "127.0.0.1:2") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if code, msg := run(map[string]string{EnvNetwork: dir}, "audit", "reconcile", "--charges", "--insecure-no-verify"); code != ExitFailure || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("--charges: exit %d: %s", code, msg)
	}
	// $MYKEY_NODE wins over the layout, as for every command.
	if code, msg := run(map[string]string{EnvNetwork: dir, EnvNode: "http://127.0.0.1:3"}, "audit", "summary", "--insecure-no-verify"); code != ExitFailure || !strings.Contains(msg, "127.0.0.1:3") {
		t.Fatalf("MYKEY_NODE: exit %d: %s", code, msg)
	}
	// A network directory without network.json is bad usage, for audit
	// and the other commands alike.
	for _, args := range [][]string{{"audit", "summary"}, {"status"}} {
		if code, msg := run(map[string]string{EnvNetwork: t.TempDir()}, args...); code != ExitUsage || !strings.Contains(msg, "$"+EnvNetwork) {
			t.Fatalf("%v: exit %d: %s", args, code, msg)
		}
	}
	// Usage errors of audit's own flags have the root's status.
	if code, msg := run(nil, "audit", "summary", "--trust-height", "x"); code != ExitUsage {
		t.Fatalf("bad flag: exit %d: %s", code, msg)
	}
}
