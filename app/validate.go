package app

import (
	"github.com/mykeyledger/mykey/app/types"
)

// validID reports whether s is a provider or program ID (types.ValidID).
func validID(s string) bool { return types.ValidID(s) == nil }

// validText reports whether s is printable ASCII of at most max bytes.
func validText(s string, max int) bool { return types.ValidText(s, max) }

func validateCharge(ch *types.Charge) error {
	switch {
	case ch == nil:
		return types.ErrMalformed.Wrapf("empty charge")
	case !validID(ch.ProgramId):
		return types.ErrMalformed.Wrapf("program id %q", ch.ProgramId)
	case !types.ValidMyKeyID(ch.MykeyId):
		return types.ErrMalformed.Wrapf("MyKey ID %q is not 8 Crockford base32 characters", ch.MykeyId)
	case !types.ValidChargeRef(ch.ChargeRef):
		return types.ErrMalformed.Wrapf("charge reference must be 1-%d printable characters", types.MaxChargeRefLen)
	case ch.AmountYen < 0 || ch.AmountYen > types.MaxAmountYen:
		return types.ErrMalformed.Wrapf("charge amount %d yen out of range", ch.AmountYen)
	case ch.ChargedAt <= 0:
		return types.ErrMalformed.Wrapf("charge time missing")
	}
	return nil
}

func validateLinkRequestFields(r *types.LinkRequest) error {
	switch {
	case r == nil:
		return types.ErrMalformed.Wrapf("empty link request")
	case !validID(r.ProgramId):
		return types.ErrMalformed.Wrapf("program id %q", r.ProgramId)
	case !validID(r.ProviderId):
		return types.ErrMalformed.Wrapf("provider id %q", r.ProviderId)
	case len(r.AccountCommitment) != types.CommitmentLen:
		return types.ErrMalformed.Wrapf("account commitment must be %d bytes, got %d", types.CommitmentLen, len(r.AccountCommitment))
	case len(r.Certificate) == 0:
		return types.ErrMalformed.Wrapf("no certificate")
	case r.ExpiresAt <= 0:
		return types.ErrMalformed.Wrapf("no expiry")
	}
	return nil
}
