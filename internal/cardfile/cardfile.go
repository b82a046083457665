// Package cardfile stores a software My Number Card: the JPKI
// user-authentication certificate and key, its CA certificate, the PIN and
// the PIN retry counter, and optionally the signing side.
//
// Card files are TEST-ONLY objects. The private key of a real My Number Card
// never leaves the card; a card file holds it in the clear (mode 0600) so
// that tests, demos and scripts can drive a software card (package softcard)
// through the real PC/SC stack or directly. Never put a real person's key in
// one.
//
// A card file is JSON, mode 0600, written atomically:
//
//	{"type": "mykey-jpki-test-card", "version": 1,
//	 "certificate": "<base64 DER>", "ca_certificate": "<base64 DER>",
//	 "key": "<base64 PKCS#8 DER>", "pin": "1234", "tries_left": 3, ...}
//
// The PIN counter lives in the file, as it lives in a real card's memory:
// three wrong PINs block the card for good. Update is the only way to change
// a card file: it takes an exclusive lock (flock on PATH.lock beside the
// file), loads, applies the change and replaces the file with a temporary
// file that was written and fsynced first, so two processes using one card
// queue like two requests to one card, and a crash at any point leaves
// either the old or the new card, never a mixture.
package cardfile

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// Type is the type field of every card file.
const Type = "mykey-jpki-test-card"

// Version is the format version written by this package.
const Version = 1

// Limits of the two PINs of a JPKI card.
const (
	// AuthPINTries is the number of tries of the 4-digit
	// user-authentication PIN.
	AuthPINTries = 3
	// SignPINTries is the number of tries of the signing PIN.
	SignPINTries = 5
	// SignPINMin and SignPINMax bound the length of the signing PIN.
	SignPINMin, SignPINMax = 6, 16
	// TokenInfoSize is the size of EF 0006 (token information).
	TokenInfoSize = 32
)

// DefaultTokenInfo is the token information of a JPKI card, EF 0006: 32
// bytes starting "JPKIAPICCTOKEN2", padded with spaces.
var DefaultTokenInfo = []byte("JPKIAPICCTOKEN2                 ")

// Sentinel errors; Load and Update wrap them, so callers can use errors.Is.
var (
	// ErrNotFound: there is no card file at the path.
	ErrNotFound = errors.New("cardfile: no card file")
	// ErrNotCardFile: the file exists but is not a card file at all.
	ErrNotCardFile = errors.New("cardfile: not a card file")
	// ErrDamaged: the file is a card file but cannot be used (truncated,
	// a field that does not decode, a key that does not match the
	// certificate, ...).
	ErrDamaged = errors.New("cardfile: damaged card file")
	// ErrExists: Create was asked to overwrite an existing file.
	ErrExists = errors.New("cardfile: file already exists")
)

// Card is the content of a software JPKI card.
type Card struct {
	Certificate   []byte          // DER, user-authentication certificate (EF 000A)
	CACertificate []byte          // DER, its CA (EF 000B)
	Key           *rsa.PrivateKey // user-authentication key (EF 0017)
	PIN           string          // 4 digits (EF 0018)
	TriesLeft     int             // 0..3; 0 = blocked

	// The signing side (署名用電子証明書). Optional: a card without it
	// (SignKey == nil) still answers for its EFs, as a card issued to a
	// minor does, but holds no signing certificate.
	SignCertificate   []byte          // DER, signing certificate (EF 0001), readable after the signing PIN
	SignCACertificate []byte          // DER, its CA (EF 0002)
	SignKey           *rsa.PrivateKey // signing key (EF 001A)
	SignPIN           string          // 6..16 characters (EF 001B)
	SignTriesLeft     int             // 0..5; 0 = blocked; counted also on a card without a signing side, whose signing PIN no PIN opens

	// TokenInfo is EF 0006; nil means DefaultTokenInfo.
	TokenInfo []byte

	// Signatures counts the signatures the card has made with either key.
	// A real card has no such counter; a test card keeps one so that tests
	// can show that nothing was signed.
	Signatures uint64
}

