package app

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/testca"
)

func TestLinkRules(t *testing.T) {
	other := testca.MustCA(t)
	// signedAfter is a new card's link whose request edit changes before
	// the card signs it.
	signedAfter := func(n *testNet, edit func(r *types.LinkRequest)) []byte {
		c := n.card()
		sl := n.linkReq(c, "mynapoint", "paypay", "acct-1")
		edit(sl.Request)
		sl.Signature = c.MustSign(t, sl.Request.SignBytes())
		return n.encode(types.WrapLink(sl))
	}
	tests := []struct {
		name  string
		setup func(n *testNet)
		tx    func(n *testNet) []byte
		want  *types.Error
	}{
		{name: "valid link", want: nil,
			tx: func(n *testNet) []byte { return n.linkTx(n.card(), "mynapoint", "paypay", "acct-1") }},
		{name: "wrong chain", want: types.ErrWrongChain,
			tx: func(n *testNet) []byte {
				return signedAfter(n, func(r *types.LinkRequest) { r.ChainId = "other-chain" })
			}},
		{name: "expired request", want: types.ErrExpired,
			tx: func(n *testNet) []byte {
				return signedAfter(n, func(r *types.LinkRequest) { r.ExpiresAt = n.now.Add(-time.Second).Unix() })
			}},
		{name: "expiry too far ahead", want: types.ErrMalformed,
			tx: func(n *testNet) []byte {
				return signedAfter(n, func(r *types.LinkRequest) { r.ExpiresAt = n.now.Add(30 * 24 * time.Hour).Unix() })
			}},
		{name: "signature by another card", want: types.ErrBadSignature,
			tx: func(n *testNet) []byte {
				card := n.card()
				sl := n.linkReq(card, "mynapoint", "paypay", "acct-1")
				// Test cards cycle through a pool of keys: take one that
				// is not this card's.
				other := testca.Key(5)
				if other.Equal(card.Key) {
					other = testca.Key(6)
				}
				sl.Signature = n.ca.MustIssue(t, testca.CardOptions{Key: other}).MustSign(t, sl.Request.SignBytes())
				if other.Equal(card.Key) {
					t.Fatal("test cards share a key")
				}
				return n.encode(types.WrapLink(sl))
			}},
		{name: "field altered after signing", want: types.ErrBadSignature,
			tx: func(n *testNet) []byte {
				sl := n.linkReq(n.card(), "mynapoint", "paypay", "acct-1")
				sl.Request.ProviderId = "linepay"
				return n.encode(types.WrapLink(sl))
			}},
		{name: "certificate from an untrusted CA", want: types.ErrUntrustedCert,
			tx: func(n *testNet) []byte {
				return n.linkTx(other.MustIssue(t, testca.CardOptions{}), "mynapoint", "paypay", "acct-1")
			}},
		{name: "certificate expired at block time", want: types.ErrCertExpired,
			tx: func(n *testNet) []byte {
				c := n.ca.MustIssue(t, testca.CardOptions{NotBefore: t0.AddDate(-5, 0, 0), NotAfter: t0.Add(-time.Hour)})
				return n.linkTx(c, "mynapoint", "paypay", "acct-1")
			}},
		{name: "certificate not yet valid", want: types.ErrCertExpired,
			tx: func(n *testNet) []byte {
				c := n.ca.MustIssue(t, testca.CardOptions{NotBefore: t0.AddDate(0, 1, 0), NotAfter: t0.AddDate(5, 0, 0)})
				return n.linkTx(c, "mynapoint", "paypay", "acct-1")
			}},
		{name: "certificate without digitalSignature", want: types.ErrCertKeyUsage,
			tx: func(n *testNet) []byte {
				c := n.ca.MustIssue(t, testca.CardOptions{KeyUsage: 1 << 2})
				return n.linkTx(c, "mynapoint", "paypay", "acct-1")
			}},
		{name: "revoked certificate", want: types.ErrCertRevoked,
			tx: func(n *testNet) []byte {
				c := n.card()
				n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
					Certificates: []*types.CertRef{certRef(c)}, Reason: "card reported lost"}}}))
				return n.linkTx(c, "mynapoint", "paypay", "acct-1")
			}},
		{name: "unknown program", want: types.ErrUnknownProgram,
			tx: func(n *testNet) []byte { return n.linkTx(n.card(), "nosuch", "paypay", "acct-1") }},
		{name: "unknown provider", want: types.ErrUnknownProvider,
			tx: func(n *testNet) []byte { return n.linkTx(n.card(), "mynapoint", "nosuch", "acct-1") }},
		{name: "suspended provider", want: types.ErrProviderSuspended,
			tx: func(n *testNet) []byte {
				n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
					ProviderId: "paypay", Status: types.ProviderStatus_PROVIDER_STATUS_SUSPENDED}}}))
				return n.linkTx(n.card(), "mynapoint", "paypay", "acct-1")
			}},
		{name: "link window closed", want: types.ErrWindowClosed,
			tx: func(n *testNet) []byte { return n.linkTx(n.card(), "later", "paypay", "acct-1") }},
		{name: "already linked", want: types.ErrAlreadyLinked,
			tx: func(n *testNet) []byte {
				c := n.card()
				wantCode(t, n.block(n.linkTx(c, "mynapoint", "paypay", "acct-1"))[0], nil)
				return n.linkTx(c, "mynapoint", "linepay", "acct-2")
			}},
		{name: "account already linked", want: types.ErrAccountLinked,
			tx: func(n *testNet) []byte {
				wantCode(t, n.block(n.linkTx(n.card(), "mynapoint", "paypay", "acct-1"))[0], nil)
				return n.linkTx(n.card(), "mynapoint", "paypay", "acct-1")
			}},
		{name: "garbage bytes", want: types.ErrMalformed,
			tx: func(n *testNet) []byte { return []byte{0xff, 0x01, 0x02} }},
		{name: "non-canonical encoding", want: types.ErrMalformed,
			tx: func(n *testNet) []byte {
				return append(n.linkTx(n.card(), "mynapoint", "paypay", "acct-1"), 0x78, 0x01) // unknown field 15
			}},
		{name: "short account commitment", want: types.ErrMalformed,
			tx: func(n *testNet) []byte {
				c := n.card()
				sl := n.linkReq(c, "mynapoint", "paypay", "acct-1")
				sl.Request.AccountCommitment = []byte("acct-1")
				sl.Signature = c.MustSign(t, sl.Request.SignBytes())
				return n.encode(types.WrapLink(sl))
			}},
	}
	later := genesis.NewProgramPercent("later", 2500, 5000, 1_000_000, t0.AddDate(0, 6, 0), windowEnd)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t, netOptions{programs: append(defaultPrograms(), later)})
			r := n.block(tc.tx(n))[0]
			wantCode(t, r, tc.want)
			if tc.want == nil {
				if id := attr(r, 0, "mykey_id"); !types.ValidMyKeyID(id) {
					t.Fatalf("accepted link has MyKey ID %q", id)
				}
				if attr(r, 0, "outcome") != "accepted" || attr(r, 0, "program") != "mynapoint" || attr(r, 0, "provider") != "paypay" {
					t.Fatalf("events %v", r.Events)
				}
			} else if r.Codespace != types.Codespace || r.Log == "" {
				t.Fatalf("rejection without codespace or log: %+v", r)
			}
		})
	}
}

