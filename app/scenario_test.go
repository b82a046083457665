package app

import (
	"bytes"
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/types"
)

func TestDoubleClaimSameBlock(t *testing.T) {
	n := newTestNet(t, netOptions{})
	c := n.card()
	rs := n.block(n.linkTx(c, "mynapoint", "paypay", "pp-1"), n.linkTx(c, "mynapoint", "linepay", "lp-1"))
	wantCode(t, rs[0], nil)
	wantCode(t, rs[1], types.ErrAlreadyLinked)
	if attr(rs[1], 0, "mykey_id") != attr(rs[0], 0, "mykey_id") {
		t.Fatal("the rejected claim does not name the same MyKey ID")
	}
	var l types.Linkage
	if !n.query(types.KeyLink("mynapoint", n.mykeyOf(c)), &l) || l.ProviderId != "paypay" {
		t.Fatalf("linkage %+v, want paypay", l)
	}
}

func TestDoubleClaimConsecutiveBlocks(t *testing.T) {
	n := newTestNet(t, netOptions{})
	c := n.card()
	wantCode(t, n.block(n.linkTx(c, "mynapoint", "linepay", "lp-1"))[0], nil)
	wantCode(t, n.block(n.linkTx(c, "mynapoint", "paypay", "pp-1"))[0], types.ErrAlreadyLinked)
	pt := n.programTotals("mynapoint")
	if pt.Linked != 1 {
		t.Fatalf("program counts %d linkages, want 1", pt.Linked)
	}
}

func TestTwoCardsOneAccount(t *testing.T) {
	n := newTestNet(t, netOptions{})
	a, b := n.card(), n.card()
	rs := n.block(n.linkTx(a, "mynapoint", "paypay", "shared-kiosk"), n.linkTx(b, "mynapoint", "paypay", "shared-kiosk"))
	wantCode(t, rs[0], nil)
	wantCode(t, rs[1], types.ErrAccountLinked)
	wantCode(t, n.block(n.linkTx(b, "mynapoint", "paypay", "shared-kiosk"))[0], types.ErrAccountLinked)
	// The same account string at another provider is another account.
	wantCode(t, n.block(n.linkTx(b, "mynapoint", "linepay", "shared-kiosk"))[0], nil)
}

func TestMyKeyIDIssuance(t *testing.T) {
	n := newTestNet(t, netOptions{})
	c := n.card()
	if n.mykeyOf(c) != "" {
		t.Fatal("ID issued before use")
	}
	n.block(n.linkTx(c, "mynapoint", "paypay", "a"))
	id := n.mykeyOf(c)
	ref := certRef(c)
	if id != candidateID(&n.pk, ref.Issuer, ref.Serial, 0) {
		t.Fatalf("ID %s is not the first candidate", id)
	}
	// A collision takes the next candidate deterministically.
	x := &exec{c: newCache(n.app.store)}
	other := &types.CertRef{Issuer: []byte("issuer"), Serial: []byte{1}}
	x.c.Set(types.KeyMyKey(candidateID(&n.pk, other.Issuer, other.Serial, 0)), []byte{}, 0)
	rec, err := issueMyKey(x.c, &n.pk, other, n.pk.CertIndex(other.Issuer, other.Serial), 9)
	if err != nil || rec.Id != candidateID(&n.pk, other.Issuer, other.Serial, 1) {
		t.Fatalf("collision gave %v %v", rec, err)
	}
	for _, s := range []string{id, rec.Id} {
		if !types.ValidMyKeyID(s) {
			t.Fatalf("%q is not 8 Crockford base32 characters", s)
		}
	}
}

func TestRenewalSuccessionBeforeUse(t *testing.T) {
	n, oldCard, id := linked(t, netOptions{})
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "g1", 16000)))[0], nil) // 4000
	newCard := n.card()
	wantCode(t, n.block(n.govTx(1, succession(oldCard.Cert, newCard.Cert)))[0], nil)
	if n.mykeyOf(newCard) != id {
		t.Fatalf("renewed card has MyKey ID %q, want %q", n.mykeyOf(newCard), id)
	}
	wantCode(t, n.block(n.linkTx(newCard, "mynapoint", "linepay", "lp"))[0], types.ErrAlreadyLinked)
	r := n.block(n.grantTx("paypay", charge("mynapoint", id, "g2", 20000)))[0]
	if attr(r, 0, "granted_yen") != "1000" {
		t.Fatalf("granted %s after renewal, want the 1000 left under the cap", attr(r, 0, "granted_yen"))
	}
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "g3", 20000)))[0], types.ErrCapReached)
}

