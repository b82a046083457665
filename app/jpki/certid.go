package jpki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
)

// CertID identifies a certificate the way revocation does (RFC 5280): by
// its issuer name and serial number.
type CertID struct {
	Issuer []byte // the issuer Name, DER (the certificate's RawIssuer)
	Serial []byte // the serial number, big-endian, minimal (no leading zero bytes; zero is empty)
}

// IDOf returns the CertID of cert. The slices are copies. (Serial is the
// magnitude of the serial number; VerifyCertificate refuses certificates
// with negative serial numbers.)
func IDOf(cert *x509.Certificate) CertID {
	id := CertID{Issuer: append([]byte(nil), cert.RawIssuer...)}
	if cert.SerialNumber != nil {
		id.Serial = cert.SerialNumber.Bytes()
	}
	return id
}

// Key returns a stable, injective encoding of id for use as a store key:
//
//	uvarint(len(Issuer)) || Issuer || uvarint(len(Serial)) || Serial
//
// Distinct CertIDs always give distinct keys. The format never changes.
func (id CertID) Key() []byte {
	out := make([]byte, 0, 2*binary.MaxVarintLen64+len(id.Issuer)+len(id.Serial))
	out = binary.AppendUvarint(out, uint64(len(id.Issuer)))
	out = append(out, id.Issuer...)
	out = binary.AppendUvarint(out, uint64(len(id.Serial)))
	return append(out, id.Serial...)
}

// Fingerprint returns the lower-case hex SHA-256 of id.Key(), for display
// and as a fixed-length key.
func (id CertID) Fingerprint() string {
	h := sha256.Sum256(id.Key())
	return hex.EncodeToString(h[:])
}
