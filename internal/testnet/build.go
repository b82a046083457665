package testnet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvBinDir names a directory of prebuilt binaries: when it is set, the
// binaries are taken from it, and any it lacks are built into it and kept
// for the next run. A binary found there is used as it is: empty the
// directory after changing the code.
const EnvBinDir = "MYKEY_TEST_BIN_DIR"

const (
	mykeydPkg = "github.com/mykeyledger/mykey/cmd/mykeyd"
	mykeyPkg  = "github.com/mykeyledger/mykey/cmd/mykey"
	// buildTimeout bounds one go build.
	buildTimeout = 8 * time.Minute
)

var (
	binMu  sync.Mutex
	bins   = map[string]*binary{} // by file name
	tmpBin string                 // this process's build directory, when EnvBinDir is unset
)

// binary is one build, done once per test process.
type binary struct {
	once sync.Once
	path string
	err  error
}

// Mykeyd returns the path of a mykeyd built with tags, once per test
// process. It is built without cgo, so that the same static binary runs on
// the host and in an image FROM scratch.
func Mykeyd(tb testing.TB, tags ...string) string {
	tb.Helper()
	path, err := mykeydPath(tags...)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// Mykey returns the path of the mykey client, built once per test process.
func Mykey(tb testing.TB) string {
	tb.Helper()
	path, err := build("mykey", mykeyPkg, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

func mykeydPath(tags ...string) (string, error) {
	name := strings.Join(append([]string{"mykeyd"}, tags...), "-")
	return build(name, mykeydPkg, []string{"CGO_ENABLED=0"}, tags)
}

// build builds pkg as name, once per process.
func build(name, pkg string, env, tags []string) (string, error) {
	binMu.Lock()
	b := bins[name]
	if b == nil {
		b = &binary{}
		bins[name] = b
	}
	binMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(name, pkg, env, tags) })
	return b.path, b.err
}

func goBuild(name, pkg string, env, tags []string) (string, error) {
	dir := os.Getenv(EnvBinDir)
	if dir != "" {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("testnet: %w", err)
		}
	} else {
		var err error
		if dir, err = tempBinDir(); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, name)
	args := []string{"build", "-o", path}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testnet: building %s: %v\n%s", name, err, out.Bytes())
	}
	return path, nil
}

func tempBinDir() (string, error) {
	binMu.Lock()
	defer binMu.Unlock()
	if tmpBin == "" {
		dir, err := os.MkdirTemp("", "mykey-testbin-")
		if err != nil {
			return "", fmt.Errorf("testnet: %w", err)
		}
		tmpBin = dir
	}
	return tmpBin, nil
}

// Main runs the tests, then the atExit functions, then removes the
// binaries built for this process (not those in $MYKEY_TEST_BIN_DIR). A
// test package that starts networks calls it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testnet.Main(m)) }
func Main(m *testing.M, atExit ...func()) int {
	code := m.Run()
	for _, f := range atExit {
		f()
	}
	binMu.Lock()
	defer binMu.Unlock()
	if tmpBin != "" {
		os.RemoveAll(tmpBin)
		tmpBin = ""
	}
	return code
}