func TestRenewalSuccessionAfterUse(t *testing.T) {
	n, oldCard, oldID := linked(t, netOptions{})
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", oldID, "g1", 16000)))[0], nil) // 4000
	newCard := n.card()
	wantCode(t, n.block(n.linkTx(newCard, "mynapoint", "linepay", "lp"))[0], nil)
	newID := n.mykeyOf(newCard)
	if newID == oldID {
		t.Fatal("an unlinked renewed certificate got the old ID")
	}
	wantCode(t, n.block(n.grantTx("linepay", charge("mynapoint", newID, "h1", 12000)))[0], nil) // 3000: paid twice
	wantCode(t, n.block(n.govTx(1, succession(oldCard.Cert, newCard.Cert)))[0], nil)

	if n.mykeyOf(newCard) != oldID || n.mykeyOf(oldCard) != oldID {
		t.Fatalf("after merge the cards map to %s and %s, want %s", n.mykeyOf(oldCard), n.mykeyOf(newCard), oldID)
	}
	var l types.Linkage
	if !n.query(types.KeyLink("mynapoint", oldID), &l) || l.ProviderId != "paypay" || l.Status != types.LinkStatus_LINK_STATUS_ACTIVE {
		t.Fatalf("surviving linkage %+v, want the older one to paypay", l)
	}
	var voided types.Linkage
	if !n.query(types.KeyLink("mynapoint", newID), &voided) || voided.Status != types.LinkStatus_LINK_STATUS_VOIDED {
		t.Fatalf("later linkage %+v, want voided and still visible", voided)
	}
	var p types.PersonTotals
	n.query(types.KeyPerson("mynapoint", oldID), &p)
	if p.GrantedYen != 7000 || p.RecoveredYen != 2000 || p.GrantedYen-p.RecoveredYen > 5000 {
		t.Fatalf("person totals %+v, want 7000 granted with 2000 over-grant", p)
	}
	var vt types.ProviderTotals
	n.query(types.KeyProviderTotals("mynapoint", "linepay"), &vt)
	if vt.RecoveredYen != 2000 {
		t.Fatalf("linepay recovered %d, want the 2000 over-grant", vt.RecoveredYen)
	}
	if !findOverGrant(t, n, "linepay") {
		t.Fatal("no over-grant record against linepay")
	}
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", oldID, "g2", 4000)))[0], types.ErrCapReached)
	wantCode(t, n.block(n.grantTx("linepay", charge("mynapoint", newID, "h2", 4000)))[0], types.ErrNotLinked)
	wantCode(t, n.block(n.govTx(1, succession(oldCard.Cert, newCard.Cert)))[0], types.ErrInvalidAction)
}

func findOverGrant(t *testing.T, n *testNet, provider string) bool {
	found := false
	err := n.app.store.Iterate([]byte(types.PrefixOverGrant+"mynapoint/"+provider+"/"), func(k, v []byte) bool {
		var og types.OverGrant
		if og.Unmarshal(v) == nil && og.AmountYen == 2000 {
			found = true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestCorrections(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "mynapoint", MykeyId: id, Kind: types.CorrectionKind_CORRECTION_KIND_MOVE,
		ToProviderId: "linepay", ToAccountCommitment: commitment("lp-right"), IncidentRef: "INC-1"}}}))[0], nil)
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "p1", 1000)))[0], types.ErrNotLinked)
	wantCode(t, n.block(n.grantTx("linepay", charge("mynapoint", id, "l1", 1000)))[0], nil)
	// The old account is free again.
	wantCode(t, n.block(n.linkTx(n.card(), "mynapoint", "paypay", "acct-1"))[0], nil)

	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "mynapoint", MykeyId: id, Kind: types.CorrectionKind_CORRECTION_KIND_VOID, IncidentRef: "INC-2"}}}))[0], nil)
	wantCode(t, n.block(n.grantTx("linepay", charge("mynapoint", id, "l2", 1000)))[0], types.ErrNotLinked)
	var kinds []string
	var rec types.Linkage
	if bz, err := n.app.store.Get(types.KeyLink("mynapoint", id)); err != nil || bz == nil {
		t.Fatalf("linkage record: %v %v", bz, err)
	} else if err := rec.Unmarshal(bz); err != nil {
		t.Fatal(err)
	}
	for _, ev := range rec.History {
		kinds = append(kinds, ev.Kind+":"+ev.Reference)
	}
	want := []string{"linked:", "moved_from:INC-1", "moved_to:INC-1", "voided:INC-2"}
	if len(kinds) != len(want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("history %v, want %v", kinds, want)
		}
	}
	// Without an incident reference a correction is refused.
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_CorrectLinkage{CorrectLinkage: &types.CorrectLinkage{
		ProgramId: "mynapoint", MykeyId: id, Kind: types.CorrectionKind_CORRECTION_KIND_VOID}}}))[0], types.ErrMalformed)
}

