package jpki

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/internal/testca"
)

// The real J-LIS user-authentication roots (testdata/, as J-LIS publishes
// them) and their SHA-256 fingerprints as J-LIS lists them.
var realRoots = []struct {
	file, fingerprint string
	notBefore         time.Time
}{
	{"testdata/auth_ca_2015.pem", "4DCFC4CA0AAF9FB2A3081B3F0C991C320B3ACC008667A341EEAEC5AF1D58CA7D", time.Date(2015, 10, 20, 3, 8, 13, 0, time.UTC)},
	{"testdata/auth_ca_2023.pem", "64114F29620C24ED2631D46476A040E7EE740D956089C00B036A6A8118C322B5", time.Date(2023, 7, 16, 1, 1, 4, 0, time.UTC)},
}

func TestParseTrustAnchorsRealRoots(t *testing.T) {
	var all []byte
	for _, r := range realRoots {
		pemBytes, err := os.ReadFile(r.file)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pemBytes...)
		certs, err := ParseTrustAnchors(pemBytes)
		if err != nil {
			t.Fatalf("%s: %v", r.file, err)
		}
		if len(certs) != 1 {
			t.Fatalf("%s: %d certificates", r.file, len(certs))
		}
		c := certs[0]
		if fp := sha256.Sum256(c.Raw); !strings.EqualFold(hex.EncodeToString(fp[:]), r.fingerprint) {
			t.Errorf("%s: fingerprint %x, README says %s", r.file, fp, r.fingerprint)
		}
		if got := nameString(c.RawSubject); got != "OU=Japan Agency for Local Authority Information Systems,OU=JPKI for user authentication,O=JPKI,C=JP" {
			t.Errorf("%s: subject %q", r.file, got)
		}
		if !c.NotBefore.Equal(r.notBefore) || !c.IsCA {
			t.Errorf("%s: NotBefore %s, IsCA %v", r.file, c.NotBefore, c.IsCA)
		}
	}
	certs, err := ParseTrustAnchors(all)
	if err != nil || len(certs) != 2 || !certs[0].NotBefore.Equal(realRoots[0].notBefore) {
		t.Fatalf("both roots: %d certificates, %v", len(certs), err)
	}
	v, err := NewVerifier(certs)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Anchors(); len(got) != 2 || got[0] != certs[0] || got[1] != certs[1] {
		t.Error("Anchors() does not return the anchors in order")
	}
	v.Anchors()[0] = nil
	if v.Anchors()[0] == nil {
		t.Error("Anchors() exposes the verifier's slice")
	}
	// A root is a CA, so it is no card even though it is trusted.
	if _, err := v.VerifyCertificate(certs[1].Raw, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); ReasonOf(err) != KeyUsage {
		t.Errorf("2023 root as a card: %v, want KeyUsage", err)
	}
}

func TestParseTrustAnchorsErrors(t *testing.T) {
	f := fx(t)
	caPEM := string(f.ca.CertPEM)
	cardPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.good.CertDER}))
	// A CA certificate whose key usage forbids signing certificates.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "no certSign"}, NotBefore: testca.CANotBefore, NotAfter: testca.CANotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &testca.Key(13).PublicKey, testca.Key(13))
	if err != nil {
		t.Fatal(err)
	}
	noCertSignPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	brokenBase64 := strings.Replace(caPEM, "\n", "\n!!!!", 2)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no trust anchors"},
		{"white space only", " \n\t\n", "no trust anchors"},
		{"not PEM", "MIIFIDCCBAigAwIBAgIBATANBgkqhkiG9w0BAQsFADCBgjEL", "input is not PEM"},
		{"non-CA certificate", cardPEM, `trust anchor 0 (CN=` + f.good.Cert.Subject.CommonName + `,C=JP): not a CA certificate`},
		{"non-CA certificate second", caPEM + cardPEM, "trust anchor 1 (CN="},
		{"CA without keyCertSign", noCertSignPEM, "trust anchor 0 (CN=no certSign): key usage {digitalSignature, cRLSign} does not include keyCertSign"},
		{"private key block", caPEM + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", `trust anchor 1: PEM block type is "PRIVATE KEY", want "CERTIFICATE"`},
		{"missing END line", caPEM + strings.Split(caPEM, "-----END")[0], "trust anchor 1: malformed PEM block"},
		{"bad base64 before a good block", brokenBase64 + caPEM, "trust anchor 0: malformed PEM block"},
		{"text before a block", "J-LIS root:\n" + caPEM, "trust anchor 0: unexpected non-PEM text"},
		{"trailing junk", caPEM + "junk\n", "data after trust anchor 0 is not PEM"},
		{"bad DER", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "trust anchor 0: x509:"},
		{"duplicate", caPEM + "\n" + caPEM, "trust anchor 1 (OU=Japan Agency for Local Authority Information Systems,OU=JPKI for user authentication,O=JPKI-TEST,C=JP): duplicates trust anchor 0"},
	}
	for _, tt := range tests {
		certs, err := ParseTrustAnchors([]byte(tt.in))
		if err == nil {
			t.Errorf("%s: accepted %d anchors", tt.name, len(certs))
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "jpki: ") {
			t.Errorf("%s: error %q does not contain %q", tt.name, err, tt.want)
		}
	}
	// And what it accepts: several CAs, separated by any white space.
	certs, err := ParseTrustAnchors([]byte("\n" + caPEM + "\r\n\n" + string(f.otherNameCA.CertPEM)))
	if err != nil || len(certs) != 2 || !bytes.Equal(certs[1].Raw, f.otherNameCA.Cert.Raw) {
		t.Errorf("two test CAs: %d, %v", len(certs), err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	f := fx(t)
	tests := []struct {
		name    string
		anchors []*x509.Certificate
		want    string
	}{
		{"none", nil, "no trust anchors"},
		{"nil anchor", []*x509.Certificate{f.ca.Cert, nil}, "trust anchor 1: nil certificate"},
		{"card as anchor", []*x509.Certificate{f.good.Cert}, "trust anchor 0 (CN="},
		{"unparsed", []*x509.Certificate{{IsCA: true, BasicConstraintsValid: true}}, "trust anchor 0: certificate was not parsed"},
		{"duplicate", []*x509.Certificate{f.ca.Cert, f.otherNameCA.Cert, f.ca.Cert}, "duplicates trust anchor 0"},
	}
	for _, tt := range tests {
		if _, err := NewVerifier(tt.anchors); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	anchors := []*x509.Certificate{f.ca.Cert}
	v, err := NewVerifier(anchors)
	if err != nil {
		t.Fatal(err)
	}
	anchors[0] = f.otherNameCA.Cert // the verifier keeps its own copy
	if _, err := v.VerifyCertificate(f.good.CertDER, blockTime); err != nil {
		t.Errorf("verifier changed with the caller's slice: %v", err)
	}
}
