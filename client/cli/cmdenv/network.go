package cmdenv

import (
	"path/filepath"

	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/internal/netlayout"
)

// Environment variables the commands read.
const (
	EnvNode    = "MYKEY_NODE"    // default --node
	EnvNetwork = "MYKEY_NETWORK" // default --network
)

// networkDir is the local network's directory (--network, else
// $MYKEY_NETWORK; "" for none) and the name of where it came from.
func (r *Run) networkDir() (dir, from string) {
	if r.Flags.Network != "" {
		return r.Flags.Network, "--network"
	}
	return r.Env.Getenv(EnvNetwork), "$" + EnvNetwork
}

// Network reads the local network's layout (--network, else
// $MYKEY_NETWORK); nil when neither names one. A directory without a
// readable network.json is bad usage.
func (r *Run) Network() (*netlayout.Layout, error) {
	dir, from := r.networkDir()
	if dir == "" {
		return nil, nil
	}
	l, err := netlayout.Load(dir)
	if err != nil {
		return nil, Errorf(ExitUsage, "%s: %w", from, err)
	}
	return l, nil
}

// NodeURL is the node a command talks to: --node, else $MYKEY_NODE, else
// the first node of the local network (Network) — its full RPC when the
// command needs what only validators serve (full), else its public
// endpoint if it has one —, else rpc.DefaultURL.
func (r *Run) NodeURL(full bool) (string, error) {
	if r.Flags.Node != "" {
		return r.Flags.Node, nil
	}
	if u := r.Env.Getenv(EnvNode); u != "" {
		return u, nil
	}
	l, err := r.Network()
	if err != nil || l == nil {
		return rpc.DefaultURL, err
	}
	if u := l.DefaultNode(full); u != "" {
		return u, nil
	}
	dir, from := r.networkDir()
	return "", Errorf(ExitUsage, "%s: %s lists no node", from, filepath.Join(dir, netlayout.File))
}
