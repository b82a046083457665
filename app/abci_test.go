package app

import (
	"bytes"
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
)

func TestCrashBetweenFinalizeAndCommit(t *testing.T) {
	dir := t.TempDir()
	n := newTestNet(t, netOptions{dir: dir})
	c := n.card()
	n.block(n.linkTx(c, "mynapoint", "paypay", "a"))
	id := n.mykeyOf(c)
	committedHash, committedHeight := n.appHash(), n.height

	block := [][]byte{n.grantTx("paypay", charge("mynapoint", id, "g1", 10000)), n.linkTx(n.card(), "mynapoint", "linepay", "b")}
	res := n.finalize(block...)
	// The node dies here: FinalizeBlock ran, Commit did not.
	n.app.Close()
	n.open()
	info, err := n.app.Info(context.Background(), &abci.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != committedHeight || !bytes.Equal(info.LastBlockAppHash, committedHash) {
		t.Fatalf("after crash Info says height %d hash %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, committedHeight, committedHash)
	}
	var p types.PersonTotals
	if n.query(types.KeyPerson("mynapoint", id), &p) {
		t.Fatal("an uncommitted grant is in the state")
	}
	// CometBFT replays the block: same time, same transactions.
	n.height--
	n.now = n.now.Add(-5 * time.Second)
	again := n.finalize(block...)
	if !bytes.Equal(again.AppHash, res.AppHash) {
		t.Fatalf("re-executed block gives app hash %X, first run %X", again.AppHash, res.AppHash)
	}
	if _, err := n.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		t.Fatal(err)
	}
	n.app.Close()
	n.open()
	if !bytes.Equal(n.appHash(), res.AppHash) {
		t.Fatal("committed app hash not recovered after reopen")
	}
	if !n.query(types.KeyPerson("mynapoint", id), &p) || p.GrantedYen != 2500 {
		t.Fatalf("grant after replay: %+v", p)
	}
}

func TestCrashBeforeFirstCommit(t *testing.T) {
	dir := t.TempDir()
	n := newTestNet(t, netOptions{dir: dir})
	n.app.Close()
	n.open()
	info, _ := n.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != 0 {
		t.Fatalf("height %d before any commit", info.LastBlockHeight)
	}
	if _, err := n.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, Time: t0, AppStateBytes: n.genesis, InitialHeight: 1}); err != nil {
		t.Fatalf("InitChain again after crash: %v", err)
	}
	wantCode(t, n.block(n.linkTx(n.card(), "mynapoint", "paypay", "a"))[0], nil)
}

// scriptedBlocks makes a history exercising every kind of transaction.
func scriptedBlocks(n *testNet) [][][]byte {
	c1, c2, c3, c4 := n.card(), n.card(), n.card(), n.card()
	var blocks [][][]byte
	blocks = append(blocks, [][]byte{
		n.linkTx(c1, "mynapoint", "paypay", "p1"), n.linkTx(c1, "mynapoint", "linepay", "l1"),
		n.linkTx(c2, "mynapoint", "linepay", "l2"), n.linkTx(c3, "mynapoint", "paypay", "p1"),
	})
	id1 := candidateID(&n.pk, c1.Cert.RawIssuer, c1.Cert.SerialNumber.Bytes(), 0)
	id2 := candidateID(&n.pk, c2.Cert.RawIssuer, c2.Cert.SerialNumber.Bytes(), 0)
	blocks = append(blocks, [][]byte{
		n.grantTx("paypay", charge("mynapoint", id1, "a", 12000), charge("mynapoint", id1, "b", 12000)),
		n.grantTx("linepay", charge("mynapoint", id2, "a", 4000)),
		n.linkTx(c4, "mynapoint", "rakuten", "r4"),
	})
	blocks = append(blocks, [][]byte{
		n.govTx(1, succession(c2.Cert, c4.Cert)),
		n.grantTx("paypay", charge("mynapoint", id1, "a", 12000)),
		n.govTx(1, &types.GovAction{Action: &types.GovAction_Settle{Settle: &types.Settle{ProgramId: "mynapoint", ProviderId: "paypay", AmountYen: 1000, Reference: "S1"}}}),
	})
	blocks = append(blocks, [][]byte{{0x01}, n.linkTx(c3, "mynapoint", "rakuten", "r3")})
	return blocks
}

