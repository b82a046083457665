// On disk: a test CA directory, as `mykey testca init` and `mykeyd testnet`
// make it, holds ca.pem (the certificate, which genesis lists as a trust
// anchor) and ca.key (its private key, PKCS#8 PEM, mode 0600). Cards issued
// from a loaded CA with IssueCardFile are software My Number Cards (package
// cardfile) with fresh keys and random 127-bit serial numbers. Nothing here
// is fit for real people: the keys are ordinary files.

package testca

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/internal/cardfile"
)

// File names inside a test CA directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca.key"
)

// Validity periods, counted from the time given to Init and Issue.
const (
	CAValidity   = 20 * 365 * 24 * time.Hour
	CardValidity = 5 * 365 * 24 * time.Hour
	// Backdate lets a freshly issued certificate be valid on nodes whose
	// clocks are a little behind.
	Backdate = 24 * time.Hour
)

// Name returns the DER subject of a test CA.
func Name() []byte {
	der, err := asn1.Marshal(caRDNs())
	if err != nil {
		panic("testca: " + err.Error())
	}
	return der
}

// NewAt makes a test CA in memory with a fresh key, valid from now-Backdate for CAValidity.
func NewAt(now time.Time) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("testca: generating the CA key: %w", err)
	}
	return NewCA(CAOptions{NotBefore: now.Add(-Backdate), NotAfter: now.Add(CAValidity), Key: key, Serial: randomSerial()})
}

// Init makes a test CA and saves it in dir, which must not hold one yet
// (dir is created, mode 0700, if needed).
func Init(dir string, now time.Time) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("testca: %w", err)
	}
	for _, f := range []string{CertFile, KeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return nil, fmt.Errorf("testca: %s already holds a test CA (%s): choose another --out", dir, f)
		}
	}
	ca, err := NewAt(now)
	if err != nil {
		return nil, err
	}
	if err := ca.Save(dir); err != nil {
		return nil, err
	}
	return ca, nil
}

// Save writes the CA into dir (which must exist) as ca.key and ca.pem,
// refusing to overwrite either.
func (ca *CA) Save(dir string) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return fmt.Errorf("testca: %w", err)
	}
	// The key first: a CA certificate without its key is useless, a key
	// without a certificate is harmless.
	if err := writeNew(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CertFile), ca.CertPEM, 0o644)
}

// CardFile is card as a software card file issued by ca, with the given
// 4-digit PIN and all tries left.
func (ca *CA) CardFile(card *Card, pin string) *cardfile.Card {
	return &cardfile.Card{
		Certificate:   card.CertDER,
		CACertificate: ca.Cert.Raw,
		Key:           card.Key,
		PIN:           pin,
		TriesLeft:     cardfile.AuthPINTries,
		SignTriesLeft: cardfile.SignPINTries,
	}
}

// Load reads the test CA in dir.
func Load(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("testca: no test CA in %s: make one with `mykey testca init --out %s`", dir, dir)
		}
		return nil, fmt.Errorf("testca: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("testca: the CA key: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("testca: %s is not a PEM certificate", filepath.Join(dir, CertFile))
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testca: %s: %w", filepath.Join(dir, CertFile), err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("testca: %s is not a PEM PKCS#8 private key", filepath.Join(dir, KeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testca: %s: %w", filepath.Join(dir, KeyFile), err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("testca: %s does not match %s", KeyFile, CertFile)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}

// IssueCardFile makes a new card: a fresh RSA-2048 key and a certificate valid
// from now-Backdate for CardValidity (never past the CA's own expiry),
// with the given 4-digit PIN and all tries left.
func (ca *CA) IssueCardFile(pin string, now time.Time) (*cardfile.Card, error) {
	if !cardfile.IsAuthPIN(pin) {
		return nil, errors.New("testca: the PIN must be 4 digits")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("testca: generating the card key: %w", err)
	}
	serial := randomSerial()
	h := sha256.Sum256(append(append([]byte(nil), ca.Cert.Raw...), serial.Bytes()...))
	notAfter := now.Add(CardValidity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{Country: []string{"JP"}, CommonName: strings.ToUpper(hex.EncodeToString(h[:16]))},
		NotBefore:          now.Add(-Backdate),
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("testca: issuing the card certificate: %w", err)
	}
	return &cardfile.Card{
		Certificate:   der,
		CACertificate: ca.Cert.Raw,
		Key:           key,
		PIN:           pin,
		TriesLeft:     cardfile.AuthPINTries,
		SignTriesLeft: cardfile.SignPINTries,
	}, nil
}

// randomSerial returns a positive random serial number of at most 127
// bits (at most 16 DER bytes, as RFC 5280 allows 20).
func randomSerial() *big.Int {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("testca: " + err.Error())
	}
	b[0] &= 0x7F
	b[0] |= 0x40 // never short, never zero
	return new(big.Int).SetBytes(b)
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("testca: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("testca: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("testca: %w", err)
	}
	return f.Close()
}
