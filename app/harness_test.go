package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/genesis"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Fixed timestamps: every test runs at the same block times.
var (
	t0        = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	windowEnd = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

const testChain = "mykey-test"

// testNet is one app driven block by block, with the keys of its
// government, its providers and a test JPKI CA.
type testNet struct {
	t        testing.TB
	app      *App
	dir      string
	ca       *testca.CA
	gov      []ed25519.PrivateKey
	provs    map[string]ed25519.PrivateKey
	height   int64
	now      time.Time
	govSeq   uint64
	genesis  []byte
	results  [][]*abci.ExecTxResult
	keepOpen bool
	pk       pseudonym.Key
	// trieCache and blockCache: netOptions'.
	trieCache, blockCache int64
}

type netOptions struct {
	dir       string // "" = in memory
	threshold uint32
	govKeys   int
	programs  []types.GenesisProgram
	keepOpen  bool // shared across tests: not closed at the end of one
	// moreAnchors are trust anchors beside the shared test CA.
	moreAnchors []*testca.CA
	// nodes are the P2P node IDs genesis registers, by owner ("government"
	// or a provider ID).
	nodes map[string][]string
	// pseudonymKey is the network pseudonym key; nil: testPseudonymKey.
	pseudonymKey *pseudonym.Key
	// trieCache and blockCache size the store's caches in bytes (0: the
	// store's defaults).
	trieCache, blockCache int64
}

// testPseudonymKey is the network pseudonym key of test networks.
var testPseudonymKey = pseudonym.Key(sha256.Sum256([]byte("test pseudonym key")))

func defaultPrograms() []types.GenesisProgram {
	return []types.GenesisProgram{
		genesis.NewProgramPercent("mynapoint", 2500, 5000, 1_000_000_000, t0, windowEnd),
	}
}

func testKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:])
}

var sharedCA *testca.CA

func testCA(t testing.TB) *testca.CA {
	if sharedCA == nil {
		sharedCA = testca.MustCA(t)
	}
	return sharedCA
}

func newTestNet(t testing.TB, o netOptions) *testNet {
	t.Helper()
	if o.govKeys == 0 {
		o.govKeys = 1
	}
	if o.threshold == 0 {
		o.threshold = 1
	}
	if o.programs == nil {
		o.programs = defaultPrograms()
	}
	n := &testNet{t: t, ca: testCA(t), provs: map[string]ed25519.PrivateKey{}, now: t0, govSeq: 1, dir: o.dir, keepOpen: o.keepOpen, pk: testPseudonymKey,
		trieCache: o.trieCache, blockCache: o.blockCache}
	if o.pseudonymKey != nil {
		n.pk = *o.pseudonymKey
	}
	gs := types.GenesisState{
		PseudonymCommitment: pseudonym.Commitment(n.pk),
		Government: types.GenesisGovernment{Threshold: o.threshold, Name: "government",
			ValidatorKey: types.HexBytes(pub(testKey("val/government"))), Power: 10},
		Programs:     o.programs,
		TrustAnchors: anchorPEMs(n.ca, o.moreAnchors),
	}
	for i := 0; i < o.govKeys; i++ {
		k := testKey(fmt.Sprintf("gov/%d", i))
		n.gov = append(n.gov, k)
		gs.Government.Keys = append(gs.Government.Keys, types.HexBytes(k.Public().(ed25519.PublicKey)))
	}
	for _, id := range []string{"paypay", "linepay", "rakuten"} {
		k := testKey("provider/" + id)
		n.provs[id] = k
		gs.Providers = append(gs.Providers, types.GenesisProvider{ID: id, Name: id,
			GrantKey:     types.HexBytes(k.Public().(ed25519.PublicKey)),
			ValidatorKey: types.HexBytes(testKey("val/" + id).Public().(ed25519.PublicKey)), Power: 10,
			NodeIDs: o.nodes[id]})
	}
	gs.Government.NodeIDs = o.nodes[types.GovernmentOwner]
	bz, err := json.Marshal(gs)
	if err != nil {
		t.Fatal(err)
	}
	n.genesis = bz
	n.open()
	if _, err := n.app.InitChain(context.Background(), &abci.InitChainRequest{
		ChainId: testChain, Time: n.now, AppStateBytes: bz, InitialHeight: 1,
	}); err != nil {
		t.Fatalf("InitChain: %v", err)
	}
	return n
}

