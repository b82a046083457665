package jpki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testca"
)

func TestDigestInfo(t *testing.T) {
	di := DigestInfo(msg)
	h := sha256.Sum256(msg)
	if got := hex.EncodeToString(di); got != "3031300d060960864801650304020105000420"+hex.EncodeToString(h[:]) {
		t.Fatalf("DigestInfo = %s", got)
	}
	if len(di) != 51 {
		t.Errorf("DigestInfo is %d bytes, want 51", len(di))
	}
	// What the card does with it: PKCS#1 v1.5-pad and sign raw. The result
	// is what VerifySignature accepts and what testca's card produces.
	f := fx(t)
	sig, err := rsa.SignPKCS1v15(nil, f.good.Key, crypto.Hash(0), di)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(f.good.Cert, msg, sig); err != nil {
		t.Errorf("raw signature over DigestInfo refused: %v", err)
	}
	if !bytes.Equal(sig, sign(t, f.good, msg)) {
		t.Error("testca card signature differs from a raw signature over DigestInfo")
	}
	if bytes.Equal(DigestInfo(nil), DigestInfo([]byte{0})) {
		t.Error("DigestInfo ignores its input")
	}
}

func TestVerifySignatureDirect(t *testing.T) {
	f := fx(t)
	sig := sign(t, f.good, msg)
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"good", VerifySignature(f.good.Cert, msg, sig), 0},
		{"nil certificate", VerifySignature(nil, msg, sig), Malformed},
		{"weak key", VerifySignature(f.weak.Cert, msg, sign(t, f.weak, msg)), WeakKey},
		{"other key", VerifySignature(f.good2.Cert, msg, sig), BadSignature},
		{"other bytes", VerifySignature(f.good.Cert, append(bytes.Clone(msg), '!'), sig), BadSignature},
		{"too long", VerifySignature(f.good.Cert, msg, append(bytes.Clone(sig), 0)), BadSignature},
	}
	for _, tt := range tests {
		if got := ReasonOf(tt.err); got != tt.want {
			t.Errorf("%s: %v, want reason %v", tt.name, tt.err, tt.want)
		}
	}
}

func TestErrorType(t *testing.T) {
	err := error(&Error{Reason: Expired, Detail: "certificate expired at X"})
	if got := err.Error(); got != "jpki: certificate expired: certificate expired at X" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Reason: Untrusted}).Error(); got != "jpki: untrusted certificate" {
		t.Errorf("Error() without detail = %q", got)
	}
	wrapped := fmt.Errorf("link 3: %w", err)
	switch {
	case !errors.Is(wrapped, Expired):
		t.Error("errors.Is(wrapped, Expired) = false")
	case errors.Is(wrapped, NotYetValid):
		t.Error("errors.Is(wrapped, NotYetValid) = true")
	case !errors.Is(wrapped, &Error{Reason: Expired}):
		t.Error("errors.Is with a reason-only *Error target = false")
	case errors.Is(wrapped, &Error{Reason: Expired, Detail: "other"}):
		t.Error("errors.Is with a different detail = true")
	case ReasonOf(wrapped) != Expired, ReasonOf(nil) != 0, ReasonOf(errors.New("x")) != 0:
		t.Error("ReasonOf")
	}
	var je *Error
	if !errors.As(wrapped, &je) || je.Reason != Expired {
		t.Error("errors.As")
	}
	seen := map[string]bool{}
	for r := Malformed; r <= BadSignature; r++ {
		s := r.String()
		if seen[s] || s == "" || s[0] == 'R' {
			t.Errorf("Reason %d has name %q", int(r), s)
		}
		seen[s] = true
	}
	if got := Reason(99).String(); got != "Reason(99)" {
		t.Errorf("Reason(99).String() = %q", got)
	}
}

func TestCertID(t *testing.T) {
	f := fx(t)
	card := f.ca.MustIssue(t, testca.CardOptions{Serial: 0xff})
	id := IDOf(card.Cert)
	if !bytes.Equal(id.Issuer, f.ca.Cert.RawSubject) || !bytes.Equal(id.Serial, []byte{0xff}) {
		t.Errorf("IDOf = {%x, %x}, want {CA subject, ff} (minimal, no DER sign byte)", id.Issuer, id.Serial)
	}
	id.Issuer[0] ^= 1
	if IDOf(card.Cert).Issuer[0] == id.Issuer[0] {
		t.Error("IDOf aliases the certificate")
	}
	// Golden encoding: the format is stable.
	got := CertID{Issuer: []byte{0x30, 0x00}, Serial: big.NewInt(0x010203).Bytes()}.Key()
	if want := []byte{2, 0x30, 0x00, 3, 1, 2, 3}; !bytes.Equal(got, want) {
		t.Errorf("Key() = %x, want %x", got, want)
	}
	long := CertID{Issuer: bytes.Repeat([]byte{7}, 300)}.Key()
	if !bytes.Equal(long[:2], []byte{0xac, 0x02}) || len(long) != 2+300+1 {
		t.Errorf("Key() of a 300-byte issuer starts %x, length %d", long[:2], len(long))
	}
	// Injective: moving bytes between the fields changes the key.
	ids := []CertID{
		{Issuer: []byte("ab"), Serial: []byte("c")},
		{Issuer: []byte("a"), Serial: []byte("bc")},
		{Issuer: []byte("abc")},
		{Serial: []byte("abc")},
		{},
		IDOf(f.good.Cert), IDOf(f.good2.Cert), IDOf(f.fromSameName.Cert), IDOf(f.fromOtherName.Cert),
	}
	keys, fps := map[string]int{}, map[string]int{}
	for i, id := range ids {
		if j, dup := keys[string(id.Key())]; dup {
			t.Errorf("ids %d and %d have the same key %x", j, i, id.Key())
		}
		keys[string(id.Key())] = i
		fp := id.Fingerprint()
		h := sha256.Sum256(id.Key())
		if fp != hex.EncodeToString(h[:]) {
			t.Errorf("Fingerprint() = %s, want hex sha256 of Key()", fp)
		}
		fps[fp] = i
	}
	if len(fps) != len(ids) {
		t.Error("fingerprints collide")
	}
}

// TestVerifyCertificateIssuer: two anchors with one name are told apart by
// the key that signed the certificate.
func TestVerifyCertificateIssuer(t *testing.T) {
	a, err := testca.NewCA(testca.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := testca.NewCA(testca.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := newV(t, 16, a.Cert, b.Cert)
	for _, ca := range []*testca.CA{a, b} {
		card := ca.MustIssue(t, testca.CardOptions{Serial: 77})
		_, key, err := v.VerifyCertificateIssuer(card.CertDER, testca.CardNotBefore.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key, IssuerKey(ca.Cert)) {
			t.Fatalf("issuer key %x, want %x", key, IssuerKey(ca.Cert))
		}
	}
	if bytes.Equal(IssuerKey(a.Cert), IssuerKey(b.Cert)) {
		t.Fatal("two CA keys give one issuer key")
	}
}
