// Package testca builds JPKI-shaped test certificates: a test root CA
// shaped like the J-LIS user-authentication CA, and "cards" whose
// certificates chain directly to it and which sign the way a My Number Card
// does (RSASSA-PKCS1-v1_5 over a SHA-256 DigestInfo).
//
// RSA-2048 key generation is slow, so card keys come from a process-wide,
// lazily generated pool (see Key and Prefetch) and Issue cycles through its
// first PoolSize keys. Serial numbers come from a process-wide counter, so
// automatically numbered certificates never share an issuer and serial, even
// across test CAs with the same name.
//
// Everything here is safe for concurrent use. It is for tests and test
// networks only: the keys are not protected in any way. It is the one test
// CA of the repository: dir.go keeps one on disk for `mykey testca` and
// `mykeyd testnet`.
package testca

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"
)

// Default validity periods, used for zero times in CAOptions and
// CardOptions. Do not modify.
var (
	CANotBefore   = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	CANotAfter    = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	CardNotBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	CardNotAfter  = time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
)

// FirstSerial is the first automatically assigned serial number. Explicit
// serials below it never collide with automatic ones.
const FirstSerial = 1_000_000

var (
	nextSerial  atomic.Int64 // automatic serials: FirstSerial + n
	nextCAKey   atomic.Int64 // index into caKeys
	nextCardKey atomic.Int64 // index into cardKeys, mod PoolSize
)

func newSerial() int64 { return FirstSerial + nextSerial.Add(1) - 1 }

// CA is a test root CA.
type CA struct {
	Cert    *x509.Certificate
	Key     *rsa.PrivateKey
	CertPEM []byte // Cert as a PEM CERTIFICATE block, as genesis lists it
}

// CAOptions configure NewCA. The zero value is a valid default.
type CAOptions struct {
	NotBefore, NotAfter time.Time // zero: CANotBefore, CANotAfter
	// Name, if set, is appended to the subject as a further OU, so that
	// test CAs can have distinct names. Without it every test CA has the
	// same subject (as the real 2015 and 2023 J-LIS roots do).
	Name string
	// Key is the CA key; nil means a fresh RSA-2048 key used by no other
	// CA and no card. Reusing a CA's key with another validity period
	// makes a "renewed" root.
	Key *rsa.PrivateKey
	// Serial is the CA certificate's serial number; nil means the next
	// automatic one (unique in the process).
	Serial *big.Int
}

