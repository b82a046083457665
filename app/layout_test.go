package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
)

// recordCount is the number of records the committed state holds, read
// from the app hash's count trailer.
func recordCount(t *testing.T, n *testNet) uint64 {
	t.Helper()
	c, err := proof.RootCount(n.appHash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A new person's link adds four records and no more: the certificate
// record (with the request judged), the MyKey record, the linkage (with
// its history) and the account index. Each is a trie leaf in its own
// bucket, which is what a link costs at scale.
func TestLinkAddsFourRecords(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	n.block(n.linkTx(n.card(), "mynapoint", "paypay", "warm")) // the shared counters and totals
	grow := func(people int) uint64 {
		var txs [][]byte
		for i := range people {
			txs = append(txs, n.linkTx(n.card(), "mynapoint", "paypay", fmt.Sprintf("acct-%d-%d", n.height, i)))
		}
		before := recordCount(t, n)
		for _, r := range n.block(txs...) {
			wantCode(t, r, nil)
		}
		return recordCount(t, n) - before
	}
	one, four := grow(1), grow(4)
	if per := (four - one) / 3; per != 4 || (four-one)%3 != 0 {
		t.Fatalf("a block of 1 link added %d records, of 4 links %d: %d records per link, want 4", one, four, per)
	}
}

// A link request is recorded as judged in its certificate's record; the
// record holds at most MaxJudgedRequests unexpired ones and forgets the
// expired ones, so it cannot grow without bound.
func TestJudgedRequestsBounded(t *testing.T) {
	n := newTestNet(t, netOptions{})
	n.block()
	card := n.card()
	var txs [][]byte
	for i := range types.MaxJudgedRequests {
		txs = append(txs, n.linkTx(card, "mynapoint", "paypay", fmt.Sprintf("acct-%d", i)))
	}
	res := n.block(txs...)
	wantCode(t, res[0], nil)
	for _, r := range res[1:] {
		wantCode(t, r, types.ErrAlreadyLinked)
	}
	judged := func() int {
		var cr types.CertRecord
		if !n.query(types.KeyCert(n.certIndex(card)), &cr) {
			t.Fatal("no certificate record")
		}
		return len(cr.Judged)
	}
	if got := judged(); got != types.MaxJudgedRequests {
		t.Fatalf("%d requests judged, want %d", got, types.MaxJudgedRequests)
	}
	over := n.linkTx(card, "mynapoint", "paypay", "one-more")
	wantCode(t, n.block(over)[0], types.ErrTooManyRequests)
	// A refused request was not judged: it is not a replay later.
	if got := judged(); got != types.MaxJudgedRequests {
		t.Fatalf("%d requests judged after a refusal, want %d", got, types.MaxJudgedRequests)
	}
	// Every request above expires an hour after it was signed.
	n.now = n.now.Add(2 * time.Hour)
	wantCode(t, n.block(n.linkTx(card, "mynapoint", "paypay", "later"))[0], types.ErrAlreadyLinked)
	if got := judged(); got != 1 {
		t.Fatalf("%d requests judged after the others expired, want 1", got)
	}
	// A replay of a judged request is still refused as one.
	replay := n.linkTx(card, "mynapoint", "linepay", "replayed")
	wantCode(t, n.block(replay)[0], types.ErrAlreadyLinked)
	wantCode(t, n.block(replay)[0], types.ErrReplayed)
}

// A merge moves the merged-away ID's linkage to the surviving ID with its
// whole history; no record is left under the old ID.
func TestMergeMovesLinkageHistory(t *testing.T) {
	n := newTestNet(t, netOptions{programs: []types.GenesisProgram{
		genesis.NewProgramPercent("mynapoint", 2500, 5000, 1_000_000_000, t0, windowEnd),
		fixedProgram("flat", 7500, 1_000_000)}})
	n.block()
	old, renewed := n.card(), n.card()
	wantCode(t, n.block(n.linkTx(old, "flat", "paypay", "a"))[0], nil) // the older ID, not linked in mynapoint
	wantCode(t, n.block(n.linkTx(renewed, "mynapoint", "linepay", "b"))[0], nil)
	idOld, idNew := n.mykeyOf(old), n.mykeyOf(renewed)
	wantCode(t, n.block(n.govTx(1, succession(old.Cert, renewed.Cert)))[0], nil)
	var gone types.Linkage
	if n.query(types.KeyLink("mynapoint", idNew), &gone) {
		t.Fatalf("a linkage record is left under the merged-away ID: %+v", gone)
	}
	var l types.Linkage
	if !n.query(types.KeyLink("mynapoint", idOld), &l) {
		t.Fatal("no linkage under the surviving ID")
	}
	var got []string
	for i, e := range l.History {
		got = append(got, e.Kind+":"+e.MykeyId)
		if i > 0 && e.Seq <= l.History[i-1].Seq {
			t.Fatalf("history out of order: %v", l.History)
		}
	}
	want := fmt.Sprint([]string{"linked:" + idNew, "merged_away:" + idNew, "merged_in:" + idOld})
	if fmt.Sprint(got) != want {
		t.Fatalf("history %v, want %v", got, want)
	}
	if l.ProviderId != "linepay" || l.Status != types.LinkStatus_LINK_STATUS_ACTIVE {
		t.Fatalf("moved linkage %+v", l)
	}
}
