package app

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/proof"
	"github.com/mykeyledger/mykey/app/pseudonym"
	"github.com/mykeyledger/mykey/app/store"
	"github.com/mykeyledger/mykey/app/types"
	"github.com/mykeyledger/mykey/internal/testca"
)

// Serial numbers of 8 bytes, so that a scan for them cannot match by
// chance.
const (
	serialA    = 0x5ec2e7a1b2c3d4e5
	serialB    = 0x6d1f00c0ffee4242
	serialOld  = 0x7a11ce0000000001
	serialNew  = 0x7a11ce0000000002
	serialLost = 0x10571ca2d0000003
)

// crockford40 is the MyKey ID of the first 40 bits of sum.
func crockford40(sum []byte) string {
	v := uint64(sum[0])<<32 | uint64(sum[1])<<24 | uint64(sum[2])<<16 | uint64(sum[3])<<8 | uint64(sum[4])
	var out [types.MyKeyIDLen]byte
	for i := types.MyKeyIDLen - 1; i >= 0; i-- {
		out[i] = types.MyKeyIDAlphabet[v&31]
		v >>= 5
	}
	return string(out[:])
}

// outsiderIDs are MyKey IDs anyone holding the card's certificate could
// compute without the network's key: the ledger's former formula
// (SHA-256 over a domain string, issuer and serial) and 40 bits of
// plain hashes of the certificate, its issuer and serial, and its
// fingerprint.
func outsiderIDs(cert *x509.Certificate, der []byte) []string {
	id := jpki.IDOf(cert)
	var ids []string
	for n := uint32(0); n < 4; n++ {
		h := sha256.New()
		h.Write([]byte("mykey/id/v1\n"))
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(id.Issuer)))
		h.Write(l[:])
		h.Write(id.Issuer)
		binary.BigEndian.PutUint32(l[:], uint32(len(id.Serial)))
		h.Write(l[:])
		h.Write(id.Serial)
		binary.BigEndian.PutUint32(l[:], n)
		h.Write(l[:])
		ids = append(ids, crockford40(h.Sum(nil)))
	}
	fp, _ := hex.DecodeString(id.Fingerprint())
	inputs := [][]byte{der, id.Key(), id.Serial, append(append([]byte{}, id.Issuer...), id.Serial...),
		fp, []byte(id.Fingerprint()), cert.RawSubjectPublicKeyInfo}
	for _, in := range inputs {
		s256 := sha256.Sum256(in)
		s1 := sha1.Sum(in)
		ids = append(ids, crockford40(s256[:]), crockford40(s256[len(s256)-5:]), crockford40(s1[:]))
	}
	ids = append(ids, crockford40(fp))
	return ids
}

// TestMyKeyIDNeedsTheNetworkKey: a card's MyKey ID is none an outsider can
// compute from its certificate, and two networks with different pseudonym
// keys give one card different IDs.
func TestMyKeyIDNeedsTheNetworkKey(t *testing.T) {
	otherKey := pseudonym.Key(sha256.Sum256([]byte("another network")))
	n1 := newTestNet(t, netOptions{})
	n2 := newTestNet(t, netOptions{pseudonymKey: &otherKey})
	same := 0
	for _, serial := range []int64{serialA, serialB} {
		card := n1.ca.MustIssue(t, testca.CardOptions{Serial: serial})
		wantCode(t, n1.block(n1.linkTx(card, "mynapoint", "paypay", "a"+fmt.Sprint(serial)))[0], nil)
		wantCode(t, n2.block(n2.linkTx(card, "mynapoint", "paypay", "a"+fmt.Sprint(serial)))[0], nil)
		id1, id2 := n1.mykeyOf(card), n2.mykeyOf(card)
		if !types.ValidMyKeyID(id1) || !types.ValidMyKeyID(id2) {
			t.Fatalf("IDs %q %q", id1, id2)
		}
		if id1 == id2 {
			same++
		}
		for _, o := range outsiderIDs(card.Cert, card.CertDER) {
			if o == id1 || o == id2 {
				t.Fatalf("card %x: MyKey ID %s is computable from the certificate alone", serial, o)
			}
		}
		// The record's store key is not the certificate's fingerprint.
		if bytes.Equal(n1.certIndex(card), n2.certIndex(card)) {
			t.Fatal("two networks index one certificate alike")
		}
	}
	if same == 2 {
		t.Fatal("two networks with different pseudonym keys gave both cards the same MyKey IDs")
	}
}

