package main

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/mykeyledger/mykey/internal/testca"
)

// fastKey must make crypto/rsa's signatures, and certificates the test CA's
// key verifies.
func TestFastKey(t *testing.T) {
	k := testca.Key(0)
	f, err := newFastKey(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"", "link", "mykey/link/v1\n..."} {
		h := sha256.Sum256([]byte(m))
		want, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
		if err != nil {
			t.Fatal(err)
		}
		if got := f.SignMessage([]byte(m)); !bytes.Equal(got, want) {
			t.Fatalf("signature of %q differs from crypto/rsa's", m)
		}
	}
	ca := testca.MustCA(t)
	s, err := newLinkSigner(ca, "chain", "program")
	if err != nil {
		t.Fatal(err)
	}
	der, _, _, err := s.issue()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatal(err)
	}
}
