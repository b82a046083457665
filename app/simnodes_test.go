package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

// simNodeIDs is the simulation's pool of P2P node IDs: few, so that owners
// compete for them.
var simNodeIDs = func() []string {
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = nodeID(fmt.Sprintf("sim/node/%d", i))
	}
	return ids
}()

// setNodes makes a set_nodes action: usually a few IDs from the pool for
// the government or a provider, now and then an empty list, a malformed
// or duplicate ID, or too many.
func (g *simGen) setNodes() *types.SetNodes {
	s := &types.SetNodes{Owner: g.provider()}
	if g.chance(0.25) {
		s.Owner = types.GovernmentOwner
	}
	for i := g.r.IntN(4); i > 0; i-- {
		s.NodeIds = append(s.NodeIds, pick(g.r, simNodeIDs))
	}
	switch x := g.r.IntN(20); {
	case x == 0 && len(s.NodeIds) > 0:
		s.NodeIds[0] = strings.ToUpper(s.NodeIds[0])
	case x == 1:
		s.NodeIds = append(s.NodeIds, simNodeIDs[0][:39])
	case x == 2:
		s.NodeIds = make([]string, MaxNodesPerOwner+1)
		for i := range s.NodeIds {
			s.NodeIds[i] = nodeID(fmt.Sprintf("sim/many/%d", i))
		}
	}
	return s
}

// nodeInvariants: the node records are the model's, and the P2P filter
// admits exactly the registered nodes.
func (s *sim) nodeInvariants() error {
	got := map[string]string{}
	if err := s.each(types.PrefixNode, func(k string, v []byte) error {
		var r types.NodeRecord
		if err := decodeInto(v, &r); err != nil {
			return err
		}
		got[strings.TrimPrefix(k, types.PrefixNode)] = r.Owner
		return nil
	}); err != nil {
		return err
	}
	if !maps.Equal(got, s.m.nodes) {
		return fmt.Errorf("node records %v, the model %v", got, s.m.nodes)
	}
	for owner, ids := range s.m.nodeLists {
		var l types.NodeList
		ok, err := load(s.n.app.store, types.KeyNodeOwner(owner), &l)
		if err != nil || ok != (len(ids) > 0) || !slices.Equal(l.NodeIds, ids) {
			return fmt.Errorf("node list of %q: %v (%v), the model %v", owner, l.NodeIds, err, ids)
		}
	}
	for _, id := range simNodeIDs {
		res, err := s.n.app.Query(context.Background(), &abci.QueryRequest{Path: filterIDPath + id})
		if err != nil {
			return err
		}
		_, registered := s.m.nodes[id]
		if (res.Code == 0) != registered {
			return fmt.Errorf("the P2P filter answers %d for node %s, registered: %v", res.Code, id, registered)
		}
	}
	return nil
}