// linked returns a net with one card linked to paypay and its MyKey ID.
func linked(t *testing.T, o netOptions) (*testNet, *testca.Card, string) {
	n := newTestNet(t, o)
	c := n.card()
	wantCode(t, n.block(n.linkTx(c, "mynapoint", "paypay", "acct-1"))[0], nil)
	return n, c, n.mykeyOf(c)
}

func TestGrantRules(t *testing.T) {
	tests := []struct {
		name    string
		tx      func(n *testNet, id string) []byte
		want    *types.Error
		granted string
	}{
		{name: "25 percent of a charge", granted: "2500",
			tx: func(n *testNet, id string) []byte { return n.grantTx("paypay", charge("mynapoint", id, "c1", 10000)) }},
		{name: "floor of a fraction", granted: "2",
			tx: func(n *testNet, id string) []byte { return n.grantTx("paypay", charge("mynapoint", id, "c1", 11)) }},
		{name: "charge earning zero", want: types.ErrZeroGrant,
			tx: func(n *testNet, id string) []byte { return n.grantTx("paypay", charge("mynapoint", id, "c1", 3)) }},
		{name: "not linked to this provider", want: types.ErrNotLinked,
			tx: func(n *testNet, id string) []byte { return n.grantTx("linepay", charge("mynapoint", id, "c1", 1000)) }},
		{name: "unknown MyKey ID", want: types.ErrUnknownMyKey,
			tx: func(n *testNet, id string) []byte {
				return n.grantTx("paypay", charge("mynapoint", "00000000", "c1", 1000))
			}},
		{name: "malformed MyKey ID", want: types.ErrMalformed,
			tx: func(n *testNet, id string) []byte {
				return n.grantTx("paypay", charge("mynapoint", "ILOU0000", "c1", 1000))
			}},
		{name: "unknown program", want: types.ErrUnknownProgram,
			tx: func(n *testNet, id string) []byte { return n.grantTx("paypay", charge("nosuch", id, "c1", 1000)) }},
		{name: "charge before the grant window", want: types.ErrWindowClosed,
			tx: func(n *testNet, id string) []byte {
				ch := charge("mynapoint", id, "c1", 1000)
				ch.ChargedAt = t0.Add(-time.Hour).Unix()
				return n.grantTx("paypay", ch)
			}},
		{name: "charge in the future", want: types.ErrMalformed,
			tx: func(n *testNet, id string) []byte {
				ch := charge("mynapoint", id, "c1", 1000)
				ch.ChargedAt = n.now.Add(time.Hour).Unix()
				return n.grantTx("paypay", ch)
			}},
		{name: "signed by another provider's key", want: types.ErrBadSignature,
			tx: func(n *testNet, id string) []byte {
				g := &types.Grant{ChainId: testChain, ProviderId: "paypay", Charges: []*types.Charge{charge("mynapoint", id, "c1", 1000)}}
				return n.encode(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: ed25519.Sign(n.provs["linepay"], g.SignBytes())}))
			}},
		{name: "unknown provider", want: types.ErrUnknownProvider,
			tx: func(n *testNet, id string) []byte {
				g := &types.Grant{ChainId: testChain, ProviderId: "nosuch", Charges: []*types.Charge{charge("mynapoint", id, "c1", 1000)}}
				return n.encode(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: ed25519.Sign(n.provs["paypay"], g.SignBytes())}))
			}},
		{name: "wrong chain", want: types.ErrWrongChain,
			tx: func(n *testNet, id string) []byte {
				g := &types.Grant{ChainId: "elsewhere", ProviderId: "paypay", Charges: []*types.Charge{charge("mynapoint", id, "c1", 1000)}}
				return n.encode(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: ed25519.Sign(n.provs["paypay"], g.SignBytes())}))
			}},
		{name: "suspended provider", want: types.ErrProviderSuspended,
			tx: func(n *testNet, id string) []byte {
				n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_UpdateProvider{UpdateProvider: &types.UpdateProvider{
					ProviderId: "paypay", Status: types.ProviderStatus_PROVIDER_STATUS_SUSPENDED}}}))
				return n.grantTx("paypay", charge("mynapoint", id, "c1", 1000))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, _, id := linked(t, netOptions{})
			r := n.block(tc.tx(n, id))[0]
			wantCode(t, r, tc.want)
			if tc.want == nil && attr(r, 0, "granted_yen") != tc.granted {
				t.Fatalf("granted %q, want %q", attr(r, 0, "granted_yen"), tc.granted)
			}
		})
	}
}

