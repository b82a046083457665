package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet"
	"github.com/mykeyledger/mykey/node"
)

// TestDoubleLink sends the same card's link for provider A to A's node and
// for provider B to B's node at the same moment: exactly one is accepted,
// and all four validators hold the same linkage and the same app hash at
// every height. Then 50 cards at once.
func TestDoubleLink(t *testing.T) {
	nw := newNetwork(t, testnet.Options{Validators: 4})
	nw.StartAll(t)
	all := []int{0, 1, 2, 3}
	linked := 0
	for _, n := range []int{1, 50} {
		cards := nw.cards(n)
		nw.claimTwice(all, cards, fmt.Sprintf("round%d", n))
		linked += n
	}
	// The program's totals agree: every card linked exactly once.
	vals, h := nw.queryAllSameHeight(all, string(types.KeyProgramTotals(node.DefaultProgram)))
	for i, v := range vals {
		if !bytes.Equal(v, vals[0]) {
			t.Fatalf("node %d: program totals differ at height %d", i, h)
		}
	}
	if pt := decode[types.ProgramTotals](t, vals[0]); pt.Linked != int64(linked) {
		t.Fatalf("program totals: %d linked, want %d", pt.Linked, linked)
	}
	// The metrics endpoint counted the same linkages, and /ready is 200.
	for _, i := range all {
		got := scrapeSum(t, nw.lay.Nodes[i].Metrics, "cometbft_mykey_links_total")
		if got != float64(linked) {
			t.Errorf("node %d: cometbft_mykey_links_total = %g, want %d", i, got, linked)
		}
		resp, err := http.Get(nw.lay.Nodes[i].Ready)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("node %d: /ready = %d, want 200", i, resp.StatusCode)
		}
	}
}

// claimTwice links every card twice at the same moment: for paypay
// through node 1 and for linepay through node 2.
func (nw *network) claimTwice(all []int, cards []*testca.Card, round string) {
	t := nw.t
	t.Helper()
	type claim struct {
		provider string
		node     int
		tx       []byte
		check    uint32 // CheckTx code
		checkLog string
	}
	claims := make([][2]*claim, len(cards))
	for k, c := range cards {
		claims[k] = [2]*claim{
			{provider: "paypay", node: 1, tx: nw.linkTx(c, "paypay", fmt.Sprintf("%s-paypay-%d", round, k))},
			{provider: "linepay", node: 2, tx: nw.linkTx(c, "linepay", fmt.Sprintf("%s-linepay-%d", round, k))},
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(cards))
	for _, pair := range claims {
		for _, cl := range pair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := nw.broadcast(cl.node, cl.tx)
				if err != nil {
					errs <- err
					return
				}
				cl.check, cl.checkLog = res.Code, res.Log
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("broadcast: %v", err)
	}

	// Each claim CheckTx accepted either reaches a block (the winner with
	// code 0, or the loser with code 11 already_linked), or is dropped from
	// the mempools by the recheck after the winner's block, as invalid.
	bothInBlocks, evicted := 0, 0
	winners := make([]*claim, len(cards))
	keys := make([]string, len(cards))
	for k, pair := range claims {
		var mykey string
		inBlocks := 0
		for _, cl := range pair {
			if cl.check != 0 {
				if cl.check != 11 {
					t.Fatalf("card %d, %s: CheckTx code %d (%s), want 0 or 11", k, cl.provider, cl.check, cl.checkLog)
				}
				continue
			}
			r := nw.fate(cl.tx, all, 30*time.Second)
			if r == nil {
				evicted++
				continue
			}
			inBlocks++
			switch r.TxResult.Code {
			case 0:
				if winners[k] != nil {
					t.Fatalf("card %d: linked to both %s and %s", k, winners[k].provider, cl.provider)
				}
				winners[k], mykey = cl, attr(r.TxResult, types.EventLink, types.AttrMyKeyID)
			case 11: // already_linked: the loser, recorded with its code
			default:
				t.Fatalf("card %d, %s: committed with code %d (%s), want 0 or 11", k, cl.provider, r.TxResult.Code, r.TxResult.Log)
			}
		}
		if winners[k] == nil {
			t.Fatalf("card %d: neither link was accepted", k)
		}
		if mykey == "" {
			t.Fatalf("card %d: the accepted link's event has no mykey_id", k)
		}
		if inBlocks == 2 {
			bothInBlocks++
		}
		keys[k] = string(types.KeyLink(node.DefaultProgram, mykey))
	}
	// Every validator holds each winner's linkage, proved, at one height.
	vals, hs := nw.queryManySameHeight(all, keys)
	for k := range cards {
		for i, v := range vals[k] {
			if v == nil || !bytes.Equal(v, vals[k][0]) {
				t.Fatalf("card %d: node %d's linkage at height %d differs from node %d's", k, all[i], hs[k], all[0])
			}
		}
		if l := decode[types.Linkage](t, vals[k][0]); l.ProviderId != winners[k].provider {
			t.Fatalf("card %d: linkage names %q, the accepted link was for %q", k, l.ProviderId, winners[k].provider)
		}
	}
	t.Logf("%s: %d cards, each linked exactly once; for %d both claims reached a block and the later one was rejected there, %d later claims were dropped from the mempools by recheck",
		round, len(cards), bothInBlocks, evicted)

	top := nw.MaxHeight(all...)
	for _, i := range all {
		nw.WaitHeight(nw.t, i, top, 20*time.Second)
	}
	nw.sameAppHashes(all, 1, top)
}

var sampleRE = regexp.MustCompile(`(?m)^([a-z_]+)\{[^}]*\} ([0-9.e+]+)$`)

// scrapeSum sums every sample of a metric on a Prometheus endpoint.
func scrapeSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	bz, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, m := range sampleRE.FindAllSubmatch(bz, -1) {
		if string(m[1]) == name {
			v, err := strconv.ParseFloat(string(m[2]), 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += v
		}
	}
	return sum
}