// Blocked reports whether the user-authentication PIN is blocked.
func (c *Card) Blocked() bool { return c.TriesLeft <= 0 }

// ParsedCertificate parses the user-authentication certificate.
func (c *Card) ParsedCertificate() (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(c.Certificate)
	if err != nil {
		return nil, fmt.Errorf("cardfile: certificate: %w", err)
	}
	return cert, nil
}

// Clone returns a deep copy of c (keys are shared: they are never mutated).
func (c *Card) Clone() *Card {
	d := *c
	d.Certificate = clone(c.Certificate)
	d.CACertificate = clone(c.CACertificate)
	d.SignCertificate = clone(c.SignCertificate)
	d.SignCACertificate = clone(c.SignCACertificate)
	d.TokenInfo = clone(c.TokenInfo)
	return &d
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Validate checks that c can be stored and used as a card: the certificates
// parse, each key matches its certificate, the PINs have the right shape and
// the counters are in range.
func (c *Card) Validate() error {
	if c == nil {
		return errors.New("cardfile: nil card")
	}
	if err := checkPair("certificate", c.Certificate, c.Key); err != nil {
		return err
	}
	if len(c.CACertificate) == 0 {
		return errors.New("cardfile: no CA certificate")
	}
	if _, err := x509.ParseCertificate(c.CACertificate); err != nil {
		return fmt.Errorf("cardfile: CA certificate: %v", err)
	}
	if !IsAuthPIN(c.PIN) {
		return errors.New("cardfile: the PIN must be 4 digits")
	}
	if c.TriesLeft < 0 || c.TriesLeft > AuthPINTries {
		return fmt.Errorf("cardfile: tries left %d, want 0..%d", c.TriesLeft, AuthPINTries)
	}
	if c.SignKey != nil {
		if err := checkPair("signing certificate", c.SignCertificate, c.SignKey); err != nil {
			return err
		}
		if len(c.SignCACertificate) > 0 {
			if _, err := x509.ParseCertificate(c.SignCACertificate); err != nil {
				return fmt.Errorf("cardfile: signing CA certificate: %v", err)
			}
		}
		if !IsSignPIN(c.SignPIN) {
			return fmt.Errorf("cardfile: the signing PIN must be %d to %d letters and digits", SignPINMin, SignPINMax)
		}
	} else if len(c.SignCertificate) > 0 || c.SignPIN != "" {
		return errors.New("cardfile: a signing certificate or PIN without a signing key")
	}
	if c.SignTriesLeft < 0 || c.SignTriesLeft > SignPINTries {
		return fmt.Errorf("cardfile: signing tries left %d, want 0..%d", c.SignTriesLeft, SignPINTries)
	}
	if c.TokenInfo != nil && len(c.TokenInfo) != TokenInfoSize {
		return fmt.Errorf("cardfile: token info is %d bytes, want %d", len(c.TokenInfo), TokenInfoSize)
	}
	return nil
}

func checkPair(what string, der []byte, key *rsa.PrivateKey) error {
	if len(der) == 0 {
		return fmt.Errorf("cardfile: no %s", what)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("cardfile: %s: %v", what, err)
	}
	if key == nil {
		return fmt.Errorf("cardfile: no key for the %s", what)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return fmt.Errorf("cardfile: the key does not match the %s", what)
	}
	return nil
}

// IsAuthPIN reports whether pin has the shape of a user-authentication
// PIN: exactly 4 ASCII digits.
func IsAuthPIN(pin string) bool {
	if len(pin) != 4 {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// IsSignPIN reports whether pin has the shape of a signing PIN: 6 to 16
// ASCII letters and digits (a real card takes upper-case letters; a test
// card is not stricter than that).
func IsSignPIN(pin string) bool {
	if len(pin) < SignPINMin || len(pin) > SignPINMax {
		return false
	}
	return strings.IndexFunc(pin, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}) < 0
}
