package pcsctest

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/mykeyledger/mykey/internal/cardfile"
	"github.com/mykeyledger/mykey/internal/testca"
)

var (
	caOnce sync.Once
	ca     *testca.CA
	caErr  error
)

// CA returns a JPKI-shaped test CA shared by the process.
func CA(t testing.TB) *testca.CA {
	t.Helper()
	caOnce.Do(func() { ca, caErr = testca.NewCA(testca.CAOptions{Name: "pcsctest"}) })
	if caErr != nil {
		t.Fatal(caErr)
	}
	return ca
}

// NewCard issues a test card with the given PIN and 3 tries, issued by CA.
func NewCard(t testing.TB, pin string) *cardfile.Card {
	t.Helper()
	ca := CA(t)
	c := ca.MustIssue(t, testca.CardOptions{})
	return &cardfile.Card{
		Certificate:   c.CertDER,
		CACertificate: ca.Cert.Raw,
		Key:           c.Key,
		PIN:           pin,
		TriesLeft:     cardfile.AuthPINTries,
		SignTriesLeft: cardfile.SignPINTries,
	}
}

// NewCardFile writes NewCard(t, pin) to a card file in a temporary
// directory and returns its path.
func NewCardFile(t testing.TB, pin string) (string, *cardfile.Card) {
	t.Helper()
	c := NewCard(t, pin)
	path := filepath.Join(t.TempDir(), "card.json")
	if err := cardfile.Create(path, c); err != nil {
		t.Fatal(err)
	}
	return path, c
}
