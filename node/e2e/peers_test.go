package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testnet"
)

// peerIDs lists the node IDs node i has as peers (its /net_info).
func (nw *network) peerIDs(i int) []string {
	nw.t.Helper()
	ctx, cancel := ctxT(5 * time.Second)
	defer cancel()
	ni, err := nw.RPC[i].NetInfo(ctx)
	if err != nil {
		nw.t.Fatalf("node %d: net_info: %v", i, err)
	}
	var ids []string
	for _, p := range ni.Peers {
		ids = append(ids, string(p.NodeInfo.DefaultNodeID))
	}
	return ids
}

// setNodes has the government (its first authority key, the testnet's
// threshold 1) replace owner's node IDs, and waits for the action to be
// committed, accepted.
func (nw *network) setNodes(via int, owner string, ids ...string) {
	nw.t.Helper()
	val, _ := nw.query(via, "gov")
	var gs types.GovState
	if err := gs.Unmarshal(val); err != nil {
		nw.t.Fatal(err)
	}
	tx := nw.govTx(gs.NextSequence, &types.GovAction{Action: &types.GovAction_SetNodes{SetNodes: &types.SetNodes{Owner: owner, NodeIds: ids}}})
	if res, err := nw.broadcast(via, tx); err != nil || res.Code != 0 {
		nw.t.Fatalf("set-nodes: %v %+v", err, res)
	}
	r := nw.committed(via, tx, 30*time.Second)
	if r == nil || r.TxResult.Code != 0 {
		nw.t.Fatalf("set-nodes not committed: %+v", r)
	}
}

// TestPeersFromLedger: blocks stay among the nodes the ledger registers.
// A stranger node, with the network's genesis and every validator as a
// persistent peer, is refused by the validators and gets no block; once
// the government registers it as a provider's sentry, it connects and
// syncs.
func TestPeersFromLedger(t *testing.T) {
	nw := newNetwork(t, testnet.Options{Validators: 2})
	nw.StartAll(t)
	gov, pay := nw.lay.Nodes[0].NodeID, nw.lay.Nodes[1].NodeID

	s := nw.AddNode(t, "stranger")
	stranger := nw.lay.Nodes[s].NodeID
	nw.Start(t, s)
	// The stranger dials both validators from the start and, refused,
	// again every ~5 s: watch a few rounds.
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		for v, other := range []string{pay, gov} {
			peers := nw.peerIDs(v)
			if slices.Contains(peers, stranger) {
				t.Fatalf("validator %d has the unregistered node %s as a peer", v, stranger)
			}
			if !slices.Contains(peers, other) {
				t.Fatalf("validator %d lost its registered peer %s: %v", v, other, peers)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if h := nw.Height(s); h != 0 {
		t.Fatalf("the unregistered node has block %d", h)
	}
	log, _ := os.ReadFile(nw.LogPath(0))
	if !strings.Contains(string(log), "node "+stranger+" is not registered") {
		t.Errorf("validator 0's log does not say why the stranger is refused")
	}

	// Registered as paypay's sentry (paypay's list is replaced whole, so
	// it names paypay's validator node too), the stranger connects.
	nw.setNodes(0, "paypay", pay, stranger)
	testnet.WaitFor(t, 60*time.Second, "the registered node to sync", func() bool {
		return nw.Height(s) >= nw.Height(0)-1 && nw.Height(s) > 2
	})
	testnet.WaitFor(t, 30*time.Second, "a validator to list the registered node as a peer", func() bool {
		return slices.Contains(nw.peerIDs(0), stranger) || slices.Contains(nw.peerIDs(1), stranger)
	})
}
