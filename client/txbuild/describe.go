package txbuild

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/mykeyledger/mykey/app/jpki"
	"github.com/mykeyledger/mykey/app/types"
)

// ActionName is the ledger's name of a government action (the "action"
// attribute of its "gov" event).
func ActionName(a *types.GovAction) string { return types.GovActionName(a) }

// Describe says in one line what a government action does, for the key
// holders who sign it.
func Describe(a *types.GovAction) string {
	switch act := a.Action.(type) {
	case *types.GovAction_RegisterProvider:
		p := act.RegisterProvider.GetProvider()
		s := fmt.Sprintf("register provider %q (%s), grant key %s", p.GetId(), p.GetName(), short(p.GetGrantKey()))
		if len(p.GetValidatorKey()) > 0 {
			s += fmt.Sprintf(", validator key %s with power %d", short(p.GetValidatorKey()), p.GetPower())
		}
		return s
	case *types.GovAction_UpdateProvider:
		u := act.UpdateProvider
		var parts []string
		if u.Status != types.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED {
			parts = append(parts, "status "+strings.ToLower(strings.TrimPrefix(u.Status.String(), "PROVIDER_STATUS_")))
		}
		if len(u.GrantKey) > 0 {
			parts = append(parts, "grant key "+short(u.GrantKey))
		}
		if len(u.ValidatorKey) > 0 {
			parts = append(parts, "validator key "+short(u.ValidatorKey))
		}
		if u.SetPower {
			parts = append(parts, fmt.Sprintf("power %d", u.Power))
		}
		if len(parts) == 0 {
			parts = append(parts, "no change")
		}
		return fmt.Sprintf("update provider %q: %s", u.ProviderId, strings.Join(parts, ", "))
	case *types.GovAction_SetProgram:
		p := act.SetProgram.GetProgram()
		var kind string
		switch p.GetKind() {
		case types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE:
			kind = fmt.Sprintf("%s%% of each charge, cap %s per person", bp(p.RateBp), Yen(p.CapYen))
		case types.ProgramKind_PROGRAM_KIND_FIXED:
			kind = fmt.Sprintf("fixed %s per attested person", Yen(p.FixedYen))
		default:
			kind = "unknown kind"
		}
		return fmt.Sprintf("set program %q (%s): %s, budget %s, links %s to %s, grants %s to %s",
			p.GetId(), p.GetName(), kind, Yen(p.GetBudgetYen()),
			unix(p.GetLinkStart()), unix(p.GetLinkEnd()), unix(p.GetGrantStart()), unix(p.GetGrantEnd()))
	case *types.GovAction_RevokeCertificates:
		r := act.RevokeCertificates
		fps := make([]string, 0, len(r.Certificates))
		for i, c := range r.Certificates {
			if i == 3 {
				fps = append(fps, fmt.Sprintf("and %d more", len(r.Certificates)-3))
				break
			}
			fps = append(fps, CertRefFingerprint(c)[:16]+"…")
		}
		return fmt.Sprintf("revoke %d certificate(s) (%s): %s", len(r.Certificates), strings.Join(fps, ", "), r.Reason)
	case *types.GovAction_Succession:
		s := act.Succession
		return fmt.Sprintf("certificate %s… succeeds %s… (same person, same MyKey ID): %s",
			CertRefFingerprint(s.NewCert)[:16], CertRefFingerprint(s.OldCert)[:16], s.Reason)
	case *types.GovAction_AttestEligibility:
		e := act.AttestEligibility
		return fmt.Sprintf("attest %d person(s) eligible for program %q", len(e.MykeyIds), e.ProgramId)
	case *types.GovAction_Settle:
		s := act.Settle
		return fmt.Sprintf("record %s reimbursed to provider %q for program %q (reference %s)", Yen(s.AmountYen), s.ProviderId, s.ProgramId, s.Reference)
	case *types.GovAction_CorrectLinkage:
		c := act.CorrectLinkage
		switch c.Kind {
		case types.CorrectionKind_CORRECTION_KIND_VOID:
			return fmt.Sprintf("void the linkage of MyKey ID %s in program %q (incident %s)", c.MykeyId, c.ProgramId, c.IncidentRef)
		case types.CorrectionKind_CORRECTION_KIND_MOVE:
			return fmt.Sprintf("move the linkage of MyKey ID %s in program %q to provider %q, account commitment %s (incident %s)",
				c.MykeyId, c.ProgramId, c.ToProviderId, short(c.ToAccountCommitment), c.IncidentRef)
		}
		return fmt.Sprintf("correct the linkage of MyKey ID %s in program %q (unknown kind)", c.MykeyId, c.ProgramId)
	case *types.GovAction_SetNodes:
		s := act.SetNodes
		if len(s.NodeIds) == 0 {
			return fmt.Sprintf("remove every P2P node of %q: none of its nodes may connect", s.Owner)
		}
		return fmt.Sprintf("set the P2P nodes of %q to %d node(s), replacing its list: %s", s.Owner, len(s.NodeIds), strings.Join(s.NodeIds, ", "))
	}
	return "unknown action"
}

// CertRefFingerprint names a certificate (issuer and serial) for the
// government's signers, who know the certificates they act on; the ledger
// itself stores only the certificate's keyed index (app/pseudonym).
func CertRefFingerprint(r *types.CertRef) string {
	if r == nil {
		return strings.Repeat("?", 16)
	}
	return jpki.CertID{Issuer: r.Issuer, Serial: new(big.Int).SetBytes(r.Serial).Bytes()}.Fingerprint()
}

// Yen formats an amount: ¥5,000.
func Yen(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-¥" + b.String()
	}
	return "¥" + b.String()
}

func bp(v int64) string {
	s := strconv.FormatInt(v/100, 10)
	if r := v % 100; r != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%02d", r), "0")
	}
	return s
}

func unix(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

func short(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
