package types

import (
	"bytes"
	"errors"
	"fmt"
)

// Domain tags keep one kind of signature from being taken for another.
const (
	domainLink      = "mykey/link/v1\n"
	domainLinkBatch = "mykey/link-batch/v1\n"
	domainGrant     = "mykey/grant/v1\n"
	domainGov       = "mykey/gov/v1\n"
)

// MaxTxBytes is the largest transaction the ledger decodes.
const MaxTxBytes = 4 << 20

func signBytes(domain string, m interface{ Marshal() ([]byte, error) }) []byte {
	bz, err := m.Marshal()
	if err != nil {
		// Marshal of a generated message without maps fails only on
		// programming errors; sign bytes of nothing would verify nothing.
		panic(fmt.Sprintf("types: marshal sign bytes: %v", err))
	}
	return append([]byte(domain), bz...)
}

// SignBytes are what the My Number Card signs (RSA PKCS#1 v1.5 over their
// SHA-256). They include the chain ID and the expiry.
func (r *LinkRequest) SignBytes() []byte { return signBytes(domainLink, r) }

// SignBytes are what the provider's grant key signs for a link batch.
func (b *LinkBatch) SignBytes() []byte { return signBytes(domainLinkBatch, b) }

// SignBytes are what the provider's grant key signs for a grant.
func (g *Grant) SignBytes() []byte { return signBytes(domainGrant, g) }

// SignBytes are what each government authority key signs.
func (a *GovAction) SignBytes() []byte { return signBytes(domainGov, a) }

// ErrNonCanonical is returned for bytes that decode but are not the
// canonical encoding of what they decode to (unknown fields, reordered or
// repeated fields): such a transaction could be re-encoded into another
// with a different hash.
var ErrNonCanonical = errors.New("types: not the canonical encoding")

// DecodeTx decodes a transaction and insists on its canonical encoding.
func DecodeTx(bz []byte) (*Tx, error) {
	if len(bz) == 0 {
		return nil, errors.New("types: empty transaction")
	}
	if len(bz) > MaxTxBytes {
		return nil, fmt.Errorf("types: transaction of %d bytes is above the limit of %d", len(bz), MaxTxBytes)
	}
	var tx Tx
	if err := tx.Unmarshal(bz); err != nil {
		return nil, fmt.Errorf("types: decode transaction: %w", err)
	}
	again, err := tx.Marshal()
	if err != nil {
		return nil, fmt.Errorf("types: re-encode transaction: %w", err)
	}
	if !bytes.Equal(again, bz) {
		return nil, ErrNonCanonical
	}
	if tx.Body == nil {
		return nil, errors.New("types: transaction has no body")
	}
	return &tx, nil
}

// EncodeTx encodes a transaction canonically.
func EncodeTx(tx *Tx) ([]byte, error) {
	return tx.Marshal()
}

// WrapLink, WrapLinkBatch, WrapGrant and WrapGov put a body in a Tx.
func WrapLink(s *SignedLink) *Tx           { return &Tx{Body: &Tx_Link{Link: s}} }
func WrapLinkBatch(s *SignedLinkBatch) *Tx { return &Tx{Body: &Tx_LinkBatch{LinkBatch: s}} }
func WrapGrant(s *SignedGrant) *Tx         { return &Tx{Body: &Tx_Grant{Grant: s}} }
func WrapGov(s *SignedGov) *Tx             { return &Tx{Body: &Tx_Gov{Gov: s}} }
