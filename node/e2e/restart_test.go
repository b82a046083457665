package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app"
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

// TestRestartNetwork stops every node, reads what each one's app state
// holds, starts them all again from their data directories, and checks
// that the network continues from that state: the same height and app
// hash, the records written before, and new blocks on top.
func TestRestartNetwork(t *testing.T) {
	nw := newNetwork(t, testnet.Options{Validators: 4})
	nw.StartAll(t)
	all := []int{0, 1, 2, 3}

	// Some state: linkages through each provider, and a grant.
	txs, mykeys := nw.linkCards(3, []string{"paypay", "linepay", "rakutenpay"}, []int{1, 2, 3}, 0)
	var keys []string
	for _, m := range mykeys {
		keys = append(keys, string(types.KeyLink(node.DefaultProgram, m)))
	}
	mykey := mykeys[0]
	// The grant goes to node 1, whose CheckTx reads its own committed
	// state: wait until that node has the linkage too.
	if r := nw.committed(1, txs[0], 30*time.Second); r == nil || r.TxResult.Code != 0 {
		t.Fatalf("link 0 not committed on node 1: %+v", r)
	}
	grant := nw.grantTx("paypay", mykey, 4000, "before-restart")
	if res, err := nw.broadcast(1, grant); err != nil || res.Code != 0 {
		t.Fatalf("grant: %v %+v", err, res)
	}
	if r := nw.committed(0, grant, 30*time.Second); r == nil || r.TxResult.Code != 0 {
		t.Fatalf("grant not committed: %+v", r)
	}
	keys = append(keys, string(types.KeyCharge(node.DefaultProgram, "paypay", "before-restart")), string(types.KeyProgramTotals(node.DefaultProgram)))
	before, _ := nw.queryManySameHeight(all, keys)

	// Stop everything at once.
	nw.StopAll(t, all...)

	// What each node's app state holds now.
	heights := make([]int64, len(all))
	hashes := make([][]byte, len(all))
	for _, i := range all {
		heights[i], hashes[i] = appInfo(t, nw.lay.Nodes[i].Home)
	}
	var top int64
	var topHash []byte
	for i, h := range heights {
		if h > top {
			top, topHash = h, hashes[i]
		}
	}
	for i, h := range heights {
		// A node may have stopped before committing the last block.
		if h < top-1 {
			t.Fatalf("node %d's app state is at height %d, the others at %d", i, h, top)
		}
		if h == top && !bytes.Equal(hashes[i], topHash) {
			t.Fatalf("node %d: app hash %X at height %d, another node has %X", i, hashes[i], top, topHash)
		}
	}
	t.Logf("stopped: app states at heights %v, app hash at %d %X", heights, top, topHash)

	// Start again from the data directories.
	for _, i := range all {
		nw.Start(t, i)
	}
	for _, i := range all {
		nw.WaitHeight(t, i, top+3, 60*time.Second)
	}
	for _, i := range all {
		h := top + 1
		ctx, cancel := ctxT(5 * time.Second)
		blk, err := nw.RPC[i].Block(ctx, &h)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blk.Block.AppHash, topHash) {
			t.Fatalf("node %d: block %d carries app hash %X, but the state saved at %d was %X", i, h, blk.Block.AppHash, top, topHash)
		}
	}
	nw.sameAppHashes(all, 1, top+3)
	after, _ := nw.queryManySameHeight(all, keys)
	for k, key := range keys {
		for i := range all {
			if after[k][i] == nil || !bytes.Equal(after[k][i], before[k][i]) {
				t.Fatalf("node %d: %s changed across the restart", i, key)
			}
		}
	}
	t.Logf("restarted: continued from height %d to %d with the same records", top, nw.MaxHeight(all...))
}

// appInfo opens the app state of the stopped node at home and returns its
// last committed height and app hash.
func appInfo(t *testing.T, home string) (int64, []byte) {
	t.Helper()
	dir := filepath.Join(home, node.AppStateDir)
	pk, err := pseudonym.LoadFile(filepath.Join(home, node.DefaultPseudonymKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{Dir: dir, PseudonymKey: &pk})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer a.Close()
	info, err := a.Info(context.Background(), &abci.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return info.LastBlockHeight, info.LastBlockAppHash
}
