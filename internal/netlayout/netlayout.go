// Package netlayout is the one description of a local test network's
// layout, network.json: written by node.Testnet, read by the mykey CLI, the
// auditor, the load generator, the Docker layer and the test harness.
package netlayout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Layout describes a local test network: what `mykeyd testnet` writes as
// network.json (and prints with --json), and what the tools, scripts and
// test harnesses read of it.
type Layout struct {
	ChainID             string            `json:"chain_id"`
	Genesis             string            `json:"genesis"`
	Nodes               []Node            `json:"nodes"`
	GovernmentKeys      []string          `json:"government_keys"`
	GovernmentThreshold int               `json:"government_threshold"`
	ProviderKeys        map[string]string `json:"provider_keys"`
	// TestCA is a test CA directory as `mykey testca init` makes it:
	// ca.pem (the test root, genesis's trust anchor) and ca.key (its
	// key, PKCS#8 PEM), so `mykey testca issue --ca DIR` issues more cards.
	TestCA    string   `json:"testca"`
	TestCards []string `json:"test_cards"`
	Programs  []string `json:"programs"`
}

// Node is one node of a test network.
type Node struct {
	Name       string `json:"name"`
	Role       string `json:"role"` // "government" or "provider"
	ProviderID string `json:"provider_id,omitempty"`
	Home       string `json:"home"`
	NodeID     string `json:"node_id"`
	RPC        string `json:"rpc"`     // http://127.0.0.1:PORT
	P2P        string `json:"p2p"`     // ID@127.0.0.1:PORT
	Metrics    string `json:"metrics"` // http://127.0.0.1:PORT/metrics
	Ready      string `json:"ready"`   // http://127.0.0.1:PORT/ready
	Public     string `json:"public"`  // http://127.0.0.1:PORT, the public endpoint
}

// File is the name of the layout file in a test network's directory.
const File = "network.json"

// Load reads dir's network.json.
func Load(dir string) (*Layout, error) {
	path := filepath.Join(dir, File)
	bz, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the local network %s has no %s (it is written by `mykeyd testnet --output DIR`)", dir, File)
	}
	if err != nil {
		return nil, err
	}
	var lay Layout
	if err := json.Unmarshal(bz, &lay); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &lay, nil
}

// DefaultNode is the node a tool given this network reads: the first
// node's public endpoint, or its full RPC when the caller needs what only
// validators read (full) or the layout predates public endpoints; "" for a
// nil or empty layout.
func (l *Layout) DefaultNode(full bool) string {
	if l == nil || len(l.Nodes) == 0 {
		return ""
	}
	if n := l.Nodes[0]; n.Public != "" && !full {
		return n.Public
	}
	return l.Nodes[0].RPC
}
