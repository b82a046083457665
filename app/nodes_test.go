package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

// nodeID makes a node ID from a name, as CometBFT derives one from a key.
func nodeID(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:20])
}

func (n *testNet) filter(path string) *abci.QueryResponse {
	n.t.Helper()
	res, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: path})
	if err != nil {
		n.t.Fatalf("query %s: %v", path, err)
	}
	return res
}

// wantPeer checks the P2P filter's answer for a node ID.
func (n *testNet) wantPeer(id string, admitted bool) {
	n.t.Helper()
	res := n.filter("/p2p/filter/id/" + id)
	if admitted && res.Code != 0 {
		n.t.Fatalf("node %s refused (code %d %q), want admitted", id, res.Code, res.Log)
	}
	if !admitted {
		if res.Code != types.ErrNodeNotRegistered.Code {
			n.t.Fatalf("node %s: code %d %q, want %d (node_not_registered)", id, res.Code, res.Log, types.ErrNodeNotRegistered.Code)
		}
		if !strings.Contains(res.Log, "node "+id+" is not registered") || !strings.Contains(res.Log, "mykey gov set-nodes") {
			n.t.Fatalf("refusal log %q does not say what to do", res.Log)
		}
	}
}

func setNodes(owner string, ids ...string) *types.GovAction {
	return &types.GovAction{Action: &types.GovAction_SetNodes{SetNodes: &types.SetNodes{Owner: owner, NodeIds: ids}}}
}

// TestNodeFilterFromGenesis: CometBFT asks about peers as soon as p2p
// starts, after InitChain but before the first Commit; the answer must
// already come from the genesis registry, and still after a restart.
func TestNodeFilterFromGenesis(t *testing.T) {
	gov, pay, sentry, stranger := nodeID("gov"), nodeID("paypay"), nodeID("paypay-sentry"), nodeID("stranger")
	n := newTestNet(t, netOptions{dir: t.TempDir(), nodes: map[string][]string{
		types.GovernmentOwner: {gov}, "paypay": {pay, sentry},
	}})
	check := func() {
		t.Helper()
		for _, id := range []string{gov, pay, sentry} {
			n.wantPeer(id, true)
		}
		n.wantPeer(stranger, false)
		n.wantPeer(strings.ToUpper(gov), false)
		if res := n.filter("/p2p/filter/addr/192.0.2.7:26656"); res.Code != 0 {
			t.Fatalf("address filter refused: %d %q", res.Code, res.Log)
		}
	}
	check() // before the first Commit
	n.block()
	check()
	var r types.NodeRecord
	if !n.query(types.KeyNode(sentry), &r) || r.Owner != "paypay" {
		t.Fatalf("node record of the sentry: %+v", &r)
	}
	n.app.Close()
	n.open()
	check() // loaded at start-up
	if res := n.filter("/p2p/other"); res.Code != types.ErrMalformed.Code {
		t.Fatalf("unknown p2p query path: code %d", res.Code)
	}
}

// TestSetNodes: the government replaces an owner's node list; the filter
// follows from the block's Commit on, and every malformed or conflicting
// list is rejected with its code, changing nothing.
func TestSetNodes(t *testing.T) {
	gov, pay, a, b := nodeID("gov"), nodeID("paypay"), nodeID("a"), nodeID("b")
	n := newTestNet(t, netOptions{nodes: map[string][]string{types.GovernmentOwner: {gov}, "paypay": {pay}}})
	n.block()

	tooMany := make([]string, MaxNodesPerOwner+1)
	for i := range tooMany {
		tooMany[i] = nodeID(string(rune('A' + i)))
	}
	for name, c := range map[string]struct {
		a    *types.GovAction
		want *types.Error
	}{
		"upper case":      {setNodes("paypay", strings.ToUpper(a)), types.ErrMalformed},
		"short":           {setNodes("paypay", a[:39]), types.ErrMalformed},
		"not hex":         {setNodes("paypay", "g"+a[1:]), types.ErrMalformed},
		"duplicate":       {setNodes("paypay", a, a), types.ErrMalformed},
		"too many":        {setNodes("paypay", tooMany...), types.ErrMalformed},
		"unknown owner":   {setNodes("nobody", a), types.ErrUnknownProvider},
		"owned by other":  {setNodes("linepay", pay), types.ErrInvalidAction},
		"government's id": {setNodes("paypay", gov, a), types.ErrInvalidAction},
	} {
		t.Run(name, func(t *testing.T) {
			wantCode(t, n.block(n.govTx(1, c.a))[0], c.want)
			n.wantPeer(pay, true)
			n.wantPeer(gov, true)
			n.wantPeer(a, false)
		})
	}

	// The whole list is replaced: pay is gone, a and b are in.
	res := n.finalize(n.govTx(1, setNodes("paypay", a, b)))
	wantCode(t, res.TxResults[0], nil)
	n.wantPeer(a, false) // not before the block is committed
	if _, err := n.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	n.wantPeer(a, true)
	n.wantPeer(b, true)
	n.wantPeer(pay, false)
	var r types.NodeRecord
	if n.query(types.KeyNode(pay), &r) {
		t.Fatalf("node record of a replaced node remains: %+v", &r)
	}
	// A node released by one owner can be registered to another.
	wantCode(t, n.block(n.govTx(1, setNodes("linepay", pay)))[0], nil)
	n.wantPeer(pay, true)
	if !n.query(types.KeyNode(pay), &r) || r.Owner != "linepay" {
		t.Fatalf("node record: %+v, want owner linepay", &r)
	}
	// Setting the same list again is accepted and changes nothing.
	wantCode(t, n.block(n.govTx(1, setNodes("paypay", b, a)))[0], nil)
	n.wantPeer(a, true)
	// An empty list removes every node of the owner.
	wantCode(t, n.block(n.govTx(1, setNodes("paypay")))[0], nil)
	n.wantPeer(a, false)
	n.wantPeer(b, false)
	var l types.NodeList
	if n.query(types.KeyNodeOwner("paypay"), &l) {
		t.Fatalf("node list of an owner with no nodes remains: %v", l.NodeIds)
	}
	wantCode(t, n.block(n.govTx(1, setNodes(types.GovernmentOwner, gov, a)))[0], nil)
	n.wantPeer(a, true)
	// An action without the authority's signatures does nothing.
	wantCode(t, n.block(n.govTx(0, setNodes("paypay", b)))[0], types.ErrMalformed)
	n.wantPeer(b, false)
}

// TestNodeFilterWithoutState: a node with no state yet (about to restore a
// snapshot by state sync) admits its peers; it has no blocks to give away.
func TestNodeFilterWithoutState(t *testing.T) {
	a, err := New(Options{PseudonymKey: &testPseudonymKey, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	n := &testNet{t: t, app: a}
	if res := n.filter("/p2p/filter/id/" + nodeID("anyone")); res.Code != 0 {
		t.Fatalf("a node without state refuses peers: %d %q", res.Code, res.Log)
	}
}
