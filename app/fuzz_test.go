package app

import (
	"bytes"
	"context"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

var (
	fuzzOnce sync.Once
	fuzzNet  *testNet
	fuzzSeed [][]byte
)

// fuzzSetup builds one committed network and seed transactions of every kind.
func fuzzSetup(f testing.TB) {
	fuzzOnce.Do(func() {
		n := newTestNet(f, netOptions{keepOpen: true})
		c := n.card()
		n.block(n.linkTx(c, "mynapoint", "paypay", "a"))
		id := n.mykeyOf(c)
		fuzzSeed = [][]byte{
			n.linkTx(n.card(), "mynapoint", "linepay", "b"),
			n.batchTx("paypay", n.linkReq(n.card(), "mynapoint", "paypay", "c")),
			n.grantTx("paypay", charge("mynapoint", id, "g", 1000), charge("mynapoint", id, "h", 7)),
			n.govTx(1, succession(c.Cert, n.card().Cert)),
			{}, {0x0a, 0x00}, {0xff, 0xff, 0xff},
		}
		fuzzNet = n
	})
}

// FuzzCheckTx feeds arbitrary bytes to the decoder and CheckTx: neither may
// panic or return a Go error (that would halt the node), every rejection
// carries a registered code, and anything that decodes re-encodes to the
// same bytes.
func FuzzCheckTx(f *testing.F) {
	fuzzSetup(f)
	for _, s := range fuzzSeed {
		f.Add(s)
	}
	hash := fuzzNet.appHash()
	f.Fuzz(func(t *testing.T, bz []byte) {
		if tx, err := types.DecodeTx(bz); err == nil {
			again, _ := types.EncodeTx(tx)
			if !bytes.Equal(again, bz) {
				t.Fatal("decoded transaction re-encodes differently")
			}
		}
		res, err := fuzzNet.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: bz, Type: abci.CHECK_TX_TYPE_CHECK})
		if err != nil {
			t.Fatalf("CheckTx returned an error: %v", err)
		}
		if res.Code != 0 && types.CodeName(res.Code) == "" {
			t.Fatalf("unregistered code %d", res.Code)
		}
		if res.Code == types.ErrInternal.Code {
			t.Fatalf("internal error for input: %s", res.Log)
		}
		if !bytes.Equal(fuzzNet.appHash(), hash) {
			t.Fatal("CheckTx changed state")
		}
	})
}

// TestFuzzSeedsJudged makes sure the seeds reach the rules, not just the
// decoder: the valid ones pass CheckTx.
func TestFuzzSeedsJudged(t *testing.T) {
	fuzzSetup(t)
	for i, s := range fuzzSeed[:4] {
		r, err := fuzzNet.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: s})
		if err != nil || r.Code != 0 {
			t.Fatalf("seed %d: %v %d %s", i, err, r.Code, r.Log)
		}
	}
}