func (n *testNet) open() {
	n.t.Helper()
	a, err := New(Options{Dir: n.dir, InMemory: n.dir == "", PseudonymKey: &n.pk, TrieCacheSize: n.trieCache, BlockCacheSize: n.blockCache})
	if err != nil {
		n.t.Fatalf("open app: %v", err)
	}
	n.app = a
	if tt, ok := n.t.(*testing.T); ok && !n.keepOpen {
		tt.Cleanup(func() { a.Close() })
	}
}

// finalize runs FinalizeBlock for the next block without committing.
func (n *testNet) finalize(txs ...[]byte) *abci.FinalizeBlockResponse {
	n.t.Helper()
	n.height++
	n.now = n.now.Add(5 * time.Second)
	res, err := n.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{
		Txs: txs, Height: n.height, Time: n.now,
	})
	if err != nil {
		n.t.Fatalf("FinalizeBlock %d: %v", n.height, err)
	}
	if len(res.TxResults) != len(txs) {
		n.t.Fatalf("FinalizeBlock %d: %d results for %d txs", n.height, len(res.TxResults), len(txs))
	}
	return res
}

// block executes and commits the next block.
func (n *testNet) block(txs ...[]byte) []*abci.ExecTxResult {
	n.t.Helper()
	res := n.finalize(txs...)
	if _, err := n.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
		n.t.Fatalf("Commit %d: %v", n.height, err)
	}
	n.results = append(n.results, res.TxResults)
	return res.TxResults
}

func commitment(account string) []byte {
	s := sha256.Sum256([]byte("link-token/" + account))
	return s[:]
}

func (n *testNet) card() *testca.Card {
	return n.ca.MustIssue(n.t, testca.CardOptions{})
}

func (n *testNet) linkReq(card *testca.Card, program, provider, account string) *types.SignedLink {
	req := &types.LinkRequest{
		ChainId: testChain, ProgramId: program, ProviderId: provider,
		AccountCommitment: commitment(account), ExpiresAt: n.now.Add(time.Hour).Unix(),
		Certificate: card.CertDER,
	}
	return &types.SignedLink{Request: req, Signature: card.MustSign(n.t, req.SignBytes())}
}

func (n *testNet) encode(tx *types.Tx) []byte {
	bz, err := types.EncodeTx(tx)
	if err != nil {
		n.t.Fatal(err)
	}
	return bz
}

func (n *testNet) linkTx(card *testca.Card, program, provider, account string) []byte {
	return n.encode(types.WrapLink(n.linkReq(card, program, provider, account)))
}

func (n *testNet) batchTx(provider string, links ...*types.SignedLink) []byte {
	b := &types.LinkBatch{ChainId: testChain, ProviderId: provider, Links: links}
	return n.encode(types.WrapLinkBatch(&types.SignedLinkBatch{Batch: b, Signature: ed25519.Sign(n.provs[provider], b.SignBytes())}))
}

func charge(program, mykey, ref string, yen int64) *types.Charge {
	return &types.Charge{ProgramId: program, MykeyId: mykey, ChargeRef: ref, AmountYen: yen, ChargedAt: t0.Add(time.Minute).Unix()}
}

func (n *testNet) grantTx(provider string, charges ...*types.Charge) []byte {
	g := &types.Grant{ChainId: testChain, ProviderId: provider, Charges: charges}
	return n.encode(types.WrapGrant(&types.SignedGrant{Grant: g, Signature: ed25519.Sign(n.provs[provider], g.SignBytes())}))
}

