// Package testnet is the one harness of the tests that run real networks:
// node/e2e, cmd/mykey, client/audit and faults. It builds the binaries once
// per test process, writes a test network on free ports of 127.0.0.1 with
// node.Testnet (what `mykeyd testnet` does), starts its nodes as mykeyd
// processes, waits for their blocks and ends the processes it started, by
// PID, when the test ends. The Network gives the layout (network.json), the
// test CA, the government's and the providers' keys and a CometBFT RPC
// client per node, and starts, stops, kills and adds nodes.
//
// It is a normal package so that every test package can import it, but
// only _test.go files do: mykeyd and mykey link nothing of it.
//
// A test package that uses it runs its tests through Main, which removes
// the binaries at the end:
//
//	func TestMain(m *testing.M) { os.Exit(testnet.Main(m)) }
//
// MYKEY_TEST_BIN_DIR=DIR keeps the binaries in DIR for the next run
// (EnvBinDir); E2E_LOGDIR=DIR keeps the whole node logs of a failed test
// in DIR/<test name>/ (EnvLogDir).
package testnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet/freeport"
	"github.com/mykeyledger/mykey/node"
)

// EnvLogDir names a directory where a failed test's node logs are kept.
const EnvLogDir = "E2E_LOGDIR"

// Defaults of Options: short consensus timeouts keep the tests fast.
const (
	DefaultTimeoutPropose = time.Second
	DefaultTimeoutCommit  = 300 * time.Millisecond
	// ReadyHeight is the block every node must have made, within
	// ReadyTimeout, before Start or StartAll returns.
	ReadyHeight  = 2
	ReadyTimeout = 90 * time.Second
)

// Options configure a test network. The zero value is one validator.
type Options struct {
	// Validators is the number of validators (0 means 1); node 0 is
	// the government's, node i>0 provider i's (node.Testnet).
	Validators int
	// SpareNodes keeps port ranges free for nodes added with AddNode.
	SpareNodes int
	ChainID    string // "" means node.DefaultTestnetChainID
	// Cards is the number of test card files written (Layout.TestCards).
	Cards int
	// GovernmentKeys and GovernmentThreshold: k of n authority keys
	// (0 means 1 of 1).
	GovernmentKeys, GovernmentThreshold int
	// TimeoutPropose and TimeoutCommit are every node's consensus
	// timeouts (0 means DefaultTimeoutPropose and DefaultTimeoutCommit).
	TimeoutPropose, TimeoutCommit time.Duration
	// SnapshotInterval and SnapshotKeep are every node's snapshot
	// settings (0 keeps node.DefaultAppConfig's).
	SnapshotInterval uint64
	SnapshotKeep     uint32
	// NoStart writes the network without starting any node: the test
	// starts them with Network.Start (extra environment of a node goes
	// there) or StartAll, or runs them in containers.
	NoStart bool
	// Dir is the run directory (the network in Dir/net, the node logs
	// in Dir); Start defaults it to a temporary directory of the test,
	// Launch requires it.
	Dir string
}

// Network is a test network on 127.0.0.1 and the mykeyd processes it runs.
type Network struct {
	Dir    string // run directory: the node logs, and NetDir
	NetDir string // what node.Testnet wrote: network.json, homes, keys
	Layout *netlayout.Layout
	// BasePort is node 0's first port; node i uses BasePort +
	// node.PortsPerNode*i onwards.
	BasePort int
	CA       *testca.CA
	// ProviderKeys are the providers' grant keys, by provider ID;
	// GovKeys the government's authority keys, in Layout order.
	ProviderKeys map[string]*keyfile.Key
	GovKeys      []*keyfile.Key
	RPC          []*rpchttp.HTTP // one CometBFT RPC client per node

	mykeyd string
	opts   Options
	mu     sync.Mutex
	procs  []*Process // by node; nil: not running
}

// Start writes a network with opts, starts its nodes (unless opts.NoStart)
// and waits until each has made ReadyHeight; when tb's test ends it
// kills the nodes still running and, if the test failed, logs the end of
// every node's log. It skips the test with -short.
func Start(tb testing.TB, opts Options) *Network {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts a network of mykeyd processes; skipped with -short")
	}
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	nw, err := Launch(opts)
	if nw != nil {
		tb.Cleanup(func() {
			nw.Close()
			if tb.Failed() {
				nw.dumpLogs(tb)
			}
		})
	}
	if err != nil {
		tb.Fatal(err)
	}
	return nw
}