func TestCap(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	rs := n.block(n.grantTx("paypay", charge("mynapoint", id, "big", 20000)))
	if attr(rs[0], 0, "granted_yen") != "5000" {
		t.Fatalf("¥20,000 granted %s, want 5000", attr(rs[0], 0, "granted_yen"))
	}
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "one", 1)))[0], types.ErrCapReached)
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "more", 10000)))[0], types.ErrCapReached)

	m, _, id2 := linked(t, netOptions{})
	rs = m.block(m.grantTx("paypay", charge("mynapoint", id2, "huge", 30000)))
	if attr(rs[0], 0, "granted_yen") != "5000" {
		t.Fatalf("¥30,000 granted %s, want 5000", attr(rs[0], 0, "granted_yen"))
	}
	var p types.PersonTotals
	m.query(types.KeyPerson("mynapoint", id2), &p)
	if p.GrantedYen != 5000 {
		t.Fatalf("person total %d", p.GrantedYen)
	}
}

func TestBudgetExhaustedMidBlock(t *testing.T) {
	prog := genesis.NewProgramPercent("mynapoint", 2500, 5000, 6000, t0, windowEnd)
	n := newTestNet(t, netOptions{programs: []types.GenesisProgram{prog}})
	var ids []string
	for i := 0; i < 3; i++ {
		c := n.card()
		wantCode(t, n.block(n.linkTx(c, "mynapoint", "paypay", "acct-"+string(rune('a'+i))))[0], nil)
		ids = append(ids, n.mykeyOf(c))
	}
	rs := n.block(
		n.grantTx("paypay", charge("mynapoint", ids[0], "a", 20000)), // 5000
		n.grantTx("paypay", charge("mynapoint", ids[1], "b", 20000)), // 1000: budget left
		n.grantTx("paypay", charge("mynapoint", ids[2], "c", 20000)), // budget exhausted
	)
	if attr(rs[0], 0, "granted_yen") != "5000" || attr(rs[1], 0, "granted_yen") != "1000" {
		t.Fatalf("granted %s and %s, want 5000 and 1000", attr(rs[0], 0, "granted_yen"), attr(rs[1], 0, "granted_yen"))
	}
	wantCode(t, rs[2], types.ErrBudgetExhausted)
	pt := n.programTotals("mynapoint")
	if pt.GrantedYen != 6000 || pt.Grants != 2 {
		t.Fatalf("program totals %+v", pt)
	}
}

