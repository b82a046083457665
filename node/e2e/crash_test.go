package e2e

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

// TestKillUnderLoad kills a validator with SIGKILL while grants stream in
// (some of them sent to it), restarts it, and checks that it catches up
// to the same app hash at every height, and that every committed grant is
// in its state exactly once while none that was not committed is.
func TestKillUnderLoad(t *testing.T) {
	nw := newNetwork(t, testnet.Options{Validators: 4})
	nw.StartAll(t)
	all := []int{0, 1, 2, 3}
	const victim = 3

	// People linked to paypay, to grant to.
	const people = 8
	_, mykeys := nw.linkCards(people, []string{"paypay"}, []int{1}, 1)

	// The load: one-charge grants of ¥100 (¥25 granted each; 200 fit in a
	// person's cap), round-robin over the nodes that are up, every 15 ms.
	type sent struct {
		ref string
		tx  []byte
	}
	var (
		mu      sync.Mutex
		grants  []sent
		down    atomic.Bool
		stop    = make(chan struct{})
		stopped = make(chan struct{})
		sendErr atomic.Int64
	)
	go func() {
		defer close(stopped)
		tick := time.NewTicker(15 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ref := fmt.Sprintf("charge-%05d", n)
			tx := nw.grantTx("paypay", mykeys[n%people], 100, ref)
			target := n % 4
			if target == victim && down.Load() {
				target = n % 3
			}
			res, err := nw.broadcast(target, tx)
			if err != nil || res.Code != 0 {
				// The victim died under us, or its mempool is gone:
				// such a grant may or may not be committed.
				sendErr.Add(1)
			}
			mu.Lock()
			grants = append(grants, sent{ref, tx})
			mu.Unlock()
		}
	}()

	time.Sleep(3 * time.Second)
	down.Store(true)
	killedAt := nw.Height(victim)
	nw.Kill(t, victim)
	t.Logf("killed node %d at height %d", victim, killedAt)
	time.Sleep(3 * time.Second)
	nw.Start(t, victim)
	time.Sleep(1 * time.Second)
	down.Store(false)
	time.Sleep(3 * time.Second)
	close(stop)
	<-stopped

	t0 := time.Now()
	// Let the mempools drain, then let the victim catch up.
	testnet.WaitFor(t, 60*time.Second, "mempools to drain", func() bool {
		for _, i := range all {
			ctx, cancel := ctxT(3 * time.Second)
			r, err := nw.RPC[i].NumUnconfirmedTxs(ctx)
			cancel()
			if err != nil || r.Total > 0 {
				return false
			}
		}
		return true
	})
	top := nw.MaxHeight(all...) + 1
	for _, i := range all {
		nw.WaitHeight(t, i, top, 60*time.Second)
	}
	if restartedAt := nw.Height(victim); restartedAt <= killedAt {
		t.Fatalf("node %d did not move past height %d", victim, killedAt)
	}
	nw.sameAppHashes(all, 1, top)

	t.Logf("caught up and same app hashes at heights 1..%d (%s)", top, time.Since(t0))

	// Which grants were committed, and with what result, as node 0 saw.
	accepted := map[string]bool{}
	var committed, notCommitted int
	for _, g := range grants {
		r := nw.committed(0, g.tx, 0)
		if r == nil {
			notCommitted++
			continue
		}
		committed++
		switch r.TxResult.Code {
		case 0:
			accepted[g.ref] = true
		default:
			t.Fatalf("grant %s committed with code %d: %s", g.ref, r.TxResult.Code, r.TxResult.Log)
		}
	}
	t.Logf("sent %d grants (%d refused or lost at submission), %d committed, %d never committed", len(grants), sendErr.Load(), committed, notCommitted)
	if committed < len(grants)/2 {
		t.Fatalf("only %d of %d grants committed: the load did not get through", committed, len(grants))
	}

	t.Logf("looked up %d grants (%s)", len(grants), time.Since(t0))

	// On the restarted node: every committed grant once, nothing else.
	keys := make([]string, len(grants))
	for k, g := range grants {
		keys[k] = string(types.KeyCharge(node.DefaultProgram, "paypay", g.ref))
	}
	vals, _ := nw.queryManySameHeight([]int{victim}, keys)
	for k, g := range grants {
		switch v := vals[k][0]; {
		case accepted[g.ref] && v == nil:
			t.Fatalf("node %d lost committed grant %s", victim, g.ref)
		case !accepted[g.ref] && v != nil:
			t.Fatalf("node %d holds grant %s that was never committed", victim, g.ref)
		}
	}
	t.Logf("queried %d charges on node %d (%s)", len(grants), victim, time.Since(t0))
	totals, h := nw.queryAllSameHeight(all, string(types.KeyProgramTotals(node.DefaultProgram)))
	for i, v := range totals {
		if !bytes.Equal(v, totals[0]) {
			t.Fatalf("node %d: program totals differ at height %d", all[i], h)
		}
	}
	pt := decode[types.ProgramTotals](t, totals[0])
	if pt.Grants != int64(len(accepted)) || pt.GrantedYen != 25*int64(len(accepted)) {
		t.Fatalf("program totals: %d grants, ¥%d; want %d grants, ¥%d", pt.Grants, pt.GrantedYen, len(accepted), 25*len(accepted))
	}

	// A committed charge sent again, to the restarted node, is a duplicate.
	for ref := range accepted {
		tx := nw.grantTx("paypay", mykeys[0], 200, ref) // new bytes, same reference
		res, err := nw.broadcast(victim, tx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != 14 {
			t.Fatalf("resubmitted charge %s: code %d (%s), want 14 duplicate_charge", ref, res.Code, res.Log)
		}
		break
	}
}