func TestDeterminism(t *testing.T) {
	a := newTestNet(t, netOptions{})
	b := newTestNet(t, netOptions{dir: t.TempDir()})
	blocks := scriptedBlocks(a)
	for h, txs := range blocks {
		// b's mempool saw the transactions in another order first.
		for i := len(txs) - 1; i >= 0; i-- {
			if _, err := b.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: txs[i], Type: abci.CHECK_TX_TYPE_CHECK}); err != nil {
				t.Fatal(err)
			}
		}
		ra := a.block(txs...)
		rb := b.block(txs...)
		if !bytes.Equal(a.appHash(), b.appHash()) {
			t.Fatalf("height %d: app hashes differ", h+1)
		}
		for i := range ra {
			if ra[i].Code != rb[i].Code || ra[i].Log != rb[i].Log || len(ra[i].Events) != len(rb[i].Events) {
				t.Fatalf("height %d tx %d: results differ: %+v vs %+v", h+1, i, ra[i], rb[i])
			}
		}
	}
	// The history did something: accepted and rejected results both.
	codes := map[uint32]bool{}
	for _, rs := range a.results {
		for _, r := range rs {
			codes[r.Code] = true
		}
	}
	if !codes[0] || !codes[types.ErrAlreadyLinked.Code] || !codes[types.ErrMalformed.Code] {
		t.Fatalf("scripted history covered codes %v", codes)
	}
}

func TestCheckTx(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block() // a committed block gives CheckTx its time
	c := n.card()
	check := func(tx []byte) *abci.CheckTxResponse {
		r, err := n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Two conflicting claims both pass against committed state.
	if r := check(n.linkTx(c, "mynapoint", "paypay", "x")); r.Code != 0 {
		t.Fatalf("first claim: %d %s", r.Code, r.Log)
	}
	if r := check(n.linkTx(c, "mynapoint", "linepay", "y")); r.Code != 0 {
		t.Fatalf("second claim: %d %s", r.Code, r.Log)
	}
	n.block(n.linkTx(c, "mynapoint", "paypay", "x"))
	if r := check(n.linkTx(c, "mynapoint", "linepay", "y")); r.Code != types.ErrAlreadyLinked.Code {
		t.Fatalf("after commit: %d %s", r.Code, r.Log)
	}
	if r := check([]byte("junk")); r.Code != types.ErrMalformed.Code || r.Codespace != types.Codespace {
		t.Fatalf("junk: %+v", r)
	}
	// CheckTx changes nothing.
	h := n.appHash()
	check(n.linkTx(n.card(), "mynapoint", "rakuten", "z"))
	n.app.Commit(context.Background(), &abci.CommitRequest{}) // no stage: must fail, not write
	if !bytes.Equal(h, n.appHash()) {
		t.Fatal("CheckTx changed committed state")
	}
}

func TestPrepareAndProcessProposal(t *testing.T) {
	n := newTestNet(t, netOptions{})
	c := n.card()
	good1 := n.linkTx(c, "mynapoint", "paypay", "a")
	good2 := n.linkTx(c, "mynapoint", "linepay", "b") // conflicts with good1: kept
	card := n.card()
	sl := n.linkReq(card, "mynapoint", "paypay", "c")
	sl.Request.ExpiresAt = n.now.Add(time.Minute).Unix()
	sl.Signature = card.MustSign(t, sl.Request.SignBytes())
	expiring := n.encode(types.WrapLink(sl)) // valid now, expired at proposal time below
	tampered := n.linkReq(n.card(), "mynapoint", "paypay", "d")
	tampered.Request.AccountCommitment = commitment("other")
	bad := n.encode(types.WrapLink(tampered))
	junk := []byte{0x0a, 0x03, 1, 2}
	txs := [][]byte{good1, junk, good2, bad, expiring}
	when := n.now.Add(10 * time.Minute)
	max := cmttypes.ComputeProtoSizeForTxs([]cmttypes.Tx{good1, good2})
	res, err := n.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: txs, MaxTxBytes: max, Time: when, Height: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Txs) != 2 || !bytes.Equal(res.Txs[0], good1) || !bytes.Equal(res.Txs[1], good2) {
		t.Fatalf("prepared %d txs, want both conflicting claims and nothing else", len(res.Txs))
	}
	res, _ = n.app.PrepareProposal(context.Background(), &abci.PrepareProposalRequest{Txs: txs, MaxTxBytes: max - 1, Time: when, Height: 1})
	if len(res.Txs) != 1 {
		t.Fatalf("MaxTxBytes one short: %d txs, want 1", len(res.Txs))
	}
	proc := func(txs ...[]byte) abci.ProcessProposalStatus {
		r, err := n.app.ProcessProposal(context.Background(), &abci.ProcessProposalRequest{Txs: txs, Time: when, Height: 1})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	if proc(good1, good2) != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
		t.Fatal("a block of conflicting but well-formed claims was refused")
	}
	for name, tx := range map[string][]byte{"junk": junk, "bad signature": bad, "expired": expiring} {
		if proc(good1, tx) != abci.PROCESS_PROPOSAL_STATUS_REJECT {
			t.Fatalf("a block holding a %s transaction was accepted", name)
		}
	}
}