// Launch is Start for a network that outlives a test: it returns an error
// instead of failing a test, and the caller ends the network with Close.
// opts.Dir is required. On an error after the nodes were written, the
// Network is returned too (closed), for its logs.
func Launch(opts Options) (*Network, error) {
	if opts.Dir == "" {
		return nil, errors.New("testnet: Launch needs Options.Dir")
	}
	opts.Validators = max(opts.Validators, 1)
	if opts.TimeoutPropose == 0 {
		opts.TimeoutPropose = DefaultTimeoutPropose
	}
	if opts.TimeoutCommit == 0 {
		opts.TimeoutCommit = DefaultTimeoutCommit
	}
	mykeyd, err := mykeydPath()
	if err != nil {
		return nil, err
	}
	base, err := freeport.Find(opts.Validators+opts.SpareNodes, node.PortsPerNode)
	if err != nil {
		return nil, err
	}
	nw := &Network{Dir: opts.Dir, NetDir: filepath.Join(opts.Dir, "net"), BasePort: base,
		ProviderKeys: map[string]*keyfile.Key{}, mykeyd: mykeyd, opts: opts}
	if err := nw.write(); err != nil {
		return nil, err
	}
	if opts.NoStart {
		return nw, nil
	}
	if err := nw.startAll(); err != nil {
		nw.Close()
		return nw, err
	}
	return nw, nil
}

// StartAll starts every node not running and waits until each has made
// ReadyHeight.
func (nw *Network) StartAll(tb testing.TB) {
	tb.Helper()
	if err := nw.startAll(); err != nil {
		tb.Fatal(err)
	}
}

func (nw *Network) startAll() error {
	for i := range nw.procs {
		if nw.Process(i) != nil {
			continue
		}
		if err := nw.start(i, nw.mykeyd, nil); err != nil {
			return err
		}
	}
	for i := range nw.procs {
		if err := nw.waitHeight(i, ReadyHeight, ReadyTimeout); err != nil {
			return err
		}
	}
	return nil
}

// write writes the network and loads what the tests use of it.
func (nw *Network) write() error {
	o := nw.opts
	lay, err := node.Testnet(node.TestnetOptions{Validators: o.Validators, Output: nw.NetDir, ChainID: o.ChainID,
		BasePort: nw.BasePort, Cards: o.Cards, GovernmentKeys: o.GovernmentKeys, GovernmentThreshold: o.GovernmentThreshold,
		TimeoutPropose: o.TimeoutPropose, TimeoutCommit: o.TimeoutCommit,
		SnapshotInterval: o.SnapshotInterval, SnapshotKeep: o.SnapshotKeep})
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	nw.Layout = lay
	if nw.CA, err = testca.Load(lay.TestCA); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	for id, path := range lay.ProviderKeys {
		if nw.ProviderKeys[id], err = keyfile.Load(path); err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
	}
	for _, path := range lay.GovernmentKeys {
		k, err := keyfile.Load(path)
		if err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		nw.GovKeys = append(nw.GovKeys, k)
	}
	for _, n := range lay.Nodes {
		if err := nw.addRPC(n.RPC); err != nil {
			return err
		}
	}
	nw.procs = make([]*Process, len(lay.Nodes))
	return nil
}

func (nw *Network) addRPC(url string) error {
	c, err := rpchttp.NewWithTimeout(url, 10)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	nw.RPC = append(nw.RPC, c)
	return nil
}

// Close kills every node still running (SIGKILL, by PID).
func (nw *Network) Close() {
	nw.mu.Lock()
	procs := nw.procs
	nw.procs = make([]*Process, len(procs))
	nw.mu.Unlock()
	for _, p := range procs {
		if p != nil {
			_ = p.Kill()
		}
	}
}

// LogPath is the file node i logs to, across its restarts.
func (nw *Network) LogPath(i int) string {
	return filepath.Join(nw.Dir, fmt.Sprintf("node%d.log", i))
}

// dumpLogs logs the end of every node's log and, with $E2E_LOGDIR set,
// keeps the whole logs there.
func (nw *Network) dumpLogs(tb testing.TB) {
	logs, _ := filepath.Glob(filepath.Join(nw.Dir, "*.log"))
	keep := os.Getenv(EnvLogDir)
	for _, l := range logs {
		bz, _ := os.ReadFile(l)
		if keep != "" {
			dst := filepath.Join(keep, tb.Name(), filepath.Base(l))
			if os.MkdirAll(filepath.Dir(dst), 0o755) == nil && os.WriteFile(dst, bz, 0o644) == nil {
				tb.Logf("kept %s", dst)
			}
		}
		lines := strings.Split(strings.TrimSpace(string(bz)), "\n")
		tb.Logf("---- last lines of %s ----\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-25):], "\n"))
	}
}