// govTx signs an action with the first k authority keys and the next
// sequence number.
func (n *testNet) govTx(k int, a *types.GovAction) []byte {
	a.ChainId = testChain
	if a.Sequence == 0 {
		a.Sequence = n.govSeq
		n.govSeq++
	}
	s := &types.SignedGov{Action: a}
	for _, key := range n.gov[:k] {
		s.Signatures = append(s.Signatures, &types.GovSignature{PublicKey: key.Public().(ed25519.PublicKey), Signature: ed25519.Sign(key, a.SignBytes())})
	}
	return n.encode(types.WrapGov(s))
}

// query reads a committed record into m; false if absent.
func (n *testNet) query(key []byte, m record) bool {
	n.t.Helper()
	res, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: "/key", Data: key})
	if err != nil || res.Code != 0 {
		n.t.Fatalf("query %s: %v %v", key, err, res.Log)
	}
	if res.Value == nil {
		return false
	}
	if err := m.Unmarshal(res.Value); err != nil {
		n.t.Fatal(err)
	}
	return true
}

// programTotals is the program's totals record (zero if there is none).
func (n *testNet) programTotals(program string) types.ProgramTotals {
	n.t.Helper()
	var pt types.ProgramTotals
	n.query(types.KeyProgramTotals(program), &pt)
	return pt
}

func (n *testNet) appHash() []byte {
	info, err := n.app.Info(context.Background(), &abci.InfoRequest{})
	if err != nil {
		n.t.Fatal(err)
	}
	return info.LastBlockAppHash
}

// mykeyOf returns the MyKey ID the ledger issued to a card ("" if none).
func (n *testNet) mykeyOf(card *testca.Card) string {
	var cr types.CertRecord
	if !n.query(types.KeyCert(n.certIndex(card)), &cr) {
		return ""
	}
	return cr.MykeyId
}

// certIndex is the card certificate's index under the network's key.
func (n *testNet) certIndex(card *testca.Card) []byte {
	ref := certRef(card)
	x := &exec{app: &App{pk: &n.pk}}
	_, idx, err := x.normalizeCertRef(ref)
	if err != nil {
		n.t.Fatal(err)
	}
	return idx
}

func certRef(card *testca.Card) *types.CertRef {
	return &types.CertRef{Issuer: card.Cert.RawIssuer, Serial: card.Cert.SerialNumber.Bytes()}
}

// attr returns the value of an event attribute of the i-th event.
func attr(r *abci.ExecTxResult, i int, key string) string {
	if i >= len(r.Events) {
		return ""
	}
	for _, a := range r.Events[i].Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

func wantCode(t testing.TB, r *abci.ExecTxResult, want *types.Error) {
	t.Helper()
	var code uint32
	if want != nil {
		code = want.Code
	}
	if r.Code != code {
		t.Fatalf("code %d (%s) log %q, want %d (%s)", r.Code, types.CodeName(r.Code), r.Log, code, types.CodeName(code))
	}
}

func pub(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

func sign(k ed25519.PrivateKey, msg []byte) []byte { return ed25519.Sign(k, msg) }

func succession(old, new *x509.Certificate) *types.GovAction {
	return &types.GovAction{Action: &types.GovAction_Succession{Succession: &types.Succession{
		OldCert: &types.CertRef{Issuer: old.RawIssuer, Serial: old.SerialNumber.Bytes()},
		NewCert: &types.CertRef{Issuer: new.RawIssuer, Serial: new.SerialNumber.Bytes()},
		Reason:  "certificate renewed"}}}
}

func anchorPEMs(ca *testca.CA, more []*testca.CA) []string {
	out := []string{string(ca.CertPEM)}
	for _, m := range more {
		out = append(out, string(m.CertPEM))
	}
	return out
}
