package app

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
)

// The simulation's pool of test cards, made once per test binary (RSA
// work is slow) and shared by every seed.
type simCards struct {
	good  []*testca.Card // trusted, valid all through the simulation
	bad   []*testca.Card // one defect each: expiring, not yet valid, key usage, untrusted
	all   []*testca.Card
	model map[string]*mCard // by DER
}

var (
	simCardsOnce sync.Once
	simCardsV    *simCards
	simCardsErr  error
)

func simPool(t testing.TB) *simCards {
	ca := testCA(t)
	simCardsOnce.Do(func() {
		p := &simCards{model: map[string]*mCard{}}
		issue := func(ca *testca.CA, o testca.CardOptions) *testca.Card {
			c, err := ca.Issue(o)
			if err != nil && simCardsErr == nil {
				simCardsErr = err
			}
			return c
		}
		for i := 0; i < 16; i++ {
			p.good = append(p.good, issue(ca, testca.CardOptions{Key: testca.Key(i % 4)}))
		}
		rogue, err := testca.NewCA(testca.CAOptions{Name: "rogue"})
		if err != nil {
			simCardsErr = err
			return
		}
		p.bad = append(p.bad,
			issue(ca, testca.CardOptions{Key: testca.Key(0), NotAfter: t0.Add(20 * time.Minute)}),
			issue(ca, testca.CardOptions{Key: testca.Key(1), NotBefore: t0.Add(30 * time.Minute)}),
			issue(ca, testca.CardOptions{Key: testca.Key(2), KeyUsage: x509.KeyUsageKeyEncipherment}),
			issue(rogue, testca.CardOptions{Key: testca.Key(3)}),
		)
		if simCardsErr != nil {
			return
		}
		p.all = append(slices.Clone(p.good), p.bad...)
		for _, c := range p.all {
			p.model[string(c.CertDER)] = &mCard{
				cert:      c.Cert,
				trusted:   string(c.Cert.RawIssuer) == string(ca.Cert.RawSubject) && c.Cert.CheckSignatureFrom(ca.Cert) == nil,
				keyUsage:  c.Cert.KeyUsage&x509.KeyUsageDigitalSignature != 0,
				notBefore: c.Cert.NotBefore,
				notAfter:  c.Cert.NotAfter,
			}
		}
		simCardsV = p
	})
	if simCardsErr != nil {
		t.Fatal(simCardsErr)
	}
	return simCardsV
}

// simNonCanonicalKey encodes a valid point with y ≥ p.
var simNonCanonicalKey = []byte{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}

// simGen generates the transactions of a simulation from its seed.
type simGen struct {
	r       *rand.Rand
	m       *model // read only: what the generator aims at
	cards   *simCards
	keyring map[string]ed25519.PrivateKey // public → private
	gov     []ed25519.PrivateKey
	sent    [][]byte // every transaction generated so far
	links   [][]byte // link transactions
	charges []*types.Charge
	keyN    int
	bt      int64 // the time of the block being generated
	govN    int   // government actions generated for this block
}

func (g *simGen) key(seed string) ed25519.PrivateKey {
	k := testKey(seed)
	g.keyring[string(pub(k))] = k
	return k
}

func (g *simGen) freshKey(kind string) []byte {
	g.keyN++
	return pub(g.key(fmt.Sprintf("sim/%s/%d", kind, g.keyN)))
}

// pick returns a random element of xs.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (g *simGen) chance(p float64) bool { return g.r.Float64() < p }

func (g *simGen) program() string {
	if g.chance(0.05) {
		return "nosuch"
	}
	return pick(g.r, sortedKeys(g.m.programs))
}

func (g *simGen) provider() string {
	if g.chance(0.04) {
		return "ghost"
	}
	return pick(g.r, sortedKeys(g.m.providers))
}

func (g *simGen) account() []byte { return commitment(fmt.Sprintf("a%d", g.r.IntN(8))) }

// mykey returns a known MyKey ID (merged ones too) or, rarely, one the
// ledger never issued.
func (g *simGen) mykey() string {
	if len(g.m.mykeys) == 0 || g.chance(0.05) {
		return "ZZZZ" + fmt.Sprintf("%04d", g.r.IntN(10000))
	}
	return pick(g.r, sortedKeys(g.m.mykeys))
}

func (g *simGen) encode(tx *types.Tx) []byte {
	bz, err := types.EncodeTx(tx)
	if err != nil {
		panic(err)
	}
	return bz
}

