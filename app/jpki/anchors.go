package jpki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseTrustAnchors parses PEM-encoded trust anchors (the CA certificates
// listed in genesis), in order. The input must consist only of PEM blocks
// separated by white space; every block must be a CERTIFICATE of a CA
// (basicConstraints CA:TRUE) whose key usage, if present, includes
// certificate signing; no certificate may appear twice. Errors name the
// offending anchor by its 0-based index.
func ParseTrustAnchors(pemBytes []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := pemBytes
	for i := 0; ; i++ {
		start := bytes.Index(rest, []byte("-----BEGIN "))
		if start < 0 {
			if len(bytes.TrimSpace(rest)) > 0 {
				if i == 0 {
					return nil, errors.New("jpki: trust anchors: input is not PEM (no -----BEGIN line)")
				}
				return nil, fmt.Errorf("jpki: trust anchors: data after trust anchor %d is not PEM", i-1)
			}
			break
		}
		if len(bytes.TrimSpace(rest[:start])) > 0 {
			return nil, fmt.Errorf("jpki: trust anchor %d: unexpected non-PEM text before its PEM block", i)
		}
		rest = rest[start:]
		block, after := pem.Decode(rest)
		// pem.Decode silently skips a malformed block and returns the next
		// one; refuse instead, so that no anchor is ever dropped unnoticed.
		if block == nil || bytes.Count(rest[:len(rest)-len(after)], []byte("-----BEGIN ")) != 1 {
			return nil, fmt.Errorf("jpki: trust anchor %d: malformed PEM block (bad base64 or missing -----END line)", i)
		}
		rest = after
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("jpki: trust anchor %d: PEM block type is %q, want \"CERTIFICATE\"", i, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jpki: trust anchor %d: %v", i, err)
		}
		certs = append(certs, cert)
	}
	if err := checkAnchors(certs); err != nil {
		return nil, err
	}
	return certs, nil
}

// checkAnchors applies the trust-anchor rules of ParseTrustAnchors.
func checkAnchors(anchors []*x509.Certificate) error {
	if len(anchors) == 0 {
		return errors.New("jpki: no trust anchors: at least one CA certificate is required")
	}
	for i, a := range anchors {
		if a == nil {
			return fmt.Errorf("jpki: trust anchor %d: nil certificate", i)
		}
		if len(a.Raw) == 0 {
			return fmt.Errorf("jpki: trust anchor %d: certificate was not parsed from DER (empty Raw)", i)
		}
		if err := CheckAnchor(a); err != nil {
			return fmt.Errorf("jpki: trust anchor %d (%s): %w", i, nameString(a.RawSubject), err)
		}
		for j := range i {
			if bytes.Equal(anchors[j].Raw, a.Raw) {
				return fmt.Errorf("jpki: trust anchor %d (%s): duplicates trust anchor %d", i, nameString(a.RawSubject), j)
			}
		}
	}
	return nil
}

// CheckAnchor applies the rules one trust anchor must meet: parsed from
// DER, a CA (basicConstraints CA:TRUE) whose key usage, if present,
// includes certificate signing, with no critical extension the verifier
// does not handle. Genesis validation calls it too, so a genesis that
// validates is one the ledger starts from.
func CheckAnchor(a *x509.Certificate) error {
	switch {
	case len(a.Raw) == 0:
		return errors.New("certificate was not parsed from DER (empty Raw)")
	case !a.BasicConstraintsValid || !a.IsCA:
		return errors.New("not a CA certificate (basicConstraints CA:TRUE missing)")
	case a.KeyUsage != 0 && a.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("key usage %s does not include keyCertSign", keyUsageString(a.KeyUsage))
	case len(a.UnhandledCriticalExtensions) > 0:
		return fmt.Errorf("unsupported critical extension %v", a.UnhandledCriticalExtensions[0])
	}
	return nil
}

var keyUsageNames = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "contentCommitment"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

// keyUsageString names the bits of ku, e.g. "{keyCertSign, cRLSign}".
func keyUsageString(ku x509.KeyUsage) string {
	if ku == 0 {
		return "{} (no keyUsage extension)"
	}
	var b []byte
	for _, n := range keyUsageNames {
		if ku&n.bit != 0 {
			if len(b) > 0 {
				b = append(b, ", "...)
			}
			b = append(b, n.name...)
		}
	}
	return "{" + string(b) + "}"
}