func TestProofs(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	n.block(n.grantTx("paypay", charge("mynapoint", id, "g1", 10000)))
	oldHash := n.appHash()
	n.block(n.grantTx("paypay", charge("mynapoint", id, "g2", 4000)))
	hash := n.appHash()

	prove := func(key []byte) *abci.QueryResponse {
		r, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: "/" + string(key), Prove: true})
		if err != nil || r.Code != 0 {
			t.Fatalf("query %s: %v %+v", key, err, r)
		}
		if r.Height != n.height {
			t.Fatalf("proof at height %d, want %d", r.Height, n.height)
		}
		return r
	}
	for _, key := range [][]byte{types.KeyLink("mynapoint", id), types.KeyCharge("mynapoint", "paypay", "g1"), types.KeyProviderTotals("mynapoint", "paypay")} {
		r := prove(key)
		if r.Value == nil || r.ProofOps == nil {
			t.Fatalf("%s: no value or proof", key)
		}
		if err := proof.VerifyValue(hash, key, r.Value, r.ProofOps); err != nil {
			t.Fatalf("%s: proof does not verify: %v", key, err)
		}
		tampered := append([]byte(nil), r.Value...)
		tampered[len(tampered)-1] ^= 1
		if proof.VerifyValue(hash, key, tampered, r.ProofOps) == nil {
			t.Fatalf("%s: tampered value verified", key)
		}
		if proof.VerifyValue(hash, []byte(string(key)+"x"), r.Value, r.ProofOps) == nil {
			t.Fatalf("%s: wrong key verified", key)
		}
		if proof.VerifyValue(oldHash, key, r.Value, r.ProofOps) == nil {
			t.Fatalf("%s: verified against another height's app hash", key)
		}
	}
	// Absence is proved too.
	r := prove(types.KeyCharge("mynapoint", "paypay", "never"))
	if r.Value != nil {
		t.Fatal("value for a missing charge")
	}
	if err := proof.VerifyAbsence(hash, types.KeyCharge("mynapoint", "paypay", "never"), r.ProofOps); err != nil {
		t.Fatalf("absence proof: %v", err)
	}
	// The app hash commits to the total yen granted: 2500 + 1000.
	pt := n.programTotals("mynapoint")
	if got := rootSum(t, hash); got != uint64(pt.GrantedYen) || got != 3500 {
		t.Fatalf("root sum %d, program granted %d, want 3500", got, pt.GrantedYen)
	}
}

func rootSum(t *testing.T, root []byte) uint64 {
	if len(root) != 48 {
		t.Fatalf("app hash of %d bytes, want digest+sum+count (48)", len(root))
	}
	var s uint64
	for _, b := range root[32:40] {
		s = s<<8 | uint64(b)
	}
	return s
}

func TestRecheckKeepsConflictingClaims(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	c := n.card()
	loser := n.linkTx(c, "mynapoint", "linepay", "l")
	n.block(n.linkTx(c, "mynapoint", "paypay", "p"))
	r, err := n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: loser, Type: abci.CHECK_TX_TYPE_RECHECK})
	if err != nil || r.Code != 0 {
		t.Fatalf("recheck dropped a conflicting claim: %v %+v", err, r)
	}
	r, _ = n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: loser, Type: abci.CHECK_TX_TYPE_CHECK})
	if r.Code != types.ErrAlreadyLinked.Code {
		t.Fatalf("a new check of the claim: %d, want already linked", r.Code)
	}
	r, _ = n.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: []byte("junk"), Type: abci.CHECK_TX_TYPE_RECHECK})
	if r.Code != types.ErrMalformed.Code {
		t.Fatalf("recheck kept junk: %d", r.Code)
	}
	wantCode(t, n.block(loser)[0], types.ErrAlreadyLinked)
}
