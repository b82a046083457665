package types

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/mykeyledger/mykey/app/jpki"
)

// Anchors parses the trust anchors into certificates, in order. It applies
// the trust_anchors rules of Validate and fails with all their problems.
func (a *GenesisState) Anchors() ([]*x509.Certificate, error) {
	certs, ps := parseAnchors(a.TrustAnchors)
	if len(ps) > 0 {
		return nil, ps.err()
	}
	return certs, nil
}

// parseAnchors parses and checks the trust anchors: at least one, each a
// single PEM CERTIFICATE of an RSA CA (at least MinRSABits) that may sign
// certificates, and no certificate twice.
func parseAnchors(pems []string) ([]*x509.Certificate, genesisProblems) {
	var ps genesisProblems
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
func parseAnchor(field, s string) (*x509.Certificate, genesisProblems) {
	var ps genesisProblems
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
