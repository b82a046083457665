package testca

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"
)

// rdns decodes a DER Name into "type=value" strings, one per RDN, in order.
func rdns(t *testing.T, der []byte) []string {
	t.Helper()
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
		t.Fatalf("bad Name DER: %v (rest %d bytes)", err, len(rest))
	}
	var out []string
	for _, rdn := range seq {
		if len(rdn) != 1 {
			t.Fatalf("multi-valued RDN %v", rdn)
		}
		out = append(out, fmt.Sprintf("%v=%v", rdn[0].Type, rdn[0].Value))
	}
	return out
}

func TestNewCADefaults(t *testing.T) {
	ca := MustCA(t)
	c := ca.Cert
	want := []string{
		"2.5.4.6=JP",
		"2.5.4.10=JPKI-TEST",
		"2.5.4.11=JPKI for user authentication",
		"2.5.4.11=Japan Agency for Local Authority Information Systems",
	}
	if got := rdns(t, c.RawSubject); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("subject RDNs = %q, want %q", got, want)
	}
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		t.Error("CA is not self-issued")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		t.Error("CA lacks basicConstraints CA:TRUE")
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA key usage = %b", c.KeyUsage)
	}
	if c.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("signature algorithm = %v", c.SignatureAlgorithm)
	}
	if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 || !pub.Equal(&ca.Key.PublicKey) {
		t.Errorf("CA key is not the RSA-2048 CA.Key")
	}
	if !c.NotBefore.Equal(CANotBefore) || !c.NotAfter.Equal(CANotAfter) {
		t.Errorf("validity %s..%s, want %s..%s", c.NotBefore, c.NotAfter, CANotBefore, CANotAfter)
	}
	block, rest := pem.Decode(ca.CertPEM)
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, c.Raw) || len(rest) != 0 {
		t.Error("CertPEM is not exactly Cert as a PEM CERTIFICATE")
	}
}

