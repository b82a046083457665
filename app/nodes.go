package app

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
)

// The node registry. Blocks carry card certificates, so the consortium's
// P2P network admits only the nodes its members run: each validator's node
// and the sentries in front of it. The government and each provider have
// their CometBFT node IDs registered (at genesis, then by the government's
// set_nodes action); a node run with filter_peers = true asks the app about
// every peer (Query "/p2p/filter/id/<id>") and refuses one not registered.

// MaxNodesPerOwner bounds the node IDs one owner registers: a validator's
// node and a few sentries, with room to replace them one by one.
const MaxNodesPerOwner = types.MaxNodesPerOwner

// P2P filter query paths, as CometBFT asks them (node/setup.go).
const (
	filterIDPath   = "/p2p/filter/id/"
	filterAddrPath = "/p2p/filter/addr/"
)

// ValidateNodeIDs checks an owner's node ID list by the rule genesis
// validation applies too (types.ValidateNodeIDs).
func ValidateNodeIDs(ids []string) error {
	if err := types.ValidateNodeIDs(ids); err != nil {
		return types.ErrMalformed.Wrapf("node IDs: %v", err)
	}
	return nil
}

// peerSet is the registered node IDs, each with its owner. It is replaced
// whole, never changed in place, so Query reads it without a lock.
type peerSet map[string]string

// peers holds the allowlist the P2P filter answers from. It is kept in
// memory, not read from the committed store, because CometBFT starts
// filtering peers right after InitChain, before the first Commit makes the
// genesis records readable; nil until the app has any state.
type peers struct{ p atomic.Pointer[peerSet] }

func (p *peers) set(s peerSet) { p.p.Store(&s) }

// owner returns the owner of a registered node, and false for a node not
// registered; ok is false too when the app has no state yet (no list).
func (p *peers) owner(id string) (owner string, listed, ok bool) {
	s := p.p.Load()
	if s == nil {
		return "", false, false
	}
	owner, listed = (*s)[id]
	return owner, listed, true
}

// nodeOwner is an owner's node IDs as genesis lists them.
type nodeOwner struct {
	id  string
	ids []string
}

// genesisNodeOwners lists the owners genesis registers node IDs for: the
// government, then each provider.
func genesisNodeOwners(gen *types.GenesisState) []nodeOwner {
	owners := []nodeOwner{{types.GovernmentOwner, gen.Government.NodeIDs}}
	for _, p := range gen.Providers {
		owners = append(owners, nodeOwner{p.ID, p.NodeIDs})
	}
	return owners
}

// genesisPeers lists the node IDs the genesis app state registers.
func genesisPeers(gen *types.GenesisState) peerSet {
	s := peerSet{}
	for _, o := range genesisNodeOwners(gen) {
		for _, id := range o.ids {
			s[id] = o.id
		}
	}
	return s
}

// loadPeers reads the registered node IDs from committed state.
func loadPeers(v *store.View) (peerSet, error) {
	s := peerSet{}
	var derr error
	err := v.Iterate([]byte(types.PrefixNode), func(k, val []byte) bool {
		var r types.NodeRecord
		if err := r.Unmarshal(val); err != nil {
			derr = fmt.Errorf("app: decode %q: %w", k, err)
			return true
		}
		s[strings.TrimPrefix(string(k), types.PrefixNode)] = r.Owner
		return false
	})
	if err == nil {
		err = derr
	}
	return s, err
}

// reloadPeers replaces the allowlist with the committed state's.
func (a *App) reloadPeers() error {
	return a.store.View(func(v *store.View) error {
		s, err := loadPeers(v)
		if err == nil {
			a.peers.set(s)
		}
		return err
	})
}

// queryFilter answers CometBFT's P2P filter queries; a non-zero code
// refuses the peer. CometBFT asks only when a connection is made, so a node
// removed from the registry stays connected until it disconnects or either
// node restarts.
func (a *App) queryFilter(path string, res *abci.QueryResponse) *abci.QueryResponse {
	if _, ok := strings.CutPrefix(path, filterAddrPath); ok {
		// Addresses are the operators' business (firewalls, sentry
		// layouts); a node is admitted by its ID, which its key proves in
		// the handshake.
		return res
	}
	id, ok := strings.CutPrefix(path, filterIDPath)
	if !ok {
		res.Code, res.Log = types.ErrMalformed.Code, "p2p filter query path must be "+filterIDPath+"<id> or "+filterAddrPath+"<addr>"
		return res
	}
	owner, listed, ok := a.peers.owner(id)
	if !ok {
		// No state yet: a node restoring a snapshot by state sync must
		// reach its peers, and has no blocks to give away; the allowlist
		// is loaded as soon as the snapshot is.
		return res
	}
	if listed {
		res.Log = "node " + id + " is registered to " + owner
		return res
	}
	res.Code = types.ErrNodeNotRegistered.Code
	res.Log = fmt.Sprintf("node %s is not registered to a validator or sentry: the government registers it with mykey gov set-nodes", id)
	return res
}

// setNodes replaces an owner's node IDs.
func (x *exec) setNodes(c *cache, s *types.SetNodes) (string, error) {
	if err := ValidateNodeIDs(s.NodeIds); err != nil {
		return "", err
	}
	if s.Owner != types.GovernmentOwner {
		if _, err := getProvider(c, s.Owner); err != nil {
			return "", err
		}
	}
	var old types.NodeList
	if _, err := load(c, types.KeyNodeOwner(s.Owner), &old); err != nil {
		return "", err
	}
	for _, id := range s.NodeIds {
		var r types.NodeRecord
		ok, err := load(c, types.KeyNode(id), &r)
		if err != nil {
			return "", err
		}
		if ok && r.Owner != s.Owner {
			return "", types.ErrInvalidAction.Wrapf("node %s is registered to %q", id, r.Owner)
		}
	}
	if err := writeNodes(c, s.Owner, old.NodeIds, s.NodeIds); err != nil {
		return "", err
	}
	x.nodesChanged = true
	return fmt.Sprintf("set %d node(s) of %q", len(s.NodeIds), s.Owner), nil
}

// writeNodes replaces owner's node records: those of old not in ids go.
func writeNodes(c *cache, owner string, old, ids []string) error {
	for _, id := range old {
		if !slices.Contains(ids, id) {
			c.Delete(types.KeyNode(id))
		}
	}
	for _, id := range ids {
		if err := save(c, types.KeyNode(id), &types.NodeRecord{Owner: owner}, 0); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		if len(old) > 0 {
			c.Delete(types.KeyNodeOwner(owner))
		}
		return nil
	}
	return save(c, types.KeyNodeOwner(owner), &types.NodeList{NodeIds: slices.Clone(ids)}, 0)
}

// initNodes writes the node IDs the genesis app state registers. The
// state was validated as it was decoded (types.GenesisState.Validate: each
// list well formed, no node ID under two owners).
func initNodes(c *cache, gen *types.GenesisState) error {
	for _, o := range genesisNodeOwners(gen) {
		if err := writeNodes(c, o.id, nil, o.ids); err != nil {
			return err
		}
	}
	return nil
}
