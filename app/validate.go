package app

import (
	"github.com/mykeyledger/mykey/app/types"
)

// Limits on what a transaction may carry; checked before any state is read.
const (
	MaxIDLen         = 32
	MaxChargeRefLen  = 64
	MaxChargesPerTx  = 10000
	MaxLinksPerBatch = 5000
	MaxTextLen       = 256
	MaxAmountYen     = 1_000_000_000_000
	CommitmentLen    = 32
	// MaxLinkValidity bounds how far ahead a signed link request may
	// expire, so a signature cannot be held back and replayed much later.
	MaxLinkValidity = 7 * 24 * 60 * 60
	// MaxChargeSkew is how far past block time a charge time may lie
	// (providers' clocks differ slightly from block time).
	MaxChargeSkew = 5 * 60
)

// validID reports whether s is a provider or program ID: 1–32 characters
// of [A-Za-z0-9._-].
func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validText reports whether s is printable ASCII of at most max bytes.
func validText(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func validateCharge(ch *types.Charge) error {
	switch {
	case ch == nil:
		return ErrMalformed.Wrapf("empty charge")
	case !validID(ch.ProgramId):
		return ErrMalformed.Wrapf("program id %q", ch.ProgramId)
	case !validMyKeyID(ch.MykeyId):
		return ErrMalformed.Wrapf("MyKey ID %q is not 8 Crockford base32 characters", ch.MykeyId)
	case len(ch.ChargeRef) == 0 || !validText(ch.ChargeRef, MaxChargeRefLen):
		return ErrMalformed.Wrapf("charge reference must be 1-%d printable characters", MaxChargeRefLen)
	case ch.AmountYen < 0 || ch.AmountYen > MaxAmountYen:
		return ErrMalformed.Wrapf("charge amount %d yen out of range", ch.AmountYen)
	case ch.ChargedAt <= 0:
		return ErrMalformed.Wrapf("charge time missing")
	}
	return nil
}

func validateLinkRequestFields(r *types.LinkRequest) error {
	switch {
	case r == nil:
		return ErrMalformed.Wrapf("empty link request")
	case !validID(r.ProgramId):
		return ErrMalformed.Wrapf("program id %q", r.ProgramId)
	case !validID(r.ProviderId):
		return ErrMalformed.Wrapf("provider id %q", r.ProviderId)
	case len(r.AccountCommitment) != CommitmentLen:
		return ErrMalformed.Wrapf("account commitment must be %d bytes, got %d", CommitmentLen, len(r.AccountCommitment))
	case len(r.Certificate) == 0:
		return ErrMalformed.Wrapf("no certificate")
	case r.ExpiresAt <= 0:
		return ErrMalformed.Wrapf("no expiry")
	}
	return nil
}