var (
	oidCountry = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidOrg     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// NewCA makes a self-signed root CA with subject (and issuer)
//
//	C=JP, O=JPKI-TEST, OU=JPKI for user authentication,
//	OU=Japan Agency for Local Authority Information Systems[, OU=<Name>]
//
// each attribute in its own RDN as in the real J-LIS root, an RSA-2048 key,
// basicConstraints CA:TRUE and keyUsage keyCertSign|cRLSign, signed with
// sha256WithRSAEncryption.
func NewCA(opts CAOptions) (*CA, error) {
	notBefore, notAfter := orDefault(opts.NotBefore, CANotBefore), orDefault(opts.NotAfter, CANotAfter)
	if notAfter.Before(notBefore) {
		return nil, fmt.Errorf("testca: CA NotAfter %s is before NotBefore %s", notAfter, notBefore)
	}
	key := opts.Key
	if key == nil {
		key = caKeys.get(int(nextCAKey.Add(1) - 1))
	}
	rdns := caRDNs()
	serial := opts.Serial
	if serial == nil {
		serial = big.NewInt(newSerial())
	}
	if opts.Name != "" {
		rdns = append(rdns, []pkix.AttributeTypeAndValue{{Type: oidOrgUnit, Value: opts.Name}})
	}
	rawName, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fmt.Errorf("testca: CA name: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            rawName,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testca: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parsing CA certificate: %w", err)
	}
	return &CA{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// caRDNs is the subject of every test CA without a Name: the J-LIS
// user-authentication root's, with O=JPKI-TEST.
func caRDNs() pkix.RDNSequence {
	return pkix.RDNSequence{
		{{Type: oidCountry, Value: "JP"}},
		{{Type: oidOrg, Value: "JPKI-TEST"}},
		{{Type: oidOrgUnit, Value: "JPKI for user authentication"}},
		{{Type: oidOrgUnit, Value: "Japan Agency for Local Authority Information Systems"}},
	}
}

// TB is the part of testing.TB the Must helpers use; the package does not
// import testing, so binaries that make test networks do not link it.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// MustCA returns NewCA(CAOptions{}), failing t on error.
func MustCA(t TB) *CA {
	t.Helper()
	ca, err := NewCA(CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// Card is a test My Number Card: its user-authentication certificate and key.
type Card struct {
	Cert    *x509.Certificate
	CertDER []byte
	Key     *rsa.PrivateKey
}

// CardOptions configure Issue. The zero value is a valid default.
type CardOptions struct {
	NotBefore, NotAfter time.Time // zero: CardNotBefore, CardNotAfter
	// Serial is the serial number; 0 means the next automatic one
	// (FirstSerial and up, unique in the process). Must not be negative.
	Serial int64
	// Key is the card key; nil means the next pool key (see PoolSize).
	// Any RSA key may be given, e.g. a weak one.
	Key *rsa.PrivateKey
	// KeyUsage is the keyUsage extension; 0 means DigitalSignature.
	KeyUsage x509.KeyUsage
	// CASigner, if set, signs the certificate in place of the CA's key; it
	// must hold that same key (e.g. a faster implementation of it).
	CASigner crypto.Signer
}

// Issue issues a card certificate signed by ca with sha256WithRSAEncryption:
// subject C=JP, CN=<32 opaque upper-case hex digits> (no personal data),
// the given key usage (critical) and an authorityKeyIdentifier.
func (ca *CA) Issue(opts CardOptions) (*Card, error) {
	notBefore, notAfter := orDefault(opts.NotBefore, CardNotBefore), orDefault(opts.NotAfter, CardNotAfter)
	if notAfter.Before(notBefore) {
		return nil, fmt.Errorf("testca: card NotAfter %s is before NotBefore %s", notAfter, notBefore)
	}
	serial := opts.Serial
	switch {
	case serial < 0:
		return nil, errors.New("testca: negative serial number")
	case serial == 0:
		serial = newSerial()
	}
	key := opts.Key
	if key == nil {
		key = Key(int((nextCardKey.Add(1) - 1) % PoolSize))
	}
	ku := opts.KeyUsage
	if ku == 0 {
		ku = x509.KeyUsageDigitalSignature
	}
	// An opaque CN, as on a real card: a hash, not a name.
	h := sha256.New()
	h.Write(ca.Cert.Raw)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(serial)))
	cn := strings.ToUpper(hex.EncodeToString(h.Sum(nil)[:16]))

	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(serial),
		Subject:            pkix.Name{Country: []string{"JP"}, CommonName: cn},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           ku,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	var signer crypto.Signer = ca.Key
	if opts.CASigner != nil {
		signer = opts.CASigner
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("testca: issuing card certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testca: parsing card certificate: %w", err)
	}
	return &Card{Cert: cert, CertDER: der, Key: key}, nil
}

// MustIssue is Issue, failing t on error.
func (ca *CA) MustIssue(t TB, opts CardOptions) *Card {
	t.Helper()
	c, err := ca.Issue(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sha256DigestInfoPrefix is the DER of DigestInfo{sha256, NULL} up to the
// digest (kept separate from package jpki: this is the card's side).
var sha256DigestInfoPrefix = []byte{
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
}

// Sign signs signBytes as a JPKI card does: the host sends the SHA-256
// DigestInfo of signBytes, and the card PKCS#1 v1.5-pads it and applies its
// private key. The result is an RSASSA-PKCS1-v1_5 SHA-256 signature.
func (c *Card) Sign(signBytes []byte) ([]byte, error) {
	h := sha256.Sum256(signBytes)
	digestInfo := append(append([]byte(nil), sha256DigestInfoPrefix...), h[:]...)
	return rsa.SignPKCS1v15(nil, c.Key, crypto.Hash(0), digestInfo)
}

// MustSign is Sign, failing t on error.
func (c *Card) MustSign(t TB, signBytes []byte) []byte {
	t.Helper()
	sig, err := c.Sign(signBytes)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func orDefault(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
