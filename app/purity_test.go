package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoIOClockOrRandomness fails if the state machine's packages import
// networking, randomness or the OS, or read the wall clock. Their only I/O
// is the store (app/store), which is allowed the file system and nothing
// else.
func TestNoIOClockOrRandomness(t *testing.T) {
	forbidden := []string{"net", "net/", "math/rand", "crypto/rand", "os/exec", "syscall", "unsafe", "runtime/cgo"}
	clock := map[string]bool{"Now": true, "Since": true, "Until": true, "Tick": true, "After": true, "AfterFunc": true, "NewTimer": true, "NewTicker": true, "Sleep": true}
	dirs := map[string]bool{".": true, "types": true, "jpki": true, "proof": true, "store": false, "snapshot": false}
	checked := 0
	for dir, noOS := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			timeName := ""
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if p == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(p, bad)) || strings.HasPrefix(p, bad+"/") {
						t.Errorf("%s imports %s", path, p)
					}
				}
				if noOS && (p == "os" || p == "io/ioutil") {
					t.Errorf("%s imports %s: only the store does I/O", path, p)
				}
				if strings.Contains(p, "cometbft/rpc") || strings.Contains(p, "cometbft/p2p") {
					t.Errorf("%s imports networking package %s", path, p)
				}
				if p == "time" {
					timeName = "time"
					if imp.Name != nil {
						timeName = imp.Name.Name
					}
				}
			}
			if timeName == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && clock[sel.Sel.Name] {
					t.Errorf("%s: reads the clock with time.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d files; run from the app directory", checked)
	}
	if _, err := os.Stat("app.go"); err != nil {
		t.Fatal("not in the app directory")
	}
}