func TestNewCAOptions(t *testing.T) {
	nb, na := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC), time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	a, err := NewCA(CAOptions{NotBefore: nb, NotAfter: na, Name: "prefecture 13"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Cert.NotBefore.Equal(nb) || !a.Cert.NotAfter.Equal(na) {
		t.Errorf("validity %s..%s, want %s..%s", a.Cert.NotBefore, a.Cert.NotAfter, nb, na)
	}
	if got := rdns(t, a.Cert.RawSubject); len(got) != 5 || got[4] != "2.5.4.11=prefecture 13" {
		t.Errorf("subject with Name = %q, want a fifth RDN OU=prefecture 13", got)
	}
	// A renewed root: same key, same name, new period.
	b, err := NewCA(CAOptions{Key: a.Key, Name: "prefecture 13"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Key != a.Key || !bytes.Equal(a.Cert.RawSubject, b.Cert.RawSubject) || bytes.Equal(a.Cert.Raw, b.Cert.Raw) {
		t.Error("CAOptions.Key did not make a renewed root")
	}
	if c := MustCA(t); c.Key.Equal(a.Key) || c.Cert.SerialNumber.Cmp(a.Cert.SerialNumber) == 0 {
		t.Error("a new default CA shares a key or serial with an earlier one")
	}
	if _, err := NewCA(CAOptions{NotBefore: na, NotAfter: nb}); err == nil {
		t.Error("NewCA accepted NotAfter before NotBefore")
	}
}

var opaqueCN = regexp.MustCompile(`^[0-9A-F]{32}$`)

func TestIssueDefaults(t *testing.T) {
	ca := MustCA(t)
	card := ca.MustIssue(t, CardOptions{})
	c := card.Cert
	if !bytes.Equal(c.Raw, card.CertDER) {
		t.Error("Cert is not CertDER")
	}
	got := rdns(t, c.RawSubject)
	if len(got) != 2 || got[0] != "2.5.4.6=JP" || !opaqueCN.MatchString(c.Subject.CommonName) || got[1] != "2.5.4.3="+c.Subject.CommonName {
		t.Errorf("card subject = %q, want exactly C=JP, CN=<32 hex digits>", got)
	}
	if !bytes.Equal(c.RawIssuer, ca.Cert.RawSubject) {
		t.Error("card issuer is not the CA subject")
	}
	if err := c.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("card not signed by CA: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	chains, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil || len(chains) != 1 || len(chains[0]) != 2 {
		t.Errorf("card does not chain directly to the CA: chains %d, err %v", len(chains), err)
	}
	if c.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("signature algorithm = %v", c.SignatureAlgorithm)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature || c.IsCA {
		t.Errorf("key usage %b, IsCA %v; want digitalSignature only, not a CA", c.KeyUsage, c.IsCA)
	}
	if pub, ok := c.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 || !pub.Equal(&card.Key.PublicKey) {
		t.Error("card key is not the RSA-2048 Card.Key")
	}
	if !c.NotBefore.Equal(CardNotBefore) || !c.NotAfter.Equal(CardNotAfter) {
		t.Errorf("validity %s..%s, want %s..%s", c.NotBefore, c.NotAfter, CardNotBefore, CardNotAfter)
	}
	if !bytes.Equal(c.AuthorityKeyId, ca.Cert.SubjectKeyId) || len(c.AuthorityKeyId) == 0 {
		t.Error("card authorityKeyIdentifier does not match the CA's subjectKeyIdentifier")
	}
	if card.Key.Equal(ca.Key) {
		t.Error("card shares the CA's key")
	}
	if c.SerialNumber.Int64() < FirstSerial {
		t.Errorf("automatic serial %v < FirstSerial", c.SerialNumber)
	}
}

func TestIssueOptions(t *testing.T) {
	ca := MustCA(t)
	nb, na := time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC), time.Date(2030, 5, 5, 0, 0, 0, 0, time.UTC)
	card := ca.MustIssue(t, CardOptions{NotBefore: nb, NotAfter: na, Serial: 0x0100, Key: Key(5), KeyUsage: x509.KeyUsageKeyEncipherment})
	c := card.Cert
	switch {
	case !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na):
		t.Errorf("validity %s..%s", c.NotBefore, c.NotAfter)
	case c.SerialNumber.Int64() != 0x0100:
		t.Errorf("serial %v, want 256", c.SerialNumber)
	case card.Key != Key(5):
		t.Error("Key option ignored")
	case c.KeyUsage != x509.KeyUsageKeyEncipherment:
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if _, err := ca.Issue(CardOptions{Serial: -1}); err == nil {
		t.Error("negative serial accepted")
	}
	if _, err := ca.Issue(CardOptions{NotBefore: na, NotAfter: nb}); err == nil {
		t.Error("NotAfter before NotBefore accepted")
	}
}

func TestSerialsUniqueConcurrently(t *testing.T) {
	cas := []*CA{MustCA(t), MustCA(t)} // same subject: serials must still differ
	const perCA = 24
	var (
		mu    sync.Mutex
		seen  = map[string]bool{}
		wg    sync.WaitGroup
		dupes []string
	)
	for _, ca := range cas {
		for range perCA {
			wg.Go(func() {
				card, err := ca.Issue(CardOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				k := card.Cert.SerialNumber.String()
				mu.Lock()
				if seen[k] {
					dupes = append(dupes, k)
				}
				seen[k] = true
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if len(dupes) > 0 || len(seen) != 2*perCA {
		t.Errorf("duplicate serials %v (%d distinct of %d)", dupes, len(seen), 2*perCA)
	}
}

func TestKeyPool(t *testing.T) {
	if Key(0) != Key(0) {
		t.Error("Key(0) not cached")
	}
	if Key(0).Equal(Key(1)) {
		t.Error("Key(0) and Key(1) are the same key")
	}
	if Key(0).N.BitLen() != 2048 {
		t.Errorf("pool key is RSA-%d", Key(0).N.BitLen())
	}
	ca := MustCA(t)
	a, b := ca.MustIssue(t, CardOptions{}), ca.MustIssue(t, CardOptions{})
	if a.Key.Equal(b.Key) {
		t.Error("consecutive cards share a key")
	}
	for i := range 4 {
		if ca.Key.Equal(Key(i)) {
			t.Errorf("CA key is pool key %d", i)
		}
	}
	Prefetch(6)
	for j := range 6 {
		select {
		case <-cardKeys.slot(j).done:
		default:
			t.Errorf("Prefetch(6) returned before key %d was ready", j)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Key(-1) did not panic")
		}
	}()
	Key(-1)
}

func TestSign(t *testing.T) {
	card := MustCA(t).MustIssue(t, CardOptions{})
	msg := []byte("mykey link request sign bytes")
	sig := card.MustSign(t, msg)
	h := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(&card.Key.PublicKey, crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("card signature is not PKCS#1 v1.5 SHA-256: %v", err)
	}
	// Signing the DigestInfo raw is exactly PKCS#1 v1.5 SHA-256 signing.
	direct, err := rsa.SignPKCS1v15(nil, card.Key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, direct) {
		t.Error("card signature differs from rsa.SignPKCS1v15(SHA256)")
	}
	other := sha256.Sum256([]byte("other bytes"))
	if rsa.VerifyPKCS1v15(&card.Key.PublicKey, crypto.SHA256, other[:], sig) == nil {
		t.Error("signature verifies over other bytes")
	}
}
