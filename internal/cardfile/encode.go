package cardfile

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
)

// fileJSON is the on-disk form. Type comes first so that even a truncated
// file can be recognised as a (damaged) card file.
type fileJSON struct {
	Type              string `json:"type"`
	Version           int    `json:"version"`
	Note              string `json:"note,omitempty"`
	Certificate       []byte `json:"certificate"`
	CACertificate     []byte `json:"ca_certificate"`
	Key               []byte `json:"key"` // PKCS#8 DER
	PIN               string `json:"pin"`
	TriesLeft         int    `json:"tries_left"`
	SignCertificate   []byte `json:"sign_certificate,omitempty"`
	SignCACertificate []byte `json:"sign_ca_certificate,omitempty"`
	SignKey           []byte `json:"sign_key,omitempty"` // PKCS#8 DER
	SignPIN           string `json:"sign_pin,omitempty"`
	SignTriesLeft     *int   `json:"sign_tries_left,omitempty"` // always written; see Decode
	TokenInfo         []byte `json:"token_info,omitempty"`
	Signatures        uint64 `json:"signatures"`
}

const note = "TEST-ONLY software My Number Card: the private keys below are not protected"

// typePrefix is how every card file starts.
var typePrefix = []byte(`{"type":"` + Type + `"`)

// Encode returns the card file bytes of c. It validates c first.
func Encode(c *Card) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := fileJSON{
		Type: Type, Version: Version, Note: note,
		Certificate:       c.Certificate,
		CACertificate:     c.CACertificate,
		PIN:               c.PIN,
		TriesLeft:         c.TriesLeft,
		SignCertificate:   c.SignCertificate,
		SignCACertificate: c.SignCACertificate,
		SignPIN:           c.SignPIN,
		SignTriesLeft:     &c.SignTriesLeft,
		TokenInfo:         c.TokenInfo,
		Signatures:        c.Signatures,
	}
	var err error
	if f.Key, err = x509.MarshalPKCS8PrivateKey(c.Key); err != nil {
		return nil, fmt.Errorf("cardfile: encoding key: %w", err)
	}
	if c.SignKey != nil {
		if f.SignKey, err = x509.MarshalPKCS8PrivateKey(c.SignKey); err != nil {
			return nil, fmt.Errorf("cardfile: encoding signing key: %w", err)
		}
	}
	bz, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("cardfile: encode: %w", err)
	}
	return append(bz, '\n'), nil
}

// Decode parses card file bytes. Errors wrap ErrNotCardFile or ErrDamaged.
func Decode(bz []byte) (*Card, error) {
	trimmed := bytes.TrimSpace(bz)
	if !bytes.HasPrefix(trimmed, typePrefix) {
		var probe struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(trimmed, &probe) != nil || probe.Type != Type {
			return nil, ErrNotCardFile
		}
	}
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrDamaged)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("%w: version %d, this program reads version %d", ErrDamaged, f.Version, Version)
	}
	c := &Card{
		Certificate:       f.Certificate,
		CACertificate:     f.CACertificate,
		PIN:               f.PIN,
		TriesLeft:         f.TriesLeft,
		SignCertificate:   f.SignCertificate,
		SignCACertificate: f.SignCACertificate,
		SignPIN:           f.SignPIN,
		TokenInfo:         f.TokenInfo,
		Signatures:        f.Signatures,
	}
	switch {
	case f.SignTriesLeft != nil:
		c.SignTriesLeft = *f.SignTriesLeft
	case len(f.SignKey) == 0:
		// Written before the count was always kept: a card without a
		// signing side whose signing PIN was never tried.
		c.SignTriesLeft = SignPINTries
	}
	var err error
	if c.Key, err = parseKey(f.Key); err != nil {
		return nil, fmt.Errorf("%w: key: %v", ErrDamaged, err)
	}
	if len(f.SignKey) > 0 {
		if c.SignKey, err = parseKey(f.SignKey); err != nil {
			return nil, fmt.Errorf("%w: signing key: %v", ErrDamaged, err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return c, nil
}

func parseKey(der []byte) (*rsa.PrivateKey, error) {
	if len(der) == 0 {
		return nil, errors.New("missing")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want an RSA key", k)
	}
	return rk, nil
}
