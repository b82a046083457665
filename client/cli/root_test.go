package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
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

// The command layers of mykey (client/cli, client/audit) see the process
// only through the Env: cmdenv.OSEnv is the one place that reads it.
func TestNoProcessEnvOutsideOSEnv(t *testing.T) {
	banned := map[string]bool{"Getenv": true, "LookupEnv": true, "Environ": true, "Stdin": true, "Stdout": true, "Stderr": true}
	fset := token.NewFileSet()
	for _, dir := range []string{".", "../audit"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && banned[sel.Sel.Name] {
					t.Errorf("%s: os.%s: read the environment and standard streams through the Env (cmdenv)", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}
