package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet"
)

func TestMain(m *testing.M) {
	os.Exit(testnet.Main(m, stopShared))
}

// testNet is a one-validator network of a mykeyd process on 127.0.0.1
// (internal/testnet), and what the tests sign with.
type testNet struct {
	*testnet.Network
	dir    string // the network's directory (network.json)
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
}

// startNet writes a one-validator test network under dir and starts it;
// the caller ends it with Close.
func startNet(dir string) (*testNet, error) {
	nw, err := testnet.Launch(testnet.Options{Dir: dir, ChainID: "mykey-audit-test",
		TimeoutCommit: 250 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	nd := nw.Layout.Nodes[0]
	n := &testNet{Network: nw, dir: nw.NetDir, home: nd.Home, rpcURL: nd.RPC, publicURL: nd.Public,
		genesis: nw.Layout.Genesis, chainID: nw.Layout.ChainID, gov: nw.GovKeys[0], govSeq: 1, ca: nw.CA,
		provs: map[string]ed25519.PrivateKey{}}
	if n.cardKey, err = rsa.GenerateKey(rand.Reader, 2048); err == nil {
		n.rpc, err = rpchttp.NewWithTimeout(n.rpcURL, 60)
	}
	if err != nil {
		nw.Close()
		return nil, err
	}
	return n, nil
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
		shared.net.Close()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
}

// childEnv, when set, makes the test binary a child process of a memory
// measurement (see TestExport100k) rather than a test run.
const childEnv = "MYKEY_AUDIT_TEST_CHILD"
