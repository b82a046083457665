package testnet

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/netlayout"
	"github.com/mykeyledger/mykey/node"
)

// Start starts node i as a mykeyd process, env (NAME=value) added to its
// environment and its output appended to LogPath(i).
func (nw *Network) Start(tb testing.TB, i int, env ...string) {
	tb.Helper()
	nw.StartBin(tb, i, nw.mykeyd, env...)
}

// StartBin is Start with another mykeyd binary (one built with test tags,
// say).
func (nw *Network) StartBin(tb testing.TB, i int, bin string, env ...string) {
	tb.Helper()
	if err := nw.start(i, bin, env); err != nil {
		tb.Fatal(err)
	}
}

func (nw *Network) start(i int, bin string, env []string) error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.procs[i] != nil {
		return fmt.Errorf("testnet: node %d is already running", i)
	}
	p, err := startProcess(bin, nw.Layout.Nodes[i].Home, nw.LogPath(i), env)
	if err != nil {
		return err
	}
	nw.procs[i] = p
	return nil
}

// take removes node i's process from the network.
func (nw *Network) take(tb testing.TB, i int) *Process {
	tb.Helper()
	nw.mu.Lock()
	p := nw.procs[i]
	nw.procs[i] = nil
	nw.mu.Unlock()
	if p == nil {
		tb.Fatalf("node %d is not running", i)
	}
	return p
}

// Process is node i's running process (nil if it is not running).
func (nw *Network) Process(i int) *Process {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.procs[i]
}

// Kill kills node i with SIGKILL.
func (nw *Network) Kill(tb testing.TB, i int) {
	tb.Helper()
	if err := nw.take(tb, i).Kill(); err != nil {
		tb.Fatal(err)
	}
}

// Stop stops node i with SIGTERM and requires a clean exit within
// StopTimeout.
func (nw *Network) Stop(tb testing.TB, i int) {
	tb.Helper()
	if err := nw.take(tb, i).Stop(StopTimeout); err != nil {
		tb.Fatalf("node %d: %v", i, err)
	}
}

// StopAll stops the nodes all at once, as Stop does each.
func (nw *Network) StopAll(tb testing.TB, nodes ...int) {
	tb.Helper()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for k, i := range nodes {
		p := nw.take(tb, i)
		wg.Add(1)
		go func() { defer wg.Done(); errs[k] = p.Stop(StopTimeout) }()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			tb.Fatalf("node %d: %v", nodes[k], err)
		}
	}
}

// WaitExit waits up to timeout for node i to exit by itself and returns
// its exit status (-1 if a signal ended it).
func (nw *Network) WaitExit(tb testing.TB, i int, timeout time.Duration) int {
	tb.Helper()
	p := nw.Process(i)
	if p == nil {
		tb.Fatalf("node %d is not running", i)
	}
	code, err := p.Wait(timeout)
	if err != nil {
		tb.Fatalf("node %d: %v", i, err)
	}
	nw.take(tb, i)
	return code
}

// AddNode sets up a new full node (not a validator) named name, with the
// network's genesis and pseudonym key and every node so far as a peer, on
// the next spare port range (Options.SpareNodes), and returns its index.
// It is not started; validators admit it once the ledger registers its
// node ID.
func (nw *Network) AddNode(tb testing.TB, name string) int {
	tb.Helper()
	nw.mu.Lock()
	i := len(nw.Layout.Nodes)
	nw.mu.Unlock()
	if i >= nw.opts.Validators+nw.opts.SpareNodes {
		tb.Fatalf("testnet: no spare port range for node %d: set Options.SpareNodes", i)
	}
	home := filepath.Join(nw.Dir, name)
	port := nw.BasePort + node.PortsPerNode*i
	var peers []string
	for _, n := range nw.Layout.Nodes {
		peers = append(peers, n.P2P)
	}
	addr := func(off int) string { return fmt.Sprintf("127.0.0.1:%d", port+off) }
	out, err := exec.Command(nw.mykeyd, "init", "--home", home, "--chain-id", nw.Layout.ChainID, "--moniker", name,
		"--genesis", nw.Layout.Genesis, "--peers", strings.Join(peers, ","),
		// The network's pseudonym key, as its key ceremony hands it out.
		"--pseudonym-key", filepath.Join(nw.Layout.Nodes[0].Home, node.DefaultPseudonymKeyFile),
		"--p2p-laddr", "tcp://"+addr(0), "--rpc-laddr", "tcp://"+addr(1), "--metrics-laddr", addr(2),
		"--ready-laddr", "tcp://"+addr(3), "--public-laddr", "tcp://"+addr(4),
		"--json").Output()
	if err != nil {
		tb.Fatalf("mykeyd init: %v", err)
	}
	var res struct {
		NodeID string `json:"node_id"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		tb.Fatalf("mykeyd init --json: %v: %s", err, out)
	}
	// Loopback peers: as node.Testnet sets them.
	c, err := node.LoadConfig(home)
	if err != nil {
		tb.Fatal(err)
	}
	c.Comet.P2P.AllowDuplicateIP = true
	c.Comet.P2P.AddrBookStrict = false
	if err := c.Save(); err != nil {
		tb.Fatal(err)
	}
	nd := netlayout.Node{Name: name, Role: "full", Home: home, NodeID: res.NodeID,
		RPC:     "http://" + addr(1),
		P2P:     res.NodeID + "@" + addr(0),
		Metrics: "http://" + addr(2) + "/metrics",
		Ready:   "http://" + addr(3) + "/ready",
		Public:  "http://" + addr(4),
	}
	if err := nw.addRPC(nd.RPC); err != nil {
		tb.Fatal(err)
	}
	nw.mu.Lock()
	nw.Layout.Nodes = append(nw.Layout.Nodes, nd)
	nw.procs = append(nw.procs, nil)
	nw.mu.Unlock()
	return i
}
