package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mykeyledger/mykey/client/rpc"
)

// Environment variables the commands read.
const (
	EnvNode    = "MYKEY_NODE"    // default --node
	EnvNetwork = "MYKEY_NETWORK" // default --network
)

// layoutFile is the file `mykeyd testnet` writes in its output directory.
const layoutFile = "network.json"

// layout is what the commands read of a local network's layout (the JSON
// of `mykeyd testnet --json`, saved as network.json).
type layout struct {
	ChainID string `json:"chain_id"`
	Nodes   []struct {
		Name string `json:"name"`
		RPC  string `json:"rpc"`
	} `json:"nodes"`
	GovernmentKeys []string          `json:"government_keys"`
	ProviderKeys   map[string]string `json:"provider_keys"`
	TestCards      []string          `json:"test_cards"`
}

func loadLayout(dir string) (*layout, error) {
	path := filepath.Join(dir, layoutFile)
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cli: the local network %s has no %s (it is written by `mykeyd testnet --output DIR`): %w", dir, layoutFile, err)
	}
	var l layout
	if err := json.Unmarshal(bz, &l); err != nil {
		return nil, fmt.Errorf("cli: %s: %w", path, err)
	}
	return &l, nil
}

// nodeURL resolves the node to talk to: --node, else $MYKEY_NODE, else the
// first node of the local network (--network or $MYKEY_NETWORK), else
// rpc.DefaultURL.
func (c *cmdCtx) nodeURL() (string, error) {
	if c.g.node != "" {
		return c.g.node, nil
	}
	if u := c.env.Getenv(EnvNode); u != "" {
		return u, nil
	}
	if dir := c.networkDir(); dir != "" {
		l, err := loadLayout(dir)
		if err != nil {
			return "", err
		}
		if len(l.Nodes) == 0 || l.Nodes[0].RPC == "" {
			return "", fmt.Errorf("cli: %s lists no node", filepath.Join(dir, layoutFile))
		}
		return l.Nodes[0].RPC, nil
	}
	return rpc.DefaultURL, nil
}

func (c *cmdCtx) networkDir() string {
	if c.g.network != "" {
		return c.g.network
	}
	return c.env.Getenv(EnvNetwork)
}
