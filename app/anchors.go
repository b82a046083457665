package app

import (
	"crypto/x509"
	"fmt"
)

// parseDERs parses the trust anchors kept in state.
func parseDERs(ders [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("app: trust anchor %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}
