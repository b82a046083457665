package testca

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func TestInitLoadIssue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := Init(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !loaded.Key.Equal(ca.Key) {
		t.Fatal("Load does not give back the CA Init made")
	}
	if !ca.Cert.NotBefore.Equal(t0.Add(-Backdate)) || !ca.Cert.NotAfter.Equal(t0.Add(CAValidity)) {
		t.Errorf("CA validity %v..%v", ca.Cert.NotBefore, ca.Cert.NotAfter)
	}
	a, err := loaded.IssueCardFile("1234", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loaded.IssueCardFile("1234", t0)
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := x509.ParseCertificate(a.Certificate)
	ca2, _ := x509.ParseCertificate(b.Certificate)
	if ca1.SerialNumber.Cmp(ca2.SerialNumber) == 0 || ca1.Subject.CommonName == ca2.Subject.CommonName {
		t.Error("two cards share a serial number or a CN")
	}
	if err := ca1.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("card certificate not signed by the CA: %v", err)
	}
	if ca1.KeyUsage != x509.KeyUsageDigitalSignature || ca1.IsCA {
		t.Errorf("key usage %v, CA %v", ca1.KeyUsage, ca1.IsCA)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("issued card is not a valid card file: %v", err)
	}
	// A card never outlives its CA.
	late, err := loaded.IssueCardFile("1234", t0.Add(CAValidity-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := x509.ParseCertificate(late.Certificate); c.NotAfter.After(ca.Cert.NotAfter) {
		t.Error("card valid after its CA")
	}
	if _, err := loaded.IssueCardFile("12345", t0); err == nil {
		t.Error("Issue with a 5-digit PIN succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "testca init") {
		t.Errorf("Load of an empty directory: %v", err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if _, err := Init(a, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(b, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(a, t0); err == nil {
		t.Error("Init over an existing CA succeeded")
	}
	// a's certificate with b's key.
	key, _ := os.ReadFile(filepath.Join(b, KeyFile))
	os.Remove(filepath.Join(a, KeyFile))
	os.WriteFile(filepath.Join(a, KeyFile), key, 0o600)
	if _, err := Load(a); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Load of a CA with the wrong key: %v", err)
	}
}
