package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

// TestStateSyncJoin: a fresh full node configured with `mykeyd statesync`
// restores the app from the validators' snapshots instead of replaying
// the chain, reaches the same app hash, and serves records whose proofs
// verify against its own headers.
func TestStateSyncJoin(t *testing.T) {
	// A snapshot must outlive the joiner's discovery (5 s) and download:
	// CometBFT v1.0.1 asks again forever for a chunk the peer has pruned.
	// With blocks every ~0.5 s, 20 snapshots 5 blocks apart last ~50 s.
	const interval = 5
	nw := newNetwork(t, testnet.Options{Validators: 4, SnapshotInterval: interval, SnapshotKeep: 20})
	nw.StartAll(t)
	validators := []int{0, 1, 2, 3}

	var keys []string
	_, mykeys := nw.linkCards(3, []string{"paypay"}, []int{1}, 0)
	for _, m := range mykeys {
		keys = append(keys, string(types.KeyLink(node.DefaultProgram, m)))
	}
	keys = append(keys, string(types.KeyProgramTotals(node.DefaultProgram)))
	// Two snapshot intervals past the links, so a snapshot holds them.
	linkedAt := nw.MaxHeight(validators...)
	for _, i := range validators {
		nw.WaitHeight(t, i, linkedAt+2*interval+1, 60*time.Second)
	}

	j := nw.AddNode(t, "joiner")
	// Validators admit only registered nodes as peers.
	nw.setNodes(0, "government", nw.lay.Nodes[0].NodeID, nw.lay.Nodes[j].NodeID)
	// The joiner trusts headers from the validators' public endpoints:
	// they serve what state sync's light client needs, and no block.
	out, err := exec.Command(testnet.Mykeyd(t), "statesync", "--home", nw.lay.Nodes[j].Home,
		"--rpc-servers", nw.lay.Nodes[0].Public+","+nw.lay.Nodes[1].Public, "--trust-back", fmt.Sprint(interval)).CombinedOutput()
	if err != nil {
		t.Fatalf("mykeyd statesync: %v\n%s", err, out)
	}
	c, err := node.LoadConfig(nw.lay.Nodes[j].Home)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Comet.StateSync.Enable || c.Comet.StateSync.TrustHeight < 1 || len(c.Comet.StateSync.RPCServers) != 2 {
		t.Fatalf("statesync config not written: %+v", c.Comet.StateSync)
	}
	c.Comet.StateSync.DiscoveryTime = 5 * time.Second // the minimum; the default is 15 s
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	t.Logf("joiner trusts height %d", c.Comet.StateSync.TrustHeight)

	nw.Start(t, j)
	testnet.WaitFor(t, 120*time.Second, "the joiner to state sync and catch up", func() bool {
		ctx, cancel := ctxT(3 * time.Second)
		defer cancel()
		st, err := nw.RPC[j].Status(ctx)
		return err == nil && !st.SyncInfo.CatchingUp && st.SyncInfo.LatestBlockHeight >= nw.Height(0)
	})
	ctx, cancel := ctxT(5 * time.Second)
	st, err := nw.RPC[j].Status(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	earliest := st.SyncInfo.EarliestBlockHeight
	if earliest <= 1 {
		t.Fatalf("the joiner's earliest block is %d: it replayed the chain instead of state syncing", earliest)
	}
	t.Logf("joiner restored a snapshot and has blocks from height %d", earliest)

	top := nw.MaxHeight(0, j) + 1
	nw.WaitHeight(t, 0, top, 30*time.Second)
	nw.WaitHeight(t, j, top, 30*time.Second)
	// The joiner executed every block after the snapshot itself.
	nw.sameAppHashes([]int{0, j}, earliest+1, top)

	// Records from before the snapshot, proved against the joiner's own
	// headers, equal the validators'.
	vals, _ := nw.queryManySameHeight([]int{0, j}, keys)
	for k, key := range keys {
		if vals[k][1] == nil || !bytes.Equal(vals[k][0], vals[k][1]) {
			t.Fatalf("%s: the joiner's record differs from node 0's", key)
		}
	}
}
