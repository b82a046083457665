package cli

import (
	"fmt"
	"path/filepath"

	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/internal/netlayout"
)

// Environment variables the commands read.
const (
	EnvNode    = "MYKEY_NODE"    // default --node
	EnvNetwork = "MYKEY_NETWORK" // default --network
)

func loadLayout(dir string) (*netlayout.Layout, error) {
	l, err := netlayout.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("cli: %w", err)
	}
	return l, nil
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
			return "", fmt.Errorf("cli: %s lists no node", filepath.Join(dir, netlayout.File))
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