func (g *simGen) signedLink(card *testca.Card, program, provider string, acct []byte, expires int64, chain string) *types.SignedLink {
	req := &types.LinkRequest{ChainId: chain, ProgramId: program, ProviderId: provider,
		AccountCommitment: acct, ExpiresAt: expires, Certificate: card.CertDER}
	sig, err := card.Sign(req.SignBytes())
	if err != nil {
		panic(err)
	}
	return &types.SignedLink{Request: req, Signature: sig}
}

// aLink makes a link of a random variant; kind names it.
func (g *simGen) aLink(provider string) (*types.SignedLink, string) {
	card, kind := pick(g.r, g.cards.good), "link"
	exp, chain := g.bt+int64(600+g.r.IntN(3000)), testChain
	switch x := g.r.IntN(20); {
	case x == 0:
		exp, kind = g.bt-int64(g.r.IntN(100)), "link/expired"
	case x == 1:
		exp, kind = g.bt+types.MaxLinkValidity+int64(1+g.r.IntN(100)), "link/far_expiry"
	case x == 2:
		chain, kind = "other-chain", "link/wrong_chain"
	case x <= 5:
		card, kind = pick(g.r, g.cards.bad), "link/bad_cert"
	}
	sl := g.signedLink(card, g.program(), provider, g.account(), exp, chain)
	if g.chance(0.04) {
		sl.Signature[g.r.IntN(len(sl.Signature))] ^= 0x20
		kind = "link/bad_signature"
	}
	return sl, kind
}

func (g *simGen) sign(provider string, sb []byte) []byte {
	p := g.m.providers[provider]
	var k ed25519.PrivateKey
	if p != nil {
		k = g.keyring[string(p.grantKey)]
	}
	if k == nil || g.chance(0.03) {
		k = g.key("sim/stranger")
	}
	return ed25519.Sign(k, sb)
}

// next generates one transaction and names its kind.
func (g *simGen) next() (string, []byte) {
	kind, bz := g.gen()
	g.sent = append(g.sent, bz)
	return kind, bz
}

func (g *simGen) gen() (string, []byte) {
	x := g.r.IntN(100)
	switch {
	case x < 22:
		sl, kind := g.aLink(g.provider())
		bz := g.encode(types.WrapLink(sl))
		g.links = append(g.links, bz)
		return kind, bz
	case x < 27 && len(g.links) > 0:
		// Mostly a recent one, still unexpired: judged again.
		return "link/replayed", pick(g.r, g.links[max(0, len(g.links)-10):])
	case x < 32:
		prov := g.provider()
		b := &types.LinkBatch{ChainId: testChain, ProviderId: prov}
		for i := 0; i < 1+g.r.IntN(4); i++ {
			other := prov
			if g.chance(0.1) {
				other = g.provider()
			}
			sl, _ := g.aLink(other)
			b.Links = append(b.Links, sl)
		}
		return "link_batch", g.encode(types.WrapLinkBatch(&types.SignedLinkBatch{Batch: b, Signature: g.sign(prov, b.SignBytes())}))
	case x < 60:
		return g.grant()
	case x < 63 && len(g.sent) > 0:
		return "replayed_bytes", pick(g.r, g.sent)
	case x < 90:
		return g.govTx()
	case x < 94:
		bz := make([]byte, 1+g.r.IntN(64))
		for i := range bz {
			bz[i] = byte(g.r.UintN(256))
		}
		return "random_bytes", bz
	default:
		if len(g.sent) == 0 {
			return "random_bytes", []byte{0xff}
		}
		bz := slices.Clone(pick(g.r, g.sent))
		if len(bz) == 0 {
			bz = []byte{0xff}
		}
		if g.chance(0.3) && len(bz) > 1 {
			bz = bz[:1+g.r.IntN(len(bz)-1)]
		} else {
			bz[g.r.IntN(len(bz))] ^= byte(1 + g.r.IntN(255))
		}
		if tx, err := types.DecodeTx(bz); err == nil {
			// A mutation that still decodes into a link may have
			// changed its certificate's bytes, which the model does not
			// judge (see simmodel_test.go); keep only the others.
			if _, ok := tx.Body.(*types.Tx_Link); ok {
				bz = append([]byte{0xff}, bz...)
			}
		}
		return "mutated_bytes", bz
	}
}

var simAmounts = []int64{0, 1, 3, 39, 100, 999, 4000, 12000, 19999, 40000, 1_000_000}

