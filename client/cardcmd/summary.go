package cardcmd

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// CertSummary is what the commands show of a card certificate; its JSON is
// part of the stable --json output.
type CertSummary struct {
	Subject     string `json:"subject"`
	Issuer      string `json:"issuer"`
	Serial      string `json:"serial"` // lower-case hex
	NotBefore   string `json:"not_before"`
	NotAfter    string `json:"not_after"`
	Fingerprint string `json:"fingerprint"` // jpki.IDOf(cert).Fingerprint()
}

// Summarize describes cert.
func Summarize(cert *x509.Certificate) CertSummary {
	return CertSummary{
		Subject:     nameString(cert.RawSubject),
		Issuer:      nameString(cert.RawIssuer),
		Serial:      hex.EncodeToString(cert.SerialNumber.Bytes()),
		NotBefore:   cert.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:    cert.NotAfter.UTC().Format(time.RFC3339),
		Fingerprint: fingerprint(cert),
	}
}

func (s CertSummary) print(w io.Writer) error {
	_, err := fmt.Fprintf(w, "subject:     %s\nissuer:      %s\nserial:      %s\nvalid:       %s to %s\nfingerprint: %s\n",
		s.Subject, s.Issuer, s.Serial, s.NotBefore, s.NotAfter, s.Fingerprint)
	return err
}

// nameString formats a DER Name as in RFC 4514 keeping its RDNs (the J-LIS
// root has two OU RDNs, which pkix.Name.String would merge).
func nameString(der []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return hex.EncodeToString(der)
	}
	return rdns.String()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