func TestDuplicateCharge(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	wantCode(t, n.block(n.grantTx("paypay", charge("mynapoint", id, "ref-1", 4000)))[0], nil)
	r := n.block(n.grantTx("paypay", charge("mynapoint", id, "ref-1", 4000)))[0]
	wantCode(t, r, types.ErrDuplicateCharge)
	// Within one transaction too.
	r = n.block(n.grantTx("paypay", charge("mynapoint", id, "ref-2", 4000), charge("mynapoint", id, "ref-2", 4000)))[0]
	if r.Code != 0 || attr(r, 0, "outcome") != "accepted" || attr(r, 1, "reason") != "duplicate_charge" {
		t.Fatalf("same reference twice in one grant: %+v", r)
	}
	var p types.PersonTotals
	n.query(types.KeyPerson("mynapoint", id), &p)
	if p.GrantedYen != 2000 {
		t.Fatalf("granted %d yen, want 2000 (1000 per distinct reference)", p.GrantedYen)
	}
}

func TestMultiChargeGrant(t *testing.T) {
	n, _, id := linked(t, netOptions{})
	r := n.block(n.grantTx("paypay",
		charge("mynapoint", id, "m1", 8000), // 2000
		charge("mynapoint", id, "m2", 3),    // zero
		charge("mynapoint", "00000000", "m3", 8000),
		charge("mynapoint", id, "m4", 20000), // 3000 (cap)
	))[0]
	wantCode(t, r, nil)
	want := []string{"accepted", "rejected", "rejected", "accepted"}
	for i, w := range want {
		if attr(r, i, "outcome") != w {
			t.Fatalf("charge %d outcome %q, want %q", i, attr(r, i, "outcome"), w)
		}
	}
	if attr(r, 3, "granted_yen") != "3000" {
		t.Fatalf("last charge granted %s, want 3000", attr(r, 3, "granted_yen"))
	}
}

func TestFixedProgram(t *testing.T) {
	fixed := genesis.NewProgramFixed("flat7500", 7500, 1_000_000, t0, windowEnd)
	n := newTestNet(t, netOptions{programs: append(defaultPrograms(), fixed)})
	c := n.card()
	wantCode(t, n.block(n.linkTx(c, "flat7500", "linepay", "acct-9"))[0], nil)
	id := n.mykeyOf(c)
	wantCode(t, n.block(n.grantTx("linepay", charge("flat7500", id, "f1", 0)))[0], types.ErrNotEligible)
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_AttestEligibility{AttestEligibility: &types.AttestEligibility{
		ProgramId: "flat7500", MykeyIds: []string{id}}}}))[0], nil)
	r := n.block(n.grantTx("linepay", charge("flat7500", id, "f2", 0)))[0]
	if r.Code != 0 || attr(r, 0, "granted_yen") != "7500" {
		t.Fatalf("fixed grant: code %d granted %s", r.Code, attr(r, 0, "granted_yen"))
	}
	wantCode(t, n.block(n.grantTx("linepay", charge("flat7500", id, "f3", 0)))[0], types.ErrCapReached)
	// Attesting a percent program is refused.
	wantCode(t, n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_AttestEligibility{AttestEligibility: &types.AttestEligibility{
		ProgramId: "mynapoint", MykeyIds: []string{id}}}}))[0], types.ErrInvalidAction)
}

func TestLinkBatch(t *testing.T) {
	n := newTestNet(t, netOptions{})
	c1, c2, c3 := n.card(), n.card(), n.card()
	r := n.block(n.batchTx("paypay",
		n.linkReq(c1, "mynapoint", "paypay", "b1"),
		n.linkReq(c2, "mynapoint", "linepay", "b2"), // signed for another provider
		n.linkReq(c3, "mynapoint", "paypay", "b1"),  // account taken by c1
	))[0]
	wantCode(t, r, nil)
	for i, want := range []string{"accepted", "wrong_provider", "account_already_linked"} {
		got := attr(r, i, "reason")
		if i == 0 {
			got = attr(r, i, "outcome")
		}
		if got != want {
			t.Fatalf("link %d: %q, want %q", i, got, want)
		}
	}
	if n.mykeyOf(c1) == "" || n.mykeyOf(c3) != "" {
		t.Fatal("only the accepted link issues a MyKey ID")
	}
	// A batch signed with the wrong key is refused as a whole.
	b := &types.LinkBatch{ChainId: testChain, ProviderId: "paypay", Links: []*types.SignedLink{n.linkReq(c2, "mynapoint", "paypay", "b9")}}
	bad := n.encode(types.WrapLinkBatch(&types.SignedLinkBatch{Batch: b, Signature: ed25519.Sign(n.provs["linepay"], b.SignBytes())}))
	wantCode(t, n.block(bad)[0], types.ErrBadSignature)
}
