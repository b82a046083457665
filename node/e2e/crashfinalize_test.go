package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

// TestCrashBetweenFinalizeAndCommit makes a validator exit for real
// between FinalizeBlock and Commit of a block holding transactions (the
// test-only crash hook, node.CrashAfterFinalizeEnv), and checks that
// nothing of that block reached its app state, that after a restart
// without the hook it executes the block again and catches up, and that
// its app hashes and records then equal the other nodes'.
func TestCrashBetweenFinalizeAndCommit(t *testing.T) {
	nw := newNetwork(t, testnet.Options{Validators: 4})
	all := []int{0, 1, 2, 3}
	const victim = 3
	// Late enough that the links below stream in before it, early
	// enough to keep the test short.
	const crashAt = 12

	// The load: a link by a new card every 100 ms, round-robin over the
	// nodes other than the victim, from the moment they start until the
	// victim is back and caught up; so every block from the first few on
	// holds links.
	providers := []string{"paypay", "linepay", "rakutenpay"}
	var txs [][]byte
	for k, c := range nw.cards(600) {
		txs = append(txs, nw.linkTx(c, providers[k%3], fmt.Sprintf("acct-%d", k)))
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	sent := make(chan int, 1) // how many txs CheckTx accepted, when the sender stops
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		n, next := 0, 0
		for try := 0; next < len(txs); try++ {
			select {
			case <-stop:
				sent <- n
				return
			case <-tick.C:
			}
			res, err := nw.broadcast(try%3, txs[next])
			if err != nil {
				continue // not up yet: try again on the next node
			}
			next++
			if res.Code == 0 {
				n++
			}
		}
		sent <- n
	}()
	defer func() {
		select {
		case <-stopped:
		default:
			close(stop)
			<-stopped
		}
	}()

	for _, i := range all[:3] {
		nw.Start(t, i)
	}
	nw.Start(t, victim, fmt.Sprintf("%s=%d", node.CrashAfterFinalizeEnv, crashAt))

	// The victim goes down by itself at crashAt.
	if code := nw.WaitExit(t, victim, 120*time.Second); code != node.CrashExitCode {
		t.Fatalf("node %d exited with status %d, want %d", victim, code, node.CrashExitCode)
	}
	bz, err := os.ReadFile(nw.LogPath(victim))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("crash hook: exiting after FinalizeBlock of height %d", crashAt); !strings.Contains(string(bz), want) {
		t.Fatalf("node %d's log lacks %q", victim, want)
	}
	nw.WaitHeight(t, 0, crashAt+1, 60*time.Second)
	ctx, cancel := ctxT(5 * time.Second)
	h := int64(crashAt)
	blk, err := nw.RPC[0].Block(ctx, &h)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if len(blk.Block.Txs) == 0 {
		t.Fatalf("block %d holds no transactions: the crash did not interrupt one with work", crashAt)
	}

	// Nothing of block crashAt reached the victim's app state: it is the
	// state after crashAt-1, as the other nodes computed it.
	height, hash := appInfo(t, nw.lay.Nodes[victim].Home)
	if height != crashAt-1 {
		t.Fatalf("node %d's app state is at height %d after the crash, want %d", victim, height, crashAt-1)
	}
	if want := nw.appHashAt(0, crashAt-1); !bytes.Equal(hash, want) {
		t.Fatalf("node %d's app state holds app hash %X at height %d, node 0 computed %X", victim, hash, height, want)
	}
	t.Logf("node %d crashed after FinalizeBlock of height %d (%d txs); its app state stayed at %d", victim, crashAt, len(blk.Block.Txs), height)

	// Restarted without the hook, it replays the block and catches up.
	nw.Start(t, victim)
	top := nw.MaxHeight(0, 1, 2) + 2
	nw.WaitHeight(t, victim, top, 90*time.Second)
	close(stop)
	<-stopped
	t.Logf("node %d caught up to height %d; %d links accepted by CheckTx", victim, top, <-sent)

	end := nw.MaxHeight(all...) + 1
	for _, i := range all {
		nw.WaitHeight(t, i, end, 60*time.Second)
	}
	// The same app hash from crashAt-1 on, as computed in FinalizeBlock
	// (block results) and as committed to in the next headers.
	nw.sameAppHashes(all, crashAt-1, end)
	for _, h := range []int64{crashAt + 1, end} {
		var want []byte
		for _, i := range all {
			ctx, cancel := ctxT(5 * time.Second)
			b, err := nw.RPC[i].Block(ctx, &h)
			cancel()
			if err != nil {
				t.Fatalf("node %d: block %d: %v", i, h, err)
			}
			if i == 0 {
				want = b.Block.AppHash
			} else if !bytes.Equal(b.Block.AppHash, want) {
				t.Fatalf("block %d: node %d's header carries app hash %X, node 0's %X", h, i, b.Block.AppHash, want)
			}
		}
	}

	// The records of the links of block crashAt, and the program totals,
	// are the same on every node.
	ctx, cancel = ctxT(5 * time.Second)
	res, err := nw.RPC[0].BlockResults(ctx, &h)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range res.TxResults {
		if r.Code == 0 {
			if id := attr(*r, "link", "mykey_id"); id != "" {
				keys = append(keys, string(types.KeyLink(node.DefaultProgram, id)))
			}
		}
	}
	if len(keys) == 0 {
		t.Fatalf("no link accepted in block %d", crashAt)
	}
	keys = append(keys, string(types.KeyProgramTotals(node.DefaultProgram)))
	vals, heights := nw.queryManySameHeight(all, keys)
	for k, key := range keys {
		for i := range all {
			if vals[k][i] == nil || !bytes.Equal(vals[k][i], vals[k][0]) {
				t.Fatalf("node %d: %s at height %d is %X, node 0 has %X", i, key, heights[k], vals[k][i], vals[k][0])
			}
		}
	}
	t.Logf("same app hashes at heights %d..%d; %d records of block %d the same on every node", crashAt-1, end, len(keys), crashAt)
}