// TestStateNamesNoCertificate: after links, a revocation and a succession,
// no state record (key or value) holds any card's certificate, its serial
// number (raw, decimal or hex), its fingerprint (hex or raw) or its public
// key.
func TestStateNamesNoCertificate(t *testing.T) {
	n := newTestNet(t, netOptions{})
	a := n.ca.MustIssue(t, testca.CardOptions{Serial: serialA})
	b := n.ca.MustIssue(t, testca.CardOptions{Serial: serialB})
	old := n.ca.MustIssue(t, testca.CardOptions{Serial: serialOld})
	renewed := n.ca.MustIssue(t, testca.CardOptions{Serial: serialNew})
	lost := n.ca.MustIssue(t, testca.CardOptions{Serial: serialLost})
	cards := []*testca.Card{a, b, old, renewed, lost}

	for i, r := range n.block(n.linkTx(a, "mynapoint", "paypay", "a"), n.linkTx(b, "mynapoint", "linepay", "b"),
		n.linkTx(old, "mynapoint", "rakuten", "old"), n.linkTx(lost, "mynapoint", "paypay", "lost")) {
		if r.Code != 0 {
			t.Fatalf("link %d: %d %s", i, r.Code, r.Log)
		}
	}
	revoke := &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
		Certificates: []*types.CertRef{certRef(lost), certRef(b)}, Reason: "card reported lost"}}}
	wantCode(t, n.block(n.govTx(1, revoke))[0], nil)
	wantCode(t, n.block(n.govTx(1, succession(old.Cert, renewed.Cert)))[0], nil)
	// A merge too: the renewed card already linked elsewhere.
	other := n.ca.MustIssue(t, testca.CardOptions{Serial: serialNew + 100})
	cards = append(cards, other)
	wantCode(t, n.block(n.linkTx(other, "mynapoint", "linepay", "other"))[0], nil)
	wantCode(t, n.block(n.govTx(1, succession(a.Cert, other.Cert)))[0], nil)
	// A rejected link is recorded as judged too.
	if r := n.block(n.linkTx(lost, "mynapoint", "linepay", "lost2"))[0]; r.Code != types.ErrCertRevoked.Code {
		t.Fatalf("revoked card linked: %d %s", r.Code, r.Log)
	}
	if n.mykeyOf(renewed) != n.mykeyOf(old) || n.mykeyOf(renewed) == "" {
		t.Fatal("succession did not map the renewed card to the old card's MyKey ID")
	}

	type needle struct {
		what string
		b    []byte
	}
	var needles []needle
	for _, c := range cards {
		id := jpki.IDOf(c.Cert)
		fp := id.Fingerprint()
		rawFP, _ := hex.DecodeString(fp)
		derSum := sha256.Sum256(c.CertDER)
		serial := c.Cert.SerialNumber
		needles = append(needles,
			needle{"certificate DER", c.CertDER},
			needle{"serial bytes", serial.Bytes()},
			needle{"serial decimal", []byte(serial.String())},
			needle{"serial hex", []byte(serial.Text(16))},
			needle{"serial HEX", []byte(strings.ToUpper(serial.Text(16)))},
			needle{"fingerprint hex", []byte(fp)},
			needle{"fingerprint raw", rawFP},
			needle{"DER SHA-256 hex", []byte(hex.EncodeToString(derSum[:]))},
			needle{"DER SHA-256 raw", derSum[:]},
			needle{"public key", c.Cert.RawSubjectPublicKeyInfo},
			needle{"public modulus", c.Key.PublicKey.N.Bytes()},
			needle{"certificate reference", mustMarshal(t, certRef(c))},
		)
	}
	records := 0
	err := n.app.store.View(func(v *store.View) error {
		return v.IterateFrom(nil, nil, func(k, val []byte) bool {
			records++
			for _, nd := range needles {
				if bytes.Contains(k, nd.b) || bytes.Contains(val, nd.b) {
					t.Errorf("record %q holds a card's %s", k, nd.what)
				}
			}
			return false
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if records < 20 {
		t.Fatalf("scanned only %d records", records)
	}
	// The history still says what was done: the revocation's two
	// certificates by index, and why.
	var h types.HistoryEntry
	if !n.query(types.KeyHistory(1), &h) {
		t.Fatal("no history entry 1")
	}
	rc := h.Action.GetRevokeCertificates()
	if rc == nil || rc.Reason != "card reported lost" || len(rc.Certificates) != 2 ||
		!bytes.Equal(rc.Certificates[0].Index, n.certIndex(lost)) || len(rc.Certificates[0].Issuer)+len(rc.Certificates[0].Serial) != 0 {
		t.Fatalf("revocation history: %+v", h.Action)
	}
	if !n.query(types.KeyHistory(2), &h) {
		t.Fatal("no history entry 2")
	}
	s := h.Action.GetSuccession()
	if s == nil || !bytes.Equal(s.OldCert.GetIndex(), n.certIndex(old)) || !bytes.Equal(s.NewCert.GetIndex(), n.certIndex(renewed)) ||
		!strings.Contains(h.Summary, n.mykeyOf(old)) {
		t.Fatalf("succession history: %+v %q", h.Action, h.Summary)
	}
}

func mustMarshal(t *testing.T, r *types.CertRef) []byte {
	bz, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

// A transaction may not name a certificate by index: only issuer and
// serial, which the ledger turns into the index itself.
func TestCertRefIndexRefused(t *testing.T) {
	n := newTestNet(t, netOptions{})
	card := n.card()
	ref := certRef(card)
	ref.Index = n.certIndex(card)
	r := n.block(n.govTx(1, &types.GovAction{Action: &types.GovAction_RevokeCertificates{RevokeCertificates: &types.RevokeCertificates{
		Certificates: []*types.CertRef{ref}, Reason: "lost"}}}))[0]
	wantCode(t, r, types.ErrMalformed)
}

// TestCertIndexQuery: the validators' query route finds a certificate's
// record from the certificate, or from its issuer and serial, and proves
// it under the record's store key.
func TestCertIndexQuery(t *testing.T) {
	n := newTestNet(t, netOptions{})
	card := n.card()
	wantCode(t, n.block(n.linkTx(card, "mynapoint", "paypay", "a"))[0], nil)
	ref, _ := certRef(card).Marshal()
	for name, req := range map[string]*abci.QueryRequest{
		"der":      {Path: types.CertIndexPath, Data: card.CertDER, Prove: true},
		"certref":  {Path: types.CertIndexPath, Data: ref, Prove: true},
		"path hex": {Path: types.CertIndexPath + "/" + hex.EncodeToString(ref), Prove: true},
	} {
		res, err := n.app.Query(context.Background(), req)
		if err != nil || res.Code != 0 {
			t.Fatalf("%s: %v %d %s", name, err, res.Code, res.Log)
		}
		if string(res.Key) != string(types.KeyCert(n.certIndex(card))) {
			t.Fatalf("%s: key %q", name, res.Key)
		}
		var cr types.CertRecord
		if err := cr.Unmarshal(res.Value); err != nil || cr.MykeyId != n.mykeyOf(card) || cr.MykeyId == "" {
			t.Fatalf("%s: record %+v %v", name, &cr, err)
		}
		if err := proof.VerifyValue(n.appHash(), res.Key, res.Value, res.ProofOps); err != nil {
			t.Fatalf("%s: proof: %v", name, err)
		}
	}
	res, err := n.app.Query(context.Background(), &abci.QueryRequest{Path: types.CertIndexPath, Data: []byte("junk")})
	if err != nil || res.Code != types.ErrMalformed.Code {
		t.Fatalf("junk: %v %+v", err, res)
	}
	if types.PublicKey(strings.TrimPrefix(types.CertIndexPath, "/")) || types.PublicKey(string(types.KeyCert(n.certIndex(card)))) {
		t.Fatal("the certificate index is public")
	}
}

// TestWrongPseudonymKey: an app without the network's key refuses to
// start, at InitChain and when it reopens a committed state.
func TestWrongPseudonymKey(t *testing.T) {
	if _, err := New(Options{InMemory: true, PseudonymKeyFile: "/x/pseudonym_key.json"}); err == nil ||
		!strings.Contains(err.Error(), "no pseudonym key in /x/pseudonym_key.json") {
		t.Fatalf("New without a key: %v", err)
	}
	other := pseudonym.Key(sha256.Sum256([]byte("wrong")))
	n := newTestNet(t, netOptions{dir: t.TempDir()})
	n.block()
	a, err := New(Options{InMemory: true, PseudonymKey: &other, PseudonymKeyFile: "/x/pk.json"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, Time: t0, AppStateBytes: n.genesis, InitialHeight: 1})
	want := "pseudonym key in /x/pk.json does not match the network's commitment in genesis: get the network's key from the government's key ceremony"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("InitChain with another key: %v", err)
	}
	n.app.Close()
	if _, err := New(Options{Dir: n.dir, PseudonymKey: &other, PseudonymKeyFile: "/x/pk.json"}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("reopen with another key: %v", err)
	}
	b, err := New(Options{Dir: n.dir, PseudonymKey: &n.pk})
	if err != nil {
		t.Fatalf("reopen with the network's key: %v", err)
	}
	b.Close()
	// Genesis without a commitment is refused.
	var st map[string]any
	if err := json.Unmarshal(n.genesis, &st); err != nil {
		t.Fatal(err)
	}
	delete(st, "pseudonym_commitment")
	bz, _ := json.Marshal(st)
	c, err := New(Options{InMemory: true, PseudonymKey: &n.pk})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, Time: t0, AppStateBytes: bz, InitialHeight: 1}); err == nil ||
		!strings.Contains(err.Error(), "pseudonym_commitment") {
		t.Fatalf("genesis without a commitment: %v", err)
	}
}