func (g *simGen) grant() (string, []byte) {
	prov, kind := g.provider(), "grant"
	gr := &types.Grant{ChainId: testChain, ProviderId: prov}
	n := 1
	if g.chance(0.3) {
		n, kind = 2+g.r.IntN(4), "grant/batched"
	}
	for i := 0; i < n; i++ {
		if len(g.charges) > 0 && g.chance(0.1) {
			ch := *pick(g.r, g.charges) // retried: same reference, same amount
			gr.Charges = append(gr.Charges, &ch)
			kind = "grant/retried"
			continue
		}
		ch := &types.Charge{ProgramId: g.program(), MykeyId: g.mykey(), ChargeRef: fmt.Sprintf("r%d", g.r.IntN(60)),
			AmountYen: pick(g.r, simAmounts), ChargedAt: g.bt - int64(g.r.IntN(600))}
		switch y := g.r.IntN(30); {
		case y == 0:
			ch.ChargedAt = g.bt + int64(200+g.r.IntN(600))
		case y == 1:
			ch.ChargedAt = t0.Unix() - 1000
		case y == 2:
			ch.AmountYen = 1_000_000_000_000 + 1
		}
		g.charges = append(g.charges, ch)
		gr.Charges = append(gr.Charges, ch)
	}
	if g.chance(0.03) {
		gr.ChainId = "other-chain"
	}
	return kind, g.encode(types.WrapGrant(&types.SignedGrant{Grant: gr, Signature: g.sign(prov, gr.SignBytes())}))
}

var simPowers = []int64{0, 1, 5, 10, cmttypes.MaxTotalVotingPower - 30, cmttypes.MaxTotalVotingPower, cmttypes.MaxTotalVotingPower + 1, -1}

// anyKey returns a good fresh key, a weak one, or one already in use.
func (g *simGen) anyKey(kind string) []byte {
	switch x := g.r.IntN(12); {
	case x == 0:
		return pick(g.r, smallOrderKeys)
	case x == 1:
		return simNonCanonicalKey
	case x == 2:
		return []byte{1, 2, 3}
	case x <= 4:
		return pub(testKey("val/" + pick(g.r, []string{"government", "paypay", "linepay", "rakuten"})))
	}
	if kind == "val" {
		// A small set of validator keys, so claims collide.
		return pub(g.key(fmt.Sprintf("sim/val/%d", g.r.IntN(8))))
	}
	return g.freshKey(kind)
}

func (g *simGen) window() (int64, int64) {
	start := g.bt - int64(g.r.IntN(3600))
	end := g.bt + int64(60+g.r.IntN(4*3600))
	if g.chance(0.05) {
		end = start
	}
	return start, end
}

