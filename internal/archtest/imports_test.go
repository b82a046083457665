package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

const (
	module  = "github.com/mykeyledger/mykey"
	appPkg  = module + "/app"
	store   = module + "/app/store"
	badger  = "github.com/dgraph-io/badger/v4"
	rpctest = module + "/internal/rpctest"
	testnet = module + "/internal/testnet"
)

// pkg is what the rules need of a package: its own imports and everything
// it links (both without test files).
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// under reports whether path is dir or a package below it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

func links(p pkg, target string) bool {
	for _, d := range p.Deps {
		if under(d, target) && (target != appPkg || d == appPkg) {
			return true
		}
	}
	return false
}

// violations lists the packages of pkgs that break a rule. binaries is
// the set of packages linked into cmd/mykeyd and cmd/mykey.
//
//   - client/ is what the client binary is made of: it links neither the
//     state machine (app), its store nor Badger; it shares with the ledger
//     only its vocabulary (app/types), proof verification (app/proof) and
//     the certificate rules (app/jpki).
//   - node/ links nothing under client/: the node binary is not a client.
//   - No package of this module linked into a binary imports "testing".
//   - Under internal/, only the test harnesses that run the ledger
//     (internal/rpctest in process, internal/testnet as processes) link
//     app/store or Badger, and no binary links either harness.
func violations(pkgs []pkg, binaries map[string]bool) []string {
	var out []string
	for _, p := range pkgs {
		path := p.ImportPath
		switch {
		case under(path, module+"/client"):
			for _, bad := range []string{appPkg, store, badger} {
				if links(p, bad) {
					out = append(out, fmt.Sprintf("%s links %s", path, bad))
				}
			}
		case under(path, module+"/node"):
			if links(p, module+"/client") {
				out = append(out, fmt.Sprintf("%s links a package under client/", path))
			}
		case under(path, module+"/internal") && !under(path, rpctest) && !under(path, testnet):
			for _, bad := range []string{store, badger} {
				if links(p, bad) {
					out = append(out, fmt.Sprintf("%s links %s", path, bad))
				}
			}
		}
		if binaries[path] && (under(path, rpctest) || under(path, testnet)) {
			out = append(out, fmt.Sprintf("%s is a test harness and is linked into a binary", path))
		}
		if binaries[path] && under(path, module) {
			for _, imp := range p.Imports {
				if imp == "testing" {
					out = append(out, fmt.Sprintf("%s imports testing and is linked into a binary", path))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// goList runs the go command of the toolchain running the test at the
// module's root.
func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, append([]string{"list"}, args...)...)
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

func modulePackages(t *testing.T) []pkg {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(goList(t, "-json=ImportPath,Imports,Deps", "./...")))
	var pkgs []pkg
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// readSources stats every Go source and the module files, so that go
// test's cache, which records the files a test opens but not those its
// child processes read, runs the test again when any of them changes.
func readSources(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportRules(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("not at the module's root: %v", err)
	}
	readSources(t, root)
	pkgs := modulePackages(t)
	binaries := map[string]bool{}
	for _, p := range strings.Fields(string(goList(t, "-deps", "./cmd/mykeyd", "./cmd/mykey"))) {
		binaries[p] = true
	}
	clients := 0
	for _, p := range pkgs {
		if under(p.ImportPath, module+"/client") {
			clients++
		}
	}
	if clients < 5 || !binaries[module+"/client/cli"] || !binaries[module+"/app/store"] {
		t.Fatalf("go list gave %d packages under client/ and a binary set without client/cli or app/store: the rules would check nothing", clients)
	}
	for _, v := range violations(pkgs, binaries) {
		t.Error(v)
	}
}

// The checker flags each kind of violation, and nothing else.
func TestViolationsFlagsPlantedImports(t *testing.T) {
	cases := []struct {
		name     string
		pkg      pkg
		binaries bool
		want     string // "" when allowed
	}{
		{"client links app", pkg{ImportPath: module + "/client/x", Deps: []string{module + "/app/types", appPkg}}, false, "client/x links " + appPkg},
		{"client links the store", pkg{ImportPath: module + "/client/x/y", Deps: []string{store}}, false, "links " + store},
		{"client links badger", pkg{ImportPath: module + "/client/x", Deps: []string{badger + "/y"}}, false, "links " + badger},
		{"client links the vocabulary", pkg{ImportPath: module + "/client/x", Deps: []string{module + "/app/types", module + "/app/proof", module + "/app/jpki"}}, false, ""},
		{"node links a client", pkg{ImportPath: module + "/node/cli", Deps: []string{module + "/client/rpc"}}, false, "links a package under client/"},
		{"node links the app", pkg{ImportPath: module + "/node", Deps: []string{appPkg, store, badger}}, false, ""},
		{"internal links the store", pkg{ImportPath: module + "/internal/keyfile", Deps: []string{store}}, false, "links " + store},
		{"internal links badger", pkg{ImportPath: module + "/internal/x", Deps: []string{badger}}, false, "links " + badger},
		{"rpctest links the app", pkg{ImportPath: rpctest, Deps: []string{appPkg, store, badger}}, false, ""},
		{"testnet links the node", pkg{ImportPath: testnet, Deps: []string{module + "/node", store, badger}}, false, ""},
		{"a binary links a harness", pkg{ImportPath: testnet + "/freeport"}, true, "is a test harness and is linked into a binary"},
		{"linked package imports testing", pkg{ImportPath: module + "/internal/testca", Imports: []string{"testing"}}, true, "imports testing"},
		{"test helper imports testing", pkg{ImportPath: rpctest, Imports: []string{"testing"}}, false, ""},
		{"CometBFT imports testing", pkg{ImportPath: "github.com/cometbft/cometbft/libs/log", Imports: []string{"testing"}}, true, ""},
		{"a module of a similar name", pkg{ImportPath: module + "x/client", Deps: []string{appPkg}}, false, ""},
		{"app's subpackages are not app", pkg{ImportPath: module + "/client/x", Deps: []string{module + "/app/snapshot"}}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := violations([]pkg{c.pkg}, map[string]bool{c.pkg.ImportPath: c.binaries})
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("flagged: %q", got)
			case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
				t.Fatalf("got %q, want one violation containing %q", got, c.want)
			}
		})
	}
}
