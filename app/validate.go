package app

import (
	"github.com/mykeyledger/mykey/app/types"
)

// Limits on what a transaction may carry; checked before any state is read.
const (
	MaxIDLen         = types.MaxIDLen
	MaxChargeRefLen  = 64
	MaxChargesPerTx  = 10000
	MaxLinksPerBatch = 5000
	MaxTextLen       = types.MaxTextLen
	MaxAmountYen     = types.MaxAmountYen
	CommitmentLen    = 32
	// MaxGovActionBytes bounds a government action's encoding, so that its
	// history record stays far below the store's largest value.
	MaxGovActionBytes = 1 << 20
	// MaxLinkValidity bounds how far ahead a signed link request may
	// expire, so a signature cannot be held back and replayed much later.
	MaxLinkValidity = 7 * 24 * 60 * 60
	// MaxChargeSkew is how far past block time a charge time may lie
	// (providers' clocks differ slightly from block time).
	MaxChargeSkew = 5 * 60
)

// validID reports whether s is a provider or program ID (types.ValidID).
func validID(s string) bool { return types.ValidID(s) == nil }

// validText reports whether s is printable ASCII of at most max bytes.
func validText(s string, max int) bool { return types.ValidText(s, max) }

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