func (g *simGen) govTx() (string, []byte) {
	a := &types.GovAction{ChainId: testChain, Sequence: g.m.nextSeq + uint64(g.govN)}
	g.govN++
	switch g.r.IntN(10) {
	case 0:
		id := fmt.Sprintf("np%d", g.r.IntN(6))
		p := &types.Provider{Id: id, Name: id, GrantKey: g.anyKey("grant")}
		if g.chance(0.05) {
			p.Name = " "
		}
		if g.chance(0.6) {
			p.ValidatorKey, p.Power = g.anyKey("val"), pick(g.r, simPowers)
		} else if g.chance(0.1) {
			p.Power = 3
		}
		a.Action = &types.GovAction_RegisterProvider{RegisterProvider: &types.RegisterProvider{Provider: p}}
	case 1:
		u := &types.UpdateProvider{ProviderId: g.provider()}
		if g.chance(0.5) {
			u.Status = types.ProviderStatus(pick(g.r, []int32{0, 1, 1, 2, 2, 3}))
		}
		if g.chance(0.25) {
			u.GrantKey = g.anyKey("grant")
		}
		if g.chance(0.3) {
			u.ValidatorKey = g.anyKey("val")
		}
		if g.chance(0.5) {
			u.SetPower, u.Power = true, pick(g.r, simPowers)
		}
		a.Action = &types.GovAction_UpdateProvider{UpdateProvider: u}
	case 2:
		id := pick(g.r, []string{"mynapoint", "tight", "fixedpt", "p0", "p1", "p2"})
		p := &types.Program{Id: id, Name: id, BudgetYen: int64(100 + g.r.IntN(30000))}
		if t := g.m.progTotals[id]; t != nil && g.chance(0.5) {
			// Just above (or below) what is granted: the next grants
			// meet an exhausted budget.
			p.BudgetYen = max(1, t.granted+int64(g.r.IntN(3000))-100)
		}
		p.LinkStart, p.LinkEnd = g.window()
		p.GrantStart, p.GrantEnd = g.window()
		fixed := id == "fixedpt" || id == "p2"
		if g.chance(0.1) {
			fixed = !fixed
		}
		if fixed {
			p.Kind, p.FixedYen = types.ProgramKind_PROGRAM_KIND_FIXED, pick(g.r, []int64{500, 1000, 3000})
			p.CapYen = p.FixedYen
		} else {
			p.Kind, p.RateBp, p.CapYen = types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE, pick(g.r, []int64{0, 1, 1000, 2500, 10000}), pick(g.r, []int64{100, 3000, 5000})
		}
		a.Action = &types.GovAction_SetProgram{SetProgram: &types.SetProgram{Program: p}}
	case 3:
		r := &types.RevokeCertificates{Reason: "card reported lost"}
		for i := 0; i < 1+g.r.IntN(2); i++ {
			c := pick(g.r, g.cards.all)
			ref := certRef(c)
			if g.chance(0.3) {
				ref.Serial = append([]byte{0}, ref.Serial...)
			}
			r.Certificates = append(r.Certificates, ref)
		}
		a.Action = &types.GovAction_RevokeCertificates{RevokeCertificates: r}
	case 4, 5:
		old, new := pick(g.r, g.cards.good), pick(g.r, g.cards.good)
		a.Action = succession(old.Cert, new.Cert).Action
	case 6:
		at := &types.AttestEligibility{ProgramId: pick(g.r, []string{"fixedpt", "fixedpt", "p2", "mynapoint"})}
		for i := 0; i < 1+g.r.IntN(3); i++ {
			at.MykeyIds = append(at.MykeyIds, g.mykey())
		}
		a.Action = &types.GovAction_AttestEligibility{AttestEligibility: at}
	case 7:
		st := &types.Settle{ProgramId: g.program(), ProviderId: g.provider(), Reference: "invoice"}
		if vt := g.m.provTotals[[2]string{st.ProgramId, st.ProviderId}]; vt != nil {
			out := vt.granted - vt.settled - vt.recovered
			st.AmountYen = pick(g.r, []int64{out, out + 1, out / 2, 1})
		} else {
			st.AmountYen = int64(g.r.IntN(3))
		}
		a.Action = &types.GovAction_Settle{Settle: st}
	case 8:
		k := &types.CorrectLinkage{ProgramId: g.program(), MykeyId: g.mykey(), IncidentRef: "incident-7",
			Kind: types.CorrectionKind(pick(g.r, []int32{1, 1, 2, 2, 2, 0}))}
		if k.Kind == types.CorrectionKind_CORRECTION_KIND_MOVE {
			k.ToProviderId, k.ToAccountCommitment = g.provider(), g.account()
		}
		a.Action = &types.GovAction_CorrectLinkage{CorrectLinkage: k}
	case 9:
		a.Action = &types.GovAction_SetNodes{SetNodes: g.setNodes()}
	}
	// Signatures: k of n, and now and then too few, a stranger's or a
	// bad one; the sequence now and then wrong.
	if g.chance(0.05) {
		a.Sequence += uint64(pick(g.r, []int{-1, 1, 5}))
	}
	s := &types.SignedGov{Action: a}
	signers := []int{0, 1, 2}
	g.r.Shuffle(3, func(i, j int) { signers[i], signers[j] = signers[j], signers[i] })
	n := 2 + g.r.IntN(2)
	if g.chance(0.05) {
		n = 1
	}
	for _, i := range signers[:n] {
		s.Signatures = append(s.Signatures, &types.GovSignature{PublicKey: pub(g.gov[i]), Signature: ed25519.Sign(g.gov[i], a.SignBytes())})
	}
	switch y := g.r.IntN(40); {
	case y == 0:
		k := g.key("sim/stranger")
		s.Signatures = append(s.Signatures, &types.GovSignature{PublicKey: pub(k), Signature: ed25519.Sign(k, a.SignBytes())})
	case y == 1:
		s.Signatures[0].Signature = slices.Clone(s.Signatures[0].Signature)
		s.Signatures[0].Signature[3] ^= 1
	case y == 2:
		s.Signatures = append(s.Signatures, s.Signatures[0])
	}
	return "gov/" + types.GovActionName(a), g.encode(types.WrapGov(s))
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }
