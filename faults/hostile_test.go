package faults

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/client/rpc"
	"github.com/mykeyledger/mykey/client/txbuild"
	"github.com/mykeyledger/mykey/internal/keyfile"
	"github.com/mykeyledger/mykey/internal/testca"
	"github.com/mykeyledger/mykey/internal/testnet"
)

// hostileCase is one transaction an attacker or a broken client sends.
type hostileCase struct {
	name string
	tx   []byte
	want uint32 // the code CheckTx must answer; 0: refused before the app
	// cached: an exact replay of a committed transaction, which the
	// node's mempool cache may refuse before CheckTx sees it.
	cached bool
	// before: refused by CometBFT before the app, with an error holding
	// this text.
	before string
}

// hostile sends hostile input to the live network: each transaction must
// be refused with its code, on every node alike, the nodes must keep
// making blocks and no record may change.
func (s *suite) hostile(t *testing.T) {
	c := s.c
	now := time.Now()

	// What the attacks need: a linked person at the cap, a revoked card.
	gs := s.govState(t)
	revoked := c.issue(t)
	s.submit(t, 0, "gov", govTx(t, revokeAction(gs.NextSequence, revoked, "faults: card reported stolen"), nil, c.gov[0], c.gov[1]))
	card := c.issue(t)
	g := &claimGroup{key: "card:" + fingerprint(t, card), kind: "card", phase: "hostile-input"}
	cl := s.newClaim(g, card, "paypay")
	s.book.addGroup(g)
	linkBz := c.linkTx(t, card, "paypay", cl.token)
	ltx := s.submit(t, 1, "link", linkBz)
	ltx.claim, cl.tx = cl, ltx
	s.applyFate(ltx)
	mykey := cl.mykey
	if !cl.accepted || mykey == "" {
		t.Fatalf("faults: the setup link was not accepted: %+v", ltx.items)
	}
	full := &chargeSent{phase: "hostile-input", provider: "paypay", mykey: mykey, ref: "hostile-full", amount: bigAmount, kind: "big"}
	grantBz := c.grantTx(t, "paypay", charge(mykey, full.ref, full.amount))
	s.submit(t, 2, "grant", grantBz, full)
	if !full.accepted || full.granted != capYen {
		t.Fatalf("faults: the setup grant was not granted ¥%d: %+v", capYen, full)
	}
	c.waitBlocks(t, 2)
	before := s.dumpAll(t)

	fresh := func() *testca.Card { return c.issue(t) }
	other, err := testca.NewCA(testca.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := other.Issue(testca.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := c.ca.Issue(testca.CardOptions{NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	noSigUsage, err := c.ca.Issue(testca.CardOptions{KeyUsage: x509.KeyUsageContentCommitment})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := keyfile.Generate(keyfile.RoleGovernment, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 300)
	_, _ = rand.Read(garbage)
	garbage[0] = 0xff // field 31, wire type 7: never a transaction
	manyCharges := func(n, refLen int) []*types.Charge {
		out := make([]*types.Charge, n)
		for i := range out {
			ref := fmt.Sprintf("hostile-%0*d", refLen-8, i)
			out[i] = charge(mykey, ref, 1000)
		}
		return out
	}
	nextSeq := gs.NextSequence + 1 // the revocation above used one
	link := func(cd *testca.Card, chain, provider string, expires time.Time, mutate func(*types.LinkRequest)) []byte {
		return signLink(t, cd, chain, provider, s.newToken(), expires, mutate)
	}
	hour := now.Add(time.Hour)
	paypay := c.keys["paypay"]

	cases := []hostileCase{
		{name: "malformed bytes", tx: garbage, want: types.ErrMalformed.Code},
		{name: "non-canonical encoding (unknown field)", tx: append(c.grantTx(t, "paypay", charge(mykey, "hostile-nc", 1000)), 0xa0, 0x06, 0x01), want: types.ErrMalformed.Code},
		{name: "oversized transaction (> mempool max_tx_bytes)", tx: c.grantTx(t, "paypay", manyCharges(11000, 64)...), before: "too large"},
		{name: "grant of more charges than a transaction may hold", tx: c.grantTx(t, "paypay", manyCharges(types.MaxChargesPerTx+1, 16)...), want: types.ErrMalformed.Code},
		{name: "link signed for another chain", tx: link(fresh(), "mykey-elsewhere", "paypay", hour, nil), want: types.ErrWrongChain.Code},
		{name: "grant signed for another chain", tx: signGrant(t, paypay, "mykey-elsewhere", "paypay", nil, charge(mykey, "hostile-chain", 1000)), want: types.ErrWrongChain.Code},
		{name: "government action for another chain", tx: govTx(t, &types.GovAction{ChainId: "mykey-elsewhere", Sequence: nextSeq,
			Action: revokeAction(0, fresh(), "x").Action}, nil, c.gov[0], c.gov[1]), want: types.ErrWrongChain.Code},
		{name: "expired link request", tx: link(fresh(), chainID, "paypay", now.Add(-10*time.Minute), nil), want: types.ErrExpired.Code},
		{name: "link request valid for more than 7 days", tx: link(fresh(), chainID, "paypay", now.Add(8*24*time.Hour), nil), want: types.ErrMalformed.Code},
		{name: "replayed link (the same bytes)", tx: linkBz, want: types.ErrAlreadyLinked.Code, cached: true},
		{name: "replayed link (signed again)", tx: signLink(t, card, chainID, "paypay", cl.token, now.Add(2*time.Hour), nil), want: types.ErrAlreadyLinked.Code},
		{name: "the linked card to another provider", tx: link(card, chainID, "linepay", hour, nil), want: types.ErrAlreadyLinked.Code},
		{name: "another card to the linked account", tx: c.linkTx(t, fresh(), "paypay", cl.token), want: types.ErrAccountLinked.Code},
		{name: "replayed grant (the same bytes)", tx: grantBz, want: types.ErrDuplicateCharge.Code, cached: true},
		{name: "replayed charge reference", tx: c.grantTx(t, "paypay", charge(mykey, full.ref, bigAmount+1)), want: types.ErrDuplicateCharge.Code},
		{name: "charge over the cap", tx: c.grantTx(t, "paypay", charge(mykey, "hostile-more", 8000)), want: types.ErrCapReached.Code},
		{name: "link with its account altered after signing", tx: link(fresh(), chainID, "paypay", hour, func(r *types.LinkRequest) {
			r.AccountCommitment = txbuild.Commitment(s.newToken())
		}), want: types.ErrBadSignature.Code},
		{name: "link re-addressed to another provider after signing", tx: link(fresh(), chainID, "paypay", hour, func(r *types.LinkRequest) {
			r.ProviderId = "linepay"
		}), want: types.ErrBadSignature.Code},
		{name: "grant with its amount altered after signing", tx: signGrant(t, paypay, chainID, "paypay", func(g *types.Grant) {
			g.Charges[0].AmountYen *= 10
		}, charge(mykey, "hostile-altered", 1000)), want: types.ErrBadSignature.Code},
		{name: "grant signed with another provider's key", tx: signGrant(t, c.keys["linepay"], chainID, "paypay", nil, charge(mykey, "hostile-key", 1000)), want: types.ErrBadSignature.Code},
		{name: "government action altered after signing", tx: govTx(t, revokeAction(nextSeq, fresh(), "lost"), func(a *types.GovAction) {
			a.GetRevokeCertificates().Reason = "altered"
		}, c.gov[0], c.gov[1]), want: types.ErrBadSignature.Code},
		{name: "certificate from an untrusted CA", tx: link(untrusted, chainID, "paypay", hour, nil), want: types.ErrUntrustedCert.Code},
		{name: "expired certificate", tx: link(expired, chainID, "paypay", hour, nil), want: types.ErrCertExpired.Code},
		{name: "revoked certificate", tx: link(revoked, chainID, "linepay", hour, nil), want: types.ErrCertRevoked.Code},
		{name: "certificate without digitalSignature key usage", tx: link(noSigUsage, chainID, "paypay", hour, nil), want: types.ErrCertKeyUsage.Code},
		{name: "link to an unknown provider", tx: link(fresh(), chainID, "nosuchpay", hour, nil), want: types.ErrUnknownProvider.Code},
		{name: "grant by an unknown provider", tx: signGrant(t, paypay, chainID, "nosuchpay", nil, charge(mykey, "hostile-unknown", 1000)), want: types.ErrUnknownProvider.Code},
		{name: "grant for a person linked to another provider", tx: c.grantTx(t, "linepay", charge(mykey, "hostile-other", 1000)), want: types.ErrNotLinked.Code},
		{name: "government action with 1 of the 2 signatures it needs", tx: govTx(t, revokeAction(nextSeq, fresh(), "lost"), nil, c.gov[0]), want: types.ErrUnauthorized.Code},
		{name: "government action signed by an outsider", tx: govTx(t, revokeAction(nextSeq, fresh(), "lost"), nil, c.gov[0], stranger), want: types.ErrUnauthorized.Code},
		{name: "government action with a used sequence number", tx: govTx(t, revokeAction(nextSeq-1, fresh(), "lost"), nil, c.gov[0], c.gov[2]), want: types.ErrBadSequence.Code},
	}
	rejected := 0
	for k, tc := range cases {
		if s.hostileOne(t, k%validators, tc) {
			rejected++
		}
	}
	rpcReqs := s.hostileRPC(t)

	// The nodes keep making blocks, and hold what they held.
	c.waitBlocks(t, 3)
	after := s.dumpAll(t)
	unchanged := true
	for i := range validators {
		if diff := diffDumps(before[i], after[i]); diff != "" {
			unchanged = false
			t.Errorf("node %d's records changed during the hostile input:\n%s", i, diff)
		}
	}
	s.rep.add(func(r *report) {
		r.hostileCases, r.hostileRejected, r.hostileOther, r.hostileUnchanged = len(cases), rejected, rpcReqs, unchanged
	})
}

// hostileOne sends one hostile transaction to node i and checks how it is
// refused, there and by another node's CheckTx.
func (s *suite) hostileOne(t *testing.T, i int, tc hostileCase) bool {
	t.Helper()
	c := s.c
	ctx, cancel := ctxT(30 * time.Second)
	defer cancel()
	b, err := c.nodes[i].Broadcast(ctx, tc.tx)
	var got string
	ok := false
	switch {
	case tc.before != "":
		got = fmt.Sprint(err)
		if k := strings.Index(strings.ToLower(got), tc.before); err != nil && k >= 0 {
			ok, got = true, "refused before the app: …"+got[max(0, k-4):]
		}
	case tc.cached && errors.Is(err, rpc.ErrInCache):
		ok, got = true, "refused by the mempool cache (a replay)"
	case err != nil:
		got = err.Error()
	default:
		ok = b.Code == tc.want
		got = fmt.Sprintf("code %d %s: %s", b.Code, types.CodeName(b.Code), b.Log)
	}
	if !ok {
		t.Errorf("%s (node %d): got %s; want code %d %s%s", tc.name, i, got, tc.want, types.CodeName(tc.want), tc.before)
		return false
	}
	if tc.want != 0 {
		j := (i + 1) % validators
		r, err := c.nodes[j].CheckTx(ctx, tc.tx)
		switch {
		case err != nil:
			t.Errorf("%s: node %d's check_tx: %v", tc.name, j, err)
			return false
		case r.Code != tc.want:
			t.Errorf("%s: node %d's CheckTx gives code %d (%s), node %d's %d", tc.name, j, r.Code, r.Log, i, tc.want)
			return false
		}
	}
	if len(got) > 160 {
		got = got[:160] + "…"
	}
	t.Logf("refused as expected: %-55s node %d: %s", tc.name, i, got)
	return true
}

// hostileRPC sends requests that are not transactions at all; the node
// must answer (or refuse) and keep running. It returns how many it sent.
func (s *suite) hostileRPC(t *testing.T) int {
	t.Helper()
	url := s.c.nw.Nodes[0].RPC
	hc := &http.Client{Timeout: 20 * time.Second}
	reqs := []struct {
		name, body string
	}{
		{"not JSON", "{{{ this is not JSON"},
		{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"drop_all_state","params":{}}`},
		{"transaction that is not base64", `{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_sync","params":{"tx":"!!!"}}`},
		{"body over rpc.max_body_bytes", `{"jsonrpc":"2.0","id":1,"method":"broadcast_tx_sync","params":{"tx":"` + strings.Repeat("QUFB", 2<<20) + `"}}`},
	}
	for _, r := range reqs {
		resp, err := hc.Post(url, "application/json", strings.NewReader(r.body))
		if err == nil {
			resp.Body.Close()
			t.Logf("refused as expected: %-55s HTTP %d", "RPC request: "+r.name, resp.StatusCode)
		} else {
			t.Logf("refused as expected: %-55s %v", "RPC request: "+r.name, err)
		}
		if h := s.c.height(0); h == 0 {
			t.Errorf("node 0 stopped answering after an RPC request (%s)", r.name)
		}
	}
	return len(reqs)
}

// govState is node 0's government record.
func (s *suite) govState(t *testing.T) *types.GovState {
	t.Helper()
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	r, err := s.c.nodes[0].Query(ctx, "/gov", false)
	if err != nil || r.Code != 0 {
		t.Fatalf("faults: query /gov: %v %v", err, r)
	}
	var gs types.GovState
	if err := gs.Unmarshal(r.Value); err != nil {
		t.Fatal(err)
	}
	return &gs
}

// submit sends a transaction the suite needs committed, waits for its
// block and records it in the book.
func (s *suite) submit(t *testing.T, i int, kind string, bz []byte, charges ...*chargeSent) *sentTx {
	t.Helper()
	// A node runs CheckTx against its last commit: a transaction that
	// depends on one just committed through another node waits for this
	// node to have that block applied (the next block stored means it
	// was committed).
	if h := s.submitted; h > 0 {
		testnet.WaitFor(t, 60*time.Second, fmt.Sprintf("node %d past height %d", i, h), func() bool { return s.c.height(i) > h })
	}
	ctx, cancel := ctxT(90 * time.Second)
	defer cancel()
	res, err := rpc.Submit(ctx, s.c.nodes[i], bz, rpc.SubmitOptions{Timeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("faults: %s: %v", kind, err)
	}
	if res.Code != 0 || res.Stage != rpc.StageBlock {
		t.Fatalf("faults: %s refused: code %d (%s) at %s: %s", kind, res.Code, types.CodeName(res.Code), res.Stage, res.Log)
	}
	s.submitted = max(s.submitted, res.Height)
	tx := &sentTx{phase: "hostile-input", kind: kind, node: i, bz: bz, hash: res.HashHex(), resolved: true,
		committed: true, height: res.Height, code: res.Code, items: rpc.Items(res.Events), charges: charges}
	for _, ch := range charges {
		ch.tx = tx
	}
	s.book.addTx(tx)
	s.applyFate(tx)
	s.journal(tx)
	return tx
}
