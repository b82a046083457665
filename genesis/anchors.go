package genesis

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
	"github.com/mykeyledger/mykey/app/jpki"
)

//go:embed anchors/auth_ca_2015.pem anchors/auth_ca_2023.pem
var anchorFiles embed.FS

// productionAnchorFiles are the J-LIS user-authentication CA roots, oldest
// first (anchors/, as J-LIS publishes them; their SHA-256 fingerprints are
// checked in anchors_test.go).
var productionAnchorFiles = []string{
	"anchors/auth_ca_2015.pem", // 2015-10-20 .. 2025-10-19, SHA-256 4D:CF:C4:CA:…:1D:58:CA:7D
	"anchors/auth_ca_2023.pem", // 2023-07-16 .. 2033-07-15, SHA-256 64:11:4F:29:…:18:C3:22:B5
}

// ProductionTrustAnchors returns the real JPKI user-authentication CA roots
// operated by J-LIS, as PEM, oldest first. My Number Cards chain directly to
// them. A production genesis lists them in app_state.trust_anchors; test
// networks use a JPKI-shaped test CA instead. The 2015 root has expired but
// is kept: whether a card's certificate is valid is judged at block time.
func ProductionTrustAnchors() []string {
	out := make([]string, len(productionAnchorFiles))
	for i, name := range productionAnchorFiles {
		bz, err := anchorFiles.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("genesis: embedded trust anchor %s: %v", name, err))
		}
		out[i] = string(bz)
	}
	return out
}

// Anchors parses the trust anchors into certificates, in order. It applies
// the trust_anchors rules of Validate and fails with all their problems.
func (a *AppState) Anchors() ([]*x509.Certificate, error) {
	certs, ps := parseAnchors(a.TrustAnchors)
	if len(ps) > 0 {
		return nil, ps.err()
	}
	return certs, nil
}

// parseAnchors parses and checks the trust anchors: at least one, each a
// single PEM CERTIFICATE of an RSA CA (at least MinRSABits) that may sign
// certificates, and no certificate twice.
func parseAnchors(pems []string) ([]*x509.Certificate, problems) {
	var ps problems
	if len(pems) == 0 {
		ps.add("trust_anchors must list at least one CA certificate")
		return nil, ps
	}
	certs := make([]*x509.Certificate, 0, len(pems))
	seen := map[[sha256.Size]byte]int{}
	for i, s := range pems {
		field := fmt.Sprintf("trust_anchors[%d]", i)
		cert, certPs := parseAnchor(field, s)
		ps = append(ps, certPs...)
		if cert == nil {
			continue
		}
		sum := sha256.Sum256(cert.Raw)
		if j, dup := seen[sum]; dup {
			ps.add("%s: duplicate certificate (also trust_anchors[%d])", field, j)
			continue
		}
		seen[sum] = i
		certs = append(certs, cert)
	}
	return certs, ps
}

// parseAnchor parses one trust anchor; the certificate is nil when it does
// not parse.
func parseAnchor(field, s string) (*x509.Certificate, problems) {
	var ps problems
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		ps.add("%s: bad PEM", field)
		return nil, ps
	}
	if block.Type != "CERTIFICATE" {
		ps.add("%s: PEM block is %q, want \"CERTIFICATE\"", field, block.Type)
		return nil, ps
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		ps.add("%s: data after the certificate; give one certificate per entry", field)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		ps.add("%s: bad certificate: %v", field, err)
		return nil, ps
	}
	if err := jpki.CheckAnchor(cert); err != nil {
		ps.add("%s: %v", field, err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		ps.add("%s: not an RSA key (%v); JPKI CAs use RSA", field, cert.PublicKeyAlgorithm)
	} else if bits := pub.N.BitLen(); bits < MinRSABits {
		ps.add("%s: RSA key is %d bits, at least %d required", field, bits, MinRSABits)
	}
	return cert, ps
}