func TestGovernance(t *testing.T) {
	n := newTestNet(t, netOptions{govKeys: 3, threshold: 2})
	suspend := func() *types.GovAction {
		return &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
			ProviderId: "rakuten", Status: types.ProviderStatus_PROVIDER_STATUS_SUSPENDED}}}
	}
	wantCode(t, n.block(n.govTx(1, suspend()))[0], types.ErrUnauthorized)
	n.govSeq-- // a rejected action does not use its sequence number
	tx := n.govTx(2, suspend())
	wantCode(t, n.block(tx)[0], nil)
	wantCode(t, n.block(tx)[0], types.ErrBadSequence) // replay
	a := suspend()
	a.Sequence = 9
	wantCode(t, n.block(n.govTx(2, a))[0], types.ErrBadSequence)

	outsider := testKey("outsider")
	a = suspend()
	a.ChainId, a.Sequence = testChain, n.govSeq
	s := &types.SignedGov{Action: a}
	s.Signatures = append(s.Signatures,
		&types.GovSignature{PublicKey: pub(n.gov[0]), Signature: sign(n.gov[0], a.SignBytes())},
		&types.GovSignature{PublicKey: pub(outsider), Signature: sign(outsider, a.SignBytes())})
	wantCode(t, n.block(n.encode(types.WrapGov(s)))[0], types.ErrUnauthorized)

	// Validator power changes go out through FinalizeBlock.
	newVal := pub(testKey("val/new"))
	reg := n.govTx(2, &types.GovAction{Action: &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{Provider: &types.Provider{
		Id: "aupay", Name: "au PAY", GrantKey: pub(testKey("provider/aupay")), ValidatorKey: newVal, Power: 5}}}})
	res := n.finalize(reg)
	wantCode(t, res.TxResults[0], nil)
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 5 || !bytes.Equal(res.ValidatorUpdates[0].PubKeyBytes, newVal) {
		t.Fatalf("validator updates %+v", res.ValidatorUpdates)
	}
	n.app.Commit(context.Background(), &abci.CommitRequest{})
	res = n.finalize(n.govTx(2, &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
		ProviderId: "aupay", SetPower: true, Power: 0}}}))
	wantCode(t, res.TxResults[0], nil)
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 0 {
		t.Fatalf("validator updates %+v", res.ValidatorUpdates)
	}
	n.app.Commit(context.Background(), &abci.CommitRequest{})
	// Registering the same ID again is refused.
	wantCode(t, n.block(n.govTx(2, &types.GovAction{Action: &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{Provider: &types.Provider{
		Id: "aupay", Name: "again", GrantKey: pub(testKey("x"))}}}}))[0], types.ErrInvalidAction)
	var hist types.HistoryEntry
	if !n.query(types.KeyHistory(1), &hist) || hist.Action.GetUpdateProvider() == nil {
		t.Fatalf("history entry 1 %+v", hist)
	}
}

func TestSettlement(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "g", 10000)))[0], nil) // 2500
	settle := func(yen int64) []byte {
		return n.govTx(1, &types.GovAction{Action: &types.GovAction_Settle{Settle: &types.Settle{
			ProgramId: "mynapoint", ProviderId: "paypay", AmountYen: yen, Reference: "SETTLE-2025-04"}}})
	}
	wantCode(t, n.block(settle(3000))[0], types.ErrSettlementTooLarge) // uses up its sequence
	wantCode(t, n.block(settle(2000))[0], nil)
	wantCode(t, n.block(settle(501))[0], types.ErrSettlementTooLarge)
	var vt types.ProviderTotals
	n.query(types.KeyProviderTotals("mynapoint", "paypay"), &vt)
	if vt.GrantedYen != 2500 || vt.SettledYen != 2000 || vt.GrantedYen-vt.SettledYen-vt.RecoveredYen != 500 {
		t.Fatalf("provider totals %+v", vt)
	}
}

func TestSetProgram(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "g", 10000)))[0], nil)
	p := &types.Program{Id: "mynapoint", Name: "MyNa Point", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, RateBp: 2500, CapYen: 5000,
		LinkStart: t0.Unix(), LinkEnd: windowEnd.Unix(), GrantStart: t0.Unix(), GrantEnd: windowEnd.Unix(), BudgetYen: 100}
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: p}}}))[0], types.ErrInvalidAction)
	p.Id, p.BudgetYen = "phase2", 1000
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: p}}}))[0], nil)
	wantCode(t, n.block(n.linkTx(n.card(), "phase2", "rakuten", "r1"))[0], nil)
}
