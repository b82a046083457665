package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

// mykeyd is the node binary the tests run, built by TestMain.
var mykeyd string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "mykey-audit-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if os.Getenv(childEnv) == "" && !testing.Short() {
		mykeyd = filepath.Join(dir, "mykeyd")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		out, err := exec.CommandContext(ctx, "go", "build", "-o", mykeyd, "github.com/mykeyledger/mykey/cmd/mykeyd").CombinedOutput()
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "audit tests: building mykeyd: %v\n%s", err, out)
			return 1
		}
	}
	code := m.Run()
	stopShared()
	return code
}

// testNet is a one-validator network of a mykeyd process on 127.0.0.1.
type testNet struct {
	dir    string
	home   string
	rpcURL string
	// publicURL is the node's public endpoint, what an auditor given the
	// network directory reads.
	publicURL string
	genesis   string
	chainID   string
	gov       *keyfile.Key
	govSeq    uint64
	ca        *testca.CA
	cardKey   *rsa.PrivateKey
	provs     map[string]ed25519.PrivateKey
	rpc       *rpchttp.HTTP
	cmd       *exec.Cmd
	done      chan error
	log       *os.File
}

// networkJSON is the part of mykeyd testnet's network.json the tests use.
type networkJSON struct {
	ChainID        string   `json:"chain_id"`
	Genesis        string   `json:"genesis"`
	GovernmentKeys []string `json:"government_keys"`
	TestCA         string   `json:"testca"`
	Nodes          []struct {
		Home   string `json:"home"`
		RPC    string `json:"rpc"`
		Public string `json:"public"`
	} `json:"nodes"`
}

// startNet writes a one-validator test network under dir and starts it.
func startNet(dir string) (*testNet, error) {
	base, err := freeBasePort()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "net")
	args := []string{"testnet", "--validators", "1", "--output", out, "--chain-id", "mykey-audit-test",
		"--base-port", strconv.Itoa(base), "--cards", "0", "--timeout-propose", "1s", "--timeout-commit", "250ms"}
	if b, err := exec.Command(mykeyd, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mykeyd testnet: %v\n%s", err, b)
	}
	bz, err := os.ReadFile(filepath.Join(out, "network.json"))
	if err != nil {
		return nil, err
	}
	var lay networkJSON
	if err := json.Unmarshal(bz, &lay); err != nil {
		return nil, err
	}
	n := &testNet{dir: out, home: lay.Nodes[0].Home, rpcURL: lay.Nodes[0].RPC, publicURL: lay.Nodes[0].Public, genesis: lay.Genesis, chainID: lay.ChainID,
		govSeq: 1, provs: map[string]ed25519.PrivateKey{}}
	if n.gov, err = keyfile.Load(lay.GovernmentKeys[0]); err != nil {
		return nil, err
	}
	if n.ca, err = testca.Load(lay.TestCA); err != nil {
		return nil, err
	}
	if n.cardKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if n.rpc, err = rpchttp.NewWithTimeout(n.rpcURL, 60); err != nil {
		return nil, err
	}
	if n.log, err = os.Create(filepath.Join(dir, "node.log")); err != nil {
		return nil, err
	}
	n.cmd = exec.Command(mykeyd, "start", "--home", n.home)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	dieWithParent(n.cmd)
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	n.done = make(chan error, 1)
	go func() { n.done <- n.cmd.Wait() }()
	if err := n.waitHeight(2, time.Minute); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

// stop ends the node: SIGTERM, then SIGKILL after 20 s.
func (n *testNet) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
	n.log.Close()
}

func freeBasePort() (int, error) {
	for range 200 {
		// Below 32768: Linux hands out ports from 32768 up to outgoing
		// connections, which could take a port between this check and
		// the node binding it.
		base := 20000 + mrand.IntN(1200)*10
		ok := true
		for i := 0; i < 10 && ok; i++ { // a node's ports: base..base+4 (mykeyd testnet)
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no free port range on 127.0.0.1")
}

func (n *testNet) height() (int64, error) {
	st, err := n.rpc.Status(context.Background())
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

func (n *testNet) waitHeight(h int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got, err := n.height()
		if err == nil && got >= h {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node did not reach height %d in %s (last: %d, %v)", h, timeout, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// blockTime returns the latest block's time.
func (n *testNet) blockTime() (time.Time, error) {
	st, err := n.rpc.Status(context.Background())
	if err != nil {
		return time.Time{}, err
	}
	return st.SyncInfo.LatestBlockTime, nil
}

// The shared network: built once, on first use, for the tests that only
// read it; stopped by TestMain.
var (
	sharedOnce sync.Once
	shared     *fixture
	sharedErr  error
	sharedDir  string
)

func sharedFixture(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a mykeyd network; skipped with -short")
	}
	sharedOnce.Do(func() {
		start := time.Now()
		sharedDir, sharedErr = os.MkdirTemp("", "mykey-audit-net-")
		if sharedErr != nil {
			return
		}
		shared, sharedErr = buildFixture(sharedDir)
		if sharedErr == nil {
			fmt.Fprintf(os.Stderr, "audit tests: shared network ready at height %d in %s\n", shared.readyHeight, time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedErr != nil {
		t.Fatalf("shared network: %v (logs in %s)", sharedErr, sharedDir)
	}
	return shared
}

func stopShared() {
	if shared != nil {
		shared.net.stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
}

// childEnv, when set, makes the test binary a child process of a memory
// measurement (see TestExport100k) rather than a test run.
const childEnv = "MYKEY_AUDIT_TEST_CHILD"
